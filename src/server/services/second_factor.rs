//! Second factors: an authenticator app (TOTP), the ten recovery codes every
//! account with a second factor has, and the sign-in step that asks for a code or a passkey
//! (`services::passkeys`) after the password.
//!
//! A sign-in whose password is right, of an account with a second factor, gets no session: it
//! gets a challenge (`mfa_token`, five minutes, one use, five wrong codes at most) that a code
//! turns into a session. Wrong codes count against one lock per account (whichever identifier
//! the password step came through), which only a finished sign-in clears (a password reset
//! does not), so knowing the password does not buy unlimited guesses at the code.

use super::password;
use super::sessions::LoggedIn;
use super::sessions::{self, SignedIn};
use super::{throttle, Account, ServiceError};
use crate::domain::Invalid;
use crate::i18n::Problem;
use crate::server::crypto::link_token;
use crate::server::crypto::second_factor::{self as factor, EnteredCode, SealedFor};
use crate::server::delivery::messages::{self, FactorChange, Language};
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, outbox, second_factors, users, Tx};

/// How long a sign-in waits for its second factor.
pub const CHALLENGE_SECONDS: i64 = 300;
/// Wrong codes one challenge takes before it is burned (the password step must be done again).
const WRONG_CODES_PER_CHALLENGE: i64 = 5;

/// Where an account's authenticator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpState {
    Off,
    /// Begun, waiting for the first code.
    Pending,
    On,
}

/// What the security page and the account page say about second factors.
#[derive(Debug, Clone)]
pub struct Factors {
    pub totp: TotpState,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

/// An enrolment waiting for its first code: what the person copies into an app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32, as apps take it typed.
    pub secret: String,
    pub otpauth_uri: String,
}

impl Enrolment {
    fn of(secret: &[u8], account: &Account) -> Self {
        Enrolment {
            secret: factor::secret_text(secret),
            otpauth_uri: factor::otpauth_uri(secret, &account.username),
        }
    }

    /// The QR code of [`Enrolment::otpauth_uri`], as inline SVG.
    pub fn qr_svg(&self) -> String {
        factor::qr_svg(&self.otpauth_uri)
    }
}

pub async fn factors(state: &AppState, account: &Account) -> Result<Factors, ServiceError> {
    let counts = second_factors::factors_read(&state.reads, account.id).await?;
    Ok(Factors {
        totp: if counts.totp_on {
            TotpState::On
        } else if counts.totp_pending {
            TotpState::Pending
        } else {
            TotpState::Off
        },
        passkeys: counts.passkeys,
        recovery_codes_left: counts.recovery_codes_left,
    })
}

/// Starts (or starts again) adding an authenticator: a new secret, stored sealed, waiting for
/// its first code from the session that asked. Refused while one is on: it must be turned off
/// first.
async fn begin_totp(
    state: &AppState,
    signed_in: &SignedIn,
    meta: &RequestMeta,
) -> Result<Enrolment, ServiceError> {
    let account = &signed_in.account;
    let secret = factor::new_totp_secret();
    let sealed = factor::seal(
        &state.factor_key,
        SealedFor::TotpSecret,
        account.id,
        &secret,
    );
    let now = store::unix_now();
    let session = signed_in.session_id.as_str();
    super::write_tx!(state.db, |tx| {
        if !second_factors::put_pending_totp(&mut *tx, account.id, &sealed, session, now).await? {
            return Err(ServiceError::AlreadyDone(Problem::TotpAlreadyOn));
        }
        audit::record(&mut *tx, Event::TotpBegun, Some(account.id), meta, None).await?;
        Ok(())
    })?;
    Ok(Enrolment::of(&secret, account))
}

/// [`begin_totp`] after the password, on the pages and over REST alike: a stolen session
/// alone must not be able to put an authenticator of the thief's on the account (a reset keeps
/// second factors, so neither the password nor a reset would bring the owner back).
pub async fn begin_totp_with_password(
    state: &AppState,
    signed_in: &SignedIn,
    current_password: &str,
    meta: &RequestMeta,
) -> Result<Enrolment, ServiceError> {
    let account = &signed_in.account;
    let recheck = password::admit_recheck(state, account, meta).await?;
    if !password::current_matches(state, account, current_password).await? {
        return Err(Invalid::new("password", Problem::CurrentPasswordWrong).into());
    }
    recheck.passed(state).await?;
    begin_totp(state, signed_in, meta).await
}

