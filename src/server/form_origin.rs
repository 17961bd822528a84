//! Forms on pages whose address carries a token send no `Referer` (those pages are
//! `no-referrer`, see `page_headers`), yet without JavaScript a server function finds its way
//! back to the form — to show an error there — only by the `Referer`. Such forms name their page
//! in a hidden `__page` field, and this middleware restores the `Referer` from it.
//!
//! Only a same-site path is accepted (`/…`, never `//host` or a scheme), so the field cannot
//! turn the redirect into an open redirect.

use crate::server::startup::BODY_LIMIT;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The form field that names the page a form was on.
pub const PAGE_FIELD: &str = "__page";

/// True for a path on this site: `/x…`, not `//host…`, no backslash or control characters.
pub fn is_local_path(page: &str) -> bool {
    page.starts_with('/')
        && !page.starts_with("//")
        && !page.contains('\\')
        && !page.chars().any(char::is_control)
}

/// Its state is the public base URL (not the whole `AppState`: this sees every request).
pub async fn restore_referer(
    State(public_url): State<Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let is_plain_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if request.method() != Method::POST
        || !request.uri().path().starts_with("/rpc/")
        || request.headers().contains_key(header::REFERER)
        || !is_plain_form
    {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let page = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(name, _)| name == PAGE_FIELD))
        .map(|(_, page)| page)
        .filter(|page| is_local_path(page));
    if let Some(page) = page {
        let referer = format!("{public_url}{page}");
        if let Ok(value) = HeaderValue::from_str(&referer) {
            parts.headers.insert(header::REFERER, value);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_paths_on_this_site_are_accepted() {
        assert!(is_local_path("/reset-password?token=abc"));
        assert!(is_local_path("/verify-email/alice/abc"));
        for hostile in [
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/a\nLocation: x",
        ] {
            assert!(!is_local_path(hostile), "{hostile:?}");
        }
    }
}
