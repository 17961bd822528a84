//! The recovery tables: `passcodes`, `reset_tokens`, `send_log`.

use super::{on_backend, Exec};
use sqlx::FromRow;

/// Sends to `destination` over `channel` since `since`: how many, and the first and last time.
pub async fn sends_window(
    db: impl Into<Exec<'_>>,
    channel: &str,
    destination: &str,
    since: i64,
) -> Result<(i64, Option<i64>, Option<i64>), sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT COUNT(*), MIN(sent_at), MAX(sent_at) FROM send_log \
         WHERE channel = $1 AND destination = $2 AND sent_at > $3",
    )
    .bind(channel)
    .bind(destination)
    .bind(since)
    .fetch_one(e)
    .await)
}

pub async fn log_send(
    db: impl Into<Exec<'_>>,
    channel: &str,
    destination: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("INSERT INTO send_log (channel, destination, sent_at) VALUES ($1, $2, $3)")
        .bind(channel)
        .bind(destination)
        .bind(now)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

pub struct NewPasscode<'a> {
    pub channel: &'a str,
    pub destination: &'a str,
    pub purpose: &'a str,
    /// `None` for a decoy: a code stored for a destination without an account, so that step 2
    /// behaves for it exactly as for a real one.
    pub user_id: Option<i64>,
    pub code_mac: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// Stores a code, replacing any earlier one for the same destination and purpose.
pub async fn put_passcode(
    db: impl Into<Exec<'_>>,
    code: NewPasscode<'_>,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO passcodes \
         (channel, destination, purpose, user_id, code_mac, created_at, expires_at, failed_tries) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0) \
         ON CONFLICT (channel, destination, purpose) DO UPDATE SET \
             user_id = excluded.user_id, code_mac = excluded.code_mac, \
             created_at = excluded.created_at, expires_at = excluded.expires_at, failed_tries = 0",
    )
    .bind(code.channel)
    .bind(code.destination)
    .bind(code.purpose)
    .bind(code.user_id)
    .bind(code.code_mac)
    .bind(code.now)
    .bind(code.expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct StoredPasscode {
    /// `None` for a decoy.
    pub user_id: Option<i64>,
    pub code_mac: String,
    pub expires_at: i64,
    pub failed_tries: i64,
}

pub async fn find_passcode(
    db: impl Into<Exec<'_>>,
    channel: &str,
    destination: &str,
    purpose: &str,
) -> Result<Option<StoredPasscode>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT user_id, code_mac, expires_at, failed_tries FROM passcodes \
         WHERE channel = $1 AND destination = $2 AND purpose = $3",
    )
    .bind(channel)
    .bind(destination)
    .bind(purpose)
    .fetch_optional(e)
    .await)
}

/// Claims one of a code's five tries before the guess is compared, in one statement, so that
/// however many guesses arrive at once, no more than five are ever compared. `None` when
/// there is no code or its tries are spent.
pub async fn claim_try(
    db: impl Into<Exec<'_>>,
    channel: &str,
    destination: &str,
    purpose: &str,
    max_tries: i64,
) -> Result<Option<StoredPasscode>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "UPDATE passcodes SET failed_tries = failed_tries + 1 \
         WHERE channel = $1 AND destination = $2 AND purpose = $3 AND failed_tries < $4 \
         RETURNING user_id, code_mac, expires_at, failed_tries",
    )
    .bind(channel)
    .bind(destination)
    .bind(purpose)
    .bind(max_tries)
    .fetch_optional(e)
    .await)
}

/// Uses a code up (codes are single use).
pub async fn delete_passcode(
    db: impl Into<Exec<'_>>,
    channel: &str,
    destination: &str,
    purpose: &str,
) -> Result<bool, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query("DELETE FROM passcodes WHERE channel = $1 AND destination = $2 AND purpose = $3")
            .bind(channel)
            .bind(destination)
            .bind(purpose)
            .execute(e)
            .await
            .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

pub async fn delete_passcodes_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    purpose: &str,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("DELETE FROM passcodes WHERE user_id = $1 AND purpose = $2")
        .bind(user_id)
        .bind(purpose)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn insert_token(
    db: impl Into<Exec<'_>>,
    digest: &str,
    kind: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("INSERT INTO reset_tokens (token_hash, kind, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(digest)
        .bind(kind)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Uses up an unexpired, unused token of `kind`; returns its account.
pub async fn consume_token(
    db: impl Into<Exec<'_>>,
    digest: &str,
    kind: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "UPDATE reset_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id",
    )
    .bind(now)
    .bind(digest)
    .bind(kind)
    .fetch_optional(e)
    .await)
}

/// Ends the account's outstanding e-mailed reset links: a reset mail's passcode and link are
/// one grant, so using either ends the other.
pub async fn revoke_links_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE reset_tokens SET used_at = $1 WHERE user_id = $2 AND kind = 'link' AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The account of a live (unused, unexpired) reset token.
pub async fn live_reset_token(
    db: impl Into<Exec<'_>>,
    digest: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    live_token(db, digest, "reset", now).await
}

/// The account of an unused, unexpired token of `kind` (`link` or `reset`), without using it.
pub async fn live_token(
    db: impl Into<Exec<'_>>,
    digest: &str,
    kind: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "SELECT user_id FROM reset_tokens \
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(digest)
    .bind(kind)
    .bind(now)
    .fetch_optional(e)
    .await)
}

/// Counts a failed decryption of a sealed password sent with a reset token, and burns the
/// token when that makes `max` of them.
pub async fn count_failed_decryption(
    db: impl Into<Exec<'_>>,
    digest: &str,
    now: i64,
    max: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE reset_tokens SET failed_decryptions = failed_decryptions + 1, \
         used_at = CASE WHEN failed_decryptions + 1 >= $3 THEN $2 ELSE used_at END \
         WHERE token_hash = $1 AND kind = 'reset' AND used_at IS NULL",
    )
    .bind(digest)
    .bind(now)
    .bind(max)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Ends every outstanding link and reset token of an account.
pub async fn revoke_tokens_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("UPDATE reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// A recovery request answered and not yet turned into its message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRequest {
    pub id: i64,
    pub kind: String,
    pub destination: String,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

pub async fn insert_request(
    db: impl Into<Exec<'_>>,
    kind: &str,
    destination: &str,
    client_addr: Option<&str>,
    request_id: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "INSERT INTO recovery_requests (kind, destination, client_addr, request_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(kind)
    .bind(destination)
    .bind(client_addr)
    .bind(request_id)
    .bind(now)
    .fetch_one(e)
    .await)
}

/// Takes a request for processing: its row is deleted, so the transaction that commits this
/// is the only one that queues its message. `None` when another took it.
pub async fn take_request(
    db: impl Into<Exec<'_>>,
    id: i64,
) -> Result<Option<PendingRequest>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "DELETE FROM recovery_requests WHERE id = $1 \
         RETURNING id, kind, destination, client_addr, request_id",
    )
    .bind(id)
    .fetch_optional(e)
    .await)
}

/// Requests older than `before` (their own task did not get to them: a crash, a failover).
pub async fn stale_requests(db: impl Into<Exec<'_>>, before: i64) -> Result<Vec<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "SELECT id FROM recovery_requests WHERE created_at < $1 ORDER BY id LIMIT 100",
    )
    .bind(before)
    .fetch_all(e)
    .await)
}