/// The enrolment waiting for its first code, to show again (the page after a reload), to the
/// session that began it only: another session of the account reading the secret would hold
/// the factor too.
pub async fn pending_totp(
    state: &AppState,
    signed_in: &SignedIn,
) -> Result<Option<Enrolment>, ServiceError> {
    let account = &signed_in.account;
    let Some(row) = second_factors::totp_of(&state.db, account.id).await? else {
        return Ok(None);
    };
    if row.confirmed_at.is_some() || row.pending_session.as_deref() != Some(&signed_in.session_id) {
        return Ok(None);
    }
    let secret = open_secret(state, account.id, &row.secret_sealed)?;
    Ok(Some(Enrolment::of(&secret, account)))
}

fn open_secret(state: &AppState, user_id: i64, sealed: &str) -> Result<Vec<u8>, ServiceError> {
    factor::open(&state.factor_key, SealedFor::TotpSecret, user_id, sealed).ok_or_else(|| {
        ServiceError::Internal(format!(
            "the authenticator secret of account {user_id} does not open with the factor key"
        ))
    })
}

fn code_wrong() -> ServiceError {
    Invalid::new("code", Problem::SecondFactorCodeWrong).into()
}

/// Confirms the enrolment this session began with a code from the app: the second factor is
/// on from now, and the account gets ten recovery codes, returned here to be shown once.
/// Guesses at the code pass the limits of a password re-check.
pub async fn confirm_totp(
    state: &AppState,
    signed_in: &SignedIn,
    code: &str,
    meta: &RequestMeta,
) -> Result<Vec<String>, ServiceError> {
    let account = &signed_in.account;
    let session = signed_in.session_id.as_str();
    let row = second_factors::totp_of(&state.db, account.id)
        .await?
        .filter(|row| row.confirmed_at.is_none() && row.pending_session.as_deref() == Some(session))
        .ok_or(ServiceError::NotAllowed(Problem::TotpNotBegun))?;
    let recheck = password::admit_recheck(state, account, meta).await?;
    let secret = open_secret(state, account.id, &row.secret_sealed)?;
    let now = store::unix_now();
    let EnteredCode::Totp(code) = EnteredCode::parse(code) else {
        return Err(code_wrong());
    };
    let step = factor::matching_step(&secret, &code, now).ok_or_else(code_wrong)?;
    let codes = factor::new_recovery_codes();
    super::write_tx!(state.db, |tx| {
        if !second_factors::confirm_totp(&mut *tx, account.id, session, step, now).await? {
            return Err(ServiceError::AlreadyDone(Problem::TotpAlreadyOn));
        }
        store_recovery_codes(tx, state, account.id, &codes).await?;
        audit::record(&mut *tx, Event::TotpEnabled, Some(account.id), meta, None).await?;
        notify(tx, state, account, FactorChange::TotpOn).await?;
        Ok(())
    })?;
    recheck.passed(state).await?;
    state.mail.now();
    Ok(codes)
}

/// Turns the authenticator off (and its recovery codes with it): the password and a current
/// code (or a recovery code) first, checked under the same limits as a password change.
pub async fn disable_totp(
    state: &AppState,
    account: &Account,
    current_password: &str,
    code: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let recheck = password::admit_recheck(state, account, meta).await?;
    if !password::current_matches(state, account, current_password).await? {
        return Err(Invalid::new("password", Problem::CurrentPasswordWrong).into());
    }
    let now = store::unix_now();
    super::write_tx!(state.db, |tx| {
        if take_code(tx, state, account.id, code, now).await?.is_none() {
            return Err(code_wrong());
        }
        second_factors::remove_totp(&mut *tx, account.id).await?;
        forget_codes_without_factors(tx, account.id).await?;
        audit::record(&mut *tx, Event::TotpDisabled, Some(account.id), meta, None).await?;
        notify(tx, state, account, FactorChange::TotpOff).await?;
        Ok(())
    })?;
    recheck.passed(state).await?;
    state.mail.now();
    Ok(())
}

/// Ten new recovery codes for a current code; the old ones stop working.
pub async fn renew_recovery_codes(
    state: &AppState,
    account: &Account,
    code: &str,
    meta: &RequestMeta,
) -> Result<Vec<String>, ServiceError> {
    let recheck = password::admit_recheck(state, account, meta).await?;
    let now = store::unix_now();
    let codes = factor::new_recovery_codes();
    super::write_tx!(state.db, |tx| {
        if take_code(tx, state, account.id, code, now).await?.is_none() {
            return Err(code_wrong());
        }
        store_recovery_codes(tx, state, account.id, &codes).await?;
        audit::record(
            &mut *tx,
            Event::RecoveryCodesRenewed,
            Some(account.id),
            meta,
            None,
        )
        .await?;
        notify(tx, state, account, FactorChange::RecoveryCodesRenewed).await?;
        Ok(())
    })?;
    recheck.passed(state).await?;
    state.mail.now();
    Ok(codes)
}

