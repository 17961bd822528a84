//! The second-factor tables: `totp_factors` (an account's authenticator secret, sealed),
//! `recovery_codes` (as HMACs) and `second_factor_challenges` (sign-ins waiting for a code).

use super::reads::{ReadConnections, ReadError};
use super::{on_backend, Exec, Tx};

/// An account's authenticator app, confirmed or still waiting for its first code.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub secret_sealed: String,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
    /// The session that began a waiting enrolment: the only one that may see and confirm it.
    pub pending_session: Option<String>,
}

pub async fn totp_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<Option<TotpRow>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT secret_sealed, confirmed_at, last_step, pending_session FROM totp_factors \
         WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(e)
    .await)
}

/// Stores a new, unconfirmed secret for the account, begun by `session_id`, replacing an
/// unconfirmed one before it. A confirmed secret is left alone: `false` then.
pub async fn put_pending_totp(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    secret_sealed: &str,
    session_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = on_backend!(db, e => sqlx::query(
        "INSERT INTO totp_factors AS t (user_id, secret_sealed, created_at, pending_session) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
             created_at = excluded.created_at, last_step = 0, \
             pending_session = excluded.pending_session \
         WHERE t.confirmed_at IS NULL",
    )
    .bind(user_id)
    .bind(secret_sealed)
    .bind(now)
    .bind(session_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

/// Marks the secret waiting for `session_id` confirmed by a code of `step`. `false` when
/// there was none waiting for it (confirmed meanwhile, begun anew elsewhere, or never begun).
pub async fn confirm_totp(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    session_id: &str,
    step: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = on_backend!(db, e => sqlx::query(
        "UPDATE totp_factors SET confirmed_at = $1, last_step = $2, pending_session = NULL \
         WHERE user_id = $3 AND confirmed_at IS NULL AND pending_session = $4",
    )
    .bind(now)
    .bind(step)
    .bind(user_id)
    .bind(session_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

/// Takes a code of `step` for a confirmed secret: only for a step later than the last one
/// taken, so a code (or an older one) is never taken twice, even by two requests at once.
pub async fn take_totp_step(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let changed = on_backend!(db, e => sqlx::query(
        "UPDATE totp_factors SET last_step = $1 \
         WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
    )
    .bind(step)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

/// Removes the account's authenticator.
pub async fn remove_totp(db: impl Into<Exec<'_>>, user_id: i64) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Removes the account's second factors that came into force at or after Unix second
/// `since` (an authenticator when its first code confirmed it, a passkey when it was added),
/// and an enrolment still waiting (not a factor, so not counted); how many factors went.
pub async fn remove_factors_added_since(
    tx: &mut Tx,
    user_id: i64,
    since: i64,
) -> Result<u64, sqlx::Error> {
    on_backend!(&mut *tx, e => sqlx::query(
        "DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL",
    )
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    let totp = on_backend!(&mut *tx, e => sqlx::query(
        "DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at >= $2",
    )
    .bind(user_id)
    .bind(since)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    let passkeys = on_backend!(&mut *tx, e => sqlx::query(
        "DELETE FROM passkeys WHERE user_id = $1 AND created_at >= $2",
    )
    .bind(user_id)
    .bind(since)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(totp + passkeys)
}

/// Replaces the account's recovery codes with these (HMACs of the new codes).
pub async fn replace_recovery_codes(
    tx: &mut Tx,
    user_id: i64,
    code_macs: &[String],
) -> Result<(), sqlx::Error> {
    on_backend!(&mut *tx, e => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    for mac in code_macs {
        on_backend!(&mut *tx, e => sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_mac) VALUES ($1, $2)",
        )
        .bind(user_id)
        .bind(mac)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    }
    Ok(())
}

/// Uses one recovery code: `false` when the account has no such unused code.
pub async fn use_recovery_code(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    code_mac: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let changed = on_backend!(db, e => sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_mac = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(code_mac)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

pub async fn unused_recovery_codes(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(e)
    .await)
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Challenge {
    pub user_id: i64,
    pub throttle_key: String,
    pub wrong_codes: i64,
}

pub async fn insert_challenge(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    user_id: i64,
    throttle_key: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO second_factor_challenges (token_hash, user_id, throttle_key, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(throttle_key)
    .bind(expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Ends every sign-in of the account that waits for its second step: when its password
/// changes, what a sign-in with the old one began must not finish.
pub async fn delete_challenges_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("DELETE FROM second_factor_challenges WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The live challenge of a token's digest.
pub async fn challenge(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    now: i64,
) -> Result<Option<Challenge>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT user_id, throttle_key, wrong_codes FROM second_factor_challenges \
         WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(e)
    .await)
}

/// Counts a wrong code against the challenge; at `burn_at` wrong codes it is deleted.
pub async fn count_wrong_code(
    tx: &mut Tx,
    token_hash: &str,
    burn_at: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(&mut *tx, e => sqlx::query(
        "UPDATE second_factor_challenges SET wrong_codes = wrong_codes + 1 WHERE token_hash = $1",
    )
    .bind(token_hash)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    on_backend!(&mut *tx, e => sqlx::query(
        "DELETE FROM second_factor_challenges WHERE token_hash = $1 AND wrong_codes >= $2",
    )
    .bind(token_hash)
    .bind(burn_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Uses a challenge up: `false` when another request used it first.
pub async fn take_challenge(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
) -> Result<bool, sqlx::Error> {
    let deleted = on_backend!(db, e => sqlx::query(
        "DELETE FROM second_factor_challenges WHERE token_hash = $1",
    )
    .bind(token_hash)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(deleted == 1)
}

/// An account's second factors, counted.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct FactorCounts {
    pub totp_on: bool,
    /// An authenticator added but not yet confirmed with a code.
    pub totp_pending: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

const FACTORS_OF: &str =
    "SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL) AS totp_on, \
            EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL) AS totp_pending, \
            (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS passkeys, \
            (SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS recovery_codes_left";

/// One read: whether the account has a confirmed (or a pending) authenticator, its passkeys,
/// and its unused recovery codes; in a transaction that is about to act on them.
pub async fn factors_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<FactorCounts, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(FACTORS_OF)
    .bind(user_id)
    .fetch_one(e)
    .await)
}

/// [`factors_of`] on the signed-in pages' read connections (`store::reads`).
pub async fn factors_read(
    reads: &ReadConnections,
    user_id: i64,
) -> Result<FactorCounts, ReadError> {
    match reads {
        ReadConnections::Sqlite(sqlite) => sqlite.read(|connection| {
            connection.prepare_cached(FACTORS_OF)?.query_row(
                rusqlite::named_params! {"$1": user_id},
                |row| {
                    Ok(FactorCounts {
                        totp_on: row.get("totp_on")?,
                        totp_pending: row.get("totp_pending")?,
                        passkeys: row.get("passkeys")?,
                        recovery_codes_left: row.get("recovery_codes_left")?,
                    })
                },
            )
        }),
        ReadConnections::Postgres(pool) => Ok(sqlx::query_as(FACTORS_OF)
            .bind(user_id)
            .fetch_one(pool)
            .await?),
    }
}
