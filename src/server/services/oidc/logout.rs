//! Grants end with the sessions and accounts they belong to, and the apps hear of it.
//!
//! When a Latchkey session ends (sign-out, RP-initiated logout), each app that was given a
//! grant in it and registered a `backchannel_logout_uri` is sent a logout token through the
//! outbox (durable and retried like mail; signed when sent). The session's grants end with
//! it, except those with `offline_access`, which were asked for precisely to outlive it. A
//! password change or reset, "End every session" and revoking an app end every grant they
//! reach, offline or not.

use super::{public_sid, ServiceError};
use crate::server::services::oidc_clients::Client;
use crate::server::state::AppState;
use crate::server::store::{self, oidc, oidc_clients, outbox, Db, Tx};
use serde::{Deserialize, Serialize};

/// The claims of an `id_token_hint` that matter here.
#[derive(Debug, Clone, Deserialize)]
pub struct HintClaims {
    pub sub: String,
    pub aud: Audience,
    #[serde(default)]
    pub sid: Option<String>,
}

/// `aud`: one client, or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl HintClaims {
    pub fn aud_includes(&self, client_id: &str) -> bool {
        match &self.aud {
            Audience::One(aud) => aud == client_id,
            Audience::Many(auds) => auds.iter().any(|aud| aud == client_id),
        }
    }

    /// The single client the hint was issued to.
    pub fn client(&self) -> Option<&str> {
        match &self.aud {
            Audience::One(aud) => Some(aud),
            Audience::Many(auds) if auds.len() == 1 => Some(&auds[0]),
            Audience::Many(_) => None,
        }
    }
}

/// An id_token this provider signed, expired or not (an `id_token_hint`). Access and logout
/// tokens carry another `typ` and are refused.
pub fn read_hint(state: &AppState, token: &str) -> Option<HintClaims> {
    state
        .oidc_keys
        .verify(token, Some("JWT"), super::issuer(state), true)
        .ok()
}

/// What a logout token says, before it is signed at sending time (`iat`, `exp` and `jti` are
/// added then, so a retried one is fresh).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutNotice {
    pub aud: String,
    pub sub: String,
    pub sid: String,
}

/// Queues a logout token for each app given a grant in these ended grants (once per app and
/// session).
async fn notify(tx: &mut Tx, ended: &[oidc::EndedGrant]) -> Result<bool, ServiceError> {
    let mut sent: Vec<(&str, &str)> = Vec::new();
    for grant in ended {
        let Some(uri) = &grant.backchannel_logout_uri else {
            continue;
        };
        if sent.contains(&(grant.client_id.as_str(), grant.session_id.as_str())) {
            continue;
        }
        sent.push((&grant.client_id, &grant.session_id));
        let notice = LogoutNotice {
            aud: grant.client_id.clone(),
            sub: super::subject_in(tx, grant.user_id).await?,
            sid: public_sid(&grant.session_id),
        };
        let body =
            serde_json::to_string(&notice).map_err(|e| ServiceError::Internal(e.to_string()))?;
        outbox::enqueue_backchannel_logout(&mut *tx, uri, &body).await?;
    }
    Ok(!sent.is_empty())
}

/// A session ended: its grants without `offline_access` end, and every app given a grant in
/// it is told. Returns whether a logout token was queued (wake the outbox worker then).
pub async fn session_ended(tx: &mut Tx, session_id: &str) -> Result<bool, ServiceError> {
    let now = store::unix_now();
    let live = oidc::live_grants_of_session(&mut *tx, session_id).await?;
    oidc::revoke_grants(&mut *tx, oidc::GrantsOf::SessionOnline(session_id), now).await?;
    notify(tx, &live).await
}

