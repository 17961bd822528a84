//! Server-side helpers for the server functions: state, request metadata, the session cookie,
//! and the mapping from service errors to what a form shows.

use super::language::{answer_status, request_language};
use super::{FormError, PendingReset};
use crate::i18n::Language;
use crate::server::crypto::second_factor::{self, SealedFor};
use crate::server::crypto::session_token::IssuedToken;
use crate::server::crypto::signed_value;
use crate::server::http::auth::{token_from_headers, PageSession};
use crate::server::http::cookies::{self, cookie_value, DEVICE_COOKIE_NAME};
use crate::server::http::request_id::meta_from_parts;
use crate::server::services::sessions::{self, SignedIn};
use crate::server::services::{Account, ServiceError};
use crate::server::state::AppState;
use crate::server::store::{self, audit::RequestMeta};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

pub fn context() -> Result<(AppState, RequestMeta), FormError> {
    let state = use_context::<AppState>().ok_or_else(missing_context)?;
    let parts = use_context::<Parts>().ok_or_else(missing_context)?;
    Ok((state, meta_from_parts(&parts)))
}

/// A refusal that is the client's doing (a step out of order, a form that cannot be read),
/// answered with `status`: a 500 would count as an outage in anyone's monitoring.
pub fn refused(status: StatusCode, message: &str) -> FormError {
    answer_status(status);
    FormError::general(message)
}

fn missing_context() -> FormError {
    tracing::error!("server function called without the app state or request in context");
    FormError::general(request_language().text().our_fault)
}

/// The session token the request carries (bearer or cookie), if any.
pub fn session_token() -> Option<String> {
    use_context::<Parts>().and_then(|parts| token_from_headers(&parts.headers))
}

/// What the page request's session cookie was found to be, when it carried one.
pub fn page_session() -> Option<PageSession> {
    use_context::<Parts>().and_then(|parts| parts.extensions.get::<PageSession>().cloned())
}

/// The RSA public key the reset page seals new passwords with (also at `/api/v3/system`).
pub fn password_key() -> String {
    use_context::<AppState>()
        .map(|state| state.ciphers.rsa_public_pem().to_owned())
        .unwrap_or_default()
}

/// This browser's device token, if it signed in successfully before.
pub fn device_token() -> Option<String> {
    use_context::<Parts>().and_then(|parts| cookie_value(&parts.headers, DEVICE_COOKIE_NAME))
}

pub async fn signed_in_account(state: &AppState) -> Result<Account, ServiceError> {
    Ok(signed_in(state).await?.account)
}

/// The signed-in account and the session the request rides on. A page request found it before
/// rendering (`auth::resolve_page_session`); a server function call reads it now.
pub async fn signed_in(state: &AppState) -> Result<SignedIn, ServiceError> {
    match page_session() {
        Some(PageSession::SignedIn(signed_in)) => return Ok((*signed_in).clone()),
        Some(PageSession::Ended) => return Err(ServiceError::Unauthenticated),
        None => {}
    }
    let token = session_token().ok_or(ServiceError::Unauthenticated)?;
    sessions::resolve(state, &token).await
}

/// The server's own check that the two new-password fields agree (the browser checks first,
/// but a form sent without JavaScript arrives unchecked).
pub fn same_new_password(new_password: &str, again: &str) -> Result<(), FormError> {
    let mismatch: Vec<_> = super::check_new_password(new_password, again)
        .into_iter()
        .filter(|p| p.field == "new_password_again")
        .collect();
    if mismatch.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(mismatch).into())
    }
}

pub fn start_session(state: &AppState, token: &IssuedToken) {
    set_cookie(&cookies::start(&state.settings, token));
}

pub fn remember_device(state: &AppState, device_token: &str) {
    set_cookie(&cookies::remember_device(&state.settings, device_token));
}

pub fn remember_language(state: &AppState, language: Language) {
    set_cookie(&cookies::choose_language(&state.settings, language.tag()));
    // The rest of this request (the redirect's page, if rendered here) speaks it too.
    provide_context(language);
}

/// Keeps a sign-in's second-step token in this browser (HttpOnly) until the code comes.
pub fn remember_second_step(state: &AppState, mfa_token: &str) {
    set_cookie(&cookies::begin_second_step(&state.settings, mfa_token));
}

pub fn second_step_token() -> Option<String> {
    use_context::<Parts>()
        .and_then(|parts| cookie_value(&parts.headers, cookies::SECOND_STEP_COOKIE_NAME))
        .filter(|token| !token.is_empty())
}

pub fn forget_second_step(state: &AppState) {
    set_cookie(&cookies::end_second_step(&state.settings));
}

/// Hands freshly made recovery codes to the next view of the security page, sealed (so the
/// codes are not readable from the browser's cookie store) and bound to the account.
pub fn show_recovery_codes_once(state: &AppState, account_id: i64, codes: &[String]) {
    let sealed = seal_for_next_view(
        state,
        SealedFor::ShownRecoveryCodes,
        account_id,
        &codes.join(" "),
    );
    set_cookie(&cookies::show_codes(&state.settings, &sealed));
}

