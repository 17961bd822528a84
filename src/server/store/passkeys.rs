//! The `passkeys` table (an account's WebAuthn credentials) and `webauthn_ceremonies` (a
//! registration or sign-in between its start and its finish, on whichever node).

use super::{on_backend, Exec};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub credential_id: String,
    pub user_id: i64,
    pub name: String,
    /// The verifier's record (`webauthn_rs::prelude::Passkey`) as JSON.
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "credential_id, user_id, name, passkey, created_at, last_used_at";

pub async fn of_user(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<Vec<PasskeyRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, name");
    on_backend!(db, e => sqlx::query_as(&sql).bind(user_id).fetch_all(e).await)
}

pub async fn by_credential(
    db: impl Into<Exec<'_>>,
    credential_id: &str,
) -> Result<Option<PasskeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1");
    on_backend!(db, e => sqlx::query_as(&sql).bind(credential_id).fetch_optional(e).await)
}

pub async fn count_of(db: impl Into<Exec<'_>>, user_id: i64) -> Result<i64, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(e)
        .await)
}

/// Adds a passkey; `false` when the credential is registered already (to any account).
pub async fn insert(
    db: impl Into<Exec<'_>>,
    credential_id: &str,
    user_id: i64,
    name: &str,
    passkey: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let added = on_backend!(db, e => sqlx::query(
        "INSERT INTO passkeys (credential_id, user_id, name, passkey, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(credential_id)
    .bind(user_id)
    .bind(name)
    .bind(passkey)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(added == 1)
}

/// Stores the record after a use (its signature counter moves on).
pub async fn record_use(
    db: impl Into<Exec<'_>>,
    credential_id: &str,
    passkey: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE credential_id = $3",
    )
    .bind(passkey)
    .bind(now)
    .bind(credential_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Removes one of the account's passkeys; `false` when it has no such passkey.
pub async fn remove(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    credential_id: &str,
) -> Result<bool, sqlx::Error> {
    let removed = on_backend!(db, e => sqlx::query(
        "DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2",
    )
    .bind(user_id)
    .bind(credential_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(removed == 1)
}

pub async fn insert_ceremony(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    user_id: Option<i64>,
    purpose: &str,
    state: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO webauthn_ceremonies (token_hash, user_id, purpose, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose)
    .bind(state)
    .bind(expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Ends the account's ceremonies of `purpose` under way: a new one replaces them.
pub async fn forget_ceremonies_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    purpose: &str,
) -> Result<u64, sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "DELETE FROM webauthn_ceremonies WHERE user_id = $1 AND purpose = $2",
    )
    .bind(user_id)
    .bind(purpose)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))
}

/// Takes a live ceremony of `purpose` (it is deleted: a ceremony finishes once): its account,
/// if it has one, and its state.
pub async fn take_ceremony(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<(Option<i64>, String)>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "DELETE FROM webauthn_ceremonies \
         WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
         RETURNING user_id, state",
    )
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(e)
    .await)
}
