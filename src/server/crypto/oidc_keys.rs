//! The OpenID Connect provider's RS256 keys: they sign id_tokens, access tokens (RFC 9068) and
//! back-channel logout tokens, and are published as a JWKS for apps to verify them.
//!
//! Like the session keys, each has a `kid` and a moment from which it signs; the newest key
//! that has started signs, and every key in the ring verifies and is published. Signatures
//! (PKCS#1 v1.5 with SHA-256) are `ring`'s, constant-time, with the key parsed once per ring:
//! jsonwebtoken (RustCrypto's `rsa`) parsed the DER at every signature and took some 1.3 ms
//! per token, most of an authorization's cost. Keys are made by `rsa`; verifying is
//! jsonwebtoken's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// Clock difference tolerated on a token's expiry.
const LEEWAY_SECONDS: i64 = 30;

/// The modulus size of keys made here: 2048 bits, what RS256 requires at least and what every
/// relying-party library accepts.
pub const KEY_BITS: usize = 2048;

/// One key as stored: its name, its private half, and when it starts signing.
#[derive(Clone)]
pub struct OidcKey {
    pub kid: String,
    /// PKCS#1 DER of the private key.
    pub private_der: Vec<u8>,
    pub signs_from: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcKeyError {
    #[error("there is no OpenID Connect signing key yet")]
    NoKey,
    #[error("a stored OpenID Connect key is unreadable: {0}")]
    Unreadable(String),
    #[error("the token is malformed, wrongly signed, expired or not for us")]
    Invalid,
}

/// A fresh key's private half (PKCS#1 DER). Takes a noticeable fraction of a second: call it
/// off the async threads.
pub fn generate() -> Result<Vec<u8>, OidcKeyError> {
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
        .map_err(|e| OidcKeyError::Unreadable(e.to_string()))?;
    let der = key
        .to_pkcs1_der()
        .map_err(|e| OidcKeyError::Unreadable(e.to_string()))?;
    Ok(der.as_bytes().to_vec())
}

struct Ring {
    /// Newest first: (kid, key, signs_from).
    signing: Vec<(String, RsaKeyPair, i64)>,
    verifying: HashMap<String, DecodingKey>,
    /// The JWKS document, made once per ring.
    jwks: String,
    /// Tokens this ring verified (by expected type and token), with their claims and expiry:
    /// an app calls userinfo with one access token many times, and its RSA verification was
    /// most of the cost. A new ring (a key added or dropped) starts afresh.
    verified: Mutex<HashMap<String, (i64, serde_json::Value)>>,
}

/// Verified tokens the memo holds before it starts afresh.
const VERIFIED_MEMO_ENTRIES: usize = 4096;

impl Ring {
    fn new(keys: &[OidcKey]) -> Result<Self, OidcKeyError> {
        let mut signing = Vec::with_capacity(keys.len());
        let mut verifying = HashMap::new();
        let mut published = Vec::new();
        for key in keys {
            let private = RsaPrivateKey::from_pkcs1_der(&key.private_der)
                .map_err(|e| OidcKeyError::Unreadable(e.to_string()))?;
            let n = private.n().to_bytes_be();
            let e = private.e().to_bytes_be();
            verifying.insert(
                key.kid.clone(),
                DecodingKey::from_rsa_raw_components(&n, &e),
            );
            let pair = RsaKeyPair::from_der(&key.private_der)
                .map_err(|e| OidcKeyError::Unreadable(e.to_string()))?;
            signing.push((key.kid.clone(), pair, key.signs_from));
            published.push(serde_json::json!({
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": key.kid,
                "n": URL_SAFE_NO_PAD.encode(&n),
                "e": URL_SAFE_NO_PAD.encode(&e),
            }));
        }
        // Newest first; among keys that start together, the kid decides, the same on every node.
        signing.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| b.0.cmp(&a.0)));
        let jwks = serde_json::json!({ "keys": published }).to_string();
        Ok(Ring {
            signing,
            verifying,
            jwks,
            verified: Mutex::new(HashMap::new()),
        })
    }
}

/// The keys in use, replaced whole when the database's set changes.
pub struct OidcKeys {
    ring: RwLock<Option<Ring>>,
}

impl Default for OidcKeys {
    fn default() -> Self {
        OidcKeys {
            ring: RwLock::new(None),
        }
    }
}