/// The recovery codes handed to this page view, if any; they are not shown again.
pub fn take_shown_recovery_codes(state: &AppState, account_id: i64) -> Vec<String> {
    let name = cookies::SHOWN_CODES_COOKIE_NAME;
    let Some(sealed) = sealed_cookie(name) else {
        return Vec::new();
    };
    set_cookie(&cookies::codes_shown(&state.settings));
    open_in_this_view(state, SealedFor::ShownRecoveryCodes, account_id, &sealed)
        .map(|codes| codes.split(' ').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Hands a secret the console just made (an API token, a client secret) to the next view of a
/// console page, sealed and bound to the admin, like the recovery codes.
pub fn show_console_secret_once(state: &AppState, account_id: i64, secret: &str) {
    let sealed = seal_for_next_view(state, SealedFor::ShownConsoleSecret, account_id, secret);
    set_cookie(&cookies::show_secret(&state.settings, &sealed));
}

/// The console secret handed to this page view, if any; it is not shown again.
pub fn take_shown_console_secret(state: &AppState, account_id: i64) -> Option<String> {
    let sealed = sealed_cookie(cookies::SHOWN_SECRET_COOKIE_NAME)?;
    set_cookie(&cookies::secret_shown(&state.settings));
    open_in_this_view(state, SealedFor::ShownConsoleSecret, account_id, &sealed)
}

fn seal_for_next_view(state: &AppState, purpose: SealedFor, account_id: i64, text: &str) -> String {
    // The expiry is sealed in with the text: a value copied out of the cookie must stop
    // opening when the cookie would have gone.
    let expires_at = store::unix_now() + cookies::SHOWN_CODES_SECONDS;
    let mut plain = expires_at.to_be_bytes().to_vec();
    plain.extend_from_slice(text.as_bytes());
    second_factor::seal(&state.factor_key, purpose, account_id, &plain)
}

fn sealed_cookie(name: &str) -> Option<String> {
    use_context::<Parts>()
        .and_then(|parts| cookie_value(&parts.headers, name))
        .filter(|value| !value.is_empty())
}

fn open_in_this_view(
    state: &AppState,
    purpose: SealedFor,
    account_id: i64,
    sealed: &str,
) -> Option<String> {
    let plain = second_factor::open(&state.factor_key, purpose, account_id, sealed)?;
    let (expires_at, text) = plain.split_first_chunk::<8>()?;
    let live = store::unix_now() < i64::from_be_bytes(*expires_at);
    live.then(|| String::from_utf8(text.to_vec()).ok())
        .flatten()
}

/// The admin the console request comes from; `NotFound` (404) for anyone else, signed in or
/// not, so the console's pages look like pages that do not exist.
pub async fn operator(
    state: &AppState,
) -> Result<crate::server::services::admin::Operator, ServiceError> {
    let signed_in = signed_in(state).await.map_err(|e| match e {
        ServiceError::Unauthenticated => ServiceError::NotFound,
        other => other,
    })?;
    crate::server::services::admin::operator_of_session(state, &signed_in).await
}

pub fn end_session(state: &AppState) {
    set_cookie(&cookies::end(&state.settings));
}

/// Signs the reset cookie's value for this use only.
const RESET_COOKIE_LABEL: &str = "pending reset";
/// As long as an e-mailed passcode lives (a texted one lives half as long).
const RESET_COOKIE_SECONDS: i64 = 600;

pub fn remember_reset(state: &AppState, reset: &PendingReset) {
    let Ok(json) = serde_json::to_vec(reset) else {
        return;
    };
    let expires_at = store::unix_now() + RESET_COOKIE_SECONDS;
    let value = signed_value::sign(&state.passcode_key, RESET_COOKIE_LABEL, &json, expires_at);
    set_cookie(&cookies::pending_reset(
        &state.settings,
        &value,
        RESET_COOKIE_SECONDS,
    ));
}

pub fn forget_reset(state: &AppState) {
    set_cookie(&cookies::pending_reset(&state.settings, "", 0));
}

/// The reset this browser began, if its cookie is there and genuine.
pub fn pending_reset() -> Option<PendingReset> {
    let state = use_context::<AppState>()?;
    let parts = use_context::<Parts>()?;
    let value = cookie_value(&parts.headers, cookies::RESET_COOKIE_NAME)?;
    let now = store::unix_now();
    let json = signed_value::open(&state.passcode_key, RESET_COOKIE_LABEL, &value, now)?;
    serde_json::from_slice(&json).ok()
}

fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(value),
    ) {
        response.append_header(SET_COOKIE, value);
    }
}

