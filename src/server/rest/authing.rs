//! The Authing v3 surface (seeds 001 and 003).
//!
//! Envelope `{"statusCode", "message", "apiCode", "requestId", "data"}`, `apiCode` 0 on
//! success. As Authing itself does, a request that reaches a handler answers HTTP 200 and
//! carries the outcome in `statusCode`: Authing's official SDKs (axios underneath) throw on any
//! other status without reading the body. Only throttling (429), an oversized body (413) and a
//! crash (500) use the HTTP status. The request id is the one in `x-request-id` and in the
//! server log.

use super::body::{required, BodyError, FormOrJson};
use crate::i18n::{fill, Language};
use crate::server::crypto::password_cipher::Encryption;
use crate::server::http::request_id::Meta;
use crate::server::services::recovery::{self, Destination, SentPassword};
use crate::server::services::ServiceError;
use crate::server::state::AppState;
use crate::server::store::audit::RequestMeta;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/send-email", post(send_email))
        .route("/api/v3/send-sms", post(send_sms))
        .route(
            "/api/v3/verify-reset-password-request",
            post(verify_reset_request),
        )
        .route("/api/v3/reset-password", post(reset_password))
        .route("/api/v3/system", get(system))
}

/// The documented apiCodes.
mod api_code {
    pub const OK: u32 = 0;
    pub const PASSCODE_INVALID: u32 = 2001;
    pub const PASSCODE_BURNED: u32 = 2002;
    pub const UNDECRYPTABLE: u32 = 2016;
    pub const PASSWORD_POLICY: u32 = 2029;
    pub const RESET_TOKEN_INVALID: u32 = 2030;
    pub const MALFORMED: u32 = 1400;
    pub const RATE_LIMITED: u32 = 1429;
    pub const INTERNAL: u32 = 1500;
}

const RESET_CHANNEL: &str = "CHANNEL_RESET_PASSWORD";

/// What Authing says with every success.
const SUCCESS_MESSAGE: &str = "操作成功";

/// What a success says: Authing's own words, or English for a client that asked for it.
fn success_message(language: Option<Language>) -> &'static str {
    match language {
        Some(Language::English) => Language::English.text().api_success,
        _ => SUCCESS_MESSAGE,
    }
}

/// The HTTP status an answer with `statusCode` = `status` travels under (see the module doc).
pub fn http_status(status: StatusCode) -> StatusCode {
    match status {
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::SERVICE_UNAVAILABLE => status,
        _ => StatusCode::OK,
    }
}

// ---- Answers --------------------------------------------------------------------------------

/// The envelope of every answer: `{"statusCode", "message", "apiCode", "requestId", "data"}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthingAnswer<Data> {
    pub status_code: u16,
    pub message: String,
    /// 0 on success; 1400 malformed, 1413 too large, 1429 rate limited, 2001 wrong passcode,
    /// 2002 passcode burned, 2016 undecryptable, 2029 password policy, 2030 reset token invalid.
    pub api_code: u32,
    /// The `x-request-id` of this request, also in the server log.
    pub request_id: Option<String>,
    pub data: Data,
}

/// `data` of answers that carry nothing: always null.
#[derive(Serialize, ToSchema, Default)]
#[schema(value_type = Option<Object>)]
pub struct NoData(Option<()>);

/// An answer with nothing in `data`: every failure, and the sends' success.
pub type AuthingEmpty = AuthingAnswer<NoData>;

/// The token step 2 hands out.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetGrantData {
    pub password_reset_token: String,
    /// Seconds until the token expires.
    pub token_expires_in: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ResetDoneData {
    pub success: bool,
}

/// Step 2's answer: the grant, or a business failure in the same HTTP 200.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AuthingResetGrantOrFailure {
    Grant(AuthingAnswer<ResetGrantData>),
    Failure(AuthingEmpty),
}

/// Step 3's answer: done, or a business failure in the same HTTP 200.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AuthingResetDoneOrFailure {
    Done(AuthingAnswer<ResetDoneData>),
    Failure(AuthingEmpty),
}

#[derive(Serialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// RSA: PEM (SPKI). SM2: the uncompressed point in hex.
    pub public_key: String,
}

#[derive(Serialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SystemKeys {
    pub rsa: PublicKey,
    pub sm2: PublicKey,
    /// Latchkey's version.
    pub version: String,
    /// The service's public addresses as configured (`LATCHKEY_PUBLIC_IPS`); empty by default.
    pub public_ips: Vec<String>,
}

/// The keys in `data` and, as Authing's mini-program SDK reads them, at the top level too.
#[derive(Serialize, ToSchema)]
pub struct AuthingSystem {
    #[serde(flatten)]
    pub answer: AuthingAnswer<SystemKeys>,
    #[serde(flatten)]
    pub top_level: SystemKeys,
}

