//! The `remembered_devices` table: the browsers whose device cookies an account honours
//! (`services::devices`).

use super::{on_backend, Exec};

/// Remembers a device's nonce and forgets all but the newest `keep` of the account's.
pub async fn remember(
    tx: &mut super::Tx,
    user_id: i64,
    nonce: &str,
    now: i64,
    keep: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(&mut *tx, e => sqlx::query(
        "INSERT INTO remembered_devices (user_id, nonce, created_at) VALUES ($1, $2, $3)",
    )
    .bind(user_id)
    .bind(nonce)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    on_backend!(&mut *tx, e => sqlx::query(
        "DELETE FROM remembered_devices WHERE user_id = $1 AND nonce NOT IN \
         (SELECT nonce FROM remembered_devices WHERE user_id = $1 \
          ORDER BY created_at DESC, nonce DESC LIMIT $2)",
    )
    .bind(user_id)
    .bind(keep)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Whether the account still honours the device with this nonce.
pub async fn is_remembered(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    nonce: &str,
) -> Result<bool, sqlx::Error> {
    // COUNT(*) is a 64-bit integer on both backends (a bare `SELECT 1` is 32-bit on PostgreSQL).
    let found: i64 = on_backend!(db, e => sqlx::query_scalar(
        "SELECT COUNT(*) FROM remembered_devices WHERE user_id = $1 AND nonce = $2",
    )
    .bind(user_id)
    .bind(nonce)
    .fetch_one(e)
    .await)?;
    Ok(found > 0)
}

/// Forgets every device of the account.
pub async fn forget_all_of(db: impl Into<Exec<'_>>, user_id: i64) -> Result<u64, sqlx::Error> {
    on_backend!(db, e => sqlx::query("DELETE FROM remembered_devices WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))
}
