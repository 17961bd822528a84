//! What the operators' console reads and writes beyond the other tables' own functions: who is
//! admin, the search, an account's state (enabled, lockouts, step-up), the admin API's tokens,
//! and the audit log read back with its filters.

use super::users::{AccountRow, ACCOUNT_COLUMNS};
use super::{on_backend, Exec};
use sqlx::FromRow;

/// Makes an account admin or not; false when there is no such (live) account.
pub async fn set_admin(
    db: impl Into<Exec<'_>>,
    username: &str,
    admin: bool,
) -> Result<Option<i64>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "UPDATE users SET admin = $1 WHERE username = $2 AND deleted_at IS NULL RETURNING id",
    )
    .bind(admin)
    .bind(username)
    .fetch_optional(e)
    .await)
}

pub async fn admins(db: impl Into<Exec<'_>>) -> Result<Vec<AccountRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users WHERE admin = TRUE AND deleted_at IS NULL \
         ORDER BY username"
    );
    on_backend!(db, e => sqlx::query_as(&sql).fetch_all(e).await)
}

/// How many search hits one page shows.
pub const PAGE: i64 = 50;

/// Past the last character any prefix can be followed by, in the order each index sorts: the
/// range `[prefix, prefix + END)` is "starts with prefix", which an index serves where `LIKE`
/// with a bound pattern would not. U+FFFF sorts last in ICU's root collation (PostgreSQL's
/// case-blind usernames) and after every character of a byte-ordered key that is not astral.
const END: char = '\u{FFFF}';

/// What the search matches on, decided by the adapter from what was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// An account id, exactly.
    Id(i64),
    /// A prefix of the username or of the e-mail address (lower case).
    Text(String),
    /// A prefix of the phone number in E.164 form (`+` and digits).
    Phone(String),
}

/// Accounts matching `query`, by username, `page` (from 0) of [`PAGE`] each; one more than a
/// page is fetched so the caller can tell whether another page follows.
pub async fn search(
    db: impl Into<Exec<'_>>,
    query: &Query,
    page: i64,
) -> Result<Vec<AccountRow>, sqlx::Error> {
    let offset = page.max(0) * PAGE;
    let limit = PAGE + 1;
    match query {
        Query::Id(id) => {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1");
            on_backend!(db, e => sqlx::query_as(&sql).bind(id).fetch_all(e).await)
        }
        Query::Phone(prefix) => {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM users WHERE phone_e164 >= $1 AND phone_e164 < $2 \
                 ORDER BY phone_e164 LIMIT $3 OFFSET $4"
            );
            let end = format!("{prefix}{END}");
            on_backend!(db, e => sqlx::query_as(&sql)
                .bind(prefix).bind(&end).bind(limit).bind(offset)
                .fetch_all(e).await)
        }
        Query::Text(prefix) => {
            let end = format!("{prefix}{END}");
            // Each half reads its own index in order and stops at the page's end; the union
            // of the two short lists is then sorted. SQLite's usernames are NOCASE (compared
            // case-blind in the index's order); PostgreSQL's have a byte-ordered lower-cased
            // index of their own.
            let sqlite = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM ( \
                   SELECT * FROM (SELECT * FROM users WHERE username >= $1 AND username < $2 \
                                  ORDER BY username LIMIT $3 + $4) \
                   UNION \
                   SELECT * FROM (SELECT * FROM users WHERE email_key >= $1 AND email_key < $2 \
                                  ORDER BY email_key LIMIT $3 + $4)) \
                 ORDER BY username COLLATE NOCASE, id LIMIT $3 OFFSET $4"
            );
            let postgres = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM ( \
                   (SELECT * FROM users \
                    WHERE lower(username) COLLATE \"C\" >= $1 AND lower(username) COLLATE \"C\" < $2 \
                    ORDER BY lower(username) COLLATE \"C\" LIMIT $3 + $4) \
                   UNION \
                   (SELECT * FROM users WHERE email_key >= $1 AND email_key < $2 \
                    ORDER BY email_key LIMIT $3 + $4)) AS hits \
                 ORDER BY lower(username) COLLATE \"C\", id LIMIT $3 OFFSET $4"
            );
            on_backend!(db,
                s => sqlx::query_as(&sqlite)
                    .bind(prefix).bind(&end).bind(limit).bind(offset)
                    .fetch_all(s).await,
                p => sqlx::query_as(&postgres)
                    .bind(prefix).bind(&end).bind(limit).bind(offset)
                    .fetch_all(p).await)
        }
    }
}

