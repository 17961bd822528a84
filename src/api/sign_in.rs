//! The sign-in pages' server functions: sign-up, sign-in (a password, then a second factor
//! when the account has one, or a passkey alone), and sign-out.

#[cfg(feature = "ssr")]
use super::ssr;
use super::{FormError, PasskeyCeremony};
use crate::domain::{Email, Invalid, NewPassword, Username};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the second-step page offers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondStep {
    /// A sign-in is waiting for its second factor in this browser.
    pub pending: bool,
    /// Its account has a passkey to offer.
    pub passkeys: bool,
}

/// The checks a browser can make before sending a registration (the server repeats them and
/// adds the common-password list).
pub fn check_registration(username: &str, email: &str, password: &str) -> Vec<Invalid> {
    [
        Username::parse(username).err(),
        Email::parse(email).err(),
        NewPassword::parse_basic(password, Some(username), Some(email)).err(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Creates an account, signs it in and goes to the account page.
#[server(prefix = "/rpc", endpoint = "register")]
pub async fn register(username: String, email: String, password: String) -> Result<(), FormError> {
    use crate::server::services::accounts::{self, Registration};
    use crate::server::services::sessions;
    let (state, meta) = ssr::context()?;
    let account = accounts::register(
        &state,
        Registration {
            username: &username,
            email: &email,
            password: &password,
        },
        &meta,
    )
    .await?;
    let token = sessions::start_alone(
        &state,
        account.id,
        account.token_version,
        sessions::SignedInWith::Password,
        &meta,
    )
    .await?;
    ssr::start_session(&state, &token);
    leptos_axum::redirect("/account");
    Ok(())
}

/// Signs in with a username or e-mail address and goes to the account page, or back to the
/// page (`next`, a path on this site) that sent the visitor to sign in.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(
    identifier: String,
    password: String,
    next: Option<String>,
) -> Result<(), FormError> {
    use crate::server::services::accounts;
    let (state, meta) = ssr::context()?;
    let device = ssr::device_token();
    let next = next.filter(|next| crate::domain::is_site_page(next));
    match accounts::log_in(&state, &identifier, &password, device.as_deref(), &meta).await? {
        accounts::SignIn::Done(logged_in) => {
            ssr::start_session(&state, &logged_in.token);
            ssr::remember_device(&state, &logged_in.device);
            leptos_axum::redirect(next.as_deref().unwrap_or("/account"));
        }
        accounts::SignIn::SecondFactor { mfa_token } => {
            ssr::remember_second_step(&state, &mfa_token);
            let page = match next {
                Some(next) => format!(
                    "{SECOND_STEP_PAGE}?next={}",
                    crate::server::http::query_value(&next)
                ),
                None => SECOND_STEP_PAGE.to_owned(),
            };
            leptos_axum::redirect(&page);
        }
    }
    Ok(())
}

/// Where a sign-in whose account has a second factor goes after the password.
pub const SECOND_STEP_PAGE: &str = "/login/second-factor";

/// The second step of a sign-in: a code from the authenticator app, or a recovery code, for
/// the sign-in this browser began (its challenge is in an HttpOnly cookie).
#[server(prefix = "/rpc", endpoint = "login_second_factor")]
pub async fn login_second_factor(code: String, next: Option<String>) -> Result<(), FormError> {
    use crate::server::services::{second_factor, ServiceError};
    let (state, meta) = ssr::context()?;
    let mfa_token = ssr::second_step_token().ok_or(ServiceError::SecondFactorExpired)?;
    let logged_in = match second_factor::complete_sign_in(&state, &mfa_token, &code, &meta).await {
        Ok(logged_in) => logged_in,
        Err(error) => {
            if matches!(error, ServiceError::SecondFactorExpired) {
                ssr::forget_second_step(&state);
            }
            return Err(error.into());
        }
    };
    ssr::forget_second_step(&state);
    ssr::start_session(&state, &logged_in.token);
    ssr::remember_device(&state, &logged_in.device);
    leptos_axum::redirect(&after_sign_in(next));
    Ok(())
}

/// Whether this browser has a sign-in waiting for its second factor (else the page says it
/// ran out), and whether its account has passkeys to offer.
#[server(prefix = "/rpc", endpoint = "second_step")]
pub async fn second_step_state() -> Result<SecondStep, FormError> {
    use crate::server::services::second_factor;
    let (state, _) = ssr::context()?;
    let Some(mfa_token) = ssr::second_step_token() else {
        return Ok(SecondStep {
            pending: false,
            passkeys: false,
        });
    };
    let passkeys = second_factor::passkeys_for_challenge(&state, &mfa_token).await?;
    Ok(SecondStep {
        pending: passkeys.is_some(),
        passkeys: state.webauthn.is_some() && passkeys.unwrap_or(0) > 0,
    })
}

/// Where to go after signing in: `next` when it is a page of this site, else the account.
#[cfg(feature = "ssr")]
fn after_sign_in(next: Option<String>) -> String {
    next.filter(|next| crate::domain::is_site_page(next))
        .unwrap_or_else(|| "/account".into())
}

/// Starts signing in with a passkey and no username.
#[server(prefix = "/rpc", endpoint = "passkey_sign_in_start")]
pub async fn passkey_sign_in_start() -> Result<PasskeyCeremony, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let ceremony = passkeys::begin_sign_in(&state, &meta).await?;
    Ok(ceremony.into())
}

/// Finishes a passkey sign-in: the session, and the page to go to.
#[server(prefix = "/rpc", endpoint = "passkey_sign_in_finish")]
pub async fn passkey_sign_in_finish(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let logged_in = passkeys::finish_sign_in(&state, &ceremony, &credential, &meta).await?;
    ssr::start_session(&state, &logged_in.token);
    ssr::remember_device(&state, &logged_in.device);
    Ok(after_sign_in(next))
}

/// Starts the second step of a sign-in with a passkey.
#[server(prefix = "/rpc", endpoint = "passkey_second_factor_start")]
pub async fn passkey_second_factor_start() -> Result<PasskeyCeremony, FormError> {
    use crate::server::services::{passkeys, ServiceError};
    let (state, meta) = ssr::context()?;
    let mfa_token = ssr::second_step_token().ok_or(ServiceError::SecondFactorExpired)?;
    let ceremony = passkeys::begin_second_factor(&state, &mfa_token, &meta).await?;
    Ok(ceremony.into())
}

/// Finishes the second step with a passkey: the session, and the page to go to.
#[server(prefix = "/rpc", endpoint = "passkey_second_factor_finish")]
pub async fn passkey_second_factor_finish(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, FormError> {
    use crate::server::services::{passkeys, ServiceError};
    let (state, meta) = ssr::context()?;
    let mfa_token = ssr::second_step_token().ok_or(ServiceError::SecondFactorExpired)?;
    let logged_in =
        passkeys::finish_second_factor(&state, &mfa_token, &ceremony, &credential, &meta).await?;
    ssr::forget_second_step(&state);
    ssr::start_session(&state, &logged_in.token);
    ssr::remember_device(&state, &logged_in.device);
    Ok(after_sign_in(next))
}

/// Ends the session (on the server, not only in this browser) and goes to the sign-in page, or
/// to `next` (a page of this site).
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout(next: Option<String>) -> Result<(), FormError> {
    use crate::server::services::sessions;
    let (state, meta) = ssr::context()?;
    if let Some(token) = ssr::session_token() {
        sessions::end(&state, &token, &meta).await?;
    }
    ssr::end_session(&state);
    let next = next.filter(|next| crate::domain::is_site_page(next));
    leptos_axum::redirect(next.as_deref().unwrap_or("/login"));
    Ok(())
}
