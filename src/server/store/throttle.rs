//! The `login_throttle` table: attempts per login subject, and when the next one is admitted.

use super::{on_backend, Exec};
/// Counters after an attempt was admitted and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub attempts: i64,
    pub window_started: i64,
    pub attempts_in_window: i64,
}

/// Counts an attempt for `subject` unless it is locked at `now`. `None` means locked.
/// Run inside a write transaction together with [`lock_until`], so the count and the lock it
/// leads to are one step.
pub async fn count_attempt(
    tx: impl Into<Exec<'_>>,
    subject: &str,
    now: i64,
) -> Result<Option<Counted>, sqlx::Error> {
    let row: Option<(i64, i64, i64)> = on_backend!(tx, e => sqlx::query_as(
        // `t` names the row already there: PostgreSQL would find a bare column name ambiguous
        // between it and the row proposed (`excluded`).
        "INSERT INTO login_throttle AS t \
             (subject, attempts, locked_until, window_started, attempts_in_window, last_attempt_at) \
         VALUES ($1, 1, 0, $2, 1, $2) \
         ON CONFLICT (subject) DO UPDATE SET \
             attempts = t.attempts + 1, \
             attempts_in_window = CASE WHEN t.window_started <= $2 - 3600 THEN 1 \
                                       ELSE t.attempts_in_window + 1 END, \
             window_started = CASE WHEN t.window_started <= $2 - 3600 THEN $2 \
                                   ELSE t.window_started END, \
             last_attempt_at = $2 \
         WHERE t.locked_until <= $2 \
         RETURNING attempts, window_started, attempts_in_window",
    )
    .bind(subject)
    .bind(now)
    .fetch_optional(e)
    .await)?;
    Ok(
        row.map(|(attempts, window_started, attempts_in_window)| Counted {
            attempts,
            window_started,
            attempts_in_window,
        }),
    )
}

pub async fn locked_until(
    tx: impl Into<Exec<'_>>,
    subject: &str,
) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(tx, e => sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE subject = $1")
        .bind(subject)
        .fetch_optional(e)
        .await)
}

pub async fn lock_until(
    tx: impl Into<Exec<'_>>,
    subject: &str,
    until: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(tx, e => sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE subject = $2")
        .bind(until)
        .bind(subject)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Forgets a subject's attempts and lock (after a success, or a password reset).
pub async fn forget(db: impl Into<Exec<'_>>, subject: &str) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("DELETE FROM login_throttle WHERE subject = $1")
        .bind(subject)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Forgets every subject whose key starts with `prefix` (all of one account's identifiers and
/// devices, after a password reset). A range, so the primary key's index serves it.
pub async fn forget_prefix(db: impl Into<Exec<'_>>, prefix: &str) -> Result<(), sqlx::Error> {
    // Keys are ASCII up to the prefix's last character, `:`; the next character is `;`.
    let end = format!("{};", prefix.trim_end_matches(':'));
    on_backend!(db, e => sqlx::query("DELETE FROM login_throttle WHERE subject >= $1 AND subject < $2")
        .bind(prefix)
        .bind(&end)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Attempts counted for `subject` in its current one-hour window (0 when none, or when the
/// window has run out).
pub async fn attempts_this_hour(
    db: impl Into<Exec<'_>>,
    subject: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let counted: Option<i64> = on_backend!(db, e => sqlx::query_scalar(
        "SELECT attempts_in_window FROM login_throttle WHERE subject = $1 AND window_started > $2",
    )
    .bind(subject)
    .bind(now - 3600)
    .fetch_optional(e)
    .await)?;
    Ok(counted.unwrap_or(0))
}
