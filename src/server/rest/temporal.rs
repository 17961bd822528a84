//! The Temporal v2 surface (seeds 000 and 002, SPEC §3).
//!
//! Envelope `{"code": <status>, "response": <value>}` with the HTTP status equal to `code`,
//! except where Temporal's JWT middleware answered itself: login and refresh return
//! `{"expire", "token"}` bare, and their failures are `{"code", "message"}`.

use super::body::{required, AnyJson, BodyError, FormOrJson};
use super::openapi::{
    JwtFailure, TemporalBodyFailures, TemporalCredits, TemporalMessage, TemporalRegistered,
    TemporalSessionFailures,
};
use crate::api::query_value;
use crate::server::auth::SessionToken;
use crate::server::crypto::session_token::IssuedToken;
use crate::server::request_id::Meta;
use crate::server::services::accounts::{self, Account, Registration};
use crate::server::services::ServiceError;
use crate::server::services::{credits, password, plan, recovery, sessions, verification};
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/auth/register", post(register))
        .route("/v2/auth/login", post(login))
        .route("/v2/auth/refresh", get(refresh))
        .route("/v2/account/password/change", post(change_password))
        .route("/v2/account/upgrade", post(upgrade))
        .route("/v2/account/credits/available", get(credits_available))
        .route(FORGOT_EMAIL_PATH, post(forgot_email))
        .route(FORGOT_EMAIL_ALIAS, post(forgot_email))
        .route(
            "/v2/account/email/verify/{username}/{token}",
            get(verify_email),
        )
        .route("/v2/account/email/verify/resend", post(resend_verification))
        .route("/v2/forgot/username", post(forgot_username))
        .route("/v2/forgot/password", post(forgot_password))
}

/// Seed 000 names both paths for the same question.
pub const FORGOT_EMAIL_PATH: &str = "/v2/forgot/email";
pub const FORGOT_EMAIL_ALIAS: &str = "/v2/account/email/forgot";

/// The seed's wording for every failed sign-in.
const INCORRECT_CREDENTIALS: &str = "Incorrect Username / Password";

/// `{"code": status, "response": value}`.
fn envelope(status: StatusCode, response: Value) -> Response {
    (
        status,
        Json(json!({ "code": status.as_u16(), "response": response })),
    )
        .into_response()
}

fn bad_body(error: BodyError) -> Response {
    envelope(error.status(), Value::String(error.message()))
}

fn service_failure(error: ServiceError) -> Response {
    let status = super::status_of(&error);
    let retry_after = super::retry_after_of(&error);
    let message = match error {
        ServiceError::Invalid(problems) => problems
            .into_iter()
            .map(|p| p.message)
            .collect::<Vec<_>>()
            .join(" "),
        ServiceError::Taken(problem) => problem.message,
        ServiceError::InvalidCredentials => INCORRECT_CREDENTIALS.to_owned(),
        ServiceError::Unauthenticated => "missing, invalid or expired token: log in again".into(),
        ServiceError::AlreadyDone(what) | ServiceError::NotAllowed(what) => what,
        ServiceError::RateLimited { retry_after } => too_many_requests(retry_after),
        ServiceError::LinkInvalid => {
            "this verification link is invalid, has been used, or has expired".into()
        }
        ServiceError::Internal(detail) => {
            tracing::error!(%detail, "request failed");
            "internal server error".into()
        }
        other => other.to_string(),
    };
    let response = envelope(status, Value::String(message));
    match retry_after {
        Some(seconds) => with_retry_after(response, seconds),
        None => response,
    }
}

fn too_many_requests(retry_after: i64) -> String {
    format!("too many requests; try again in {retry_after} seconds")
}

fn with_retry_after(mut response: Response, retry_after: i64) -> Response {
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(retry_after),
    );
    response
}

/// Failures of the JWT endpoints (login, refresh): `{"code", "message"}`.
fn jwt_failure(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

#[derive(Serialize, ToSchema)]
pub struct TokenAnswer {
    /// RFC 3339, whole seconds, UTC: `2018-12-21T19:31:42Z`.
    pub expire: String,
    /// HS256 JWT; send it as `Authorization: Bearer <token>`.
    pub token: String,
}

fn token_answer(issued: IssuedToken) -> Response {
    let expire = issued
        .expires_at
        .format(&Rfc3339)
        .expect("UTC timestamps always format");
    Json(TokenAnswer {
        expire,
        token: issued.token,
    })
    .into_response()
}

/// The seed's user object, secrets scrubbed (seed 002).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TemporalUser {
    #[serde(rename = "ID")]
    pub id: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub user_name: String,
    pub email_address: String,
    pub account_enabled: bool,
    /// Whether the address is verified.
    pub email_enabled: bool,
    /// Always `scrubbed`.
    pub email_verification_token: String,
    pub admin_access: bool,
    /// Always `scrubbed`.
    pub hashed_password: String,
    pub free: bool,
    pub credits: f64,
    #[schema(value_type = Option<String>)]
    pub customer_object_hash: Option<String>,
    #[serde(rename = "IPFSKeyNames")]
    pub ipfs_key_names: Option<Vec<String>>,
    #[serde(rename = "IPFSKeyIDs")]
    pub ipfs_key_ids: Option<Vec<String>>,
    #[serde(rename = "IPFSNetworkNames")]
    pub ipfs_network_names: Option<Vec<String>>,
    pub status: String,
}

