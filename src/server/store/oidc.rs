//! The OpenID Connect provider's tables: its keys, the subjects apps know people by, waiting
//! authorization requests, consents, grants, codes and refresh tokens.

use super::reads::{ReadConnections, ReadError};
use super::users::{AccountRow, ACCOUNT_COLUMNS};
use super::{on_backend, Exec, Tx};
use rusqlite::OptionalExtension;
use sqlx::FromRow;
use std::sync::LazyLock;

// ---- Keys -----------------------------------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct KeyRow {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    /// Hex of the private key's DER.
    pub private_der: String,
    pub created_at: i64,
    pub signs_from: i64,
}

/// Every key, newest first.
pub async fn keys(db: impl Into<Exec<'_>>) -> Result<Vec<KeyRow>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT kid, alg, private_der, created_at, signs_from FROM oidc_keys \
         ORDER BY signs_from DESC, kid DESC",
    )
    .fetch_all(e)
    .await)
}

/// Stores a key; a key of the same kid already there wins (two processes making the first key
/// at once both read back the one stored).
pub async fn insert_key(db: impl Into<Exec<'_>>, key: &KeyRow) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO oidc_keys (kid, alg, private_der, created_at, signs_from) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) DO NOTHING",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(&key.private_der)
    .bind(key.created_at)
    .bind(key.signs_from)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Drops the keys superseded before `before` (a newer key of their algorithm had started
/// signing by then).
pub async fn drop_superseded_keys(
    db: impl Into<Exec<'_>>,
    before: i64,
) -> Result<u64, sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "DELETE FROM oidc_keys AS old WHERE EXISTS (SELECT 1 FROM oidc_keys AS newer \
         WHERE newer.alg = old.alg AND newer.signs_from > old.signs_from \
         AND newer.signs_from <= $1)",
    )
    .bind(before)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))
}

// ---- Subjects -------------------------------------------------------------------------------

/// The account's subject, giving it `candidate` if it has none yet (the first of two requests
/// at once wins, and both read the winner back).
pub async fn subject_of(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    candidate: &str,
) -> Result<String, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "UPDATE users SET oidc_subject = COALESCE(oidc_subject, $2) WHERE id = $1 \
         RETURNING oidc_subject",
    )
    .bind(user_id)
    .bind(candidate)
    .fetch_one(e)
    .await)
}

/// The subject already given to an account, if any (a read, no write).
pub async fn known_subject(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let found: Option<Option<String>> = on_backend!(db, e => sqlx::query_scalar(
        "SELECT oidc_subject FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(e)
    .await)?;
    Ok(found.flatten())
}

// ---- Waiting authorization requests ---------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub id: String,
    pub client_id: String,
    /// The checked parameters, as JSON.
    pub params: String,
    pub created_at: i64,
    /// The person's answer on the consent page, once given: `given` or `refused`.
    pub consent: Option<String>,
    /// Whose answer it is: only that account's session may go on with it.
    pub answered_by: Option<i64>,
}

impl RequestRow {
    /// The consent answer this account gave, if it gave one (`true`: allowed).
    pub fn answer_by(&self, account_id: i64) -> Option<bool> {
        match (self.consent.as_deref(), self.answered_by) {
            (Some(answer), Some(by)) if by == account_id => Some(answer == "given"),
            _ => None,
        }
    }
}

pub async fn insert_request(
    db: impl Into<Exec<'_>>,
    row: &RequestRow,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO oidc_requests (id, client_id, params, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&row.id)
    .bind(&row.client_id)
    .bind(&row.params)
    .bind(row.created_at)
    .bind(expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// A request that has not expired.
pub async fn find_request(
    db: impl Into<Exec<'_>>,
    id: &str,
    now: i64,
) -> Result<Option<RequestRow>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT id, client_id, params, created_at, consent, answered_by FROM oidc_requests \
         WHERE id = $1 AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(e)
    .await)
}

