//! Register, log in, refresh, and resolve a session to its account.

use super::sessions::{self, LoggedIn};
use super::throttle::{self, Subject};
use super::{devices, second_factor, verification, Account, ServiceError};
use crate::domain::{Email, Invalid, LoginIdentifier, NewPassword, Username};
use crate::i18n::Problem;
use crate::server::delivery::messages::Language;
use crate::server::services::client_limits::Action;
use crate::server::state::AppState;
use crate::server::store::audit::{self, Event, RequestMeta};
use crate::server::store::users::{self, Conflict, InsertError, NewAccount};

/// Raw registration input, as any adapter received it.
pub struct Registration<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
}

/// Creates an account. Every field is checked and all problems are reported together, so a
/// form can mark each field at once.
pub async fn register(
    state: &AppState,
    input: Registration<'_>,
    meta: &RequestMeta,
) -> Result<Account, ServiceError> {
    state.limits.admit(Action::Register, meta.client_ip).await?;
    let username = Username::parse(input.username);
    let email = Email::parse(input.email);
    let password = NewPassword::parse(input.password, Some(input.username), Some(input.email));
    let (username, email, password) = match (username, email, password) {
        (Ok(u), Ok(e), Ok(p)) => (u, e, p),
        (u, e, p) => {
            let problems: Vec<Invalid> =
                [u.err(), e.err(), p.err()].into_iter().flatten().collect();
            return Err(ServiceError::Invalid(problems));
        }
    };

    let password_hash = state.hasher.hash(password.expose()).await?;
    let now = crate::server::store::now();
    let language = meta.language;
    let account = super::write_tx!(state.db, |tx| {
        // An address its account moved away from is held for the way back (72 hours).
        let held = crate::server::store::account_life::address_held(
            &mut *tx,
            &email.key(),
            crate::server::store::unix_now(),
        )
        .await?;
        if held {
            return Err(ServiceError::Taken(Invalid {
                field: "email",
                problem: Problem::EmailTaken,
            }));
        }
        let inserted = users::insert(
            &mut *tx,
            NewAccount {
                username: username.as_str(),
                email: email.as_str(),
                email_key: &email.key(),
                password_hash: &password_hash,
                credits_micro: state.settings.starting_credits.micro(),
                preferred_language: language.tag(),
                now: &now,
            },
        )
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(InsertError::Conflict(Conflict::Username)) => {
                return Err(ServiceError::Taken(Invalid {
                    field: "username",
                    problem: Problem::UsernameTaken,
                }))
            }
            Err(InsertError::Conflict(Conflict::Email)) => {
                return Err(ServiceError::Taken(Invalid {
                    field: "email",
                    problem: Problem::EmailTaken,
                }))
            }
            Err(InsertError::Database(e)) => return Err(e.into()),
        };
        let account: Account = row.into();
        audit::record(&mut *tx, Event::Register, Some(account.id), meta, None).await?;
        // The account and its verification mail are committed together.
        verification::queue_link(tx, state, &account, language, meta).await?;
        Ok(account)
    })?;
    state.mail.now();
    tracing::info!(account = account.id, "account registered");
    Ok(account)
}

/// How a sign-in with a right password goes on.
pub enum SignIn {
    /// Signed in (boxed: the account is large beside a token).
    Done(Box<LoggedIn>),
    /// The account has a second factor: a code must follow, with this challenge's token
    /// (`second_factor::complete_sign_in`). No session exists yet.
    SecondFactor { mfa_token: String },
}

/// The account `identifier` names and its password hash, and the kind of identifier typed.
/// The sign-in lock is keyed by that kind, not by the spelling: an account has one name and one
/// address, so it has two locks, and variants of either share its lock. Every path that checks
/// a password for a typed identifier (signing in, keeping an account) counts in these locks.
pub(super) async fn credentials_of(
    state: &AppState,
    identifier: &str,
) -> Result<(Option<(users::AccountRow, String)>, &'static str), ServiceError> {
    Ok(match LoginIdentifier::parse(identifier) {
        Some(LoginIdentifier::Username(name)) => (
            users::find_credentials(&state.db, Some(name.as_str()), None).await?,
            "username",
        ),
        Some(LoginIdentifier::Email(email)) => (
            users::find_credentials(&state.db, None, Some(&email.key())).await?,
            "email",
        ),
        None => (None, "unparsed"),
    })
}

