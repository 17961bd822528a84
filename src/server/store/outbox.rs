//! The `outbox` table: messages waiting for delivery, and their delivery history.

use crate::server::delivery::messages::Email;
use sqlx::{FromRow, SqliteExecutor, SqlitePool};

#[derive(Debug, Clone, FromRow)]
pub struct QueuedMessage {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub attempts: i64,
    /// RFC 3339, when it was queued: with `id`, what makes its Message-ID.
    pub created_at: String,
}

/// Queues an e-mail. Pass the transaction of the change that causes it, so the change and its
/// message are committed together or not at all.
pub async fn enqueue_email<'e>(
    db: impl SqliteExecutor<'e>,
    email: &Email,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, subject, body_text, body_html, created_at, next_attempt_at) \
         VALUES ('email', ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&email.to)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(super::now())
    .bind(super::unix_now())
    .fetch_one(db)
    .await
}

/// Queues a text message, like [`enqueue_email`].
pub async fn enqueue_sms<'e>(
    db: impl SqliteExecutor<'e>,
    to: &str,
    body: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, body_text, created_at, next_attempt_at) \
         VALUES ('sms', ?, ?, ?, ?) RETURNING id",
    )
    .bind(to)
    .bind(body)
    .bind(super::now())
    .bind(super::unix_now())
    .fetch_one(db)
    .await
}

/// Claims up to `limit` unsent messages whose time has come and that nobody else holds, oldest
/// first, until `now + lease`. One write transaction: of two workers asking at once, each
/// message goes to exactly one. A claim that runs out (its worker died) frees the message.
pub async fn claim_due(
    db: &SqlitePool,
    now: i64,
    lease: i64,
    limit: i64,
) -> Result<Vec<QueuedMessage>, sqlx::Error> {
    let mut tx = super::begin_write(db).await?;
    let mut claimed: Vec<QueuedMessage> = sqlx::query_as(
        "UPDATE outbox SET claimed_until = ?1 + ?2 WHERE id IN \
             (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= ?1 \
              AND claimed_until <= ?1 ORDER BY id LIMIT ?3) \
         RETURNING id, channel, recipient, subject, body_text, body_html, attempts, created_at",
    )
    .bind(now)
    .bind(lease)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    // RETURNING gives no order; send oldest first.
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

/// When the next unsent message can be claimed, if any is waiting: its retry time, or the end
/// of another worker's claim on it.
pub async fn next_due_at(db: &SqlitePool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(MAX(next_attempt_at, claimed_until)) FROM outbox WHERE sent_at IS NULL",
    )
    .fetch_one(db)
    .await
}

/// Records delivery and blanks the body: messages carry passcodes and link tokens, which must
/// not outlive their delivery in the database (they are stored elsewhere only as hashes).
pub async fn mark_sent(db: &SqlitePool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL, \
         body_text = '', body_html = NULL, claimed_until = 0 WHERE id = ?",
    )
    .bind(super::now())
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_failed(
    db: &SqlitePool,
    id: i64,
    retry_at: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, \
         claimed_until = 0 WHERE id = ?",
    )
    .bind(retry_at)
    .bind(error)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}