/// Records the person's answer to the consent page.
pub async fn answer_request(
    db: impl Into<Exec<'_>>,
    id: &str,
    allow: bool,
    account_id: i64,
) -> Result<bool, sqlx::Error> {
    let consent = if allow { "given" } else { "refused" };
    let done = on_backend!(db, e => sqlx::query(
        "UPDATE oidc_requests SET consent = $2, answered_by = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(consent)
    .bind(account_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Removes a request once answered; whether it was still there (of two answers at once, one).
pub async fn take_request(db: impl Into<Exec<'_>>, id: &str) -> Result<bool, sqlx::Error> {
    let done = on_backend!(db, e => sqlx::query("DELETE FROM oidc_requests WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

// ---- Consents -------------------------------------------------------------------------------

/// The scopes a person has agreed to give an app, space-separated.
pub async fn consented_scopes(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    client_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_scalar(
        "SELECT scopes FROM oidc_consents WHERE user_id = $1 AND client_id = $2",
    )
    .bind(user_id)
    .bind(client_id)
    .fetch_optional(e)
    .await)
}

pub async fn save_consent(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    client_id: &str,
    scopes: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = $3, granted_at = $4",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(scopes)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn forget_consent(
    db: impl Into<Exec<'_>>,
    user_id: i64,
    client_id: &str,
) -> Result<u64, sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "DELETE FROM oidc_consents WHERE user_id = $1 AND client_id = $2",
    )
    .bind(user_id)
    .bind(client_id)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))
}

/// An app a person let in, as the account page lists it.
#[derive(Debug, Clone, FromRow)]
pub struct AppAccessRow {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub granted_at: i64,
}

/// The apps with access to an account: those it consented to, and first-party apps holding a
/// live grant (they were never asked).
pub async fn apps_with_access(
    db: impl Into<Exec<'_>>,
    user_id: i64,
) -> Result<Vec<AppAccessRow>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT c.client_id, c.name, k.scopes, k.granted_at FROM oidc_consents k \
         JOIN oidc_clients c ON c.client_id = k.client_id WHERE k.user_id = $1 \
         UNION \
         SELECT c.client_id, c.name, MAX(g.scopes), MAX(g.created_at) FROM oidc_grants g \
         JOIN oidc_clients c ON c.client_id = g.client_id \
         WHERE g.user_id = $1 AND g.revoked_at IS NULL AND c.first_party = TRUE \
         AND NOT EXISTS (SELECT 1 FROM oidc_consents k2 WHERE k2.user_id = $1 \
                         AND k2.client_id = c.client_id) \
         GROUP BY c.client_id, c.name \
         ORDER BY 4 DESC",
    )
    .bind(user_id)
    .fetch_all(e)
    .await)
}

// ---- Grants ---------------------------------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct GrantRow {
    pub id: String,
    pub user_id: i64,
    pub client_id: String,
    pub session_id: String,
    pub scopes: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub amr: String,
    pub token_version: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    pub revoked_at: Option<i64>,
}

const GRANT_COLUMNS: &str = "id, user_id, client_id, session_id, scopes, nonce, auth_time, amr, \
                             token_version, created_at, last_used_at, revoked_at";

pub async fn insert_grant(db: impl Into<Exec<'_>>, grant: &GrantRow) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO oidc_grants (id, user_id, client_id, session_id, scopes, nonce, auth_time, \
         amr, token_version, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&grant.id)
    .bind(grant.user_id)
    .bind(&grant.client_id)
    .bind(&grant.session_id)
    .bind(&grant.scopes)
    .bind(&grant.nonce)
    .bind(grant.auth_time)
    .bind(&grant.amr)
    .bind(grant.token_version)
    .bind(grant.created_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn find_grant(
    db: impl Into<Exec<'_>>,
    id: &str,
) -> Result<Option<GrantRow>, sqlx::Error> {
    let sql = format!("SELECT {GRANT_COLUMNS} FROM oidc_grants WHERE id = $1");
    on_backend!(db, e => sqlx::query_as(&sql).bind(id).fetch_optional(e).await)
}

pub async fn touch_grant(db: impl Into<Exec<'_>>, id: &str, now: i64) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query("UPDATE oidc_grants SET last_used_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(e)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// A grant with its account and the account's subject: what a token answer needs, in one
/// read.
pub struct GrantAndAccount {
    pub grant: GrantRow,
    pub account: AccountRow,
    pub subject: Option<String>,
}

/// The columns of a grant and its account, the grant's under names of their own (the
/// account's share some).
fn grant_and_account_columns() -> String {
    let account = ACCOUNT_COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{account}, u.oidc_subject, g.id AS grant_id, g.client_id AS grant_client_id, \
         g.session_id AS grant_session_id, g.scopes AS grant_scopes, g.nonce AS grant_nonce, \
         g.auth_time AS grant_auth_time, g.amr AS grant_amr, \
         g.token_version AS grant_token_version, g.created_at AS grant_created_at, \
         g.last_used_at AS grant_last_used_at, g.revoked_at AS grant_revoked_at"
    )
}

static GRANT_AND_ACCOUNT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM oidc_grants g JOIN users u ON u.id = g.user_id \
         WHERE g.id = $1 AND u.deleted_at IS NULL",
        grant_and_account_columns()
    )
});

static REFRESH_GRANT_AND_ACCOUNT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, r.replaced_at AS refresh_replaced_at FROM oidc_refresh_tokens r \
         JOIN oidc_grants g ON g.id = r.grant_id JOIN users u ON u.id = g.user_id \
         WHERE r.token_hash = $1 AND u.deleted_at IS NULL",
        grant_and_account_columns()
    )
});

