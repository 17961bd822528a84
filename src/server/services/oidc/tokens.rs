//! The token endpoint (authorization codes and refresh tokens), userinfo and revocation.

use super::authorize::is_pkce_value;
use super::{
    acr_of, public_sid, ErrorCode, OAuthError, ACCESS_TOKEN_SECONDS, GRANT_IDLE_SECONDS,
    ID_TOKEN_SECONDS, REFRESH_GRACE_SECONDS,
};
use crate::server::crypto::link_token;
use crate::server::crypto::oidc_keys::KeyAlg;
use crate::server::services::throttle;
use crate::server::services::ServiceError;
use crate::server::state::AppState;
use crate::server::store::audit::RequestMeta;
use crate::server::store::oidc::{self, CodeUse, GrantAndAccount, GrantsOf};
use crate::server::store::oidc_clients::{self, ClientRow};
use crate::server::store::users::AccountRow;
use crate::server::store::Tx;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How a client presented itself at the token or revocation endpoint.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// Sent in the `Authorization: Basic` header (`client_secret_basic`).
    pub basic: bool,
}

/// Failed client authentications one client may cause a minute before it is answered 429: an
/// app's 256-bit secret cannot be guessed, so the limit is about the work they cause, and a
/// correct secret still passes (else anyone could cut an app off).
const CLIENT_FAILURES_PER_MINUTE: i64 = 30;

fn invalid_client() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidClient,
        "client authentication failed (unknown client, or a wrong or missing secret)",
    )
}

/// Authenticates the client: a confidential client by its secret (header or body, as it was
/// registered to either), a public one by its id (it proves itself with PKCE). Failures are
/// counted per client address (locked like sign-ins) and per client.
pub async fn authenticate(
    state: &AppState,
    presented: &ClientCredentials,
    meta: &RequestMeta,
) -> Result<ClientRow, OAuthError> {
    let address_key = format!(
        "oidc-client-addr:{}",
        meta.client_addr.as_deref().unwrap_or("unknown")
    );
    throttle::refuse_while_locked(&state.db, &address_key).await?;
    let found = match &presented.client_id {
        Some(id) if id.len() <= 200 => oidc_clients::find(&state.db, id).await?,
        _ => None,
    };
    let accepted = found.filter(|client| match (&client.secret_hash, &presented.secret) {
        (None, None) => true,
        (Some(hash), Some(secret)) => same(&link_token::digest(secret), hash),
        _ => false,
    });
    if let Some(client) = accepted {
        return Ok(client);
    }
    throttle::admit_key(&state.db, &state.settings.login_policy, &address_key).await?;
    if let Some(id) = &presented.client_id {
        let key = format!("oidc-client-failures:{}", link_token::digest(id));
        state
            .limits
            .admit_key(&key, CLIENT_FAILURES_PER_MINUTE, 60_000)
            .await?;
    }
    Err(invalid_client())
}

/// Equal digests, compared without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The token endpoint's successful answer.
#[derive(Debug, Clone, Serialize)]
pub struct TokenAnswer {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

fn invalid_grant(why: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, why)
}

