//! Changing a password while signed in (SPEC §2.6).

use super::accounts::Account;
use super::ServiceError;
use crate::domain::{Invalid, NewPassword};
use crate::server::crypto::session_token::IssuedToken;
use crate::server::delivery::messages::{self, Language};
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, outbox, users};

/// Checks the current password, sets the new one, revokes every token issued before (the
/// token version moves on), queues a notice, and returns a fresh token for the caller's own
/// session so the person changing the password stays signed in.
pub async fn change(
    state: &AppState,
    account: &Account,
    current: &str,
    new: &str,
    meta: &RequestMeta,
) -> Result<IssuedToken, ServiceError> {
    let stored = users::password_hash(&state.db, account.id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    if !state.hasher.verify(current, Some(&stored)).await? {
        return Err(ServiceError::Invalid(vec![Invalid {
            field: "old_password",
            message: "The current password is not correct.".into(),
        }]));
    }
    let new =
        NewPassword::parse(new, Some(&account.username), Some(&account.email)).map_err(|e| {
            Invalid {
                field: "new_password",
                ..e
            }
        })?;
    if new.expose() == current {
        return Err(ServiceError::Invalid(vec![Invalid {
            field: "new_password",
            message: "The new password is the same as the current one.".into(),
        }]));
    }
    let new_hash = state.hasher.hash(new.expose()).await?;

    let mut tx = store::begin_write(&state.db).await?;
    let Some(version) =
        users::replace_password(&mut *tx, account.id, account.token_version, &new_hash).await?
    else {
        // The password changed meanwhile through another session: this one is stale.
        return Err(ServiceError::Unauthenticated);
    };
    let mail = messages::password_changed(
        Language::from_tag(&account.language),
        &account.email,
        &account.username,
        &messages::now_for_people(),
        &format!("{}/login", state.settings.public_url),
    );
    outbox::enqueue_email(&mut *tx, &mail).await?;
    audit::record(
        &mut *tx,
        Event::PasswordChanged,
        Some(account.id),
        meta,
        None,
    )
    .await?;
    tx.commit().await?;
    state.mail.now();
    Ok(state.tokens.issue(account.id, version))
}
