//! What every request passes through, before and after its handler: the edge middleware
//! (`edge`), the request's id, client address and language (`request_id`), Latchkey's cookies
//! (`cookies`), the session a request rides on and the cross-site check (`auth`), forms sent
//! without JavaScript (`no_script_forms`), signed-out pages kept in memory (`page_cache`), the
//! pages' security headers (`page_headers`). The plumbing's own refusals are worded in each
//! surface's envelope by `rest::refusal`, handed to the edge at start-up.
//!
//! Nothing here knows a flow: handlers (`rest`, the server functions in `api`) sit above it,
//! services below.

pub mod auth;
pub mod cookies;
pub mod edge;
pub mod no_script_forms;
pub mod page_cache;
pub mod page_headers;
pub mod request_id;

/// Bodies over 64 KiB are refused (413, in the surface's envelope).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Everything but RFC 3986's unreserved characters is escaped in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `text`, escaped to stand intact as one value in a URL query (`?next=…`).
pub fn query_value(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// A refusal the plumbing made (a body limit's 413, a timeout's 408, a caught panic's 500)
/// that no handler dressed: an error status with neither a JSON nor an HTML body. The edge
/// and the REST surfaces say it again in the surface's own way.
pub fn is_bare_refusal(response: &axum::response::Response) -> bool {
    use axum::http::header;
    let status = response.status();
    let dressed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json")
                || v.starts_with("application/problem+json")
                || v.starts_with("text/html")
        });
    (status.is_client_error() || status.is_server_error()) && !dressed
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::Response;

    #[test]
    fn only_undressed_error_answers_are_bare() {
        let mut plain = Response::new(Body::from("length limit exceeded"));
        *plain.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        assert!(is_bare_refusal(&plain));
        let mut json = Response::new(Body::from("{}"));
        *json.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        json.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_bare_refusal(&json));
        assert!(!is_bare_refusal(&Response::new(Body::from("ok"))));
    }
}
