//! Account recovery: forgot username, and the password reset in three steps:
//! request a passcode (by e-mail address, username or phone), exchange it (or the e-mailed
//! link) for a 15-minute reset token, and set the new password with that token.
//!
//! Step 1 answers the same whether or not the account exists, and in the same time: it counts
//! the request against its destination and answers; then, off the request path, only a real
//! account gets a message queued, which the outbox worker sends.

use super::passcodes::{self, Channel, Purpose, CODE_SENDS};
use super::{phone, throttle, ServiceError};
use crate::domain::phone::Phone;
use crate::domain::{Email, NewPassword, Username};
use crate::server::crypto::link_token;
use crate::server::crypto::password_cipher::Encryption;
use crate::server::delivery::messages::{self, Language};
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::users::AccountRow;
use crate::server::store::{self, outbox, recovery, sessions, users, Tx};

pub const EMAIL_CODE_LIFETIME_SECONDS: i64 = 10 * 60;

/// How recent a second factor must be for a password reset to remove it: long enough for the
/// owner to see the "factor added" mail, short enough that an established factor is safe from
/// whoever holds only the mailbox.
pub const RECENT_FACTOR_SECONDS: i64 = 72 * 3600;

/// `tokenExpiresIn` of the seeds.
pub const RESET_TOKEN_LIFETIME_SECONDS: i64 = 15 * 60;
/// Failed decryptions of a sealed password that burn the reset token sent with them.
pub const MAX_FAILED_DECRYPTIONS: i64 = 3;
/// Every failure involving a sealed password is answered no sooner than this after the
/// request began, so the answer's timing says nothing about where the failure happened.
const SEALED_FAILURE_TIME: std::time::Duration = std::time::Duration::from_millis(250);
/// The `purpose` of reset passcodes in the database.
const PURPOSE: &str = Purpose::ResetPassword.as_str();

/// A reset token issued in step 2. Its `Debug` form hides the token.
#[derive(Debug, Clone)]
pub struct ResetGrant {
    pub token: secrecy::SecretString,
    pub expires_in: i64,
}

/// How long the recovery message work waits, so the answer leaves first.
const QUEUE_AFTER_ANSWER: std::time::Duration = std::time::Duration::from_millis(5);
/// A request its own task has not turned into a message after this long (the process died,
/// the database was failing over) is taken up by the sweep ([`spawn_sweeper`]).
const STALE_AFTER_SECONDS: i64 = 5;

/// What a recovery request asks for, as its row names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// A reset passcode and link by e-mail address.
    ResetByEmail,
    /// A reset by username, mailed to the account's verified address.
    ResetByUsername,
    /// A reset passcode by text message.
    ResetByPhone,
    /// The username, mailed to a verified address.
    RemindUsername,
}

impl Asked {
    fn as_str(self) -> &'static str {
        match self {
            Asked::ResetByEmail => "reset_email",
            Asked::ResetByUsername => "reset_username",
            Asked::ResetByPhone => "reset_phone",
            Asked::RemindUsername => "remind_username",
        }
    }

    fn parse(kind: &str) -> Option<Asked> {
        [
            Asked::ResetByEmail,
            Asked::ResetByUsername,
            Asked::ResetByPhone,
            Asked::RemindUsername,
        ]
        .into_iter()
        .find(|asked| asked.as_str() == kind)
    }

    fn channel(self) -> Channel {
        match self {
            Asked::ResetByPhone => Channel::Sms,
            _ => Channel::Email,
        }
    }
}

