//! Cryptography Latchkey relies on: password hashing, session tokens, and secrets generated on
//! first start.

pub mod link_token;
pub mod password;
pub mod secrets;
pub mod session_token;