#[derive(FromRow)]
struct GrantAndAccountRow {
    #[sqlx(flatten)]
    account: AccountRow,
    oidc_subject: Option<String>,
    grant_id: String,
    grant_client_id: String,
    grant_session_id: String,
    grant_scopes: String,
    grant_nonce: Option<String>,
    grant_auth_time: i64,
    grant_amr: String,
    grant_token_version: i64,
    grant_created_at: i64,
    grant_last_used_at: i64,
    grant_revoked_at: Option<i64>,
}

impl From<GrantAndAccountRow> for GrantAndAccount {
    fn from(f: GrantAndAccountRow) -> Self {
        GrantAndAccount {
            grant: GrantRow {
                id: f.grant_id,
                user_id: f.account.id,
                client_id: f.grant_client_id,
                session_id: f.grant_session_id,
                scopes: f.grant_scopes,
                nonce: f.grant_nonce,
                auth_time: f.grant_auth_time,
                amr: f.grant_amr,
                token_version: f.grant_token_version,
                created_at: f.grant_created_at,
                last_used_at: f.grant_last_used_at,
                revoked_at: f.grant_revoked_at,
            },
            account: f.account,
            subject: f.oidc_subject,
        }
    }
}

pub async fn grant_and_account(
    db: impl Into<Exec<'_>>,
    grant_id: &str,
) -> Result<Option<GrantAndAccount>, sqlx::Error> {
    let found: Option<GrantAndAccountRow> = on_backend!(db, e => sqlx::query_as(&GRANT_AND_ACCOUNT)
        .bind(grant_id)
        .fetch_optional(e)
        .await)?;
    Ok(found.map(GrantAndAccount::from))
}

/// The grant and account a refresh token belongs to, and when the token was replaced by its
/// successor, if it was.
pub async fn refresh_grant_and_account(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
) -> Result<Option<(GrantAndAccount, Option<i64>)>, sqlx::Error> {
    #[derive(FromRow)]
    struct Found {
        #[sqlx(flatten)]
        row: GrantAndAccountRow,
        refresh_replaced_at: Option<i64>,
    }
    let found: Option<Found> = on_backend!(db, e => sqlx::query_as(&REFRESH_GRANT_AND_ACCOUNT)
        .bind(token_hash)
        .fetch_optional(e)
        .await)?;
    Ok(found.map(|f| (f.row.into(), f.refresh_replaced_at)))
}

/// Which live grants to end.
pub enum GrantsOf<'a> {
    One(&'a str),
    /// A session's grants, but for those with `offline_access` (made to outlive it).
    SessionOnline(&'a str),
    Account(i64),
    AccountAndClient(i64, &'a str),
}

/// A grant just ended, with what a back-channel logout to its app needs.
#[derive(Debug, Clone, FromRow)]
pub struct EndedGrant {
    pub id: String,
    pub user_id: i64,
    pub client_id: String,
    pub session_id: String,
    pub backchannel_logout_uri: Option<String>,
}

/// Ends the live grants `which` names and returns them.
pub async fn revoke_grants(
    db: impl Into<Exec<'_>>,
    which: GrantsOf<'_>,
    now: i64,
) -> Result<Vec<EndedGrant>, sqlx::Error> {
    let (condition, text, number) = match which {
        GrantsOf::One(id) => ("id = $2", Some(id), None),
        GrantsOf::SessionOnline(id) => (
            "session_id = $2 AND ' ' || scopes || ' ' NOT LIKE '% offline_access %'",
            Some(id),
            None,
        ),
        GrantsOf::Account(user) => ("user_id = $3", None, Some(user)),
        GrantsOf::AccountAndClient(user, client) => {
            ("user_id = $3 AND client_id = $2", Some(client), Some(user))
        }
    };
    // Both backends return the updated rows; the logout address is looked up in the same
    // statement so an app removed meanwhile simply has none.
    let sql = format!(
        "UPDATE oidc_grants SET revoked_at = $1 WHERE revoked_at IS NULL AND {condition} \
         RETURNING id, user_id, client_id, session_id, (SELECT backchannel_logout_uri FROM \
         oidc_clients c WHERE c.client_id = oidc_grants.client_id) AS backchannel_logout_uri"
    );
    on_backend!(db, e => sqlx::query_as(&sql)
        .bind(now)
        .bind(text.unwrap_or(""))
        .bind(number.unwrap_or(0))
        .fetch_all(e)
        .await)
}

/// The live grants given in a session, offline or not.
pub async fn live_grants_of_session(
    db: impl Into<Exec<'_>>,
    session_id: &str,
) -> Result<Vec<EndedGrant>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT g.id, g.user_id, g.client_id, g.session_id, c.backchannel_logout_uri \
         FROM oidc_grants g JOIN oidc_clients c ON c.client_id = g.client_id \
         WHERE g.session_id = $1 AND g.revoked_at IS NULL",
    )
    .bind(session_id)
    .fetch_all(e)
    .await)
}

