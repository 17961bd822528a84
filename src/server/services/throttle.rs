//! Login throttling per account: after `free_attempts` attempts without a
//! success, each further attempt waits twice as long as the one before (15 s, 30 s, … capped at
//! `max_lock_seconds`), and no subject gets more than 100 attempts an hour (ASVS V2.2.1).
//!
//! Attempts are counted *before* the password is checked and forgotten on success, so a flood
//! of parallel guesses is cut off after `free_attempts` just like a sequential one. A name or
//! address that matches no account is throttled exactly like one that does, so a lockout says
//! nothing about whether the account exists.

use super::ServiceError;
use crate::server::store::{self, throttle, Db, Exec, Tx};

/// ASVS V2.2.1: at most 100 failed attempts an hour per account.
pub const ATTEMPTS_PER_HOUR: i64 = 100;
/// The first lock's length; each further attempt doubles it.
const FIRST_LOCK_SECONDS: i64 = 15;

#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    pub free_attempts: i64,
    pub max_lock_seconds: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            free_attempts: 5,
            max_lock_seconds: 15 * 60,
        }
    }
}

impl LoginPolicy {
    /// When the next attempt may come after the counted one, if it must wait at all.
    pub fn lock_after(&self, counted: throttle::Counted, now: i64) -> Option<i64> {
        let mut until = None;
        if counted.attempts >= self.free_attempts {
            let doublings = (counted.attempts - self.free_attempts).min(20) as u32;
            let seconds = (FIRST_LOCK_SECONDS << doublings).min(self.max_lock_seconds);
            until = Some(now + seconds);
        }
        if counted.attempts_in_window >= ATTEMPTS_PER_HOUR {
            let window_end = counted.window_started + 3600;
            until = Some(until.map_or(window_end, |t: i64| t.max(window_end)));
        }
        until
    }
}

