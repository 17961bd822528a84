//! The OpenAPI 3.1 document of every REST endpoint, served at `/openapi.json`.
//!
//! Paths come from the `#[utoipa::path]` attribute on each handler, request bodies from the
//! structs the handlers parse, and the answers from the types below, which describe each
//! surface's envelope exactly as the handlers build it. The HTTP tests check the document
//! against the live routes, and `./scripts/test` runs schemathesis against it.

use super::{authing, tangerine, temporal};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Self-hosted accounts: the Temporal v2, Authing v3 and Tangerine365 REST \
                       surfaces. Bodies over 64 KiB are refused with 413 in each surface's envelope."
    ),
    paths(
        temporal::register,
        temporal::login,
        temporal::refresh,
        temporal::change_password,
        temporal::upgrade,
        temporal::credits_available,
        temporal::forgot_email,
        temporal::verify_email,
        temporal::resend_verification,
        temporal::forgot_username,
        temporal::forgot_password,
        authing::send_email,
        authing::send_sms,
        authing::verify_reset_request,
        authing::reset_password,
        authing::system,
        tangerine::lost_password,
    ),
    modifiers(&BearerToken, &Aliases),
    tags(
        (name = "Temporal v2", description = "Accounts, sessions, credits and recovery (seeds 000, 002)."),
        (name = "Authing v3", description = "Password reset by passcode (seeds 001, 003)."),
        (name = "Tangerine365", description = "Lost password (seed 004)."),
    )
)]
pub struct ApiDoc;

/// Registers the bearer scheme the Temporal account endpoints name.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The token from /v2/auth/login (or the site's session cookie).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Paths routed to the same handler as a documented one.
struct Aliases;

impl Modify for Aliases {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = &mut openapi.paths.paths;
        if let Some(item) = paths.get(temporal::FORGOT_EMAIL_PATH).cloned() {
            paths.insert(temporal::FORGOT_EMAIL_ALIAS.to_owned(), item);
        }
    }
}

/// `GET /openapi.json`. The document is built once; it never changes while the server runs.
pub async fn document() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    });
    ([(header::CONTENT_TYPE, "application/json")], json.as_str())
}

// ---- Temporal v2 -------------------------------------------------------------------------

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
    pub response: temporal::TemporalUser,
}

/// Failures of login and refresh, shaped as Temporal's JWT middleware shaped them.
#[derive(Serialize, ToSchema)]
pub struct JwtFailure {
    pub code: u16,
    pub message: String,
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

// ---- Authing v3 --------------------------------------------------------------------------

/// `{"statusCode", "message", "apiCode", "requestId", "data": null}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthingEmpty {
    pub status_code: u16,
    pub message: String,
    /// 0 on success; 1400 malformed, 1413 too large, 1429 rate
    /// limited, 2001 wrong passcode, 2002 passcode burned, 2016 undecryptable, 2029 password
    /// policy, 2030 reset token invalid.
    pub api_code: u32,
    /// The `x-request-id` of this request, also in the server log.
    pub request_id: Option<String>,
    /// Always null here.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// The token step 2 hands out.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetGrantData {
    pub password_reset_token: String,
    /// Seconds until the token expires.
    pub token_expires_in: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthingResetGrant {
    pub status_code: u16,
    pub message: String,
    pub api_code: u32,
    pub request_id: Option<String>,
    pub data: ResetGrantData,
}

/// Step 2's answer: the grant, or a business failure in the same HTTP 200.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AuthingResetGrantOrFailure {
    Grant(AuthingResetGrant),
    Failure(AuthingEmpty),
}

/// Step 3's answer: done, or a business failure in the same HTTP 200.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AuthingResetDoneOrFailure {
    Done(AuthingResetDone),
    Failure(AuthingEmpty),
}

#[derive(Serialize, ToSchema)]
pub struct ResetDoneData {
    pub success: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthingResetDone {
    pub status_code: u16,
    pub message: String,
    pub api_code: u32,
    pub request_id: Option<String>,
    pub data: ResetDoneData,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// RSA: PEM (SPKI). SM2: the uncompressed point in hex.
    pub public_key: String,
}

#[derive(Serialize, ToSchema)]
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
#[serde(rename_all = "camelCase")]
pub struct AuthingSystem {
    pub status_code: u16,
    pub message: String,
    pub api_code: u32,
    pub request_id: Option<String>,
    pub data: SystemKeys,
    pub rsa: PublicKey,
    pub sm2: PublicKey,
    pub version: String,
    pub public_ips: Vec<String>,
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

// ---- Tangerine365 ------------------------------------------------------------------------

/// `{}`: the only answer, whatever was sent.
#[derive(Serialize, ToSchema)]
pub struct Empty {}
