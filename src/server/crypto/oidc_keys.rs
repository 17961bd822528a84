//! The OpenID Connect provider's signing keys: RS256 keys sign id_tokens and back-channel
//! logout tokens (RS256 is what every relying party verifies); ES256 keys sign the access
//! tokens (RFC 9068), which only Latchkey's own userinfo reads: an ECDSA signature costs a
//! tenth of an RSA one, and every authorization and refresh makes one of each. Both are
//! published in the JWKS.
//!
//! Like the session keys, each has a `kid` and a moment from which it signs; of each
//! algorithm the newest key that has started signs, and every key verifies and is published.
//! Signatures are `ring`'s (constant-time; the key parsed once per ring: jsonwebtoken, on
//! RustCrypto's `rsa`, parsed the DER at every signature and took some 1.3 ms a token).
//! RSA keys are made by `rsa` (ring cannot), EC keys by ring; verifying is jsonwebtoken's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// Clock difference tolerated on a token's expiry.
const LEEWAY_SECONDS: i64 = 30;

/// The modulus size of RSA keys made here: 2048 bits, what RS256 requires at least and what
/// every relying-party library accepts.
pub const KEY_BITS: usize = 2048;

/// A key's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// id_tokens and logout tokens.
    Rs256,
    /// Access tokens.
    Es256,
}

impl KeyAlg {
    pub const ALL: [KeyAlg; 2] = [KeyAlg::Rs256, KeyAlg::Es256];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::Rs256 => "RS256",
            KeyAlg::Es256 => "ES256",
        }
    }

    pub fn parse(text: &str) -> Option<KeyAlg> {
        KeyAlg::ALL.into_iter().find(|alg| alg.as_str() == text)
    }

    fn jwt(self) -> Algorithm {
        match self {
            KeyAlg::Rs256 => Algorithm::RS256,
            KeyAlg::Es256 => Algorithm::ES256,
        }
    }
}

/// One key as stored: its name, algorithm, private half, and when it starts signing.
#[derive(Clone)]
pub struct OidcKey {
    pub kid: String,
    pub alg: KeyAlg,
    /// PKCS#1 DER for RS256, PKCS#8 DER for ES256.
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

fn unreadable(e: impl std::fmt::Display) -> OidcKeyError {
    OidcKeyError::Unreadable(e.to_string())
}

/// A fresh key's private half. An RSA key takes a noticeable fraction of a second: call it off
/// the async threads.
pub fn generate(alg: KeyAlg) -> Result<Vec<u8>, OidcKeyError> {
    match alg {
        KeyAlg::Rs256 => {
            let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(unreadable)?;
            Ok(key.to_pkcs1_der().map_err(unreadable)?.as_bytes().to_vec())
        }
        KeyAlg::Es256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map_err(unreadable)?;
            Ok(pkcs8.as_ref().to_vec())
        }
    }
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, OidcKeyError> {
        let random = SystemRandom::new();
        match self {
            Signer::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &random, message, &mut signature)
                    .map_err(|_| OidcKeyError::NoKey)?;
                Ok(signature)
            }
            // Fixed-size `r || s`, as JWS wants it (RFC 7518 §3.4).
            Signer::Ec(pair) => Ok(pair
                .sign(&random, message)
                .map_err(|_| OidcKeyError::NoKey)?
                .as_ref()
                .to_vec()),
        }
    }
}

