//! The browser session cookie (SPEC §7): HttpOnly, SameSite=Lax, Secure under https.

use crate::server::crypto::session_token::{IssuedToken, LIFETIME_SECONDS};
use crate::server::state::Settings;
use cookie::{Cookie, SameSite};

pub const COOKIE_NAME: &str = "latchkey_session";
/// The device cookie (see `crypto::device_token`): a browser that signed in here before.
pub const DEVICE_COOKIE_NAME: &str = "latchkey_device";
/// How long a browser stays known after its last successful sign-in.
const DEVICE_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;

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

/// The `Set-Cookie` value that marks this browser as one that signed in successfully.
pub fn remember_device(settings: &Settings, device_token: &str) -> String {
    Cookie::build((DEVICE_COOKIE_NAME, device_token.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies)
        // Only the sign-in reads it.
        .path("/rpc/login")
        .max_age(cookie::time::Duration::seconds(DEVICE_LIFETIME_SECONDS))
        .build()
        .to_string()
}

/// How long a browser keeps the language it chose.
const LANGUAGE_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;

/// The `Set-Cookie` value that keeps the language chosen with the pages' switch.
pub fn choose_language(settings: &Settings, tag: &str) -> String {
    Cookie::build((
        crate::server::request_id::LANGUAGE_COOKIE_NAME,
        tag.to_owned(),
    ))
    .http_only(true)
    .same_site(SameSite::Lax)
    .secure(settings.secure_cookies)
    .path("/")
    .max_age(cookie::time::Duration::seconds(LANGUAGE_LIFETIME_SECONDS))
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
