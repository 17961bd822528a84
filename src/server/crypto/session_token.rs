//! Session tokens: HS256 JWTs valid 24 hours.

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
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

/// One HS256 key, named by the `kid` its tokens carry.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
    /// Unix seconds from which this key signs (the newest such key signs; every known key
    /// verifies). A rotated-in key is announced before it signs, so every node knows it first.
    pub signs_from: i64,
}

/// The keys tokens are signed and verified with. Held behind a lock so a rotation (another
/// process's `latchkey keys rotate`) can be taken in while the server runs.
struct KeyRing {
    signing: Vec<(String, EncodingKey, i64)>,
    verifying: HashMap<String, DecodingKey>,
    /// Tokens these keys verified, with their claims. Every signed-in request checks its token,
    /// and decoding it (base64 and JSON, the header twice) was some 15 % of a signed-in read's
    /// CPU; a token seen again is a lookup. A verified token stays valid for as long as its key
    /// verifies, bar its expiry, which a hit checks again. The memo lives in the ring, so taking
    /// in the keys again (every minute, `signing_keys::keep_current`) starts it afresh: a key
    /// deleted from the database stops verifying tokens as soon as it did before. What a token
    /// stands for (its session, the account's token version) is still read on every request.
    verified: Mutex<HashMap<String, Claims>>,
}

/// How many verified tokens the memo holds before it starts afresh: the tokens in use at once,
/// on a busy node, at ~0.5 KiB each.
const VERIFIED_MEMO_ENTRIES: usize = 2048;

pub struct SessionTokens {
    keys: RwLock<KeyRing>,
    validation: Validation,
    issuer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the session token is missing, malformed, expired or revoked")]
    Invalid,
    #[error("the token secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
    #[error("there is no signing key")]
    NoKey,
}

impl KeyRing {
    fn new(keys: &[SigningKey]) -> Result<Self, TokenError> {
        if keys.is_empty() {
            return Err(TokenError::NoKey);
        }
        if keys.iter().any(|k| k.secret.len() < MIN_SECRET_BYTES) {
            return Err(TokenError::WeakSecret);
        }
        let mut signing: Vec<_> = keys
            .iter()
            .map(|k| {
                (
                    k.kid.clone(),
                    EncodingKey::from_secret(&k.secret),
                    k.signs_from,
                )
            })
            .collect();
        // Newest first; among keys that start together, the kid decides, the same on every node.
        signing.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| b.0.cmp(&a.0)));
        let verifying = keys
            .iter()
            .map(|k| (k.kid.clone(), DecodingKey::from_secret(&k.secret)))
            .collect();
        Ok(KeyRing {
            signing,
            verifying,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// The key that signs at `now`: the newest that has started (the oldest if none has).
    fn signer(&self, now: i64) -> (&str, &EncodingKey) {
        let (kid, key, _) = self
            .signing
            .iter()
            .find(|(_, _, from)| *from <= now)
            .unwrap_or_else(|| self.signing.last().expect("a key ring is never empty"));
        (kid, key)
    }
}

impl SessionTokens {
    /// Tokens signed with the newest started key of `keys` and verified with any of them.
    pub fn new(keys: &[SigningKey], issuer: &str) -> Result<Self, TokenError> {
        // Only HS256 is accepted: no "none", no algorithm chosen by the token itself.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[issuer]);
        // Tokens from before sessions were rows carry no `sid` and fail to decode: their
        // holders sign in again.
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Ok(Self {
            keys: RwLock::new(KeyRing::new(keys)?),
            validation,
            issuer: issuer.to_owned(),
        })
    }

    /// Takes in the current set of keys (after a rotation).
    pub fn replace_keys(&self, keys: &[SigningKey]) -> Result<(), TokenError> {
        let ring = KeyRing::new(keys)?;
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = ring;
        Ok(())
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
        let ring = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (kid, key) = ring.signer(now.unix_timestamp());
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        let token = encode(&header, &claims, key).expect("HS256 signing cannot fail");
        IssuedToken {
            token,
            expires_at: expires_at.replace_nanosecond(0).expect("zero nanoseconds"),
        }
    }

    /// Checks the key (by `kid`), signature, algorithm, expiry, issuer and audience. The token
    /// version and session are checked by the caller, which reads them.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, OffsetDateTime::now_utc().unix_timestamp())
    }

    /// [`verify`](Self::verify), with `now` (Unix seconds) the moment a remembered token's
    /// expiry is checked against; a token not seen before is checked by jsonwebtoken, on the
    /// system clock.
    fn verify_at(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let ring = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(claims) = ring.remembered(token) {
            // The same test jsonwebtoken applies: expired once `exp` is over the leeway ago.
            return if claims.exp >= now - self.validation.leeway as i64 {
                Ok(claims)
            } else {
                Err(TokenError::Invalid)
            };
        }
        let kid = decode_header(token)
            .ok()
            .and_then(|header| header.kid)
            .ok_or(TokenError::Invalid)?;
        let key = ring.verifying.get(&kid).ok_or(TokenError::Invalid)?;
        let claims = decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)?;
        ring.remember(token, &claims);
        Ok(claims)
    }
}

