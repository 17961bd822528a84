//! The Temporal v2 surface (seeds 000 and 002).
//!
//! Envelope `{"code": <status>, "response": <value>}` with the HTTP status equal to `code`,
//! except where Temporal's JWT middleware answered itself: login and refresh return
//! `{"expire", "token"}` bare, and their failures are `{"code", "message"}`.
//!
//! Each handler reads its input (a failure is an `envelope::TemporalError` through `?`), calls one
//! service, and answers with one of the envelope types below, which the OpenAPI document
//! describes from the same definitions.
//!
//! `envelope` holds the answers, the failures and the extractors every handler shares;
//! `account` the seed's endpoints; `mfa` the second factors. This file only routes.

pub mod account;
pub mod envelope;
pub mod life;
pub mod mfa;

use crate::server::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/auth/register", post(account::register))
        .route("/v2/auth/login", post(account::login))
        .route("/v2/auth/refresh", get(account::refresh))
        .route(
            "/v2/account/password/change",
            post(account::change_password),
        )
        .route("/v2/account/upgrade", post(account::upgrade))
        .route(
            "/v2/account/credits/available",
            get(account::credits_available),
        )
        .route(FORGOT_EMAIL_PATH, post(account::forgot_email))
        .route(FORGOT_EMAIL_ALIAS, post(account::forgot_email))
        .route(
            "/v2/account/email/verify/{username}/{token}",
            get(account::verify_email),
        )
        .route(
            "/v2/account/email/verify/resend",
            post(account::resend_verification),
        )
        .route("/v2/forgot/username", post(account::forgot_username))
        .route("/v2/forgot/password", post(account::forgot_password))
        .merge(mfa::router())
        .merge(life::router())
}

/// Seed 000 names both paths for the same question.
pub const FORGOT_EMAIL_PATH: &str = "/v2/forgot/email";
pub const FORGOT_EMAIL_ALIAS: &str = "/v2/account/email/forgot";
