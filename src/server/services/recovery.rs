//! Account recovery (SPEC §2.10–2.11): forgot username, and the password reset in three steps:
//! request a passcode (by e-mail address, username or phone), exchange it (or the e-mailed
//! link) for a 15-minute reset token, and set the new password with that token.
//!
//! Step 1 answers the same whether or not the account exists, and in the same time: it counts
//! the request against its destination and answers; then, off the request path, only a real
//! account gets a message queued, which the outbox worker sends.

use super::{phone, throttle, ServiceError};
use crate::domain::{Email, NewPassword, Username};
use crate::server::client_limits::Action;
use crate::server::crypto::{link_token, passcode};
use crate::server::delivery::messages::{self, Language};
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::users::AccountRow;
use crate::server::store::{self, outbox, recovery, users};
use sqlx::SqliteConnection;

pub const EMAIL_CODE_LIFETIME_SECONDS: i64 = 10 * 60;
/// `tokenExpiresIn` of the seeds.
pub const RESET_TOKEN_LIFETIME_SECONDS: i64 = 15 * 60;
pub const MAX_TRIES: i64 = 5;
const SEND_GAP_SECONDS: i64 = 60;
const SENDS_PER_HOUR: i64 = 10;
const PURPOSE: &str = "reset_password";

/// A reset token issued in step 2.
#[derive(Debug, Clone)]
pub struct ResetGrant {
    pub token: String,
    pub expires_in: i64,
}

/// True when `destination` has had a send in the last minute or ten in the last hour.
pub async fn rate_limited(
    tx: &mut SqliteConnection,
    channel: &str,
    destination: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    Ok(
        recovery::sends_since(&mut *tx, channel, destination, now - SEND_GAP_SECONDS).await? > 0
            || recovery::sends_since(&mut *tx, channel, destination, now - 3600).await?
                >= SENDS_PER_HOUR,
    )
}

/// Logs a send to `destination` or refuses it when the limits are reached.
async fn admit_send(
    tx: &mut SqliteConnection,
    channel: &str,
    destination: &str,
    now: i64,
) -> Result<(), ServiceError> {
    if rate_limited(tx, channel, destination, now).await? {
        let retry_after =
            if recovery::sends_since(&mut *tx, channel, destination, now - SEND_GAP_SECONDS).await?
                > 0
            {
                SEND_GAP_SECONDS
            } else {
                3600
            };
        return Err(ServiceError::RateLimited { retry_after });
    }
    recovery::log_send(&mut *tx, channel, destination, now).await?;
    Ok(())
}

/// Step 1's common shape. The send is counted against its destination (known account or not)
/// and answered; only then, off the request path, is the account looked up and its message
/// queued. A request for a real account and one for nobody so cost the client the same time
/// (issue 5), and the answer cannot say which it was.
async fn admit_then_queue<Queue, Queued>(
    state: &AppState,
    channel: &'static str,
    limit_key: &str,
    meta: &RequestMeta,
    queue: Queue,
) -> Result<(), ServiceError>
where
    Queue: FnOnce(AppState, RequestMeta, i64) -> Queued + Send + 'static,
    Queued: std::future::Future<Output = Result<(), ServiceError>> + Send + 'static,
{
    let now = store::unix_now();
    let mut tx = store::begin_write(&state.db).await?;
    admit_send(&mut tx, channel, limit_key, now).await?;
    tx.commit().await?;
    let state = state.clone();
    let meta = meta.clone();
    tokio::spawn(async move {
        match queue(state.clone(), meta, now).await {
            Ok(()) => state.mail.now(),
            Err(e) => tracing::error!(channel, "recovery message not queued: {e}"),
        }
    });
    Ok(())
}

