//! The contract between the pages and the server: what a form gets back, and the server
//! functions behind each form. Each server function is an adapter of a few lines: parse the
//! form, call the service, map the answer (SPEC: "thin adapters").

use crate::domain::{Email, Invalid, NewPassword, Problem, Username};
use crate::i18n::Language;
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

pub mod seal;
#[cfg(feature = "ssr")]
mod ssr;
#[cfg(feature = "ssr")]
pub use ssr::{page_session, password_key, pending_reset, query_value, request_language};

/// The language of the page or form at hand: on the server, the request's (its language
/// cookie, else `Accept-Language`); in the browser, the one the server rendered the page in
/// (`<html lang>`).
pub fn page_language() -> Language {
    #[cfg(feature = "ssr")]
    {
        request_language()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("lang"))
            .map(|tag| Language::from_tag(&tag))
            .unwrap_or_default()
    }
}

/// A message for one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// Why a form was not accepted: an overall message and, where it applies, one per field.
/// This travels to the browser (and, without JavaScript, in the redirect URL), so it only ever
/// holds words meant for the person at the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct FormError {
    pub message: String,
    pub fields: Vec<FieldMessage>,
}

impl FormError {
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// The problems of the marked fields, in `language`.
    pub fn from_invalid(problems: Vec<Invalid>, language: Language) -> Self {
        Self {
            message: language.island_text().correct_marked_fields.into(),
            fields: problems
                .into_iter()
                .map(|p| FieldMessage {
                    field: p.field.to_owned(),
                    message: p.message_in(language),
                })
                .collect(),
        }
    }

    /// The message for `field`, if there is one.
    pub fn field(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    }
}

impl FromServerFnError for FormError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // A form that cannot be decoded is the client's mistake: 400, not server_fn's 500.
        #[cfg(feature = "ssr")]
        if matches!(
            value,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_)
        ) {
            ssr::answer_status(http::StatusCode::BAD_REQUEST);
        }
        let words = page_language().text();
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                FormError::general(words.unreachable)
            }
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => {
                FormError::general(words.form_incomplete)
            }
            _ => FormError::general(words.our_fault),
        }
    }
}

/// A form sent without JavaScript that the server refused, as it comes back to its page: which
/// server function refused it, its error (as server_fn encodes one for an address), and what
/// the person had typed (never passwords or codes). It travels in a short-lived signed cookie
/// (`server::form_origin`), not in the address, so the address stays clean and nothing typed
/// lands in history or logs; islands get it as a prop, to show the same error once hydrated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedForm {
    /// The page the form was on: path and query.
    pub page: String,
    /// The refusing server function's path (`/rpc/…`).
    pub action: String,
    /// The error, base64 of its JSON.
    pub error: String,
    pub fields: Vec<(String, String)>,
}

impl ReturnedForm {
    /// The fields a refused form gets back: what a person types that is neither a secret nor a
    /// one-time code.
    pub const KEPT_FIELDS: [&'static str; 7] = [
        "username",
        "email",
        "identifier",
        "via",
        "destination",
        "country_code",
        "number",
    ];

    /// What was typed into `field` of the form `action` refused, if that form came back.
    pub fn typed(returned: &Option<Self>, action: &str, field: &str) -> Option<String> {
        returned
            .as_ref()
            .filter(|r| r.action == action)?
            .fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }
}

/// An island form's last sending, refused and brought back to its page ([`ReturnedForm`] of
/// that form): the error, decoded on the server so that the browser needs no decoder of its
/// own, and what was typed. Islands read it while the server renders them (never a prop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub error: FormError,
    pub fields: Vec<(String, String)>,
}

impl Refused {
    /// The refusal `returned` holds for server function `action`, if it is that form's.
    #[cfg(feature = "ssr")]
    pub fn of(returned: Option<ReturnedForm>, action: &str) -> Option<Self> {
        use leptos::server_fn::error::ServerFnUrlError;
        let returned = returned.filter(|r| r.action == action)?;
        Some(Self {
            error: ServerFnUrlError::<FormError>::decode_err(&returned.error),
            fields: returned.fields,
        })
    }

    /// What was typed into `field`, if the form came back.
    pub fn typed(refused: &Option<Self>, field: &str) -> Option<String> {
        refused
            .as_ref()?
            .fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }
}

