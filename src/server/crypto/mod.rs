//! Cryptography Latchkey relies on: password hashing, session tokens, and secrets generated on
//! first start.

pub mod device_token;
pub mod link_token;
pub mod oidc_keys;
pub mod passcode;
pub mod password;
pub mod password_cipher;
pub mod second_factor;
pub mod secrets;
pub mod session_token;
pub mod signed_value;
