//! Session tokens: HS256 JWTs valid 24 hours (SPEC §2.3, §7).

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// Minimum secret length: HS256 is only as strong as its key (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;
const AUDIENCE: &str = "latchkey";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The account's `token_version` when issued; a later password change bumps it.
    pub tv: i64,
    /// The session row this token belongs to: signing out deletes it, and the token with it.
    pub sid: String,
}

/// A freshly signed token and the moment it stops working.
#[derive(Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Clone)]
pub struct SessionTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the session token is missing, malformed, expired or revoked")]
    Invalid,
    #[error("the token secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
}

impl SessionTokens {
    pub fn new(secret: &[u8], issuer: &str) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(TokenError::WeakSecret);
        }
        // Only HS256 is accepted: no "none", no algorithm chosen by the token itself.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Tokens from before sessions were rows carry no `sid` and fail to decode: their
        // holders sign in again.
        validation.leeway = 30;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
        })
    }

    /// A token for session `sid`, valid 24 hours but never past `not_after` (Unix seconds), the
    /// session's own end.
    pub fn issue(
        &self,
        account_id: i64,
        token_version: i64,
        sid: &str,
        not_after: i64,
    ) -> IssuedToken {
        let now = OffsetDateTime::now_utc();
        let full = now + time::Duration::seconds(LIFETIME_SECONDS);
        let expires_at = match OffsetDateTime::from_unix_timestamp(not_after) {
            Ok(end) if end < full => end,
            _ => full,
        };
        let claims = Claims {
            sub: account_id.to_string(),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            tv: token_version,
            sid: sid.to_owned(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail");
        IssuedToken {
            token,
            expires_at: expires_at.replace_nanosecond(0).expect("zero nanoseconds"),
        }
    }

    /// Checks signature, algorithm, expiry, issuer and audience. The token version is checked
    /// against the account by the caller, which has the account at hand.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> SessionTokens {
        SessionTokens::new(SECRET, "http://127.0.0.1:3000").unwrap()
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let issued = tokens().issue(42, 3, "s1", i64::MAX);
        let claims = tokens().verify(&issued.token).unwrap();
        assert_eq!(claims.sub, "42");
        assert_eq!(claims.tv, 3);
        assert_eq!(claims.sid, "s1");
        assert_eq!(claims.exp - claims.iat, LIFETIME_SECONDS);
        assert_eq!(claims.exp, issued.expires_at.unix_timestamp());
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let issued = tokens().issue(1, 0, "s", now + 600);
        let claims = tokens().verify(&issued.token).unwrap();
        assert_eq!(claims.exp, now + 600);
        assert_eq!(issued.expires_at.unix_timestamp(), now + 600);
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            SessionTokens::new(b"too short", "x"),
            Err(TokenError::WeakSecret)
        ));
    }

    #[test]
    fn tokens_signed_with_another_secret_or_issuer_are_refused() {
        let other_secret =
            SessionTokens::new(b"ffffffffffffffffffffffffffffffff", "http://127.0.0.1:3000")
                .unwrap();
        assert!(tokens()
            .verify(&other_secret.issue(1, 0, "s", i64::MAX).token)
            .is_err());
        let other_issuer = SessionTokens::new(SECRET, "https://elsewhere.example").unwrap();
        assert!(tokens()
            .verify(&other_issuer.issue(1, 0, "s", i64::MAX).token)
            .is_err());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: "1".into(),
            iss: "http://127.0.0.1:3000".into(),
            aud: AUDIENCE.into(),
            iat: now - 2 * LIFETIME_SECONDS,
            exp: now - LIFETIME_SECONDS,
            tv: 0,
            sid: "s".into(),
        };
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(tokens().verify(&token).is_err());
    }

    #[test]
    fn unsigned_and_other_algorithm_tokens_are_refused() {
        let issued = tokens().issue(1, 0, "s", i64::MAX).token;
        let payload = issued.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(tokens().verify(&none).is_err());
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &tokens().verify(&issued).unwrap(),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(tokens().verify(&hs512).is_err());
    }

    #[test]
    fn garbage_is_refused() {
        for junk in ["", "a.b.c", "not a token", "....."] {
            assert!(tokens().verify(junk).is_err());
        }
    }
}