/// One key read for use: how it signs, how it verifies, and its public JWK.
fn prepared(key: &OidcKey) -> Result<(Signer, DecodingKey, serde_json::Value), OidcKeyError> {
    match key.alg {
        KeyAlg::Rs256 => {
            let private = RsaPrivateKey::from_pkcs1_der(&key.private_der).map_err(unreadable)?;
            let (n, e) = (private.n().to_bytes_be(), private.e().to_bytes_be());
            let pair = RsaKeyPair::from_der(&key.private_der).map_err(unreadable)?;
            let jwk = serde_json::json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": key.kid,
                "n": URL_SAFE_NO_PAD.encode(&n), "e": URL_SAFE_NO_PAD.encode(&e),
            });
            Ok((
                Signer::Rsa(pair),
                DecodingKey::from_rsa_raw_components(&n, &e),
                jwk,
            ))
        }
        KeyAlg::Es256 => {
            let pair = EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &key.private_der,
                &SystemRandom::new(),
            )
            .map_err(unreadable)?;
            // The uncompressed point: 0x04, then x and y, 32 bytes each.
            let point = pair.public_key().as_ref();
            if point.len() != 65 || point[0] != 4 {
                return Err(unreadable("not an uncompressed P-256 point"));
            }
            let (x, y) = (
                URL_SAFE_NO_PAD.encode(&point[1..33]),
                URL_SAFE_NO_PAD.encode(&point[33..]),
            );
            let decoding = DecodingKey::from_ec_components(&x, &y).map_err(unreadable)?;
            let jwk = serde_json::json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": key.kid,
                "x": x, "y": y,
            });
            Ok((Signer::Ec(pair), decoding, jwk))
        }
    }
}

struct Ring {
    /// Newest first: (kid, algorithm, signer, signs_from).
    signing: Vec<(String, KeyAlg, Signer, i64)>,
    verifying: HashMap<String, (KeyAlg, DecodingKey)>,
    /// The JWKS document, made once per ring.
    jwks: String,
    /// Tokens this ring verified (by expected type and token), with their claims and expiry:
    /// an app calls userinfo with one access token many times, and verifying it was most of
    /// the cost. A new ring (a key added or dropped) starts afresh.
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
            let (signer, decoding, jwk) = prepared(key)?;
            verifying.insert(key.kid.clone(), (key.alg, decoding));
            signing.push((key.kid.clone(), key.alg, signer, key.signs_from));
            published.push(jwk);
        }
        // Newest first; among keys that start together, the kid decides, the same on every node.
        signing.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| b.0.cmp(&a.0)));
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
    /// Held by whoever makes the first keys: the others wait for those rather than each make
    /// an RSA key of their own (most of a second of CPU each, for a burst of first requests).
    making: tokio::sync::Mutex<()>,
}

impl Default for OidcKeys {
    fn default() -> Self {
        OidcKeys {
            ring: RwLock::new(None),
            making: tokio::sync::Mutex::new(()),
        }
    }
}

impl OidcKeys {
    /// Takes in the keys as stored; an empty set leaves the ring empty (keys are made the
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

    /// The turn to make missing keys; see `making`.
    pub async fn turn_to_make(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.making.lock().await
    }