/// `grant_type=authorization_code`. One transaction spends the code, reads its grant and
/// account, and stores the refresh token; a refusal after the code is spent still commits
/// (a spent code stays spent, and a reused one ends its grant).
pub async fn exchange_code(
    state: &AppState,
    client: &ClientRow,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenAnswer, OAuthError> {
    let code = code.ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "code is missing"))?;
    let code_hash = link_token::digest(code);
    // Before the code is spent: a node that cannot sign must not use it up.
    super::keys::ensure(state).await?;
    let now = super::now();
    let outcome = crate::server::services::write_tx!(state.db, |tx| {
        let code = match oidc::use_code(tx, &code_hash, now).await? {
            CodeUse::First(code) => code,
            CodeUse::Again { grant_id } => {
                // RFC 9700 §4.12: a code used twice was stolen, or replayed; end what it gave.
                let ended = oidc::revoke_grants(&mut *tx, GrantsOf::One(&grant_id), now).await?;
                if !ended.is_empty() {
                    tracing::warn!(grant = %grant_id, "an authorization code was used twice; its grant is revoked");
                }
                return Ok(Err(invalid_grant("the code was used already")));
            }
            CodeUse::Unknown => return Ok(Err(invalid_grant("the code is unknown"))),
        };
        let Some(found) = oidc::grant_and_account(&mut *tx, &code.grant_id).await? else {
            return Ok(Err(invalid_grant("the grant has ended")));
        };
        if let Err(refused) = redeemable(&code, &found, client, redirect_uri, verifier, now) {
            return Ok(Err(refused));
        }
        let refresh_token = match found.grant.scopes.split(' ').any(|s| s == "offline_access") {
            true => {
                let (token, hash) = link_token::generate();
                oidc::insert_refresh_token(&mut *tx, &hash, &found.grant.id, now).await?;
                Some(token)
            }
            false => None,
        };
        let subject = subject(tx, &found).await?;
        Ok(Ok((found, refresh_token, subject)))
    })?;
    let (found, refresh_token, subject) = outcome?;
    let scopes = found.grant.scopes.clone();
    answer(state, &found, &subject, &scopes, refresh_token, true, now)
}

/// Whether a code just spent may be exchanged by this client, with this redirect URI and
/// verifier, for a grant that still speaks for its account.
fn redeemable(
    code: &oidc::CodeRow,
    found: &GrantAndAccount,
    client: &ClientRow,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: i64,
) -> Result<(), OAuthError> {
    if found.grant.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if code.expires_at <= now {
        return Err(invalid_grant("the code has expired"));
    }
    if redirect_uri != Some(code.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) if is_pkce_value(verifier) => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !same(&computed, challenge) {
                return Err(invalid_grant("code_verifier does not match the challenge"));
            }
        }
        (Some(_), _) => return Err(invalid_grant("a valid code_verifier is required")),
        // A verifier without a challenge: a PKCE downgrade (RFC 9700 §2.1.1).
        (None, Some(_)) => return Err(invalid_grant("this code was issued without PKCE")),
        (None, None) => {}
    }
    speaks_for_account(found)
}

/// Whether the grant still speaks for its account: not revoked, the account enabled, its
/// password unchanged since.
fn speaks_for_account(found: &GrantAndAccount) -> Result<(), OAuthError> {
    if found.grant.revoked_at.is_some() {
        return Err(invalid_grant("the grant was revoked"));
    }
    if !found.account.account_enabled || found.account.token_version != found.grant.token_version {
        return Err(invalid_grant("the grant has ended"));
    }
    Ok(())
}

/// The account's subject: as read with the grant, or made now (the first token an app gets).
async fn subject(tx: &mut Tx, found: &GrantAndAccount) -> Result<String, ServiceError> {
    Ok(match &found.subject {
        Some(subject) => subject.clone(),
        None => super::subject_in(tx, found.account.id).await?,
    })
}

