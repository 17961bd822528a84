//! The OpenID Connect provider: other apps send their users here to sign in, and get back an
//! authorization code, then tokens that say who signed in and how.
//!
//! - [`authorize`]: the authorization request checked, the sign-in and consent it may need,
//!   and the code that answers it;
//! - [`tokens`]: the token endpoint (codes and refresh tokens), userinfo and revocation;
//! - [`logout`]: grants ended with the sessions they were given in, back-channel logout
//!   tokens queued for the apps, and RP-initiated logout;
//! - [`keys`]: the RS256 keys, kept in the database like the session keys.
//!
//! Every step's state is in the database (requests, grants, codes, refresh tokens), so any
//! node serves any step of a flow another began.

pub mod authorize;
pub mod keys;
pub mod logout;
pub mod tokens;

use super::ServiceError;
use crate::server::state::AppState;
use crate::server::store::{self, oidc, Db, Tx};
use sha2::{Digest, Sha256};

/// An id_token's life.
pub const ID_TOKEN_SECONDS: i64 = 3600;
/// An access token's life (RFC 9068 JWT).
pub const ACCESS_TOKEN_SECONDS: i64 = 600;
/// An authorization code's life.
pub const CODE_SECONDS: i64 = 60;
/// How long an authorization may wait for its sign-in or consent.
pub const REQUEST_SECONDS: i64 = 600;
/// How long a replaced refresh token is still accepted: two tabs refreshing at once.
pub const REFRESH_GRACE_SECONDS: i64 = 10;
/// A grant unused this long ends (its refresh tokens with it).
pub const GRANT_IDLE_SECONDS: i64 = 30 * 24 * 3600;

/// The scopes Latchkey knows; others are dropped from a grant, not refused.
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];
/// The claims those scopes give.
pub const CLAIMS: [&str; 19] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "azp",
    "amr",
    "acr",
    "preferred_username",
    "locale",
    "updated_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
];
/// `acr` of a sign-in with two factors, and what `acr_values` asks for to require one.
pub const ACR_MFA: &str = "mfa";
/// `acr` of a sign-in with one factor.
pub const ACR_ONE_FACTOR: &str = "pwd";

/// The provider's issuer identifier: the public URL, exactly.
pub fn issuer(state: &AppState) -> &str {
    &state.settings.public_url
}

/// The error codes of RFC 6749, OpenID Connect Core and RFC 7009 that Latchkey answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    AccessDenied,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    UnmetAuthenticationRequirements,
    InvalidToken,
    UnsupportedTokenType,
    TemporarilyUnavailable,
    ServerError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
        }
    }
}

/// A refusal in OAuth's terms: a code and words for the developer reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// Seconds to wait, for a refusal that is a limit or a busy database.
    pub retry_after: Option<i64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            retry_after: None,
        }
    }
}

impl From<ServiceError> for OAuthError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::RateLimited { retry_after } => OAuthError {
                code: ErrorCode::TemporarilyUnavailable,
                description: format!("too many attempts; try again in {retry_after} seconds"),
                retry_after: Some(retry_after),
            },
            ServiceError::Contended => OAuthError {
                code: ErrorCode::TemporarilyUnavailable,
                description: "the server is busy; try again".into(),
                retry_after: Some(1),
            },
            other => {
                tracing::error!("oidc: {other}");
                OAuthError::new(ErrorCode::ServerError, "the server could not answer")
            }
        }
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(error: sqlx::Error) -> Self {
        ServiceError::from(error).into()
    }
}

/// The subject an app knows an account by: random, made the first time an app asks. Read
/// first: every token answer needs it, and only the first may write.
pub async fn subject_of(db: &Db, user_id: i64) -> Result<String, sqlx::Error> {
    if let Some(known) = oidc::known_subject(db, user_id).await? {
        return Ok(known);
    }
    oidc::subject_of(db, user_id, &fresh_subject()).await
}

/// A new subject: 22 characters (128 random bits), plenty for a name that is not a secret.
fn fresh_subject() -> String {
    let (random, _) = crate::server::crypto::link_token::generate();
    random[..22].to_owned()
}

/// [`subject_of`] inside a transaction.
pub async fn subject_in(tx: &mut Tx, user_id: i64) -> Result<String, sqlx::Error> {
    if let Some(known) = oidc::known_subject(&mut *tx, user_id).await? {
        return Ok(known);
    }
    oidc::subject_of(&mut *tx, user_id, &fresh_subject()).await
}

/// The `sid` apps see for a session: derived from the session's id, never the id itself
/// (which names the row a session token points at).
pub fn public_sid(session_id: &str) -> String {
    let digest = Sha256::digest(format!("oidc-sid:{session_id}").as_bytes());
    hex::encode(&digest[..16])
}

/// A random identifier for a grant or a waiting request (128 bits).
pub fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `acr` for a sign-in's `amr`.
pub fn acr_of(amr: &str) -> &'static str {
    if amr.split(' ').any(|m| m == "mfa") {
        ACR_MFA
    } else {
        ACR_ONE_FACTOR
    }
}

/// The scopes granted of those asked: known ones only, each once, in the order asked.
pub fn known_scopes(asked: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in asked.split(' ').filter(|s| SCOPES.contains(s)) {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

/// Now, in Unix seconds (one place, so a flow's steps agree).
pub(crate) fn now() -> i64 {
    store::unix_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scopes_are_dropped_and_repeats_folded() {
        assert_eq!(
            known_scopes("openid address email openid my:own offline_access"),
            vec!["openid", "email", "offline_access"]
        );
        assert!(known_scopes("").is_empty());
    }

    #[test]
    fn the_public_sid_is_stable_and_not_the_session_id() {
        let sid = public_sid("abc");
        assert_eq!(sid, public_sid("abc"));
        assert_ne!(sid, public_sid("abd"));
        assert!(!sid.contains("abc"));
        assert_eq!(sid.len(), 32);
    }

    #[test]
    fn two_factors_make_acr_mfa() {
        assert_eq!(acr_of("pwd otp mfa"), ACR_MFA);
        assert_eq!(acr_of("pwd"), ACR_ONE_FACTOR);
        assert_eq!(acr_of("hwk mfa"), ACR_MFA);
    }
}