/// Where a password reset begun in this browser sent its passcode: kept in a short-lived signed
/// cookie between the first two steps, so the address never carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReset {
    pub by_phone: bool,
    /// The e-mail address, or the phone number as typed.
    pub destination: String,
    pub country_code: Option<String>,
}

impl PendingReset {
    /// As the passcode step shows it.
    pub fn shown(&self) -> String {
        match &self.country_code {
            Some(code) => format!("{code} {}", self.destination),
            None => self.destination.clone(),
        }
    }
}

/// The signed-in account as the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    /// E.164, when the account has a number.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub paid: bool,
    /// Exact decimal text (e.g. `12.5`).
    pub credits: String,
    /// The account's live sessions, most recently used first.
    pub sessions: Vec<SessionView>,
    /// Whether an authenticator app is on.
    pub authenticator_app: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

impl AccountView {
    /// Whether signing in with the password takes a second step.
    pub fn two_step(&self) -> bool {
        self.authenticator_app || self.passkeys > 0
    }
}

/// What the security page shows beyond [`AccountView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityView {
    /// An authenticator enrolment waiting for its first code.
    pub pending: Option<PendingTotp>,
    /// Recovery codes made by the action just before this page view, shown this once.
    pub new_recovery_codes: Vec<String>,
    pub passkeys: Vec<PasskeyView>,
    /// Whether the site can offer passkeys (it is reached by a domain name).
    pub passkeys_offered: bool,
}

/// A passkey as the security page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyView {
    /// The credential id (base64url), which the remove form names.
    pub id: String,
    pub name: String,
    /// When it was added, as text (UTC).
    pub added: String,
}

/// A WebAuthn ceremony for the page's passkey script: its token, to send back with the
/// finish, and the options for `navigator.credentials` as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ceremony: String,
    pub options: String,
}

#[cfg(feature = "ssr")]
impl From<crate::server::services::passkeys::Ceremony> for PasskeyCeremony {
    fn from(ceremony: crate::server::services::passkeys::Ceremony) -> Self {
        PasskeyCeremony {
            ceremony: ceremony.token,
            options: ceremony.options,
        }
    }
}

/// What the second-step page offers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondStep {
    /// A sign-in is waiting for its second factor in this browser.
    pub pending: bool,
    /// Its account has a passkey to offer.
    pub passkeys: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTotp {
    /// Base32, to type into an app.
    pub secret: String,
    /// The QR code of its `otpauth://` address, as an inline `<svg>` made on the server.
    pub qr_svg: String,
}

/// One signed-in session, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    /// When it signed in and was last refreshed, as text (UTC).
    pub started: String,
    pub last_seen: String,
    /// The browser or client it reported, and its address, when known.
    pub client: String,
    /// The session this page was requested with.
    pub current: bool,
}

