//! The operators' console: who may use it, and everything it does. The console's pages and the
//! admin API are two adapters of these functions.
//!
//! An operator is an admin account (made so on the command line only) reaching the console in
//! one of two ways: a signed-in session of an admin with a second factor, which may read at
//! once and change only within ten minutes of a second-factor check (step-up), so a stolen
//! cookie alone changes nothing; or an admin API token, read-only or read-write, whose every
//! use is audited. Anyone else gets [`ServiceError::NotFound`], as for a path that does not
//! exist. Every change names a reason and is audited with the actor, the reason, and the
//! account before and after.

use super::oidc_clients::{self, NewClient, RegisterError};
use super::sessions::SignedIn;
use super::{write_tx, Account, ServiceError};
use crate::domain::{Credits, Invalid};
use crate::i18n::Problem;
use crate::server::crypto::link_token;
use crate::server::crypto::session_token::LIFETIME_SECONDS;
use crate::server::delivery::messages::{self, AdminChange, Language};
use crate::server::state::AppState;
use crate::server::store::admin::{self as admin_store, AuditFilter, AuditRow, LockRow, Query};
use crate::server::store::audit::{self, ByOperator, Event, RequestMeta};
use crate::server::store::{self, oidc, outbox, passkeys, second_factors, sessions, users, Db, Tx};
use serde_json::json;

/// How long a second-factor check opens the console's changes.
pub const STEP_UP_SECONDS: i64 = 600;
/// The longest a reason may be.
pub const REASON_MAX: usize = 500;
/// Admin API tokens live this many days unless told otherwise, and at most [`TOKEN_DAYS_MAX`].
pub const TOKEN_DAYS_DEFAULT: i64 = 30;
pub const TOKEN_DAYS_MAX: i64 = 365;
/// The longest name a token may be given.
pub const TOKEN_NAME_MAX: usize = 100;
/// What every admin API token starts with, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "lka_";

/// An admin, and how they reached the console.
#[derive(Debug, Clone)]
pub struct Operator {
    pub account: Account,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    /// Signed in on the console's pages; `stepped_up_at` is the last second-factor check of
    /// the session (its sign-in, when that took one).
    Console {
        session_id: String,
        stepped_up_at: Option<i64>,
    },
    /// An admin API token.
    Token { id: String, read_only: bool },
}

impl Operator {
    /// Until when changes are open to this operator (Unix seconds); `None` when they are not.
    pub fn changes_open_until(&self, now: i64) -> Option<i64> {
        match &self.via {
            Via::Console { stepped_up_at, .. } => stepped_up_at
                .map(|at| at + STEP_UP_SECONDS)
                .filter(|until| *until > now),
            Via::Token { read_only, .. } => (!read_only).then_some(i64::MAX),
        }
    }

    /// Refuses a change unless step-up is fresh (console) or the token may write.
    pub fn may_change(&self) -> Result<(), ServiceError> {
        if self.changes_open_until(store::unix_now()).is_some() {
            return Ok(());
        }
        Err(ServiceError::NotAllowed(match self.via {
            Via::Console { .. } => Problem::StepUpRequired,
            Via::Token { .. } => Problem::ReadOnlyToken,
        }))
    }

    fn by<'a>(
        &self,
        reason: &'a str,
        before: Option<&'a str>,
        after: Option<&'a str>,
    ) -> ByOperator<'a> {
        ByOperator {
            actor_id: self.account.id,
            reason,
            before,
            after,
        }
    }
}

/// The console's view of a signed-in request: an operator, or `NotFound` for anyone who is not
/// an admin with a second factor (an admin who removed theirs is refused until they add one).
pub async fn operator_of_session(
    state: &AppState,
    signed_in: &SignedIn,
) -> Result<Operator, ServiceError> {
    if !signed_in.account.admin {
        return Err(ServiceError::NotFound);
    }
    let counts = second_factors::factors_of(&state.db, signed_in.account.id).await?;
    if !counts.totp_on && counts.passkeys == 0 {
        return Err(ServiceError::NotFound);
    }
    let checked = admin_store::stepped_up_at(&state.db, &signed_in.session_id).await?;
    let signed_in_with_factor = signed_in
        .amr
        .split(' ')
        .any(|value| value == "mfa")
        .then_some(signed_in.signed_in_at);
    Ok(Operator {
        account: signed_in.account.clone(),
        via: Via::Console {
            session_id: signed_in.session_id.clone(),
            stepped_up_at: checked.max(signed_in_with_factor),
        },
    })
}

