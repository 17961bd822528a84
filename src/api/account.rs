//! The account page's server functions: the overview, the password, the plan, the address's
//! verification, a phone, the sessions, and the language of pages and mails.

#[cfg(feature = "ssr")]
use super::language::page_language;
#[cfg(feature = "ssr")]
use super::ssr;
use super::FormError;
use crate::domain::{Invalid, NewPassword, Problem};
#[cfg(feature = "ssr")]
use crate::i18n::Language;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in account as the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    /// E.164, when the account has a number.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub paid: bool,
    /// Exact decimal text (e.g. `12.5`).
    pub credits: String,
    /// The account's live sessions, most recently used first.
    pub sessions: Vec<SessionView>,
    /// Whether an authenticator app is on.
    pub authenticator_app: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
    /// An admin, on a site that serves the console on this address: the page links to it.
    pub console: bool,
}

impl AccountView {
    /// Whether signing in with the password takes a second step.
    pub fn two_step(&self) -> bool {
        self.authenticator_app || self.passkeys > 0
    }
}

/// One signed-in session, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    /// When it signed in and was last refreshed, as text (UTC).
    pub started: String,
    pub last_seen: String,
    /// The browser or client it reported, and its address, when known.
    pub client: String,
    /// The session this page was requested with.
    pub current: bool,
}

/// The language switch: pages (in this browser) and, when signed in, the account's mails
/// speak `language` from now on; back to the page the switch was on (`next`, a path on this
/// site).
#[server(prefix = "/rpc", endpoint = "language")]
pub async fn choose_language(language: String, next: Option<String>) -> Result<(), FormError> {
    use crate::server::services::{accounts, ServiceError};
    let (state, meta) = ssr::context()?;
    let Some(chosen) = Language::recognise(&language) else {
        let words = page_language().text();
        return Err(ssr::refused(
            http::StatusCode::BAD_REQUEST,
            words.form_incomplete,
        ));
    };
    match ssr::signed_in_account(&state).await {
        Ok(account) => accounts::choose_language(&state, &account, chosen, &meta).await?,
        Err(ServiceError::Unauthenticated) => {}
        Err(other) => return Err(other.into()),
    }
    ssr::remember_language(&state, chosen);
    let next = next
        .filter(|next| crate::domain::is_site_page(next))
        .unwrap_or_else(|| "/".into());
    leptos_axum::redirect(&next);
    Ok(())
}

/// The signed-in account, or `None` when nobody is signed in.
#[server(prefix = "/rpc", endpoint = "account")]
pub async fn current_account() -> Result<Option<AccountView>, FormError> {
    use crate::server::services::{second_factor, sessions, ServiceError};
    let (state, _) = ssr::context()?;
    let signed_in = match ssr::signed_in(&state).await {
        Ok(signed_in) => signed_in,
        Err(ServiceError::Unauthenticated) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    let sessions = sessions::list(&state, &signed_in)
        .await?
        .into_iter()
        .map(|session| SessionView {
            started: ssr::utc_text(session.started_at),
            last_seen: ssr::utc_text(session.last_seen_at),
            client: ssr::client_text(
                session.user_agent.as_deref(),
                session.client_addr.as_deref(),
            ),
            current: session.current,
        })
        .collect();
    let factors = second_factor::factors(&state, &signed_in.account).await?;
    let account = signed_in.account;
    let console = account.admin && state.settings.config.admin_listen.is_none();
    Ok(Some(AccountView {
        console,
        authenticator_app: factors.totp == second_factor::TotpState::On,
        passkeys: factors.passkeys,
        recovery_codes_left: factors.recovery_codes_left,
        username: account.username,
        email: account.email,
        email_verified: account.email_verified,
        phone: account.phone.clone(),
        phone_verified: account.phone_verified,
        paid: account.paid,
        credits: account.credits.to_string(),
        sessions,
    }))
}

/// Ends every session of the account, this one included, and goes to the sign-in page.
#[server(prefix = "/rpc", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), FormError> {
    use crate::server::services::sessions;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    sessions::end_all(&state, &account, &meta).await?;
    ssr::end_session(&state);
    leptos_axum::redirect("/login?notice=signed-out-everywhere");
    Ok(())
}

/// The checks a browser can make before sending a new password.
pub fn check_new_password(new_password: &str, again: &str) -> Vec<Invalid> {
    let mut problems: Vec<Invalid> = NewPassword::parse_basic(new_password, None, None)
        .err()
        .map(|e| Invalid {
            field: "new_password",
            ..e
        })
        .into_iter()
        .collect();
    if new_password != again {
        problems.push(Invalid::new("new_password_again", Problem::PasswordsDiffer));
    }
    problems
}

/// Changes the password; the browser's session continues with a fresh cookie, every other
/// session ends.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(
    old_password: String,
    new_password: String,
    new_password_again: String,
) -> Result<(), FormError> {
    use crate::server::services::password;
    ssr::same_new_password(&new_password, &new_password_again)?;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let token = password::change(&state, &account, &old_password, &new_password, true, &meta)
        .await?
        .ok_or_else(|| FormError::general(page_language().text().sign_in_after_change))?;
    ssr::start_session(&state, &token);
    leptos_axum::redirect("/account?notice=password-changed");
    Ok(())
}

/// Moves the account to the paid plan, for good. `confirm` is the "I understand" checkbox.
#[server(prefix = "/rpc", endpoint = "upgrade")]
pub async fn upgrade_plan(confirm: Option<String>) -> Result<(), FormError> {
    use crate::server::services::{plan, ServiceError};
    if confirm.as_deref() != Some("yes") {
        return Err(ServiceError::Invalid(vec![Invalid::new(
            "confirm",
            Problem::UpgradeNotConfirmed,
        )])
        .into());
    }
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    plan::upgrade(&state, &account, &meta).await?;
    leptos_axum::redirect("/account?notice=upgraded");
    Ok(())
}

/// Sends a fresh verification link to the signed-in account's address.
#[server(prefix = "/rpc", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), FormError> {
    use crate::server::services::verification;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    verification::resend(&state, &account, &meta).await?;
    leptos_axum::redirect("/account?notice=verification-sent");
    Ok(())
}

/// Uses the link from the verification mail (the page asks for one click first).
#[server(prefix = "/rpc", endpoint = "verify_email")]
pub async fn verify_email(username: String, token: String) -> Result<(), FormError> {
    use crate::server::services::verification;
    let (state, meta) = ssr::context()?;
    verification::verify(&state, &username, &token, &meta).await?;
    leptos_axum::redirect("/email-verified");
    Ok(())
}

/// Adds a phone number to the signed-in account and texts it a code.
#[server(prefix = "/rpc", endpoint = "add_phone")]
pub async fn add_phone(country_code: String, number: String) -> Result<(), FormError> {
    use crate::server::services::phone;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    phone::add(&state, &account, &number, Some(&country_code), &meta).await?;
    leptos_axum::redirect("/account?notice=phone-code-sent");
    Ok(())
}

/// Confirms the signed-in account's phone number with the texted code.
#[server(prefix = "/rpc", endpoint = "confirm_phone")]
pub async fn confirm_phone(code: String) -> Result<(), FormError> {
    use crate::server::services::phone;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    phone::confirm(&state, &account, &code, &meta).await?;
    leptos_axum::redirect("/account?notice=phone-verified");
    Ok(())
}
