//! E-mail verification: a single-use link valid 24 hours, and fresh links on
//! request, at most one a minute and five an hour.

use super::passcodes::{self, Channel, SendLimit};
use super::Account;
use super::ServiceError;
use crate::i18n::Problem;
use crate::server::crypto::link_token;
use crate::server::delivery::messages::{self, Language};
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, outbox, users, verifications, Tx};

pub const LINK_LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// Verification links per mailbox: the one registration sends counts too.
const LINK_SENDS: SendLimit = SendLimit {
    gap_seconds: 60,
    per_hour: 5,
};

/// The link a verification mail carries. It is the documented REST path: API clients that
/// follow it verify at once, browsers are shown a confirmation page (so a mail scanner that
/// prefetches links cannot use the token up).
pub fn link(public_url: &str, username: &str, token: &str) -> String {
    format!("{public_url}/v2/account/email/verify/{username}/{token}")
}

/// Issues a link and queues its mail, inside the caller's transaction; refused (429 with the
/// real wait) past one a minute or five an hour to the address.
pub async fn queue_link(
    tx: &mut Tx,
    state: &AppState,
    account: &Account,
    language: Language,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let (token, digest) = link_token::generate();
    let now = store::unix_now();
    let email_key = account.email.to_lowercase();
    // Links have a budget of their own per mailbox, apart from recovery codes to it.
    let limit_key = format!("verify:{email_key}");
    passcodes::admit_send(&mut *tx, Channel::Email, &limit_key, LINK_SENDS, now).await?;
    verifications::insert(
        &mut *tx,
        &digest,
        account.id,
        &email_key,
        now,
        now + LINK_LIFETIME_SECONDS,
    )
    .await?;
    let mail = messages::verify_email(
        language,
        &account.email,
        &account.username,
        &link(&state.settings.public_url, &account.username, &token),
    );
    outbox::enqueue_email(&mut *tx, &mail).await?;
    audit::record(
        &mut *tx,
        Event::VerificationSent,
        Some(account.id),
        meta,
        None,
    )
    .await?;
    Ok(())
}

/// Sends a fresh link to a signed-in account whose address is not verified yet.
pub async fn resend(
    state: &AppState,
    account: &Account,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    state.limits.admit(Action::Send, meta.client_ip).await?;
    if account.email_verified {
        return Err(ServiceError::AlreadyDone(Problem::AlreadyVerified));
    }
    super::write_tx!(state.db, |tx| {
        queue_link(
            &mut *tx,
            state,
            account,
            Language::from_tag(&account.language),
            meta,
        )
        .await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(())
}

/// Uses a link: marks the address verified. Unknown, used, expired, mismatched: all one error.
pub async fn verify(
    state: &AppState,
    username: &str,
    token: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    super::write_tx!(state.db, |tx| {
        let consumed = verifications::consume(
            &mut *tx,
            &link_token::digest(token),
            username,
            store::unix_now(),
        )
        .await?;
        let Some(user_id) = consumed else {
            return Err(ServiceError::LinkInvalid);
        };
        users::mark_email_verified(&mut *tx, user_id).await?;
        audit::record(&mut *tx, Event::EmailVerified, Some(user_id), meta, None).await?;
        Ok(())
    })?;
    Ok(())
}
