//! The Tangerine365 surface (seed 004): `POST /auth/lostPassword`, also at the
//! documented `//auth/lostPassword`.
//!
//! The answer is `200 {}` for any well-formed request — the seed's own examples post an empty
//! body — so it reveals nothing about accounts, limits, or what went wrong. A body that is too
//! large (413) or not the form or JSON it claims to be (400) is refused, as everywhere.

use super::body::{BodyError, FormOrJson};
use super::temporal::envelope::TemporalError;
use crate::server::http::request_id::Meta;
use crate::server::services::recovery;
use crate::server::state::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/lostPassword", post(lost_password))
        .route("//auth/lostPassword", post(lost_password))
}

/// `{}`: the only answer, whatever was sent.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

#[derive(Deserialize, ToSchema)]
pub(super) struct LostPassword {
    /// A username or an e-mail address.
    username: Option<String>,
}

#[utoipa::path(post, path = "/auth/lostPassword", tag = "Tangerine365",
    description = "Mails a passcode and reset link for a username or address. Also at the \
                   documented `//auth/lostPassword`. Always `200 {}`: the answer reveals nothing.",
    request_body(content(
        (LostPassword = "application/json"),
        (LostPassword = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Any well-formed request", body = Empty),
        (status = 400, description = "A body that is not the JSON or form it claims to be",
            body = super::temporal::envelope::TemporalMessage),
        (status = 413, description = "Body over 64 KiB", body = super::temporal::envelope::TemporalMessage),
    ))]
pub(super) async fn lost_password(
    State(state): State<AppState>,
    Meta(meta): Meta,
    body: Result<FormOrJson<LostPassword>, BodyError>,
) -> Result<Json<Empty>, TemporalError> {
    // A refused body answers in the Temporal envelope, the only one the seed's service had.
    let identifier = match body {
        Ok(FormOrJson(body)) => body.username.unwrap_or_default(),
        Err(BodyError::Empty) => String::new(),
        Err(refused) => return Err(refused.into()),
    };
    let identifier = identifier.trim();
    if !identifier.is_empty() {
        // "such as email or username": an address goes the e-mail way.
        let outcome = if identifier.contains('@') {
            recovery::request_by_email(&state, identifier, &meta).await
        } else {
            recovery::request_by_username(&state, identifier, &meta).await
        };
        if let Err(e) = outcome {
            tracing::debug!("lost password request not sent: {e}");
        }
    }
    Ok(Json(Empty {}))
}