/// The operator an admin API token stands for, its use audited (`what`: method and path);
/// `NotFound` for an unknown, expired or revoked token or one whose admin is no longer one.
pub async fn operator_of_token(
    state: &AppState,
    token: &str,
    what: &str,
    meta: &RequestMeta,
) -> Result<Operator, ServiceError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(ServiceError::NotFound);
    }
    let digest = link_token::digest(token);
    let now = store::unix_now();
    write_tx!(state.db, |tx| {
        let Some(row) = admin_store::use_token(&mut *tx, &digest, now).await? else {
            return Err(ServiceError::NotFound);
        };
        let account = users::find_by_id(&mut *tx, row.user_id)
            .await?
            .filter(|account| account.admin && account.account_enabled)
            .ok_or(ServiceError::NotFound)?;
        let detail = format!("{} {what}", row.id);
        let by = ByOperator {
            actor_id: account.id,
            reason: "",
            before: None,
            after: None,
        };
        audit::record_by_operator(tx, Event::ApiTokenUsed, None, meta, Some(&detail), &by).await?;
        Ok(Operator {
            account: account.into(),
            via: Via::Token {
                id: row.id,
                read_only: row.read_only,
            },
        })
    })
}

/// What proves the admin is at the keyboard for a step-up.
pub enum StepUpProof<'a> {
    /// A current code from the authenticator app. (Not a recovery code: that is for a lost
    /// authenticator, not for routine checks.)
    Code(&'a str),
    /// The answer to a passkey ceremony begun by `passkeys::begin_step_up`.
    Passkey {
        ceremony: &'a str,
        credential: &'a str,
    },
}

/// A second-factor check for the console: a code from the admin's authenticator, or one of the
/// admin's passkeys, opens changes for ten minutes. (A sign-in with a second factor counts as
/// a check too.) Failed checks count against the second step's lock, like a sign-in's.
pub async fn step_up(
    state: &AppState,
    signed_in: &SignedIn,
    proof: StepUpProof<'_>,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let operator = operator_of_session(state, signed_in).await?;
    let id = operator.account.id;
    let lock = super::throttle::Subject::SecondStep { id };
    super::throttle::admit(&state.db, &state.settings.login_policy, &lock).await?;
    let passkey_use = match proof {
        StepUpProof::Passkey {
            ceremony,
            credential,
        } => match super::passkeys::finish_step_up(state, id, ceremony, credential).await {
            Ok(used) => used,
            // An unknown ceremony or a malformed answer is a failed check like a wrong one.
            Err(ServiceError::PasskeyRefused) => None,
            Err(other) => return Err(other),
        },
        StepUpProof::Code(_) => None,
    };
    let now = store::unix_now();
    let taken = write_tx!(state.db, |tx| {
        let taken = match (&proof, &passkey_use) {
            (StepUpProof::Code(code), _) => matches!(
                super::second_factor::take_code(tx, state, id, code, now).await?,
                Some(super::second_factor::UsedCode::Totp)
            ),
            (StepUpProof::Passkey { .. }, Some((credential_id, record))) => {
                crate::server::store::passkeys::record_use(&mut *tx, credential_id, record, now)
                    .await?;
                true
            }
            (StepUpProof::Passkey { .. }, None) => false,
        };
        if taken {
            admin_store::record_step_up(&mut *tx, &signed_in.session_id, now).await?;
            super::throttle::clear(&mut *tx, &lock).await?;
            audit::record(&mut *tx, Event::SteppedUp, Some(id), meta, None).await?;
        } else {
            audit::record(&mut *tx, Event::SteppedUpFailed, Some(id), meta, None).await?;
        }
        Ok(taken)
    })?;
    match (taken, proof) {
        (true, _) => Ok(()),
        (false, StepUpProof::Code(_)) => Err(ServiceError::SecondFactorWrong),
        (false, StepUpProof::Passkey { .. }) => Err(ServiceError::PasskeyRefused),
    }
}

