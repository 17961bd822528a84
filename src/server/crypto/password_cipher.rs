//! Passwords sent encrypted, the way Authing's browser SDKs send them:
//! RSA PKCS#1 v1.5 (base64) or SM2 in C1C3C2 mode (lower-case hex, C1 without its `04`).
//! Both key pairs are generated on first start and kept in the database (`startup`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::pke::{DecryptingKey, Mode};
use std::io;

const RSA_BITS: usize = 2048;

/// How the `password` field of a reset request is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    None,
    Rsa,
    Sm2,
}

impl Encryption {
    /// `none`, `rsa`, `sm2` (any case); absent means `none`.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("none") => Some(Encryption::None),
            Some("rsa") => Some(Encryption::Rsa),
            Some("sm2") => Some(Encryption::Sm2),
            Some(_) => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the password could not be decrypted")]
pub struct DecryptError;

pub struct PasswordCiphers {
    rsa: RsaPrivateKey,
    rsa_public_pem: String,
    sm2: DecryptingKey,
    sm2_public_hex: String,
}

impl PasswordCiphers {
    /// The ciphers of a stored RSA private key (PKCS#8 PEM) and SM2 private scalar (hex).
    pub fn from_keys(rsa_pem: &str, sm2_hex: &str) -> io::Result<Self> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let rsa = RsaPrivateKey::from_pkcs8_pem(rsa_pem)
            .map_err(|e| invalid(&format!("the stored RSA key: {e}")))?;
        let rsa_public_pem = rsa
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(io::Error::other)?;
        let sm2_secret = hex::decode(sm2_hex.trim())
            .ok()
            .and_then(|bytes| sm2::SecretKey::from_slice(&bytes).ok())
            .ok_or_else(|| invalid("the stored SM2 key is not an SM2 key"))?;
        // Uncompressed `04‖X‖Y` in hex, the form sm-crypto takes.
        let sm2_public_hex = hex::encode(sm2_secret.public_key().to_sec1_point(false).as_bytes());
        Ok(Self {
            rsa,
            rsa_public_pem,
            sm2: DecryptingKey::new_with_mode(sm2_secret.to_nonzero_scalar(), Mode::C1C3C2),
            sm2_public_hex,
        })
    }

