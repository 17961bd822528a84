//! One-time tokens carried in links: 256 bits from the OS CSPRNG, URL-safe, and
//! stored only as a SHA-256 digest, so a copy of the database opens no accounts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh token (for the link) and its digest (for the database).
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let digest = digest(&token);
    (token, digest)
}

/// The digest stored for a token. A plain hash suffices: the token has 256 bits of entropy,
/// so there is nothing to guess.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_url_safe_unique_and_stored_only_as_digests() {
        let (a, digest_a) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(digest_a, digest(&a));
        assert_ne!(digest_a, a);
        assert_eq!(digest_a.len(), 64);
    }
}
