//! Second factors: RFC 6238 authenticator codes, single-use recovery codes, and the
//! sealing of authenticator secrets at rest.
//!
//! The authenticator secret must be readable by the server (it computes the codes), so it
//! cannot be hashed: it is sealed with XChaCha20-Poly1305 under a key of its own (kept in the
//! `secrets` table, like the passcode key), bound to its account, so a copied
//! `totp_factors` table, or a row moved to another account, opens nothing. Recovery codes
//! carry ~50 random bits each and are kept only as an HMAC.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;
use totp_rs::{Algorithm, TOTP};

/// The issuer an authenticator app shows beside the account name.
pub const ISSUER: &str = "Latchkey";
/// RFC 6238's step, and the code length every authenticator app shows by default.
pub const STEP_SECONDS: i64 = 30;
const DIGITS: usize = 6;
/// 160 bits, the length RFC 4226 recommends for an HMAC-SHA-1 key.
const SECRET_BYTES: usize = 20;
/// How many recovery codes an enrolment (or a renewal) hands out.
pub const RECOVERY_CODES: usize = 10;
/// Lower case letters and digits that cannot be misread for each other (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Ten characters of 31: 49.5 bits per code, shown as two groups of five.
const RECOVERY_LENGTH: usize = 10;

/// A fresh authenticator secret from the OS CSPRNG.
pub fn new_totp_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], account_name: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS as u64,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account_name.to_owned(),
    )
    .ok()
}

/// The secret as people type it into an app: RFC 4648 base32, no padding.
pub fn secret_text(secret: &[u8]) -> String {
    totp_rs::Secret::Raw(secret.to_vec())
        .to_encoded()
        .to_string()
}

/// The `otpauth://totp/…` address a QR code carries.
pub fn otpauth_uri(secret: &[u8], account_name: &str) -> String {
    totp(secret, account_name)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// The QR code of `uri` as an inline SVG element, drawn on the server (no script needed).
pub fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in HTML the XML declaration is noise.
    match drawn.find("<svg") {
        Some(start) => drawn[start..].to_owned(),
        None => drawn,
    }
}

/// The code of one 30-second step.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    totp(secret, "code")
        .map(|t| t.generate((step.max(0) * STEP_SECONDS) as u64))
        .unwrap_or_default()
}

