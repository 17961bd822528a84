//! Phone numbers on accounts: added by a signed-in account and confirmed with an SMS passcode;
//! only confirmed numbers can receive password reset codes.

use super::passcodes::{self, Channel, Purpose, CODE_SENDS};
use super::Account;
use super::ServiceError;
use crate::domain::phone::Phone;
use crate::i18n::Problem;
use crate::server::delivery::messages::{self, Language};
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, outbox, users};

pub const SMS_CODE_LIFETIME_SECONDS: i64 = 5 * 60;

/// Records the number on the account, unconfirmed, and texts it a code to confirm it.
///
/// Only an account with a verified address may add one: otherwise whoever registered somebody
/// else's address first could attach a phone of their own and later reset the real owner's
/// password by SMS. And the answer is the same whether or not another account has the number:
/// only confirmed numbers are unique, and confirming one proves possession.
pub async fn add(
    state: &AppState,
    account: &Account,
    number: &str,
    country_code: Option<&str>,
    meta: &RequestMeta,
) -> Result<Phone, ServiceError> {
    if !account.email_verified {
        return Err(ServiceError::NotAllowed(Problem::VerifyBeforeAddingPhone));
    }
    state.limits.admit(Action::Send, meta.client_ip).await?;
    let phone = Phone::parse(number, country_code)?;
    let now = store::unix_now();
    super::write_tx!(state.db, |tx| {
        // Confirmation texts have a limit of their own: a signed-in person confirming a number
        // must not use up the anonymous recovery sends to it, nor the other way round.
        let limit_key = format!("confirm:{}", phone.e164);
        passcodes::admit_send(&mut *tx, Channel::Sms, &limit_key, CODE_SENDS, now).await?;
        users::set_phone(&mut *tx, account.id, &phone.country_code, &phone.national).await?;
        let code = passcodes::issue(
            &mut *tx,
            state,
            Channel::Sms,
            &phone.e164,
            Purpose::VerifyPhone,
            Some(account.id),
            now,
            SMS_CODE_LIFETIME_SECONDS,
        )
        .await?;
        let text = messages::sms_passcode(
            Language::from_tag(&account.language),
            &code,
            SMS_CODE_LIFETIME_SECONDS / 60,
            false,
        );
        outbox::enqueue_sms(&mut *tx, &phone.e164, &text).await?;
        Ok(())
    })?;
    state.mail.now();
    Ok(phone)
}

/// Confirms the account's number with the code texted to it.
pub async fn confirm(
    state: &AppState,
    account: &Account,
    code: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let row = users::find_by_id(&state.db, account.id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    let (Some(country_code), Some(national)) = (row.phone_country_code, row.phone_number) else {
        return Err(ServiceError::NotAllowed(Problem::NoPhoneToConfirm));
    };
    state
        .limits
        .admit(Action::PasscodeCheck, meta.client_ip)
        .await?;
    let e164 = format!("+{country_code}{national}");
    let user_id = passcodes::check(state, Channel::Sms, &e164, Purpose::VerifyPhone, code).await?;
    if user_id != account.id {
        return Err(ServiceError::PasscodeInvalid);
    }
    super::write_tx!(state.db, |tx| {
        let confirmation = users::confirm_phone(&mut *tx, account.id, &e164).await?;
        if !confirmation.confirmed {
            return Err(ServiceError::PasscodeInvalid);
        }
        if let Some(previous) = confirmation.taken_from {
            let detail = Some("confirmed by another account");
            audit::record(&mut *tx, Event::PhoneRemoved, Some(previous), meta, detail).await?;
        }
        audit::record(&mut *tx, Event::PhoneVerified, Some(account.id), meta, None).await?;
        Ok(())
    })?;
    Ok(())
}
