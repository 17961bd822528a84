//! Device cookies (OWASP's answer to lockouts that lock the owner out): a browser that signed
//! in to an account successfully gets a token naming that account, and later sign-ins from it
//! are throttled on their own instead of under the account's lock, so a stranger's wrong
//! guesses cannot keep the owner out. The token is `<account id>.<nonce>.<HMAC>`, signed with
//! a server key; a forged or foreign one is simply ignored, and a genuine one counts only while
//! its account still remembers the nonce (`services::devices`).

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// A fresh device token for `account_id`, and its nonce (what the account remembers).
pub fn issue(key: &[u8], account_id: i64) -> (String, String) {
    let mut nonce = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = hex::encode(nonce);
    let tag = hex::encode(sign(key, account_id, &nonce).finalize().into_bytes());
    (format!("{account_id}.{nonce}.{tag}"), nonce)
}

/// The device's nonce when `token` is a genuine device token for `account_id`.
pub fn verify<'t>(key: &[u8], token: &'t str, account_id: i64) -> Option<&'t str> {
    let mut parts = token.splitn(3, '.');
    let (id, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if id.parse::<i64>().ok()? != account_id || nonce.len() != 32 {
        return None;
    }
    let tag = hex::decode(tag).ok()?;
    sign(key, account_id, nonce).verify_slice(&tag).ok()?;
    Some(nonce)
}

fn sign(key: &[u8], account_id: i64, nonce: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    // A label of its own, so a MAC made here never verifies anything made with the same key
    // for another purpose (the key also MACs passcodes).
    mac.update(b"latchkey device cookie\0");
    mac.update(account_id.to_string().as_bytes());
    mac.update(b".");
    mac.update(nonce.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_verifies_for_its_account_only() {
        let (token, issued_nonce) = issue(KEY, 7);
        let nonce = verify(KEY, &token, 7).expect("genuine");
        assert_eq!(nonce, issued_nonce);
        assert_eq!(nonce.len(), 32);
        assert_eq!(verify(KEY, &token, 8), None);
        assert_eq!(verify(b"another key, also 32 bytes long!", &token, 7), None);
    }

    #[test]
    fn tampered_and_malformed_tokens_are_ignored() {
        let (token, _) = issue(KEY, 7);
        let (head, tag) = token.rsplit_once('.').unwrap();
        let flipped = if tag.starts_with('0') { "1" } else { "0" };
        assert_eq!(
            verify(KEY, &format!("{head}.{flipped}{}", &tag[1..]), 7),
            None
        );
        for junk in ["", "7", "7..", "7.x.y", "x.y.z", "7.00.00"] {
            assert_eq!(verify(KEY, junk, 7), None, "{junk}");
        }
    }
}