impl From<ServiceError> for FormError {
    fn from(error: ServiceError) -> Self {
        answer_status(error.status());
        let language = request_language();
        let words = language.text();
        let on_field = |field: &'static str, message: &str| FormError {
            message: language.island_text().correct_marked_fields.into(),
            fields: vec![super::FieldMessage {
                field: field.into(),
                message: message.into(),
            }],
        };
        match error {
            ServiceError::Invalid(problems) => FormError::from_invalid(problems, language),
            ServiceError::Taken(problem) => FormError::from_invalid(vec![problem], language),
            ServiceError::InvalidCredentials => FormError::general(words.wrong_credentials),
            ServiceError::Unauthenticated => FormError::general(words.session_over),
            ServiceError::AlreadyDone(what) | ServiceError::NotAllowed(what) => {
                let text = language.problem(&what);
                FormError::general(if language == Language::English {
                    sentence(&text)
                } else {
                    text
                })
            }
            ServiceError::RateLimited { retry_after } => FormError::general(crate::i18n::fill(
                words.too_many_requests,
                &[&language.wait(retry_after)],
            )),
            ServiceError::PasscodeInvalid => on_field("code", words.passcode_wrong),
            ServiceError::PasscodeBurned => FormError::general(words.passcode_burned),
            ServiceError::PasswordUnreadable => {
                on_field("new_password", words.new_password_refused)
            }
            ServiceError::ResetTokenInvalid => FormError::general(words.reset_expired),
            ServiceError::SecondFactorWrong => on_field("code", words.second_factor_wrong),
            ServiceError::SecondFactorExpired => FormError::general(words.second_factor_expired),
            ServiceError::PasskeyRefused => FormError::general(words.passkey_refused),
            ServiceError::LinkInvalid => FormError::general(words.link_invalid),
            ServiceError::Contended => FormError::general(words.busy),
            ServiceError::NotFound => FormError::general(words.not_found_title),
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                FormError::general(words.our_fault)
            }
        }
    }
}

/// Unix seconds as the account page shows them, in UTC, in the page's language.
pub fn utc_text(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            request_language().moment(t.year(), t.month().into(), t.day(), t.hour(), t.minute())
        })
        .unwrap_or_default()
}

/// A session's client in a few words: the browser family from its user agent, and the address.
pub fn client_text(user_agent: Option<&str>, addr: Option<&str>) -> String {
    let agent = user_agent.unwrap_or("");
    let words = request_language().text();
    // Order matters: Edge and Chrome also say "Safari"; Chrome-based Edge says "Chrome".
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("node", "Node.js"),
        ("python", "Python"),
    ]
    .iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| *name)
    .unwrap_or(if agent.is_empty() {
        words.unknown_client
    } else {
        words.other_client
    });
    match addr {
        Some(addr) => crate::i18n::fill(words.client_from, &[browser, addr]),
        None => browser.to_owned(),
    }
}

/// Service messages are API-style ("account is already upgraded"); a page shows a sentence.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Called while the shell renders, before anything is sent: the page's security headers, and
/// the refused form this page view brings back.
pub fn prepare_page() {
    crate::server::http::page_headers::set_for_current_page();
    bring_back_refused_form();
}

/// Brings back the refused form this page view is for (`server::http::no_script_forms`). Its error reaches the form's server action as server_fn's own address
/// parameters would (`ServerActionError`), the typed fields as an `Option<ReturnedForm>`
/// context (`app::components::returned_form`).
fn bring_back_refused_form() {
    let (Some(state), Some(parts)) = (use_context::<AppState>(), use_context::<Parts>()) else {
        return;
    };
    let (returned, clear) =
        crate::server::http::no_script_forms::take_returned(&state.passcode_key, &parts);
    if let (Some(clear), Some(response)) = (
        clear.and_then(|c| HeaderValue::from_str(&c).ok()),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        response.append_header(SET_COOKIE, clear);
    }
    if let Some(returned) = &returned {
        provide_context(leptos::server::ServerActionError::new(
            &returned.action,
            &returned.error,
        ));
    }
    provide_context(returned);
}

/// The username the page request is signed in as, found before the page rendered.
pub fn signed_in_username() -> Option<String> {
    match page_session() {
        Some(PageSession::SignedIn(signed_in)) => Some(signed_in.account.username.clone()),
        _ => None,
    }
}

/// Whether the browser's session cookie stopped working (signed out elsewhere, expired, the
/// password changed): the sign-in page says so.
pub fn session_just_ended() -> bool {
    matches!(page_session(), Some(PageSession::Ended))
}

/// Whether this site can offer passkeys (its public URL is a domain name).
pub fn passkeys_offered() -> bool {
    use_context::<AppState>().is_some_and(|state| state.webauthn.is_some())
}

/// The origin passkeys are bound to (the public URL's), when the site offers them.
pub fn passkey_origin() -> Option<String> {
    let state = use_context::<AppState>().filter(|state| state.webauthn.is_some())?;
    let url = url::Url::parse(&state.settings.public_url).ok()?;
    Some(url.origin().ascii_serialization())
}
