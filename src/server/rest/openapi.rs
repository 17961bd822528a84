//! The OpenAPI 3.1 document of every REST endpoint, served at `/openapi.json`.
//!
//! Paths come from the `#[utoipa::path]` attribute on each handler, request bodies from the
//! structs the handlers parse, and the answers from the envelope types each surface answers
//! with: this module only gathers them. The HTTP tests check the document
//! against the live routes, and `./scripts/test` runs schemathesis against it.

use super::temporal::{self, account, life, mfa};
use super::{admin, authing, tangerine};
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Self-hosted accounts: the Temporal v2, Authing v3 and Tangerine365 REST \
                       surfaces. Bodies over 64 KiB are refused with 413 in each surface's envelope."
    ),
    paths(
        account::register,
        account::login,
        account::refresh,
        account::change_password,
        account::upgrade,
        account::credits_available,
        account::forgot_email,
        account::verify_email,
        account::resend_verification,
        account::forgot_username,
        account::forgot_password,
        mfa::login_second_step,
        mfa::begin_totp,
        mfa::confirm_totp,
        mfa::disable_totp,
        mfa::renew_recovery_codes,
        life::change_email,
        life::confirm_email_change,
        life::delete_account,
        life::export,
        authing::send_email,
        authing::send_sms,
        authing::verify_reset_request,
        authing::reset_password,
        authing::system,
        tangerine::lost_password,
        admin::search,
        admin::user,
        admin::act,
        admin::remove_passkey,
        admin::audit,
        admin::audit_csv,
        admin::clients,
        admin::add_client,
        admin::edit_client,
        admin::client_action,
    ),
    // Reached only through the generic envelope, which utoipa does not follow into it.
    components(schemas(authing::NoData)),
    modifiers(&BearerToken, &Aliases),
    tags(
        (name = "Temporal v2", description = "Accounts, sessions, credits and recovery (seeds 000, 002)."),
        (name = "Authing v3", description = "Password reset by passcode (seeds 001, 003)."),
        (name = "Tangerine365", description = "Lost password (seed 004)."),
        (name = "Admin", description = "The operators' console as JSON, with admin API tokens \
            (`latchkey admins token`, or the console's API tokens page). Errors are RFC 9457 \
            problem details."),
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
        components.add_security_scheme(
            "adminToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("lka_…")
                    .description(Some(
                        "An admin API token: `latchkey admins token USERNAME`, or the console.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Paths routed to the same handler as a documented one. Each operation of the copy gets an
/// id of its own: OpenAPI requires operation ids to be unique, and client generators name
/// their methods after them.
struct Aliases;

impl Modify for Aliases {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let paths = &mut openapi.paths.paths;
        if let Some(mut item) = paths.get(temporal::FORGOT_EMAIL_PATH).cloned() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let id = operation.operation_id.as_deref().unwrap_or("operation");
                operation.operation_id = Some(format!("{id}_at_account_email_forgot"));
            }
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
