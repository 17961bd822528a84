//! The `audit_log` table: security-relevant events, kept in the database.

use super::{on_backend, Exec};
/// What happened, as stored in the `event` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Register,
    LoginSucceeded,
    LoginFailed,
    Logout,
    VerificationSent,
    EmailVerified,
    PasswordChanged,
    Upgraded,
    CreditsAdjusted,
    PasswordReset,
    PhoneVerified,
    ResetRequested,
    UsernameReminded,
    /// A number left the account: taken over by an account that confirmed it, or removed by a
    /// reset of an account whose address was never verified.
    PhoneRemoved,
    /// Every session of the account was ended at the owner's request.
    SessionsEnded,
    /// The owner chose the language of pages and mails.
    LanguageChosen,
    /// A password was right and the sign-in now waits for its second factor.
    SecondFactorRequired,
    /// A wrong, used or malformed code at a sign-in's second step.
    SecondFactorFailed,
    /// An authenticator enrolment began (nothing is on until it is confirmed).
    TotpBegun,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRenewed,
    PasskeyAdded,
    PasskeyRemoved,
    /// A reset removed second factors added shortly before it.
    SecondFactorsRemoved,
    /// An operator registered an app that signs its users in with Latchkey (OpenID Connect).
    ClientAdded,
    ClientRemoved,
    ClientSecretRotated,
    /// An operator changed a registered app's addresses or name.
    ClientEdited,
    /// The command line made an account admin, or took it back.
    AdminGranted,
    AdminRevoked,
    /// An admin proved their second factor for the console's changes (step-up), or failed to.
    SteppedUp,
    SteppedUpFailed,
    /// An admin's actions on an account (each with a reason, before and after).
    AccountDisabled,
    AccountEnabled,
    LocksLifted,
    SessionsEndedByAdmin,
    FactorRemovedByAdmin,
    ResetSentByAdmin,
    CreditsAdjustedByAdmin,
    PlanChangedByAdmin,
    /// Admin API tokens: made, revoked, and each request made with one.
    ApiTokenCreated,
    ApiTokenRevoked,
    ApiTokenUsed,
    /// The account's life: a new address asked for, made, or put back by the old mailbox.
    EmailChangeRequested,
    EmailChanged,
    EmailRestored,
    /// The owner asked for the account's deletion, or kept it during the grace; it was erased.
    DeletionRequested,
    DeletionCancelled,
    AccountErased,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Register => "register",
            Event::LoginSucceeded => "login.succeeded",
            Event::LoginFailed => "login.failed",
            Event::Logout => "logout",
            Event::VerificationSent => "email.verification_sent",
            Event::EmailVerified => "email.verified",
            Event::PasswordChanged => "password.changed",
            Event::Upgraded => "plan.upgraded",
            Event::CreditsAdjusted => "credits.adjusted",
            Event::PasswordReset => "password.reset",
            Event::PhoneVerified => "phone.verified",
            Event::ResetRequested => "password.reset_requested",
            Event::UsernameReminded => "username.reminded",
            Event::PhoneRemoved => "phone.removed",
            Event::SessionsEnded => "sessions.ended",
            Event::LanguageChosen => "language.chosen",
            Event::SecondFactorRequired => "login.second_factor_required",
            Event::SecondFactorFailed => "login.second_factor_failed",
            Event::TotpBegun => "mfa.totp_begun",
            Event::TotpEnabled => "mfa.totp_enabled",
            Event::TotpDisabled => "mfa.totp_disabled",
            Event::RecoveryCodesRenewed => "mfa.recovery_codes_renewed",
            Event::PasskeyAdded => "mfa.passkey_added",
            Event::PasskeyRemoved => "mfa.passkey_removed",
            Event::SecondFactorsRemoved => "mfa.removed_by_reset",
            Event::ClientAdded => "oidc.client_added",
            Event::ClientRemoved => "oidc.client_removed",
            Event::ClientSecretRotated => "oidc.client_secret_rotated",
            Event::ClientEdited => "oidc.client_edited",
            Event::AdminGranted => "admin.granted",
            Event::AdminRevoked => "admin.revoked",
            Event::SteppedUp => "admin.stepped_up",
            Event::SteppedUpFailed => "admin.step_up_failed",
            Event::AccountDisabled => "admin.account_disabled",
            Event::AccountEnabled => "admin.account_enabled",
            Event::LocksLifted => "admin.locks_lifted",
            Event::SessionsEndedByAdmin => "admin.sessions_ended",
            Event::FactorRemovedByAdmin => "admin.factor_removed",
            Event::ResetSentByAdmin => "admin.reset_sent",
            Event::CreditsAdjustedByAdmin => "admin.credits_adjusted",
            Event::PlanChangedByAdmin => "admin.plan_changed",
            Event::ApiTokenCreated => "admin.api_token_created",
            Event::ApiTokenRevoked => "admin.api_token_revoked",
            Event::ApiTokenUsed => "admin.api_token_used",
            Event::EmailChangeRequested => "email.change_requested",
            Event::EmailChanged => "email.changed",
            Event::EmailRestored => "email.restored",
            Event::DeletionRequested => "account.deletion_requested",
            Event::DeletionCancelled => "account.deletion_cancelled",
            Event::AccountErased => "account.erased",
        }
    }
}

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub client_addr: Option<String>,
    /// The same address, parsed, for the per-address limits.
    pub client_ip: Option<std::net::IpAddr>,
    pub request_id: Option<String>,
    /// The language the request asks for (`request_id::language_of`): a new account's
    /// messages start in it.
    pub language: crate::i18n::Language,
    /// The language of Authing's `x-authing-lang`, which its answers' messages follow.
    pub authing_language: Option<crate::i18n::Language>,
    /// The client's `User-Agent` (cut short), so the account page can tell sessions apart.
    pub user_agent: Option<String>,
}

