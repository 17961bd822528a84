//! Short-lived state a browser carries for the server in a cookie (what a refused form held,
//! where a reset passcode went): `<expiry>.<base64url payload>.<base64url HMAC>`, signed with a
//! server key under a label per use, so the browser can return it but nobody can make one up,
//! and a value made for one use never passes for another. Not encrypted: it only ever holds
//! what the person typed into this browser, and it travels in a cookie, not in an address.
//!
//! The expiry (Unix seconds) is inside what is signed: a cookie's Max-Age is only the
//! browser's promise, and a value copied out of it must stop opening when it runs out too.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `payload`, signed for `label`, good until Unix second `expires_at`.
pub fn sign(key: &[u8], label: &str, payload: &[u8], expires_at: i64) -> String {
    let tag = mac(key, label, expires_at, payload).finalize().into_bytes();
    format!(
        "{expires_at}.{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The payload of `value` when it was signed with `key` for `label` and has not run out at
/// Unix second `now`.
pub fn open(key: &[u8], label: &str, value: &str, now: i64) -> Option<Vec<u8>> {
    let mut parts = value.splitn(3, '.');
    let (expires_at, payload, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let expires_at: i64 = expires_at.parse().ok()?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, label, expires_at, &payload)
        .verify_slice(&tag)
        .ok()?;
    (now < expires_at).then_some(payload)
}

fn mac(key: &[u8], label: &str, expires_at: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    // The label ends at a NUL no label contains, and the expiry is fixed-width, so no label,
    // expiry and payload triple reads as another.
    mac.update(b"latchkey signed value\0");
    mac.update(label.as_bytes());
    mac.update(b"\0");
    mac.update(&expires_at.to_be_bytes());
    mac.update(payload);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_value_opens_with_its_key_and_label_only() {
        let value = sign(KEY, "form", b"{\"a\":1}", NOW + 120);
        assert_eq!(
            open(KEY, "form", &value, NOW).as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(open(KEY, "reset", &value, NOW), None);
        assert_eq!(
            open(b"another key, also 32 bytes long!", "form", &value, NOW),
            None
        );
    }

    #[test]
    fn a_value_stops_opening_when_it_runs_out_whatever_the_cookie_said() {
        let value = sign(KEY, "form", b"payload", NOW + 120);
        assert!(open(KEY, "form", &value, NOW + 119).is_some());
        assert_eq!(open(KEY, "form", &value, NOW + 120), None);
        assert_eq!(open(KEY, "form", &value, NOW + 86_400), None);
        // Moving the expiry forward breaks the signature.
        let (_, rest) = value.split_once('.').unwrap();
        let extended = format!("{}.{rest}", NOW + 86_400 * 365);
        assert_eq!(open(KEY, "form", &extended, NOW + 121), None);
    }

    #[test]
    fn tampered_and_malformed_values_do_not_open() {
        let value = sign(KEY, "form", b"payload", NOW + 120);
        let mut parts = value.splitn(3, '.');
        let (expiry, payload, tag) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let forged = format!("{expiry}.{}.{tag}", URL_SAFE_NO_PAD.encode(b"payloae"));
        assert_eq!(open(KEY, "form", &forged, NOW), None);
        for bad in [
            "",
            ".",
            "..",
            "nodot",
            &format!("{payload}.{tag}"),
            &format!("{expiry}.{payload}."),
            &format!("{expiry}..{tag}"),
            &format!("x.{payload}.{tag}"),
            "1.!!.!!",
        ] {
            assert_eq!(open(KEY, "form", bad, NOW), None, "{bad:?}");
        }
    }
}