/// What an operator typed into the search box, as a query: digits alone are an id (and a
/// phone number's digits), `+` and digits a phone number, anything else a prefix of a username
/// or an e-mail address.
pub fn parse_query(typed: &str) -> Vec<Query> {
    let typed = typed.trim();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == ' ');
    if let Some(number) = typed.strip_prefix('+').filter(|rest| digits(rest)) {
        return vec![Query::Phone(format!("+{}", number.replace(' ', "")))];
    }
    if digits(typed) {
        let compact = typed.replace(' ', "");
        let mut queries = Vec::new();
        if let Ok(id) = compact.parse::<i64>() {
            queries.push(Query::Id(id));
        }
        queries.push(Query::Phone(format!("+{compact}")));
        return queries;
    }
    // Case-blind: usernames compare so, and e-mail keys are lower case.
    vec![Query::Text(
        typed.chars().take(320).collect::<String>().to_lowercase(),
    )]
}

/// One page of search results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub accounts: Vec<Account>,
    pub more: bool,
}

pub async fn search(
    state: &AppState,
    _operator: &Operator,
    typed: &str,
    page: i64,
) -> Result<SearchPage, ServiceError> {
    let mut found: Vec<Account> = Vec::new();
    let mut more = false;
    for query in parse_query(typed) {
        let mut rows = admin_store::search(&state.db, &query, page).await?;
        if rows.len() as i64 > admin_store::PAGE {
            rows.truncate(admin_store::PAGE as usize);
            more = true;
        }
        for row in rows {
            if row.deleted_at.is_none() && !found.iter().any(|known| known.id == row.id) {
                found.push(row.into());
            }
        }
    }
    Ok(SearchPage {
        accounts: found,
        more,
    })
}

/// A second factor as the console lists it: kinds and dates, never secrets.
#[derive(Debug, Clone)]
pub struct FactorView {
    /// `totp` or `passkey`.
    pub kind: &'static str,
    /// The passkey's credential id (what removing one names); empty for the authenticator.
    pub id: String,
    pub name: String,
    pub added_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A session as the console lists it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub started_at: i64,
    pub last_seen_at: i64,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// An app the account signed in to.
#[derive(Debug, Clone)]
pub struct GrantView {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub granted_at: i64,
}

/// Everything the console shows about one account.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub account: Account,
    pub factors: Vec<FactorView>,
    pub recovery_codes_left: i64,
    pub sessions: Vec<SessionView>,
    pub locks: Vec<LockRow>,
    pub grants: Vec<GrantView>,
    pub events: Vec<AuditRow>,
}

/// How many of an account's latest audit events its page shows.
const EVENTS_ON_USER_PAGE: i64 = 20;

pub async fn user(
    state: &AppState,
    _operator: &Operator,
    user_id: i64,
) -> Result<UserDetail, ServiceError> {
    let account: Account = users::find_by_id(&state.db, user_id)
        .await?
        .filter(|row| row.deleted_at.is_none())
        .ok_or(ServiceError::NotFound)?
        .into();
    let now = store::unix_now();
    let mut factors = Vec::new();
    if let Some(totp) = second_factors::totp_of(&state.db, user_id).await? {
        if let Some(confirmed_at) = totp.confirmed_at {
            factors.push(FactorView {
                kind: "totp",
                id: String::new(),
                name: String::new(),
                added_at: Some(confirmed_at),
                last_used_at: None,
            });
        }
    }
    for passkey in passkeys::of_user(&state.db, user_id).await? {
        factors.push(FactorView {
            kind: "passkey",
            id: passkey.credential_id,
            name: passkey.name,
            added_at: Some(passkey.created_at),
            last_used_at: passkey.last_used_at,
        });
    }
    let counts = second_factors::factors_of(&state.db, user_id).await?;
    let sessions = sessions::live_of(&state.reads, user_id, now, LIFETIME_SECONDS)
        .await?
        .into_iter()
        .map(|row| SessionView {
            started_at: row.created_at,
            last_seen_at: row.last_seen_at,
            client_addr: row.client_addr,
            user_agent: row.user_agent,
        })
        .collect();
    let grants = oidc::apps_with_access(&state.db, user_id)
        .await?
        .into_iter()
        .map(|row| GrantView {
            client_id: row.client_id,
            name: row.name,
            scopes: row.scopes,
            granted_at: row.granted_at,
        })
        .collect();
    let filter = AuditFilter {
        user_id: Some(user_id),
        ..AuditFilter::default()
    };
    Ok(UserDetail {
        factors,
        recovery_codes_left: counts.recovery_codes_left,
        sessions,
        locks: admin_store::locks_of(&state.db, user_id, now).await?,
        grants,
        events: admin_store::audit(&state.db, &filter, EVENTS_ON_USER_PAGE).await?,
        account,
    })
}