/// Step 1's common shape, and every send's admission. The client address's send allowance is
/// spent first (a malformed destination spends it too); then, in one transaction, the send is
/// counted against its destination (`limit_key`, known account or not) and the request is
/// written down (`recovery_requests`), and only then answered: an answer always has its
/// message follow, whatever happens next. The account is looked up and its message queued off
/// the request path, by a task started now (or the sweep, if that task never finishes), so a
/// request for a real account and one for nobody cost the client the same time, and the answer
/// cannot say which it was.
async fn admit_then_queue(
    state: &AppState,
    asked: Asked,
    meta: &RequestMeta,
    destination: Result<(String, String), ServiceError>,
) -> Result<(), ServiceError> {
    state.limits.admit(Action::Send, meta.client_ip).await?;
    let (limit_key, destination) = destination?;
    let now = store::unix_now();
    let channel = asked.channel();
    let id = super::write_tx!(state.db, |tx| {
        passcodes::admit_send(&mut *tx, channel, &limit_key, CODE_SENDS, now).await?;
        let id = recovery::insert_request(
            &mut *tx,
            asked.as_str(),
            &destination,
            meta.client_addr.as_deref(),
            meta.request_id.as_deref(),
            now,
        )
        .await?;
        Ok(id)
    })?;
    let state = state.clone();
    tokio::spawn(async move {
        // After the answer is on its way: the work for a real account (a code, a token, a
        // mail) is heavier than a decoy's, and done beside the answer it would slow the
        // answer on a busy machine, and tell which addresses have accounts.
        tokio::time::sleep(QUEUE_AFTER_ANSWER).await;
        if let Err(e) = process_request(&state, id).await {
            // The row stays: the sweep takes it up again.
            tracing::warn!(request = id, "recovery message not queued yet: {e}");
        }
    });
    Ok(())
}

/// Turns request `id` into its message (or its decoy), in one transaction with the row's
/// deletion; nothing when another node or the sweep took it first.
async fn process_request(state: &AppState, id: i64) -> Result<(), ServiceError> {
    let now = store::unix_now();
    let queued = super::write_tx!(state.db, |tx| {
        let Some(request) = recovery::take_request(&mut *tx, id).await? else {
            return Ok(false);
        };
        let meta = RequestMeta {
            client_addr: request.client_addr.clone(),
            request_id: request.request_id.clone(),
            ..RequestMeta::default()
        };
        let destination = request.destination.as_str();
        match Asked::parse(&request.kind) {
            Some(Asked::ResetByEmail) => reset_by_email(tx, state, &meta, now, destination).await?,
            Some(Asked::ResetByUsername) => {
                reset_by_username(tx, state, &meta, now, destination).await?
            }
            Some(Asked::ResetByPhone) => reset_by_phone(tx, state, &meta, now, destination).await?,
            Some(Asked::RemindUsername) => remind(tx, state, &meta, destination).await?,
            None => tracing::error!(request = id, kind = %request.kind, "unknown recovery request"),
        }
        Ok(true)
    })?;
    if queued {
        state.mail.now();
    }
    Ok(())
}

/// Every few seconds, the requests whose own task did not finish (the process died between
/// the answer and the message, or the database was away) are taken up here, on whichever node.
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut ticks =
            tokio::time::interval(std::time::Duration::from_secs(STALE_AFTER_SECONDS as u64));
        loop {
            ticks.tick().await;
            let before = store::unix_now() - STALE_AFTER_SECONDS;
            let stale = match recovery::stale_requests(&state.db, before).await {
                Ok(stale) => stale,
                Err(e) => {
                    tracing::debug!("recovery sweep: {e}");
                    continue;
                }
            };
            for id in stale {
                if let Err(e) = process_request(&state, id).await {
                    tracing::warn!(request = id, "recovery message not queued yet: {e}");
                }
            }
        }
    });
}

/// Step 1 by e-mail address (Temporal `/v2/forgot/password`, Authing `send-email`).
pub async fn request_by_email(
    state: &AppState,
    address: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let destination = Email::parse(address)
        .map(|email| (email.key(), email.key()))
        .map_err(ServiceError::from);
    admit_then_queue(state, Asked::ResetByEmail, meta, destination).await
}

async fn reset_by_email(
    tx: &mut Tx,
    state: &AppState,
    meta: &RequestMeta,
    now: i64,
    email_key: &str,
) -> Result<(), ServiceError> {
    // Receiving the code proves control of the address, so it need not be verified.
    match users::find_by_email_key(&mut *tx, email_key).await? {
        Some(account) if account.account_enabled => {
            queue_reset_mail(&mut *tx, state, &account, now).await?;
            let event = Event::ResetRequested;
            audit::record(&mut *tx, event, Some(account.id), meta, Some("email")).await?;
        }
        _ => {
            let lifetime = EMAIL_CODE_LIFETIME_SECONDS;
            store_decoy(&mut *tx, state, Channel::Email, email_key, now, lifetime).await?
        }
    }
    Ok(())
}

