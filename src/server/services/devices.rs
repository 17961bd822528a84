//! Remembered browsers (device cookies, OWASP's answer to lockouts that lock the owner out):
//! a browser that signed in successfully gets a signed token naming the account, and its
//! later sign-ins are throttled in a lane of their own, so a stranger's wrong guesses cannot
//! keep the owner out.
//!
//! A cookie counts only while the account remembers it (a row): a password change, a reset and
//! "End every session" forget them all, so a cookie collected while someone knew the old
//! password opens no lane for guessing the new one. An account remembers at most
//! [`KEPT_PER_ACCOUNT`] browsers, and every remembered browser's failures also count against
//! one lane for all of them (`throttle::Subject::Devices`), so collecting cookies buys no more
//! guesses than having one.

use super::ServiceError;
use crate::server::crypto::device_token;
use crate::server::state::AppState;
use crate::server::store::{self, devices, Tx};

/// Browsers an account remembers; signing in on another forgets the one remembered longest.
pub const KEPT_PER_ACCOUNT: i64 = 5;

/// Remembers this browser for the account, inside the sign-in's transaction; its token.
pub async fn remember(tx: &mut Tx, state: &AppState, user_id: i64) -> Result<String, ServiceError> {
    let (token, nonce) = device_token::issue(&state.passcode_key, user_id);
    devices::remember(tx, user_id, &nonce, store::unix_now(), KEPT_PER_ACCOUNT).await?;
    Ok(token)
}

/// The nonce of `token` when it is a genuine device token of the account that the account
/// still remembers.
pub async fn recognised<'t>(
    state: &AppState,
    token: &'t str,
    user_id: i64,
) -> Result<Option<&'t str>, ServiceError> {
    let Some(nonce) = device_token::verify(&state.passcode_key, token, user_id) else {
        return Ok(None);
    };
    let remembered = devices::is_remembered(&state.db, user_id, nonce).await?;
    Ok(remembered.then_some(nonce))
}

/// Forgets every browser of the account: the password changed, or every session was ended.
pub async fn forget_all(tx: &mut Tx, user_id: i64) -> Result<(), ServiceError> {
    devices::forget_all_of(tx, user_id).await?;
    Ok(())
}