/// The checks a browser can make before sending a registration (the server repeats them and
/// adds the common-password list).
pub fn check_registration(username: &str, email: &str, password: &str) -> Vec<Invalid> {
    [
        Username::parse(username).err(),
        Email::parse(email).err(),
        NewPassword::parse_basic(password, Some(username), Some(email)).err(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Creates an account, signs it in and goes to the account page.
#[server(prefix = "/rpc", endpoint = "register")]
pub async fn register(username: String, email: String, password: String) -> Result<(), FormError> {
    use crate::server::services::accounts::{self, Registration};
    use crate::server::services::sessions;
    let (state, meta) = ssr::context()?;
    let account = accounts::register(
        &state,
        Registration {
            username: &username,
            email: &email,
            password: &password,
        },
        &meta,
    )
    .await?;
    let token = sessions::start_alone(&state, account.id, account.token_version, &meta).await?;
    ssr::start_session(&state, &token);
    leptos_axum::redirect("/account");
    Ok(())
}

/// Signs in with a username or e-mail address and goes to the account page, or back to the
/// page (`next`, a path on this site) that sent the visitor to sign in.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(
    identifier: String,
    password: String,
    next: Option<String>,
) -> Result<(), FormError> {
    use crate::server::services::accounts;
    let (state, meta) = ssr::context()?;
    let device = ssr::device_token();
    let next = next.filter(|next| {
        crate::server::form_origin::is_local_path(next) && !next.starts_with("/rpc/")
    });
    match accounts::log_in(&state, &identifier, &password, device.as_deref(), &meta).await? {
        accounts::SignIn::Done(logged_in) => {
            ssr::start_session(&state, &logged_in.token);
            ssr::remember_device(&state, &logged_in.device);
            leptos_axum::redirect(next.as_deref().unwrap_or("/account"));
        }
        accounts::SignIn::SecondFactor { mfa_token } => {
            ssr::remember_second_step(&state, &mfa_token);
            let page = match next {
                Some(next) => format!("{SECOND_STEP_PAGE}?next={}", ssr::query_value(&next)),
                None => SECOND_STEP_PAGE.to_owned(),
            };
            leptos_axum::redirect(&page);
        }
    }
    Ok(())
}

/// Where a sign-in whose account has a second factor goes after the password.
pub const SECOND_STEP_PAGE: &str = "/login/second-factor";

/// The second step of a sign-in: a code from the authenticator app, or a recovery code, for
/// the sign-in this browser began (its challenge is in an HttpOnly cookie).
#[server(prefix = "/rpc", endpoint = "login_second_factor")]
pub async fn login_second_factor(code: String, next: Option<String>) -> Result<(), FormError> {
    use crate::server::services::{second_factor, ServiceError};
    let (state, meta) = ssr::context()?;
    let mfa_token = ssr::second_step_token().ok_or(ServiceError::SecondFactorExpired)?;
    let logged_in = match second_factor::complete_sign_in(&state, &mfa_token, &code, &meta).await {
        Ok(logged_in) => logged_in,
        Err(error) => {
            if matches!(error, ServiceError::SecondFactorExpired) {
                ssr::forget_second_step(&state);
            }
            return Err(error.into());
        }
    };
    ssr::forget_second_step(&state);
    ssr::start_session(&state, &logged_in.token);
    ssr::remember_device(&state, &logged_in.device);
    leptos_axum::redirect(&after_sign_in(next));
    Ok(())
}

/// Whether this browser has a sign-in waiting for its second factor (else the page says it
/// ran out), and whether its account has passkeys to offer.
#[server(prefix = "/rpc", endpoint = "second_step")]
pub async fn second_step_state() -> Result<SecondStep, FormError> {
    use crate::server::services::second_factor;
    let (state, _) = ssr::context()?;
    let Some(mfa_token) = ssr::second_step_token() else {
        return Ok(SecondStep {
            pending: false,
            passkeys: false,
        });
    };
    let passkeys = second_factor::passkeys_for_challenge(&state, &mfa_token).await?;
    Ok(SecondStep {
        pending: passkeys.is_some(),
        passkeys: state.webauthn.is_some() && passkeys.unwrap_or(0) > 0,
    })
}

/// Where to go after signing in: `next` when it is a page of this site, else the account.
#[cfg(feature = "ssr")]
fn after_sign_in(next: Option<String>) -> String {
    next.filter(|next| {
        crate::server::form_origin::is_local_path(next) && !next.starts_with("/rpc/")
    })
    .unwrap_or_else(|| "/account".into())
}

/// Starts adding a passkey, after the password (the page's script runs the browser's side).
#[server(prefix = "/rpc", endpoint = "passkey_register_start")]
pub async fn passkey_register_start(password: String) -> Result<PasskeyCeremony, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let ceremony = passkeys::begin_registration(&state, &account, &password, &meta).await?;
    Ok(ceremony.into())
}

/// Finishes adding a passkey; answers the page to go to (the security page, which shows the
/// recovery codes when this was the account's first second factor).
#[server(prefix = "/rpc", endpoint = "passkey_register_finish")]
pub async fn passkey_register_finish(
    ceremony: String,
    name: String,
    credential: String,
) -> Result<String, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let codes =
        passkeys::finish_registration(&state, &account, &ceremony, &name, &credential, &meta)
            .await?;
    if let Some(codes) = codes {
        ssr::show_recovery_codes_once(&state, account.id, &codes);
    }
    Ok(format!("{SECURITY_PAGE}?notice=passkey-added"))
}

