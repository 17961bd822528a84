//! Who is asking: the session token from `Authorization: Bearer` (REST clients) or from the
//! HttpOnly session cookie (the browser), and the cross-site request check for the cookie.

use crate::server::http::cookies::{cookie_value, COOKIE_NAME};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::convert::Infallible;

/// The raw session token a request carries, if any. Whether it is valid is the service's call
/// (`accounts::account_for_token`), so each adapter can answer in its own envelope.
pub struct SessionToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(SessionToken(token_from_headers(&parts.headers)))
    }
}

/// A bearer token wins over the cookie: a REST client that sends one means it.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    bearer_token(headers).or_else(|| cookie_token(headers))
}

pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE_NAME)
}

/// Whether a request must be refused (403) as cross-site: a state-changing request that
/// rides on the session cookie (no bearer token) must come from this site, and so must every
/// state-changing request to a server function (`/rpc/…`), cookie or not: a foreign page's
/// auto-posting form must not sign its visitor in (or up) as the attacker (login CSRF).
/// Browsers send `Origin` on every cross-site POST, so a missing `Origin` and `Referer` means
/// a non-browser client, which no foreign page controls.
pub fn is_cross_site_refused(request: &Request) -> bool {
    let refused = || {
        tracing::warn!("refused a cross-site request");
        true
    };
    let headers = request.headers();
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // Reads pass without a look at their cookies: they change nothing. The OpenID Connect
    // endpoints are for other sites by design: an authorization or logout may be POSTed from
    // the app's page, and neither acts on the cookie beyond what the same request as a GET does.
    if unsafe_method
        && !request.uri().path().starts_with("/oauth/")
        && (request.uri().path().starts_with("/rpc/")
            || (bearer_token(headers).is_none() && cookie_token(headers).is_some()))
    {
        // Fetch metadata first: it is there even where the page's `no-referrer` policy makes
        // the browser send `Origin: null` (pages with a token in their address).
        match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some("same-origin") => return false,
            Some("same-site" | "cross-site") => return refused(),
            _ => {}
        }
        let origin = headers
            .get(header::ORIGIN)
            .or_else(|| headers.get(header::REFERER))
            .and_then(|v| v.to_str().ok());
        if let Some(origin) = origin {
            if !same_origin(origin, headers) {
                return refused();
            }
        }
    }
    false
}

/// True when `origin` (an Origin or Referer value) names the host the request was sent to.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn bearer_tokens_win_over_cookies() {
        let h = headers(&[
            (header::AUTHORIZATION, "Bearer abc.def.ghi"),
            (header::COOKIE, "latchkey_session=cookie.token.x"),
        ]);
        assert_eq!(token_from_headers(&h).as_deref(), Some("abc.def.ghi"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[(
            header::COOKIE,
            "theme=dark; latchkey_session=tok.en.x; other=1",
        )]);
        assert_eq!(token_from_headers(&h).as_deref(), Some("tok.en.x"));
    }

    #[test]
    fn no_or_empty_credentials_mean_no_token() {
        assert_eq!(token_from_headers(&HeaderMap::new()), None);
        assert_eq!(
            token_from_headers(&headers(&[(header::AUTHORIZATION, "Bearer ")])),
            None
        );
        assert_eq!(
            token_from_headers(&headers(&[(header::AUTHORIZATION, "Basic dXNlcg==")])),
            None
        );
        assert_eq!(
            token_from_headers(&headers(&[(header::COOKIE, "latchkey_session=")])),
            None
        );
    }

    #[test]
    fn origins_are_compared_with_the_host_header() {
        let h = headers(&[(header::HOST, "127.0.0.1:3000")]);
        assert!(same_origin("http://127.0.0.1:3000", &h));
        assert!(same_origin("http://127.0.0.1:3000/login?x=1", &h));
        assert!(!same_origin("http://evil.example", &h));
        assert!(!same_origin("http://127.0.0.1:3000.evil.example/", &h));
        assert!(!same_origin("null", &h));
    }
}

/// Who a page request is signed in as, found once before the page renders (the header names
/// the account on every page, and the signed-in pages show it): kept in the request's
/// extensions, where the page and its server functions read it (`api::ssr::signed_in`).
#[derive(Clone)]
pub enum PageSession {
    SignedIn(std::sync::Arc<crate::server::services::sessions::SignedIn>),
    /// The browser's session cookie no longer works (signed out elsewhere, expired, the
    /// password changed): the sign-in page says so.
    Ended,
}

/// Middleware for page requests: resolves the session cookie, when there is one, into a
/// [`PageSession`]. A request without the cookie costs nothing; one with it costs the read
/// the signed-in page would make anyway.
pub async fn resolve_page_session(
    axum::extract::State(state): axum::extract::State<crate::server::state::AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    use crate::server::services::{sessions, ServiceError};
    if request.method() == Method::GET {
        if let Some(token) = cookie_token(request.headers()) {
            let found = match sessions::resolve(&state, &token).await {
                Ok(signed_in) => Some(PageSession::SignedIn(std::sync::Arc::new(signed_in))),
                Err(ServiceError::Unauthenticated) => Some(PageSession::Ended),
                // The page's own read reports a failing database in its place.
                Err(_) => None,
            };
            if let Some(found) = found {
                request.extensions_mut().insert(found);
            }
        }
    }
    next.run(request).await
}

/// [`resolve_page_session`] for the fallback, which serves the static files and renders the
/// "not found" page for everything else: a signed-in visitor's 404 page names them like every
/// other page. A path whose last segment names a file (`.js`, `.wasm`, `.css`…) is a static
/// file or a missing one, and costs no session read.
pub async fn resolve_session_unless_file(
    state: axum::extract::State<crate::server::state::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let names_a_file = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    if names_a_file {
        return next.run(request).await;
    }
    resolve_page_session(state, request, next).await
}
