//! The `secrets` table: generated secrets, one row each, never replaced.

use super::{on_backend, Exec};
pub async fn get(db: impl Into<Exec<'_>>, name: &str) -> Result<Option<String>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(e)
        .await)
}

/// Stores `value` under `name` unless a value is there already (another process was first).
pub async fn insert_if_absent(
    db: impl Into<Exec<'_>>,
    name: &str,
    value: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(value)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