/// Removes a passkey, after the password.
#[server(prefix = "/rpc", endpoint = "remove_passkey")]
pub async fn remove_passkey(id: String, password: String, code: String) -> Result<(), FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    passkeys::remove(&state, &account, &id, &password, &code, &meta).await?;
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=passkey-removed"));
    Ok(())
}

/// Starts signing in with a passkey and no username.
#[server(prefix = "/rpc", endpoint = "passkey_sign_in_start")]
pub async fn passkey_sign_in_start() -> Result<PasskeyCeremony, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let ceremony = passkeys::begin_sign_in(&state, &meta).await?;
    Ok(ceremony.into())
}

/// Finishes a passkey sign-in: the session, and the page to go to.
#[server(prefix = "/rpc", endpoint = "passkey_sign_in_finish")]
pub async fn passkey_sign_in_finish(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, FormError> {
    use crate::server::services::passkeys;
    let (state, meta) = ssr::context()?;
    let logged_in = passkeys::finish_sign_in(&state, &ceremony, &credential, &meta).await?;
    ssr::start_session(&state, &logged_in.token);
    ssr::remember_device(&state, &logged_in.device);
    Ok(after_sign_in(next))
}

/// Starts the second step of a sign-in with a passkey.
#[server(prefix = "/rpc", endpoint = "passkey_second_factor_start")]
pub async fn passkey_second_factor_start() -> Result<PasskeyCeremony, FormError> {
    use crate::server::services::{passkeys, ServiceError};
    let (state, meta) = ssr::context()?;
    let mfa_token = ssr::second_step_token().ok_or(ServiceError::SecondFactorExpired)?;
    let ceremony = passkeys::begin_second_factor(&state, &mfa_token, &meta).await?;
    Ok(ceremony.into())
}

/// Finishes the second step with a passkey: the session, and the page to go to.
#[server(prefix = "/rpc", endpoint = "passkey_second_factor_finish")]
pub async fn passkey_second_factor_finish(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, FormError> {
    use crate::server::services::{passkeys, ServiceError};
    let (state, meta) = ssr::context()?;
    let mfa_token = ssr::second_step_token().ok_or(ServiceError::SecondFactorExpired)?;
    let logged_in =
        passkeys::finish_second_factor(&state, &mfa_token, &ceremony, &credential, &meta).await?;
    ssr::forget_second_step(&state);
    ssr::start_session(&state, &logged_in.token);
    ssr::remember_device(&state, &logged_in.device);
    Ok(after_sign_in(next))
}

/// What the security page shows: an enrolment waiting for its first code, and recovery codes
/// made just now (read once from their short-lived cookie, which this clears).
#[server(prefix = "/rpc", endpoint = "security")]
pub async fn security_overview() -> Result<SecurityView, FormError> {
    use crate::server::services::second_factor;
    let (state, _) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    let account = &signed_in.account;
    let pending = second_factor::pending_totp(&state, &signed_in)
        .await?
        .map(|enrolment| PendingTotp {
            qr_svg: enrolment.qr_svg(),
            secret: enrolment.secret,
        });
    let new_recovery_codes = ssr::take_shown_recovery_codes(&state, account.id);
    let passkeys = crate::server::services::passkeys::list(&state, account)
        .await?
        .into_iter()
        .map(|passkey| PasskeyView {
            id: passkey.id,
            name: passkey.name,
            added: ssr::utc_text(passkey.created_at),
        })
        .collect();
    Ok(SecurityView {
        pending,
        new_recovery_codes,
        passkeys,
        passkeys_offered: state.webauthn.is_some(),
    })
}

/// Begins adding an authenticator app, after the password.
#[server(prefix = "/rpc", endpoint = "begin_totp")]
pub async fn begin_totp(password: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    second_factor::begin_totp_with_password(&state, &signed_in, &password, &meta).await?;
    leptos_axum::redirect(SECURITY_PAGE);
    Ok(())
}

/// The security page, where second factors are added and removed.
pub const SECURITY_PAGE: &str = "/account/security";

/// Turns the authenticator on with its first code; the recovery codes are shown next.
#[server(prefix = "/rpc", endpoint = "confirm_totp")]
pub async fn confirm_totp(code: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let signed_in = ssr::signed_in(&state).await?;
    let codes = second_factor::confirm_totp(&state, &signed_in, &code, &meta).await?;
    ssr::show_recovery_codes_once(&state, signed_in.account.id, &codes);
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=two-step-on"));
    Ok(())
}

/// Ten new recovery codes for a current code; shown next.
#[server(prefix = "/rpc", endpoint = "renew_recovery_codes")]
pub async fn renew_recovery_codes(code: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let codes = second_factor::renew_recovery_codes(&state, &account, &code, &meta).await?;
    ssr::show_recovery_codes_once(&state, account.id, &codes);
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=codes-renewed"));
    Ok(())
}

/// Turns the authenticator off: the password and a current code.
#[server(prefix = "/rpc", endpoint = "disable_totp")]
pub async fn disable_totp(password: String, code: String) -> Result<(), FormError> {
    use crate::server::services::second_factor;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    second_factor::disable_totp(&state, &account, &password, &code, &meta).await?;
    leptos_axum::redirect(&format!("{SECURITY_PAGE}?notice=two-step-off"));
    Ok(())
}

/// Ends the session (on the server, not only in this browser) and goes to the sign-in page.
#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), FormError> {
    use crate::server::services::sessions;
    let (state, meta) = ssr::context()?;
    if let Some(token) = ssr::session_token() {
        sessions::end(&state, &token, &meta).await?;
    }
    ssr::end_session(&state);
    leptos_axum::redirect("/login");
    Ok(())
}

/// The language switch: pages (in this browser) and, when signed in, the account's mails
/// speak `language` from now on; back to the page the switch was on (`next`, a path on this
/// site).
#[server(prefix = "/rpc", endpoint = "language")]
pub async fn choose_language(language: String, next: Option<String>) -> Result<(), FormError> {
    use crate::server::services::{accounts, ServiceError};
    let (state, meta) = ssr::context()?;
    let Some(chosen) = Language::recognise(&language) else {
        let words = page_language().text();
        return Err(ssr::refused(
            http::StatusCode::BAD_REQUEST,
            words.form_incomplete,
        ));
    };
    match ssr::signed_in_account(&state).await {
        Ok(account) => accounts::choose_language(&state, &account, chosen, &meta).await?,
        Err(ServiceError::Unauthenticated) => {}
        Err(other) => return Err(other.into()),
    }
    ssr::remember_language(&state, chosen);
    let next = next
        .filter(|next| crate::server::form_origin::is_local_path(next))
        .unwrap_or_else(|| "/".into());
    leptos_axum::redirect(&next);
    Ok(())
}

/// The signed-in account, or `None` when nobody is signed in.
#[server(prefix = "/rpc", endpoint = "account")]
pub async fn current_account() -> Result<Option<AccountView>, FormError> {
    use crate::server::services::{second_factor, sessions, ServiceError};
    let (state, _) = ssr::context()?;
    let signed_in = match ssr::signed_in(&state).await {
        Ok(signed_in) => signed_in,
        Err(ServiceError::Unauthenticated) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    let sessions = sessions::list(&state, &signed_in)
        .await?
        .into_iter()
        .map(|session| SessionView {
            started: ssr::utc_text(session.started_at),
            last_seen: ssr::utc_text(session.last_seen_at),
            client: ssr::client_text(
                session.user_agent.as_deref(),
                session.client_addr.as_deref(),
            ),
            current: session.current,
        })
        .collect();
    let factors = second_factor::factors(&state, &signed_in.account).await?;
    let account = signed_in.account;
    Ok(Some(AccountView {
        authenticator_app: factors.totp == second_factor::TotpState::On,
        passkeys: factors.passkeys,
        recovery_codes_left: factors.recovery_codes_left,
        username: account.username,
        email: account.email,
        email_verified: account.email_verified,
        phone: account.phone.clone(),
        phone_verified: account.phone_verified,
        paid: account.paid,
        credits: account.credits.to_string(),
        sessions,
    }))
}

/// Ends every session of the account, this one included, and goes to the sign-in page.
#[server(prefix = "/rpc", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), FormError> {
    use crate::server::services::sessions;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    sessions::end_all(&state, &account, &meta).await?;
    ssr::end_session(&state);
    leptos_axum::redirect("/login?notice=signed-out-everywhere");
    Ok(())
}

/// The checks a browser can make before sending a new password.
pub fn check_new_password(new_password: &str, again: &str) -> Vec<Invalid> {
    let mut problems: Vec<Invalid> = NewPassword::parse_basic(new_password, None, None)
        .err()
        .map(|e| Invalid {
            field: "new_password",
            ..e
        })
        .into_iter()
        .collect();
    if new_password != again {
        problems.push(Invalid::new("new_password_again", Problem::PasswordsDiffer));
    }
    problems
}

/// Changes the password; the browser's session continues with a fresh cookie, every other
/// session ends.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(
    old_password: String,
    new_password: String,
    new_password_again: String,
) -> Result<(), FormError> {
    use crate::server::services::password;
    ssr::same_new_password(&new_password, &new_password_again)?;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    let token = password::change(&state, &account, &old_password, &new_password, true, &meta)
        .await?
        .ok_or_else(|| FormError::general(page_language().text().sign_in_after_change))?;
    ssr::start_session(&state, &token);
    leptos_axum::redirect("/account?notice=password-changed");
    Ok(())
}

