//! Passkeys, through `webauthn-rs`: adding and removing them on the security page,
//! using one as the second step of a sign-in, and signing in with one and no password
//! (discoverable credentials: the passkey names its account).
//!
//! Every ceremony is two requests, which may reach different nodes: its verifier state is a
//! row (`webauthn_ceremonies`, five minutes) named by a random token the browser carries from
//! the start to the finish, and taken (deleted) by the finish, so it is used once. An account
//! has one ceremony of each kind under way at most; starting another replaces it.
//!
//! The account's WebAuthn user handle is derived from its id with the factor key rather than
//! being the id itself, so a passkey shows no database id to whoever holds the device.

use super::second_factor::{self, UsedFactor};
use super::sessions::LoggedIn;
use super::{password, sessions, Account, ServiceError};
use crate::domain::Invalid;
use crate::i18n::Problem;
use crate::server::crypto::link_token;
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::{self, passkeys, second_factors, users};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

/// How long a ceremony waits for the authenticator.
const CEREMONY_SECONDS: i64 = 300;
/// The longest name a passkey may be given.
pub const NAME_MAX_CHARS: usize = 64;

/// The relying party for the public URL, or `None` when its host is not a domain name: WebAuthn
/// refuses IP addresses, so passkeys are offered only on a site reached by name (`localhost`
/// counts).
pub fn relying_party(public_url: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_url).ok()?;
    let rp_id = origin.domain()?.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("Latchkey")
        .build()
        .ok()
}

fn webauthn(state: &AppState) -> Result<&Webauthn, ServiceError> {
    state
        .webauthn
        .as_deref()
        .ok_or(ServiceError::NotAllowed(Problem::PasskeysNeedDomain))
}

/// The account's WebAuthn user handle.
fn user_handle(state: &AppState, user_id: i64) -> Uuid {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&state.factor_key)
        .expect("HMAC takes any key length");
    mac.update(b"latchkey webauthn user handle\0");
    mac.update(&user_id.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn internal(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("{what}: {e}"))
}

/// What the browser needs to run a ceremony: its token (sent back with the finish) and the
/// options for `navigator.credentials`, as JSON.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub token: String,
    pub options: String,
}

#[derive(Clone, Copy)]
enum Purpose {
    Register,
    SignIn,
    SecondFactor,
    StepUp,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::SecondFactor => "second_factor",
            Purpose::StepUp => "step_up",
        }
    }
}

async fn open_ceremony(
    state: &AppState,
    user_id: Option<i64>,
    purpose: Purpose,
    verifier_state: &impl serde::Serialize,
    options: &impl serde::Serialize,
) -> Result<Ceremony, ServiceError> {
    let saved = serde_json::to_string(verifier_state).map_err(|e| internal("webauthn state", e))?;
    let options = serde_json::to_string(options).map_err(|e| internal("webauthn options", e))?;
    let (token, digest) = link_token::generate();
    let expires_at = store::unix_now() + CEREMONY_SECONDS;
    // One ceremony of a kind per account at a time: starting one again (a retry, another tab)
    // replaces it, so asking in a loop cannot pile up rows.
    if let Some(user_id) = user_id {
        passkeys::forget_ceremonies_of(&state.db, user_id, purpose.as_str()).await?;
    }
    passkeys::insert_ceremony(
        &state.db,
        &digest,
        user_id,
        purpose.as_str(),
        &saved,
        expires_at,
    )
    .await?;
    Ok(Ceremony { token, options })
}