impl TemporalUser {
    fn of(account: &Account, tos_url: &str) -> Self {
        TemporalUser {
            id: account.id,
            created_at: account.created_at.clone(),
            updated_at: account.updated_at.clone(),
            deleted_at: account.deleted_at.clone(),
            user_name: account.username.clone(),
            email_address: account.email.clone(),
            account_enabled: account.account_enabled,
            email_enabled: account.email_verified,
            email_verification_token: "scrubbed".into(),
            admin_access: account.admin,
            hashed_password: "scrubbed".into(),
            free: !account.paid,
            credits: account.credits.as_f64(),
            customer_object_hash: None,
            ipfs_key_names: None,
            ipfs_key_ids: None,
            ipfs_network_names: None,
            status: format!(
                "by continuing to use this service you agree to be bound by the following api terms and service{tos_url}"
            ),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RegisterForm {
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
pub(super) async fn register(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<RegisterForm>, BodyError>,
) -> Response {
    let FormOrJson(form) = match body {
        Ok(form) => form,
        Err(e) => return bad_body(e),
    };
    let fields = required(form.username, "username").and_then(|u| {
        let p = required(form.password, "password")?;
        let e = required(form.email_address, "email_address")?;
        Ok((u, p, e))
    });
    let (username, password, email) = match fields {
        Ok(fields) => fields,
        Err(message) => return envelope(StatusCode::BAD_REQUEST, Value::String(message)),
    };
    let registration = Registration {
        username: &username,
        email: &email,
        password: &password,
    };
    match accounts::register(&state, registration, &meta).await {
        Ok(account) => envelope(
            StatusCode::OK,
            json!(TemporalUser::of(&account, &state.settings.tos_url)),
        ),
        Err(e) => service_failure(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub(super) struct LoginBody {
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
        (status = 401, description = "Wrong password or unknown account (one answer)", body = JwtFailure),
        (status = 413, description = "Body over 64 KiB", body = JwtFailure),
        (status = 429, description = "Locked out for now; same for every name", body = JwtFailure,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    ))]
pub(super) async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<AnyJson<LoginBody>, BodyError>,
) -> Response {
    let AnyJson(body) = match body {
        Ok(body) => body,
        Err(e) => return jwt_failure(e.status(), &e.message()),
    };
    let (Some(username), Some(password)) = (body.username, body.password) else {
        return jwt_failure(StatusCode::BAD_REQUEST, "missing username or password");
    };
    match accounts::log_in(&state, &username, &password, None, &meta).await {
        Ok(logged_in) => token_answer(logged_in.token),
        Err(ServiceError::InvalidCredentials) => {
            jwt_failure(StatusCode::UNAUTHORIZED, INCORRECT_CREDENTIALS)
        }
        // A lockout reads the same for every name, known or not (SPEC §7).
        Err(ServiceError::RateLimited { retry_after }) => with_retry_after(
            jwt_failure(
                StatusCode::TOO_MANY_REQUESTS,
                &too_many_requests(retry_after),
            ),
            retry_after,
        ),
        Err(e) => service_failure(e),
    }
}

#[utoipa::path(get, path = "/v2/auth/refresh", tag = "Temporal v2",
    description = "A fresh token for a valid one, for the same session: 24 hours, but never \
                   past the session's end (30 days after sign-in by default).",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new session token", body = TokenAnswer),
        (status = 401, description = "No valid session", body = JwtFailure),
    ))]
pub(super) async fn refresh(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SessionToken(token): SessionToken,
) -> Response {
    let signed_in = match token {
        Some(token) => sessions::resolve(&state, &token).await,
        None => Err(ServiceError::Unauthenticated),
    };
    let refreshed = match signed_in {
        Ok(signed_in) => sessions::refresh(&state, &signed_in, &meta).await,
        Err(e) => Err(e),
    };
    match refreshed {
        Ok(token) => token_answer(token),
        Err(ServiceError::Unauthenticated) => jwt_failure(
            StatusCode::UNAUTHORIZED,
            "missing, invalid or expired token: log in again",
        ),
        Err(e) => service_failure(e),
    }
}

/// The account behind the request's bearer token (or session cookie), or the 401 answer.
async fn signed_in(state: &AppState, token: Option<String>) -> Result<Account, Response> {
    let Some(token) = token else {
        return Err(service_failure(ServiceError::Unauthenticated));
    };
    accounts::account_for_token(state, &token)
        .await
        .map_err(service_failure)
}

fn ok(response: Value) -> Response {
    envelope(StatusCode::OK, response)
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ChangePasswordForm {
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
pub(super) async fn change_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SessionToken(token): SessionToken,
    body: Result<FormOrJson<ChangePasswordForm>, BodyError>,
) -> Response {
    let account = match signed_in(&state, token).await {
        Ok(account) => account,
        Err(answer) => return answer,
    };
    let FormOrJson(form) = match body {
        Ok(form) => form,
        Err(e) => return bad_body(e),
    };
    let fields = required(form.old_password, "old_password")
        .and_then(|old| Ok((old, required(form.new_password, "new_password")?)));
    let (old, new) = match fields {
        Ok(fields) => fields,
        Err(message) => return envelope(StatusCode::BAD_REQUEST, Value::String(message)),
    };
    match password::change(&state, &account, &old, &new, false, &meta).await {
        // The caller's own token is revoked too: the seed's clients log in again.
        Ok(_) => ok(json!("password changed")),
        Err(e) => service_failure(e),
    }
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
pub(super) async fn upgrade(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SessionToken(token): SessionToken,
) -> Response {
    let account = match signed_in(&state, token).await {
        Ok(account) => account,
        Err(answer) => return answer,
    };
    match plan::upgrade(&state, &account, &meta).await {
        Ok(()) => ok(json!("account upgraded")),
        Err(e) => service_failure(e),
    }
}

#[utoipa::path(get, path = "/v2/account/credits/available", tag = "Temporal v2",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The balance", body = TemporalCredits),
        TemporalSessionFailures,
    ))]
pub(super) async fn credits_available(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Response {
    let Some(token) = token else {
        return service_failure(ServiceError::Unauthenticated);
    };
    match credits::available(&state, &token).await {
        Ok(balance) => ok(json!(balance.as_f64())),
        Err(e) => service_failure(e),
    }
}

#[utoipa::path(post, path = "/v2/forgot/email", tag = "Temporal v2",
    description = "The signed-in account's e-mail address. Also at /v2/account/email/forgot.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The address", body = TemporalMessage),
        TemporalSessionFailures,
    ))]
