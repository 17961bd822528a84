//! Passwords sealed for the wire, as Authing's browser SDKs send them: RSA PKCS#1 v1.5 with
//! the server's published key, base64. The hydrated reset page uses this, so the browser
//! exercises the same `rsa` path REST clients use; the server opens it with
//! `server::crypto::password_cipher`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};

/// Encrypts `password` for the holder of `public_key_pem` (SubjectPublicKeyInfo PEM).
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