    /// A fresh 2048-bit RSA private key as PKCS#8 PEM.
    pub fn new_rsa_pem() -> io::Result<String> {
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS).map_err(io::Error::other)?;
        Ok(key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(io::Error::other)?
            .to_string())
    }

    /// A fresh SM2 private scalar in hex.
    pub fn new_sm2_hex() -> String {
        // Random bytes until they form a valid scalar (all but a 2^-128 sliver do).
        loop {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            if let Ok(key) = sm2::SecretKey::from_slice(&bytes) {
                return hex::encode(key.to_bytes());
            }
        }
    }

    /// SubjectPublicKeyInfo PEM, as `/api/v3/system` publishes it.
    pub fn rsa_public_pem(&self) -> &str {
        &self.rsa_public_pem
    }

    pub fn sm2_public_hex(&self) -> &str {
        &self.sm2_public_hex
    }

    /// The plain password from what the client sent.
    pub fn decrypt(&self, encryption: Encryption, sent: &str) -> Result<String, DecryptError> {
        let bytes = match encryption {
            Encryption::None => return Ok(sent.to_owned()),
            Encryption::Rsa => {
                let ciphertext = STANDARD.decode(sent.trim()).map_err(|_| DecryptError)?;
                // Blinded: the private-key operation's timing does not follow the ciphertext
                // the client chose (RUSTSEC-2023-0071, the Marvin attack). Callers also answer
                // every failure alike (see `services::recovery`).
                self.rsa
                    .decrypt_blinded(&mut rand::rngs::OsRng, Pkcs1v15Encrypt, &ciphertext)
                    .map_err(|_| DecryptError)?
            }
            Encryption::Sm2 => {
                // Authing's own `encrypt()` writes `sm2:` before the hex.
                let sent = sent.trim();
                let hex_text = sent
                    .get(..4)
                    .filter(|prefix| prefix.eq_ignore_ascii_case("sm2:"))
                    .map_or(sent, |_| &sent[4..]);
                let ciphertext = hex::decode(hex_text.trim()).map_err(|_| DecryptError)?;
                // sm-crypto leaves out the point's `04` tag; accept it either way. A leading
                // 04 byte may also be the first byte of an untagged point (1 in 256), so a
                // failure with it read as the tag is retried with a tag added.
                let as_sent = match ciphertext.first() {
                    Some(0x04) => self.sm2.decrypt(&ciphertext).ok(),
                    _ => None,
                };
                match as_sent {
                    Some(bytes) => bytes,
                    None => {
                        let tagged = [&[0x04], ciphertext.as_slice()].concat();
                        self.sm2.decrypt(&tagged).map_err(|_| DecryptError)?
                    }
                }
            }
        };
        String::from_utf8(bytes).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::RsaPublicKey;
    use sm2::elliptic_curve::common::getrandom::SysRng;
    use sm2::pke::EncryptingKey;

    fn ciphers() -> PasswordCiphers {
        let rsa = PasswordCiphers::new_rsa_pem().unwrap();
        let sm2 = PasswordCiphers::new_sm2_hex();
        PasswordCiphers::from_keys(&rsa, &sm2).unwrap()
    }

    #[test]
    fn stored_keys_give_the_same_ciphers_again() {
        let rsa = PasswordCiphers::new_rsa_pem().unwrap();
        let sm2 = PasswordCiphers::new_sm2_hex();
        let first = PasswordCiphers::from_keys(&rsa, &sm2).unwrap();
        let again = PasswordCiphers::from_keys(&rsa, &sm2).unwrap();
        assert_eq!(first.rsa_public_pem(), again.rsa_public_pem());
        assert_eq!(first.sm2_public_hex(), again.sm2_public_hex());
        assert!(first
            .rsa_public_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(first.sm2_public_hex().starts_with("04"));
        assert_eq!(first.sm2_public_hex().len(), 130);
    }

    #[test]
    fn rsa_pkcs1_v15_base64_decrypts() {
        let ciphers = ciphers();
        let public = RsaPublicKey::from_public_key_pem(ciphers.rsa_public_pem()).unwrap();
        let sealed = public
            .encrypt(
                &mut rand::rngs::OsRng,
                Pkcs1v15Encrypt,
                "新密码 passphrase".as_bytes(),
            )
            .unwrap();
        let sent = STANDARD.encode(sealed);
        assert_eq!(
            ciphers.decrypt(Encryption::Rsa, &sent).unwrap(),
            "新密码 passphrase"
        );
    }

    #[test]
    fn sm2_c1c3c2_hex_decrypts_with_or_without_the_04_tag() {
        let ciphers = ciphers();
        let public_bytes = hex::decode(ciphers.sm2_public_hex()).unwrap();
        let public = sm2::PublicKey::from_sec1_bytes(&public_bytes).unwrap();
        let sealed = EncryptingKey::new_with_mode(public, Mode::C1C3C2)
            .encrypt(&mut SysRng, "another passphrase".as_bytes())
            .unwrap();
        assert_eq!(sealed[0], 0x04);
        let as_sm_crypto_sends = hex::encode(&sealed[1..]);
        assert_eq!(
            ciphers
                .decrypt(Encryption::Sm2, &as_sm_crypto_sends)
                .unwrap(),
            "another passphrase"
        );
        assert_eq!(
            ciphers
                .decrypt(Encryption::Sm2, &hex::encode(&sealed))
                .unwrap(),
            "another passphrase"
        );
        // As Authing's `encrypt()` writes it.
        assert_eq!(
            ciphers
                .decrypt(Encryption::Sm2, &format!("sm2:{as_sm_crypto_sends}"))
                .unwrap(),
            "another passphrase"
        );
    }

    #[test]
    fn garbage_does_not_decrypt() {
        let ciphers = ciphers();
        for junk in ["", "not base64!", "AAAA", "deadbeef"] {
            assert!(ciphers.decrypt(Encryption::Rsa, junk).is_err(), "{junk}");
            assert!(ciphers.decrypt(Encryption::Sm2, junk).is_err(), "{junk}");
        }
        assert_eq!(ciphers.decrypt(Encryption::None, "plain").unwrap(), "plain");
    }

    #[test]
    fn encryption_names_parse() {
        assert_eq!(Encryption::parse(None), Some(Encryption::None));
        assert_eq!(Encryption::parse(Some("RSA")), Some(Encryption::Rsa));
        assert_eq!(Encryption::parse(Some("sm2")), Some(Encryption::Sm2));
        assert_eq!(Encryption::parse(Some("aes")), None);
    }
}
