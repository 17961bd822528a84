//! Six-digit passcodes: drawn from the OS CSPRNG, stored only as an HMAC keyed with
//! a secret from the data directory, so the table alone does not give the codes away (a bare
//! hash of six digits would fall to a million guesses).

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A fresh code, `000000`–`999999`, uniformly.
pub fn generate() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// The MAC stored for a code. Binding channel, destination and purpose into it means a code
/// is only ever good where it was sent, for what it was sent.
pub fn mac(key: &[u8], channel: &str, destination: &str, purpose: &str, code: &str) -> String {
    hex::encode(
        mac_of(key, channel, destination, purpose, code)
            .finalize()
            .into_bytes(),
    )
}

/// Compares in constant time.
pub fn matches(
    key: &[u8],
    channel: &str,
    destination: &str,
    purpose: &str,
    code: &str,
    stored: &str,
) -> bool {
    let Ok(expected) = hex::decode(stored) else {
        return false;
    };
    mac_of(key, channel, destination, purpose, code.trim())
        .verify_slice(&expected)
        .is_ok()
}

fn mac_of(key: &[u8], channel: &str, destination: &str, purpose: &str, code: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in [channel, destination, purpose, code] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..1000 {
            let code = generate();
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn a_code_matches_only_where_and_for_what_it_was_sent() {
        let key = b"0123456789abcdef0123456789abcdef";
        let stored = mac(key, "email", "a@example.com", "reset_password", "123456");
        assert!(matches(
            key,
            "email",
            "a@example.com",
            "reset_password",
            "123456",
            &stored
        ));
        assert!(matches(
            key,
            "email",
            "a@example.com",
            "reset_password",
            " 123456 ",
            &stored
        ));
        assert!(!matches(
            key,
            "email",
            "a@example.com",
            "reset_password",
            "123457",
            &stored
        ));
        assert!(!matches(
            key,
            "email",
            "b@example.com",
            "reset_password",
            "123456",
            &stored
        ));
        assert!(!matches(
            key,
            "sms",
            "a@example.com",
            "reset_password",
            "123456",
            &stored
        ));
        assert!(!matches(
            key,
            "email",
            "a@example.com",
            "verify_phone",
            "123456",
            &stored
        ));
        assert!(!matches(
            b"another key",
            "email",
            "a@example.com",
            "reset_password",
            "123456",
            &stored
        ));
        assert!(!stored.contains("123456"));
    }
}