/// Moves the account to the paid plan, for good. `confirm` is the "I understand" checkbox.
#[server(prefix = "/rpc", endpoint = "upgrade")]
pub async fn upgrade_plan(confirm: Option<String>) -> Result<(), FormError> {
    use crate::server::services::{plan, ServiceError};
    if confirm.as_deref() != Some("yes") {
        return Err(ServiceError::Invalid(vec![Invalid::new(
            "confirm",
            Problem::UpgradeNotConfirmed,
        )])
        .into());
    }
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    plan::upgrade(&state, &account, &meta).await?;
    leptos_axum::redirect("/account?notice=upgraded");
    Ok(())
}

/// Sends a fresh verification link to the signed-in account's address.
#[server(prefix = "/rpc", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), FormError> {
    use crate::server::services::verification;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    verification::resend(&state, &account, &meta).await?;
    leptos_axum::redirect("/account?notice=verification-sent");
    Ok(())
}

/// Uses the link from the verification mail (the page asks for one click first).
#[server(prefix = "/rpc", endpoint = "verify_email")]
pub async fn verify_email(username: String, token: String) -> Result<(), FormError> {
    use crate::server::services::verification;
    let (state, meta) = ssr::context()?;
    verification::verify(&state, &username, &token, &meta).await?;
    leptos_axum::redirect("/email-verified");
    Ok(())
}

