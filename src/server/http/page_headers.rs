//! Security headers of HTML pages: a Content-Security-Policy that lets only this
//! page's own inline scripts (by the nonce Leptos puts on them) and the site's own script and
//! WASM files run, and no referrer at all from pages whose address carries a token.
//!
//! Responses that are not pages (REST JSON, static files) get the fixed defaults the edge
//! middleware sets on every answer that has none (`http::edge`).

use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// The policy of a page whose inline scripts carry `nonce`.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Pages whose address holds a secret: e-mailed verification and reset links, and the reset
/// step that carries its reset token.
pub fn carries_token(path: &str, query: Option<&str>) -> bool {
    path.starts_with("/verify-email/")
        || query.is_some_and(|q| q.split('&').any(|pair| pair.starts_with("token=")))
}

/// Called while the shell renders, before the first byte is sent.
pub fn set_for_current_page() {
    let Some(response) = use_context::<ResponseOptions>() else {
        return;
    };
    if let Some(nonce) = leptos::nonce::use_nonce() {
        if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce)) {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if let Some(parts) = use_context::<Parts>() {
        if carries_token(parts.uri.path(), parts.uri.query()) {
            response.insert_header(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_pages_are_recognised() {
        assert!(carries_token("/reset-password", Some("token=abc")));
        assert!(carries_token("/forgot/password", Some("step=3&token=abc")));
        assert!(carries_token("/verify-email/alice/abc", None));
        assert!(!carries_token("/forgot/password", Some("sent=1")));
        assert!(!carries_token("/login", None));
    }

    #[test]
    fn the_policy_names_the_nonce_and_nothing_inline() {
        let csp = content_security_policy("n0nce");
        assert!(csp.contains("'nonce-n0nce'"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