    /// Whether a key of every algorithm is there to sign with.
    pub fn is_ready(&self) -> bool {
        self.ring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|ring| {
                KeyAlg::ALL
                    .iter()
                    .all(|alg| ring.signing.iter().any(|(_, a, _, _)| a == alg))
            })
    }

    /// The public keys as a JWKS document.
    pub fn jwks(&self) -> String {
        match &*self.ring.read().unwrap_or_else(|p| p.into_inner()) {
            Some(ring) => ring.jwks.clone(),
            None => r#"{"keys":[]}"#.to_owned(),
        }
    }

    /// Signs `claims` with the key of `alg` that signs at `now`; `typ` names the token's kind
    /// in its header (`at+jwt`, `logout+jwt`), so one kind cannot be passed off as another.
    pub fn sign<T: Serialize>(
        &self,
        alg: KeyAlg,
        typ: Option<&str>,
        claims: &T,
        now: i64,
    ) -> Result<String, OidcKeyError> {
        let guard = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let ring = guard.as_ref().ok_or(OidcKeyError::NoKey)?;
        let mut of_alg = ring.signing.iter().filter(|(_, a, _, _)| *a == alg);
        let (kid, _, signer, _) = of_alg
            .clone()
            .find(|(_, _, _, from)| *from <= now)
            .or(of_alg.next_back())
            .ok_or(OidcKeyError::NoKey)?;
        // JWS compact serialisation (RFC 7515 §7.1): the signature is over the two encoded
        // parts joined by a dot.
        let header =
            serde_json::json!({ "alg": alg.as_str(), "typ": typ.unwrap_or("JWT"), "kid": kid });
        let payload = serde_json::to_vec(claims).map_err(unreadable)?;
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let signature = signer.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    /// Verifies a token this provider signed: a known `kid`, the algorithm of that key (never
    /// the one the token names for itself), the header's `typ` (when `typ` is given), issuer
    /// `issuer`, and expiry unless `allow_expired` (an `id_token_hint` may have expired). The
    /// audience is the caller's to check.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: Option<&str>,
        issuer: &str,
        allow_expired: bool,
    ) -> Result<T, OidcKeyError> {
        let guard = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let ring = guard.as_ref().ok_or(OidcKeyError::Invalid)?;
        // A token seen before was verified with the same expected type (the key says so): its
        // header need not be read again, and its expiry and issuer are checked again.
        let memo_key = (!allow_expired).then(|| format!("{}:{token}", typ.unwrap_or("")));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Some(memo_key) = &memo_key {
            let memo = ring.verified.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((exp, claims)) = memo.get(memo_key) {
                if *exp + LEEWAY_SECONDS > now && claims["iss"] == issuer {
                    return T::deserialize(claims).map_err(|_| OidcKeyError::Invalid);
                }
                return Err(OidcKeyError::Invalid);
            }
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| OidcKeyError::Invalid)?;
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
        let (alg, key) = ring.verifying.get(&kid).ok_or(OidcKeyError::Invalid)?;
        if header.alg != alg.jwt() {
            return Err(OidcKeyError::Invalid);
        }
        let mut validation = Validation::new(alg.jwt());
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
        T::deserialize(&claims).map_err(|_| OidcKeyError::Invalid)
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
            .flat_map(|(kid, from)| {
                KeyAlg::ALL.map(|alg| OidcKey {
                    kid: format!("{kid}-{}", alg.as_str()),
                    alg,
                    private_der: generate(alg).unwrap(),
                    signs_from: *from,
                })
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
        let token = ring
            .sign(KeyAlg::Rs256, None, &probe(i64::MAX / 2), now)
            .unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some("current-RS256")
        );
        let access = ring
            .sign(KeyAlg::Es256, Some("at+jwt"), &probe(i64::MAX / 2), now)
            .unwrap();
        let header = jsonwebtoken::decode_header(&access).unwrap();
        assert_eq!(header.kid.as_deref(), Some("current-ES256"));
        assert_eq!(header.alg, Algorithm::ES256);
        assert!(ring
            .verify::<Probe>(&access, Some("at+jwt"), "https://id.example", false)
            .is_ok());
        let jwks: serde_json::Value = serde_json::from_str(&ring.jwks()).unwrap();
        let kids: Vec<_> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids.len(), 6);
        for kid in ["old", "current", "next"] {
            for alg in KeyAlg::ALL {
                assert!(kids.contains(&format!("{kid}-{}", alg.as_str())));
            }
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
        let live = ring
            .sign(KeyAlg::Es256, Some("at+jwt"), &probe(now + 600), now)
            .unwrap();
        let expired = ring
            .sign(KeyAlg::Rs256, None, &probe(now - 600), now)
            .unwrap();
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
        // A token naming an RSA key but claiming ES256 (or the reverse) is refused: the key
        // decides the algorithm.
        let mut parts: Vec<String> = expired.split('.').map(str::to_owned).collect();
        let mut header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
        header["alg"] = "ES256".into();
        parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
        assert!(ring
            .verify::<Probe>(&parts.join("."), None, issuer, true)
            .is_err());
    }
}
