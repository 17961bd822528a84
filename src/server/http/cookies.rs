//! Latchkey's cookies, every one of them built here: HttpOnly, SameSite=Lax (the
//! reset's, Strict), Secure under https. Their names, how long each lives, and reading one
//! back from a request.

use crate::server::crypto::session_token::{IssuedToken, LIFETIME_SECONDS};
use crate::server::state::Settings;
use axum::http::{header, HeaderMap};
use cookie::{Cookie, SameSite};

/// The value of the cookie `name`, when the request carries a non-empty one.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// The cookie that keeps the language a visitor chose with the pages' switch.
pub const LANGUAGE_COOKIE_NAME: &str = "latchkey_lang";

pub const COOKIE_NAME: &str = "latchkey_session";
/// The device cookie (see `crypto::device_token`): a browser that signed in here before.
pub const DEVICE_COOKIE_NAME: &str = "latchkey_device";
/// How long a browser stays known after its last successful sign-in.
const DEVICE_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;

/// The `Set-Cookie` value that starts (or renews) a session. It lives as long as its token,
/// which is never past the session's own end: a browser need not keep a dead token a day.
pub fn start(settings: &Settings, token: &IssuedToken) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let seconds = (token.expires_at.unix_timestamp() - now).clamp(0, LIFETIME_SECONDS);
    cookie(settings, COOKIE_NAME, &token.token, "/", seconds)
}

/// The `Set-Cookie` value that marks this browser as one that signed in successfully. Only
/// the sign-in reads it.
pub fn remember_device(settings: &Settings, device_token: &str) -> String {
    let path = "/rpc/login";
    cookie(
        settings,
        DEVICE_COOKIE_NAME,
        device_token,
        path,
        DEVICE_LIFETIME_SECONDS,
    )
}

/// How long a browser keeps the language it chose.
const LANGUAGE_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;

/// The `Set-Cookie` value that keeps the language chosen with the pages' switch.
pub fn choose_language(settings: &Settings, tag: &str) -> String {
    cookie(
        settings,
        LANGUAGE_COOKIE_NAME,
        tag,
        "/",
        LANGUAGE_LIFETIME_SECONDS,
    )
}

/// The sign-in waiting for its second factor (`services::second_factor`): its challenge's
/// token, for as long as the challenge lives.
pub const SECOND_STEP_COOKIE_NAME: &str = "latchkey_mfa";

pub fn begin_second_step(settings: &Settings, mfa_token: &str) -> String {
    let seconds = crate::server::services::second_factor::CHALLENGE_SECONDS;
    cookie(settings, SECOND_STEP_COOKIE_NAME, mfa_token, "/", seconds)
}

pub fn end_second_step(settings: &Settings) -> String {
    cookie(settings, SECOND_STEP_COOKIE_NAME, "", "/", 0)
}

/// Recovery codes just made, sealed, on their way to the one page view that shows them: only
/// that page gets the cookie, and it clears it.
pub const SHOWN_CODES_COOKIE_NAME: &str = "latchkey_codes";
const SHOWN_CODES_PATH: &str = "/account/security";
/// Long enough for a slow redirect; the page view clears it at once.
pub const SHOWN_CODES_SECONDS: i64 = 120;

pub fn show_codes(settings: &Settings, sealed: &str) -> String {
    let (name, path) = (SHOWN_CODES_COOKIE_NAME, SHOWN_CODES_PATH);
    cookie(settings, name, sealed, path, SHOWN_CODES_SECONDS)
}

pub fn codes_shown(settings: &Settings) -> String {
    cookie(settings, SHOWN_CODES_COOKIE_NAME, "", SHOWN_CODES_PATH, 0)
}

/// A secret the console made (an API token, an app's client secret) on its way to the page
/// that shows it once: sealed like the recovery codes, for the console's pages only.
pub const SHOWN_SECRET_COOKIE_NAME: &str = "latchkey_shown";
const SHOWN_SECRET_PATH: &str = "/admin";

pub fn show_secret(settings: &Settings, sealed: &str) -> String {
    let (name, path) = (SHOWN_SECRET_COOKIE_NAME, SHOWN_SECRET_PATH);
    cookie(settings, name, sealed, path, SHOWN_CODES_SECONDS)
}

pub fn secret_shown(settings: &Settings) -> String {
    cookie(settings, SHOWN_SECRET_COOKIE_NAME, "", SHOWN_SECRET_PATH, 0)
}

/// The `Set-Cookie` value that ends the session in the browser.
pub fn end(settings: &Settings) -> String {
    cookie(settings, COOKIE_NAME, "", "/", 0)
}

/// The cookie that carries a reset's destination from its first step to its second (a signed
/// value, `crypto::signed_value`). SameSite=Strict: no other site's link starts a reset step.
pub const RESET_COOKIE_NAME: &str = "latchkey_reset";

pub fn pending_reset(settings: &Settings, value: &str, max_age: i64) -> String {
    let secure = settings.secure_cookies;
    build(
        RESET_COOKIE_NAME,
        value,
        "/",
        max_age,
        SameSite::Strict,
        secure,
    )
}

/// A form sent without JavaScript and refused, on its way back to its page (a signed value,
/// `http::no_script_forms`).
pub const REFUSED_FORM_COOKIE_NAME: &str = "latchkey_form";

pub fn refused_form(secure: bool, value: &str, max_age: i64) -> String {
    build(
        REFUSED_FORM_COOKIE_NAME,
        value,
        "/",
        max_age,
        SameSite::Lax,
        secure,
    )
}

/// The `Set-Cookie` that clears the refused form's cookie.
pub fn refused_form_taken() -> String {
    Cookie::build((REFUSED_FORM_COOKIE_NAME, ""))
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

/// Most cookies: SameSite=Lax, Secure under https.
fn cookie(settings: &Settings, name: &str, value: &str, path: &str, max_age: i64) -> String {
    build(
        name,
        value,
        path,
        max_age,
        SameSite::Lax,
        settings.secure_cookies,
    )
}

/// Every cookie: HttpOnly (no script reads any of them).
fn build(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    same_site: SameSite,
    secure: bool,
) -> String {
    Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .same_site(same_site)
        .secure(secure)
        .path(path.to_owned())
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let config = crate::server::config::Config::for_data_dir("/nonexistent");
        Settings {
            public_url: "http://127.0.0.1:3000".into(),
            secure_cookies: false,
            starting_credits: crate::domain::Credits::from_micro(0),
            tos_url: String::new(),
            login_policy: Default::default(),
            config,
        }
    }

    fn max_age(set_cookie: &str) -> i64 {
        let parsed = Cookie::parse(set_cookie.to_owned()).unwrap();
        parsed.max_age().unwrap().whole_seconds()
    }

    #[test]
    fn the_session_cookie_lives_no_longer_than_its_token() {
        let ending_soon = IssuedToken {
            token: "t".into(),
            expires_at: time::OffsetDateTime::now_utc() + time::Duration::seconds(600),
        };
        let seconds = max_age(&start(&settings(), &ending_soon));
        assert!((595..=600).contains(&seconds), "{seconds}");
        let a_day = IssuedToken {
            token: "t".into(),
            expires_at: time::OffsetDateTime::now_utc() + time::Duration::seconds(LIFETIME_SECONDS),
        };
        let seconds = max_age(&start(&settings(), &a_day));
        assert!(
            seconds > LIFETIME_SECONDS - 5 && seconds <= LIFETIME_SECONDS,
            "{seconds}"
        );
    }
}
