//! One component per page, in one module per flow (as `server/services` is): signing up and
//! in, the signed-in account, second factors, and recovery. Every string comes from the page language's
//! catalogue (`crate::i18n`).

mod account;
mod admin;
mod apps;
mod life;
mod recovery;
mod security;
mod sign_in;

pub use account::{Account, ChangePassword, EmailVerified, Upgrade, VerifyEmail};
pub use admin::{AdminAudit, AdminClients, AdminHome, AdminStepUp, AdminTokens, AdminUser};
pub use apps::{Consent, OAuthProblem, SignedOut};
pub use life::{ChangeEmail, ConfirmEmailChangePage, DeleteAccount, KeepAccount, RestoreEmail};
pub use recovery::{ForgotPassword, ForgotUsername, ResetPasswordLink};
pub use security::{SecondFactor, Security};
pub use sign_in::{Login, Register};

use crate::api::page_language;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Home() -> impl IntoView {
    let t = page_language().text();
    view! {
        <Title text=t.home_title />
        <section class="card hero">
            <h1>{t.home_heading}</h1>
            <p>{t.home_intro}</p>
            <p class="actions">
                <a class="button" href="/register">{t.nav_register}</a>
                <a class="button secondary" href="/login">{page_language().island_text().sign_in}</a>
            </p>
        </section>
    }
}

/// Every address nothing answers: says so, and offers the ways on from here.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let t = page_language().text();
    view! {
        <Title text=t.not_found_title />
        <section class="card">
            <h1>{t.not_found_title}</h1>
            <p>{t.not_found_text}</p>
            <p class="actions">
                <a class="button" href="/">{t.go_to_start}</a>
                <a class="button secondary" href="/account">{t.your_account_link}</a>
            </p>
            <p class="aside">{t.locked_out}" "<a href="/forgot/password">{t.reset_your_password_link}</a></p>
        </section>
    }
}
