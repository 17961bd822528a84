//! What every request passes through, before and after its handler: the edge middleware
//! (`edge`), the request's id, client address and language (`request_id`), Latchkey's cookies
//! (`cookies`), the session a request rides on and the cross-site check (`auth`), forms sent
//! without JavaScript (`no_script_forms`), signed-out pages kept in memory (`page_cache`), the
//! pages' security headers (`page_headers`), and the plumbing's own refusals (`refusal`).
//!
//! Nothing here knows a flow: handlers (`rest`, the server functions in `api`) sit above it,
//! services below.

pub mod auth;
pub mod cookies;
pub mod edge;
pub mod no_script_forms;
pub mod page_cache;
pub mod page_headers;
pub mod refusal;
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
