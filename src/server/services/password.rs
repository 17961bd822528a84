//! Changing a password while signed in.

use super::throttle::{self, Subject};
use super::Account;
use super::ServiceError;
use crate::domain::{Invalid, NewPassword};
use crate::i18n::Problem;
use crate::server::crypto::session_token::IssuedToken;
use crate::server::delivery::messages::{self, Language};
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, outbox, recovery, second_factors, sessions, users};

/// Checks the current password, sets the new one, ends every session and outstanding reset
/// (links, reset tokens, passcodes), and queues a notice. With `stay_signed_in` (the browser)
/// it opens a fresh session and returns its token, so the person changing the password stays
/// signed in; a REST caller signs in again, as the seed's clients do.
///
/// The current password is an argon2 check like a sign-in, so it passes the same throttles:
/// per client address, and per account (its own lock, so a thief with a session cannot lock
/// the owner's sign-ins, nor guess the password faster than a sign-in could).
pub async fn change(
    state: &AppState,
    account: &Account,
    current: &str,
    new: &str,
    stay_signed_in: bool,
    meta: &RequestMeta,
) -> Result<Option<IssuedToken>, ServiceError> {
    let recheck = admit_recheck(state, account, meta).await?;
    if !current_matches(state, account, current).await? {
        return Err(ServiceError::Invalid(vec![Invalid {
            field: "old_password",
            problem: Problem::CurrentPasswordWrong,
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
            problem: Problem::PasswordUnchanged,
        }]));
    }
    recheck.passed(state).await?;
    let new_hash = state.hasher.hash(new.expose()).await?;

    let now = store::unix_now();
    let token = super::write_tx!(state.db, |tx| {
        let Some(version) =
            users::replace_password(&mut *tx, account.id, account.token_version, &new_hash).await?
        else {
            // The password changed meanwhile through another session: this one is stale.
            return Err(ServiceError::Unauthenticated);
        };
        sessions::delete_all_of(&mut *tx, account.id).await?;
        super::devices::forget_all(tx, account.id).await?;
        // The apps it signed in to lose their grants (and are told, with the mail below).
        super::oidc::logout::account_grants_ended(tx, account.id).await?;
        second_factors::delete_challenges_of(&mut *tx, account.id).await?;
        // A reset link or passcode mailed before must not undo the change.
        recovery::revoke_tokens_of(&mut *tx, account.id, now).await?;
        let purpose = super::passcodes::Purpose::ResetPassword.as_str();
        recovery::delete_passcodes_of(&mut *tx, account.id, purpose).await?;
        let token = match stay_signed_in {
            true => Some(
                super::sessions::start(
                    &mut *tx,
                    state,
                    account.id,
                    version,
                    super::sessions::SignedInWith::Password,
                    meta,
                )
                .await?,
            ),
            false => None,
        };
        let mail = messages::password_changed(
            Language::from_tag(&account.language),
            &account.email,
            &account.username,
            &messages::now_for_people(),
            &format!("{}/login", state.settings.public_url),
            messages::AlsoRemoved::default(),
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
        Ok(token)
    })?;
    state.mail.now();
    Ok(token)
}

/// A signed-in re-check of the password or a second factor, admitted under the limits of a
/// sign-in: per client address, and per account on a lock of its own (so a thief with a
/// session cannot lock the owner's sign-ins, nor guess faster than a sign-in could).
pub struct Recheck {
    key: String,
}

pub async fn admit_recheck(
    state: &AppState,
    account: &Account,
    meta: &RequestMeta,
) -> Result<Recheck, ServiceError> {
    state.limits.admit(Action::Login, meta.client_ip).await?;
    let key = Subject::Account {
        id: account.id,
        through: throttle::SIGNED_IN,
    }
    .key();
    throttle::admit_key(&state.db, &state.settings.login_policy, &key).await?;
    Ok(Recheck { key })
}

impl Recheck {
    /// Everything asked was right: the attempts so far are forgotten.
    pub async fn passed(self, state: &AppState) -> Result<(), ServiceError> {
        throttle::clear_key(&state.db, &self.key).await
    }
}

/// Whether `current` is the account's password (one argon2 verification).
pub async fn current_matches(
    state: &AppState,
    account: &Account,
    current: &str,
) -> Result<bool, ServiceError> {
    let stored = users::password_hash(&state.db, account.id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    // A password longer than any we accept cannot match; skip hashing megabytes of it.
    let plausible = current.chars().count() <= NewPassword::MAX_CHARS;
    Ok(state
        .hasher
        .verify(current, Some(stored.as_str()).filter(|_| plausible))
        .await?)
}
