//! The account's life beyond signing in: moving it to a new e-mail address (and the old
//! address's way back), deleting it (a grace, then erasure), and handing over everything held
//! about it.
//!
//! A change of address needs the password (and the second factor where one is enrolled), and
//! happens only when the new mailbox answers with its code or link; the old mailbox then gets
//! a "this wasn't me" link for 72 hours. Nothing about the new address is told to anyone who
//! does not hold the account: an address another account holds gets the same answer as a free
//! one, and only the new mailbox learns that it is taken. A deletion disables the account at
//! once and erases it after the grace (`LATCHKEY_DELETION_GRACE_SECONDS`, 14 days), unless its
//! owner signs in on the "keep my account" page meanwhile.

use super::passcodes::{self, Channel, CODE_SENDS};
use super::sessions::LoggedIn;
use super::{write_tx, Account, ServiceError};
use crate::domain::{Email, Invalid};
use crate::i18n::Problem;
use crate::server::crypto::{link_token, passcode};
use crate::server::delivery::messages::{self, Language};
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::account_life::{self as life, NewEmailChange, NewRestore, SetEmailError};
use crate::server::store::audit::{self, ByOperator, Event, RequestMeta};
use crate::server::store::{self, outbox, sessions, users, Db, Tx};
use serde_json::json;

/// How long the new address's code and link work.
pub const CHANGE_SECONDS: i64 = 24 * 3600;
/// How long the old address's "this wasn't me" link works.
pub const RESTORE_SECONDS: i64 = 72 * 3600;
/// Wrong codes one pending change takes before it is burned.
const WRONG_CODES_PER_CHANGE: i64 = 5;
/// What the change's code MAC is bound to (`crypto::passcode`).
const CHANGE_PURPOSE: &str = "email_change";

/// The fresh proof a big change asks of the signed-in person: the password, and a code of the
/// second factor where one is enrolled (an authenticator code or a recovery code), checked
/// under the limits of a password change.
async fn confirm_owner(
    state: &AppState,
    account: &Account,
    password: &str,
    code: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let recheck = super::password::admit_recheck(state, account, meta).await?;
    if !super::password::current_matches(state, account, password).await? {
        return Err(Invalid::new("password", Problem::CurrentPasswordWrong).into());
    }
    if super::second_factor::required(state, account.id).await?
        && !took_code(state, account.id, code).await?
    {
        return Err(Invalid::new("code", Problem::SecondFactorCodeWrong).into());
    }
    recheck.passed(state).await
}

/// Uses up `code` of the account's second factor (an authenticator code or a recovery code);
/// whether it was one.
async fn took_code(
    state: &AppState,
    user_id: i64,
    code: Option<&str>,
) -> Result<bool, ServiceError> {
    let code = code.map(str::trim).unwrap_or("");
    let now = store::unix_now();
    let taken = write_tx!(state.db, |tx| {
        super::second_factor::take_code(tx, state, user_id, code, now).await
    })?;
    Ok(taken.is_some())
}