/// Built once: userinfo runs it for every request.
static USERINFO_OF_GRANT: LazyLock<String> = LazyLock::new(|| {
    let columns = ACCOUNT_COLUMNS
        .split(',')
        .map(|c| format!("u.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns}, g.scopes AS grant_scopes, EXISTS (SELECT 1 FROM sessions s \
         WHERE s.id = g.session_id AND s.expires_at > $2) AS session_alive \
         FROM oidc_grants g JOIN users u ON u.id = g.user_id \
         WHERE g.id = $1 AND g.revoked_at IS NULL AND u.deleted_at IS NULL \
         AND u.account_enabled = TRUE AND u.token_version = g.token_version"
    )
});

/// The account a live grant speaks for (not revoked, the account enabled, its password
/// unchanged since), the grant's scopes, and whether the session it was given in lives: what
/// userinfo needs, in one read (on SQLite on the request's own thread, like the signed-in
/// reads).
pub async fn userinfo_of(
    reads: &ReadConnections,
    grant_id: &str,
    now: i64,
) -> Result<Option<(AccountRow, String, bool)>, ReadError> {
    match reads {
        ReadConnections::Sqlite(sqlite) => sqlite.read(|connection| {
            connection
                .prepare_cached(&USERINFO_OF_GRANT)?
                .query_row(rusqlite::named_params! {"$1": grant_id, "$2": now}, |row| {
                    Ok((
                        AccountRow::from_sqlite(row)?,
                        row.get("grant_scopes")?,
                        row.get("session_alive")?,
                    ))
                })
                .optional()
        }),
        ReadConnections::Postgres(pool) => {
            #[derive(FromRow)]
            struct Found {
                #[sqlx(flatten)]
                account: AccountRow,
                grant_scopes: String,
                session_alive: bool,
            }
            let row: Option<Found> = sqlx::query_as(&USERINFO_OF_GRANT)
                .bind(grant_id)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|r| (r.account, r.grant_scopes, r.session_alive)))
        }
    }
}

// ---- Codes ----------------------------------------------------------------------------------

#[derive(Debug, Clone, FromRow)]
pub struct CodeRow {
    pub grant_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
}

pub async fn insert_code(
    db: impl Into<Exec<'_>>,
    code_hash: &str,
    code: &CodeRow,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO oidc_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code_hash)
    .bind(&code.grant_id)
    .bind(&code.redirect_uri)
    .bind(&code.code_challenge)
    .bind(code.expires_at)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// What presenting a code found.
pub enum CodeUse {
    /// Its first use: it is spent now.
    First(CodeRow),
    /// It was used before: its grant must end.
    Again {
        grant_id: String,
    },
    Unknown,
}

/// Spends a code (one use, whatever its expiry: the caller checks that). Inside the caller's
/// transaction: of two requests with one code, exactly one finds it unspent.
pub async fn use_code(tx: &mut Tx, code_hash: &str, now: i64) -> Result<CodeUse, sqlx::Error> {
    let spent: Option<CodeRow> = on_backend!(&mut *tx, e => sqlx::query_as(
        "UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL \
         RETURNING grant_id, redirect_uri, code_challenge, expires_at",
    )
    .bind(code_hash)
    .bind(now)
    .fetch_optional(e)
    .await)?;
    if let Some(code) = spent {
        return Ok(CodeUse::First(code));
    }
    let used: Option<String> = on_backend!(&mut *tx, e => sqlx::query_scalar(
        "SELECT grant_id FROM oidc_codes WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(e)
    .await)?;
    Ok(match used {
        Some(grant_id) => CodeUse::Again { grant_id },
        None => CodeUse::Unknown,
    })
}

// ---- Refresh tokens -------------------------------------------------------------------------

pub async fn insert_refresh_token(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    grant_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO oidc_refresh_tokens (token_hash, grant_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(grant_id)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct RefreshRow {
    pub grant_id: String,
    pub replaced_at: Option<i64>,
}

pub async fn find_refresh_token(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
) -> Result<Option<RefreshRow>, sqlx::Error> {
    on_backend!(db, e => sqlx::query_as(
        "SELECT grant_id, replaced_at FROM oidc_refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(e)
    .await)
}

/// Marks a refresh token replaced by its successor (the first replacement's time is kept).
pub async fn replace_refresh_token(
    db: impl Into<Exec<'_>>,
    token_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "UPDATE oidc_refresh_tokens SET replaced_at = $2 WHERE token_hash = $1 \
         AND replaced_at IS NULL",
    )
    .bind(token_hash)
    .bind(now)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
