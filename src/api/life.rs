//! The account's life on the web (SPEC §15): changing the e-mail address and the links its
//! mails carry, deleting the account and keeping it during the grace. Each server function:
//! parse → `services::account_life` → map (and the session cookie where one starts or ends).

#[cfg(feature = "ssr")]
use super::ssr;
use super::FormError;
use leptos::prelude::*;

/// The new address a pending change waits on, if any.
#[server(prefix = "/rpc", endpoint = "pending_email_change")]
pub async fn pending_email_change() -> Result<Option<String>, FormError> {
    use crate::server::services::account_life;
    let (state, _) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    Ok(account_life::pending_change(&state, &account).await?)
}

/// Asks to move the account to `new_email` (the password, and `code` where a second factor is
/// enrolled); a code and a link go there.
#[server(prefix = "/rpc", endpoint = "change_email")]
pub async fn change_email(
    new_email: String,
    password: String,
    code: Option<String>,
) -> Result<(), FormError> {
    use crate::server::services::account_life;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    account_life::begin_email_change(
        &state,
        &account,
        &new_email,
        &password,
        code.as_deref(),
        &meta,
    )
    .await?;
    leptos_axum::redirect("/account/email?notice=code-sent");
    Ok(())
}

/// The pending change confirmed with the code the new address received.
#[server(prefix = "/rpc", endpoint = "confirm_email_change")]
pub async fn confirm_email_change(code: String) -> Result<(), FormError> {
    use crate::server::services::account_life;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    account_life::confirm_email_change(&state, &account, &code, &meta).await?;
    leptos_axum::redirect("/account?notice=email-changed");
    Ok(())
}

/// Whether a change link is live (the page that asks for the click).
#[server(prefix = "/rpc", endpoint = "email_change_link_state")]
pub async fn email_change_link_state(token: String) -> Result<bool, FormError> {
    use crate::server::services::account_life;
    let (state, _) = ssr::context()?;
    Ok(account_life::change_link_is_live(&state, &token).await?)
}

/// The pending change confirmed by the mailed link (after a click, so that mail scanners that
/// open links cannot use it).
#[server(prefix = "/rpc", endpoint = "confirm_email_change_link")]
pub async fn confirm_email_change_link(token: String) -> Result<(), FormError> {
    use crate::server::services::account_life;
    let (state, meta) = ssr::context()?;
    account_life::confirm_email_change_link(&state, &token, &meta).await?;
    let signed_in = ssr::signed_in_account(&state).await.is_ok();
    leptos_axum::redirect(if signed_in {
        "/account?notice=email-changed"
    } else {
        "/login?notice=email-changed"
    });
    Ok(())
}

/// Whether a "this wasn't me" link is live.
#[server(prefix = "/rpc", endpoint = "email_restore_link_state")]
pub async fn email_restore_link_state(token: String) -> Result<bool, FormError> {
    use crate::server::services::account_life;
    let (state, _) = ssr::context()?;
    Ok(account_life::restore_link_is_live(&state, &token).await?)
}

/// "This wasn't me": the old address back, everybody signed out, a reset mailed.
#[server(prefix = "/rpc", endpoint = "restore_email")]
pub async fn restore_email(token: String) -> Result<(), FormError> {
    use crate::server::services::account_life;
    let (state, meta) = ssr::context()?;
    account_life::restore_email(&state, &token, &meta).await?;
    ssr::end_session(&state);
    leptos_axum::redirect("/login?notice=email-restored");
    Ok(())
}

/// Deletes the account after the password (and the second factor's code), once `confirm` is
/// ticked: disabled now, erased after the grace.
#[server(prefix = "/rpc", endpoint = "delete_account")]
pub async fn delete_account(
    password: String,
    code: Option<String>,
    confirm: Option<String>,
) -> Result<(), FormError> {
    use crate::i18n::Problem;
    use crate::server::services::{account_life, ServiceError};
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    if confirm.is_none() {
        let unticked = crate::domain::Invalid::new("confirm", Problem::DeletionNotConfirmed);
        return Err(ServiceError::from(unticked).into());
    }
    account_life::request_deletion(&state, &account, &password, code.as_deref(), &meta).await?;
    ssr::end_session(&state);
    leptos_axum::redirect("/login?notice=deletion-requested");
    Ok(())
}

/// "Keep my account": signing in during the grace cancels the deletion.
#[server(prefix = "/rpc", endpoint = "keep_account")]
pub async fn keep_account(
    identifier: String,
    password: String,
    code: Option<String>,
) -> Result<(), FormError> {
    use crate::server::services::account_life;
    let (state, meta) = ssr::context()?;
    let logged_in =
        account_life::keep_account(&state, &identifier, &password, code.as_deref(), &meta).await?;
    ssr::start_session(&state, &logged_in.token);
    ssr::remember_device(&state, &logged_in.device);
    leptos_axum::redirect("/account?notice=kept");
    Ok(())
}
