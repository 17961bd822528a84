//! The `secrets` table: generated secrets, one row each, never replaced.

use sqlx::SqliteExecutor;

pub async fn get<'e>(
    db: impl SqliteExecutor<'e>,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Stores `value` under `name` unless a value is there already (another process was first).
pub async fn insert_if_absent<'e>(
    db: impl SqliteExecutor<'e>,
    name: &str,
    value: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(value)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}
