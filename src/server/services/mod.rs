//! One module per capability. Services speak in domain types and [`ServiceError`]; they know
//! nothing of axum or Leptos, so every adapter (server functions, each REST surface) reaches
//! the same behaviour. A `ServiceError` names its HTTP status: the one table every adapter
//! answers by.

pub mod account_life;
pub mod accounts;
pub mod admin;
pub mod client_limits;
pub mod credits;
pub mod devices;
pub mod oidc;
pub mod oidc_clients;
pub mod passcodes;
pub mod passkeys;
pub mod password;
pub mod phone;
pub mod plan;
pub mod recovery;
pub mod second_factor;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod verification;

/// `store::write_tx!` whose block fails with a [`ServiceError`]: how every service writes.
macro_rules! write_tx {
    ($db:expr, |$tx:ident| $body:block) => {
        $crate::server::store::write_tx!(
            $db, |$tx| -> $crate::server::services::ServiceError $body
        )
    };
}
pub(crate) use write_tx;

use crate::domain::{Credits, Invalid};
use crate::server::store::users::AccountRow;
use crate::server::store::Contention;
use http::StatusCode;

/// An account as every service and adapter sees it; no secrets in here.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    /// E.164 form, when a number was added.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub paid: bool,
    pub credits: Credits,
    pub account_enabled: bool,
    pub admin: bool,
    pub token_version: i64,
    /// Preferred language of messages (`en`, `zh`).
    pub language: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Self {
        Account {
            id: row.id,
            username: row.username,
            email: row.email,
            email_verified: row.email_verified,
            phone: match (&row.phone_country_code, &row.phone_number) {
                (Some(code), Some(number)) => Some(format!("+{code}{number}")),
                _ => None,
            },
            phone_verified: row.phone_verified,
            paid: row.plan == "paid",
            credits: Credits::from_micro(row.credits_micro),
            account_enabled: row.account_enabled,
            admin: row.admin,
            token_version: row.token_version,
            language: row.preferred_language,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input broke a rule; one entry per offending field.
    #[error("invalid input")]
    Invalid(Vec<Invalid>),
    /// A unique value (username, e-mail) belongs to another account.
    #[error("{}", .0.message())]
    Taken(Invalid),
    /// Wrong password or unknown account: one answer for both, always.
    #[error("incorrect username or password")]
    InvalidCredentials,
    /// No session, or one that is malformed, expired or revoked.
    #[error("sign in first")]
    Unauthenticated,
    /// The thing asked for was done before and cannot be done again (e.g. upgrading twice).
    #[error("{}", crate::i18n::Language::English.problem(.0))]
    AlreadyDone(crate::i18n::Problem),
    /// The account may not do this yet (e.g. upgrade before verifying its address).
    #[error("{}", crate::i18n::Language::English.problem(.0))]
    NotAllowed(crate::i18n::Problem),
    /// A second-factor code that is wrong, was used already, or is of a step too far away.
    #[error("the code is wrong or was used already")]
    SecondFactorWrong,
    /// A second-factor sign-in whose challenge is unknown, used, burned or over five minutes
    /// old: the password step must be done again.
    #[error("the sign-in has expired: sign in again")]
    SecondFactorExpired,
    /// A passkey ceremony that failed: a refused or malformed assertion or attestation, an
    /// unknown passkey, or a ceremony that is unknown, finished or expired. One answer for all.
    #[error("the passkey was not accepted")]
    PasskeyRefused,
    /// Too many requests of this kind; try again after the given number of seconds.
    #[error("too many requests; try again in {retry_after} seconds")]
    RateLimited { retry_after: i64 },
    /// A link or token that is unknown, used, expired, or for another account or address.
    #[error("this link is invalid, has been used, or has expired")]
    LinkInvalid,
    /// A passcode that is wrong, expired, used, or was never sent (apiCode 2001).
    #[error("the passcode is wrong or has expired")]
    PasscodeInvalid,
    /// Five wrong tries burned the code (apiCode 2002).
    #[error("too many wrong passcodes; ask for a new one")]
    PasscodeBurned,
    /// A sealed new password could not be opened, or was refused once opened: one answer for
    /// both, so it tells nothing about the padding (apiCode 2016).
    #[error("the password could not be decrypted or was not accepted")]
    PasswordUnreadable,
    /// A password reset token that is unknown, used or expired (apiCode 2030).
    #[error("the password reset token is invalid, used or expired")]
    ResetTokenInvalid,
    /// The database kept refusing the change for concurrent ones' sake, however often it was
    /// run again: the request may simply be repeated (503 with `Retry-After`).
    #[error("the database is too busy with concurrent changes")]
    Contended,
    /// Nothing here for this caller: an unknown account or token, or the operators' console
    /// asked for by someone who is not an admin (who must not learn that it exists).
    #[error("not found")]
    NotFound,
    /// Something on our side broke. The detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::server::store::reads::ReadError> for ServiceError {
    fn from(e: crate::server::store::reads::ReadError) -> Self {
        match e {
            crate::server::store::reads::ReadError::Postgres(e) => e.into(),
            sqlite => ServiceError::Internal(format!("database: {sqlite}")),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        if e.is_contention() || crate::server::store::is_unreachable(&e) {
            ServiceError::Contended
        } else {
            ServiceError::Internal(format!("database: {e}"))
        }
    }
}

impl Contention for ServiceError {
    fn is_contention(&self) -> bool {
        matches!(self, ServiceError::Contended)
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

impl ServiceError {
    /// The HTTP status of a failed service call, the one table every surface answers by (the
    /// Authing surface carries it as `statusCode`; the forms set it on their answer).
    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::Invalid(_)
            | ServiceError::AlreadyDone(_)
            | ServiceError::LinkInvalid
            | ServiceError::PasscodeInvalid
            | ServiceError::PasscodeBurned
            | ServiceError::PasswordUnreadable
            | ServiceError::ResetTokenInvalid
            | ServiceError::PasskeyRefused => StatusCode::BAD_REQUEST,
            ServiceError::InvalidCredentials
            | ServiceError::Unauthenticated
            | ServiceError::SecondFactorWrong
            | ServiceError::SecondFactorExpired => StatusCode::UNAUTHORIZED,
            ServiceError::NotAllowed(_) => StatusCode::FORBIDDEN,
            ServiceError::NotFound => StatusCode::NOT_FOUND,
            ServiceError::Taken(_) => StatusCode::CONFLICT,
            ServiceError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Contended => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds a client should wait before asking again (`Retry-After`), where that applies.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            ServiceError::RateLimited { retry_after } => Some(*retry_after),
            // The database was busy with concurrent changes: a moment later will do.
            ServiceError::Contended => Some(1),
            _ => None,
        }
    }
}