/// What an operator can do to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ends every session, grant and refresh token at once; every sign-in is refused until
    /// the account is enabled again.
    Disable,
    Enable,
    /// Lifts every login lock of the account (each identifier, browser, the second step, and
    /// its passcodes).
    Unlock,
    /// Ends every session (and the apps' grants that ride on them).
    EndSessions,
    /// Removes the authenticator app.
    RemoveTotp,
    /// Removes one passkey, by credential id.
    RemovePasskey(String),
    /// Sends the password-reset mail (a passcode and a link), as "forgot password" would.
    SendReset,
    /// Grants (positive) or deducts (negative) credits.
    AdjustCredits(Credits),
    /// Sets the plan: paid or free.
    SetPlan {
        paid: bool,
    },
    /// Erases the account now, as its deletion's grace ending would (SPEC §15), without the
    /// grace. The person is told first.
    Delete,
}

impl Action {
    fn event(&self) -> Event {
        match self {
            Action::Disable => Event::AccountDisabled,
            Action::Enable => Event::AccountEnabled,
            Action::Unlock => Event::LocksLifted,
            Action::EndSessions => Event::SessionsEndedByAdmin,
            Action::RemoveTotp | Action::RemovePasskey(_) => Event::FactorRemovedByAdmin,
            Action::SendReset => Event::ResetSentByAdmin,
            Action::AdjustCredits(_) => Event::CreditsAdjustedByAdmin,
            Action::SetPlan { .. } => Event::PlanChangedByAdmin,
            Action::Delete => Event::AccountErased,
        }
    }

    /// Actions the console refuses on the operator's own account: they would lock the
    /// operator out, or let a stolen admin session strip the admin's own second factor.
    fn not_on_yourself(&self) -> bool {
        matches!(
            self,
            Action::Disable | Action::RemoveTotp | Action::RemovePasskey(_) | Action::Delete
        )
    }
}

/// A reason as every action needs one: trimmed, 1 to [`REASON_MAX`] characters.
pub fn check_reason(reason: &str) -> Result<&str, ServiceError> {
    let reason = reason.trim();
    let length = reason.chars().count();
    if length == 0 || length > REASON_MAX {
        return Err(Invalid::new("reason", Problem::ReasonRequired).into());
    }
    Ok(reason)
}

