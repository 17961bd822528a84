//! The Authing v3 surface (seeds 001 and 003, SPEC §4).
//!
//! Envelope `{"statusCode", "message", "apiCode", "requestId", "data"}`, `apiCode` 0 on
//! success. As Authing itself does, a request that reaches a handler answers HTTP 200 and
//! carries the outcome in `statusCode`: Authing's official SDKs (axios underneath) throw on any
//! other status without reading the body. Only throttling (429), an oversized body (413) and a
//! crash (500) use the HTTP status. The request id is the one in `x-request-id` and in the
//! server log.

use super::body::{BodyError, FormOrJson};
use super::openapi::{
    AuthingEmpty, AuthingFailures, AuthingResetDoneOrFailure, AuthingResetGrantOrFailure,
    AuthingSystem,
};
use crate::server::crypto::password_cipher::Encryption;
use crate::server::request_id::Meta;
use crate::server::services::recovery::{self, Destination, Sealed};
use crate::server::services::ServiceError;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

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
}

const RESET_CHANNEL: &str = "CHANNEL_RESET_PASSWORD";

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

fn envelope(
    status: StatusCode,
    api_code: u32,
    message: &str,
    data: Value,
    request_id: Option<&str>,
) -> Response {
    (
        http_status(status),
        Json(json!({
            "statusCode": status.as_u16(),
            "message": message,
            "apiCode": api_code,
            "requestId": request_id,
            "data": data,
        })),
    )
        .into_response()
}

fn success(data: Value, request_id: Option<&str>) -> Response {
    envelope(StatusCode::OK, api_code::OK, "操作成功", data, request_id)
}

fn malformed(message: &str, request_id: Option<&str>) -> Response {
    envelope(
        StatusCode::BAD_REQUEST,
        api_code::MALFORMED,
        message,
        Value::Null,
        request_id,
    )
}

fn bad_body(error: BodyError, request_id: Option<&str>) -> Response {
    let status = error.status();
    envelope(
        status,
        api_code::MALFORMED + u32::from(status.as_u16()) - 400,
        &error.message(),
        Value::Null,
        request_id,
    )
}

