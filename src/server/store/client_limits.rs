//! The `client_limits` table: one GCRA cell per action and client address.

use sqlx::SqliteExecutor;

/// Spends one unit of the allowance under `key` at `now` (milliseconds): `interval` is the
/// time one unit takes to come back, `burst` × `interval` the most that may be owed at once.
/// One statement, so concurrent requests (from any process) never overspend. `None` when
/// refused.
pub async fn spend<'e>(
    db: impl SqliteExecutor<'e>,
    key: &str,
    now: i64,
    interval: i64,
    burst: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO client_limits (key, tat) VALUES (?1, ?2 + ?3) \
         ON CONFLICT (key) DO UPDATE SET tat = MAX(tat, ?2) + ?3 \
         WHERE MAX(tat, ?2) + ?3 - ?2 <= ?4 * ?3 \
         RETURNING tat",
    )
    .bind(key)
    .bind(now)
    .bind(interval)
    .bind(burst)
    .fetch_optional(db)
    .await
}

/// The theoretical arrival time under `key`, if the key has a row.
pub async fn arrival_time<'e>(
    db: impl SqliteExecutor<'e>,
    key: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT tat FROM client_limits WHERE key = ?")
        .bind(key)
        .fetch_optional(db)
        .await
}
