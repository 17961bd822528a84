//! Upgrading from the free plan to the paid plan: one way, verified e-mail only.

use super::Account;
use super::ServiceError;
use crate::i18n::Problem;
use crate::server::delivery::messages::{self, Language};
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{outbox, users};

pub async fn upgrade(
    state: &AppState,
    account: &Account,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    super::write_tx!(state.db, |tx| {
        if !users::upgrade_to_paid(&mut *tx, account.id).await? {
            // Say why from the current row, not the (possibly older) one the caller holds.
            let current = users::find_by_id(&mut *tx, account.id)
                .await?
                .ok_or(ServiceError::Unauthenticated)?;
            return Err(if current.plan == "paid" {
                ServiceError::AlreadyDone(Problem::AlreadyUpgraded)
            } else {
                ServiceError::NotAllowed(Problem::VerifyBeforeUpgrading)
            });
        }
        let mail = messages::upgraded(
            Language::from_tag(&account.language),
            &account.email,
            &account.username,
            &messages::now_for_people(),
            &format!("{}/account", state.settings.public_url),
        );
        outbox::enqueue_email(&mut *tx, &mail).await?;
        audit::record(&mut *tx, Event::Upgraded, Some(account.id), meta, None).await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(())
}
