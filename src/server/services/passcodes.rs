//! What every path that sends somebody a code or a link shares: the send limits per mailbox or
//! number (recovery, phone confirmation, verification links alike), and six-digit passcodes,
//! issued as an HMAC and checked at most a few times.

use super::ServiceError;
use crate::server::crypto::passcode;
use crate::server::state::AppState;
use crate::server::store::throttle as throttle_store;
use crate::server::store::{self, recovery, Tx};

/// How a code or link travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The name the database and the passcode MAC use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// What a passcode is for: a code for one purpose proves nothing for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ResetPassword,
    VerifyPhone,
}

impl Purpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::ResetPassword => "reset_password",
            Purpose::VerifyPhone => "verify_phone",
        }
    }
}

/// Sends allowed to one destination: one per `gap_seconds`, `per_hour` an hour.
#[derive(Debug, Clone, Copy)]
pub struct SendLimit {
    pub gap_seconds: i64,
    pub per_hour: i64,
}

/// Recovery codes and phone confirmations: one a minute, ten an hour per mailbox or number.
pub const CODE_SENDS: SendLimit = SendLimit {
    gap_seconds: 60,
    per_hour: 10,
};

/// Passcode guesses compared for one code before it is burned.
pub const MAX_TRIES: i64 = 5;
/// Wrong passcodes one account may receive in an hour, across every code and channel: a new
/// code must not bring a fresh set of guesses with it.
pub const WRONG_PASSCODES_PER_ACCOUNT_PER_HOUR: i64 = 10;

/// Logs a send to `destination`, or refuses it under `limit`, saying how long until the next
/// is admitted: the end of the gap, or, with the hour full, when the oldest send leaves it.
/// `destination` is the limit's key: paths that must not share a budget (a signed-in person
/// confirming a number, a stranger asking for recovery codes to it) prefix it.
pub async fn admit_send(
    tx: &mut Tx,
    channel: Channel,
    destination: &str,
    limit: SendLimit,
    now: i64,
) -> Result<(), ServiceError> {
    let channel = channel.as_str();
    let (count, first, last) =
        recovery::sends_window(&mut *tx, channel, destination, now - 3600).await?;
    let gap_over = last.map_or(now, |last| last + limit.gap_seconds);
    let hour_over = match first {
        Some(first) if count >= limit.per_hour => first + 3600,
        _ => now,
    };
    let admitted_at = gap_over.max(hour_over);
    if admitted_at > now {
        return Err(ServiceError::RateLimited {
            retry_after: admitted_at - now,
        });
    }
    recovery::log_send(&mut *tx, channel, destination, now).await?;
    Ok(())
}

/// A fresh passcode for `destination` and `purpose`, replacing any earlier one, valid for
/// `lifetime` seconds; only its HMAC is stored. `owner` is `None` for a decoy (a destination
/// with no account), which answers step 2 exactly as a real code does. Returns the code.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    tx: &mut Tx,
    state: &AppState,
    channel: Channel,
    destination: &str,
    purpose: Purpose,
    owner: Option<i64>,
    now: i64,
    lifetime: i64,
) -> Result<String, sqlx::Error> {
    let code = passcode::generate();
    let (channel, purpose) = (channel.as_str(), purpose.as_str());
    recovery::put_passcode(
        &mut *tx,
        recovery::NewPasscode {
            channel,
            destination,
            purpose,
            user_id: owner,
            code_mac: &passcode::mac(&state.passcode_key, channel, destination, purpose, &code),
            now,
            expires_at: now + lifetime,
        },
    )
    .await?;
    Ok(code)
}

/// Checks a passcode and uses it up; returns its account. At most [`MAX_TRIES`] guesses are
/// ever compared for one code, and at most [`WRONG_PASSCODES_PER_ACCOUNT_PER_HOUR`] wrong ones
/// for one account across all its codes; past either even the right code fails
/// ([`ServiceError::PasscodeBurned`]). Callers limit the checks per client address first.
pub async fn check(
    state: &AppState,
    channel: Channel,
    destination: &str,
    purpose: Purpose,
    code: &str,
) -> Result<i64, ServiceError> {
    let (channel, purpose) = (channel.as_str(), purpose.as_str());
    let Some(stored) =
        recovery::claim_try(&state.db, channel, destination, purpose, MAX_TRIES).await?
    else {
        let exists = recovery::find_passcode(&state.db, channel, destination, purpose).await?;
        return Err(match exists {
            Some(burned) if burned.expires_at > store::unix_now() => ServiceError::PasscodeBurned,
            _ => ServiceError::PasscodeInvalid,
        });
    };
    let now = store::unix_now();
    // Wrong codes are counted per account; a decoy's per destination, so that an unknown
    // address runs out of fresh codes' tries exactly as a known one does.
    let tries_key = match stored.user_id {
        Some(id) => format!("passcodes:{id}"),
        None => format!("passcodes:{channel}:{destination}"),
    };
    if throttle_store::attempts_this_hour(&state.db, &tries_key, now).await?
        >= WRONG_PASSCODES_PER_ACCOUNT_PER_HOUR
    {
        return Err(ServiceError::PasscodeBurned);
    }
    let right = passcode::matches(
        &state.passcode_key,
        channel,
        destination,
        purpose,
        code,
        &stored.code_mac,
    );
    let (true, Some(user_id)) = (right && stored.expires_at > now, stored.user_id) else {
        super::write_tx!(state.db, |tx| {
            throttle_store::count_attempt(&mut *tx, &tries_key, now).await?;
            Ok(())
        })?;
        return Err(ServiceError::PasscodeInvalid);
    };
    // Whoever deletes the row owns the code: two right answers at once get one success.
    if !recovery::delete_passcode(&state.db, channel, destination, purpose).await? {
        return Err(ServiceError::PasscodeInvalid);
    }
    Ok(user_id)
}