/// Does `action` to account `user_id`, audited with `reason`, the state before and after; the
/// owner is mailed where it changes their account.
pub async fn act(
    state: &AppState,
    operator: &Operator,
    user_id: i64,
    action: &Action,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let reason = check_reason(reason)?;
    operator.may_change()?;
    if action.not_on_yourself() && user_id == operator.account.id {
        return Err(ServiceError::NotAllowed(Problem::NotOnYourOwnAccount));
    }
    let now = store::unix_now();
    let told = write_tx!(state.db, |tx| {
        let row = users::find_by_id(&mut *tx, user_id)
            .await?
            .filter(|row| row.deleted_at.is_none())
            .ok_or(ServiceError::NotFound)?;
        let account: Account = row.clone().into();
        let (before, after, mail, told_apps) = match action {
            Action::Disable | Action::Enable => {
                let enable = *action == Action::Enable;
                // Its owner asked for its deletion: only they can keep it (enabled, it would
                // sign in until the purge erased it anyway).
                let deleting =
                    crate::server::store::account_life::deletion_due_at(&mut *tx, user_id)
                        .await?
                        .is_some();
                if enable && deleting {
                    return Err(ServiceError::NotAllowed(Problem::OwnerIsDeletingIt));
                }
                if !admin_store::set_enabled(&mut *tx, user_id, enable, &store::now()).await? {
                    return Err(ServiceError::NotAllowed(Problem::NothingToChange));
                }
                let told_apps = if enable {
                    false
                } else {
                    end_everything(tx, user_id, now).await?
                };
                let mail = if enable {
                    AdminChange::Enabled
                } else {
                    AdminChange::Disabled
                };
                (
                    json!({ "enabled": !enable }),
                    json!({ "enabled": enable }),
                    Some(mail),
                    told_apps,
                )
            }
            Action::Unlock => {
                let locks = admin_store::locks_of(&mut *tx, user_id, now).await?;
                if locks.is_empty() {
                    return Err(ServiceError::NotAllowed(Problem::NothingToChange));
                }
                lift_locks(tx, user_id).await?;
                let subjects: Vec<_> = locks.iter().map(|lock| lock.subject.clone()).collect();
                (
                    json!({ "locks": subjects }),
                    json!({ "locks": [] }),
                    None,
                    false,
                )
            }
            Action::EndSessions => {
                let ended = sessions::delete_all_of(&mut *tx, user_id).await?;
                super::devices::forget_all(tx, user_id).await?;
                let told_apps = super::oidc::logout::account_grants_ended(tx, user_id).await?;
                (
                    json!({ "sessions": ended }),
                    json!({ "sessions": 0 }),
                    None,
                    told_apps,
                )
            }
            Action::RemoveTotp => {
                let on = second_factors::totp_of(&mut *tx, user_id)
                    .await?
                    .is_some_and(|row| row.confirmed_at.is_some());
                if !on {
                    return Err(ServiceError::NotAllowed(Problem::NothingToChange));
                }
                second_factors::remove_totp(&mut *tx, user_id).await?;
                super::second_factor::forget_codes_without_factors(tx, user_id).await?;
                let mail = Some(AdminChange::TotpRemoved);
                (
                    json!({ "totp": true }),
                    json!({ "totp": false }),
                    mail,
                    false,
                )
            }
            Action::RemovePasskey(credential_id) => {
                let name = passkeys::by_credential(&mut *tx, credential_id)
                    .await?
                    .filter(|passkey| passkey.user_id == user_id)
                    .map(|passkey| passkey.name)
                    .ok_or(ServiceError::NotAllowed(Problem::NoSuchPasskey))?;
                passkeys::remove(&mut *tx, user_id, credential_id).await?;
                super::second_factor::forget_codes_without_factors(tx, user_id).await?;
                let passkey = json!({ "id": credential_id, "name": name });
                let mail = Some(AdminChange::PasskeyRemoved);
                (
                    json!({ "passkey": passkey }),
                    json!({ "passkey": null }),
                    mail,
                    false,
                )
            }
            Action::SendReset => {
                // The mail itself is what the owner receives; it says what to do if they did
                // not ask, as every reset mail does.
                super::recovery::queue_reset_mail(tx, state, &row, now).await?;
                (json!({}), json!({ "reset_mail": "queued" }), None, false)
            }
            Action::AdjustCredits(delta) => {
                let Some((_, balance)) =
                    users::adjust_credits(&mut *tx, &account.username, delta.micro()).await?
                else {
                    return Err(ServiceError::NotAllowed(Problem::BalanceOutOfRange));
                };
                let after = Credits::from_micro(balance).to_string();
                let before = account.credits.to_string();
                (
                    json!({ "credits": before }),
                    json!({ "credits": after }),
                    None,
                    false,
                )
            }
            Action::Delete => {
                // The mail goes first: the erasure takes the address with it.
                let mail = messages::changed_by_admin(
                    Language::from_tag(&account.language),
                    &account.email,
                    &account.username,
                    AdminChange::Deleted,
                    &messages::now_for_people(),
                );
                super::account_life::erase_in(tx, user_id).await?;
                outbox::enqueue_email(&mut *tx, &mail).await?;
                (
                    json!({ "erased": false }),
                    json!({ "erased": true }),
                    None,
                    true,
                )
            }
            Action::SetPlan { paid } => {
                let plan = if *paid { "paid" } else { "free" };
                if !admin_store::set_plan(&mut *tx, user_id, plan, &store::now()).await? {
                    return Err(ServiceError::NotAllowed(Problem::NothingToChange));
                }
                (
                    json!({ "plan": row.plan }),
                    json!({ "plan": plan }),
                    None,
                    false,
                )
            }
        };
        let (before, after) = (before.to_string(), after.to_string());
        let by = operator.by(reason, Some(&before), Some(&after));
        let detail = operator_detail(operator);
        let event = action.event();
        audit::record_by_operator(&mut *tx, event, Some(user_id), meta, detail, &by).await?;
        if let Some(change) = mail {
            let mail = messages::changed_by_admin(
                Language::from_tag(&account.language),
                &account.email,
                &account.username,
                change,
                &messages::now_for_people(),
            );
            outbox::enqueue_email(&mut *tx, &mail).await?;
        }
        Ok(mail.is_some() || told_apps || *action == Action::SendReset)
    })?;
    if told {
        state.mail.now();
    }
    Ok(())
}