/// The ceremony's account and verifier state; a ceremony that is unknown, finished, expired or
/// of another purpose is refused like a failed passkey.
async fn take_ceremony<S: serde::de::DeserializeOwned>(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<(Option<i64>, S), ServiceError> {
    let digest = link_token::digest(token);
    let (user_id, saved) =
        passkeys::take_ceremony(&state.db, &digest, purpose.as_str(), store::unix_now())
            .await?
            .ok_or(ServiceError::PasskeyRefused)?;
    let verifier = serde_json::from_str(&saved).map_err(|e| internal("webauthn state", e))?;
    Ok((user_id, verifier))
}

fn parse<T: serde::de::DeserializeOwned>(credential: &str) -> Result<T, ServiceError> {
    serde_json::from_str(credential).map_err(|_| ServiceError::PasskeyRefused)
}

fn stored(row: &passkeys::PasskeyRow) -> Result<Passkey, ServiceError> {
    serde_json::from_str(&row.passkey).map_err(|e| internal("stored passkey", e))
}

/// A passkey as the security page lists it.
#[derive(Debug, Clone)]
pub struct PasskeySummary {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn list(
    state: &AppState,
    account: &Account,
) -> Result<Vec<PasskeySummary>, ServiceError> {
    Ok(passkeys::of_user(&state.db, account.id)
        .await?
        .into_iter()
        .map(|row| PasskeySummary {
            id: row.credential_id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect())
}

/// Starts adding a passkey to the account, after the password: a passkey signs in without
/// one and outlives a reset, so a stolen session alone must not be able to add the thief's.
/// The authenticator is asked to keep it as a discoverable credential, so it can sign in
/// without a username.
pub async fn begin_registration(
    state: &AppState,
    account: &Account,
    current_password: &str,
    meta: &RequestMeta,
) -> Result<Ceremony, ServiceError> {
    let webauthn = webauthn(state)?;
    let recheck = password::admit_recheck(state, account, meta).await?;
    if !password::current_matches(state, account, current_password).await? {
        return Err(Invalid::new("password", Problem::CurrentPasswordWrong).into());
    }
    recheck.passed(state).await?;
    let existing: Vec<_> = passkeys::of_user(&state.db, account.id)
        .await?
        .iter()
        .map(stored)
        .collect::<Result<_, _>>()?;
    let exclude = existing.iter().map(|p| p.cred_id().clone()).collect();
    let (mut options, verifier): (_, PasskeyRegistration) = webauthn
        .start_passkey_registration(
            user_handle(state, account.id),
            &account.username,
            &account.username,
            Some(exclude),
        )
        .map_err(|e| internal("webauthn registration", e))?;
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.require_resident_key = true;
        selection.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
    }
    open_ceremony(
        state,
        Some(account.id),
        Purpose::Register,
        &verifier,
        &options,
    )
    .await
}

/// Finishes adding a passkey under `name`. When it is the account's first second factor, the
/// account gets its ten recovery codes, returned to be shown once.
pub async fn finish_registration(
    state: &AppState,
    account: &Account,
    token: &str,
    name: &str,
    credential: &str,
    meta: &RequestMeta,
) -> Result<Option<Vec<String>>, ServiceError> {
    let webauthn = webauthn(state)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
        return Err(Invalid::new(
            "name",
            Problem::PasskeyNameLength {
                max: NAME_MAX_CHARS,
            },
        )
        .into());
    }
    let (owner, verifier): (_, PasskeyRegistration) =
        take_ceremony(state, token, Purpose::Register).await?;
    if owner != Some(account.id) {
        return Err(ServiceError::PasskeyRefused);
    }
    let response: RegisterPublicKeyCredential = parse(credential)?;
    let passkey = webauthn
        .finish_passkey_registration(&response, &verifier)
        .map_err(|e| {
            tracing::info!(error = %e, "a passkey registration was refused");
            ServiceError::PasskeyRefused
        })?;
    let id = credential_key(passkey.cred_id().as_ref());
    let record = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    let now = store::unix_now();
    let codes = crate::server::crypto::second_factor::new_recovery_codes();
    let made_codes = super::write_tx!(state.db, |tx| {
        if !passkeys::insert(&mut *tx, &id, account.id, name, &record, now).await? {
            return Err(ServiceError::PasskeyRefused);
        }
        let first_factor = second_factors::unused_recovery_codes(&mut *tx, account.id).await? == 0;
        if first_factor {
            second_factor::store_recovery_codes(tx, state, account.id, &codes).await?;
        }
        audit::record(
            &mut *tx,
            Event::PasskeyAdded,
            Some(account.id),
            meta,
            Some(name),
        )
        .await?;
        second_factor::notify(
            tx,
            state,
            account,
            crate::server::delivery::messages::FactorChange::PasskeyAdded,
        )
        .await?;
        Ok(first_factor)
    })?;
    state.mail.now();
    Ok(made_codes.then_some(codes))
}

/// Removes one of the account's passkeys, after the password and a second factor (a code from
/// the authenticator app or a recovery code), as turning the app off asks: with a session
/// and the password alone, the second factor would be gone and the password would sign in.
/// With its last second factor gone, its recovery codes go too.
pub async fn remove(
    state: &AppState,
    account: &Account,
    id: &str,
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
        if second_factor::take_code(tx, state, account.id, code, now)
            .await?
            .is_none()
        {
            return Err(Invalid::new("code", Problem::SecondFactorCodeWrong).into());
        }
        if !passkeys::remove(&mut *tx, account.id, id).await? {
            return Err(ServiceError::NotAllowed(Problem::NoSuchPasskey));
        }
        second_factor::forget_codes_without_factors(tx, account.id).await?;
        audit::record(
            &mut *tx,
            Event::PasskeyRemoved,
            Some(account.id),
            meta,
            None,
        )
        .await?;
        second_factor::notify(
            tx,
            state,
            account,
            crate::server::delivery::messages::FactorChange::PasskeyRemoved,
        )
        .await?;
        Ok(())
    })?;
    recheck.passed(state).await?;
    state.mail.now();
    Ok(())
}

