//! The Temporal v2 surface (seeds 000 and 002, SPEC §3).
//!
//! Envelope `{"code": <status>, "response": <value>}` with the HTTP status equal to `code`,
//! except where Temporal's JWT middleware answered itself: login and refresh return
//! `{"expire", "token"}` bare, and their failures are `{"code", "message"}`.
//!
//! Each handler reads its input (a failure is a [`TemporalError`] through `?`), calls one
//! service, and answers with one of the envelope types below, which the OpenAPI document
//! describes from the same definitions.

use super::body::{required, AnyJson, BodyError, FormOrJson};
use crate::api::query_value;
use crate::server::http::auth::{token_from_headers, SessionToken};
use crate::server::crypto::session_token::IssuedToken;
use crate::server::http::request_id::Meta;
use crate::server::services::accounts::{self, Registration, SignIn};
use crate::server::services::{credits, password, plan, recovery, sessions, verification};
use crate::server::services::{Account, ServiceError};
use crate::server::state::AppState;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoResponses, ToSchema};

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
        .merge(super::temporal_mfa::router())
}

/// Seed 000 names both paths for the same question.
pub const FORGOT_EMAIL_PATH: &str = "/v2/forgot/email";
pub const FORGOT_EMAIL_ALIAS: &str = "/v2/account/email/forgot";

// ---- Answers --------------------------------------------------------------------------------

/// `{"code", "response"}` with a sentence: every Temporal failure, and answers that are words.
#[derive(Serialize, ToSchema)]
pub struct TemporalMessage {
    /// The HTTP status again.
    pub code: u16,
    pub response: String,
}

/// `{"code": 200, "response": <credits>}`.
#[derive(Serialize, ToSchema)]
pub struct TemporalCredits {
    pub code: u16,
    /// The balance; exact to six decimal places.
    pub response: f64,
}

/// `{"code": 200, "response": <user>}` after registering.
#[derive(Serialize, ToSchema)]
pub struct TemporalRegistered {
    pub code: u16,
    pub response: TemporalUser,
}

/// Failures of login and refresh, shaped as Temporal's JWT middleware shaped them.
#[derive(Serialize, ToSchema)]
pub struct JwtFailure {
    pub code: u16,
    pub message: String,
    /// Only when the password was right and a second factor must follow
    /// (`message` is `second factor required`): the token for `POST /v2/auth/login/mfa`,
    /// good for five minutes and one use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenAnswer {
    /// RFC 3339, whole seconds, UTC: `2018-12-21T19:31:42Z`.
    pub expire: String,
    /// HS256 JWT; send it as `Authorization: Bearer <token>`.
    pub token: String,
}

impl From<IssuedToken> for TokenAnswer {
    fn from(issued: IssuedToken) -> Self {
        TokenAnswer {
            expire: issued
                .expires_at
                .format(&Rfc3339)
                .expect("UTC timestamps always format"),
            token: issued.token,
        }
    }
}

/// Failures every Temporal endpoint with a body can give.
#[derive(IntoResponses)]
pub enum TemporalBodyFailures {
    /// A missing field, malformed JSON or form, or a value that breaks a rule.
    #[response(status = 400)]
    BadRequest(TemporalMessage),
    /// The body is over 64 KiB.
    #[response(status = 413)]
    TooLarge(TemporalMessage),
    /// Too many requests from this client address or to this destination; see `Retry-After`.
    #[response(status = 429, headers(("Retry-After" = i64, description = "Seconds to wait")))]
    TooMany(TemporalMessage),
}

/// Failures of endpoints that need a session.
#[derive(IntoResponses)]
pub enum TemporalSessionFailures {
    /// No token, or one that is malformed, expired or revoked.
    #[response(status = 401)]
    Unauthenticated(TemporalMessage),
}

/// A successful answer in words.
pub(super) fn said(words: impl Into<String>) -> Json<TemporalMessage> {
    Json(TemporalMessage {
        code: 200,
        response: words.into(),
    })
}

// ---- Failures -------------------------------------------------------------------------------

/// The seed's wording for every failed sign-in.
const INCORRECT_CREDENTIALS: &str = "Incorrect Username / Password";

/// A failed Temporal call: its status, its words and, for a limit, when to ask again. Answers
/// as `{"code", "response"}` (see [`JwtError`] for login and refresh).
#[derive(Debug)]
pub struct TemporalError {
    status: StatusCode,
    message: String,
    retry_after: Option<i64>,
}

