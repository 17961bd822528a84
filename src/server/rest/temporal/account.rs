//! The seed's Temporal v2 endpoints (seeds 000 and 002): sign-up, sign-in and refresh, the
//! password, the plan, credits, the address's verification, and recovery by e-mail.

use super::envelope::{
    said, JwtError, JwtFailure, SignedIn, TemporalBodyFailures, TemporalCredits, TemporalError,
    TemporalMessage, TemporalRegistered, TemporalSessionFailures, TemporalUser, TokenAnswer,
};
use crate::server::http::auth::SessionToken;
use crate::server::http::query_value;
use crate::server::http::request_id::Meta;
use crate::server::rest::body::{required, AnyJson, BodyError, FormOrJson};
use crate::server::services::accounts::{self, Registration, SignIn};
use crate::server::services::ServiceError;
use crate::server::services::{credits, password, plan, recovery, sessions, verification};
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub(crate) struct RegisterForm {
    username: Option<String>,
    password: Option<String>,
    email_address: Option<String>,
}

#[utoipa::path(post, path = "/v2/auth/register", tag = "Temporal v2",
    description = "Creates an account and mails a verification link. Also takes multipart forms.",
    request_body(content(
        (RegisterForm = "application/json"),
        (RegisterForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The new account", body = TemporalRegistered),
        (status = 409, description = "The username or address is taken", body = TemporalMessage),
        TemporalBodyFailures,
    ))]
pub(crate) async fn register(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<RegisterForm>, BodyError>,
) -> Result<Json<TemporalRegistered>, TemporalError> {
    let FormOrJson(form) = body?;
    let username = required(form.username, "username")?;
    let password = required(form.password, "password")?;
    let email = required(form.email_address, "email_address")?;
    let registration = Registration {
        username: &username,
        email: &email,
        password: &password,
    };
    let account = accounts::register(&state, registration, &meta).await?;
    Ok(Json(TemporalRegistered {
        code: 200,
        response: TemporalUser::of(&account, &state.settings.tos_url),
    }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginBody {
    username: Option<String>,
    password: Option<String>,
}

#[utoipa::path(post, path = "/v2/auth/login", tag = "Temporal v2",
    description = "Exchanges a username or e-mail address and password for a 24-hour token. \
                   The body is JSON under any content type. After five failed attempts at one \
                   account (or unknown name) each further one waits, 15 s doubling up to 15 min.",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "A session token", body = TokenAnswer),
        (status = 400, description = "Malformed body or missing field", body = JwtFailure),
        (status = 401, description = "Wrong password or unknown account (one answer); or, with \
            `message` `second factor required`, a right password of an account with a second \
            factor: its `mfa_token` goes to /v2/auth/login/mfa", body = JwtFailure),
        (status = 413, description = "Body over 64 KiB", body = JwtFailure),
        (status = 429, description = "Locked out for now; same for every name", body = JwtFailure,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    ))]
pub(crate) async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<AnyJson<LoginBody>, BodyError>,
) -> Result<Response, JwtError> {
    let AnyJson(body) = body?;
    let (Some(username), Some(password)) = (body.username, body.password) else {
        let missing = BodyError::Missing("missing username or password".into());
        return Err(missing.into());
    };
    // A lockout (429) reads the same for every name, known or not.
    match accounts::log_in(&state, &username, &password, None, &meta).await? {
        SignIn::Done(logged_in) => Ok(Json(TokenAnswer::from(logged_in.token)).into_response()),
        SignIn::SecondFactor { mfa_token } => {
            let body = JwtFailure {
                code: 401,
                message: "second factor required".into(),
                mfa_token: Some(mfa_token),
            };
            Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response())
        }
    }
}

#[utoipa::path(get, path = "/v2/auth/refresh", tag = "Temporal v2",
    description = "A fresh token for a valid one, for the same session: 24 hours, but never \
                   past the session's end (30 days after sign-in by default). A session may \
                   refresh 60 times an hour.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new session token", body = TokenAnswer),
        (status = 401, description = "No valid session", body = JwtFailure),
        (status = 429, description = "This session refreshed too often", body = JwtFailure,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    ))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Result<Json<TokenAnswer>, JwtError> {
    let token = token.ok_or(ServiceError::Unauthenticated)?;
    let signed_in = sessions::resolve(&state, &token).await?;
    let refreshed = sessions::refresh(&state, &signed_in).await?;
    Ok(Json(refreshed.into()))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangePasswordForm {
    old_password: Option<String>,
    new_password: Option<String>,
}

#[utoipa::path(post, path = "/v2/account/password/change", tag = "Temporal v2",
    description = "Changes the password; every older token, this one included, stops working.",
    security(("bearer" = [])),
    request_body(content(
        (ChangePasswordForm = "application/json"),
        (ChangePasswordForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Changed", body = TemporalMessage),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
    body: Result<FormOrJson<ChangePasswordForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let FormOrJson(form) = body?;
    let old = required(form.old_password, "old_password")?;
    let new = required(form.new_password, "new_password")?;
    // The caller's own token is revoked too: the seed's clients log in again.
    password::change(&state, &account, &old, &new, false, &meta).await?;
    Ok(said("password changed"))
}

#[utoipa::path(post, path = "/v2/account/upgrade", tag = "Temporal v2",
    description = "Moves a free account with a verified address to the paid plan.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Upgraded", body = TemporalMessage),
        (status = 400, description = "Already on the paid plan", body = TemporalMessage),
        (status = 403, description = "The e-mail address is not verified yet", body = TemporalMessage),
        TemporalSessionFailures,
    ))]
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
) -> Result<Json<TemporalMessage>, TemporalError> {
    plan::upgrade(&state, &account, &meta).await?;
    Ok(said("account upgraded"))
}