/// Forgot username: mails it to the address if an account with that verified address exists.
#[server(prefix = "/rpc", endpoint = "forgot_username")]
pub async fn forgot_username(email: String) -> Result<(), FormError> {
    use crate::server::services::recovery;
    let (state, meta) = ssr::context()?;
    recovery::remind_username(&state, &email, &meta).await?;
    leptos_axum::redirect("/forgot/username?sent=1");
    Ok(())
}

/// Reset step 1 from the web: a passcode by e-mail or text message. The next page asks for it;
/// where the passcode went rides along in a cookie (`ssr::remember_reset`), not in the address.
#[server(prefix = "/rpc", endpoint = "request_reset")]
pub async fn request_reset(
    via: String,
    destination: String,
    country_code: Option<String>,
) -> Result<(), FormError> {
    use crate::server::services::recovery;
    let (state, meta) = ssr::context()?;
    let by_phone = via == "phone";
    if by_phone {
        recovery::request_by_phone(&state, &destination, country_code.as_deref(), &meta).await?;
    } else {
        recovery::request_by_email(&state, &destination, &meta).await?;
    }
    ssr::remember_reset(
        &state,
        &PendingReset {
            by_phone,
            destination: destination.trim().to_owned(),
            country_code: country_code
                .map(|code| code.trim().to_owned())
                .filter(|code| by_phone && !code.is_empty()),
        },
    );
    leptos_axum::redirect("/forgot/password?step=code");
    Ok(())
}