/// Step 1 by e-mail address (Temporal `/v2/forgot/password`, Authing `send-email`).
pub async fn request_by_email(
    state: &AppState,
    address: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    state.limits.admit(Action::Send, meta.client_ip)?;
    let email_key = Email::parse(address)?.key();
    let limit_key = email_key.clone();
    admit_then_queue(
        state,
        "email",
        &limit_key,
        meta,
        move |state, meta, now| async move {
            let mut tx = store::begin_write(&state.db).await?;
            // Receiving the code proves control of the address, so it need not be verified.
            if let Some(account) = users::find_by_email_key(&mut *tx, &email_key).await? {
                if account.account_enabled {
                    queue_reset_mail(&mut tx, &state, &account, now).await?;
                    let event = Event::ResetRequested;
                    audit::record(&mut *tx, event, Some(account.id), &meta, Some("email")).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}

/// Step 1 by username (Tangerine `/auth/lostPassword`): mailed to the account's address, and
/// only when that address is verified.
pub async fn request_by_username(
    state: &AppState,
    name: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    state.limits.admit(Action::Send, meta.client_ip)?;
    let username = Username::parse(name)?;
    let limit_key = format!("user:{}", username.key());
    admit_then_queue(
        state,
        "email",
        &limit_key,
        meta,
        move |state, meta, now| async move {
            let mut tx = store::begin_write(&state.db).await?;
            if let Some(account) = users::find_by_username(&mut *tx, username.as_str()).await? {
                if account.account_enabled && account.email_verified {
                    queue_reset_mail(&mut tx, &state, &account, now).await?;
                    let event = Event::ResetRequested;
                    audit::record(&mut *tx, event, Some(account.id), &meta, Some("username"))
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}

/// Step 1 by phone (Authing `send-sms`): texted to verified numbers only.
pub async fn request_by_phone(
    state: &AppState,
    number: &str,
    country_code: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    state.limits.admit(Action::Send, meta.client_ip)?;
    let e164 = phone::parse(number, country_code)?.e164;
    let limit_key = e164.clone();
    admit_then_queue(
        state,
        "sms",
        &limit_key,
        meta,
        move |state, meta, now| async move {
            let mut tx = store::begin_write(&state.db).await?;
            if let Some(account) = users::find_by_phone(&mut *tx, &e164).await? {
                if account.account_enabled && account.phone_verified {
                    let code = passcode::generate();
                    let lifetime = phone::SMS_CODE_LIFETIME_SECONDS;
                    store_code(
                        &mut tx, &state, "sms", &e164, account.id, &code, now, lifetime,
                    )
                    .await?;
                    let language = Language::from_tag(&account.preferred_language);
                    let text = messages::sms_passcode(language, &code, lifetime / 60, true);
                    outbox::enqueue_sms(&mut *tx, &e164, &text).await?;
                    let event = Event::ResetRequested;
                    audit::record(&mut *tx, event, Some(account.id), &meta, Some("sms")).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}

/// Forgot username (Temporal `/v2/forgot/username`): mails the username to a verified address.
pub async fn remind_username(
    state: &AppState,
    address: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    state.limits.admit(Action::Send, meta.client_ip)?;
    let email_key = Email::parse(address)?.key();
    let limit_key = format!("username:{email_key}");
    admit_then_queue(
        state,
        "email",
        &limit_key,
        meta,
        move |state, meta, _| async move {
            let mut tx = store::begin_write(&state.db).await?;
            if let Some(account) = users::find_by_email_key(&mut *tx, &email_key).await? {
                if account.account_enabled && account.email_verified {
                    let mail = messages::username_reminder(
                        Language::from_tag(&account.preferred_language),
                        &account.email,
                        &account.username,
                        &format!("{}/login", state.settings.public_url),
                    );
                    outbox::enqueue_email(&mut *tx, &mail).await?;
                    audit::record(
                        &mut *tx,
                        Event::UsernameReminded,
                        Some(account.id),
                        &meta,
                        None,
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn store_code(
    tx: &mut SqliteConnection,
    state: &AppState,
    channel: &str,
    destination: &str,
    user_id: i64,
    code: &str,
    now: i64,
    lifetime: i64,
) -> Result<(), sqlx::Error> {
    recovery::put_passcode(
        &mut *tx,
        recovery::NewPasscode {
            channel,
            destination,
            purpose: PURPOSE,
            user_id,
            code_mac: &passcode::mac(&state.passcode_key, channel, destination, PURPOSE, code),
            now,
            expires_at: now + lifetime,
        },
    )
    .await
}

/// The passcode mail, with a link that performs step 2 by itself.
async fn queue_reset_mail(
    tx: &mut SqliteConnection,
    state: &AppState,
    account: &AccountRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    let email_key = account.email.to_lowercase();
    let code = passcode::generate();
    store_code(
        tx,
        state,
        "email",
        &email_key,
        account.id,
        &code,
        now,
        EMAIL_CODE_LIFETIME_SECONDS,
    )
    .await?;
    let (link, digest) = link_token::generate();
    recovery::insert_token(
        &mut *tx,
        &digest,
        "link",
        account.id,
        now,
        now + EMAIL_CODE_LIFETIME_SECONDS,
    )
    .await?;
    let mail = messages::reset_password(
        Language::from_tag(&account.preferred_language),
        &account.email,
        &account.username,
        &code,
        &format!("{}/reset-password?token={link}", state.settings.public_url),
    );
    outbox::enqueue_email(&mut *tx, &mail).await?;
    Ok(())
}

/// Checks a passcode and uses it up. At most [`MAX_TRIES`] guesses are ever compared; after
/// that even the right code fails ([`ServiceError::PasscodeBurned`]).
pub async fn check_passcode(
    state: &AppState,
    channel: &str,
    destination: &str,
    purpose: &str,
    code: &str,
) -> Result<i64, ServiceError> {
    let Some(stored) =
        recovery::claim_try(&state.db, channel, destination, purpose, MAX_TRIES).await?
    else {
        let exists = recovery::find_passcode(&state.db, channel, destination, purpose).await?;
        return Err(match exists {
            Some(burned) if burned.expires_at > store::unix_now() => ServiceError::PasscodeBurned,
            _ => ServiceError::PasscodeInvalid,
        });
    };
    let right = passcode::matches(
        &state.passcode_key,
        channel,
        destination,
        purpose,
        code,
        &stored.code_mac,
    );
    if stored.expires_at <= store::unix_now() || !right {
        return Err(ServiceError::PasscodeInvalid);
    }
    // Whoever deletes the row owns the code: two right answers at once get one success.
    if !recovery::delete_passcode(&state.db, channel, destination, purpose).await? {
        return Err(ServiceError::PasscodeInvalid);
    }
    Ok(stored.user_id)
}

/// Where a passcode was sent, as the client names it.
pub enum Destination<'a> {
    Email(&'a str),
    Phone {
        number: &'a str,
        country_code: Option<&'a str>,
    },
}

/// Step 2: a passcode for a reset token.
pub async fn verify_passcode(
    state: &AppState,
    destination: Destination<'_>,
    code: &str,
) -> Result<ResetGrant, ServiceError> {
    let (channel, key) = match destination {
        Destination::Email(address) => ("email", Email::parse(address)?.key()),
        Destination::Phone {
            number,
            country_code,
        } => ("sms", phone::parse(number, country_code)?.e164),
    };
    let user_id = check_passcode(state, channel, &key, PURPOSE, code).await?;
    issue_reset_token(state, user_id).await
}

/// Step 2 by the e-mailed link: the link token for a reset token.
pub async fn exchange_link(state: &AppState, link: &str) -> Result<ResetGrant, ServiceError> {
    let user_id = recovery::consume_token(
        &state.db,
        &link_token::digest(link),
        "link",
        store::unix_now(),
    )
    .await?
    .ok_or(ServiceError::ResetTokenInvalid)?;
    issue_reset_token(state, user_id).await
}

async fn issue_reset_token(state: &AppState, user_id: i64) -> Result<ResetGrant, ServiceError> {
    let (token, digest) = link_token::generate();
    let now = store::unix_now();
    recovery::insert_token(
        &state.db,
        &digest,
        "reset",
        user_id,
        now,
        now + RESET_TOKEN_LIFETIME_SECONDS,
    )
    .await?;
    Ok(ResetGrant {
        token,
        expires_in: RESET_TOKEN_LIFETIME_SECONDS,
    })
}

/// Whether `reset_token` is a live reset token. Adapters ask before decrypting a sealed
/// password, so the RSA and SM2 decryption is only reachable with a valid token and cannot be
/// used as a decryption oracle by anyone (PKCS#1 v1.5 padding checks leak through timing).
pub async fn reset_token_is_live(
    state: &AppState,
    reset_token: &str,
) -> Result<bool, ServiceError> {
    let live: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM reset_tokens WHERE token_hash = ? AND kind = 'reset' AND used_at IS NULL AND expires_at > ?",
    )
    .bind(link_token::digest(reset_token))
    .bind(store::unix_now())
    .fetch_optional(&state.db)
    .await?;
    Ok(live.is_some())
}

/// Step 3: sets the new password. Revokes every session, passcode and reset token of the
/// account and mails a notice; does not sign anybody in.
pub async fn reset_password(
    state: &AppState,
    reset_token: &str,
    new_password: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let digest = link_token::digest(reset_token);
    // Look before using: a password that fails the policy must not burn the token.
    let owner: Option<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, expires_at FROM reset_tokens WHERE token_hash = ? AND kind = 'reset' AND used_at IS NULL",
    )
    .bind(&digest)
    .fetch_optional(&state.db)
    .await?;
    let now = store::unix_now();
    let user_id = match owner {
        Some((user_id, expires_at)) if expires_at > now => user_id,
        _ => return Err(ServiceError::ResetTokenInvalid),
    };
    let account = users::find_by_id(&state.db, user_id)
        .await?
        .ok_or(ServiceError::ResetTokenInvalid)?;
    let password = NewPassword::parse(new_password, Some(&account.username), Some(&account.email))?;
    let hash = state.hasher.hash(password.expose()).await?;

    let mut tx = store::begin_write(&state.db).await?;
    if recovery::consume_token(&mut *tx, &digest, "reset", now)
        .await?
        .is_none()
    {
        return Err(ServiceError::ResetTokenInvalid);
    }
    users::reset_password(&mut *tx, user_id, &hash).await?;
    recovery::revoke_tokens_of(&mut *tx, user_id, now).await?;
    recovery::delete_passcodes_of(&mut *tx, user_id, PURPOSE).await?;
    // The owner proved control of the address or phone: lift any login lockout.
    throttle::clear(&mut *tx, &throttle::Subject::Account(user_id)).await?;
    let mail = messages::password_changed(
        Language::from_tag(&account.preferred_language),
        &account.email,
        &account.username,
        &messages::now_for_people(),
        &format!("{}/forgot/password", state.settings.public_url),
    );
    outbox::enqueue_email(&mut *tx, &mail).await?;
    audit::record(&mut *tx, Event::PasswordReset, Some(user_id), meta, None).await?;
    tx.commit().await?;
    state.mail.now();
    Ok(())
}
