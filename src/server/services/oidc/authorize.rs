//! The authorization endpoint's logic: a request checked against its client, then answered
//! with a code at once, or after the person signs in (again) or consents.
//!
//! Where a request may be answered is decided first: an unknown client or a redirect URI not
//! registered for it gets Latchkey's own error page, never a redirect (an attacker's URI would
//! otherwise receive the answer). Every later problem goes back to the app's URI with `error`,
//! `state` and `iss` (RFC 9207).

use super::{acr_of, ErrorCode, OAuthError, ACR_MFA, CODE_SECONDS, REQUEST_SECONDS, SCOPES};
use crate::server::crypto::link_token;
use crate::server::services::oidc_clients::Client;
use crate::server::services::sessions::SignedIn;
use crate::server::services::{client_limits, second_factor, ServiceError};
use crate::server::state::AppState;
use crate::server::store::audit::RequestMeta;
use crate::server::store::{self, oidc, oidc_clients};
use serde::{Deserialize, Serialize};

/// Why a request cannot be answered at the app: shown on Latchkey's error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsafe {
    /// No `client_id`, or one that is not registered.
    UnknownClient,
    /// No `redirect_uri`, or one not registered for the client, character for character.
    RedirectUri,
    /// A parameter that may appear once appeared twice, before the redirect URI was known.
    Repeated,
    /// A waiting request that ran out (or never was): the person starts again at the app.
    Expired,
    /// The database could not be read (a failover, say): nothing can be checked, so nothing
    /// goes to the app; the person tries again in a moment.
    Unavailable,
}

impl Unsafe {
    /// Its name in the error page's address.
    pub fn as_str(self) -> &'static str {
        match self {
            Unsafe::UnknownClient => "unknown-client",
            Unsafe::RedirectUri => "redirect-uri",
            Unsafe::Repeated => "repeated-parameter",
            Unsafe::Expired => "expired",
            Unsafe::Unavailable => "unavailable",
        }
    }
}

/// An answer for the app, at its redirect URI: a code, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub redirect_uri: String,
    /// `response_mode=form_post`: the parameters go in an auto-submitted form.
    pub form_post: bool,
    pub params: Vec<(String, String)>,
}

/// What the browser is sent to next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A page of Latchkey: the sign-in (then back to the request), or the consent page.
    Page(String),
    /// Back to the app.
    App(Reply),
    /// Latchkey's error page.
    Refused(Unsafe),
}

/// An authorization request, checked: what is kept while the person signs in or consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub form_post: bool,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// PKCE (S256 only).
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The first language of `ui_locales` Latchkey speaks.
    pub language: Option<String>,
    /// The subject an `id_token_hint` names.
    pub hint_subject: Option<String>,
    /// `acr_values` asked for a second factor.
    pub require_mfa: bool,
}

/// The parameters of a request, as sent (query or form), in order.
pub type Params = [(String, String)];

/// The parameters that may appear at most once (RFC 6749 §3.1).
const SINGLE: [&str; 16] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "ui_locales",
    "id_token_hint",
    "acr_values",
    "request",
];

/// Longest accepted value of any parameter: a request is a URL, and its parts are stored.
const MAX_VALUE: usize = 2048;

fn one<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