/// Step 1 by username (Tangerine `/auth/lostPassword`): mailed to the account's address, and
/// only when that address is verified.
pub async fn request_by_username(
    state: &AppState,
    name: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let destination = Username::parse(name)
        .map(|username| (format!("user:{}", username.key()), username.key()))
        .map_err(ServiceError::from);
    admit_then_queue(state, Asked::ResetByUsername, meta, destination).await
}

async fn reset_by_username(
    tx: &mut Tx,
    state: &AppState,
    meta: &RequestMeta,
    now: i64,
    username: &str,
) -> Result<(), ServiceError> {
    let Some(account) = users::find_by_username(&mut *tx, username).await? else {
        return Ok(());
    };
    // Sends are counted per mailbox whichever path asked: a code by username must not add to
    // codes asked for by address (nor slip past their limit).
    let mailbox = account.email.to_lowercase();
    let admitted = match account.account_enabled && account.email_verified {
        false => false,
        true => {
            match passcodes::admit_send(&mut *tx, Channel::Email, &mailbox, CODE_SENDS, now).await {
                Ok(()) => true,
                Err(ServiceError::RateLimited { .. }) => false,
                // A database error leaves the transaction unusable: run it again.
                Err(e) => return Err(e),
            }
        }
    };
    if admitted {
        queue_reset_mail(&mut *tx, state, &account, now).await?;
        let event = Event::ResetRequested;
        audit::record(&mut *tx, event, Some(account.id), meta, Some("username")).await?;
    }
    Ok(())
}

/// Step 1 by phone (Authing `send-sms`): texted to verified numbers only.
pub async fn request_by_phone(
    state: &AppState,
    number: &str,
    country_code: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let destination = Phone::parse(number, country_code)
        .map(|phone| (phone.e164.clone(), phone.e164))
        .map_err(ServiceError::from);
    admit_then_queue(state, Asked::ResetByPhone, meta, destination).await
}

async fn reset_by_phone(
    tx: &mut Tx,
    state: &AppState,
    meta: &RequestMeta,
    now: i64,
    e164: &str,
) -> Result<(), ServiceError> {
    let lifetime = phone::SMS_CODE_LIFETIME_SECONDS;
    match users::find_by_phone(&mut *tx, e164).await? {
        Some(account) if account.account_enabled && account.phone_verified => {
            let (sms, owner) = (Channel::Sms, Some(account.id));
            let purpose = Purpose::ResetPassword;
            let code =
                passcodes::issue(&mut *tx, state, sms, e164, purpose, owner, now, lifetime).await?;
            let language = Language::from_tag(&account.preferred_language);
            let text = messages::sms_passcode(language, &code, lifetime / 60, true);
            outbox::enqueue_sms(&mut *tx, e164, &text).await?;
            let event = Event::ResetRequested;
            audit::record(&mut *tx, event, Some(account.id), meta, Some("sms")).await?;
        }
        _ => store_decoy(&mut *tx, state, Channel::Sms, e164, now, lifetime).await?,
    }
    Ok(())
}

/// Forgot username (Temporal `/v2/forgot/username`): mails the username to a verified address.
pub async fn remind_username(
    state: &AppState,
    address: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let destination = Email::parse(address)
        .map(|email| (format!("username:{}", email.key()), email.key()))
        .map_err(ServiceError::from);
    admit_then_queue(state, Asked::RemindUsername, meta, destination).await
}

async fn remind(
    tx: &mut Tx,
    state: &AppState,
    meta: &RequestMeta,
    email_key: &str,
) -> Result<(), ServiceError> {
    if let Some(account) = users::find_by_email_key(&mut *tx, email_key).await? {
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
                meta,
                None,
            )
            .await?;
        }
    }
    Ok(())
}

