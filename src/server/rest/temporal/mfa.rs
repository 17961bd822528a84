//! Second factors over REST, in the Temporal v2 envelope: the second step of a
//! login, and enrolling, renewing and removing an authenticator with a bearer token.

use super::envelope::{
    said, JwtError, JwtFailure, SignedIn, SignedInSession, TemporalBodyFailures, TemporalError,
    TemporalMessage, TemporalSessionFailures, TokenAnswer,
};
use crate::server::http::request_id::Meta;
use crate::server::rest::body::{required, AnyJson, BodyError, FormOrJson};
use crate::server::services::second_factor;
use crate::server::state::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/auth/login/mfa", post(login_second_step))
        .route("/v2/account/mfa/totp", post(begin_totp))
        .route("/v2/account/mfa/totp/confirm", post(confirm_totp))
        .route("/v2/account/mfa/totp/disable", post(disable_totp))
        .route("/v2/account/mfa/recovery-codes", post(renew_recovery_codes))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct SecondStepBody {
    /// From the 401 `second factor required` answer of /v2/auth/login.
    mfa_token: Option<String>,
    /// Six digits from the authenticator app, or a recovery code.
    code: Option<String>,
}

#[utoipa::path(post, path = "/v2/auth/login/mfa", tag = "Temporal v2",
    description = "The second step of a login that answered `second factor required`: the \
                   `mfa_token` and a code from the authenticator app (or a recovery code) give \
                   a token as a login does. Wrong codes count against the account's \
                   second-step lock (however the password step was typed; a reset does not \
                   lift it), and five burn the `mfa_token`.",
    request_body(content = SecondStepBody, content_type = "application/json"),
    responses(
        (status = 200, description = "A session token", body = TokenAnswer),
        (status = 400, description = "Malformed body or missing field", body = JwtFailure),
        (status = 401, description = "A wrong or used code, or an unknown, used or expired \
            mfa_token", body = JwtFailure),
        (status = 413, description = "Body over 64 KiB", body = JwtFailure),
        (status = 429, description = "Locked out for now", body = JwtFailure,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    ))]
pub(crate) async fn login_second_step(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<AnyJson<SecondStepBody>, BodyError>,
) -> Result<Json<TokenAnswer>, JwtError> {
    let AnyJson(body) = body?;
    let mfa_token = required(body.mfa_token, "mfa_token")?;
    let code = required(body.code, "code")?;
    let logged_in = second_factor::complete_sign_in(&state, &mfa_token, &code, &meta).await?;
    Ok(Json(logged_in.token.into()))
}

/// A new authenticator secret.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 (RFC 4648, no padding), as authenticator apps take it typed.
    pub secret: String,
    /// `otpauth://totp/Latchkey:<username>?secret=…&issuer=Latchkey&algorithm=SHA1&digits=6&period=30`
    pub otpauth_uri: String,
}

/// `{"code": 200, "response": {"secret", "otpauth_uri"}}`.
#[derive(Serialize, ToSchema)]
pub struct TemporalTotpEnrolment {
    pub code: u16,
    pub response: TotpEnrolment,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once.
    pub recovery_codes: Vec<String>,
}

/// `{"code": 200, "response": {"recovery_codes": […]}}`.
#[derive(Serialize, ToSchema)]
pub struct TemporalRecoveryCodes {
    pub code: u16,
    pub response: RecoveryCodes,
}

fn recovery_codes(codes: Vec<String>) -> Json<TemporalRecoveryCodes> {
    Json(TemporalRecoveryCodes {
        code: 200,
        response: RecoveryCodes {
            recovery_codes: codes,
        },
    })
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordForm {
    /// The account's current password: a session token alone must not add a second factor,
    /// or whoever stole one could lock the owner out with an authenticator of their own.
    password: Option<String>,
}

#[utoipa::path(post, path = "/v2/account/mfa/totp", tag = "Temporal v2",
    description = "Begins adding an authenticator app: the current password, then a new secret, \
                   which is not in force until /v2/account/mfa/totp/confirm. Asking again \
                   replaces an unconfirmed one. The password is checked under the limits of a \
                   password change.",
    security(("bearer" = [])),
    request_body(content(
        (PasswordForm = "application/json"),
        (PasswordForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The secret to put into the app", body = TemporalTotpEnrolment),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn begin_totp(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedInSession(signed_in): SignedInSession,
    body: Result<FormOrJson<PasswordForm>, BodyError>,
) -> Result<Json<TemporalTotpEnrolment>, TemporalError> {
    let password = required(body?.0.password, "password")?;
    let enrolment =
        second_factor::begin_totp_with_password(&state, &signed_in, &password, &meta).await?;
    Ok(Json(TemporalTotpEnrolment {
        code: 200,
        response: TotpEnrolment {
            secret: enrolment.secret,
            otpauth_uri: enrolment.otpauth_uri,
        },
    }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CodeForm {
    /// Six digits from the authenticator app (or, where taken, a recovery code).
    code: Option<String>,
}

#[utoipa::path(post, path = "/v2/account/mfa/totp/confirm", tag = "Temporal v2",
    description = "Turns the authenticator on with a code from it, and returns ten recovery \
                   codes (shown this once). From now on a login needs a code too. Only the \
                   session (token) that began the enrolment may confirm it.",
    security(("bearer" = [])),
    request_body(content(
        (CodeForm = "application/json"),
        (CodeForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "On; the recovery codes", body = TemporalRecoveryCodes),
        (status = 403, description = "No authenticator was begun", body = TemporalMessage),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn confirm_totp(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedInSession(signed_in): SignedInSession,
    body: Result<FormOrJson<CodeForm>, BodyError>,
) -> Result<Json<TemporalRecoveryCodes>, TemporalError> {
    let code = required(body?.0.code, "code")?;
    let codes = second_factor::confirm_totp(&state, &signed_in, &code, &meta).await?;
    Ok(recovery_codes(codes))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DisableForm {
    /// The account's current password.
    password: Option<String>,
    /// A current code from the authenticator app, or a recovery code.
    code: Option<String>,
}

#[utoipa::path(post, path = "/v2/account/mfa/totp/disable", tag = "Temporal v2",
    description = "Turns the authenticator off, and its recovery codes with it: the password \
                   and a current code. Checked under the limits of a password change.",
    security(("bearer" = [])),
    request_body(content(
        (DisableForm = "application/json"),
        (DisableForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Off", body = TemporalMessage),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn disable_totp(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
    body: Result<FormOrJson<DisableForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let FormOrJson(form) = body?;
    let password = required(form.password, "password")?;
    let code = required(form.code, "code")?;
    second_factor::disable_totp(&state, &account, &password, &code, &meta).await?;
    Ok(said("two-step sign-in is off"))
}

#[utoipa::path(post, path = "/v2/account/mfa/recovery-codes", tag = "Temporal v2",
    description = "Ten new recovery codes for a current code; the old ones stop working.",
    security(("bearer" = [])),
    request_body(content(
        (CodeForm = "application/json"),
        (CodeForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The new codes", body = TemporalRecoveryCodes),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn renew_recovery_codes(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
    body: Result<FormOrJson<CodeForm>, BodyError>,
) -> Result<Json<TemporalRecoveryCodes>, TemporalError> {
    let code = required(body?.0.code, "code")?;
    let codes = second_factor::renew_recovery_codes(&state, &account, &code, &meta).await?;
    Ok(recovery_codes(codes))
}
