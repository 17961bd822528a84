//! The `client_limits` table: one GCRA cell per action and client address.

use super::{on_backend, Exec};

/// Spends one unit of the allowance under `key` at `now` (milliseconds): `interval` is the
/// time one unit takes to come back, `burst` × `interval` the most that may be owed at once.
/// One statement, so concurrent requests (from any process) never overspend. `None` when
/// refused.
pub async fn spend(
    db: impl Into<Exec<'_>>,
    key: &str,
    now: i64,
    interval: i64,
    burst: i64,
) -> Result<Option<i64>, sqlx::Error> {
    // The same statement in both dialects but for the two-argument maximum's name.
    macro_rules! spend_sql {
        ($max:literal) => {
            concat!(
                "INSERT INTO client_limits (key, tat) VALUES ($1, $2 + $3) \
                 ON CONFLICT (key) DO UPDATE SET tat = ",
                $max,
                "(client_limits.tat, $2) + $3 WHERE ",
                $max,
                "(client_limits.tat, $2) + $3 - $2 <= $4 * $3 RETURNING tat"
            )
        };
    }
    on_backend!(db,
        e => sqlx::query_scalar(spend_sql!("MAX"))
            .bind(key).bind(now).bind(interval).bind(burst)
            .fetch_optional(e).await,
        e => sqlx::query_scalar(spend_sql!("GREATEST"))
            .bind(key).bind(now).bind(interval).bind(burst)
            .fetch_optional(e).await)
}

/// The theoretical arrival time under `key`, if the key has a row.
pub async fn arrival_time(db: impl Into<Exec<'_>>, key: &str) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar("SELECT tat FROM client_limits WHERE key = $1")
        .bind(key)
        .fetch_optional(e)
        .await)
}