/// Starts a sign-in with a passkey and no username: the authenticator offers the passkeys it
/// keeps for this site.
pub async fn begin_sign_in(state: &AppState, meta: &RequestMeta) -> Result<Ceremony, ServiceError> {
    state.limits.admit(Action::Login, meta.client_ip).await?;
    let webauthn = webauthn(state)?;
    let (mut options, verifier): (_, DiscoverableAuthentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| internal("webauthn sign-in", e))?;
    // A button press, not the browser's autofill: the browser asks at once.
    options.mediation = None;
    open_ceremony(state, None, Purpose::SignIn, &verifier, &options).await
}

/// Finishes a passkey sign-in: the passkey names its account, and proves user verification
/// (a PIN or biometric on the device), so it needs no password and no further factor.
pub async fn finish_sign_in(
    state: &AppState,
    token: &str,
    credential: &str,
    meta: &RequestMeta,
) -> Result<LoggedIn, ServiceError> {
    let webauthn = webauthn(state)?;
    let (_, verifier): (_, DiscoverableAuthentication) =
        take_ceremony(state, token, Purpose::SignIn).await?;
    let response: PublicKeyCredential = parse(credential)?;
    let (handle, credential_id) = webauthn
        .identify_discoverable_authentication(&response)
        .map_err(|_| ServiceError::PasskeyRefused)?;
    let row = passkeys::by_credential(&state.db, &credential_key(credential_id))
        .await?
        .filter(|row| user_handle(state, row.user_id) == handle)
        .ok_or(ServiceError::PasskeyRefused)?;
    let mut passkey = stored(&row)?;
    let result = webauthn
        .finish_discoverable_authentication(&response, verifier, &[DiscoverableKey::from(&passkey)])
        .map_err(|e| {
            tracing::info!(error = %e, "a passkey sign-in was refused");
            ServiceError::PasskeyRefused
        })?;
    passkey.update_credential(&result);
    let record = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    let now = store::unix_now();
    let (account, token, device) = super::write_tx!(state.db, |tx| {
        let account_row = users::find_by_id(&mut *tx, row.user_id)
            .await?
            .filter(|account| account.account_enabled)
            .ok_or(ServiceError::PasskeyRefused)?;
        passkeys::record_use(&mut *tx, &row.credential_id, &record, now).await?;
        let token = sessions::start(
            &mut *tx,
            state,
            account_row.id,
            account_row.token_version,
            sessions::SignedInWith::Passkey,
            meta,
        )
        .await?;
        audit::record(
            &mut *tx,
            Event::LoginSucceeded,
            Some(account_row.id),
            meta,
            Some("passkey"),
        )
        .await?;
        let device = super::devices::remember(tx, state, account_row.id).await?;
        let account: Account = account_row.into();
        Ok((account, token, device))
    })?;
    Ok(LoggedIn {
        account,
        token,
        device,
    })
}

