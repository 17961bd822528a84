//! The Temporal v2 surface (seeds 000 and 002, SPEC §3).
//!
//! Envelope `{"code": <status>, "response": <value>}` with the HTTP status equal to `code`,
//! except where Temporal's JWT middleware answered itself: login and refresh return
//! `{"expire", "token"}` bare, and their failures are `{"code", "message"}`.

use super::body::{required, AnyJson, BodyError, FormOrJson};
use crate::api::query_escape;
use crate::server::auth::SessionToken;
use crate::server::crypto::session_token::IssuedToken;
use crate::server::request_id::Meta;
use crate::server::services::accounts::{self, Account, Registration};
use crate::server::services::ServiceError;
use crate::server::services::{password, plan, recovery, verification};
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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/auth/register", post(register))
        .route("/v2/auth/login", post(login))
        .route("/v2/auth/refresh", get(refresh))
        .route("/v2/account/password/change", post(change_password))
        .route("/v2/account/upgrade", post(upgrade))
        .route("/v2/account/credits/available", get(credits_available))
        .route("/v2/forgot/email", post(forgot_email))
        .route("/v2/account/email/forgot", post(forgot_email))
        .route(
            "/v2/account/email/verify/{username}/{token}",
            get(verify_email),
        )
        .route("/v2/account/email/verify/resend", post(resend_verification))
        .route("/v2/forgot/username", post(forgot_username))
        .route("/v2/forgot/password", post(forgot_password))
}

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
    let (status, message) = match error {
        ServiceError::Invalid(problems) => (
            StatusCode::BAD_REQUEST,
            problems
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ServiceError::Taken(problem) => (StatusCode::CONFLICT, problem.message),
        ServiceError::InvalidCredentials => {
            (StatusCode::UNAUTHORIZED, INCORRECT_CREDENTIALS.to_owned())
        }
        ServiceError::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "missing, invalid or expired token: log in again".to_owned(),
        ),
        ServiceError::AlreadyDone(what) => (StatusCode::BAD_REQUEST, what),
        ServiceError::NotAllowed(what) => (StatusCode::FORBIDDEN, what),
        ServiceError::RateLimited { retry_after } => {
            let response = envelope(
                StatusCode::TOO_MANY_REQUESTS,
                Value::String(too_many_requests(retry_after)),
            );
            return with_retry_after(response, retry_after);
        }
        recovery @ (ServiceError::PasscodeInvalid
        | ServiceError::PasscodeBurned
        | ServiceError::ResetTokenInvalid) => (StatusCode::BAD_REQUEST, recovery.to_string()),
        ServiceError::LinkInvalid => (
            StatusCode::BAD_REQUEST,
            "this verification link is invalid, has been used, or has expired".to_owned(),
        ),
        ServiceError::Internal(detail) => {
            tracing::error!(%detail, "request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error".to_owned(),
            )
        }
    };
    envelope(status, Value::String(message))
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

#[derive(Serialize)]
struct TokenAnswer {
    /// RFC 3339, whole seconds, UTC: `2018-12-21T19:31:42Z`.
    expire: String,
    token: String,
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
fn user_object(account: &Account, tos_url: &str) -> Value {
    json!({
        "ID": account.id,
        "CreatedAt": account.created_at,
        "UpdatedAt": account.updated_at,
        "DeletedAt": account.deleted_at,
        "UserName": account.username,
        "EmailAddress": account.email,
        "AccountEnabled": account.account_enabled,
        "EmailEnabled": account.email_verified,
        "EmailVerificationToken": "scrubbed",
        "AdminAccess": account.admin,
        "HashedPassword": "scrubbed",
        "Free": !account.paid,
        "Credits": account.credits.as_f64(),
        "CustomerObjectHash": null,
        "IPFSKeyNames": null,
        "IPFSKeyIDs": null,
        "IPFSNetworkNames": null,
        "Status": format!(
            "by continuing to use this service you agree to be bound by the following api terms and service{tos_url}"
        ),
    })
}

#[derive(Deserialize)]
struct RegisterForm {
    username: Option<String>,
    password: Option<String>,
    email_address: Option<String>,
}

async fn register(
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
            user_object(&account, &state.settings.tos_url),
        ),
        Err(e) => service_failure(e),
    }
}

#[derive(Deserialize)]
struct LoginBody {
    username: Option<String>,
    password: Option<String>,
}

async fn login(
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
    match accounts::log_in(&state, &username, &password, &meta).await {
        Ok((_, token)) => token_answer(token),
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

async fn refresh(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SessionToken(token): SessionToken,
) -> Response {
    let account = match token {
        Some(token) => accounts::account_for_token(&state, &token).await,
        None => Err(ServiceError::Unauthenticated),
    };
    let refreshed = match account {
        Ok(account) => accounts::refresh(&state, &account, &meta).await,
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

#[derive(Deserialize)]
struct ChangePasswordForm {
    old_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
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
    match password::change(&state, &account, &old, &new, &meta).await {
        // The caller's own token is revoked too: the seed's clients log in again.
        Ok(_) => ok(json!("password changed")),
        Err(e) => service_failure(e),
    }
}

async fn upgrade(
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

async fn credits_available(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Response {
    match signed_in(&state, token).await {
        Ok(account) => ok(json!(account.credits.as_f64())),
        Err(answer) => answer,
    }
}

async fn forgot_email(
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
async fn verify_email(
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
            query_escape(&username),
            query_escape(&token)
        );
        return (StatusCode::SEE_OTHER, [(header::LOCATION, page)]).into_response();
    }
    match verification::verify(&state, &username, &token, &meta).await {
        Ok(()) => ok(json!("email verified")),
        Err(e) => service_failure(e),
    }
}

async fn resend_verification(
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

#[derive(Deserialize)]
struct ForgotForm {
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

async fn forgot_username(
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

async fn forgot_password(
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