#[utoipa::path(get, path = "/v2/account/credits/available", tag = "Temporal v2",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The balance", body = TemporalCredits),
        TemporalSessionFailures,
    ))]
pub(crate) async fn credits_available(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Result<Json<TemporalCredits>, TemporalError> {
    // The token alone, not [`SignedIn`]: the balance is one read, not an account load.
    let token = token.ok_or(ServiceError::Unauthenticated)?;
    let balance = credits::available(&state, &token).await?;
    Ok(Json(TemporalCredits {
        code: 200,
        response: balance.as_f64(),
    }))
}

#[utoipa::path(post, path = "/v2/forgot/email", tag = "Temporal v2",
    description = "The signed-in account's e-mail address. Also at /v2/account/email/forgot.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The address", body = TemporalMessage),
        TemporalSessionFailures,
    ))]
pub(crate) async fn forgot_email(SignedIn(account): SignedIn) -> Json<TemporalMessage> {
    said(account.email)
}

/// The link in the verification mail. An API client verifies at once; a browser (it asks for
/// HTML) is sent to the page that asks for one click, so link scanners cannot use it up.
#[utoipa::path(get, path = "/v2/account/email/verify/{username}/{token}", tag = "Temporal v2",
    description = "The link in the verification mail. A browser (Accept: text/html) is sent to \
                   a page that asks for one click, so link scanners cannot use the link up.",
    params(
        ("username" = String, Path, description = "The account's username"),
        ("token" = String, Path, description = "The token from the mail"),
    ),
    responses(
        (status = 200, description = "Verified", body = TemporalMessage),
        (status = 303, description = "A browser: go to the confirmation page"),
        (status = 400, description = "Unknown, used or expired link", body = TemporalMessage),
    ))]
pub(crate) async fn verify_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path((username, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, TemporalError> {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        let page = format!(
            "/verify-email/{}/{}",
            query_value(&username),
            query_value(&token)
        );
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, page)]).into_response());
    }
    verification::verify(&state, &username, &token, &meta).await?;
    Ok(said("email verified").into_response())
}

#[utoipa::path(post, path = "/v2/account/email/verify/resend", tag = "Temporal v2",
    description = "Mails a new verification link (at most 1 a minute and 5 an hour).",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Queued", body = TemporalMessage),
        (status = 400, description = "Already verified", body = TemporalMessage),
        (status = 429, description = "Sent too recently", body = TemporalMessage,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
        TemporalSessionFailures,
    ))]
pub(crate) async fn resend_verification(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
) -> Result<Json<TemporalMessage>, TemporalError> {
    verification::resend(&state, &account, &meta).await?;
    Ok(said("a new verification link is on its way"))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ForgotForm {
    email_address: Option<String>,
}

/// The same words whether or not the address belongs to anyone.
const USERNAME_SENT: &str = "if that address belongs to an account with a verified e-mail address, its username is on its way there";
const RESET_SENT: &str =
    "if that address belongs to an account, a passcode and a reset link are on their way there";

/// The `email_address` field of a forgot form.
fn email_address(body: Result<FormOrJson<ForgotForm>, BodyError>) -> Result<String, BodyError> {
    required(body?.0.email_address, "email_address")
}

#[utoipa::path(post, path = "/v2/forgot/username", tag = "Temporal v2",
    description = "Mails the username to a verified address. The same answer for any address.",
    request_body(content(
        (ForgotForm = "application/json"),
        (ForgotForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Done (or nothing to do)", body = TemporalMessage),
        TemporalBodyFailures,
    ))]
pub(crate) async fn forgot_username(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<ForgotForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let email = email_address(body)?;
    recovery::remind_username(&state, &email, &meta).await?;
    Ok(said(USERNAME_SENT))
}

#[utoipa::path(post, path = "/v2/forgot/password", tag = "Temporal v2",
    description = "Mails a passcode and a reset link. The same answer for any address.",
    request_body(content(
        (ForgotForm = "application/json"),
        (ForgotForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Done (or nothing to do)", body = TemporalMessage),
        TemporalBodyFailures,
    ))]
pub(crate) async fn forgot_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<ForgotForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let email = email_address(body)?;
    recovery::request_by_email(&state, &email, &meta).await?;
    Ok(said(RESET_SENT))
}
