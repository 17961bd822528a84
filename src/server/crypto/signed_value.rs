//! Short-lived state a browser carries for the server in a cookie (what a refused form held,
//! where a reset passcode went): `<base64url payload>.<base64url HMAC>`, signed with a server
//! key under a label per use, so the browser can return it but nobody can make one up, and a
//! value made for one use never passes for another. Not encrypted: it only ever holds what the
//! person typed into this browser, and it travels in a cookie, not in an address.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `payload`, signed for `label`.
pub fn sign(key: &[u8], label: &str, payload: &[u8]) -> String {
    let tag = mac(key, label, payload).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The payload of `value` when it was signed with `key` for `label`.
pub fn open(key: &[u8], label: &str, value: &str) -> Option<Vec<u8>> {
    let (payload, tag) = value.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, label, &payload).verify_slice(&tag).ok()?;
    Some(payload)
}

fn mac(key: &[u8], label: &str, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    // The label ends at a NUL no label contains, so no label and payload pair reads as another.
    mac.update(b"latchkey signed value\0");
    mac.update(label.as_bytes());
    mac.update(b"\0");
    mac.update(payload);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_value_opens_with_its_key_and_label_only() {
        let value = sign(KEY, "form", b"{\"a\":1}");
        assert_eq!(
            open(KEY, "form", &value).as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(open(KEY, "reset", &value), None);
        assert_eq!(
            open(b"another key, also 32 bytes long!", "form", &value),
            None
        );
    }

    #[test]
    fn tampered_and_malformed_values_do_not_open() {
        let value = sign(KEY, "form", b"payload");
        let (payload, tag) = value.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(b"payloae"));
        assert_eq!(open(KEY, "form", &forged), None);
        for bad in [
            "",
            ".",
            "nodot",
            &format!("{payload}."),
            &format!(".{tag}"),
            "!!.!!",
        ] {
            assert_eq!(open(KEY, "form", bad), None, "{bad:?}");
        }
    }
}