pub(super) async fn store_recovery_codes(
    tx: &mut Tx,
    state: &AppState,
    user_id: i64,
    codes: &[String],
) -> Result<(), ServiceError> {
    let macs: Vec<String> = codes
        .iter()
        .filter_map(|code| match EnteredCode::parse(code) {
            EnteredCode::Recovery(normalised) => Some(normalised),
            _ => None,
        })
        .map(|normalised| factor::recovery_code_mac(&state.factor_key, user_id, &normalised))
        .collect();
    second_factors::replace_recovery_codes(tx, user_id, &macs).await?;
    Ok(())
}

/// Which kind of code was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsedCode {
    Totp,
    /// A recovery code, with how many are left after it.
    Recovery {
        left: i64,
    },
    Passkey,
}

impl UsedCode {
    fn as_str(self) -> &'static str {
        match self {
            UsedCode::Totp => "totp",
            UsedCode::Recovery { .. } => "recovery_code",
            UsedCode::Passkey => "passkey",
        }
    }
}

/// Uses up a code of a confirmed factor inside the caller's transaction: an authenticator code
/// of a step later than the last one taken, or an unused recovery code. `None` for anything
/// else (wrong, used, malformed, or no factor at all).
pub(super) async fn take_code(
    tx: &mut Tx,
    state: &AppState,
    user_id: i64,
    code: &str,
    now: i64,
) -> Result<Option<UsedCode>, ServiceError> {
    match EnteredCode::parse(code) {
        EnteredCode::Totp(code) => {
            let Some(row) = second_factors::totp_of(&mut *tx, user_id).await? else {
                return Ok(None);
            };
            if row.confirmed_at.is_none() {
                return Ok(None);
            }
            let secret = open_secret(state, user_id, &row.secret_sealed)?;
            let Some(step) = factor::matching_step(&secret, &code, now) else {
                return Ok(None);
            };
            let taken = second_factors::take_totp_step(&mut *tx, user_id, step).await?;
            Ok(taken.then_some(UsedCode::Totp))
        }
        EnteredCode::Recovery(normalised) => {
            let mac = factor::recovery_code_mac(&state.factor_key, user_id, &normalised);
            if !second_factors::use_recovery_code(&mut *tx, user_id, &mac, now).await? {
                return Ok(None);
            }
            let left = second_factors::unused_recovery_codes(&mut *tx, user_id).await?;
            Ok(Some(UsedCode::Recovery { left }))
        }
        EnteredCode::Malformed => Ok(None),
    }
}

/// Whether a sign-in of this account must show a second factor.
pub async fn required(state: &AppState, user_id: i64) -> Result<bool, ServiceError> {
    let counts = second_factors::factors_of(&state.db, user_id).await?;
    Ok(counts.totp_on || counts.passkeys > 0)
}

/// Deletes the account's recovery codes once it has no second factor left for them to stand
/// in for.
pub(super) async fn forget_codes_without_factors(
    tx: &mut Tx,
    user_id: i64,
) -> Result<(), ServiceError> {
    let counts = second_factors::factors_of(&mut *tx, user_id).await?;
    if !counts.totp_on && counts.passkeys == 0 {
        second_factors::replace_recovery_codes(tx, user_id, &[]).await?;
    }
    Ok(())
}

/// Opens a challenge for a sign-in whose password was right, inside the caller's transaction;
/// returns its token (the `mfa_token`). `throttle_key` is the lock the password step counted
/// against.
pub async fn open_challenge(
    tx: &mut Tx,
    user_id: i64,
    throttle_key: &str,
) -> Result<String, ServiceError> {
    let (token, digest) = link_token::generate();
    let expires_at = store::unix_now() + CHALLENGE_SECONDS;
    second_factors::insert_challenge(&mut *tx, &digest, user_id, throttle_key, expires_at).await?;
    Ok(token)
}

/// What the second step of a sign-in was answered with.
pub enum UsedFactor<'a> {
    /// A code from the authenticator app, or a recovery code.
    Code(&'a str),
    /// A passkey's assertion, when it verified: its account, credential id and updated record.
    Passkey(Option<(i64, String, String)>),
}

/// The sign-in a challenge token names, while it lives.
pub async fn live_challenge(
    state: &AppState,
    mfa_token: &str,
) -> Result<second_factors::Challenge, ServiceError> {
    let digest = link_token::digest(mfa_token);
    second_factors::challenge(&state.db, &digest, store::unix_now())
        .await?
        .ok_or(ServiceError::SecondFactorExpired)
}

