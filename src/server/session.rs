//! The browser session cookie (SPEC §7): HttpOnly, SameSite=Lax, Secure under https.

use crate::server::crypto::session_token::{IssuedToken, LIFETIME_SECONDS};
use crate::server::state::Settings;
use cookie::{Cookie, SameSite};

pub const COOKIE_NAME: &str = "latchkey_session";

/// The `Set-Cookie` value that starts (or renews) a session.
pub fn start(settings: &Settings, token: &IssuedToken) -> String {
    Cookie::build((COOKIE_NAME, token.token.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies)
        .path("/")
        .max_age(cookie::time::Duration::seconds(LIFETIME_SECONDS))
        .build()
        .to_string()
}

/// The `Set-Cookie` value that ends the session in the browser.
pub fn end(settings: &Settings) -> String {
    Cookie::build((COOKIE_NAME, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies)
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}
