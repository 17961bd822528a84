//! Credits: read by the account, granted or deducted by an operator.

use super::{sessions, ServiceError};
use crate::domain::{Credits, Invalid};
use crate::i18n::Problem;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, users, Db};

/// The balance of the account a session token belongs to (`GET /v2/account/credits/available`):
/// the token's checks and one read that also checks its session row.
pub async fn available(state: &AppState, token: &str) -> Result<Credits, ServiceError> {
    let (account_id, claims) = sessions::claims_of(state, token)?;
    store::sessions::credits_of(
        &state.reads,
        &claims.sid,
        account_id,
        claims.tv,
        store::unix_now(),
    )
    .await?
    .map(Credits::from_micro)
    .ok_or(ServiceError::Unauthenticated)
}

/// Adds `delta` (negative deducts) to an account's credits atomically and audits it. Returns
/// the new balance. A balance never goes below zero.
pub async fn adjust(
    db: &Db,
    username: &str,
    delta: Credits,
    meta: &RequestMeta,
) -> Result<Credits, ServiceError> {
    let balance = super::write_tx!(*db, |tx| {
        let Some((user_id, balance)) =
            users::adjust_credits(&mut *tx, username, delta.micro()).await?
        else {
            return Err(match users::find_by_username(&mut *tx, username).await? {
                None => ServiceError::Invalid(vec![Invalid {
                    field: "username",
                    problem: Problem::NoSuchAccount(username.to_owned()),
                }]),
                Some(_) => ServiceError::NotAllowed(Problem::BalanceOutOfRange),
            });
        };
        let detail = format!("{}{delta}", if delta.micro() >= 0 { "+" } else { "" });
        audit::record(
            &mut *tx,
            Event::CreditsAdjusted,
            Some(user_id),
            meta,
            Some(&detail),
        )
        .await?;
        Ok(balance)
    })?;
    Ok(Credits::from_micro(balance))
}
