//! The `users` table.

use sqlx::{FromRow, SqliteExecutor, SqlitePool};

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
pub async fn insert<'e>(
    db: impl SqliteExecutor<'e>,
    account: NewAccount<'_>,
) -> Result<AccountRow, InsertError> {
    let sql = format!(
        "INSERT INTO users (username, email, email_key, password_hash, credits_micro, \
         preferred_language, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         RETURNING {ACCOUNT_COLUMNS}"
    );
    sqlx::query_as::<_, AccountRow>(&sql)
        .bind(account.username)
        .bind(account.email)
        .bind(account.email_key)
        .bind(account.password_hash)
        .bind(account.credits_micro)
        .bind(account.preferred_language)
        .bind(account.now)
        .bind(account.now)
        .fetch_one(db)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db_error) if db_error.is_unique_violation() => {
                if db_error.message().contains("users.username") {
                    InsertError::Conflict(Conflict::Username)
                } else if db_error.message().contains("users.email_key") {
                    InsertError::Conflict(Conflict::Email)
                } else {
                    InsertError::Database(e)
                }
            }
            _ => InsertError::Database(e),
        })
}

pub async fn find_by_id<'e>(
    db: impl SqliteExecutor<'e>,
    id: i64,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = ? AND deleted_at IS NULL");
    sqlx::query_as::<_, AccountRow>(&sql)
        .bind(id)
        .fetch_optional(db)
        .await
}

/// A live account and its password hash, by username (any case) or by lower-cased e-mail.
pub async fn find_credentials(
    db: &SqlitePool,
    username: Option<&str>,
    email_key: Option<&str>,
) -> Result<Option<(AccountRow, String)>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS}, password_hash FROM users \
         WHERE (username = ?1 OR email_key = ?2) AND deleted_at IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(username)
        .bind(email_key)
        .fetch_optional(db)
        .await?;
    match row {
        Some(row) => {
            use sqlx::Row;
            let hash: String = row.try_get("password_hash")?;
            Ok(Some((AccountRow::from_row(&row)?, hash)))
        }
        None => Ok(None),
    }
}

pub async fn count(db: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
}

pub async fn password_hash<'e>(
    db: impl SqliteExecutor<'e>,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ? AND deleted_at IS NULL")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Sets a new password hash and bumps `token_version`, which revokes every token issued
/// before. Only succeeds if the version is still `expected_version` (no concurrent change);
/// returns the new version.
pub async fn replace_password<'e>(
    db: impl SqliteExecutor<'e>,
    id: i64,
    expected_version: i64,
    new_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? \
         WHERE id = ? AND token_version = ? AND deleted_at IS NULL RETURNING token_version",
    )
    .bind(new_hash)
    .bind(super::now())
    .bind(id)
    .bind(expected_version)
    .fetch_optional(db)
    .await
}

pub async fn mark_email_verified<'e>(
    db: impl SqliteExecutor<'e>,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET email_verified = 1, updated_at = ? WHERE id = ?")
        .bind(super::now())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Free → paid, only for a free account with a verified address. True when it changed; the
/// condition in SQL makes concurrent attempts safe (exactly one wins).
pub async fn upgrade_to_paid<'e>(
    db: impl SqliteExecutor<'e>,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET plan = 'paid', updated_at = ? \
         WHERE id = ? AND plan = 'free' AND email_verified = 1 AND deleted_at IS NULL",
    )
    .bind(super::now())
    .bind(id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Adds `delta_micro` (negative to deduct) in one SQL statement, so concurrent changes never
/// lose each other; refuses to go below zero or above 10^12 credits (far from i64 overflow,
/// which SQLite would turn into floating point). Returns the account id and new balance, or
/// `None` when there is no such account or the balance would go negative.
pub async fn adjust_credits<'e>(
    db: impl SqliteExecutor<'e>,
    username: &str,
    delta_micro: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE users SET credits_micro = credits_micro + ?1, updated_at = ?2 \
         WHERE username = ?3 AND deleted_at IS NULL AND credits_micro + ?1 >= 0 \
         RETURNING id, credits_micro",
    )
    .bind(delta_micro)
    .bind(super::now())
    .bind(username)
    .fetch_optional(db)
    .await
}

pub async fn find_by_username<'e>(
    db: impl SqliteExecutor<'e>,
    username: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql =
        format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = ? AND deleted_at IS NULL");
    sqlx::query_as::<_, AccountRow>(&sql)
        .bind(username)
        .fetch_optional(db)
        .await
}

pub async fn find_by_email_key<'e>(
    db: impl SqliteExecutor<'e>,
    email_key: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql =
        format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE email_key = ? AND deleted_at IS NULL");
    sqlx::query_as::<_, AccountRow>(&sql)
        .bind(email_key)
        .fetch_optional(db)
        .await
}

pub async fn find_by_phone<'e>(
    db: impl SqliteExecutor<'e>,
    e164: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql =
        format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE phone_e164 = ? AND deleted_at IS NULL");
    sqlx::query_as::<_, AccountRow>(&sql)
        .bind(e164)
        .fetch_optional(db)
        .await
}

/// Sets a new password after a reset and revokes every token (the version moves on).
pub async fn reset_password<'e>(
    db: impl SqliteExecutor<'e>,
    id: i64,
    new_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? \
         WHERE id = ? AND deleted_at IS NULL RETURNING token_version",
    )
    .bind(new_hash)
    .bind(super::now())
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Records a phone number, unconfirmed. Only confirmed numbers are unique (`phone_e164` is
/// filled by [`confirm_phone`]), so this cannot collide with another account.
pub async fn set_phone<'e>(
    db: impl SqliteExecutor<'e>,
    id: i64,
    country_code: &str,
    number: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET phone_country_code = ?, phone_number = ?, phone_e164 = NULL, \
         phone_verified = 0, updated_at = ? WHERE id = ?",
    )
    .bind(country_code)
    .bind(number)
    .bind(super::now())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Confirms `e164` as the account's number. Possession was just proven with a texted code, so a
/// number still confirmed on another account (a recycled number, say) moves here; that
/// account's id is returned so the move can be audited. `Ok(None)` with `confirmed == false`
/// when the account no longer holds `e164` as its pending number.
pub async fn confirm_phone(
    tx: &mut sqlx::SqliteConnection,
    id: i64,
    e164: &str,
) -> Result<PhoneConfirmation, sqlx::Error> {
    let previous: Option<i64> = sqlx::query_scalar(
        "UPDATE users SET phone_country_code = NULL, phone_number = NULL, phone_e164 = NULL, \
         phone_verified = 0, updated_at = ?1 WHERE phone_e164 = ?2 AND id <> ?3 RETURNING id",
    )
    .bind(super::now())
    .bind(e164)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let done = sqlx::query(
        "UPDATE users SET phone_e164 = ?1, phone_verified = 1, updated_at = ?2 \
         WHERE id = ?3 AND '+' || phone_country_code || phone_number = ?1",
    )
    .bind(e164)
    .bind(super::now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(PhoneConfirmation {
        confirmed: done.rows_affected() == 1,
        taken_from: previous,
    })
}

pub struct PhoneConfirmation {
    pub confirmed: bool,
    /// The account the number was confirmed on before, if any.
    pub taken_from: Option<i64>,
}

/// Takes any phone number, confirmed or not, off the account. True when there was one.
pub async fn remove_phone<'e>(db: impl SqliteExecutor<'e>, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET phone_country_code = NULL, phone_number = NULL, phone_e164 = NULL, \
         phone_verified = 0, updated_at = ? WHERE id = ? AND phone_number IS NOT NULL",
    )
    .bind(super::now())
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