/// Enables or disables an account; a change bumps its token version, so every token of it
/// (session or OpenID Connect grant) fails at once. The row before the change, if it changed.
pub async fn set_enabled(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    enabled: bool,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let changed = on_backend!(db, e => sqlx::query(
        "UPDATE users SET account_enabled = $1, token_version = token_version + 1, \
         updated_at = $2 WHERE id = $3 AND account_enabled <> $1 AND deleted_at IS NULL",
    )
    .bind(enabled)
    .bind(now)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

pub async fn set_plan(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    plan: &str,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let changed = on_backend!(db, e => sqlx::query(
        "UPDATE users SET plan = $1, updated_at = $2 \
         WHERE id = $3 AND plan <> $1 AND deleted_at IS NULL",
    )
    .bind(plan)
    .bind(now)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

/// A lock on signing in, as the console shows it.
#[derive(Debug, Clone, FromRow)]
pub struct LockRow {
    pub subject: String,
    pub attempts_in_window: i64,
    pub locked_until: i64,
}

/// The account's login locks in force at `now`: every identifier and browser of it, the
/// second step, and its passcodes (the keys of `services::throttle` and `passcodes`).
pub async fn locks_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    now: i64,
) -> Result<Vec<LockRow>, sqlx::Error> {
    // `user:<id>:…` and `device:<id>:…` are ranges (`;` follows `:`), the rest exact keys.
    let account = format!("user:{user_id}:");
    let account_end = format!("user:{user_id};");
    let device = format!("device:{user_id}:");
    let device_end = format!("device:{user_id};");
    let exact = [
        format!("devices:{user_id}"),
        format!("second-step:{user_id}"),
        format!("passcodes:{user_id}"),
    ];
    on_backend!(db, e => sqlx::query_as(
        "SELECT subject, attempts_in_window, locked_until FROM login_throttle \
         WHERE locked_until > $1 AND ((subject >= $2 AND subject < $3) \
            OR (subject >= $4 AND subject < $5) OR subject IN ($6, $7, $8)) \
         ORDER BY subject",
    )
    .bind(now)
    .bind(&account)
    .bind(&account_end)
    .bind(&device)
    .bind(&device_end)
    .bind(&exact[0])
    .bind(&exact[1])
    .bind(&exact[2])
    .fetch_all(e)
    .await)
}

/// When the session last proved a second factor after signing in, if it did.
pub async fn stepped_up_at(
    db: impl Into<Exec<'_>>,
    session_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let at: Option<Option<i64>> = on_backend!(db, e => sqlx::query_scalar(
        "SELECT stepped_up_at FROM sessions WHERE id = $1",
    )
    .bind(session_id)
    .fetch_optional(e)
    .await)?;
    Ok(at.flatten())
}

pub async fn record_step_up(
    db: impl Into<Exec<'_>>,
    session_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query(
        "UPDATE sessions SET stepped_up_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(session_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// An admin API token as stored (never its secret).
#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub id: String,
    pub user_id: i64,
    pub name: String,
    pub read_only: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const TOKEN_COLUMNS: &str =
    "id, user_id, name, read_only, created_at, expires_at, revoked_at, last_used_at";

pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub token_hash: &'a str,
    pub name: &'a str,
    pub read_only: bool,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert_token(
    db: impl Into<Exec<'_>>,
    token: &NewToken<'_>,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO admin_tokens (id, user_id, token_hash, name, read_only, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token.id)
    .bind(token.user_id)
    .bind(token.token_hash)
    .bind(token.name)
    .bind(token.read_only)
    .bind(token.now)
    .bind(token.expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The live token with this hash, marked used; `None` for an unknown, revoked or expired one.
pub async fn use_token(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    now: i64,
) -> Result<Option<TokenRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE admin_tokens SET last_used_at = $1 \
         WHERE token_hash = $2 AND revoked_at IS NULL AND expires_at > $1 \
         RETURNING {TOKEN_COLUMNS}"
    );
    on_backend!(db, e => sqlx::query_as(&sql).bind(now).bind(token_hash).fetch_optional(e).await)
}

/// Every token, newest first (the console lists them all: there are few).
pub async fn tokens(db: impl Into<Exec<'_>>) -> Result<Vec<TokenRow>, sqlx::Error> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens ORDER BY created_at DESC, id");
    on_backend!(db, e => sqlx::query_as(&sql).fetch_all(e).await)
}

pub async fn revoke_token(
    db: impl Into<Exec<'_>>,
    id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query(
        "UPDATE admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Every token of an admin ends with their admin rights.
pub async fn revoke_tokens_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE admin_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))
}

/// An audit log entry, as the console shows and exports it.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
    pub reason: Option<String>,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
}

/// Which entries to read: all conditions must hold; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// An event name, or a prefix of one ending in `.` (`mfa.`, `admin.`).
    pub event: Option<String>,
    /// RFC 3339 UTC bounds on `at`: from (inclusive) and until (exclusive).
    pub from: Option<String>,
    pub until: Option<String>,
    /// Keyset paging: entries older than this id.
    pub before_id: Option<i64>,
}

/// Entries matching `filter`, newest first, at most `limit`.
pub async fn audit(
    db: impl Into<Exec<'_>>,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    // Absent conditions bind NULL and fall away (`$n IS NULL OR …`), so there is one
    // statement text to prepare whatever the filter.
    let (event_exact, event_prefix, event_end) = match filter.event.as_deref() {
        Some(prefix) if prefix.ends_with('.') => (
            None,
            Some(prefix.to_owned()),
            Some(format!("{prefix}{END}")),
        ),
        Some(exact) => (Some(exact.to_owned()), None, None),
        None => (None, None, None),
    };
    on_backend!(db, e => sqlx::query_as(
        "SELECT a.id, a.at, a.event, a.user_id, u.username, a.actor_id, actor.username AS actor, \
                a.client_addr, a.request_id, a.detail, a.reason, a.before_state, a.after_state \
         FROM audit_log a \
         LEFT JOIN users u ON u.id = a.user_id \
         LEFT JOIN users actor ON actor.id = a.actor_id \
         WHERE ($1 IS NULL OR a.user_id = $1) AND ($2 IS NULL OR a.actor_id = $2) \
           AND ($3 IS NULL OR a.event = $3) \
           AND ($4 IS NULL OR (a.event >= $4 AND a.event < $5)) \
           AND ($6 IS NULL OR a.at >= $6) AND ($7 IS NULL OR a.at < $7) \
           AND ($8 IS NULL OR a.id < $8) \
         ORDER BY a.id DESC LIMIT $9",
    )
    .bind(filter.user_id)
    .bind(filter.actor_id)
    .bind(event_exact.as_deref())
    .bind(event_prefix.as_deref())
    .bind(event_end.as_deref())
    .bind(filter.from.as_deref())
    .bind(filter.until.as_deref())
    .bind(filter.before_id)
    .bind(limit)
    .fetch_all(e)
    .await)
}