pub async fn record(
    db: impl Into<Exec<'_>>,
    event: Event,
    user_id: Option<i64>,
    meta: &RequestMeta,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO audit_log (at, event, user_id, client_addr, request_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(super::now())
    .bind(event.as_str())
    .bind(user_id)
    .bind(meta.client_addr.as_deref())
    .bind(meta.request_id.as_deref())
    .bind(detail)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// An operator's action: who did it, why, and the account before and after (JSON).
#[derive(Debug, Clone, Copy)]
pub struct ByOperator<'a> {
    pub actor_id: i64,
    pub reason: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// [`record`] for an operator's action, with its actor, reason, before and after.
pub async fn record_by_operator(
    db: impl Into<Exec<'_>>,
    event: Event,
    user_id: Option<i64>,
    meta: &RequestMeta,
    detail: Option<&str>,
    by: &ByOperator<'_>,
) -> Result<(), sqlx::Error> {
    on_backend!(db, e => sqlx::query(
        "INSERT INTO audit_log (at, event, user_id, client_addr, request_id, detail, actor_id, \
         reason, before_state, after_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(super::now())
    .bind(event.as_str())
    .bind(user_id)
    .bind(meta.client_addr.as_deref())
    .bind(meta.request_id.as_deref())
    .bind(detail)
    .bind(by.actor_id)
    .bind(by.reason)
    .bind(by.before)
    .bind(by.after)
    .execute(e)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// [`record`], or [`record_by_operator`] when an operator acted.
pub async fn record_as(
    db: impl Into<Exec<'_>>,
    event: Event,
    user_id: Option<i64>,
    meta: &RequestMeta,
    detail: Option<&str>,
    by: Option<&ByOperator<'_>>,
) -> Result<(), sqlx::Error> {
    match by {
        Some(by) => record_by_operator(db, event, user_id, meta, detail, by).await,
        None => record(db, event, user_id, meta, detail).await,
    }
}
