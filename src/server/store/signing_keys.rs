//! The `signing_keys` table: the keys of session tokens.

use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, Clone, FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub secret: String,
    pub created_at: i64,
    pub signs_from: i64,
}

/// Every key, newest first.
pub async fn all<'e>(db: impl SqliteExecutor<'e>) -> Result<Vec<KeyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kid, secret, created_at, signs_from FROM signing_keys \
         ORDER BY signs_from DESC, kid DESC",
    )
    .fetch_all(db)
    .await
}

pub async fn insert<'e>(db: impl SqliteExecutor<'e>, key: &KeyRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, secret, created_at, signs_from) VALUES (?, ?, ?, ?) \
         ON CONFLICT (kid) DO NOTHING",
    )
    .bind(&key.kid)
    .bind(&key.secret)
    .bind(key.created_at)
    .bind(key.signs_from)
    .execute(db)
    .await?;
    Ok(())
}

/// Drops the keys that stopped signing before `before` (a newer key had started by then).
pub async fn drop_superseded<'e>(
    db: impl SqliteExecutor<'e>,
    before: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM signing_keys AS old WHERE EXISTS (SELECT 1 FROM signing_keys AS newer \
         WHERE newer.signs_from > old.signs_from AND newer.signs_from <= ?)",
    )
    .bind(before)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
