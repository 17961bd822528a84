//! The `users` table.

use sqlx::{FromRow, SqlitePool};

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

const ACCOUNT_COLUMNS: &str = "id, username, email, email_verified, phone_country_code, \
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
pub async fn insert(db: &SqlitePool, account: NewAccount<'_>) -> Result<AccountRow, InsertError> {
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

pub async fn find_by_id(db: &SqlitePool, id: i64) -> Result<Option<AccountRow>, sqlx::Error> {
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
