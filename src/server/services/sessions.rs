//! Sessions: every sign-in is a row, and every token names its row (`sid`). Signing
//! out, a password change and a reset delete rows, which ends their tokens at once; a refresh
//! renews the token but never past the session's end, fixed at sign-in (30 days by default).

use super::Account;
use super::ServiceError;
use crate::server::crypto::session_token::{Claims, IssuedToken, LIFETIME_SECONDS};
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, sessions, Tx};
use rand::RngCore;

/// What a successful sign-in hands the adapter.
pub struct LoggedIn {
    pub account: Account,
    pub token: IssuedToken,
    /// A device token for this browser (`services::devices`); the web sets it as a cookie,
    /// REST clients may ignore it.
    pub device: String,
}

/// A session as the account page shows it.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub started_at: i64,
    pub last_seen_at: i64,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    /// The session the request itself rides on.
    pub current: bool,
}

/// A signed-in request: the account, and the session it rides on.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    pub session_id: String,
    /// Unix seconds: the session's fixed end.
    pub session_ends_at: i64,
    /// Unix seconds: when the session signed in.
    pub signed_in_at: i64,
    /// How it signed in: OpenID Connect `amr` values, space-separated.
    pub amr: String,
}

/// Live sessions an account may have. An integration that signs in over REST for every job
/// leaves a session each; past this, a new sign-in ends the one least recently used, so the
/// table grows with the accounts, not with their sign-in rate.
pub const SESSIONS_PER_ACCOUNT: i64 = 100;

/// How a sign-in was made, in OpenID Connect's `amr` values (RFC 8176), as a session records
/// it and its id_tokens report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInWith {
    Password,
    /// A password, then a code from an authenticator app or a recovery code.
    PasswordAndCode,
    /// A password, then a passkey as the second factor.
    PasswordAndPasskey,
    /// A passkey alone: possession of the key and the user verification (PIN or biometric)
    /// WebAuthn requires of it, so two factors.
    Passkey,
}

impl SignedInWith {
    pub fn amr(self) -> &'static str {
        match self {
            SignedInWith::Password => "pwd",
            SignedInWith::PasswordAndCode => "pwd otp mfa",
            SignedInWith::PasswordAndPasskey => "pwd hwk mfa",
            SignedInWith::Passkey => "hwk user mfa",
        }
    }
}

/// Opens a session for `account_id` inside the caller's transaction and signs its first token.
pub async fn start(
    tx: &mut Tx,
    state: &AppState,
    account_id: i64,
    token_version: i64,
    with: SignedInWith,
    meta: &RequestMeta,
) -> Result<IssuedToken, ServiceError> {
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let id = hex::encode(id);
    let now = store::unix_now();
    let ends_at = now + state.settings.config.session_max_days * 24 * 3600;
    sessions::insert(
        &mut *tx,
        sessions::NewSession {
            id: &id,
            user_id: account_id,
            now,
            expires_at: ends_at,
            client_addr: meta.client_addr.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            amr: with.amr(),
        },
    )
    .await?;
    // The sessions this one pushes out end like any other: their apps' grants end, and the
    // apps are told (the outbox's poll sends the logout tokens).
    for ended in sessions::keep_newest_of(&mut *tx, account_id, SESSIONS_PER_ACCOUNT).await? {
        super::oidc::logout::session_ended(tx, &ended).await?;
    }
    Ok(state.tokens.issue(account_id, token_version, &id, ends_at))
}

/// [`start`] in a transaction of its own.
pub async fn start_alone(
    state: &AppState,
    account_id: i64,
    token_version: i64,
    with: SignedInWith,
    meta: &RequestMeta,
) -> Result<IssuedToken, ServiceError> {
    super::write_tx!(state.db, |tx| {
        start(tx, state, account_id, token_version, with, meta).await
    })
}

