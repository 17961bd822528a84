//! The Temporal v2 envelope: its answers and failures (also the OpenAPI schemas), and the
//! extractors of the signed-in account every account endpoint starts from.

use crate::server::crypto::session_token::IssuedToken;
use crate::server::http::auth::token_from_headers;
use crate::server::rest::body::BodyError;
use crate::server::services::sessions;
use crate::server::services::{Account, ServiceError};
use crate::server::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoResponses, ToSchema};

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
pub(crate) fn said(words: impl Into<String>) -> Json<TemporalMessage> {
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
        let status = error.status();
        let retry_after = error.retry_after();
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
        let SignedInSession(signed_in) = SignedInSession::from_request_parts(parts, state).await?;
        Ok(SignedIn(signed_in.account))
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
    pub(crate) fn of(account: &Account, tos_url: &str) -> Self {
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
