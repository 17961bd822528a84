//! The `outbox` table: messages waiting for delivery, and their delivery history.

use super::{on_backend, write_tx, Db, Exec};
use crate::server::delivery::messages::Email;
use sqlx::FromRow;

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
pub async fn enqueue_email(db: impl Into<Exec<'_>>, email: &Email) -> Result<i64, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, subject, body_text, body_html, created_at, next_attempt_at) \
         VALUES ('email', $1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&email.to)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(super::now())
    .bind(super::unix_now())
    .fetch_one(e)
    .await)
}

/// Queues a text message, like [`enqueue_email`].
pub async fn enqueue_sms(
    db: impl Into<Exec<'_>>,
    to: &str,
    body: &str,
) -> Result<i64, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, body_text, created_at, next_attempt_at) \
         VALUES ('sms', $1, $2, $3, $4) RETURNING id",
    )
    .bind(to)
    .bind(body)
    .bind(super::now())
    .bind(super::unix_now())
    .fetch_one(e)
    .await)
}

/// Queues a back-channel logout for an app: `notice` is the logout token's claims as JSON,
/// signed when it is sent (so a retried one is fresh).
pub async fn enqueue_backchannel_logout(
    db: impl Into<Exec<'_>>,
    uri: &str,
    notice: &str,
) -> Result<i64, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, body_text, created_at, next_attempt_at) \
         VALUES ('backchannel_logout', $1, $2, $3, $4) RETURNING id",
    )
    .bind(uri)
    .bind(notice)
    .bind(super::now())
    .bind(super::unix_now())
    .fetch_one(e)
    .await)
}

/// Claims up to `limit` unsent messages whose time has come and that nobody else holds, oldest
/// first, until `now + lease`. One write transaction: of two workers asking at once, each
/// message goes to exactly one. A claim that runs out (its worker died) frees the message.
pub async fn claim_due(
    db: &Db,
    now: i64,
    lease: i64,
    limit: i64,
) -> Result<Vec<QueuedMessage>, sqlx::Error> {
    // On PostgreSQL, `SKIP LOCKED` lets concurrent claimers pass over each other's rows
    // instead of queueing behind them; SQLite has one writer at a time anyway.
    macro_rules! claim_sql {
        ($lock:literal) => {
            concat!(
                "UPDATE outbox SET claimed_until = $1 + $2 WHERE id IN \
                 (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
                  AND claimed_until <= $1 ORDER BY id LIMIT $3",
                $lock,
                ") RETURNING id, channel, recipient, subject, body_text, body_html, attempts, \
                 created_at"
            )
        };
    }
    let mut claimed: Vec<QueuedMessage> = write_tx!(db, |tx| -> sqlx::Error {
        on_backend!(tx,
            e => sqlx::query_as(claim_sql!(""))
                .bind(now).bind(lease).bind(limit)
                .fetch_all(e).await,
            e => sqlx::query_as(claim_sql!(" FOR UPDATE SKIP LOCKED"))
                .bind(now).bind(lease).bind(limit)
                .fetch_all(e).await)
    })?;
    // RETURNING gives no order; send oldest first.
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

/// When the next unsent message can be claimed, if any is waiting: its retry time, or the end
/// of another worker's claim on it.
pub async fn next_due_at(db: impl Into<Exec<'_>>) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db,
        e => sqlx::query_scalar(
            "SELECT MIN(MAX(next_attempt_at, claimed_until)) FROM outbox WHERE sent_at IS NULL",
        )
        .fetch_one(e)
        .await,
        e => sqlx::query_scalar(
            "SELECT MIN(GREATEST(next_attempt_at, claimed_until)) FROM outbox \
             WHERE sent_at IS NULL",
        )
        .fetch_one(e)
        .await)
}

/// Records delivery and blanks the body: messages carry passcodes and link tokens, which must
/// not outlive their delivery in the database (they are stored elsewhere only as hashes).
pub async fn mark_sent(db: impl Into<Exec<'_>>, id: i64) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL, \
         body_text = '', body_html = NULL, claimed_until = 0 WHERE id = $2",
    )
    .bind(super::now())
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn mark_failed(
    db: impl Into<Exec<'_>>,
    id: i64,
    retry_at: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, \
         claimed_until = 0 WHERE id = $3",
    )
    .bind(retry_at)
    .bind(error)
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The channel on which PostgreSQL nodes tell each other that mail was queued.
const QUEUED_CHANNEL: &str = "latchkey_outbox";

/// Tells every listening node (PostgreSQL only) that a message was queued.
pub async fn announce(db: &Db) -> Result<(), sqlx::Error> {
    match db {
        Db::Sqlite(_) => Ok(()),
        Db::Postgres(pool) => sqlx::query("SELECT pg_notify($1, '')")
            .bind(QUEUED_CHANNEL)
            .execute(pool)
            .await
            .map(|_| ()),
    }
}

/// Calls `woken` whenever any node announces queued mail, for as long as the server runs
/// (PostgreSQL only; on SQLite it returns at once). A lost connection is re-opened by sqlx's
/// listener; what was announced meanwhile is found by the worker's poll.
pub async fn listen(db: &Db, woken: impl Fn()) -> Result<(), sqlx::Error> {
    let Db::Postgres(pool) = db else {
        return Ok(());
    };
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(QUEUED_CHANNEL).await?;
    loop {
        listener.recv().await?;
        woken();
    }
}