/// Resolves a token to its live session and account: signature, expiry, issuer, audience,
/// the session row, and the account's token version. One read.
pub async fn resolve(state: &AppState, token: &str) -> Result<SignedIn, ServiceError> {
    let (account_id, claims) = claims_of(state, token)?;
    let found =
        sessions::account_of(&state.reads, &claims.sid, account_id, store::unix_now()).await?;
    let Some(found) = found else {
        return Err(ServiceError::Unauthenticated);
    };
    if !found.account.account_enabled || found.account.token_version != claims.tv {
        return Err(ServiceError::Unauthenticated);
    }
    Ok(SignedIn {
        account: found.account.into(),
        session_id: claims.sid,
        session_ends_at: found.session_expires_at,
        signed_in_at: found.session_created_at,
        amr: found.session_amr,
    })
}

/// A token's account id and claims, once its signature, expiry, issuer and audience check out.
/// Whether its session and account still hold is the caller's read.
pub fn claims_of(state: &AppState, token: &str) -> Result<(i64, Claims), ServiceError> {
    let claims = state
        .tokens
        .verify(token)
        .map_err(|_| ServiceError::Unauthenticated)?;
    let account_id = claims
        .sub
        .parse()
        .map_err(|_| ServiceError::Unauthenticated)?;
    Ok((account_id, claims))
}

/// Refreshes one session may make in an hour, all at once if it likes. A client needs one a
/// day (a token lives 24 hours); the cap keeps a looping one from writing without end.
pub const REFRESHES_PER_SESSION_PER_HOUR: i64 = 60;

/// A fresh token for the same session: 24 hours, but never past the session's end. Not
/// audited: the session's `last_seen_at` records it, and an event per refresh would let one
/// client grow the audit log by its request rate.
pub async fn refresh(state: &AppState, signed_in: &SignedIn) -> Result<IssuedToken, ServiceError> {
    let key = format!("refresh:{}", signed_in.session_id);
    state
        .limits
        .admit_key(&key, REFRESHES_PER_SESSION_PER_HOUR, 3_600_000)
        .await?;
    let now = store::unix_now();
    sessions::touch(&state.db, &signed_in.session_id, now).await?;
    Ok(state.tokens.issue(
        signed_in.account.id,
        signed_in.account.token_version,
        &signed_in.session_id,
        signed_in.session_ends_at,
    ))
}

/// Ends the session a token belongs to (sign-out). A token that no longer resolves has nothing
/// left to end.
pub async fn end(state: &AppState, token: &str, meta: &RequestMeta) -> Result<(), ServiceError> {
    let Ok(signed_in) = resolve(state, token).await else {
        return Ok(());
    };
    let told_apps = super::write_tx!(state.db, |tx| {
        sessions::delete(&mut *tx, &signed_in.session_id).await?;
        let told_apps = super::oidc::logout::session_ended(tx, &signed_in.session_id).await?;
        let account = Some(signed_in.account.id);
        audit::record(tx, Event::Logout, account, meta, None).await?;
        Ok(told_apps)
    })?;
    if told_apps {
        state.mail.now();
    }
    Ok(())
}

/// Ends every session of the account, the caller's own included ("sign out everywhere").
pub async fn end_all(
    state: &AppState,
    account: &Account,
    meta: &RequestMeta,
) -> Result<u64, ServiceError> {
    let (ended, told_apps) = super::write_tx!(state.db, |tx| {
        let ended = sessions::delete_all_of(&mut *tx, account.id).await?;
        // Whoever held a session may also hold a remembered browser: forget those too.
        super::devices::forget_all(tx, account.id).await?;
        // And the apps it signed in to lose their grants, offline ones included.
        let told_apps = super::oidc::logout::account_grants_ended(tx, account.id).await?;
        let detail = ended.to_string();
        let account = Some(account.id);
        audit::record(tx, Event::SessionsEnded, account, meta, Some(&detail)).await?;
        Ok((ended, told_apps))
    })?;
    if told_apps {
        state.mail.now();
    }
    Ok(ended)
}

/// The account's live sessions, most recently used first.
pub async fn list(
    state: &AppState,
    signed_in: &SignedIn,
) -> Result<Vec<SessionSummary>, ServiceError> {
    let rows = sessions::live_of(
        &state.reads,
        signed_in.account.id,
        store::unix_now(),
        LIFETIME_SECONDS,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionSummary {
            current: row.id == signed_in.session_id,
            started_at: row.created_at,
            last_seen_at: row.last_seen_at,
            client_addr: row.client_addr,
            user_agent: row.user_agent,
        })
        .collect())
}