/// Reset step 2 from the web: the passcode, for the destination this browser's reset sent it
/// to, exchanged for a reset token carried to the last step.
#[server(prefix = "/rpc", endpoint = "verify_reset_code")]
pub async fn verify_reset_code(code: String) -> Result<(), FormError> {
    use crate::server::services::recovery::{self, Destination};
    let (state, meta) = ssr::context()?;
    // No reset cookie: it ran out, or the reset began in another browser. The client's state,
    // not a fault here.
    let reset = pending_reset().ok_or_else(|| {
        let words = page_language().text();
        ssr::refused(http::StatusCode::BAD_REQUEST, words.reset_timed_out)
    })?;
    let target = if reset.by_phone {
        Destination::Phone {
            number: &reset.destination,
            country_code: reset.country_code.as_deref(),
        }
    } else {
        Destination::Email(&reset.destination)
    };
    let grant = recovery::verify_passcode(&state, target, &code, &meta).await?;
    ssr::forget_reset(&state);
    leptos_axum::redirect(&format!(
        "/forgot/password?token={}",
        secrecy::ExposeSecret::expose_secret(&grant.token)
    ));
    Ok(())
}

/// Whether a reset link can still be used (read by its page as it renders).
#[server(prefix = "/rpc", endpoint = "reset_link_is_live")]
pub async fn reset_link_is_live(token: String) -> Result<bool, FormError> {
    use crate::server::services::recovery;
    let (state, _) = ssr::context()?;
    Ok(recovery::link_is_live(&state, &token).await?)
}

/// Reset step 2 by the e-mailed link (its page asks for one click).
#[server(prefix = "/rpc", endpoint = "use_reset_link")]
pub async fn use_reset_link(token: String) -> Result<(), FormError> {
    use crate::server::services::recovery;
    let (state, _) = ssr::context()?;
    let grant = recovery::exchange_link(&state, &token).await?;
    leptos_axum::redirect(&format!(
        "/forgot/password?token={}",
        secrecy::ExposeSecret::expose_secret(&grant.token)
    ));
    Ok(())
}

/// Reset step 3 from the web: the new password, twice. Then sign in with it. The hydrated
/// page sends both fields sealed with the server's RSA key (`encryption = "rsa"`, the key the
/// page was rendered with, also at `/api/v3/system`); a page without JavaScript sends them
/// plain.
#[server(prefix = "/rpc", endpoint = "finish_reset")]
pub async fn finish_reset(
    token: String,
    new_password: String,
    new_password_again: String,
    encryption: Option<String>,
) -> Result<(), FormError> {
    use crate::server::crypto::password_cipher::Encryption;
    use crate::server::services::recovery::{self, Sealed};
    use crate::server::services::ServiceError;
    let (state, meta) = ssr::context()?;
    let Some(encryption) = Encryption::parse(encryption.as_deref()) else {
        return Err(ServiceError::PasswordUnreadable.into());
    };
    let sealed = |text| Sealed { text, encryption };
    recovery::reset_password(
        &state,
        &token,
        sealed(&new_password),
        Some(sealed(&new_password_again)),
        &meta,
    )
    .await
    .map_err(|e| match e {
        // The policy speaks of "password"; this form's field is "new_password".
        ServiceError::Invalid(problems) => ServiceError::Invalid(
            problems
                .into_iter()
                .map(|p| Invalid {
                    field: if p.field == "password" {
                        "new_password"
                    } else {
                        p.field
                    },
                    ..p
                })
                .collect(),
        ),
        other => other,
    })?;
    leptos_axum::redirect("/login?notice=password-reset");
    Ok(())
}

/// Adds a phone number to the signed-in account and texts it a code.
#[server(prefix = "/rpc", endpoint = "add_phone")]
pub async fn add_phone(country_code: String, number: String) -> Result<(), FormError> {
    use crate::server::services::phone;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    phone::add(&state, &account, &number, Some(&country_code), &meta).await?;
    leptos_axum::redirect("/account?notice=phone-code-sent");
    Ok(())
}

/// Confirms the signed-in account's phone number with the texted code.
#[server(prefix = "/rpc", endpoint = "confirm_phone")]
pub async fn confirm_phone(code: String) -> Result<(), FormError> {
    use crate::server::services::phone;
    let (state, meta) = ssr::context()?;
    let account = ssr::signed_in_account(&state).await?;
    phone::confirm(&state, &account, &code, &meta).await?;
    leptos_axum::redirect("/account?notice=phone-verified");
    Ok(())
}