/// Checks a request. An error page when the app cannot safely be answered; otherwise the
/// request, or the error the app is answered with.
pub async fn check(
    state: &AppState,
    params: &Params,
) -> Result<(Authorization, Client), Result<Reply, Unsafe>> {
    let repeated = SINGLE
        .iter()
        .find(|name| params.iter().filter(|(key, _)| key == *name).count() > 1);
    let client_id = one(params, "client_id").ok_or(Err(Unsafe::UnknownClient))?;
    if repeated == Some(&"client_id") || repeated == Some(&"redirect_uri") {
        return Err(Err(Unsafe::Repeated));
    }
    let client: Client = match oidc_clients::find(&state.db, client_id).await {
        Ok(Some(row)) => row.into(),
        Ok(None) => return Err(Err(Unsafe::UnknownClient)),
        Err(e) => {
            match ServiceError::from(e) {
                ServiceError::Contended => tracing::warn!("oidc: client not read: database busy"),
                other => tracing::error!("oidc: client not read: {other}"),
            }
            return Err(Err(Unsafe::Unavailable));
        }
    };
    let redirect_uri = one(params, "redirect_uri").ok_or(Err(Unsafe::RedirectUri))?;
    if !client.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return Err(Err(Unsafe::RedirectUri));
    }
    // From here on, errors go back to the app, in the mode it asked for when that is valid.
    let form_post = one(params, "response_mode") == Some("form_post");
    let state_param = one(params, "state").map(str::to_owned);
    let refuse = |code: ErrorCode, description: &str| {
        Err(Ok(error_reply(
            state,
            redirect_uri,
            form_post,
            state_param.as_deref(),
            &OAuthError::new(code, description),
        )))
    };
    if let Some(name) = repeated {
        return refuse(
            ErrorCode::InvalidRequest,
            &format!("{name} appears more than once"),
        );
    }
    if params.iter().any(|(_, value)| value.len() > MAX_VALUE) {
        return refuse(ErrorCode::InvalidRequest, "a parameter is too long");
    }
    if one(params, "request").is_some() {
        return refuse(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        );
    }
    if one(params, "request_uri").is_some() {
        return refuse(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        );
    }
    match one(params, "response_mode") {
        None | Some("query") | Some("form_post") => {}
        Some(_) => {
            return refuse(
                ErrorCode::InvalidRequest,
                "response_mode must be query or form_post",
            )
        }
    }
    match one(params, "response_type") {
        Some("code") => {}
        None => return refuse(ErrorCode::InvalidRequest, "response_type is missing"),
        Some(_) => {
            return refuse(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )
        }
    }
    let asked_scopes = one(params, "scope").unwrap_or_default();
    if !asked_scopes.split(' ').any(|s| s == "openid") {
        return refuse(ErrorCode::InvalidScope, "the openid scope is required");
    }
    let scopes = super::known_scopes(asked_scopes);
    let code_challenge = match (
        one(params, "code_challenge"),
        one(params, "code_challenge_method"),
    ) {
        (Some(challenge), Some("S256")) if is_pkce_value(challenge) => Some(challenge.to_owned()),
        (Some(_), Some("S256")) => {
            return refuse(ErrorCode::InvalidRequest, "code_challenge is malformed")
        }
        (Some(_), None) | (Some(_), Some("plain")) => {
            return refuse(
                ErrorCode::InvalidRequest,
                "only code_challenge_method=S256 is supported",
            )
        }
        (_, Some(_)) => {
            return refuse(
                ErrorCode::InvalidRequest,
                "code_challenge_method needs an S256 code_challenge",
            )
        }
        (None, None) => None,
    };
    if client.public && code_challenge.is_none() {
        return refuse(
            ErrorCode::InvalidRequest,
            "a public client must use PKCE (code_challenge with S256)",
        );
    }
    let prompts: Vec<&str> = one(params, "prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(unknown) = prompts
        .iter()
        .find(|p| !["none", "login", "consent", "select_account"].contains(p))
    {
        return refuse(
            ErrorCode::InvalidRequest,
            &format!("prompt {unknown:?} is not known"),
        );
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return refuse(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with another prompt",
        );
    }
    let max_age = match one(params, "max_age") {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) if seconds >= 0 => Some(seconds),
            _ => return refuse(ErrorCode::InvalidRequest, "max_age must be a whole number"),
        },
    };
    let hint_subject = match one(params, "id_token_hint") {
        None => None,
        Some(hint) => match read_hint_with_keys(state, hint).await {
            Some(claims) if claims.aud_includes(&client.client_id) => Some(claims.sub),
            _ => {
                return refuse(
                    ErrorCode::InvalidRequest,
                    "id_token_hint is not an id_token this provider issued to this client",
                )
            }
        },
    };
    let language = one(params, "ui_locales").and_then(|locales| {
        locales
            .split(' ')
            .find_map(crate::i18n::Language::recognise)
            .map(|language| language.tag().to_owned())
    });
    let require_mfa = one(params, "acr_values")
        .unwrap_or_default()
        .split(' ')
        .any(|value| value == ACR_MFA);
    let login_hint =
        one(params, "login_hint").map(|hint| hint.chars().take(320).collect::<String>());
    Ok((
        Authorization {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            form_post,
            scopes,
            state: state_param,
            nonce: one(params, "nonce").map(str::to_owned),
            code_challenge,
            prompt_none,
            prompt_login: prompts.contains(&"login"),
            prompt_consent: prompts.contains(&"consent"),
            max_age,
            login_hint,
            language,
            hint_subject,
            require_mfa,
        },
        client,
    ))
}

