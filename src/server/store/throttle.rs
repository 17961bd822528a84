//! The `login_throttle` table: attempts per login subject, and when the next one is admitted.

use sqlx::SqliteConnection;

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
    tx: &mut SqliteConnection,
    subject: &str,
    now: i64,
) -> Result<Option<Counted>, sqlx::Error> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "INSERT INTO login_throttle \
             (subject, attempts, locked_until, window_started, attempts_in_window, last_attempt_at) \
         VALUES (?1, 1, 0, ?2, 1, ?2) \
         ON CONFLICT (subject) DO UPDATE SET \
             attempts = attempts + 1, \
             attempts_in_window = CASE WHEN window_started <= ?2 - 3600 THEN 1 \
                                       ELSE attempts_in_window + 1 END, \
             window_started = CASE WHEN window_started <= ?2 - 3600 THEN ?2 \
                                   ELSE window_started END, \
             last_attempt_at = ?2 \
         WHERE locked_until <= ?2 \
         RETURNING attempts, window_started, attempts_in_window",
    )
    .bind(subject)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(
        row.map(|(attempts, window_started, attempts_in_window)| Counted {
            attempts,
            window_started,
            attempts_in_window,
        }),
    )
}

pub async fn locked_until(
    tx: &mut SqliteConnection,
    subject: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE subject = ?")
        .bind(subject)
        .fetch_optional(&mut *tx)
        .await
}

pub async fn lock_until(
    tx: &mut SqliteConnection,
    subject: &str,
    until: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE login_throttle SET locked_until = ? WHERE subject = ?")
        .bind(until)
        .bind(subject)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Forgets a subject's attempts and lock (after a success, or a password reset).
pub async fn forget<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE subject = ?")
        .bind(subject)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets every subject whose key starts with `prefix` (all of one account's identifiers and
/// devices, after a password reset). A range, so the primary key's index serves it.
pub async fn forget_prefix<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    prefix: &str,
) -> Result<(), sqlx::Error> {
    // Keys are ASCII up to the prefix's last character, `:`; the next character is `;`.
    let end = format!("{};", prefix.trim_end_matches(':'));
    sqlx::query("DELETE FROM login_throttle WHERE subject >= ? AND subject < ?")
        .bind(prefix)
        .bind(end)
        .execute(db)
        .await?;
    Ok(())
}

/// Attempts counted for `subject` in its current one-hour window (0 when none, or when the
/// window has run out).
pub async fn attempts_this_hour<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    subject: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let counted: Option<i64> = sqlx::query_scalar(
        "SELECT attempts_in_window FROM login_throttle WHERE subject = ? AND window_started > ?",
    )
    .bind(subject)
    .bind(now - 3600)
    .fetch_optional(db)
    .await?;
    Ok(counted.unwrap_or(0))
}