/// Starts using a passkey as the second step of a sign-in whose password was right.
pub async fn begin_second_factor(
    state: &AppState,
    mfa_token: &str,
    meta: &RequestMeta,
) -> Result<Ceremony, ServiceError> {
    state.limits.admit(Action::Login, meta.client_ip).await?;
    let challenge = second_factor::live_challenge(state, mfa_token).await?;
    begin_check_of(state, challenge.user_id, Purpose::SecondFactor).await
}

/// Opens a ceremony in which one of the account's own passkeys answers (a check of someone
/// already known, unlike the username-less sign-in).
async fn begin_check_of(
    state: &AppState,
    user_id: i64,
    purpose: Purpose,
) -> Result<Ceremony, ServiceError> {
    let webauthn = webauthn(state)?;
    let keys: Vec<Passkey> = passkeys::of_user(&state.db, user_id)
        .await?
        .iter()
        .map(stored)
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(ServiceError::NotAllowed(Problem::NoSuchPasskey));
    }
    let (options, verifier): (_, PasskeyAuthentication) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| internal("webauthn passkey check", e))?;
    open_ceremony(state, Some(user_id), purpose, &verifier, &options).await
}

/// Finishes the second step with a passkey: the sign-in's session.
pub async fn finish_second_factor(
    state: &AppState,
    mfa_token: &str,
    token: &str,
    credential: &str,
    meta: &RequestMeta,
) -> Result<LoggedIn, ServiceError> {
    let webauthn = webauthn(state)?;
    let (owner, verifier): (_, PasskeyAuthentication) =
        take_ceremony(state, token, Purpose::SecondFactor).await?;
    let proof = verified_use(state, webauthn, owner, &verifier, credential).await?;
    second_factor::complete_with(state, mfa_token, UsedFactor::Passkey(proof), meta).await
}

/// Checks a passkey's answer to a ceremony begun for `owner`: the account, the credential's id
/// and its record with the new signature counter (to store where the use is recorded), or
/// `None` when the answer is refused or the passkey is not the owner's.
async fn verified_use(
    state: &AppState,
    webauthn: &Webauthn,
    owner: Option<i64>,
    verifier: &PasskeyAuthentication,
    credential: &str,
) -> Result<Option<(i64, String, String)>, ServiceError> {
    let response: PublicKeyCredential = parse(credential)?;
    let verified = webauthn.finish_passkey_authentication(&response, verifier);
    let credential_id = credential_key(response.get_credential_id());
    Ok(match (verified, owner) {
        (Ok(result), Some(user_id)) => {
            let row = passkeys::by_credential(&state.db, &credential_id)
                .await?
                .filter(|row| row.user_id == user_id)
                .ok_or(ServiceError::PasskeyRefused)?;
            let mut passkey = stored(&row)?;
            passkey.update_credential(&result);
            let record = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
            Some((user_id, row.credential_id, record))
        }
        (Err(e), _) => {
            tracing::info!(error = %e, "a passkey answer was refused");
            None
        }
        (Ok(_), None) => None,
    })
}

/// Starts a passkey check of an admin already signed in (the console's step-up): a ceremony
/// of its own purpose, bound to the account, so it cannot finish a sign-in or be finished by
/// one.
pub async fn begin_step_up(state: &AppState, user_id: i64) -> Result<Ceremony, ServiceError> {
    begin_check_of(state, user_id, Purpose::StepUp).await
}

/// Finishes the step-up's ceremony for `user_id`: the passkey's id and its updated record (for
/// `store::passkeys::record_use`), or `None` when the answer is refused.
pub async fn finish_step_up(
    state: &AppState,
    user_id: i64,
    token: &str,
    credential: &str,
) -> Result<Option<(String, String)>, ServiceError> {
    let webauthn = webauthn(state)?;
    let (owner, verifier): (_, PasskeyAuthentication) =
        take_ceremony(state, token, Purpose::StepUp).await?;
    if owner != Some(user_id) {
        return Err(ServiceError::PasskeyRefused);
    }
    let used = verified_use(state, webauthn, owner, &verifier, credential).await?;
    Ok(used.map(|(_, id, record)| (id, record)))
}