/// Sessions that ran out and still have apps with live grants end like signed-out ones: each
/// is deleted, its grants without `offline_access` end and its apps are told. (The purge
/// deletes the rest.) Reads `page_size` sessions at a time; returns how many were told of.
pub async fn sessions_over(db: &Db, now: i64, page_size: i64) -> Result<usize, ServiceError> {
    let mut told = 0;
    // Every one, page by page: the purge that follows would delete any left untold.
    let mut after = String::new();
    loop {
        let page =
            crate::server::store::sessions::over_with_live_grants(db, now, &after, page_size)
                .await?;
        for session_id in &page {
            if session_ran_out(db, session_id, now).await? {
                told += 1;
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == page_size => after = last.clone(),
            _ => return Ok(told),
        }
    }
}

/// One session that is over at `now` is deleted and its apps are told, in one transaction;
/// returns whether this call did it. Each node runs its own purge pass: one that read the same
/// page finds the session gone and tells nobody a second time (an offline grant stays live, so
/// the session would otherwise still qualify).
pub async fn session_ran_out(db: &Db, session_id: &str, now: i64) -> Result<bool, ServiceError> {
    crate::server::services::write_tx!(*db, |tx| {
        if !crate::server::store::sessions::delete_if_over(&mut *tx, session_id, now).await? {
            return Ok(false);
        }
        session_ended(tx, session_id).await?;
        Ok(true)
    })
}

/// Every grant of an account ends (password changed or reset, every session ended), and the
/// apps are told. Returns whether a logout token was queued.
pub async fn account_grants_ended(tx: &mut Tx, user_id: i64) -> Result<bool, ServiceError> {
    let now = store::unix_now();
    let ended = oidc::revoke_grants(&mut *tx, oidc::GrantsOf::Account(user_id), now).await?;
    notify(tx, &ended).await
}

/// A person revoked an app's access: its grants end, its consent is forgotten (it asks
/// again next time), and the app is told of the sessions it was in.
pub async fn revoke_app(
    state: &AppState,
    user_id: i64,
    client_id: &str,
) -> Result<bool, ServiceError> {
    let now = store::unix_now();
    let (queued, forgotten) = crate::server::services::write_tx!(state.db, |tx| {
        let which = oidc::GrantsOf::AccountAndClient(user_id, client_id);
        let ended = oidc::revoke_grants(&mut *tx, which, now).await?;
        let forgotten = oidc::forget_consent(&mut *tx, user_id, client_id).await?;
        let queued = notify(tx, &ended).await?;
        Ok((queued, forgotten > 0 || !ended.is_empty()))
    })?;
    if queued {
        state.mail.now();
    }
    Ok(forgotten)
}

/// What RP-initiated logout does, once the browser's session (if any) is dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterLogout {
    /// Back to the app, at a post-logout URI registered for the client the hint names.
    App(String),
    /// Latchkey's "you are signed out" page.
    SignedOutPage,
    /// A session is open that the request did not prove it may end (no valid hint, or a hint
    /// of another session): the person is asked on Latchkey's page.
    Confirm,
}

/// What an RP-initiated logout request asks, checked.
pub struct LogoutRequest {
    pub hint: Option<HintClaims>,
    pub client: Option<Client>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// Checks an RP-initiated logout request: the hint's signature (an expired one will do), and
/// the post-logout URI against the client the hint names.
pub async fn check_logout(
    state: &AppState,
    id_token_hint: Option<&str>,
    client_id: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
    state_param: Option<&str>,
) -> Result<LogoutRequest, ServiceError> {
    if id_token_hint.is_some() {
        super::keys::ensure(state).await?;
    }
    let hint = id_token_hint.and_then(|token| read_hint(state, token));
    // A client_id that contradicts the hint voids the hint's say over where to go.
    let hinted_client = hint
        .as_ref()
        .and_then(|h| h.client())
        .filter(|hinted| client_id.is_none_or(|asked| asked == *hinted));
    let client = match hinted_client {
        Some(id) => oidc_clients::find(&state.db, id).await?.map(Client::from),
        None => None,
    };
    let post_logout_redirect_uri = post_logout_redirect_uri
        .filter(|uri| {
            client
                .as_ref()
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri))
        })
        .map(str::to_owned);
    Ok(LogoutRequest {
        hint,
        client,
        post_logout_redirect_uri,
        state: state_param.map(str::to_owned),
    })
}

impl LogoutRequest {
    /// Whether the hint names this browser's session: then the request may end it at once.
    pub fn names_session(&self, session_id: &str) -> bool {
        self.hint
            .as_ref()
            .and_then(|h| h.sid.as_deref())
            .is_some_and(|sid| sid == public_sid(session_id))
    }

    /// Where the browser goes once signed out.
    pub fn destination(&self) -> AfterLogout {
        match &self.post_logout_redirect_uri {
            Some(uri) => {
                let mut url = url::Url::parse(uri).expect("registered URIs are absolute");
                if let Some(state) = &self.state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                AfterLogout::App(url.into())
            }
            None => AfterLogout::SignedOutPage,
        }
    }
}
