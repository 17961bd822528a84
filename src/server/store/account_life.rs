//! The account's life: pending e-mail changes and their way back (`email_changes`,
//! `email_restores`), the deletion's grace (`users.deletion_due_at`), erasing a person from
//! every table, and what an export reads.

use super::users::{AccountRow, ACCOUNT_COLUMNS};
use super::{on_backend, Exec, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct EmailChangeRow {
    pub user_id: i64,
    pub new_email: String,
    pub new_email_key: String,
    pub code_mac: String,
    pub wrong_codes: i64,
    pub expires_at: i64,
}

const CHANGE_COLUMNS: &str = "user_id, new_email, new_email_key, code_mac, wrong_codes, expires_at";

pub struct NewEmailChange<'a> {
    pub user_id: i64,
    pub new_email: &'a str,
    pub new_email_key: &'a str,
    pub token_hash: &'a str,
    pub code_mac: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// Stores the account's pending change, replacing any earlier one (one per account: the
/// earlier link and code stop working).
pub async fn put_change(tx: &mut Tx, change: &NewEmailChange<'_>) -> Result<(), sqlx::Error> {
    delete_change(&mut *tx, change.user_id).await?;
    on_backend!(tx, e => sqlx::query(
        "INSERT INTO email_changes (user_id, new_email, new_email_key, token_hash, code_mac, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(change.user_id)
    .bind(change.new_email)
    .bind(change.new_email_key)
    .bind(change.token_hash)
    .bind(change.code_mac)
    .bind(change.now)
    .bind(change.expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn change_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<Option<EmailChangeRow>, sqlx::Error> {
    let sql = format!("SELECT {CHANGE_COLUMNS} FROM email_changes WHERE user_id = $1");
    on_backend!(db, e => sqlx::query_as(&sql).bind(user_id).fetch_optional(e).await)
}

pub async fn change_by_token(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
) -> Result<Option<EmailChangeRow>, sqlx::Error> {
    let sql = format!("SELECT {CHANGE_COLUMNS} FROM email_changes WHERE token_hash = $1");
    on_backend!(db, e => sqlx::query_as(&sql).bind(token_hash).fetch_optional(e).await)
}

/// Counts a wrong code against the pending change; how many it has had.
pub async fn count_wrong_code(db: impl Into<Exec<'_>>, user_id: i64) -> Result<i64, sqlx::Error> {
    let counted: Option<i64> = on_backend!(db, e => sqlx::query_scalar(
        "UPDATE email_changes SET wrong_codes = wrong_codes + 1 WHERE user_id = $1 \
         RETURNING wrong_codes",
    )
    .bind(user_id)
    .fetch_optional(e)
    .await)?;
    Ok(counted.unwrap_or(0))
}

/// Removes the account's pending change; whether there was one (of two requests using the
/// same change, the one that removes it owns it).
pub async fn delete_change(db: impl Into<Exec<'_>>, user_id: i64) -> Result<bool, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query("DELETE FROM email_changes WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Why an address could not be set: another account holds it, or the database failed.
#[derive(Debug, thiserror::Error)]
pub enum SetEmailError {
    #[error("the address belongs to another account")]
    Taken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Sets the account's address (verified: whoever sets it proved they read its mail).
pub async fn set_email(
    tx: &mut Tx,
    user_id: i64,
    email: &str,
    email_key: &str,
    now: &str,
) -> Result<(), SetEmailError> {
    on_backend!(tx, e => sqlx::query(
        "UPDATE users SET email = $1, email_key = $2, email_verified = TRUE, updated_at = $3 \
         WHERE id = $4",
    )
    .bind(email)
    .bind(email_key)
    .bind(now)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))
    .map_err(|e| match super::unique_violation(&e).as_deref() {
        Some("users_email_key") => SetEmailError::Taken,
        _ => SetEmailError::Database(e),
    })?;
    Ok(())
}

pub struct NewRestore<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub old_email: &'a str,
    pub old_email_key: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert_restore(tx: &mut Tx, restore: &NewRestore<'_>) -> Result<(), sqlx::Error> {
    on_backend!(tx, e => sqlx::query(
        "INSERT INTO email_restores (token_hash, user_id, old_email, old_email_key, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(restore.token_hash)
    .bind(restore.user_id)
    .bind(restore.old_email)
    .bind(restore.old_email_key)
    .bind(restore.now)
    .bind(restore.expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct RestoreRow {
    pub user_id: i64,
    pub old_email: String,
    pub old_email_key: String,
    pub expires_at: i64,
}

/// The live restore link with this hash, used up; `None` for an unknown, used or expired one.
pub async fn take_restore(
    tx: &mut Tx,
    token_hash: &str,
    now: i64,
) -> Result<Option<RestoreRow>, sqlx::Error> {
    on_backend!(tx, e => sqlx::query_as(
        "DELETE FROM email_restores WHERE token_hash = $1 AND expires_at > $2 \
         RETURNING user_id, old_email, old_email_key, expires_at",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(e)
    .await)
}

/// Whether a restore link is live, without using it (the page that asks for the click).
pub async fn restore_is_live(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let found: i64 = on_backend!(db, e => sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_restores WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_one(e)
    .await)?;
    Ok(found > 0)
}

/// Whether `email_key` is an address some account moved away from less than 72 hours ago,
/// whose "this wasn't me" link is still live: it stays held for that account, so that nobody
/// (the one who moved it, say) can take it meanwhile and block its way back.
pub async fn address_held(
    db: impl Into<Exec<'_>>,
    email_key: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let held: i64 = on_backend!(db, e => sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_restores WHERE old_email_key = $1 AND expires_at > $2",
    )
    .bind(email_key)
    .bind(now)
    .fetch_one(e)
    .await)?;
    Ok(held > 0)
}

/// Schedules the account's erasure at `due_at` and disables it meanwhile (a new token version
/// ends every token at once); false when it is already scheduled or gone.
pub async fn schedule_deletion(
    tx: &mut Tx,
    user_id: i64,
    due_at: i64,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let done = on_backend!(tx, e => sqlx::query(
        "UPDATE users SET deletion_due_at = $1, account_enabled = FALSE, \
         token_version = token_version + 1, updated_at = $2 \
         WHERE id = $3 AND deletion_due_at IS NULL AND deleted_at IS NULL",
    )
    .bind(due_at)
    .bind(now)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Cancels a scheduled erasure and enables the account again; false when none was scheduled.
pub async fn cancel_deletion(tx: &mut Tx, user_id: i64, now: &str) -> Result<bool, sqlx::Error> {
    let done = on_backend!(tx, e => sqlx::query(
        "UPDATE users SET deletion_due_at = NULL, account_enabled = TRUE, updated_at = $1 \
         WHERE id = $2 AND deletion_due_at IS NOT NULL AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// When the account is due to be erased, if its deletion was asked for.
pub async fn deletion_due_at(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let due: Option<Option<i64>> = on_backend!(db, e => sqlx::query_scalar(
        "SELECT deletion_due_at FROM users WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(user_id)
    .fetch_optional(e)
    .await)?;
    Ok(due.flatten())
}

/// Accounts whose grace has run out, a few at a time.
pub async fn due_for_erasure(db: impl Into<Exec<'_>>, now: i64) -> Result<Vec<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "SELECT id FROM users WHERE deletion_due_at <= $1 AND deleted_at IS NULL \
         ORDER BY deletion_due_at LIMIT 100",
    )
    .bind(now)
    .fetch_all(e)
    .await)
}

/// The account row, deleted or not (an erasure reads it first).
pub async fn account_row(tx: &mut Tx, user_id: i64) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL");
    on_backend!(tx, e => sqlx::query_as(&sql).bind(user_id).fetch_optional(e).await)
}

/// Runs `sql` with the binds given, in the erasure's transaction.
async fn run(tx: &mut Tx, sql: &str, binds: &[&str]) -> Result<(), sqlx::Error> {
    on_backend!(tx, e => {
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.execute(e).await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Erases a person: every row that is theirs or names them goes, their queued mail with it;
/// the account row stays as a nameless tombstone (its id is the pseudonym the audit log keeps,
/// stripped of addresses, details and reasons), so the username, the address and the phone
/// number are free again. `tombstone` is the random name the row takes.
pub async fn erase(
    tx: &mut Tx,
    account: &AccountRow,
    tombstone: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    let id = account.id.to_string();
    let id = id.as_str();
    let email_key = account.email.to_lowercase();
    let phone = match (&account.phone_country_code, &account.phone_number) {
        (Some(code), Some(number)) => format!("+{code}{number}"),
        _ => String::new(),
    };
    // By the account's id. (Codes and refresh tokens go with their grants.)
    for table in [
        "sessions",
        "remembered_devices",
        "email_verifications",
        "reset_tokens",
        "passcodes",
        "totp_factors",
        "recovery_codes",
        "second_factor_challenges",
        "passkeys",
        "webauthn_ceremonies",
        "oidc_consents",
        "oidc_grants",
        "admin_tokens",
        "email_changes",
        "email_restores",
    ] {
        // The id travels as text and is compared as a number on both backends.
        let sql = format!("DELETE FROM {table} WHERE user_id = CAST($1 AS BIGINT)");
        run(tx, &sql, &[id]).await?;
    }
    run(
        tx,
        "UPDATE oidc_requests SET answered_by = NULL WHERE answered_by = CAST($1 AS BIGINT)",
        &[id],
    )
    .await?;
    // Throttles keyed by the id, and the ones keyed by what they were known by.
    for prefix in ["user:", "device:"] {
        let from = format!("{prefix}{id}:");
        let to = format!("{prefix}{id};");
        run(
            tx,
            "DELETE FROM login_throttle WHERE subject >= $1 AND subject < $2",
            &[&from, &to],
        )
        .await?;
    }
    for subject in [
        format!("devices:{id}"),
        format!("second-step:{id}"),
        format!("passcodes:{id}"),
        format!("name:{}", account.username.to_lowercase()),
        format!("name:{email_key}"),
        format!("passcodes:email:{email_key}"),
        format!("passcodes:sms:{phone}"),
    ] {
        run(
            tx,
            "DELETE FROM login_throttle WHERE subject = $1",
            &[&subject],
        )
        .await?;
    }
    // Mail to them, sent or queued, and the record of sends to their mailbox and number.
    for recipient in [account.email.as_str(), email_key.as_str(), phone.as_str()] {
        if !recipient.is_empty() {
            run(tx, "DELETE FROM outbox WHERE recipient = $1", &[recipient]).await?;
        }
    }
    for destination in [
        email_key.clone(),
        format!("verify:{email_key}"),
        phone.clone(),
        format!("confirm:{phone}"),
    ] {
        run(
            tx,
            "DELETE FROM send_log WHERE destination = $1",
            &[&destination],
        )
        .await?;
    }
    run(
        tx,
        "DELETE FROM passcodes WHERE destination = $1 OR destination = $2",
        &[&email_key, &phone],
    )
    .await?;
    let username_key = account.username.to_lowercase();
    run(
        tx,
        "DELETE FROM recovery_requests WHERE destination IN ($1, $2, $3)",
        &[&email_key, &username_key, &phone],
    )
    .await?;
    // The audit log keeps what happened and when, under the id alone.
    run(
        tx,
        "UPDATE audit_log SET client_addr = NULL, request_id = NULL, detail = NULL, reason = NULL, \
         before_state = NULL, after_state = NULL WHERE user_id = CAST($1 AS BIGINT)",
        &[id],
    )
    .await?;
    run(
        tx,
        "UPDATE users SET username = $1, email = '', email_key = $1, email_verified = FALSE, \
         phone_country_code = NULL, phone_number = NULL, phone_e164 = NULL, \
         phone_verified = FALSE, password_hash = '', plan = 'free', credits_micro = 0, \
         account_enabled = FALSE, admin = FALSE, oidc_subject = NULL, deletion_due_at = NULL, \
         preferred_language = 'en', updated_at = $2, deleted_at = $2 \
         WHERE id = CAST($3 AS BIGINT)",
        &[tombstone, now, id],
    )
    .await?;
    Ok(())
}