/// The audit's `detail` of an operator's action: which token made it, if one did.
fn operator_detail(operator: &Operator) -> Option<&str> {
    match &operator.via {
        Via::Token { id, .. } => Some(id.as_str()),
        Via::Console { .. } => None,
    }
}

/// Ends an account's every way in: sessions, remembered browsers, the apps' grants and their
/// refresh tokens (back-channel logouts queued), and, for an admin, their API tokens. Whether
/// an app is to be told.
async fn end_everything(tx: &mut Tx, user_id: i64, now: i64) -> Result<bool, ServiceError> {
    sessions::delete_all_of(&mut *tx, user_id).await?;
    super::devices::forget_all(tx, user_id).await?;
    admin_store::revoke_tokens_of(&mut *tx, user_id, now).await?;
    super::oidc::logout::account_grants_ended(tx, user_id).await
}

/// Deletes every login lock of the account: its identifiers and browsers, the second step,
/// its passcodes.
async fn lift_locks(tx: &mut Tx, user_id: i64) -> Result<(), ServiceError> {
    super::throttle::clear_account(tx, user_id).await?;
    let second_step = super::throttle::Subject::SecondStep { id: user_id };
    super::throttle::clear(&mut *tx, &second_step).await?;
    super::throttle::clear_key(&mut *tx, &format!("passcodes:{user_id}")).await?;
    Ok(())
}

/// A page of the audit log, newest first, and the id to continue from when more follow.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    pub next_before_id: Option<i64>,
}

/// How many entries a page of the audit log shows.
pub const AUDIT_PAGE: i64 = 100;

pub async fn audit_log(
    state: &AppState,
    _operator: &Operator,
    filter: &AuditFilter,
) -> Result<AuditPage, ServiceError> {
    let mut entries = admin_store::audit(&state.db, filter, AUDIT_PAGE + 1).await?;
    let more = entries.len() as i64 > AUDIT_PAGE;
    entries.truncate(AUDIT_PAGE as usize);
    let next_before_id = more.then(|| entries.last().map(|entry| entry.id)).flatten();
    Ok(AuditPage {
        entries,
        next_before_id,
    })
}

/// The account named `username`, for filters that take one; `NotFound` when none.
pub async fn account_named(db: &Db, username: &str) -> Result<Account, ServiceError> {
    Ok(users::find_by_username(db, username.trim())
        .await?
        .ok_or(ServiceError::NotFound)?
        .into())
}

/// A new admin API token, as shown once.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub id: String,
    pub token: String,
    pub expires_at: i64,
}

