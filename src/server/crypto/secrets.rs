//! Secrets Latchkey generates for itself. They are kept in the database (`store::secrets`,
//! `startup::shared_secret`), so every process on it uses the same ones.

use rand::RngCore;

/// `bytes` random bytes from the OS, in hex.
pub fn random_hex(bytes: usize) -> String {
    let mut secret = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    hex::encode(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_as_long_as_asked_and_never_repeat() {
        let a = random_hex(32);
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_hex(32));
    }
}