impl From<ServiceError> for TemporalError {
    fn from(error: ServiceError) -> Self {
        let status = super::status_of(&error);
        let retry_after = super::retry_after_of(&error);
        let message = match error {
            ServiceError::Invalid(problems) => problems
                .into_iter()
                .map(|p| p.message())
                .collect::<Vec<_>>()
                .join(" "),
            ServiceError::Taken(problem) => problem.message(),
            ServiceError::InvalidCredentials => INCORRECT_CREDENTIALS.to_owned(),
            ServiceError::Unauthenticated => {
                "missing, invalid or expired token: log in again".into()
            }
            ServiceError::AlreadyDone(what) | ServiceError::NotAllowed(what) => {
                crate::i18n::Language::English.problem(&what)
            }
            ServiceError::RateLimited { retry_after } => {
                format!("too many requests; try again in {retry_after} seconds")
            }
            ServiceError::LinkInvalid => {
                "this verification link is invalid, has been used, or has expired".into()
            }
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                "internal server error".into()
            }
            other => other.to_string(),
        };
        TemporalError {
            status,
            message,
            retry_after,
        }
    }
}

impl From<BodyError> for TemporalError {
    fn from(error: BodyError) -> Self {
        TemporalError {
            status: error.status(),
            message: error.message(),
            retry_after: None,
        }
    }
}

impl TemporalError {
    fn into_response_with<Body: Serialize>(self, body: Body) -> Response {
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for TemporalError {
    fn into_response(self) -> Response {
        let body = TemporalMessage {
            code: self.status.as_u16(),
            response: self.message.clone(),
        };
        self.into_response_with(body)
    }
}

/// A failure of login or refresh: `{"code", "message"}`, as Temporal's JWT middleware answered.
#[derive(Debug)]
pub struct JwtError(TemporalError);

impl From<ServiceError> for JwtError {
    fn from(error: ServiceError) -> Self {
        JwtError(error.into())
    }
}

impl From<BodyError> for JwtError {
    fn from(error: BodyError) -> Self {
        JwtError(error.into())
    }
}

impl IntoResponse for JwtError {
    fn into_response(self) -> Response {
        let body = JwtFailure {
            code: self.0.status.as_u16(),
            message: self.0.message.clone(),
            mfa_token: None,
        };
        self.0.into_response_with(body)
    }
}

/// The account behind the request's bearer token (or the site's session cookie). Without a
/// valid one the request is refused before its body is read: 401 in the Temporal envelope.
pub struct SignedIn(pub Account);

/// [`SignedIn`] with the session the token names, for what belongs to one session (an
/// enrolment begun by it).
pub struct SignedInSession(pub sessions::SignedIn);

impl FromRequestParts<AppState> for SignedInSession {
    type Rejection = TemporalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_from_headers(&parts.headers).ok_or(ServiceError::Unauthenticated)?;
        Ok(SignedInSession(sessions::resolve(state, &token).await?))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = TemporalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_from_headers(&parts.headers).ok_or(ServiceError::Unauthenticated)?;
        Ok(SignedIn(accounts::account_for_token(state, &token).await?))
    }
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
        (status = 401, description = "Wrong password or unknown account (one answer); or, with \
            `message` `second factor required`, a right password of an account with a second \
            factor: its `mfa_token` goes to /v2/auth/login/mfa", body = JwtFailure),
        (status = 413, description = "Body over 64 KiB", body = JwtFailure),
        (status = 429, description = "Locked out for now; same for every name", body = JwtFailure,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    ))]
pub(super) async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<AnyJson<LoginBody>, BodyError>,
) -> Result<Response, JwtError> {
    let AnyJson(body) = body?;
    let (Some(username), Some(password)) = (body.username, body.password) else {
        let missing = BodyError::Missing("missing username or password".into());
        return Err(missing.into());
    };
    // A lockout (429) reads the same for every name, known or not (SPEC §7).
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
pub(super) async fn refresh(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Result<Json<TokenAnswer>, JwtError> {
    let token = token.ok_or(ServiceError::Unauthenticated)?;
    let signed_in = sessions::resolve(&state, &token).await?;
    let refreshed = sessions::refresh(&state, &signed_in).await?;
    Ok(Json(refreshed.into()))
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
pub(super) async fn upgrade(
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
pub(super) async fn credits_available(
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
pub(super) async fn forgot_email(SignedIn(account): SignedIn) -> Json<TemporalMessage> {
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
pub(super) async fn verify_email(
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
pub(super) async fn resend_verification(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
) -> Result<Json<TemporalMessage>, TemporalError> {
    verification::resend(&state, &account, &meta).await?;
    Ok(said("a new verification link is on its way"))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ForgotForm {
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
pub(super) async fn forgot_username(
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
pub(super) async fn forgot_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<ForgotForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let email = email_address(body)?;
    recovery::request_by_email(&state, &email, &meta).await?;
    Ok(said(RESET_SENT))
}