/// Failures every Authing endpoint with a body can give, all in the Authing envelope. Business
/// failures travel as HTTP 200 with the failure in `statusCode` and `apiCode`, as Authing
/// answers them (its SDKs throw on any other status without reading the body); these are listed
/// under the 200 of each operation.
#[derive(IntoResponses)]
pub enum AuthingFailures {
    /// The body is over 64 KiB (1413).
    #[response(status = 413)]
    TooLarge(AuthingEmpty),
    /// Too many sends (1429); see `Retry-After`.
    #[response(status = 429, headers(("Retry-After" = i64, description = "Seconds to wait")))]
    TooMany(AuthingEmpty),
}

/// The answer to a request: `data` on success, else the failure, in the envelope with the
/// request's id.
fn answer<Data: Serialize>(meta: &RequestMeta, outcome: Result<Data, AuthingError>) -> Response {
    let request_id = meta.request_id.clone();
    match outcome {
        Ok(data) => Json(AuthingAnswer {
            status_code: 200,
            message: success_message(meta.authing_language).into(),
            api_code: api_code::OK,
            request_id,
            data,
        })
        .into_response(),
        Err(failure) => {
            let envelope = AuthingEmpty {
                status_code: failure.status.as_u16(),
                message: failure.message(meta.authing_language),
                api_code: failure.api_code,
                request_id,
                data: NoData(None),
            };
            let mut response = (http_status(failure.status), Json(envelope)).into_response();
            if let Some(seconds) = failure.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

// ---- Failures -------------------------------------------------------------------------------

/// A failed Authing call: the status it carries in `statusCode`, its apiCode, what went
/// wrong (put into words when the answer is made, in the client's language), and for a limit
/// when to ask again.
#[derive(Debug)]
pub struct AuthingError {
    status: StatusCode,
    api_code: u32,
    cause: Cause,
    retry_after: Option<i64>,
}

#[derive(Debug)]
enum Cause {
    /// A body the endpoint cannot read: technical detail, in English.
    Body(String),
    Service(ServiceError),
}

impl AuthingError {
    /// A request the endpoint cannot act on (1400).
    fn malformed(message: &str) -> Self {
        BodyError::Missing(message.to_owned()).into()
    }

    /// The `message` of the envelope: in the language of `x-authing-lang` when the client sent
    /// one, else in English.
    fn message(&self, language: Option<Language>) -> String {
        let language = language.unwrap_or_default();
        let error = match &self.cause {
            // The parser's own words name what is malformed; the size limit has a sentence.
            Cause::Body(_) if self.status == StatusCode::PAYLOAD_TOO_LARGE => {
                return language.text().api_too_large.into()
            }
            Cause::Body(detail) => return detail.clone(),
            Cause::Service(error) => error,
        };
        let words = language.text();
        match error {
            ServiceError::Invalid(problems) => problems
                .iter()
                .map(|p| p.message_in(language))
                .collect::<Vec<_>>()
                .join(" "),
            ServiceError::Taken(problem) => problem.message_in(language),
            ServiceError::AlreadyDone(what) | ServiceError::NotAllowed(what) => {
                language.problem(what)
            }
            ServiceError::InvalidCredentials => words.api_wrong_credentials.into(),
            ServiceError::Unauthenticated => words.api_sign_in_first.into(),
            ServiceError::RateLimited { retry_after } => {
                fill(words.api_too_many_requests, &[&retry_after.to_string()])
            }
            ServiceError::LinkInvalid => words.api_link_invalid.into(),
            ServiceError::PasscodeInvalid => words.api_passcode_wrong.into(),
            ServiceError::PasscodeBurned => words.api_passcode_burned.into(),
            ServiceError::PasswordUnreadable => words.api_undecryptable.into(),
            ServiceError::ResetTokenInvalid => words.api_reset_token_invalid.into(),
            ServiceError::SecondFactorWrong => words.second_factor_wrong.into(),
            ServiceError::SecondFactorExpired => words.second_factor_expired.into(),
            ServiceError::PasskeyRefused => words.passkey_refused.into(),
            ServiceError::Contended => words.api_busy.into(),
            ServiceError::NotFound => words.api_not_found.into(),
            ServiceError::Internal(_) => words.api_internal.into(),
        }
    }
}

impl From<BodyError> for AuthingError {
    fn from(error: BodyError) -> Self {
        let status = error.status();
        AuthingError {
            status,
            // 1400 malformed, 1413 too large.
            api_code: api_code::MALFORMED + u32::from(status.as_u16()) - 400,
            cause: Cause::Body(error.message()),
            retry_after: None,
        }
    }
}

impl From<ServiceError> for AuthingError {
    fn from(error: ServiceError) -> Self {
        let status = error.status();
        let retry_after = error.retry_after();
        let api_code = match &error {
            // A refused new password has its own code; any other field is a malformed request.
            ServiceError::Invalid(problems) if problems.iter().any(|p| p.field == "password") => {
                api_code::PASSWORD_POLICY
            }
            ServiceError::Invalid(_) => api_code::MALFORMED,
            ServiceError::PasscodeInvalid => api_code::PASSCODE_INVALID,
            ServiceError::PasscodeBurned => api_code::PASSCODE_BURNED,
            ServiceError::ResetTokenInvalid => api_code::RESET_TOKEN_INVALID,
            ServiceError::PasswordUnreadable => api_code::UNDECRYPTABLE,
            ServiceError::RateLimited { .. } => api_code::RATE_LIMITED,
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                api_code::INTERNAL
            }
            // The rest have no code of their own in Authing's table: 1000 + the status.
            _ => 1000 + u32::from(status.as_u16()),
        };
        AuthingError {
            status,
            api_code,
            cause: Cause::Service(error),
            retry_after,
        }
    }
}

/// Mainland China numbers may leave the country code out (seed 001).
fn country_code_or_china(code: Option<&str>, number: &str) -> Option<String> {
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(code.to_owned()),
        None if !number.trim().starts_with('+') => Some("86".to_owned()),
        None => None,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SendEmail {
    channel: Option<String>,
    email: Option<String>,
}

#[utoipa::path(post, path = "/api/v3/send-email", tag = "Authing v3",
    description = "Step 1 by e-mail: mails a 6-digit passcode (10 min) and a reset link. The same \
                   answer whether or not the address has an account; 1 a minute and 10 an hour \
                   per address.",
    request_body(content(
        (SendEmail = "application/json"),
        (SendEmail = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Done (or nothing to do), or a business failure in \
            `statusCode`/`apiCode`: 400 with 1400 (malformed)", body = AuthingEmpty),
        AuthingFailures,
    ))]
pub(super) async fn send_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<SendEmail>, BodyError>,
) -> Response {
    let outcome = async {
        let FormOrJson(body) = body?;
        reset_channel(body.channel)?;
        let email = required(body.email, "email")?;
        recovery::request_by_email(&state, &email, &meta).await?;
        Ok(NoData(None))
    };
    answer(&meta, outcome.await)
}

/// Both sends serve one purpose only.
fn reset_channel(channel: Option<String>) -> Result<(), AuthingError> {
    match channel.as_deref() {
        Some(RESET_CHANNEL) => Ok(()),
        _ => Err(AuthingError::malformed(
            "channel must be CHANNEL_RESET_PASSWORD",
        )),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SendSms {
    channel: Option<String>,
    phone_number: Option<String>,
    phone_country_code: Option<String>,
}

#[utoipa::path(post, path = "/api/v3/send-sms", tag = "Authing v3",
    description = "Step 1 by phone: texts a passcode (5 min) to a confirmed number. Mainland \
                   China numbers may leave out the country code.",
    request_body(content(
        (SendSms = "application/json"),
        (SendSms = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Done (or nothing to do), or a business failure in \
            `statusCode`/`apiCode`: 400 with 1400 (malformed)", body = AuthingEmpty),
        AuthingFailures,
    ))]
pub(super) async fn send_sms(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<SendSms>, BodyError>,
) -> Response {
    let outcome = async {
        let FormOrJson(body) = body?;
        reset_channel(body.channel)?;
        let number = required(body.phone_number, "phoneNumber")?;
        let code = country_code_or_china(body.phone_country_code.as_deref(), &number);
        recovery::request_by_phone(&state, &number, code.as_deref(), &meta).await?;
        Ok(NoData(None))
    };
    answer(&meta, outcome.await)
}

/// Either payload form: the nested ones of the current API, or seed 001's flat
/// `resetPasswordPayload` carrying whichever fields apply.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct PasscodePayload {
    email: Option<String>,
    phone_number: Option<String>,
    phone_country_code: Option<String>,
    pass_code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct VerifyResetRequest {
    verify_method: Option<String>,
    email_pass_code_payload: Option<PasscodePayload>,
    phone_pass_code_payload: Option<PasscodePayload>,
    reset_password_payload: Option<PasscodePayload>,
}

#[utoipa::path(post, path = "/api/v3/verify-reset-password-request", tag = "Authing v3",
    description = "Step 2: a passcode for a 15-minute reset token. Five wrong tries burn the code. \
                   Takes the nested payloads or seed 001's flat `resetPasswordPayload`.",
    request_body(content(
        (VerifyResetRequest = "application/json"),
        (VerifyResetRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "A reset token, or a business failure in \
            `statusCode`/`apiCode`: 1400 malformed, 2001 wrong passcode, 2002 burned",
            body = AuthingResetGrantOrFailure),
        AuthingFailures,
    ))]
pub(super) async fn verify_reset_request(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<VerifyResetRequest>, BodyError>,
) -> Response {
    let outcome = async {
        let FormOrJson(body) = body?;
        let by_email = match body.verify_method.as_deref() {
            Some("EMAIL_PASSCODE") => true,
            Some("PHONE_PASSCODE") => false,
            _ => {
                let wanted = "verifyMethod must be EMAIL_PASSCODE or PHONE_PASSCODE";
                return Err(AuthingError::malformed(wanted));
            }
        };
        let (nested, name) = if by_email {
            (body.email_pass_code_payload, "emailPassCodePayload")
        } else {
            (body.phone_pass_code_payload, "phonePassCodePayload")
        };
        let payload = nested
            .or(body.reset_password_payload)
            .ok_or_else(|| AuthingError::malformed(&format!("{name} is required")))?;
        let code = required(payload.pass_code, "passCode")?;
        let (email, number, country_code);
        let destination = if by_email {
            email = required(payload.email, "email")?;
            Destination::Email(&email)
        } else {
            number = required(payload.phone_number, "phoneNumber")?;
            country_code = country_code_or_china(payload.phone_country_code.as_deref(), &number);
            Destination::Phone {
                number: &number,
                country_code: country_code.as_deref(),
            }
        };
        let grant = recovery::verify_passcode(&state, destination, &code, &meta).await?;
        Ok(ResetGrantData {
            password_reset_token: grant.token.expose_secret().to_owned(),
            token_expires_in: grant.expires_in,
        })
    };
    answer(&meta, outcome.await)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResetPassword {
    password: Option<String>,
    password_reset_token: Option<String>,
    password_encrypt_type: Option<String>,
}

#[utoipa::path(post, path = "/api/v3/reset-password", tag = "Authing v3",
    description = "Step 3: sets the new password (plain, or sealed with the RSA or SM2 key from \
                   /api/v3/system). Signs out everywhere and lifts any login lockout.",
    request_body(content(
        (ResetPassword = "application/json"),
        (ResetPassword = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Password set, or a business failure in \
            `statusCode`/`apiCode`: 1400 malformed, 2016 undecryptable, 2029 refused \
            password, 2030 reset token invalid",
            body = AuthingResetDoneOrFailure),
        AuthingFailures,
    ))]
pub(super) async fn reset_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<ResetPassword>, BodyError>,
) -> Response {
    let outcome = async {
        let FormOrJson(body) = body?;
        // Not `required`: a password of spaces is the policy's to judge, not a missing field.
        let sent = (body.password)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| AuthingError::malformed("password is required"))?;
        let token = required(body.password_reset_token, "passwordResetToken")?;
        let encryption =
            Encryption::parse(body.password_encrypt_type.as_deref()).ok_or_else(|| {
                AuthingError::malformed("passwordEncryptType must be none, rsa or sm2")
            })?;
        let sealed = SentPassword {
            text: &sent,
            encryption,
        };
        recovery::reset_password(&state, &token, sealed, None, &meta).await?;
        Ok(ResetDoneData { success: true })
    };
    answer(&meta, outcome.await)
}

/// The public keys for password encryption, Latchkey's version and the configured public
/// addresses, in `data` and, as Authing's mini-program SDK reads them, at the top level too.
#[utoipa::path(get, path = "/api/v3/system", tag = "Authing v3",
    description = "The public keys for sealing a new password, the version, the public IPs.",
    responses((status = 200, description = "RSA and SM2 public keys", body = AuthingSystem)))]
pub(super) async fn system(State(state): State<AppState>, Meta(meta): Meta) -> Json<AuthingSystem> {
    let keys = SystemKeys {
        rsa: PublicKey {
            public_key: state.ciphers.rsa_public_pem().to_owned(),
        },
        sm2: PublicKey {
            public_key: state.ciphers.sm2_public_hex().to_owned(),
        },
        version: env!("CARGO_PKG_VERSION").to_owned(),
        public_ips: state.settings.config.public_ips.clone(),
    };
    Json(AuthingSystem {
        answer: AuthingAnswer {
            status_code: 200,
            message: success_message(meta.authing_language).into(),
            api_code: api_code::OK,
            request_id: meta.request_id,
            data: keys.clone(),
        },
        top_level: keys,
    })
}