/// Makes an API token for `admin_id`; the caller has checked who may. The secret is returned
/// once and stored only as a hash.
async fn make_token(
    tx: &mut Tx,
    admin_id: i64,
    name: &str,
    read_only: bool,
    days: i64,
) -> Result<NewApiToken, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_MAX {
        let problem = Problem::TokenNameLength {
            max: TOKEN_NAME_MAX,
        };
        return Err(Invalid::new("name", problem).into());
    }
    let days = days.clamp(1, TOKEN_DAYS_MAX);
    let (secret, _) = link_token::generate();
    let (id_source, _) = link_token::generate();
    let id: String = id_source
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    let token = format!("{TOKEN_PREFIX}{secret}");
    let now = store::unix_now();
    let expires_at = now + days * 24 * 3600;
    admin_store::insert_token(
        &mut *tx,
        &admin_store::NewToken {
            id: &id,
            user_id: admin_id,
            token_hash: &link_token::digest(&token),
            name,
            read_only,
            now,
            expires_at,
        },
    )
    .await?;
    Ok(NewApiToken {
        id,
        token,
        expires_at,
    })
}

/// An API token made on the console (a change: step-up first).
pub async fn create_token(
    state: &AppState,
    operator: &Operator,
    name: &str,
    read_only: bool,
    days: i64,
    meta: &RequestMeta,
) -> Result<NewApiToken, ServiceError> {
    operator.may_change()?;
    write_tx!(state.db, |tx| {
        let made = make_token(tx, operator.account.id, name, read_only, days).await?;
        let after = json!({ "id": made.id, "read_only": read_only, "expires_at": made.expires_at })
            .to_string();
        let by = operator.by("new API token", None, Some(&after));
        let event = Event::ApiTokenCreated;
        audit::record_by_operator(tx, event, None, meta, Some(name), &by).await?;
        Ok(made)
    })
}

pub async fn tokens(
    state: &AppState,
    _operator: &Operator,
) -> Result<Vec<admin_store::TokenRow>, ServiceError> {
    Ok(admin_store::tokens(&state.db).await?)
}

pub async fn revoke_token(
    state: &AppState,
    operator: &Operator,
    id: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    operator.may_change()?;
    let now = store::unix_now();
    write_tx!(state.db, |tx| {
        if !admin_store::revoke_token(&mut *tx, id, now).await? {
            return Err(ServiceError::NotFound);
        }
        let by = operator.by("API token revoked", None, None);
        let event = Event::ApiTokenRevoked;
        audit::record_by_operator(tx, event, None, meta, Some(id), &by).await?;
        Ok(())
    })
}

/// The command line's `admins grant`: refused for an account without a second factor (the
/// console would not let it in).
pub async fn grant(db: &Db, username: &str, meta: &RequestMeta) -> Result<Account, String> {
    let account = account_named(db, username)
        .await
        .map_err(|_| format!("there is no account named {username:?}"))?;
    let counts = second_factors::factors_of(db, account.id)
        .await
        .map_err(|e| e.to_string())?;
    if !counts.totp_on && counts.passkeys == 0 {
        return Err(format!(
            "{} has no second factor: an admin needs one (an authenticator app or a passkey, \
             on the Security page), then run this again",
            account.username
        ));
    }
    set_admin(db, &account, true, meta).await?;
    Ok(account)
}

/// The command line's `admins revoke`: the account's API tokens end with its rights.
pub async fn revoke(db: &Db, username: &str, meta: &RequestMeta) -> Result<Account, String> {
    let account = account_named(db, username)
        .await
        .map_err(|_| format!("there is no account named {username:?}"))?;
    set_admin(db, &account, false, meta).await?;
    Ok(account)
}

async fn set_admin(
    db: &Db,
    account: &Account,
    admin: bool,
    meta: &RequestMeta,
) -> Result<(), String> {
    let now = store::unix_now();
    let event = if admin {
        Event::AdminGranted
    } else {
        Event::AdminRevoked
    };
    let done: Result<(), ServiceError> = write_tx!(*db, |tx| {
        admin_store::set_admin(&mut *tx, &account.username, admin).await?;
        if !admin {
            admin_store::revoke_tokens_of(&mut *tx, account.id, now).await?;
        }
        audit::record(tx, event, Some(account.id), meta, Some("command line")).await?;
        Ok(())
    });
    done.map_err(|e| e.to_string())
}

