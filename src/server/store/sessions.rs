//! The `sessions` table: one row per sign-in, named by the `sid` of its tokens.

use super::reads::{ReadConnections, ReadError};
use super::users::{AccountRow, ACCOUNT_COLUMNS};
use super::{on_backend, Exec};
use rusqlite::OptionalExtension;
use sqlx::FromRow;
use std::sync::LazyLock;

pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// How the person signed in: OpenID Connect `amr` values, space-separated.
    pub amr: &'a str,
}

pub async fn insert(db: impl Into<Exec<'_>>, session: NewSession<'_>) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, client_addr, \
         user_agent, amr) VALUES ($1, $2, $3, $4, $3, $5, $6, $7)",
    )
    .bind(session.id)
    .bind(session.user_id)
    .bind(session.now)
    .bind(session.expires_at)
    .bind(session.client_addr)
    .bind(session.user_agent)
    .bind(session.amr)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Built once: this runs on every signed-in request.
static ACCOUNT_OF_SESSION: LazyLock<String> = LazyLock::new(|| {
    let columns = ACCOUNT_COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns}, s.expires_at AS session_expires_at, \
         s.created_at AS session_created_at, s.amr AS session_amr FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.expires_at > $3 AND u.deleted_at IS NULL"
    )
});

/// A live session and its live account, as every signed-in request reads them.
#[derive(FromRow)]
pub struct SessionAccount {
    #[sqlx(flatten)]
    pub account: AccountRow,
    /// The session's fixed end.
    pub session_expires_at: i64,
    /// When it signed in, and how (`amr`): what an OpenID Connect authorization reports.
    pub session_created_at: i64,
    pub session_amr: String,
}

/// The live account behind a live session: one read for both, on every signed-in request.
/// The caller still compares the token's version with the account's.
pub async fn account_of(
    reads: &ReadConnections,
    session_id: &str,
    user_id: i64,
    now: i64,
) -> Result<Option<SessionAccount>, ReadError> {
    match reads {
        ReadConnections::Sqlite(sqlite) => sqlite.read(|connection| {
            connection
                .prepare_cached(&ACCOUNT_OF_SESSION)?
                .query_row(
                    rusqlite::named_params! {"$1": session_id, "$2": user_id, "$3": now},
                    |row| {
                        Ok(SessionAccount {
                            account: AccountRow::from_sqlite(row)?,
                            session_expires_at: row.get("session_expires_at")?,
                            session_created_at: row.get("session_created_at")?,
                            session_amr: row.get("session_amr")?,
                        })
                    },
                )
                .optional()
        }),
        ReadConnections::Postgres(pool) => Ok(sqlx::query_as(&ACCOUNT_OF_SESSION)
            .bind(session_id)
            .bind(user_id)
            .bind(now)
            .fetch_optional(pool)
            .await?),
    }
}

const CREDITS_OF_SESSION: &str = "SELECT u.credits_micro FROM sessions s \
     JOIN users u ON u.id = s.user_id \
     WHERE s.id = $1 AND s.user_id = $2 AND s.expires_at > $3 AND u.token_version = $4 \
     AND u.account_enabled = TRUE AND u.deleted_at IS NULL";

/// The credits of the live, enabled account behind a live session whose tokens of
/// `token_version` still hold: the narrow read behind the busiest endpoint.
pub async fn credits_of(
    reads: &ReadConnections,
    session_id: &str,
    user_id: i64,
    token_version: i64,
    now: i64,
) -> Result<Option<i64>, ReadError> {
    match reads {
        ReadConnections::Sqlite(sqlite) => sqlite.read(|connection| {
            connection
                .prepare_cached(CREDITS_OF_SESSION)?
                .query_row(
                    rusqlite::named_params! {
                        "$1": session_id, "$2": user_id, "$3": now, "$4": token_version,
                    },
                    |row| row.get(0),
                )
                .optional()
        }),
        ReadConnections::Postgres(pool) => Ok(sqlx::query_scalar(CREDITS_OF_SESSION)
            .bind(session_id)
            .bind(user_id)
            .bind(now)
            .bind(token_version)
            .fetch_optional(pool)
            .await?),
    }
}