/// For a live challenge, how many passkeys its account has; `None` when it is not live.
pub async fn passkeys_for_challenge(
    state: &AppState,
    mfa_token: &str,
) -> Result<Option<i64>, ServiceError> {
    let challenge = match live_challenge(state, mfa_token).await {
        Ok(challenge) => challenge,
        Err(ServiceError::SecondFactorExpired) => return Ok(None),
        Err(other) => return Err(other),
    };
    let counts = second_factors::factors_of(&state.db, challenge.user_id).await?;
    Ok(Some(counts.passkeys))
}

/// The second step of a sign-in: a challenge's token and a code give a session.
pub async fn complete_sign_in(
    state: &AppState,
    mfa_token: &str,
    code: &str,
    meta: &RequestMeta,
) -> Result<LoggedIn, ServiceError> {
    complete_with(state, mfa_token, UsedFactor::Code(code), meta).await
}

/// The second step with whichever factor: counted against the sign-in's lock, the challenge
/// used up by a right answer and worn down by wrong ones.
pub async fn complete_with(
    state: &AppState,
    mfa_token: &str,
    factor: UsedFactor<'_>,
    meta: &RequestMeta,
) -> Result<LoggedIn, ServiceError> {
    state.limits.admit(Action::Login, meta.client_ip).await?;
    let digest = link_token::digest(mfa_token);
    let challenge = live_challenge(state, mfa_token).await?;
    let user_id = challenge.user_id;
    let second_step = throttle::Subject::SecondStep { id: user_id };
    throttle::admit(&state.db, &state.settings.login_policy, &second_step).await?;
    let now = store::unix_now();
    let outcome = super::write_tx!(state.db, |tx| {
        let used = match &factor {
            UsedFactor::Code(code) => take_code(tx, state, user_id, code, now).await?,
            UsedFactor::Passkey(Some((owner, id, record))) if *owner == user_id => {
                crate::server::store::passkeys::record_use(&mut *tx, id, record, now).await?;
                Some(UsedCode::Passkey)
            }
            UsedFactor::Passkey(_) => None,
        };
        let Some(used) = used else {
            second_factors::count_wrong_code(tx, &digest, WRONG_CODES_PER_CHALLENGE).await?;
            audit::record(
                &mut *tx,
                Event::SecondFactorFailed,
                Some(user_id),
                meta,
                None,
            )
            .await?;
            return Ok(None);
        };
        // One use: of two requests with right answers, the second finds it gone.
        if !second_factors::take_challenge(&mut *tx, &digest).await? {
            return Err(ServiceError::SecondFactorExpired);
        }
        let row = users::find_by_id(&mut *tx, user_id)
            .await?
            .filter(|row| row.account_enabled)
            .ok_or(ServiceError::SecondFactorExpired)?;
        let with = match used {
            UsedCode::Passkey => sessions::SignedInWith::PasswordAndPasskey,
            UsedCode::Totp | UsedCode::Recovery { .. } => sessions::SignedInWith::PasswordAndCode,
        };
        let token = sessions::start(&mut *tx, state, row.id, row.token_version, with, meta).await?;
        let device = super::devices::remember(tx, state, row.id).await?;
        throttle::clear_key(&mut *tx, &challenge.throttle_key).await?;
        throttle::clear(&mut *tx, &second_step).await?;
        // The password step may have come through a remembered browser, which counted in the
        // lane of all of them too: the finished sign-in clears that as well.
        throttle::clear(&mut *tx, &throttle::Subject::Devices { id: row.id }).await?;
        audit::record(
            &mut *tx,
            Event::LoginSucceeded,
            Some(row.id),
            meta,
            Some(used.as_str()),
        )
        .await?;
        let account: Account = row.into();
        if let UsedCode::Recovery { left } = used {
            notify(tx, state, &account, FactorChange::RecoveryCodeUsed { left }).await?;
        }
        Ok(Some((account, token, device)))
    })?;
    let Some((account, token, device)) = outcome else {
        return Err(match factor {
            UsedFactor::Code(_) => ServiceError::SecondFactorWrong,
            UsedFactor::Passkey(_) => ServiceError::PasskeyRefused,
        });
    };
    state.mail.now();
    Ok(LoggedIn {
        account,
        token,
        device,
    })
}

/// Queues the mail that tells the account's owner of a change to its second factors.
pub(super) async fn notify(
    tx: &mut Tx,
    state: &AppState,
    account: &Account,
    change: FactorChange,
) -> Result<(), ServiceError> {
    let mail = messages::second_factor_changed(
        Language::from_tag(&account.language),
        &account.email,
        &account.username,
        change,
        &messages::now_for_people(),
        &format!("{}/account/security", state.settings.public_url),
    );
    outbox::enqueue_email(&mut *tx, &mail).await?;
    Ok(())
}