/// A code for a destination without an account: nobody receives it, and step 2 answers for it
/// exactly as for a real one (wrong, then after five tries "too many"), so step 2 cannot tell
/// which addresses have accounts. It never matches a real account (`user_id` is NULL).
async fn store_decoy(
    tx: &mut Tx,
    state: &AppState,
    channel: Channel,
    destination: &str,
    now: i64,
    lifetime: i64,
) -> Result<(), sqlx::Error> {
    let purpose = Purpose::ResetPassword;
    passcodes::issue(
        tx,
        state,
        channel,
        destination,
        purpose,
        None,
        now,
        lifetime,
    )
    .await?;
    Ok(())
}

/// The passcode mail, with a link that performs step 2 by itself.
pub(super) async fn queue_reset_mail(
    tx: &mut Tx,
    state: &AppState,
    account: &AccountRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    let email_key = account.email.to_lowercase();
    let code = passcodes::issue(
        tx,
        state,
        Channel::Email,
        &email_key,
        Purpose::ResetPassword,
        Some(account.id),
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

/// Where a passcode was sent, as the client names it.
pub enum Destination<'a> {
    Email(&'a str),
    Phone {
        number: &'a str,
        country_code: Option<&'a str>,
    },
}

/// Step 2: a passcode for a reset token. The mail's link for the same reset dies with it.
pub async fn verify_passcode(
    state: &AppState,
    destination: Destination<'_>,
    code: &str,
    meta: &RequestMeta,
) -> Result<ResetGrant, ServiceError> {
    state
        .limits
        .admit(Action::PasscodeCheck, meta.client_ip)
        .await?;
    let (channel, key) = match destination {
        Destination::Email(address) => (Channel::Email, Email::parse(address)?.key()),
        Destination::Phone {
            number,
            country_code,
        } => (Channel::Sms, Phone::parse(number, country_code)?.e164),
    };
    let user_id = passcodes::check(state, channel, &key, Purpose::ResetPassword, code).await?;
    recovery::revoke_links_of(&state.db, user_id, store::unix_now()).await?;
    issue_reset_token(state, user_id).await
}

/// Whether the e-mailed link can still be used, without using it: its page says at once when
/// it cannot. (The token is 256 random bits: asking reveals nothing a guess could find.)
pub async fn link_is_live(state: &AppState, link: &str) -> Result<bool, ServiceError> {
    let digest = link_token::digest(link.trim());
    let live = recovery::live_token(&state.db, &digest, "link", store::unix_now()).await?;
    Ok(live.is_some())
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
    // The mail's passcode for the same reset dies with the link.
    recovery::delete_passcodes_of(&state.db, user_id, PURPOSE).await?;
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
        token: token.into(),
        expires_in: RESET_TOKEN_LIFETIME_SECONDS,
    })
}

/// A new password as the client sent it: plain, or sealed with the published RSA or SM2 key.
#[derive(Clone, Copy)]
pub struct SentPassword<'a> {
    pub text: &'a str,
    pub encryption: Encryption,
}