/// Ends all but the `keep` most recently used sessions of an account; the ids of those ended.
pub async fn keep_newest_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    keep: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "DELETE FROM sessions WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM sessions WHERE user_id = $1 \
          ORDER BY last_seen_at DESC, created_at DESC, id DESC LIMIT $2) \
         RETURNING id",
    )
    .bind(user_id)
    .bind(keep)
    .fetch_all(e)
    .await)
}

/// Notes a refresh.
pub async fn touch(db: impl Into<Exec<'_>>, session_id: &str, now: i64) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(session_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Ends one session (sign-out).
pub async fn delete(db: impl Into<Exec<'_>>, session_id: &str) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Deletes a session if it is over at `now`; returns whether it did (false: it lives, or
/// another pass took it already).
pub async fn delete_if_over(
    db: impl Into<Exec<'_>>,
    session_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let deleted = on_backend!(db, e => sqlx::query(DELETE_IF_OVER.as_str())
        .bind(now)
        .bind(session_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(deleted > 0)
}

static DELETE_IF_OVER: LazyLock<String> =
    LazyLock::new(|| format!("DELETE FROM sessions WHERE {OVER} AND id = $2"));

/// Ends every session of an account; returns how many there were.
pub async fn delete_all_of(db: impl Into<Exec<'_>>, user_id: i64) -> Result<u64, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done)
}

/// A session as the account page lists it.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

const LIVE_SESSIONS: &str =
    "SELECT id, created_at, expires_at, last_seen_at, client_addr, user_agent FROM sessions \
     WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $2 - $3 \
     ORDER BY last_seen_at DESC, created_at DESC";

/// The account's live sessions, most recently used first. A session whose last token
/// (`token_lifetime` seconds from its last sign-in or refresh) has run out is over too.
pub async fn live_of(
    reads: &ReadConnections,
    user_id: i64,
    now: i64,
    token_lifetime: i64,
) -> Result<Vec<SessionRow>, ReadError> {
    match reads {
        ReadConnections::Sqlite(sqlite) => sqlite.read(|connection| {
            connection
                .prepare_cached(LIVE_SESSIONS)?
                .query_map(
                    rusqlite::named_params! {"$1": user_id, "$2": now, "$3": token_lifetime},
                    |row| {
                        Ok(SessionRow {
                            id: row.get("id")?,
                            created_at: row.get("created_at")?,
                            expires_at: row.get("expires_at")?,
                            last_seen_at: row.get("last_seen_at")?,
                            client_addr: row.get("client_addr")?,
                            user_agent: row.get("user_agent")?,
                        })
                    },
                )?
                .collect()
        }),
        ReadConnections::Postgres(pool) => Ok(sqlx::query_as(LIVE_SESSIONS)
            .bind(user_id)
            .bind(now)
            .bind(token_lifetime)
            .fetch_all(pool)
            .await?),
    }
}

/// When a session is over (`$1` is now): past its fixed end, or its last token (a day) ran out
/// unrefreshed. The purge deletes such sessions; their apps are told first.
pub const OVER: &str = "(expires_at <= $1 OR last_seen_at <= $1 - 86400 - 60)";

static OVER_WITH_LIVE_GRANTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM sessions WHERE {OVER} AND id > $2 \
         AND id IN (SELECT session_id FROM oidc_grants WHERE revoked_at IS NULL) \
         ORDER BY id LIMIT $3"
    )
});

/// Sessions that are over while an app still holds a grant given in them, in id order after
/// `after`, `limit` at a time. Callers page by id rather than read "what is left", so that a
/// session they did not end must not come back on every page and keep them going round.
pub async fn over_with_live_grants(
    db: impl Into<Exec<'_>>,
    now: i64,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(OVER_WITH_LIVE_GRANTS.as_str())
        .bind(now)
        .bind(after)
        .bind(limit)
        .fetch_all(e)
        .await)
}