pub(super) async fn forgot_email(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Response {
    match signed_in(&state, token).await {
        Ok(account) => ok(json!(account.email)),
        Err(answer) => answer,
    }
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
pub(super) async fn verify_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path((username, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
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
        return (StatusCode::SEE_OTHER, [(header::LOCATION, page)]).into_response();
    }
    match verification::verify(&state, &username, &token, &meta).await {
        Ok(()) => ok(json!("email verified")),
        Err(e) => service_failure(e),
    }
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
pub(super) async fn resend_verification(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SessionToken(token): SessionToken,
) -> Response {
    let account = match signed_in(&state, token).await {
        Ok(account) => account,
        Err(answer) => return answer,
    };
    match verification::resend(&state, &account, &meta).await {
        Ok(()) => ok(json!("a new verification link is on its way")),
        Err(e) => service_failure(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ForgotForm {
    email_address: Option<String>,
}

/// The same words whether or not the address belongs to anyone.
const USERNAME_SENT: &str = "if that address belongs to an account with a verified e-mail address, its username is on its way there";
const RESET_SENT: &str =
    "if that address belongs to an account, a passcode and a reset link are on their way there";

/// The `email_address` field of a forgot form, or the 400 answer (an adapter helper: the
/// error is the response itself).
#[allow(clippy::result_large_err)]
fn email_address(body: Result<FormOrJson<ForgotForm>, BodyError>) -> Result<String, Response> {
    let FormOrJson(form) = body.map_err(bad_body)?;
    required(form.email_address, "email_address")
        .map_err(|message| envelope(StatusCode::BAD_REQUEST, Value::String(message)))
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
pub(super) async fn forgot_username(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<ForgotForm>, BodyError>,
) -> Response {
    let email = match email_address(body) {
        Ok(email) => email,
        Err(answer) => return answer,
    };
    match recovery::remind_username(&state, &email, &meta).await {
        Ok(()) => ok(json!(USERNAME_SENT)),
        Err(e) => service_failure(e),
    }
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
pub(super) async fn forgot_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<ForgotForm>, BodyError>,
) -> Response {
    let email = match email_address(body) {
        Ok(email) => email,
        Err(answer) => return answer,
    };
    match recovery::request_by_email(&state, &email, &meta).await {
        Ok(()) => ok(json!(RESET_SENT)),
        Err(e) => service_failure(e),
    }
}
