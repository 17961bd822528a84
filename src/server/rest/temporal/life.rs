//! The account's life over REST, in the Temporal v2 envelope (SPEC §15): changing the e-mail
//! address, deleting the account, exporting its data. Parse → `services::account_life` → map.

use super::envelope::{
    said, SignedIn, TemporalBodyFailures, TemporalError, TemporalMessage, TemporalSessionFailures,
};
use crate::server::http::request_id::Meta;
use crate::server::rest::body::{required, BodyError, FormOrJson};
use crate::server::services::account_life;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/account/email/change", post(change_email))
        .route(
            "/v2/account/email/change/confirm",
            post(confirm_email_change),
        )
        .route("/v2/account/delete", post(delete_account))
        .route("/v2/account/export", get(export))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangeEmailForm {
    /// The address to move the account to.
    new_email: Option<String>,
    /// The account's current password.
    password: Option<String>,
    /// A code from the authenticator app (or a recovery code): required when the account has a
    /// second factor.
    code: Option<String>,
}

#[utoipa::path(post, path = "/v2/account/email/change", tag = "Temporal v2",
    description = "Asks to move the account to `new_email`: the password (and `code` when a \
                   second factor is enrolled), then a code and a link go to the new address \
                   (24 h); only their use changes it. An address another account holds gets \
                   the same answer (that mailbox is told it is taken). One pending change per \
                   account; sends count like every other send to that mailbox.",
    security(("bearer" = [])),
    request_body(content(
        (ChangeEmailForm = "application/json"),
        (ChangeEmailForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "On its way", body = TemporalMessage),
        (status = 429, description = "Too many sends to that mailbox", body = TemporalMessage,
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn change_email(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
    body: Result<FormOrJson<ChangeEmailForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let FormOrJson(form) = body?;
    let new_email = required(form.new_email, "new_email")?;
    let password = required(form.password, "password")?;
    account_life::begin_email_change(
        &state,
        &account,
        &new_email,
        &password,
        form.code.as_deref(),
        &meta,
    )
    .await?;
    Ok(said(
        "a code and a link are on their way to the new address",
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ConfirmChangeForm {
    /// The six-digit code mailed to the new address.
    code: Option<String>,
}

#[utoipa::path(post, path = "/v2/account/email/change/confirm", tag = "Temporal v2",
    description = "Changes the address to the pending one with the code mailed there; the old \
                   address gets a 72-hour \"this wasn't me\" link. Five wrong codes burn it.",
    security(("bearer" = [])),
    request_body(content(
        (ConfirmChangeForm = "application/json"),
        (ConfirmChangeForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Changed", body = TemporalMessage),
        (status = 409, description = "Another account took the address meanwhile",
            body = TemporalMessage),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn confirm_email_change(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
    body: Result<FormOrJson<ConfirmChangeForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let code = required(body?.0.code, "code")?;
    account_life::confirm_email_change(&state, &account, &code, &meta).await?;
    Ok(said("the e-mail address is changed"))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DeleteForm {
    /// The account's current password.
    password: Option<String>,
    /// A code from the authenticator app (or a recovery code): required when the account has a
    /// second factor.
    code: Option<String>,
}

#[utoipa::path(post, path = "/v2/account/delete", tag = "Temporal v2",
    description = "Deletes the account: the password (and `code` when a second factor is \
                   enrolled). It is disabled at once (every session, grant and refresh token \
                   ends) and erased when the grace (14 days) is over, unless its owner signs in \
                   on the web's \"keep my account\" page meanwhile; a mail says so.",
    security(("bearer" = [])),
    request_body(content(
        (DeleteForm = "application/json"),
        (DeleteForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Disabled; erased after the grace", body = TemporalMessage),
        TemporalSessionFailures,
        TemporalBodyFailures,
    ))]
pub(crate) async fn delete_account(
    State(state): State<AppState>,
    Meta(meta): Meta,
    SignedIn(account): SignedIn,
    body: Result<FormOrJson<DeleteForm>, BodyError>,
) -> Result<Json<TemporalMessage>, TemporalError> {
    let FormOrJson(form) = body?;
    let password = required(form.password, "password")?;
    account_life::request_deletion(&state, &account, &password, form.code.as_deref(), &meta)
        .await?;
    Ok(said(
        "the account is disabled and will be erased when the grace is over",
    ))
}

#[utoipa::path(get, path = "/v2/account/export", tag = "Temporal v2",
    description = "Everything Latchkey holds about the account as one JSON document (never a \
                   secret or a hash): profile, second factors' kinds and dates, passkeys, \
                   sessions, apps with access, a pending change of address, the account's \
                   audit events. Its fields are listed in the README.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document (a download)", body = Object),
        TemporalSessionFailures,
    ))]
pub(crate) async fn export(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
) -> Result<impl IntoResponse, TemporalError> {
    let document = account_life::export(&state, &account).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"latchkey-export.json\"",
        )],
        Json(document),
    ))
}
