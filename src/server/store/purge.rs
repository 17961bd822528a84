//! Deletes rows that can no longer matter: expired codes and tokens, send records older than
//! the longest rate-limit window, lockouts that have run out, delivered messages (whose
//! bodies were blanked on delivery; the row is only kept a day for the operator's eye), and
//! audit events older than the configured retention.
use super::{on_backend, Db};

use std::sync::LazyLock;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Sessions over at their fixed end, or once their last token (a day) has run out unrefreshed.
static DELETE_SESSIONS_OVER: LazyLock<String> =
    LazyLock::new(|| format!("DELETE FROM sessions WHERE {}", super::sessions::OVER));

/// How long a delivered message's row stays.
pub const DELIVERED_KEPT_SECONDS: i64 = 24 * 3600;

/// Rows deleted by one pass, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub passcodes: u64,
    pub reset_tokens: u64,
    pub email_verifications: u64,
    pub send_log: u64,
    pub login_throttle: u64,
    pub outbox: u64,
    pub sessions: u64,
    pub client_limits: u64,
    pub second_factor_challenges: u64,
    pub webauthn_ceremonies: u64,
    pub audit_log: u64,
    /// OpenID Connect: waiting requests, codes, refresh tokens and grants that ended.
    pub oidc: u64,
    /// Changes of e-mail address whose code ran out, "this wasn't me" links past 72 hours.
    pub account_life: u64,
    /// Admin API tokens that expired or were revoked more than 30 days ago.
    pub admin_tokens: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.passcodes
            + self.reset_tokens
            + self.email_verifications
            + self.send_log
            + self.login_throttle
            + self.outbox
            + self.sessions
            + self.client_limits
            + self.second_factor_challenges
            + self.webauthn_ceremonies
            + self.audit_log
            + self.oidc
            + self.account_life
            + self.admin_tokens
    }
}

/// One pass at Unix time `now`, keeping audit events `audit_kept_seconds` long. Each statement
/// is its own short write, so a pass never holds the write lock for long.
pub async fn expired(db: &Db, now: i64, audit_kept_seconds: i64) -> Result<Purged, sqlx::Error> {
    let delete = |sql: &'static str, bound: i64| async move {
        on_backend!(db, e => sqlx::query(sql)
            .bind(bound)
            .execute(e)
            .await
            .map(|done| done.rows_affected()))
    };
    // RFC 3339 UTC timestamps of one format sort as text in time order.
    let rfc3339 = |unix: i64| {
        OffsetDateTime::from_unix_timestamp(unix)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default()
    };
    let delivered_before = rfc3339(now - DELIVERED_KEPT_SECONDS);
    let audited_before = rfc3339(now - audit_kept_seconds);
    Ok(Purged {
        passcodes: delete("DELETE FROM passcodes WHERE expires_at <= $1", now).await?,
        reset_tokens: delete("DELETE FROM reset_tokens WHERE expires_at <= $1", now).await?,
        email_verifications: delete(
            "DELETE FROM email_verifications WHERE expires_at <= $1",
            now,
        )
        .await?,
        // The longest send limit looks back one hour.
        send_log: delete("DELETE FROM send_log WHERE sent_at <= $1", now - 3600).await?,
        // A row matters while it locks, and for the hourly cap while its window runs.
        login_throttle: delete(
            "DELETE FROM login_throttle WHERE locked_until <= $1 AND last_attempt_at <= $1 - 3600",
            now,
        )
        .await?,
        sessions: delete(&DELETE_SESSIONS_OVER, now).await?,
        // A cell whose arrival time has passed holds a full allowance: the same as no row.
        client_limits: delete("DELETE FROM client_limits WHERE tat <= $1", now * 1000).await?,
        second_factor_challenges: delete(
            "DELETE FROM second_factor_challenges WHERE expires_at <= $1",
            now,
        )
        .await?,
        webauthn_ceremonies: delete(
            "DELETE FROM webauthn_ceremonies WHERE expires_at <= $1",
            now,
        )
        .await?,
        oidc: delete("DELETE FROM oidc_requests WHERE expires_at <= $1", now).await?
            // A spent or expired code is kept a day: presented again, it ends its grant.
            + delete("DELETE FROM oidc_codes WHERE expires_at <= $1 - 86400", now).await?
            // A replaced refresh token replayed within a day ends its grant; later it is
            // merely unknown.
            + delete(
                "DELETE FROM oidc_refresh_tokens WHERE replaced_at <= $1 - 86400",
                now,
            )
            .await?
            // Ended a day ago, or 30 days unused (a refresh token's idle limit); their codes
            // and refresh tokens go with them.
            + delete(
                "DELETE FROM oidc_grants WHERE revoked_at <= $1 - 86400 \
                 OR last_used_at <= $1 - 2592000",
                now,
            )
            .await?,
        account_life: delete("DELETE FROM email_changes WHERE expires_at <= $1", now).await?
            + delete("DELETE FROM email_restores WHERE expires_at <= $1", now).await?,
        // The console lists an ended token for a month (the audit names its id for longer).
        admin_tokens: delete(
            "DELETE FROM admin_tokens WHERE expires_at <= $1 - 2592000 \
             OR revoked_at <= $1 - 2592000",
            now,
        )
        .await?,
        audit_log: on_backend!(db, e => sqlx::query("DELETE FROM audit_log WHERE at <= $1")
            .bind(&audited_before)
            .execute(e)
            .await
            .map(|done| done.rows_affected()))?,
        outbox: on_backend!(db, e => sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= $1")
            .bind(&delivered_before)
            .execute(e)
            .await
            .map(|done| done.rows_affected()))?,
    })
}