/// `grant_type=refresh_token`: the token is rotated; its predecessor is accepted again only
/// within [`REFRESH_GRACE_SECONDS`], and a replay after that ends the whole grant. One
/// transaction, committed for a refusal too (a replay's revocation must stay).
pub async fn refresh(
    state: &AppState,
    client: &ClientRow,
    refresh_token: Option<&str>,
    scope: Option<&str>,
) -> Result<TokenAnswer, OAuthError> {
    let presented = refresh_token
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "refresh_token is missing"))?;
    let hash = link_token::digest(presented);
    super::keys::ensure(state).await?;
    let now = super::now();
    let outcome = crate::server::services::write_tx!(state.db, |tx| {
        let Some((found, replaced_at)) = oidc::refresh_grant_and_account(&mut *tx, &hash).await?
        else {
            return Ok(Err(invalid_grant("the refresh token is unknown")));
        };
        if found.grant.client_id != client.client_id {
            return Ok(Err(invalid_grant(
                "the refresh token was issued to another client",
            )));
        }
        if replaced_at.is_some_and(|at| now - at > REFRESH_GRACE_SECONDS) {
            oidc::revoke_grants(&mut *tx, GrantsOf::One(&found.grant.id), now).await?;
            tracing::warn!(grant = %found.grant.id, "a replaced refresh token was replayed; its grant is revoked");
            return Ok(Err(invalid_grant("the refresh token was used already")));
        }
        if now - found.grant.last_used_at > GRANT_IDLE_SECONDS {
            return Ok(Err(invalid_grant("the refresh token has expired")));
        }
        if let Err(refused) = speaks_for_account(&found) {
            return Ok(Err(refused));
        }
        let scopes = match scope {
            None => found.grant.scopes.clone(),
            Some(asked) => {
                let granted: Vec<&str> = found.grant.scopes.split(' ').collect();
                if asked.split(' ').any(|s| !granted.contains(&s)) {
                    return Ok(Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "scope asks for more than was granted",
                    )));
                }
                asked.to_owned()
            }
        };
        let (next, next_hash) = link_token::generate();
        oidc::replace_refresh_token(&mut *tx, &hash, now).await?;
        oidc::insert_refresh_token(&mut *tx, &next_hash, &found.grant.id, now).await?;
        oidc::touch_grant(&mut *tx, &found.grant.id, now).await?;
        let subject = subject(tx, &found).await?;
        Ok(Ok((found, scopes, next, subject)))
    })?;
    let (found, scopes, next, subject) = outcome?;
    answer(state, &found, &subject, &scopes, Some(next), false, now)
}

/// An access token's claims (RFC 9068).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    pub auth_time: i64,
    /// The grant it speaks for: userinfo accepts it only while that grant lives.
    pub gid: String,
}

/// Signs the tokens for a grant. `with_nonce`: only the code's answer repeats the request's
/// nonce; a refreshed id_token carries none.
fn answer(
    state: &AppState,
    found: &GrantAndAccount,
    sub: &str,
    scopes: &str,
    refresh_token: Option<String>,
    with_nonce: bool,
    now: i64,
) -> Result<TokenAnswer, OAuthError> {
    let (grant, account) = (&found.grant, &found.account);
    let issuer = super::issuer(state).to_owned();
    let access = AccessClaims {
        iss: issuer.clone(),
        sub: sub.to_owned(),
        aud: issuer.clone(),
        client_id: grant.client_id.clone(),
        exp: now + ACCESS_TOKEN_SECONDS,
        iat: now,
        jti: super::random_id(),
        scope: scopes.to_owned(),
        auth_time: grant.auth_time,
        gid: grant.id.clone(),
    };
    let keys = &state.oidc_keys;
    let signing_failed = |e: crate::server::crypto::oidc_keys::OidcKeyError| {
        OAuthError::from(ServiceError::Internal(e.to_string()))
    };
    let access_token = keys
        .sign(KeyAlg::Es256, Some("at+jwt"), &access, now)
        .map_err(signing_failed)?;
    let digest = Sha256::digest(access_token.as_bytes());
    let mut id = serde_json::Map::new();
    id.insert("iss".into(), issuer.into());
    id.insert("sub".into(), sub.into());
    id.insert("aud".into(), grant.client_id.clone().into());
    id.insert("azp".into(), grant.client_id.clone().into());
    id.insert("exp".into(), (now + ID_TOKEN_SECONDS).into());
    id.insert("iat".into(), now.into());
    id.insert("auth_time".into(), grant.auth_time.into());
    id.insert("sid".into(), public_sid(&grant.session_id).into());
    id.insert(
        "amr".into(),
        grant.amr.split(' ').collect::<Vec<_>>().into(),
    );
    id.insert("acr".into(), acr_of(&grant.amr).into());
    id.insert(
        "at_hash".into(),
        URL_SAFE_NO_PAD.encode(&digest[..16]).into(),
    );
    if let (true, Some(nonce)) = (with_nonce, &grant.nonce) {
        id.insert("nonce".into(), nonce.clone().into());
    }
    for (claim, value) in profile_claims(account, scopes) {
        id.insert(claim.into(), value);
    }
    let id_token = keys
        .sign(KeyAlg::Rs256, None, &id, now)
        .map_err(signing_failed)?;
    Ok(TokenAnswer {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        id_token,
        refresh_token,
        scope: scopes.to_owned(),
    })
}

