//! The `users` table.

use super::{on_backend, Exec};
use sqlx::FromRow;

/// An account as the services see it. The password hash is fetched separately
/// ([`find_credentials`]) so that this type can be handed around without carrying it.
#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub phone_country_code: Option<String>,
    pub phone_number: Option<String>,
    pub phone_verified: bool,
    pub plan: String,
    pub credits_micro: i64,
    pub account_enabled: bool,
    pub admin: bool,
    pub token_version: i64,
    pub preferred_language: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl AccountRow {
    /// The row as `rusqlite` reads it, by the names of [`ACCOUNT_COLUMNS`] (the per-request
    /// reads of `store::reads`).
    pub(super) fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
        Ok(AccountRow {
            id: row.get("id")?,
            username: row.get("username")?,
            email: row.get("email")?,
            email_verified: row.get("email_verified")?,
            phone_country_code: row.get("phone_country_code")?,
            phone_number: row.get("phone_number")?,
            phone_verified: row.get("phone_verified")?,
            plan: row.get("plan")?,
            credits_micro: row.get("credits_micro")?,
            account_enabled: row.get("account_enabled")?,
            admin: row.get("admin")?,
            token_version: row.get("token_version")?,
            preferred_language: row.get("preferred_language")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            deleted_at: row.get("deleted_at")?,
        })
    }
}

pub(super) const ACCOUNT_COLUMNS: &str =
    "id, username, email, email_verified, phone_country_code, \
     phone_number, phone_verified, plan, credits_micro, account_enabled, admin, token_version, \
     preferred_language, created_at, updated_at, deleted_at";

pub struct NewAccount<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub password_hash: &'a str,
    pub credits_micro: i64,
    pub preferred_language: &'a str,
    pub now: &'a str,
}

/// Which unique column an insert collided with.
#[derive(Debug, PartialEq, Eq)]
pub enum Conflict {
    Username,
    Email,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("{0:?} already taken")]
    Conflict(Conflict),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Inserts an account. The UNIQUE constraints decide races: of two concurrent sign-ups with
/// one name exactly one succeeds, whatever the timing.
pub async fn insert(
    db: impl Into<Exec<'_>>,
    account: NewAccount<'_>,
) -> Result<AccountRow, InsertError> {
    let sql = format!(
        "INSERT INTO users (username, email, email_key, password_hash, credits_micro, \
         preferred_language, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING {ACCOUNT_COLUMNS}"
    );
    on_backend!(db, e => sqlx::query_as::<_, AccountRow>(&sql)
        .bind(account.username)
        .bind(account.email)
        .bind(account.email_key)
        .bind(account.password_hash)
        .bind(account.credits_micro)
        .bind(account.preferred_language)
        .bind(account.now)
        .bind(account.now)
        .fetch_one(e)
        .await)
    .map_err(|e| match super::unique_violation(&e).as_deref() {
        Some("users_username") => InsertError::Conflict(Conflict::Username),
        Some("users_email_key") => InsertError::Conflict(Conflict::Email),
        _ => InsertError::Database(e),
    })
}

pub async fn find_by_id(
    db: impl Into<Exec<'_>>,
    id: i64,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL");
    on_backend!(db, e => sqlx::query_as::<_, AccountRow>(&sql)
        .bind(id)
        .fetch_optional(e)
        .await)
}

/// A live account and its password hash, by username (any case) or by lower-cased e-mail.
pub async fn find_credentials(
    db: impl Into<Exec<'_>>,
    username: Option<&str>,
    email_key: Option<&str>,
) -> Result<Option<(AccountRow, String)>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS}, password_hash FROM users \
         WHERE (username = $1 OR email_key = $2) AND deleted_at IS NULL"
    );
    #[derive(FromRow)]
    struct WithHash {
        #[sqlx(flatten)]
        account: AccountRow,
        password_hash: String,
    }
    let row: Option<WithHash> = on_backend!(db, e => sqlx::query_as(&sql)
        .bind(username)
        .bind(email_key)
        .fetch_optional(e)
        .await)?;
    Ok(row.map(|row| (row.account, row.password_hash)))
}

pub async fn count(db: impl Into<Exec<'_>>) -> Result<i64, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(e)
        .await)
}

pub async fn password_hash(
    db: impl Into<Exec<'_>>,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .fetch_optional(e)
        .await)
}

/// Sets a new password hash and bumps `token_version`, which revokes every token issued
/// before. Only succeeds if the version is still `expected_version` (no concurrent change);
/// returns the new version.
pub async fn replace_password(
    db: impl Into<Exec<'_>>,
    id: i64,
    expected_version: i64,
    new_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "UPDATE users SET password_hash = $1, token_version = token_version + 1, updated_at = $2 \
         WHERE id = $3 AND token_version = $4 AND deleted_at IS NULL RETURNING token_version",
    )
    .bind(new_hash)
    .bind(super::now())
    .bind(id)
    .bind(expected_version)
    .fetch_optional(e)
    .await)
}

