//! Passwords sealed for the wire, as Authing's browser SDKs send them: RSA PKCS#1 v1.5 with the
//! server's published key, base64. The reset page's island runs this in the browser (the `rsa`
//! crate, the same the server opens it with in `server::crypto::password_cipher`); only that
//! island calls it, so only pages that carry it need its code.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};

/// Encrypts `password` for the holder of `public_key_pem` (an RSA SubjectPublicKeyInfo PEM,
/// as `/api/v3/system` publishes it). `None` when the key cannot be read, the password is too
/// long for it (more than the key's length in bytes less 11), or the platform has no random
/// number generator to pad with: the page then says the password could not be protected.
pub fn seal_password(public_key_pem: &str, password: &str) -> Option<String> {
    let key = RsaPublicKey::from_public_key_pem(public_key_pem).ok()?;
    let sealed = key
        .encrypt(
            &mut rsa::rand_core::OsRng,
            Pkcs1v15Encrypt,
            password.as_bytes(),
        )
        .ok()?;
    Some(STANDARD.encode(sealed))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::server::crypto::password_cipher::{Encryption, PasswordCiphers};

    fn ciphers() -> PasswordCiphers {
        let pem = PasswordCiphers::new_rsa_pem().unwrap();
        PasswordCiphers::from_keys(&pem, &PasswordCiphers::new_sm2_hex()).unwrap()
    }

    #[test]
    fn what_the_browser_seals_the_server_opens() {
        let ciphers = ciphers();
        for password in ["correct horse battery staple", "密码也可以是中文", "x"] {
            let sealed = seal_password(ciphers.rsa_public_pem(), password).unwrap();
            let opened = ciphers.decrypt(Encryption::Rsa, &sealed).unwrap();
            assert_eq!(opened, password);
        }
    }

    #[test]
    fn every_seal_is_different() {
        let ciphers = ciphers();
        let pem = ciphers.rsa_public_pem();
        assert_ne!(seal_password(pem, "same"), seal_password(pem, "same"));
    }

    #[test]
    fn an_unreadable_key_or_an_overlong_password_seals_nothing() {
        assert_eq!(seal_password("not a key", "password"), None);
        let ciphers = ciphers();
        // RSA-2048 carries at most 256 - 11 bytes.
        assert!(seal_password(ciphers.rsa_public_pem(), &"a".repeat(245)).is_some());
        assert_eq!(
            seal_password(ciphers.rsa_public_pem(), &"a".repeat(246)),
            None
        );
    }
}