/// The claims the granted scopes give, beyond the subject.
fn profile_claims(account: &AccountRow, scopes: &str) -> Vec<(&'static str, serde_json::Value)> {
    let has = |scope: &str| scopes.split(' ').any(|s| s == scope);
    let mut claims = Vec::new();
    if has("profile") {
        claims.push(("preferred_username", account.username.clone().into()));
        let locale = crate::i18n::Language::from_tag(&account.preferred_language).tag();
        claims.push(("locale", locale.into()));
        let updated = time::OffsetDateTime::parse(
            &account.updated_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|t| t.unix_timestamp())
        .unwrap_or(0);
        claims.push(("updated_at", updated.into()));
    }
    if has("email") {
        claims.push(("email", account.email.clone().into()));
        claims.push(("email_verified", account.email_verified.into()));
    }
    if has("phone") {
        if let (Some(code), Some(number)) = (&account.phone_country_code, &account.phone_number) {
            claims.push(("phone_number", format!("+{code}{number}").into()));
            claims.push(("phone_number_verified", account.phone_verified.into()));
        }
    }
    claims
}

fn invalid_token(why: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, why)
}

/// The claims userinfo answers for a bearer access token, while its grant, account and (for a
/// grant without `offline_access`) session are alive.
pub async fn userinfo(
    state: &AppState,
    bearer: Option<&str>,
) -> Result<serde_json::Map<String, serde_json::Value>, OAuthError> {
    let bearer = bearer.ok_or_else(|| invalid_token("no access token"))?;
    super::keys::ensure(state).await?;
    let claims: AccessClaims = state
        .oidc_keys
        .verify(bearer, Some("at+jwt"), super::issuer(state), false)
        .map_err(|_| invalid_token("the access token is invalid or has expired"))?;
    let now = super::now();
    let (account, _, _) = oidc::userinfo_of(&state.reads, &claims.gid, now)
        .await
        .map_err(ServiceError::from)?
        .filter(|(_, scopes, session_alive)| {
            *session_alive || scopes.split(' ').any(|s| s == "offline_access")
        })
        .ok_or_else(|| invalid_token("the access token's grant has ended"))?;
    let mut answer = serde_json::Map::new();
    answer.insert("sub".into(), claims.sub.into());
    for (claim, value) in profile_claims(&account, &claims.scope) {
        answer.insert(claim.into(), value);
    }
    Ok(answer)
}

/// RFC 7009: ends the grant a refresh or access token of this client belongs to. Unknown
/// tokens, and tokens of other clients, are answered alike (success) and change nothing.
pub async fn revoke(
    state: &AppState,
    client: &ClientRow,
    token: Option<&str>,
) -> Result<(), OAuthError> {
    let token =
        token.ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "token is missing"))?;
    super::keys::ensure(state).await?;
    let grant_id = match oidc::find_refresh_token(&state.db, &link_token::digest(token)).await? {
        Some(found) => Some(found.grant_id),
        None => state
            .oidc_keys
            .verify::<AccessClaims>(token, Some("at+jwt"), super::issuer(state), true)
            .ok()
            .map(|claims| claims.gid),
    };
    let Some(grant_id) = grant_id else {
        return Ok(());
    };
    let grant = oidc::find_grant(&state.db, &grant_id).await?;
    if grant.is_some_and(|g| g.client_id == client.client_id) {
        oidc::revoke_grants(&state.db, GrantsOf::One(&grant_id), super::now()).await?;
    }
    Ok(())
}