/// What a password check is counted against.
pub enum Subject<'a> {
    /// An account as reached through one kind of identifier (`username` or `email`), or
    /// through [`SIGNED_IN`] for a signed-in password re-check. Each has its own lock, so a
    /// lock on one says nothing about whether another names the same account.
    Account { id: i64, through: &'a str },
    /// An account from a browser that signed in to it before (a device token's nonce).
    Device { id: i64, nonce: &'a str },
    /// The identifier as typed (trimmed, lower-cased), when it matches no account.
    Unknown(&'a str),
    /// The codes of an account's second step, whichever identifier or device its password step
    /// came through: one lock per account, so the code gets the same few guesses however the
    /// sign-in began, and a password reset (which proves the address, not the second factor)
    /// does not lift it.
    SecondStep { id: i64 },
    /// Every remembered browser of an account together: each device cookie is a lane of its
    /// own, so their failures also count here, or N cookies would buy N times the guesses.
    Devices { id: i64 },
}

/// `through` of a password checked for a signed-in account (changing the password).
pub const SIGNED_IN: &str = "(signed in)";

/// The identifier as a key part: trimmed, lower-cased, and capped (a key is a row, and the
/// name is whatever the client sent).
fn typed(name: &str) -> String {
    name.trim()
        .chars()
        .take(320)
        .collect::<String>()
        .to_lowercase()
}

impl Subject<'_> {
    pub fn key(&self) -> String {
        match self {
            Subject::Account { id, through } => format!("user:{id}:{}", typed(through)),
            Subject::Device { id, nonce } => format!("device:{id}:{nonce}"),
            Subject::Unknown(name) => format!("name:{}", typed(name)),
            Subject::SecondStep { id } => format!("second-step:{id}"),
            Subject::Devices { id } => format!("devices:{id}"),
        }
    }
}

/// Clears the password locks of an account, whatever identifier or device it was reached
/// through: after a password reset, which proves control of the address or phone. The second
/// step's lock stays ([`Subject::SecondStep`]): a reset proves nothing about the second factor.
pub async fn clear_account(tx: &mut Tx, account_id: i64) -> Result<(), ServiceError> {
    throttle::forget_prefix(&mut *tx, &format!("user:{account_id}:")).await?;
    throttle::forget_prefix(&mut *tx, &format!("device:{account_id}:")).await?;
    throttle::forget(&mut *tx, &Subject::Devices { id: account_id }.key()).await?;
    Ok(())
}

/// Counts an attempt, or refuses it while the subject is locked.
pub async fn admit(
    db: &Db,
    policy: &LoginPolicy,
    subject: &Subject<'_>,
) -> Result<(), ServiceError> {
    admit_key(db, policy, &subject.key()).await
}

/// [`admit`] by a subject's key, as a second-factor challenge keeps it.
pub async fn admit_key(db: &Db, policy: &LoginPolicy, key: &str) -> Result<(), ServiceError> {
    let now = store::unix_now();
    super::write_tx!(*db, |tx| {
        let Some(counted) = throttle::count_attempt(&mut *tx, key, now).await? else {
            let until = throttle::locked_until(&mut *tx, key).await?.unwrap_or(now);
            return Err(ServiceError::RateLimited {
                retry_after: (until - now).max(1),
            });
        };
        if let Some(until) = policy.lock_after(counted, now) {
            throttle::lock_until(&mut *tx, key, until).await?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Refuses while `key` is locked, counting nothing: for limits that count failures only.
pub async fn refuse_while_locked(db: &Db, key: &str) -> Result<(), ServiceError> {
    let now = store::unix_now();
    match throttle::locked_until(db, key).await? {
        Some(until) if until > now => Err(ServiceError::RateLimited {
            retry_after: until - now,
        }),
        _ => Ok(()),
    }
}

/// Clears a subject's attempts and lock: after a successful login or a password reset.
pub async fn clear(db: impl Into<Exec<'_>>, subject: &Subject<'_>) -> Result<(), ServiceError> {
    clear_key(db, &subject.key()).await
}

/// [`clear`] by a subject's key.
pub async fn clear_key(db: impl Into<Exec<'_>>, key: &str) -> Result<(), ServiceError> {
    throttle::forget(db, key).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use throttle::Counted;

    fn counted(attempts: i64) -> Counted {
        Counted {
            attempts,
            window_started: 1_000,
            attempts_in_window: attempts,
        }
    }

    #[test]
    fn the_first_attempts_are_free_then_locks_double_up_to_the_cap() {
        let policy = LoginPolicy::default();
        let now = 2_000;
        for n in 1..5 {
            assert_eq!(policy.lock_after(counted(n), now), None, "attempt {n}");
        }
        let locks: Vec<i64> = (5..=12)
            .map(|n| policy.lock_after(counted(n), now).unwrap() - now)
            .collect();
        assert_eq!(locks, [15, 30, 60, 120, 240, 480, 900, 900]);
        // Far past the cap, the shift must not overflow.
        let many = Counted {
            attempts_in_window: 1,
            ..counted(10_000)
        };
        assert_eq!(policy.lock_after(many, now), Some(now + 900));
    }

    #[test]
    fn the_hourly_cap_locks_until_the_window_ends() {
        let policy = LoginPolicy {
            free_attempts: 1_000,
            max_lock_seconds: 900,
        };
        let at_cap = Counted {
            attempts: 100,
            window_started: 1_000,
            attempts_in_window: ATTEMPTS_PER_HOUR,
        };
        assert_eq!(policy.lock_after(at_cap, 2_000), Some(1_000 + 3600));
        let below = Counted {
            attempts_in_window: ATTEMPTS_PER_HOUR - 1,
            ..at_cap
        };
        assert_eq!(policy.lock_after(below, 2_000), None);
    }

    #[test]
    fn subjects_are_keyed_by_what_was_typed_but_case_blind() {
        assert_eq!(Subject::Unknown(" Bob@X.org ").key(), "name:bob@x.org");
        let through_name = Subject::Account {
            id: 7,
            through: "username",
        };
        let through_address = Subject::Account {
            id: 7,
            through: "email",
        };
        assert_eq!(through_name.key(), "user:7:username");
        assert_ne!(through_name.key(), through_address.key());
        assert_eq!(Subject::Device { id: 7, nonce: "ab" }.key(), "device:7:ab");
        // Not under `user:7:` nor `device:7:`: a reset's clearing of those leaves it.
        assert_eq!(Subject::SecondStep { id: 7 }.key(), "second-step:7");
    }
}