pub async fn mark_email_verified(db: impl Into<Exec<'_>>, id: i64) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("UPDATE users SET email_verified = TRUE, updated_at = $1 WHERE id = $2")
        .bind(super::now())
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The language the account's mails (and, in a browser without a choice of its own, its
/// pages) come in.
pub async fn set_language(db: impl Into<Exec<'_>>, id: i64, tag: &str) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE users SET preferred_language = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(tag)
    .bind(super::now())
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Free → paid, only for a free account with a verified address. True when it changed; the
/// condition in SQL makes concurrent attempts safe (exactly one wins).
pub async fn upgrade_to_paid(db: impl Into<Exec<'_>>, id: i64) -> Result<bool, sqlx::Error> {
    let result = on_backend!(db, e => sqlx::query(
        "UPDATE users SET plan = 'paid', updated_at = $1 \
         WHERE id = $2 AND plan = 'free' AND email_verified = TRUE AND deleted_at IS NULL",
    )
    .bind(super::now())
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(result == 1)
}

/// Adds `delta_micro` (negative to deduct) in one SQL statement, so concurrent changes never
/// lose each other; refuses to go below zero or above 10^12 credits (far from i64 overflow,
/// which SQLite would turn into floating point). Returns the account id and new balance, or
/// `None` when there is no such account or the balance would go negative.
pub async fn adjust_credits(
    db: impl Into<Exec<'_>>,
    username: &str,
    delta_micro: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "UPDATE users SET credits_micro = credits_micro + $1, updated_at = $2 \
         WHERE username = $3 AND deleted_at IS NULL AND credits_micro + $1 >= 0 \
         RETURNING id, credits_micro",
    )
    .bind(delta_micro)
    .bind(super::now())
    .bind(username)
    .fetch_optional(e)
    .await)
}

pub async fn find_by_username(
    db: impl Into<Exec<'_>>,
    username: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    find_live_where(db, "username", username).await
}

pub async fn find_by_email_key(
    db: impl Into<Exec<'_>>,
    email_key: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    find_live_where(db, "email_key", email_key).await
}

pub async fn find_by_phone(
    db: impl Into<Exec<'_>>,
    e164: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    find_live_where(db, "phone_e164", e164).await
}

/// The account that is not deleted and has `value` in the unique `column` (one of ours, never
/// input: it is spliced into the SQL).
async fn find_live_where(
    db: impl Into<Exec<'_>>,
    column: &'static str,
    value: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql =
        format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE {column} = $1 AND deleted_at IS NULL");
    on_backend!(db, e => sqlx::query_as::<_, AccountRow>(&sql)
        .bind(value)
        .fetch_optional(e)
        .await)
}

/// Sets a new password after a reset and revokes every token (the version moves on).
pub async fn reset_password(
    db: impl Into<Exec<'_>>,
    id: i64,
    new_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "UPDATE users SET password_hash = $1, token_version = token_version + 1, updated_at = $2 \
         WHERE id = $3 AND deleted_at IS NULL RETURNING token_version",
    )
    .bind(new_hash)
    .bind(super::now())
    .bind(id)
    .fetch_optional(e)
    .await)
}

/// Records a phone number, unconfirmed. Only confirmed numbers are unique (`phone_e164` is
/// filled by [`confirm_phone`]), so this cannot collide with another account.
pub async fn set_phone(
    db: impl Into<Exec<'_>>,
    id: i64,
    country_code: &str,
    number: &str,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE users SET phone_country_code = $1, phone_number = $2, phone_e164 = NULL, \
         phone_verified = FALSE, updated_at = $3 WHERE id = $4",
    )
    .bind(country_code)
    .bind(number)
    .bind(super::now())
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Confirms `e164` as the account's number. Possession was just proven with a texted code, so a
/// number still confirmed on another account (a recycled number, say) moves here; that
/// account's id is returned so the move can be audited. `Ok(None)` with `confirmed == false`
/// when the account no longer holds `e164` as its pending number.
pub async fn confirm_phone(
    tx: &mut super::Tx,
    id: i64,
    e164: &str,
) -> Result<PhoneConfirmation, sqlx::Error> {
    let previous: Option<i64> = on_backend!(&mut *tx, e => sqlx::query_scalar(
        "UPDATE users SET phone_country_code = NULL, phone_number = NULL, phone_e164 = NULL, \
         phone_verified = FALSE, updated_at = $1 WHERE phone_e164 = $2 AND id <> $3 RETURNING id",
    )
    .bind(super::now())
    .bind(e164)
    .bind(id)
    .fetch_optional(e)
    .await)?;
    let done = on_backend!(tx, e => sqlx::query(
        "UPDATE users SET phone_e164 = $1, phone_verified = TRUE, updated_at = $2 \
         WHERE id = $3 AND '+' || phone_country_code || phone_number = $1",
    )
    .bind(e164)
    .bind(super::now())
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(PhoneConfirmation {
        confirmed: done == 1,
        taken_from: previous,
    })
}

pub struct PhoneConfirmation {
    pub confirmed: bool,
    /// The account the number was confirmed on before, if any.
    pub taken_from: Option<i64>,
}

/// Takes any phone number, confirmed or not, off the account. True when there was one.
pub async fn remove_phone(db: impl Into<Exec<'_>>, id: i64) -> Result<bool, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query(
        "UPDATE users SET phone_country_code = NULL, phone_number = NULL, phone_e164 = NULL, \
         phone_verified = FALSE, updated_at = $1 WHERE id = $2 AND phone_number IS NOT NULL",
    )
    .bind(super::now())
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}