pub async fn admins(db: &Db) -> Result<Vec<Account>, ServiceError> {
    Ok(admin_store::admins(db)
        .await?
        .into_iter()
        .map(Account::from)
        .collect())
}

/// The command line's `admins token`: trusted like the database itself, so no step-up.
pub async fn token_for(
    db: &Db,
    username: &str,
    read_only: bool,
    days: i64,
    meta: &RequestMeta,
) -> Result<NewApiToken, String> {
    let account = account_named(db, username)
        .await
        .map_err(|_| format!("there is no account named {username:?}"))?;
    if !account.admin {
        return Err(format!(
            "{} is not an admin: `latchkey admins grant {}` first",
            account.username, account.username
        ));
    }
    let made: Result<NewApiToken, ServiceError> = write_tx!(*db, |tx| {
        let made = make_token(tx, account.id, "command line", read_only, days).await?;
        let after = json!({ "id": made.id, "read_only": read_only, "expires_at": made.expires_at })
            .to_string();
        let by = ByOperator {
            actor_id: account.id,
            reason: "command line",
            before: None,
            after: Some(&after),
        };
        let event = Event::ApiTokenCreated;
        audit::record_by_operator(tx, event, None, meta, Some("command line"), &by).await?;
        Ok(made)
    });
    made.map_err(|e| e.to_string())
}

/// The registered apps (OpenID Connect clients), for the console.
pub async fn clients(
    state: &AppState,
    _operator: &Operator,
) -> Result<Vec<oidc_clients::Client>, ServiceError> {
    oidc_clients::list(&state.db).await
}

/// A client registration refused for its input: what to fix, as a field's problem.
fn refused_client(error: RegisterError) -> ServiceError {
    match error {
        RegisterError::Service(e) => e,
        RegisterError::Refused(refused) => ServiceError::Invalid(vec![Invalid::new(
            "client",
            Problem::ClientRefused(refused.to_string()),
        )]),
    }
}

/// Registers an app from the console; its id and (confidential) secret, shown once.
pub async fn add_client(
    state: &AppState,
    operator: &Operator,
    asked: &NewClient,
    reason: &str,
    meta: &RequestMeta,
) -> Result<oidc_clients::Issued, ServiceError> {
    let reason = check_reason(reason)?;
    operator.may_change()?;
    let by = operator.by(reason, None, None);
    oidc_clients::register(&state.db, asked, meta, Some(&by))
        .await
        .map_err(refused_client)
}

/// Changes an app's name and addresses.
pub async fn edit_client(
    state: &AppState,
    operator: &Operator,
    client_id: &str,
    asked: &NewClient,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let reason = check_reason(reason)?;
    operator.may_change()?;
    let by = operator.by(reason, None, None);
    match oidc_clients::update(&state.db, client_id, asked, meta, Some(&by)).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServiceError::NotFound),
        Err(e) => Err(refused_client(e)),
    }
}

/// A new secret for a confidential app (the old one stops at once), shown once.
pub async fn rotate_client_secret(
    state: &AppState,
    operator: &Operator,
    client_id: &str,
    reason: &str,
    meta: &RequestMeta,
) -> Result<oidc_clients::Issued, ServiceError> {
    let reason = check_reason(reason)?;
    operator.may_change()?;
    let by = operator.by(reason, None, None);
    oidc_clients::rotate_secret(&state.db, client_id, meta, Some(&by))
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Removes an app: its grants, codes and refresh tokens go with it.
pub async fn remove_client(
    state: &AppState,
    operator: &Operator,
    client_id: &str,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), ServiceError> {
    let reason = check_reason(reason)?;
    operator.may_change()?;
    let by = operator.by(reason, None, None);
    if !oidc_clients::remove(&state.db, client_id, meta, Some(&by)).await? {
        return Err(ServiceError::NotFound);
    }
    Ok(())
}