fn failure(error: ServiceError, request_id: Option<&str>) -> Response {
    let status = super::status_of(&error);
    let retry_after = super::retry_after_of(&error);
    let (code, message) = match error {
        ServiceError::Invalid(problems) => {
            let message = problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            // A refused new password has its own code; any other field is a malformed request.
            let code = if problems.iter().any(|p| p.field == "password") {
                api_code::PASSWORD_POLICY
            } else {
                api_code::MALFORMED
            };
            (code, message)
        }
        ServiceError::PasscodeInvalid => (api_code::PASSCODE_INVALID, error.to_string()),
        ServiceError::PasscodeBurned => (api_code::PASSCODE_BURNED, error.to_string()),
        ServiceError::ResetTokenInvalid => (api_code::RESET_TOKEN_INVALID, error.to_string()),
        ServiceError::PasswordUnreadable => (api_code::UNDECRYPTABLE, error.to_string()),
        ServiceError::RateLimited { retry_after } => (
            api_code::RATE_LIMITED,
            format!("too many requests; try again in {retry_after} seconds"),
        ),
        ServiceError::Internal(detail) => {
            tracing::error!(%detail, "request failed");
            (1500, "internal server error".to_owned())
        }
        // The rest have no code of their own in Authing's table: 1000 + the status.
        other => (1000 + u32::from(status.as_u16()), other.to_string()),
    };
    let mut response = envelope(status, code, &message, Value::Null, request_id);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
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
    let id = meta.request_id.clone();
    let id = id.as_deref();
    let FormOrJson(body) = match body {
        Ok(body) => body,
        Err(e) => return bad_body(e, id),
    };
    if body.channel.as_deref() != Some(RESET_CHANNEL) {
        return malformed("channel must be CHANNEL_RESET_PASSWORD", id);
    }
    let Some(email) = body.email.filter(|e| !e.trim().is_empty()) else {
        return malformed("email is required", id);
    };
    match recovery::request_by_email(&state, &email, &meta).await {
        Ok(()) => success(Value::Null, id),
        Err(e) => failure(e, id),
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
    let id = meta.request_id.clone();
    let id = id.as_deref();
    let FormOrJson(body) = match body {
        Ok(body) => body,
        Err(e) => return bad_body(e, id),
    };
    if body.channel.as_deref() != Some(RESET_CHANNEL) {
        return malformed("channel must be CHANNEL_RESET_PASSWORD", id);
    }
    let Some(number) = body.phone_number.filter(|n| !n.trim().is_empty()) else {
        return malformed("phoneNumber is required", id);
    };
    let code = country_code_or_china(body.phone_country_code.as_deref(), &number);
    match recovery::request_by_phone(&state, &number, code.as_deref(), &meta).await {
        Ok(()) => success(Value::Null, id),
        Err(e) => failure(e, id),
    }
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
    let id = meta.request_id.clone();
    let id = id.as_deref();
    let FormOrJson(body) = match body {
        Ok(body) => body,
        Err(e) => return bad_body(e, id),
    };
    let by_email = match body.verify_method.as_deref() {
        Some("EMAIL_PASSCODE") => true,
        Some("PHONE_PASSCODE") => false,
        _ => return malformed("verifyMethod must be EMAIL_PASSCODE or PHONE_PASSCODE", id),
    };
    let nested = if by_email {
        body.email_pass_code_payload
    } else {
        body.phone_pass_code_payload
    };
    let Some(payload) = nested.or(body.reset_password_payload) else {
        return malformed(
            if by_email {
                "emailPassCodePayload is required"
            } else {
                "phonePassCodePayload is required"
            },
            id,
        );
    };
    let Some(code) = payload.pass_code.filter(|c| !c.trim().is_empty()) else {
        return malformed("passCode is required", id);
    };
    let country_code;
    let destination = if by_email {
        let Some(email) = payload.email.as_deref().filter(|e| !e.trim().is_empty()) else {
            return malformed("email is required", id);
        };
        Destination::Email(email)
    } else {
        let Some(number) = payload
            .phone_number
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        else {
            return malformed("phoneNumber is required", id);
        };
        country_code = country_code_or_china(payload.phone_country_code.as_deref(), number);
        Destination::Phone {
            number,
            country_code: country_code.as_deref(),
        }
    };
    match recovery::verify_passcode(&state, destination, &code, &meta).await {
        Ok(grant) => success(
            json!({
                "passwordResetToken": grant.token.expose_secret(),
                "tokenExpiresIn": grant.expires_in,
            }),
            id,
        ),
        Err(e) => failure(e, id),
    }
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
    let id = meta.request_id.clone();
    let id = id.as_deref();
    let FormOrJson(body) = match body {
        Ok(body) => body,
        Err(e) => return bad_body(e, id),
    };
    let Some(sent) = body.password.filter(|p| !p.is_empty()) else {
        return malformed("password is required", id);
    };
    let Some(token) = body.password_reset_token.filter(|t| !t.trim().is_empty()) else {
        return malformed("passwordResetToken is required", id);
    };
    let Some(encryption) = Encryption::parse(body.password_encrypt_type.as_deref()) else {
        return malformed("passwordEncryptType must be none, rsa or sm2", id);
    };
    let sealed = Sealed {
        text: &sent,
        encryption,
    };
    match recovery::reset_password(&state, &token, sealed, None, &meta).await {
        Ok(()) => success(json!({ "success": true }), id),
        Err(e) => failure(e, id),
    }
}

/// The public keys for password encryption, Latchkey's version and the configured public
/// addresses, in `data` and, as Authing's mini-program SDK reads them, at the top level too.
#[utoipa::path(get, path = "/api/v3/system", tag = "Authing v3",
    description = "The public keys for sealing a new password, the version, the public IPs.",
    responses((status = 200, description = "RSA and SM2 public keys", body = AuthingSystem)))]
pub(super) async fn system(State(state): State<AppState>, Meta(meta): Meta) -> Response {
    let info = json!({
        "rsa": { "publicKey": state.ciphers.rsa_public_pem() },
        "sm2": { "publicKey": state.ciphers.sm2_public_hex() },
        "version": env!("CARGO_PKG_VERSION"),
        "publicIps": state.settings.config.public_ips,
    });
    let mut body = json!({
        "statusCode": 200,
        "message": "操作成功",
        "apiCode": api_code::OK,
        "requestId": meta.request_id,
        "data": info.clone(),
    });
    for key in ["rsa", "sm2", "version", "publicIps"] {
        body[key] = info[key].clone();
    }
    Json(body).into_response()
}
