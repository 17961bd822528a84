//! Cryptography Latchkey relies on: password hashing, session tokens, and secrets generated on
//! first start.

pub mod password;
pub mod secrets;
pub mod session_token;