/// The step `code` belongs to, if it is the code of the step of `now` or of one step either
/// side (clocks drift; RFC 6238 §5.2). The latest matching step wins.
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let current = now.div_euclid(STEP_SECONDS);
    [current + 1, current, current - 1]
        .into_iter()
        .find(|&step| constant_time_eq(code_at_step(secret, step).as_bytes(), code.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a person typed into the second-factor field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnteredCode {
    /// Six digits (spaces allowed, as apps show `123 456`).
    Totp(String),
    /// A recovery code, normalised (lower case, no separators).
    Recovery(String),
    /// Neither.
    Malformed,
}

impl EnteredCode {
    pub fn parse(input: &str) -> EnteredCode {
        let kept: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        if kept.len() == DIGITS && kept.bytes().all(|b| b.is_ascii_digit()) {
            EnteredCode::Totp(kept)
        } else if kept.len() == RECOVERY_LENGTH && kept.bytes().all(|b| b.is_ascii_alphanumeric()) {
            EnteredCode::Recovery(kept)
        } else {
            EnteredCode::Malformed
        }
    }
}

/// Ten fresh recovery codes, as shown: `abcde-fghjk`.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..RECOVERY_LENGTH)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// The MAC stored for a recovery code of an account (`normalised` as [`EnteredCode`] makes it).
pub fn recovery_code_mac(key: &[u8], user_id: i64, normalised: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"latchkey recovery code\0");
    mac.update(&user_id.to_be_bytes());
    mac.update(normalised.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What a sealed value is for: a value sealed for one use never opens for another.
#[derive(Debug, Clone, Copy)]
pub enum SealedFor {
    /// An authenticator secret, in `totp_factors`.
    TotpSecret,
    /// Recovery codes on their way to the page that shows them once (a short-lived cookie).
    ShownRecoveryCodes,
    /// A secret the operators' console made, on its way to the page that shows it once.
    ShownConsoleSecret,
}

fn sealing_aad(purpose: SealedFor, user_id: i64) -> Vec<u8> {
    let label: &[u8] = match purpose {
        SealedFor::TotpSecret => b"latchkey totp secret\0",
        SealedFor::ShownRecoveryCodes => b"latchkey recovery codes shown once\0",
        SealedFor::ShownConsoleSecret => b"latchkey console secret shown once\0",
    };
    let mut aad = label.to_vec();
    aad.extend_from_slice(&user_id.to_be_bytes());
    aad
}

/// `secret` sealed for `purpose` and account: base64url of a random 24-byte nonce and the
/// ciphertext.
pub fn seal(key: &[u8; 32], purpose: SealedFor, user_id: i64, secret: &[u8]) -> String {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = sealing_aad(purpose, user_id);
    let sealed = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: secret,
                aad: &aad,
            },
        )
        .expect("sealing a short secret in memory cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    URL_SAFE_NO_PAD.encode(out)
}

/// The secret of a sealed value, if it was sealed with this key for this purpose and account.
pub fn open(key: &[u8; 32], purpose: SealedFor, user_id: i64, sealed: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(24);
    let nonce = XNonce::from(<[u8; 24]>::try_from(nonce).ok()?);
    let aad = sealing_aad(purpose, user_id);
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret and its published codes (the last six digits of the
    /// eight the RFC lists).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(
                code_at_step(secret, time / STEP_SECONDS),
                code,
                "t = {time}"
            );
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let secret = new_totp_secret();
        let now = 1_800_000_015;
        let step = now / STEP_SECONDS;
        for offset in [-1, 0, 1] {
            let code = code_at_step(&secret, step + offset);
            assert_eq!(matching_step(&secret, &code, now), Some(step + offset));
        }
        for offset in [-3, -2, 2, 3] {
            let code = code_at_step(&secret, step + offset);
            // A code of a far step may, by chance, equal a near one's: only if it does may it
            // match.
            let near = (-1..=1).any(|o| code_at_step(&secret, step + o) == code);
            assert_eq!(matching_step(&secret, &code, now).is_some(), near);
        }
        assert_eq!(matching_step(&secret, "12345", now), None);
    }

    #[test]
    fn entered_codes_are_told_apart() {
        assert_eq!(
            EnteredCode::parse(" 123 456 "),
            EnteredCode::Totp("123456".into())
        );
        assert_eq!(
            EnteredCode::parse("ABCDE-fghjk"),
            EnteredCode::Recovery("abcdefghjk".into())
        );
        assert_eq!(EnteredCode::parse("12345"), EnteredCode::Malformed);
        assert_eq!(EnteredCode::parse("abc"), EnteredCode::Malformed);
        assert_eq!(EnteredCode::parse(""), EnteredCode::Malformed);
        assert_eq!(EnteredCode::parse("ab!de-fghjk"), EnteredCode::Malformed);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_parse_back() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert!(matches!(EnteredCode::parse(code), EnteredCode::Recovery(_)));
        }
        let key = [7u8; 32];
        assert_ne!(
            recovery_code_mac(&key, 1, "abcdefghjk"),
            recovery_code_mac(&key, 2, "abcdefghjk"),
            "a code is bound to its account"
        );
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_for_its_account() {
        let key = [1u8; 32];
        let secret = new_totp_secret();
        let totp = SealedFor::TotpSecret;
        let sealed = seal(&key, totp, 42, &secret);
        assert_eq!(open(&key, totp, 42, &sealed), Some(secret.clone()));
        assert_eq!(open(&key, totp, 43, &sealed), None);
        assert_eq!(open(&key, SealedFor::ShownRecoveryCodes, 42, &sealed), None);
        assert_eq!(open(&[2u8; 32], totp, 42, &sealed), None);
        assert_eq!(open(&key, totp, 42, "not base64!"), None);
        assert_ne!(
            sealed,
            seal(&key, totp, 42, &secret),
            "a fresh nonce each time"
        );
        assert!(!sealed.contains(&secret_text(&secret)));
    }

    #[test]
    fn the_enrolment_uri_and_qr_code_carry_the_secret() {
        let secret = new_totp_secret();
        let uri = otpauth_uri(&secret, "alice");
        assert!(uri.starts_with("otpauth://totp/Latchkey:alice?"), "{uri}");
        assert!(
            uri.contains(&format!("secret={}", secret_text(&secret))),
            "{uri}"
        );
        let svg = qr_svg(&uri);
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
    }
}
