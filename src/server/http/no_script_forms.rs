//! Forms sent without JavaScript: where they came from, and what they come back with.
//!
//! Where from: forms on pages whose address carries a token send no `Referer` (those pages
//! are `no-referrer`, see `page_headers`), yet a server function finds its way back to the form
//! only by the `Referer`. Such forms name their page in a hidden `__page` field, and the
//! middleware restores the `Referer` from it. Only a same-site path is accepted (`/…`, never
//! `//host` or a scheme), so the field cannot turn the redirect into an open redirect.
//!
//! Back with what: server_fn sends a refused form back to its page with the error in the
//! address (`?__path=…&__err=<base64 JSON>`), where it lands in history and proxy logs, and
//! what the person typed is lost. The middleware moves the error, and the typed fields that are
//! not secrets, into a short-lived signed cookie ([`ReturnedForm`]) and sends the browser to
//! the clean address; the page reads and clears the cookie as it renders ([`take_returned`]).

use super::BODY_LIMIT;
use crate::api::forms::ReturnedForm;
use crate::server::crypto::signed_value;
use crate::server::http::cookies;
use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The form field that names the page a form was on.
pub const PAGE_FIELD: &str = "__page";
/// Signs the cookie for this use only (the key signs other things too).
const LABEL: &str = "returned form";
/// Long enough for the redirect to be followed on a slow connection; it is read at once.
const LIFETIME_SECONDS: i64 = 120;
/// Browsers keep cookies up to 4096 bytes; a form whose fields would not fit comes back with
/// its error only.
const MAX_COOKIE_BYTES: usize = 3800;
/// Typed values longer than any field allows are not worth keeping.
const MAX_FIELD_CHARS: usize = 320;

/// What the middleware needs: the public base URL and the key that signs the cookie.
#[derive(Clone)]
pub struct NoScriptForms {
    pub public_url: Arc<str>,
    pub key: Arc<[u8]>,
    pub secure_cookies: bool,
}

/// Runs `next` with a plain form's page restored as its `Referer`, and sends a refused form
/// back cleanly. Every other request passes untouched.
pub async fn no_script_forms(forms: &NoScriptForms, request: Request, next: Next) -> Response {
    let is_plain_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if request.method() != Method::POST
        || !request.uri().path().starts_with("/rpc/")
        || !is_plain_form
    {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let fields = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes).unwrap_or_default();
    if !parts.headers.contains_key(header::REFERER) {
        let page = fields
            .iter()
            .find(|(name, _)| name == PAGE_FIELD)
            .map(|(_, page)| page)
            .filter(|page| crate::domain::is_site_page(page));
        if let Some(page) = page {
            let referer = format!("{}{page}", forms.public_url);
            if let Ok(value) = HeaderValue::from_str(&referer) {
                parts.headers.insert(header::REFERER, value);
            }
        }
    }
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status().is_redirection() {
        send_back_cleanly(forms, response.headers_mut(), fields);
    }
    response
}

/// Turns server_fn's redirect to `page?…&__path=…&__err=…` into one to `page?…` with the
/// error and the kept fields in the cookie. Other redirects pass untouched.
fn send_back_cleanly(
    forms: &NoScriptForms,
    headers: &mut HeaderMap,
    fields: Vec<(String, String)>,
) {
    let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some((page, action, error)) = split_error(location) else {
        return;
    };
    let mut returned = ReturnedForm {
        page,
        action,
        error,
        fields: fields
            .into_iter()
            .filter(|(name, value)| {
                ReturnedForm::KEPT_FIELDS.contains(&name.as_str())
                    && value.chars().count() <= MAX_FIELD_CHARS
            })
            .collect(),
    };
    let mut value = seal(forms, &returned);
    if value.len() > MAX_COOKIE_BYTES {
        returned.fields.clear();
        value = seal(forms, &returned);
    }
    let cookie = (value.len() <= MAX_COOKIE_BYTES)
        .then(|| cookies::refused_form(forms.secure_cookies, &value, LIFETIME_SECONDS));
    if let (Some(cookie), Ok(location)) = (
        cookie.and_then(|c| HeaderValue::from_str(&c).ok()),
        HeaderValue::from_str(&returned.page),
    ) {
        headers.insert(header::LOCATION, location);
        headers.append(header::SET_COOKIE, cookie);
    }
}

fn seal(forms: &NoScriptForms, returned: &ReturnedForm) -> String {
    let json = serde_json::to_vec(returned).unwrap_or_default();
    let expires_at = crate::server::store::unix_now() + LIFETIME_SECONDS;
    signed_value::sign(&forms.key, LABEL, &json, expires_at)
}

/// `(page, action, error)` from a redirect location carrying server_fn's error: the page as
/// a path and query on this site without `__path`/`__err`, and those two values.
fn split_error(location: &str) -> Option<(String, String, String)> {
    // The location is absolute (it is built from the Referer): keep the path onwards.
    let path_onwards = match location.find("://") {
        Some(scheme_end) => {
            let after = &location[scheme_end + 3..];
            &after[after.find('/')?..]
        }
        None => location,
    };
    let (path, query) = path_onwards.split_once('?')?;
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.clone())
    };
    let (action, error) = (value("__path")?, value("__err")?);
    let rest: Vec<_> = pairs
        .iter()
        .filter(|(key, _)| key != "__path" && key != "__err")
        .collect();
    let page = if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", serde_urlencoded::to_string(rest).ok()?)
    };
    crate::domain::is_site_page(&page).then_some((page, action, error))
}

/// The refused form this page request brings back, if it belongs to this page, and the
/// `Set-Cookie` that clears the cookie (it is for one page view, whichever page that is).
pub fn take_returned(key: &[u8], parts: &Parts) -> (Option<ReturnedForm>, Option<String>) {
    let Some(value) = cookies::cookie_value(&parts.headers, cookies::REFUSED_FORM_COOKIE_NAME)
    else {
        return (None, None);
    };
    let clear = cookies::refused_form_taken();
    let this_page = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let now = crate::server::store::unix_now();
    let returned = signed_value::open(key, LABEL, &value, now)
        .and_then(|json| serde_json::from_slice::<ReturnedForm>(&json).ok())
        .filter(|returned| returned.page == this_page);
    (returned, Some(clear))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_leaves_the_address_and_the_rest_of_the_query_stays() {
        assert_eq!(
            split_error("http://127.0.0.1:3000/register?__path=%2Frpc%2Fregister&__err=eyJ9"),
            Some(("/register".into(), "/rpc/register".into(), "eyJ9".into()))
        );
        assert_eq!(
            split_error("https://id.example/reset-password?token=a%2Bb&__path=/rpc/x&__err=e30%3D"),
            Some((
                "/reset-password?token=a%2Bb".into(),
                "/rpc/x".into(),
                "e30=".into()
            ))
        );
        assert_eq!(split_error("/account?notice=upgraded"), None);
        assert_eq!(split_error("http://host/login"), None);
    }
}
