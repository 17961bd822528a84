//! The security page's server functions: the authenticator app, recovery codes and passkeys.

#[cfg(feature = "ssr")]
use super::ssr;
use super::FormError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the security page shows beyond [`AccountView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityView {
    /// An authenticator enrolment waiting for its first code.
    pub pending: Option<PendingTotp>,
    /// Recovery codes made by the action just before this page view, shown this once.
    pub new_recovery_codes: Vec<String>,
    pub passkeys: Vec<PasskeyView>,
    /// Whether the site can offer passkeys (it is reached by a domain name).
    pub passkeys_offered: bool,
}

/// A passkey as the security page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyView {
    /// The credential id (base64url), which the remove form names.
    pub id: String,
    pub name: String,
    /// When it was added, as text (UTC).
    pub added: String,
}

/// A WebAuthn ceremony for the page's passkey script: its token, to send back with the
/// finish, and the options for `navigator.credentials` as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ceremony: String,
    pub options: String,
}

#[cfg(feature = "ssr")]
impl From<crate::server::services::passkeys::Ceremony> for PasskeyCeremony {
    fn from(ceremony: crate::server::services::passkeys::Ceremony) -> Self {
        PasskeyCeremony {
            ceremony: ceremony.token,
            options: ceremony.options,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTotp {
    /// Base32, to type into an app.
    pub secret: String,
    /// The QR code of its `otpauth://` address, as an inline `<svg>` made on the server.
    pub qr_svg: String,
}

/// Starts adding a passkey, after the password (the page's script runs the browser's side).
#[server(prefix = "/rpc", endpoint = "passkey_register_start")]
pub async fn passkey_register_start(password: String) -> Result<PasskeyCeremony, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let ceremony = passkeys::begin_registration(&state, &account, &password, &meta).await?;
    Ok(ceremony.into())
}

/// Finishes adding a passkey; answers the page to go to (the security page, which shows the
/// recovery codes when this was the account's first second factor).
#[server(prefix = "/rpc", endpoint = "passkey_register_finish")]
pub async fn passkey_register_finish(
    ceremony: String,
    name: String,
    credential: String,
) -> Result<String, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let codes =
        passkeys::finish_registration(&state, &account, &ceremony, &name, &credential, &meta)
            .await?;
    if let Some(codes) = codes {
        ssr::show_recovery_codes_once(&state, account.id, &codes);
    }
    Ok(format!("{SECURITY_PAGE}?notice=passkey-added"))
}

/// Removes a passkey, after the password.
#[server(prefix = "/rpc", endpoint = "remove_passkey")]
pub async fn remove_passkey(id: String, password: String, code: String) -> Result<(), FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    passkeys::remove(&state, &account, &id, &password, &code, &meta).await?;
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=passkey-removed"));
    Ok(())
}

/// What the security page shows: an enrolment waiting for its first code, and recovery codes
/// made just now (read once from their short-lived cookie, which this clears).
#[server(prefix = "/rpc", endpoint = "security")]
pub async fn security_overview() -> Result<SecurityView, FormError> {
    use crate::server::services::second_factor;
    let (state, _) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    let account = &signed_in.account;
    let pending = second_factor::pending_totp(&state, &signed_in)
        .await?
        .map(|enrolment| PendingTotp {
            qr_svg: enrolment.qr_svg(),
            secret: enrolment.secret,
        });
    let new_recovery_codes = ssr::take_shown_recovery_codes(&state, account.id);
    let passkeys = crate::server::services::passkeys::list(&state, account)
        .await?
        .into_iter()
        .map(|passkey| PasskeyView {
            id: passkey.id,
            name: passkey.name,
            added: ssr::utc_text(passkey.created_at),
        })
        .collect();
    Ok(SecurityView {
        pending,
        new_recovery_codes,
        passkeys,
        passkeys_offered: state.webauthn.is_some(),
    })
}

/// Begins adding an authenticator app, after the password.
#[server(prefix = "/rpc", endpoint = "begin_totp")]
pub async fn begin_totp(password: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    second_factor::begin_totp_with_password(&state, &signed_in, &password, &meta).await?;
    leptos_axum::redirect(SECURITY_PAGE);
    Ok(())
}

/// The security page, where second factors are added and removed.
pub const SECURITY_PAGE: &str = "/account/security";

/// Turns the authenticator on with its first code; the recovery codes are shown next.
#[server(prefix = "/rpc", endpoint = "confirm_totp")]
pub async fn confirm_totp(code: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    let codes = second_factor::confirm_totp(&state, &signed_in, &code, &meta).await?;
    ssr::show_recovery_codes_once(&state, signed_in.account.id, &codes);
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=two-step-on"));
    Ok(())
}

/// Ten new recovery codes for a current code; shown next.
#[server(prefix = "/rpc", endpoint = "renew_recovery_codes")]
pub async fn renew_recovery_codes(code: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let codes = second_factor::renew_recovery_codes(&state, &account, &code, &meta).await?;
    ssr::show_recovery_codes_once(&state, account.id, &codes);
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=codes-renewed"));
    Ok(())
}

/// Turns the authenticator off: the password and a current code.
#[server(prefix = "/rpc", endpoint = "disable_totp")]
pub async fn disable_totp(password: String, code: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    second_factor::disable_totp(&state, &account, &password, &code, &meta).await?;
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=two-step-off"));
    Ok(())
}