/// An `id_token_hint`'s claims, after making sure this node holds the keys (a node that has
/// signed nothing yet may not have read them).
async fn read_hint_with_keys(state: &AppState, hint: &str) -> Option<super::logout::HintClaims> {
    super::keys::ensure(state).await.ok()?;
    super::logout::read_hint(state, hint)
}

/// RFC 7636's code challenge and verifier alphabet and length: 43 to 128 unreserved characters.
pub fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An error for the app, at its redirect URI.
pub fn error_reply(
    state: &AppState,
    redirect_uri: &str,
    form_post: bool,
    state_param: Option<&str>,
    error: &OAuthError,
) -> Reply {
    let mut params = vec![
        ("error".to_owned(), error.code.as_str().to_owned()),
        ("error_description".to_owned(), error.description.clone()),
    ];
    if let Some(state_param) = state_param {
        params.push(("state".into(), state_param.into()));
    }
    params.push(("iss".into(), super::issuer(state).to_owned()));
    Reply {
        redirect_uri: redirect_uri.to_owned(),
        form_post,
        params,
    }
}

/// What the request needs before it can be answered.
enum Needs {
    SignIn,
    Consent,
    Answer,
    Refusal(ErrorCode, &'static str),
}

/// Decides what a request needs. `waiting` is the stored request being resumed, if any: a
/// sign-in since it was stored satisfies `prompt=login` and `max_age`.
async fn needs(
    state: &AppState,
    request: &Authorization,
    client: &Client,
    waiting: Option<&oidc::RequestRow>,
    session: Option<&SignedIn>,
) -> Result<Needs, ServiceError> {
    let Some(session) = session else {
        return Ok(Needs::SignIn);
    };
    let account = &session.account;
    let signed_in_since_asked = waiting.is_some_and(|w| session.signed_in_at >= w.created_at);
    if !signed_in_since_asked {
        if request.prompt_login {
            return Ok(Needs::SignIn);
        }
        if let Some(max_age) = request.max_age {
            if super::now() - session.signed_in_at > max_age {
                return Ok(Needs::SignIn);
            }
        }
    }
    if let Some(hinted) = &request.hint_subject {
        let known = store::oidc::known_subject(&state.db, account.id).await?;
        if known.as_deref() != Some(hinted.as_str()) {
            // Another person is signed in here than the app expects.
            return Ok(if signed_in_since_asked {
                Needs::Refusal(
                    ErrorCode::LoginRequired,
                    "the person signed in is not the one id_token_hint names",
                )
            } else {
                Needs::SignIn
            });
        }
    }
    if request.require_mfa && acr_of(&session.amr) != ACR_MFA {
        if !second_factor::required(state, account.id).await? {
            return Ok(Needs::Refusal(
                ErrorCode::UnmetAuthenticationRequirements,
                "the account has no second factor",
            ));
        }
        return Ok(Needs::SignIn);
    }
    if client.first_party {
        return Ok(Needs::Answer);
    }
    let answered = waiting.and_then(|w| w.answer_by(account.id));
    match answered {
        Some(false) => {
            return Ok(Needs::Refusal(
                ErrorCode::AccessDenied,
                "the person did not allow access",
            ))
        }
        Some(true) => return Ok(Needs::Answer),
        None => {}
    }
    if request.prompt_consent {
        return Ok(Needs::Consent);
    }
    let agreed = oidc::consented_scopes(&state.db, account.id, &client.client_id).await?;
    let agreed: Vec<&str> = agreed.as_deref().unwrap_or_default().split(' ').collect();
    if request.scopes.iter().all(|s| agreed.contains(&s.as_str())) {
        Ok(Needs::Answer)
    } else {
        Ok(Needs::Consent)
    }
}

/// Takes a request on from where it stands: answers it, or sends the person to sign in or
/// consent (storing the request for when they come back).
pub async fn proceed(
    state: &AppState,
    request: &Authorization,
    client: &Client,
    waiting: Option<&oidc::RequestRow>,
    session: Option<&SignedIn>,
    meta: &RequestMeta,
) -> Result<Next, ServiceError> {
    let needs = needs(state, request, client, waiting, session).await?;
    let refuse = |code: ErrorCode, words: &str| {
        Next::App(error_reply(
            state,
            &request.redirect_uri,
            request.form_post,
            request.state.as_deref(),
            &OAuthError::new(code, words),
        ))
    };
    match needs {
        Needs::Refusal(code, words) => {
            forget(state, waiting).await?;
            Ok(refuse(code, words))
        }
        Needs::SignIn if request.prompt_none => {
            forget(state, waiting).await?;
            Ok(refuse(ErrorCode::LoginRequired, "nobody is signed in"))
        }
        Needs::Consent if request.prompt_none => {
            forget(state, waiting).await?;
            Ok(refuse(
                ErrorCode::ConsentRequired,
                "the person has not consented",
            ))
        }
        Needs::SignIn => {
            let id = stored(state, request, waiting, meta).await?;
            let back = resume_path(&id);
            let mut page = format!("/login?next={}", crate::server::http::query_value(&back));
            if let Some(hint) = &request.login_hint {
                page.push_str("&login_hint=");
                page.push_str(&crate::server::http::query_value(hint));
            }
            Ok(Next::Page(page))
        }
        Needs::Consent => {
            let id = stored(state, request, waiting, meta).await?;
            Ok(Next::Page(format!("/oauth/consent?request={id}")))
        }
        Needs::Answer => {
            let session = session.expect("an answer needs a session");
            // Of two tabs resuming one request, one answers.
            if let Some(waiting) = waiting {
                if !oidc::take_request(&state.db, &waiting.id).await? {
                    return Ok(Next::Refused(Unsafe::Expired));
                }
            }
            Ok(Next::App(issue_code(state, request, session).await?))
        }
    }
}

/// Where the sign-in and consent pages send the person back to.
pub fn resume_path(id: &str) -> String {
    format!("/oauth/authorize/resume?request={id}")
}

async fn forget(state: &AppState, waiting: Option<&oidc::RequestRow>) -> Result<(), ServiceError> {
    if let Some(waiting) = waiting {
        oidc::take_request(&state.db, &waiting.id).await?;
    }
    Ok(())
}

/// Authorizations one client address may leave waiting for a sign-in or consent a minute:
/// each is a row for ten minutes, and asking needs no account.
const WAITING_REQUESTS_PER_MINUTE: i64 = 30;

/// The waiting request's id, storing the request first if it is not stored yet.
async fn stored(
    state: &AppState,
    request: &Authorization,
    waiting: Option<&oidc::RequestRow>,
    meta: &RequestMeta,
) -> Result<String, ServiceError> {
    if let Some(waiting) = waiting {
        return Ok(waiting.id.clone());
    }
    if let Some(ip) = meta.client_ip {
        let key = format!("oidc-waiting:{}", client_limits::client_key(ip));
        state
            .limits
            .admit_key(&key, WAITING_REQUESTS_PER_MINUTE, 60_000)
            .await?;
    }
    let now = super::now();
    let row = oidc::RequestRow {
        id: super::random_id(),
        client_id: request.client_id.clone(),
        params: serde_json::to_string(request)
            .map_err(|e| ServiceError::Internal(e.to_string()))?,
        created_at: now,
        consent: None,
        answered_by: None,
    };
    oidc::insert_request(&state.db, &row, now + REQUEST_SECONDS).await?;
    Ok(row.id)
}

/// A waiting request and its client, if it has not run out and its client is still there.
pub async fn waiting(
    state: &AppState,
    id: &str,
) -> Result<Option<(oidc::RequestRow, Authorization, Client)>, ServiceError> {
    let Some(row) = oidc::find_request(&state.db, id, super::now()).await? else {
        return Ok(None);
    };
    let Ok(request) = serde_json::from_str::<Authorization>(&row.params) else {
        return Ok(None);
    };
    let Some(client) = oidc_clients::find(&state.db, &row.client_id).await? else {
        return Ok(None);
    };
    Ok(Some((row, request, client.into())))
}

/// Resumes a waiting request after the sign-in or consent page.
pub async fn resume(
    state: &AppState,
    id: &str,
    session: Option<&SignedIn>,
    meta: &RequestMeta,
) -> Result<Next, ServiceError> {
    match waiting(state, id).await? {
        Some((row, request, client)) => {
            proceed(state, &request, &client, Some(&row), session, meta).await
        }
        None => Ok(Next::Refused(Unsafe::Expired)),
    }
}

/// The person's answer on the consent page, for the account signed in.
pub async fn answer_consent(
    state: &AppState,
    id: &str,
    account_id: i64,
    allow: bool,
) -> Result<(), ServiceError> {
    let Some((row, request, _)) = waiting(state, id).await? else {
        return Err(ServiceError::LinkInvalid);
    };
    let now = super::now();
    crate::server::services::write_tx!(state.db, |tx| {
        if allow {
            let before = oidc::consented_scopes(&mut *tx, account_id, &row.client_id).await?;
            let mut scopes: Vec<&str> = before.as_deref().unwrap_or_default().split(' ').collect();
            for scope in &request.scopes {
                if !scopes.contains(&scope.as_str()) {
                    scopes.push(scope);
                }
            }
            scopes.retain(|s| SCOPES.contains(s));
            let scopes = scopes.join(" ");
            oidc::save_consent(&mut *tx, account_id, &row.client_id, &scopes, now).await?;
        }
        oidc::answer_request(&mut *tx, &row.id, allow, account_id).await?;
        Ok(())
    })
}

/// A fresh code for a request the person may be answered on: the grant it opens is stored
/// with it, and the code (60 seconds, one use) goes to the app.
async fn issue_code(
    state: &AppState,
    request: &Authorization,
    session: &SignedIn,
) -> Result<Reply, ServiceError> {
    let now = super::now();
    let (code, code_hash) = link_token::generate();
    let account = &session.account;
    let grant = oidc::GrantRow {
        id: super::random_id(),
        user_id: account.id,
        client_id: request.client_id.clone(),
        session_id: session.session_id.clone(),
        scopes: request.scopes.join(" "),
        nonce: request.nonce.clone(),
        auth_time: session.signed_in_at,
        amr: session.amr.clone(),
        token_version: account.token_version,
        created_at: now,
        last_used_at: now,
        revoked_at: None,
    };
    let stored_code = oidc::CodeRow {
        grant_id: grant.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        expires_at: now + CODE_SECONDS,
    };
    crate::server::services::write_tx!(state.db, |tx| {
        oidc::insert_grant(&mut *tx, &grant).await?;
        oidc::insert_code(&mut *tx, &code_hash, &stored_code).await?;
        Ok(())
    })?;
    let mut params = vec![("code".to_owned(), code)];
    if let Some(state_param) = &request.state {
        params.push(("state".into(), state_param.clone()));
    }
    params.push(("iss".into(), super::issuer(state).to_owned()));
    Ok(Reply {
        redirect_uri: request.redirect_uri.clone(),
        form_post: request.form_post,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::is_pkce_value;

    #[test]
    fn pkce_values_are_43_to_128_unreserved_characters() {
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(is_pkce_value(&"A-._~9".repeat(20)));
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(42))));
    }
}