impl OidcKeys {
    /// Takes in the keys as stored; an empty set leaves the ring empty (a key is made the
    /// first time one is needed).
    pub fn replace(&self, keys: &[OidcKey]) -> Result<(), OidcKeyError> {
        let ring = if keys.is_empty() {
            None
        } else {
            Some(Ring::new(keys)?)
        };
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = ring;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.ring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// The public keys as a JWKS document.
    pub fn jwks(&self) -> String {
        match &*self.ring.read().unwrap_or_else(|p| p.into_inner()) {
            Some(ring) => ring.jwks.clone(),
            None => r#"{"keys":[]}"#.to_owned(),
        }
    }

    /// Signs `claims` with the key that signs at `now`; `typ` names the token's kind in its
    /// header (`at+jwt`, `logout+jwt`), so one kind cannot be passed off as another.
    pub fn sign<T: Serialize>(
        &self,
        typ: Option<&str>,
        claims: &T,
        now: i64,
    ) -> Result<String, OidcKeyError> {
        let guard = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let ring = guard.as_ref().ok_or(OidcKeyError::NoKey)?;
        let (kid, key, _) = ring
            .signing
            .iter()
            .find(|(_, _, from)| *from <= now)
            .or(ring.signing.last())
            .ok_or(OidcKeyError::NoKey)?;
        // JWS compact serialisation (RFC 7515 §7.1): the signature is over the two encoded
        // parts joined by a dot.
        let header = serde_json::json!({ "alg": "RS256", "typ": typ.unwrap_or("JWT"), "kid": kid });
        let payload =
            serde_json::to_vec(claims).map_err(|e| OidcKeyError::Unreadable(e.to_string()))?;
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            token.as_bytes(),
            &mut signature,
        )
        .map_err(|_| OidcKeyError::NoKey)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    /// Verifies a token this provider signed: RS256 only, a known `kid`, the header's `typ`
    /// (when `typ` is given), issuer `issuer`, and expiry unless `allow_expired` (an
    /// `id_token_hint` may have expired). The audience is the caller's to check.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: Option<&str>,
        issuer: &str,
        allow_expired: bool,
    ) -> Result<T, OidcKeyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| OidcKeyError::Invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(OidcKeyError::Invalid);
        }
        if let Some(typ) = typ {
            if !header
                .typ
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(typ))
            {
                return Err(OidcKeyError::Invalid);
            }
        }
        let kid = header.kid.ok_or(OidcKeyError::Invalid)?;
        let guard = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let ring = guard.as_ref().ok_or(OidcKeyError::Invalid)?;
        let memo_key = (!allow_expired).then(|| format!("{}:{token}", typ.unwrap_or("")));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Some(memo_key) = &memo_key {
            let memo = ring.verified.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((exp, claims)) = memo.get(memo_key) {
                // The issuer was checked when it was verified; the expiry is checked again.
                if *exp + LEEWAY_SECONDS > now && claims["iss"] == issuer {
                    return serde_json::from_value(claims.clone())
                        .map_err(|_| OidcKeyError::Invalid);
                }
                return Err(OidcKeyError::Invalid);
            }
        }
        let key = ring.verifying.get(&kid).ok_or(OidcKeyError::Invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.validate_exp = !allow_expired;
        validation.set_required_spec_claims(if allow_expired {
            &["iss"][..]
        } else {
            &["iss", "exp"][..]
        });
        validation.leeway = LEEWAY_SECONDS as u64;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| OidcKeyError::Invalid)?;
        if let (Some(memo_key), Some(exp)) = (memo_key, claims["exp"].as_i64()) {
            let mut memo = ring.verified.lock().unwrap_or_else(|p| p.into_inner());
            if memo.len() >= VERIFIED_MEMO_ENTRIES {
                memo.clear();
            }
            memo.insert(memo_key, (exp, claims.clone()));
        }
        serde_json::from_value(claims).map_err(|_| OidcKeyError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Probe {
        iss: String,
        exp: i64,
        sub: String,
    }

    fn ring_of(keys: &[(&str, i64)]) -> (OidcKeys, Vec<OidcKey>) {
        let keys: Vec<_> = keys
            .iter()
            .map(|(kid, from)| OidcKey {
                kid: (*kid).to_owned(),
                private_der: generate().unwrap(),
                signs_from: *from,
            })
            .collect();
        let ring = OidcKeys::default();
        ring.replace(&keys).unwrap();
        (ring, keys)
    }

    fn probe(exp: i64) -> Probe {
        Probe {
            iss: "https://id.example".into(),
            exp,
            sub: "s".into(),
        }
    }

    #[test]
    fn the_newest_started_key_signs_and_every_key_is_published() {
        let now = 1_000_000;
        let (ring, _) = ring_of(&[("old", 0), ("current", now - 10), ("next", now + 120)]);
        let token = ring.sign(None, &probe(i64::MAX / 2), now).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some("current")
        );
        let jwks: serde_json::Value = serde_json::from_str(&ring.jwks()).unwrap();
        let kids: Vec<_> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids.len(), 3);
        for kid in ["old", "current", "next"] {
            assert!(kids.contains(&kid.to_owned()));
        }
        let back: Probe = ring
            .verify(&token, None, "https://id.example", false)
            .unwrap();
        assert_eq!(back, probe(i64::MAX / 2));
    }

    #[test]
    fn verification_refuses_another_issuer_kind_key_or_an_expired_token() {
        let (ring, _) = ring_of(&[("k", 0)]);
        let (stranger, _) = ring_of(&[("k", 0)]);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let live = ring.sign(Some("at+jwt"), &probe(now + 600), now).unwrap();
        let expired = ring.sign(None, &probe(now - 600), now).unwrap();
        let issuer = "https://id.example";
        assert!(ring
            .verify::<Probe>(&live, Some("at+jwt"), issuer, false)
            .is_ok());
        // Again, from the memo of verified tokens: the same checks hold.
        assert!(ring
            .verify::<Probe>(&live, Some("at+jwt"), issuer, false)
            .is_ok());
        assert!(ring
            .verify::<Probe>(&live, Some("at+jwt"), "https://other", false)
            .is_err());
        assert!(ring
            .verify::<Probe>(&live, Some("logout+jwt"), issuer, false)
            .is_err());
        assert!(ring
            .verify::<Probe>(&live, None, "https://other", false)
            .is_err());
        assert!(stranger
            .verify::<Probe>(&live, None, issuer, false)
            .is_err());
        assert!(ring.verify::<Probe>(&expired, None, issuer, false).is_err());
        assert!(ring.verify::<Probe>(&expired, None, issuer, true).is_ok());
        // An HS256 token made with the public modulus as its secret is refused by algorithm.
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &probe(now + 600),
            &jsonwebtoken::EncodingKey::from_secret(b"anything"),
        )
        .unwrap();
        assert!(ring.verify::<Probe>(&forged, None, issuer, false).is_err());
    }
}
