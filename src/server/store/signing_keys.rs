//! The `signing_keys` table: the keys of session tokens.

use super::{on_backend, Exec};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub secret: String,
    pub created_at: i64,
    pub signs_from: i64,
}

/// Every key, newest first.
pub async fn all(db: impl Into<Exec<'_>>) -> Result<Vec<KeyRow>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT kid, secret, created_at, signs_from FROM signing_keys \
         ORDER BY signs_from DESC, kid DESC",
    )
    .fetch_all(e)
    .await)
}

pub async fn insert(db: impl Into<Exec<'_>>, key: &KeyRow) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO signing_keys (kid, secret, created_at, signs_from) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kid) DO NOTHING",
    )
    .bind(&key.kid)
    .bind(&key.secret)
    .bind(key.created_at)
    .bind(key.signs_from)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Drops the keys that stopped signing before `before` (a newer key had started by then).
pub async fn drop_superseded(db: impl Into<Exec<'_>>, before: i64) -> Result<u64, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query(
        "DELETE FROM signing_keys AS old WHERE EXISTS (SELECT 1 FROM signing_keys AS newer \
         WHERE newer.signs_from > old.signs_from AND newer.signs_from <= $1)",
    )
    .bind(before)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done)
}
