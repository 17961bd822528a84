//! The `email_verifications` table.

use super::{on_backend, Exec};
pub async fn insert(
    db: impl Into<Exec<'_>>,
    token_digest: &str,
    user_id: i64,
    email_key: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO email_verifications (token_hash, user_id, email_key, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_digest)
    .bind(user_id)
    .bind(email_key)
    .bind(now)
    .bind(expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Uses up a link: it must be unused, unexpired, issued to the named account, and for the
/// address the account still has. Returns the account id when it was good. A link that fails
/// any check is left as it was.
pub async fn consume(
    db: impl Into<Exec<'_>>,
    token_digest: &str,
    username: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "UPDATE email_verifications SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
           AND user_id = (SELECT id FROM users WHERE username = $3 \
                            AND email_key = email_verifications.email_key \
                            AND deleted_at IS NULL) \
         RETURNING user_id",
    )
    .bind(now)
    .bind(token_digest)
    .bind(username)
    .fetch_optional(e)
    .await)
}