/// An address as the old mailbox is shown it: enough to recognise, not to write to.
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Asks to move the account to `new_email`: mails a code and a link there (or, when another
/// account holds that address, a mail saying so, with the same answer here).
pub async fn begin_email_change(
    state: &AppState,
    account: &Account,
    new_email: &str,
    password: &str,
    code: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let new = Email::parse(new_email).map_err(|e| Invalid::new("new_email", e.problem))?;
    let new_key = new.key();
    if new_key == account.email.to_lowercase() {
        return Err(Invalid::new("new_email", Problem::EmailUnchanged).into());
    }
    confirm_owner(state, account, password, code, meta).await?;
    state.limits.admit(Action::Send, meta.client_ip).await?;
    let now = store::unix_now();
    let language = Language::from_tag(&account.language);
    write_tx!(state.db, |tx| {
        // Counted with every other send to that mailbox.
        passcodes::admit_send(&mut *tx, Channel::Email, &new_key, CODE_SENDS, now).await?;
        let taken = users::find_by_email_key(&mut *tx, &new_key)
            .await?
            .is_some()
            || life::address_held(&mut *tx, &new_key, now).await?;
        let mail = if taken {
            life::delete_change(&mut *tx, account.id).await?;
            messages::email_change_taken(language, new.as_str())
        } else {
            let code = passcode::generate();
            let (link, digest) = link_token::generate();
            let code_mac = passcode::mac(
                &state.passcode_key,
                Channel::Email.as_str(),
                &new_key,
                CHANGE_PURPOSE,
                &code,
            );
            life::put_change(
                tx,
                &NewEmailChange {
                    user_id: account.id,
                    new_email: new.as_str(),
                    new_email_key: &new_key,
                    token_hash: &digest,
                    code_mac: &code_mac,
                    now,
                    expires_at: now + CHANGE_SECONDS,
                },
            )
            .await?;
            let link = format!(
                "{}/account/email/confirm?token={link}",
                state.settings.public_url
            );
            messages::email_change_requested(
                language,
                new.as_str(),
                &account.username,
                &code,
                &link,
            )
        };
        outbox::enqueue_email(&mut *tx, &mail).await?;
        audit::record(
            &mut *tx,
            Event::EmailChangeRequested,
            Some(account.id),
            meta,
            None,
        )
        .await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(())
}

/// The new address waiting for its code, if a change is pending (the account page shows it).
pub async fn pending_change(
    state: &AppState,
    account: &Account,
) -> Result<Option<String>, ServiceError> {
    let now = store::unix_now();
    Ok(life::change_of(&state.db, account.id)
        .await?
        .filter(|change| change.expires_at > now)
        .map(|change| change.new_email))
}

/// The pending change confirmed with the code mailed to the new address.
pub async fn confirm_email_change(
    state: &AppState,
    account: &Account,
    code: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    state
        .limits
        .admit(Action::PasscodeCheck, meta.client_ip)
        .await?;
    let now = store::unix_now();
    let change = life::change_of(&state.db, account.id)
        .await?
        .filter(|change| change.expires_at > now)
        .ok_or(ServiceError::PasscodeInvalid)?;
    if change.wrong_codes >= WRONG_CODES_PER_CHANGE {
        return Err(ServiceError::PasscodeBurned);
    }
    let right = passcode::matches(
        &state.passcode_key,
        Channel::Email.as_str(),
        &change.new_email_key,
        CHANGE_PURPOSE,
        code,
        &change.code_mac,
    );
    if !right {
        life::count_wrong_code(&state.db, account.id).await?;
        return Err(ServiceError::PasscodeInvalid);
    }
    apply_change(state, change, meta).await
}

/// Whether a change link is live (the page that asks for the click reads it first).
pub async fn change_link_is_live(state: &AppState, link: &str) -> Result<bool, ServiceError> {
    let now = store::unix_now();
    Ok(life::change_by_token(&state.db, &link_token::digest(link))
        .await?
        .is_some_and(|change| change.expires_at > now))
}

/// The pending change confirmed with the link mailed to the new address.
pub async fn confirm_email_change_link(
    state: &AppState,
    link: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let now = store::unix_now();
    let change = life::change_by_token(&state.db, &link_token::digest(link))
        .await?
        .filter(|change| change.expires_at > now)
        .ok_or(ServiceError::LinkInvalid)?;
    apply_change(state, change, meta).await
}

/// Makes the change: the address (verified), the old mailbox's way back, the audit.
async fn apply_change(
    state: &AppState,
    change: life::EmailChangeRow,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let now = store::unix_now();
    write_tx!(state.db, |tx| {
        // Whoever removes the pending row owns it: of two uses at once, one changes.
        if !life::delete_change(&mut *tx, change.user_id).await? {
            return Err(ServiceError::LinkInvalid);
        }
        // An account disabled or deleted meanwhile moves nowhere.
        let account = users::find_by_id(&mut *tx, change.user_id)
            .await?
            .filter(|row| row.account_enabled)
            .ok_or(ServiceError::LinkInvalid)?;
        // Held meanwhile for another account's way back: as good as taken.
        if life::address_held(&mut *tx, &change.new_email_key, now).await? {
            return Err(ServiceError::Taken(Invalid::new(
                "new_email",
                Problem::EmailTaken,
            )));
        }
        let set = life::set_email(
            tx,
            account.id,
            &change.new_email,
            &change.new_email_key,
            &store::now(),
        )
        .await;
        match set {
            Ok(()) => {}
            // Taken meanwhile by an account that signed up with it.
            Err(SetEmailError::Taken) => {
                return Err(ServiceError::Taken(Invalid::new(
                    "new_email",
                    Problem::EmailTaken,
                )))
            }
            Err(SetEmailError::Database(e)) => return Err(e.into()),
        }
        let (restore, digest) = link_token::generate();
        life::insert_restore(
            tx,
            &NewRestore {
                token_hash: &digest,
                user_id: account.id,
                old_email: &account.email,
                old_email_key: &account.email.to_lowercase(),
                now,
                expires_at: now + RESTORE_SECONDS,
            },
        )
        .await?;
        let link = format!(
            "{}/account/email/restore?token={restore}",
            state.settings.public_url
        );
        let mail = messages::email_changed(
            Language::from_tag(&account.preferred_language),
            &account.email,
            &account.username,
            &masked(&change.new_email),
            &link,
        );
        outbox::enqueue_email(&mut *tx, &mail).await?;
        audit::record(&mut *tx, Event::EmailChanged, Some(account.id), meta, None).await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(())
}

/// Whether a restore link is live (the page that asks for the click reads it first).
pub async fn restore_link_is_live(state: &AppState, link: &str) -> Result<bool, ServiceError> {
    Ok(life::restore_is_live(&state.db, &link_token::digest(link), store::unix_now()).await?)
}

/// "This wasn't me": the old address back, every session and grant ended, and a password reset
/// mailed to the restored address.
pub async fn restore_email(
    state: &AppState,
    link: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let now = store::unix_now();
    write_tx!(state.db, |tx| {
        let restore = life::take_restore(tx, &link_token::digest(link), now)
            .await?
            .ok_or(ServiceError::LinkInvalid)?;
        let user_id = restore.user_id;
        users::find_by_id(&mut *tx, user_id)
            .await?
            .ok_or(ServiceError::LinkInvalid)?;
        match life::set_email(
            tx,
            user_id,
            &restore.old_email,
            &restore.old_email_key,
            &store::now(),
        )
        .await
        {
            Ok(()) => {}
            Err(SetEmailError::Taken) => {
                return Err(ServiceError::NotAllowed(Problem::OldAddressTaken))
            }
            Err(SetEmailError::Database(e)) => return Err(e.into()),
        }
        life::delete_change(&mut *tx, user_id).await?;
        sessions::delete_all_of(&mut *tx, user_id).await?;
        super::devices::forget_all(tx, user_id).await?;
        super::oidc::logout::account_grants_ended(tx, user_id).await?;
        let account = users::find_by_id(&mut *tx, user_id)
            .await?
            .ok_or(ServiceError::LinkInvalid)?;
        super::recovery::queue_reset_mail(tx, state, &account, now).await?;
        audit::record(&mut *tx, Event::EmailRestored, Some(user_id), meta, None).await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(())
}

/// Asks for the account's deletion: disabled at once (every session, grant and refresh token
/// ends), erased when the grace is over unless kept. When it will be erased (Unix seconds).
pub async fn request_deletion(
    state: &AppState,
    account: &Account,
    password: &str,
    code: Option<&str>,
    meta: &RequestMeta,
) -> Result<i64, ServiceError> {
    confirm_owner(state, account, password, code, meta).await?;
    let now = store::unix_now();
    let due = now + state.settings.config.deletion_grace_seconds;
    write_tx!(state.db, |tx| {
        if !life::schedule_deletion(tx, account.id, due, &store::now()).await? {
            return Err(ServiceError::AlreadyDone(Problem::DeletionAlreadyAsked));
        }
        sessions::delete_all_of(&mut *tx, account.id).await?;
        super::devices::forget_all(tx, account.id).await?;
        super::oidc::logout::account_grants_ended(tx, account.id).await?;
        life::delete_change(&mut *tx, account.id).await?;
        let keep = format!("{}/account/keep", state.settings.public_url);
        let when = time::OffsetDateTime::from_unix_timestamp(due)
            .map(|t| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            })
            .unwrap_or_default();
        let mail = messages::deletion_scheduled(
            Language::from_tag(&account.language),
            &account.email,
            &account.username,
            &when,
            &keep,
        );
        outbox::enqueue_email(&mut *tx, &mail).await?;
        let detail = due.to_string();
        audit::record(
            &mut *tx,
            Event::DeletionRequested,
            Some(account.id),
            meta,
            Some(&detail),
        )
        .await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(due)
}

/// "Keep my account": signing in again during the grace, with the password (and the second
/// factor's code where one is enrolled), cancels the deletion and opens a session. Counted
/// like a sign-in; anything but an account waiting for its deletion answers as a wrong
/// password does.
pub async fn keep_account(
    state: &AppState,
    identifier: &str,
    password: &str,
    code: Option<&str>,
    meta: &RequestMeta,
) -> Result<LoggedIn, ServiceError> {
    state.limits.admit(Action::Login, meta.client_ip).await?;
    let identifier = identifier.trim();
    // The sign-in's own locks: keeping an account is a sign-in, not another lane of guesses.
    let (found, through) = super::accounts::credentials_of(state, identifier).await?;
    let subject = match &found {
        Some((row, _)) => super::throttle::Subject::Account {
            id: row.id,
            through,
        },
        None => super::throttle::Subject::Unknown(identifier),
    };
    super::throttle::admit(&state.db, &state.settings.login_policy, &subject).await?;
    let stored = found.as_ref().map(|(_, hash)| hash.as_str());
    let matched = state.hasher.verify(password, stored).await?;
    let Some((row, _)) = found.filter(|_| matched) else {
        return Err(ServiceError::InvalidCredentials);
    };
    if life::deletion_due_at(&state.db, row.id).await?.is_none() {
        return Err(ServiceError::InvalidCredentials);
    }
    let with = if super::second_factor::required(state, row.id).await? {
        if !took_code(state, row.id, code).await? {
            return Err(Invalid::new("code", Problem::SecondFactorCodeWrong).into());
        }
        super::sessions::SignedInWith::PasswordAndCode
    } else {
        super::sessions::SignedInWith::Password
    };
    let (account, token, device) = write_tx!(state.db, |tx| {
        if !life::cancel_deletion(tx, row.id, &store::now()).await? {
            return Err(ServiceError::InvalidCredentials);
        }
        let account = users::find_by_id(&mut *tx, row.id)
            .await?
            .ok_or(ServiceError::InvalidCredentials)?;
        let token = super::sessions::start(
            &mut *tx,
            state,
            account.id,
            account.token_version,
            with,
            meta,
        )
        .await?;
        let device = super::devices::remember(tx, state, account.id).await?;
        super::throttle::clear(&mut *tx, &subject).await?;
        audit::record(
            &mut *tx,
            Event::DeletionCancelled,
            Some(account.id),
            meta,
            None,
        )
        .await?;
        Ok((Account::from(account), token, device))
    })?;
    Ok(LoggedIn {
        account,
        token,
        device,
    })
}

/// Erases one account now (the purge job, after the grace; an operator, without it): see
/// `store::account_life::erase`. The audit keeps the event under the account's id alone.
/// Whether there was such an account.
pub async fn erase(
    db: &Db,
    user_id: i64,
    by: Option<&ByOperator<'_>>,
    meta: &RequestMeta,
) -> Result<bool, ServiceError> {
    let erased = write_tx!(*db, |tx| {
        if !erase_in(tx, user_id).await? {
            return Ok(false);
        }
        audit::record_as(
            &mut *tx,
            Event::AccountErased,
            Some(user_id),
            meta,
            None,
            by,
        )
        .await?;
        Ok(true)
    })?;
    Ok(erased)
}

/// The purge job's part: every account whose grace has run out is erased.
pub async fn erase_due(db: &Db) -> Result<usize, ServiceError> {
    erase_due_by(db, store::unix_now()).await
}

/// Every account whose grace runs out by `when` (Unix seconds) is erased: `latchkey purge
/// --ahead-days N` runs this pass as if N days had passed.
pub async fn erase_due_by(db: &Db, when: i64) -> Result<usize, ServiceError> {
    let meta = RequestMeta {
        client_addr: Some("purge".into()),
        ..RequestMeta::default()
    };
    let mut erased = 0;
    for id in life::due_for_erasure(db, when).await? {
        if erase(db, id, None, &meta).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

/// Everything Latchkey holds about the account, as one JSON document (never a secret or a
/// hash): the profile, the second factors' kinds and dates, passkeys, sessions, the apps with
/// access and their consents, a pending change of address, and the account's audit events.
pub async fn export(
    state: &AppState,
    account: &Account,
) -> Result<serde_json::Value, ServiceError> {
    let id = account.id;
    let at = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
    };
    let totp = store::second_factors::totp_of(&state.db, id).await?;
    let passkeys = store::passkeys::of_user(&state.db, id).await?;
    let counts = store::second_factors::factors_of(&state.db, id).await?;
    let sessions = sessions::live_of(
        &state.reads,
        id,
        store::unix_now(),
        crate::server::crypto::session_token::LIFETIME_SECONDS,
    )
    .await?;
    let apps = store::oidc::apps_with_access(&state.db, id).await?;
    let filter = store::admin::AuditFilter {
        user_id: Some(id),
        ..Default::default()
    };
    let events = store::admin::audit(&state.db, &filter, 100_000).await?;
    let pending = pending_change(state, account).await?;
    Ok(json!({
        "format": "latchkey-export-1",
        "exported_at": store::now(),
        "account": {
            "id": id,
            "username": account.username,
            "email": account.email,
            "email_verified": account.email_verified,
            "phone": account.phone,
            "phone_verified": account.phone_verified,
            "plan": if account.paid { "paid" } else { "free" },
            "credits": account.credits.to_string(),
            "language": account.language,
            "created_at": account.created_at,
            "updated_at": account.updated_at,
            "pending_email_change": pending,
        },
        "second_factors": {
            "authenticator_app": totp.and_then(|t| t.confirmed_at).map(|on| json!({"added_at": at(on)})),
            "passkeys": passkeys.iter().map(|p| json!({
                "name": p.name,
                "added_at": at(p.created_at),
                "last_used_at": p.last_used_at.and_then(at),
            })).collect::<Vec<_>>(),
            "recovery_codes_left": counts.recovery_codes_left,
        },
        "sessions": sessions.iter().map(|s| json!({
            "started_at": at(s.created_at),
            "last_seen_at": at(s.last_seen_at),
            "ends_at": at(s.expires_at),
            "client_address": s.client_addr,
            "user_agent": s.user_agent,
        })).collect::<Vec<_>>(),
        "apps_with_access": apps.iter().map(|a| json!({
            "client_id": a.client_id,
            "name": a.name,
            "scopes": a.scopes.split(' ').collect::<Vec<_>>(),
            "allowed_at": at(a.granted_at),
        })).collect::<Vec<_>>(),
        "events": events.iter().map(|e| json!({
            "at": e.at,
            "event": e.event,
            "client_address": e.client_addr,
            "detail": e.detail,
            "by_admin": e.actor,
            "reason": e.reason,
        })).collect::<Vec<_>>(),
    }))
}

/// Whether the account is waiting for its erasure (the login's answer for a right password).
pub async fn deletion_pending(db: &Db, user_id: i64) -> Result<bool, ServiceError> {
    Ok(life::deletion_due_at(db, user_id).await?.is_some())
}

/// Erases the account inside the caller's transaction; whether there was one to erase. Its
/// apps are told (back-channel logout) before its grants go.
pub(super) async fn erase_in(tx: &mut Tx, user_id: i64) -> Result<bool, ServiceError> {
    let Some(account) = life::account_row(tx, user_id).await? else {
        return Ok(false);
    };
    super::oidc::logout::account_grants_ended(tx, user_id).await?;
    let tombstone = format!("deleted-{}", &link_token::generate().1[..20]);
    life::erase(tx, &account, &tombstone, &store::now()).await?;
    Ok(true)
}
