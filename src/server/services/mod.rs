//! One module per capability. Services speak in domain types and [`ServiceError`]; they know
//! nothing of HTTP, axum or Leptos, so every adapter (server functions, each REST surface)
//! reaches the same behaviour.

pub mod accounts;

use crate::domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input broke a rule; one entry per offending field.
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    /// A unique value (username, e-mail) belongs to another account.
    #[error("{}", .0.message)]
    Taken(Invalid),
    /// Wrong password or unknown account: one answer for both, always.
    #[error("incorrect username or password")]
    InvalidCredentials,
    /// No session, or one that is malformed, expired or revoked.
    #[error("sign in first")]
    Unauthenticated,
    /// Something on our side broke. The detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Internal(format!("database: {e}"))
    }
}

impl From<crate::server::crypto::password::HashError> for ServiceError {
    fn from(e: crate::server::crypto::password::HashError) -> Self {
        ServiceError::Internal(format!("password hashing: {e}"))
    }
}

impl From<Invalid> for ServiceError {
    fn from(e: Invalid) -> Self {
        ServiceError::Invalid(vec![e])
    }
}
