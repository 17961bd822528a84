//! The recovery pages' server functions: the username by mail, and the password reset's three
//! steps (a passcode or link, then a new password).

#[cfg(feature = "ssr")]
use super::language::page_language;
#[cfg(feature = "ssr")]
use super::ssr;
use super::FormError;
#[cfg(feature = "ssr")]
use crate::domain::Invalid;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a password reset begun in this browser sent its passcode: kept in a short-lived signed
/// cookie between the first two steps, so the address never carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReset {
    pub by_phone: bool,
    /// The e-mail address, or the phone number as typed.
    pub destination: String,
    pub country_code: Option<String>,
}

impl PendingReset {
    /// As the passcode step shows it.
    pub fn shown(&self) -> String {
        match &self.country_code {
            Some(code) => format!("{code} {}", self.destination),
            None => self.destination.clone(),
        }
    }
}

/// Forgot username: mails it to the address if an account with that verified address exists.
#[server(prefix = "/rpc", endpoint = "forgot_username")]
pub async fn forgot_username(email: String) -> Result<(), FormError> {
    use crate::server::services::recovery;
    let (state, meta) = ssr::context()?;
    recovery::remind_username(&state, &email, &meta).await?;
    leptos_axum::redirect("/forgot/username?sent=1");
    Ok(())
}

/// Reset step 1 from the web: a passcode by e-mail or text message. The next page asks for it;
/// where the passcode went rides along in a cookie (`ssr::remember_reset`), not in the address.
#[server(prefix = "/rpc", endpoint = "request_reset")]
pub async fn request_reset(
    via: String,
    destination: String,
    country_code: Option<String>,
) -> Result<(), FormError> {
    use crate::server::services::recovery;
    let (state, meta) = ssr::context()?;
    let by_phone = via == "phone";
    if by_phone {
        recovery::request_by_phone(&state, &destination, country_code.as_deref(), &meta).await?;
    } else {
        recovery::request_by_email(&state, &destination, &meta).await?;
    }
    ssr::remember_reset(
        &state,
        &PendingReset {
            by_phone,
            destination: destination.trim().to_owned(),
            country_code: country_code
                .map(|code| code.trim().to_owned())
                .filter(|code| by_phone && !code.is_empty()),
        },
    );
    leptos_axum::redirect("/forgot/password?step=code");
    Ok(())
}

/// Reset step 2 from the web: the passcode, for the destination this browser's reset sent it
/// to, exchanged for a reset token carried to the last step.
#[server(prefix = "/rpc", endpoint = "verify_reset_code")]
pub async fn verify_reset_code(code: String) -> Result<(), FormError> {
    use crate::server::services::recovery::{self, Destination};
    let (state, meta) = ssr::context()?;
    // No reset cookie: it ran out, or the reset began in another browser. The client's state,
    // not a fault here.
    let reset = ssr::pending_reset().ok_or_else(|| {
        let words = page_language().text();
        ssr::refused(http::StatusCode::BAD_REQUEST, words.reset_timed_out)
    })?;
    let target = if reset.by_phone {
        Destination::Phone {
            number: &reset.destination,
            country_code: reset.country_code.as_deref(),
        }
    } else {
        Destination::Email(&reset.destination)
    };
    let grant = recovery::verify_passcode(&state, target, &code, &meta).await?;
    ssr::forget_reset(&state);
    leptos_axum::redirect(&format!(
        "/forgot/password?token={}",
        secrecy::ExposeSecret::expose_secret(&grant.token)
    ));
    Ok(())
}

/// Whether a reset link can still be used (read by its page as it renders).
#[server(prefix = "/rpc", endpoint = "reset_link_is_live")]
pub async fn reset_link_is_live(token: String) -> Result<bool, FormError> {
    use crate::server::services::recovery;
    let (state, _) = ssr::context()?;
    Ok(recovery::link_is_live(&state, &token).await?)
}

/// Reset step 2 by the e-mailed link (its page asks for one click).
#[server(prefix = "/rpc", endpoint = "use_reset_link")]
pub async fn use_reset_link(token: String) -> Result<(), FormError> {
    use crate::server::services::recovery;
    let (state, _) = ssr::context()?;
    let grant = recovery::exchange_link(&state, &token).await?;
    leptos_axum::redirect(&format!(
        "/forgot/password?token={}",
        secrecy::ExposeSecret::expose_secret(&grant.token)
    ));
    Ok(())
}

/// Reset step 3 from the web: the new password, twice. Then sign in with it. The hydrated
/// page sends both fields sealed with the server's RSA key (`encryption = "rsa"`, the key the
/// page was rendered with, also at `/api/v3/system`); a page without JavaScript sends them
/// plain.
#[server(prefix = "/rpc", endpoint = "finish_reset")]
pub async fn finish_reset(
    token: String,
    new_password: String,
    new_password_again: String,
    encryption: Option<String>,
) -> Result<(), FormError> {
    use crate::server::crypto::password_cipher::Encryption;
    use crate::server::services::recovery::{self, SentPassword};
    use crate::server::services::ServiceError;
    let (state, meta) = ssr::context()?;
    let Some(encryption) = Encryption::parse(encryption.as_deref()) else {
        return Err(ServiceError::PasswordUnreadable.into());
    };
    let sealed = |text| SentPassword { text, encryption };
    recovery::reset_password(
        &state,
        &token,
        sealed(&new_password),
        Some(sealed(&new_password_again)),
        &meta,
    )
    .await
    .map_err(|e| match e {
        // The policy speaks of "password"; this form's field is "new_password".
        ServiceError::Invalid(problems) => ServiceError::Invalid(
            problems
                .into_iter()
                .map(|p| Invalid {
                    field: if p.field == "password" {
                        "new_password"
                    } else {
                        p.field
                    },
                    ..p
                })
                .collect(),
        ),
        other => other,
    })?;
    leptos_axum::redirect("/login?notice=password-reset");
    Ok(())
}