/// Step 3: sets the new password. Revokes every session, passcode and reset token of the
/// account and mails a notice; does not sign anybody in. `again` is the form's second field,
/// when it has one.
///
/// A sealed password is decrypted only for a live reset token, and every failure that involves
/// one — undecryptable, the two fields differ, refused by the policy — is one answer
/// ([`ServiceError::PasswordUnreadable`]) at one time ([`SEALED_FAILURE_TIME`]), and counts
/// against the token, which dies after [`MAX_FAILED_DECRYPTIONS`]: a reset token is no
/// padding oracle. The token is spent before the new password is hashed, so one token buys
/// one argon2 hash.
pub async fn reset_password(
    state: &AppState,
    reset_token: &str,
    new_password: SentPassword<'_>,
    again: Option<SentPassword<'_>>,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let started = tokio::time::Instant::now();
    let digest = link_token::digest(reset_token.trim());
    let user_id = recovery::live_reset_token(&state.db, &digest, store::unix_now())
        .await?
        .ok_or(ServiceError::ResetTokenInvalid)?;
    let account = users::find_by_id(&state.db, user_id)
        .await?
        .ok_or(ServiceError::ResetTokenInvalid)?;
    let accepted = read_new_password(state, &account, new_password, again);
    let password = match accepted {
        Ok(password) => password,
        Err(refusal) if new_password.encryption == Encryption::None => return Err(refusal),
        Err(_) => {
            let now = store::unix_now();
            recovery::count_failed_decryption(&state.db, &digest, now, MAX_FAILED_DECRYPTIONS)
                .await?;
            tokio::time::sleep_until(started + SEALED_FAILURE_TIME).await;
            return Err(ServiceError::PasswordUnreadable);
        }
    };
    let now = store::unix_now();
    if recovery::consume_token(&state.db, &digest, "reset", now)
        .await?
        .is_none()
    {
        return Err(ServiceError::ResetTokenInvalid);
    }
    let hash = state.hasher.hash(password.expose()).await?;

    super::write_tx!(state.db, |tx| {
        users::reset_password(&mut *tx, user_id, &hash).await?;
        sessions::delete_all_of(&mut *tx, user_id).await?;
        store::second_factors::delete_challenges_of(&mut *tx, user_id).await?;
        recovery::revoke_tokens_of(&mut *tx, user_id, now).await?;
        recovery::delete_passcodes_of(&mut *tx, user_id, PURPOSE).await?;
        // The owner proved control of the address or phone: lift any login lockout.
        throttle::clear_account(&mut *tx, user_id).await?;
        // Browsers remembered under the old password are strangers to the new one.
        super::devices::forget_all(tx, user_id).await?;
        super::oidc::logout::account_grants_ended(tx, user_id).await?;
        // An address never verified may have been registered by somebody else before its owner
        // came: whatever else they attached (a phone for SMS resets) must not outlive this reset.
        let phone_removed =
            !account.email_verified && users::remove_phone(&mut *tx, user_id).await?;
        if phone_removed {
            let detail = Some("reset of an unverified account");
            audit::record(&mut *tx, Event::PhoneRemoved, Some(user_id), meta, detail).await?;
        }
        // A second factor added in the last days may be a thief's, who knew the password and
        // added it to keep the owner out (a reset proves the mailbox, and the "factor added"
        // mail went there): it goes. Older factors stay, so whoever holds only the mailbox
        // cannot strip an established second factor.
        let since = now - RECENT_FACTOR_SECONDS;
        let factors_removed =
            store::second_factors::remove_factors_added_since(tx, user_id, since).await? > 0;
        if factors_removed {
            super::second_factor::forget_codes_without_factors(tx, user_id).await?;
            let detail = Some("added within 72 hours before a reset");
            audit::record(
                &mut *tx,
                Event::SecondFactorsRemoved,
                Some(user_id),
                meta,
                detail,
            )
            .await?;
        }
        let mail = messages::password_changed(
            Language::from_tag(&account.preferred_language),
            &account.email,
            &account.username,
            &messages::now_for_people(),
            &format!("{}/forgot/password", state.settings.public_url),
            messages::AlsoRemoved {
                phone: phone_removed,
                recent_second_factors: factors_removed,
            },
        );
        outbox::enqueue_email(&mut *tx, &mail).await?;
        audit::record(&mut *tx, Event::PasswordReset, Some(user_id), meta, None).await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(())
}

/// The new password, opened and checked against the policy.
fn read_new_password(
    state: &AppState,
    account: &AccountRow,
    sent: SentPassword<'_>,
    again: Option<SentPassword<'_>>,
) -> Result<NewPassword, ServiceError> {
    let open = |sealed: SentPassword<'_>| {
        state
            .ciphers
            .decrypt(sealed.encryption, sealed.text)
            .map_err(|_| ServiceError::PasswordUnreadable)
    };
    let password = open(sent)?;
    if let Some(again) = again {
        if open(again)? != password {
            return Err(ServiceError::Invalid(vec![crate::domain::Invalid {
                field: "new_password_again",
                problem: crate::domain::Problem::PasswordsDiffer,
            }]));
        }
    }
    Ok(NewPassword::parse(
        &password,
        Some(&account.username),
        Some(&account.email),
    )?)
}