impl KeyRing {
    fn remembered(&self, token: &str) -> Option<Claims> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(token)
            .cloned()
    }

    fn remember(&self, token: &str, claims: &Claims) {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if verified.len() >= VERIFIED_MEMO_ENTRIES {
            verified.clear();
        }
        verified.insert(token.to_owned(), claims.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn key(kid: &str, secret: &[u8], signs_from: i64) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            secret: secret.to_vec(),
            signs_from,
        }
    }

    fn tokens() -> SessionTokens {
        SessionTokens::new(&[key("k1", SECRET, 0)], "http://127.0.0.1:3000").unwrap()
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
            SessionTokens::new(&[key("k", b"too short", 0)], "x"),
            Err(TokenError::WeakSecret)
        ));
        assert!(matches!(
            SessionTokens::new(&[], "x"),
            Err(TokenError::NoKey)
        ));
    }

    #[test]
    fn tokens_signed_with_another_secret_or_issuer_are_refused() {
        let other_secret = SessionTokens::new(
            &[key("k1", b"ffffffffffffffffffffffffffffffff", 0)],
            "http://127.0.0.1:3000",
        )
        .unwrap();
        assert!(tokens()
            .verify(&other_secret.issue(1, 0, "s", i64::MAX).token)
            .is_err());
        let other_issuer =
            SessionTokens::new(&[key("k1", SECRET, 0)], "https://elsewhere.example").unwrap();
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let token = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(tokens().verify(&token).is_err());
    }

    #[test]
    fn a_rotated_in_key_signs_once_it_starts_and_the_old_one_still_verifies() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let old = key("old", SECRET, 0);
        let announced = key("new", b"ffffffffffffffffffffffffffffffff", now + 120);
        let tokens = SessionTokens::new(&[old.clone(), announced.clone()], "i").unwrap();
        let before = tokens.issue(1, 0, "s", i64::MAX).token;
        assert_eq!(decode_header(&before).unwrap().kid.as_deref(), Some("old"));

        let started = key("new", b"ffffffffffffffffffffffffffffffff", now - 1);
        tokens.replace_keys(&[old, started.clone()]).unwrap();
        let after = tokens.issue(1, 0, "s", i64::MAX).token;
        assert_eq!(decode_header(&after).unwrap().kid.as_deref(), Some("new"));
        assert!(
            tokens.verify(&before).is_ok(),
            "the old key verifies until it is dropped"
        );
        assert!(tokens.verify(&after).is_ok());

        tokens.replace_keys(&[started]).unwrap();
        assert!(
            tokens.verify(&before).is_err(),
            "a dropped key verifies nothing"
        );
    }

    #[test]
    fn a_remembered_token_still_expires_and_an_altered_one_is_checked_afresh() {
        let tokens = tokens();
        let issued = tokens.issue(1, 0, "s", i64::MAX);
        let exp = issued.expires_at.unix_timestamp();
        assert!(tokens.verify(&issued.token).is_ok());
        assert!(tokens
            .keys
            .read()
            .unwrap()
            .remembered(&issued.token)
            .is_some());
        assert!(tokens.verify_at(&issued.token, exp + 30).is_ok());
        assert!(
            tokens.verify_at(&issued.token, exp + 31).is_err(),
            "a remembered token outlived its expiry"
        );

        let mut altered = issued.token.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(tokens.verify(&altered).is_err());
        assert!(tokens.keys.read().unwrap().remembered(&altered).is_none());
    }

    #[test]
    fn the_memo_of_verified_tokens_stays_bounded() {
        let tokens = tokens();
        for session in 0..=VERIFIED_MEMO_ENTRIES {
            let issued = tokens.issue(1, 0, &format!("s{session}"), i64::MAX);
            assert!(tokens.verify(&issued.token).is_ok());
        }
        let held = tokens.keys.read().unwrap().verified.lock().unwrap().len();
        assert!(
            (1..=VERIFIED_MEMO_ENTRIES).contains(&held),
            "{held} tokens held"
        );
    }

    #[test]
    fn tokens_without_a_known_kid_are_refused() {
        let claims = tokens()
            .verify(&tokens().issue(1, 0, "s", i64::MAX).token)
            .unwrap();
        let bare = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(tokens().verify(&bare).is_err());
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("somebody else's".into());
        let foreign = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(tokens().verify(&foreign).is_err());
    }

    #[test]
    fn unsigned_and_other_algorithm_tokens_are_refused() {
        let issued = tokens().issue(1, 0, "s", i64::MAX).token;
        let payload = issued.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(tokens().verify(&none).is_err());
        // Known key, other algorithm.
        let mut header = Header::new(Algorithm::HS512);
        header.kid = Some("k1".into());
        let hs512 = encode(
            &header,
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