/// Checks a username-or-e-mail and password. Unknown accounts, disabled accounts and wrong
/// passwords all cost one argon2 verification and give the same error.
///
/// Attempts are throttled per client address and per account *as reached through the kind of
/// identifier typed*: wrong guesses at `carol` lock the account's username, not
/// `carol@example.com`, so a lock never links a name to an address. A browser the account
/// remembers from an earlier successful sign-in (`services::devices`) is throttled on its own,
/// so a stranger's guesses cannot lock the owner out.
pub async fn log_in(
    state: &AppState,
    identifier: &str,
    password: &str,
    device: Option<&str>,
    meta: &RequestMeta,
) -> Result<SignIn, ServiceError> {
    state.limits.admit(Action::Login, meta.client_ip).await?;
    let (found, through) = credentials_of(state, identifier).await?;
    let known_device = match (&found, device) {
        (Some((row, _)), Some(token)) => devices::recognised(state, token, row.id).await?,
        _ => None,
    };
    let subject = match (&found, known_device) {
        (Some((row, _)), Some(nonce)) => Subject::Device { id: row.id, nonce },
        (Some((row, _)), None) => Subject::Account {
            id: row.id,
            through,
        },
        (None, _) => Subject::Unknown(identifier),
    };
    let policy = &state.settings.login_policy;
    throttle::admit(&state.db, policy, &subject).await?;
    // Every remembered browser of the account also counts in one lane for them all.
    let all_devices = match subject {
        Subject::Device { id, .. } => Some(Subject::Devices { id }),
        _ => None,
    };
    if let Some(all_devices) = &all_devices {
        throttle::admit(&state.db, policy, all_devices).await?;
    }
    // A password longer than any we accept cannot match; skip hashing megabytes of it.
    let plausible = password.chars().count() <= NewPassword::MAX_CHARS;
    let stored_hash = found
        .as_ref()
        .map(|(_, hash)| hash.as_str())
        .filter(|_| plausible);
    let matched = state.hasher.verify(password, stored_hash).await?;

    if let Some((row, _)) = found
        .as_ref()
        .filter(|(row, _)| matched && !row.account_enabled)
    {
        // Only whoever knows the password learns that the account waits for its deletion,
        // and where to keep it.
        if super::account_life::deletion_pending(&state.db, row.id).await? {
            return Err(ServiceError::NotAllowed(Problem::AccountBeingDeleted));
        }
    }
    match found {
        Some((row, _)) if matched && row.account_enabled => {
            if second_factor::required(state, row.id).await? {
                // The lock stays counted until the code is right too.
                let key = subject.key();
                let mfa_token = super::write_tx!(state.db, |tx| {
                    let token = second_factor::open_challenge(tx, row.id, &key).await?;
                    let event = Event::SecondFactorRequired;
                    audit::record(tx, event, Some(row.id), meta, None).await?;
                    Ok(token)
                })?;
                return Ok(SignIn::SecondFactor { mfa_token });
            }
            let (token, device) = super::write_tx!(state.db, |tx| {
                let token = sessions::start(
                    &mut *tx,
                    state,
                    row.id,
                    row.token_version,
                    sessions::SignedInWith::Password,
                    meta,
                )
                .await?;
                throttle::clear(&mut *tx, &subject).await?;
                if let Some(all_devices) = &all_devices {
                    throttle::clear(&mut *tx, all_devices).await?;
                }
                let device = devices::remember(tx, state, row.id).await?;
                audit::record(tx, Event::LoginSucceeded, Some(row.id), meta, None).await?;
                Ok((token, device))
            })?;
            Ok(SignIn::Done(Box::new(LoggedIn {
                account: row.into(),
                token,
                device,
            })))
        }
        found => {
            let user_id = found.map(|(row, _)| row.id);
            audit::record(&state.db, Event::LoginFailed, user_id, meta, None).await?;
            Err(ServiceError::InvalidCredentials)
        }
    }
}

/// Resolves a session token to its live account (see [`sessions::resolve`]).
pub async fn account_for_token(state: &AppState, token: &str) -> Result<Account, ServiceError> {
    Ok(sessions::resolve(state, token).await?.account)
}

/// The language the account's mails come in from now on, as its owner chose on the pages.
pub async fn choose_language(
    state: &AppState,
    account: &Account,
    language: Language,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    if Language::from_tag(&account.language) == language {
        return Ok(());
    }
    super::write_tx!(state.db, |tx| {
        users::set_language(&mut *tx, account.id, language.tag()).await?;
        audit::record(
            &mut *tx,
            Event::LanguageChosen,
            Some(account.id),
            meta,
            Some(language.tag()),
        )
        .await?;
        Ok(())
    })
}
