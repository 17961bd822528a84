//! The OpenID Connect provider's endpoints: discovery, JWKS, authorization, token, userinfo,
//! revocation and RP-initiated logout. Each parses its request, calls `services::oidc`, and
//! answers as the specifications say: redirects (or an auto-submitted form) for the browser,
//! RFC 6749 JSON for the token endpoint, `WWW-Authenticate` for userinfo.

use crate::server::http::cookies::{self, cookie_value, COOKIE_NAME};
use crate::server::http::request_id::Meta;
use crate::server::services::oidc::authorize::{self, Next, Reply, Unsafe};
use crate::server::services::oidc::logout::{self, AfterLogout};
use crate::server::services::oidc::tokens::{self, ClientCredentials};
use crate::server::services::oidc::{self, ErrorCode, OAuthError};
use crate::server::services::{sessions, ServiceError};
use crate::server::state::AppState;
use crate::server::store::audit::RequestMeta;
use crate::server::store::oidc_clients::ClientRow;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Where each endpoint lives, under the issuer.
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const JWKS: &str = "/oauth/jwks";
pub const AUTHORIZE: &str = "/oauth/authorize";
pub const RESUME: &str = "/oauth/authorize/resume";
pub const TOKEN: &str = "/oauth/token";
pub const USERINFO: &str = "/oauth/userinfo";
pub const REVOKE: &str = "/oauth/revoke";
pub const LOGOUT: &str = "/oauth/logout";
/// Latchkey's pages the flow shows.
pub const PROBLEM_PAGE: &str = "/oauth/problem";
pub const SIGNED_OUT_PAGE: &str = "/signed-out";

/// The endpoints; the plumbing's refusals (404, 405, 413…) at the ones apps call come as
/// RFC 6749 JSON, and nothing is cached unless it says so (`rest::with_envelope_errors`).
pub fn router() -> Router<AppState> {
    let routes = Router::new()
        .route(DISCOVERY, get(discovery))
        .route(JWKS, get(jwks))
        .route(AUTHORIZE, get(authorize).post(authorize))
        .route(RESUME, get(resume))
        .route(TOKEN, post(token))
        .route(USERINFO, get(userinfo).post(userinfo))
        .route(REVOKE, post(revoke))
        .route(LOGOUT, get(end_session).post(end_session));
    super::with_envelope_errors(routes)
}

// ---- Discovery and keys ---------------------------------------------------------------------

async fn discovery(State(state): State<AppState>) -> Response {
    let issuer = oidc::issuer(&state);
    let at = |path: &str| format!("{issuer}{path}");
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let document = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": at(AUTHORIZE),
        "token_endpoint": at(TOKEN),
        "userinfo_endpoint": at(USERINFO),
        "jwks_uri": at(JWKS),
        "revocation_endpoint": at(REVOKE),
        "end_session_endpoint": at(LOGOUT),
        "scopes_supported": oidc::SCOPES,
        "claims_supported": oidc::CLAIMS,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [oidc::ACR_ONE_FACTOR, oidc::ACR_MFA],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "display_values_supported": ["page"],
        "ui_locales_supported": ["en", "zh-CN"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
    });
    // Public and the same for everyone: apps and browsers may keep it a while.
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(document),
    )
        .into_response()
}

async fn jwks(State(state): State<AppState>) -> Response {
    if let Err(e) = oidc::keys::ensure(&state).await {
        return unavailable(e);
    }
    (
        // Short, so a rotated-in key (announced two minutes ahead) is fetched before it signs.
        [(header::CACHE_CONTROL, "public, max-age=60")],
        [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        // RFC 7517's own type would be `application/jwk-set+json`; plain JSON is what every
        // relying-party library accepts.
        [(header::CONTENT_TYPE, "application/json")],
        state.oidc_keys.jwks(),
    )
        .into_response()
}

fn unavailable(error: ServiceError) -> Response {
    let error = OAuthError::from(error);
    oauth_json(StatusCode::SERVICE_UNAVAILABLE, &error)
}

// ---- Authorization --------------------------------------------------------------------------

/// The request's parameters: the query of a GET, the form of a POST.
fn parameters(method: &Method, query: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let text = if method == Method::POST {
        body
    } else {
        query.unwrap_or_default().as_bytes()
    };
    serde_urlencoded::from_bytes(text).unwrap_or_default()
}

async fn authorize(
    State(state): State<AppState>,
    Meta(meta): Meta,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = parameters(&method, query.as_deref(), &body);
    let (request, client) = match authorize::check(&state, &params).await {
        Ok(checked) => checked,
        Err(Ok(reply)) => return to_app(&reply),
        Err(Err(problem)) => return problem_page(problem),
    };
    let session = match browser_session(&state, &headers).await {
        Ok(session) => session,
        Err(e) => return to_app(&service_failure(&state, &request, e)),
    };
    let next = authorize::proceed(&state, &request, &client, None, session.as_ref(), &meta).await;
    let mut response = match next {
        Ok(next) => go(next),
        Err(e) => to_app(&service_failure(&state, &request, e)),
    };
    // `ui_locales`: the sign-in and consent pages of this flow speak the language asked for.
    if let Some(tag) = &request.language {
        if let Ok(value) = HeaderValue::from_str(&cookies::choose_language(&state.settings, tag)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn resume(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parameters(&Method::GET, query.as_deref(), &[]);
    let Some((_, id)) = params.iter().find(|(key, _)| key == "request") else {
        return problem_page(Unsafe::Expired);
    };
    let session = match browser_session(&state, &headers).await {
        Ok(session) => session,
        Err(e) => return problem_page(unavailable_or(e, Unsafe::Expired)),
    };
    match authorize::resume(&state, id, session.as_ref(), &meta).await {
        // The browser comes here from a form (the sign-in's, the consent's): a redirect to
        // the app would be part of that form's navigation, which the pages' CSP
        // (`form-action 'self'`) rightly refuses to let leave the site. A page of ours ends
        // the form's navigation, and takes the browser on from there.
        Ok(Next::App(reply)) if !reply.form_post => onwards_page(&reply),
        Ok(next) => go(next),
        Err(e) => problem_page(unavailable_or(e, Unsafe::Expired)),
    }
}

/// `Unavailable` when the database could not answer (the person tries again in a moment and
/// the waiting request is still there), else `otherwise`.
fn unavailable_or(error: ServiceError, otherwise: Unsafe) -> Unsafe {
    if matches!(error, ServiceError::Contended) {
        tracing::warn!("oidc: a waiting request could not go on: database busy");
        Unsafe::Unavailable
    } else {
        tracing::error!("oidc: a waiting request could not go on: {error}");
        otherwise
    }
}

/// The browser's Latchkey session (the cookie only: a bearer token is no browser), with how
/// it signed in.
async fn browser_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<sessions::SignedIn>, ServiceError> {
    match cookie_value(headers, COOKIE_NAME) {
        Some(token) => match sessions::resolve(state, &token).await {
            Ok(signed_in) => Ok(Some(signed_in)),
            Err(ServiceError::Unauthenticated) => Ok(None),
            Err(e) => Err(e),
        },
        None => Ok(None),
    }
}

/// A failure of ours during an authorization, told to the app (RFC 6749 §4.1.2.1).
fn service_failure(
    state: &AppState,
    request: &authorize::Authorization,
    error: ServiceError,
) -> Reply {
    let error = OAuthError::from(error);
    authorize::error_reply(
        state,
        &request.redirect_uri,
        request.form_post,
        request.state.as_deref(),
        &error,
    )
}

fn go(next: Next) -> Response {
    match next {
        Next::Page(page) => see_other(&page),
        Next::App(reply) => to_app(&reply),
        Next::Refused(problem) => problem_page(problem),
    }
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn problem_page(problem: Unsafe) -> Response {
    see_other(&format!("{PROBLEM_PAGE}?reason={}", problem.as_str()))
}

/// The answer to the app: a redirect with the parameters in the query, or (`form_post`) a page
/// whose form posts them to the app, submitted by a script or by the person's click.
fn to_app(reply: &Reply) -> Response {
    if !reply.form_post {
        let Ok(mut url) = url::Url::parse(&reply.redirect_uri) else {
            return problem_page(Unsafe::RedirectUri);
        };
        url.query_pairs_mut().extend_pairs(reply.params.iter());
        return see_other(url.as_str());
    }
    let nonce = oidc::random_id();
    let inputs: String = reply
        .params
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(name),
                escape(value)
            )
        })
        .collect();
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>…</title></head><body><form method="post" action="{action}">{inputs}<noscript><button type="submit">Continue</button></noscript></form><script nonce="{nonce}">document.forms[0].submit()</script></body></html>"#,
        action = escape(&reply.redirect_uri),
    );
    let origin = url::Url::parse(&reply.redirect_uri)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default();
    let policy = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; form-action {origin}; frame-ancestors 'none'"
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A page that sends the browser on to the app at once (a meta refresh, which works without
/// JavaScript), with a link for a browser that does not follow it.
fn onwards_page(reply: &Reply) -> Response {
    let Ok(mut url) = url::Url::parse(&reply.redirect_uri) else {
        return problem_page(Unsafe::RedirectUri);
    };
    url.query_pairs_mut().extend_pairs(reply.params.iter());
    let to = escape(url.as_str());
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={to}"><title>…</title></head><body><p><a href="{to}">Continue</a></p></body></html>"#
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The address carries the code: no page it leads to learns ours, nor ours its.
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page,
    )
        .into_response()
}

/// HTML-escapes an attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ---- Token, userinfo, revocation ------------------------------------------------------------

/// RFC 6749 §5.2 JSON, with `Retry-After` when waiting helps.
fn oauth_json(status: StatusCode, error: &OAuthError) -> Response {
    let body = serde_json::json!({
        "error": error.code.as_str(),
        "error_description": error.description,
    });
    let mut response = (status, Json(body)).into_response();
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn token_error(error: &OAuthError, basic: bool) -> Response {
    let status = match error.code {
        ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::TemporarilyUnavailable if error.retry_after.unwrap_or(0) > 1 => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = oauth_json(status, error);
    if error.code == ErrorCode::InvalidClient && basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="latchkey""#),
        );
    }
    response
}

/// A token or revocation request's form, refusing repeated parameters and other bodies.
fn form_of(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form_type {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        OAuthError::new(ErrorCode::InvalidRequest, "the body is not a readable form")
    })?;
    for (i, (name, _)) in form.iter().enumerate() {
        if form[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                format!("{name} appears more than once"),
            ));
        }
    }
    Ok(form)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

/// The client's credentials: `Authorization: Basic` (RFC 6749 §2.3.1: both parts form-encoded
/// before base64) or `client_id` / `client_secret` in the form; both at once is refused.
fn credentials(
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<ClientCredentials, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| encoded.trim().to_owned());
    let in_form = field(form, "client_secret");
    match basic {
        Some(encoded) => {
            if in_form.is_some() {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "use one client authentication method, not two",
                ));
            }
            let decoded = STANDARD
                .decode(encoded)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    OAuthError::new(
                        ErrorCode::InvalidClient,
                        "the Basic credentials are unreadable",
                    )
                })?;
            let (id, secret) = decoded.split_once(':').ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::InvalidClient,
                    "the Basic credentials are unreadable",
                )
            })?;
            let form_decoded = |part: &str| {
                percent_encoding::percent_decode_str(&part.replace('+', " "))
                    .decode_utf8()
                    .map(|text| text.into_owned())
                    .ok()
            };
            let client_id = form_decoded(id);
            if let (Some(asked), Some(id)) = (field(form, "client_id"), &client_id) {
                if asked != id {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidRequest,
                        "client_id differs from the Basic credentials",
                    ));
                }
            }
            Ok(ClientCredentials {
                client_id,
                secret: form_decoded(secret),
                basic: true,
            })
        }
        None => Ok(ClientCredentials {
            client_id: field(form, "client_id").map(str::to_owned),
            secret: in_form.map(str::to_owned),
            basic: false,
        }),
    }
}

/// A token or revocation request's form and the client it authenticates, or the answer that
/// refuses it; `basic` says the client used the Basic header (a refusal then challenges it).
async fn authenticated(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Vec<(String, String)>, ClientRow, bool), Response> {
    let form = form_of(headers, body).map_err(|error| token_error(&error, false))?;
    let presented = credentials(headers, &form).map_err(|error| token_error(&error, false))?;
    match tokens::authenticate(state, &presented, meta).await {
        Ok(client) => Ok((form, client, presented.basic)),
        Err(error) => Err(token_error(&error, presented.basic)),
    }
}

async fn token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, client, basic) = match authenticated(&state, &meta, &headers, &body).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let answer = match field(&form, "grant_type") {
        Some("authorization_code") => {
            tokens::exchange_code(
                &state,
                &client,
                field(&form, "code"),
                field(&form, "redirect_uri"),
                field(&form, "code_verifier"),
            )
            .await
        }
        Some("refresh_token") => {
            tokens::refresh(
                &state,
                &client,
                field(&form, "refresh_token"),
                field(&form, "scope"),
            )
            .await
        }
        None => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "grant_type is missing",
        )),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "only authorization_code and refresh_token are supported",
        )),
    };
    match answer {
        Ok(answer) => ([(header::PRAGMA, "no-cache")], Json(answer)).into_response(),
        Err(error) => token_error(&error, basic),
    }
}

async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    // RFC 6750 §2.2: a POST may carry the token in its form instead.
    let from_form = (method == Method::POST && from_header.is_none())
        .then(|| form_of(&headers, &body).ok())
        .flatten()
        .and_then(|form| field(&form, "access_token").map(str::to_owned));
    match tokens::userinfo(&state, from_header.or(from_form).as_deref()).await {
        Ok(claims) => ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(claims)).into_response(),
        Err(error) if error.code == ErrorCode::InvalidToken => {
            let challenge = format!(
                r#"Bearer error="invalid_token", error_description="{}""#,
                error.description.replace('"', "'")
            );
            let mut response = oauth_json(StatusCode::UNAUTHORIZED, &error);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
        Err(error) => token_error(&error, false),
    }
}

async fn revoke(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, client, basic) = match authenticated(&state, &meta, &headers, &body).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    match tokens::revoke(&state, &client, field(&form, "token")).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => token_error(&error, basic),
    }
}

// ---- RP-initiated logout --------------------------------------------------------------------

async fn end_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = parameters(&method, query.as_deref(), &body);
    let one = |name: &str| field(&params, name);
    let request = match logout::check_logout(
        &state,
        one("id_token_hint"),
        one("client_id"),
        one("post_logout_redirect_uri"),
        one("state"),
    )
    .await
    {
        Ok(request) => request,
        Err(e) => return unavailable(e),
    };
    let session = match cookie_value(&headers, COOKIE_NAME) {
        Some(token) => sessions::resolve(&state, &token)
            .await
            .ok()
            .map(|s| (token, s)),
        None => None,
    };
    let mut ended = false;
    if let Some((token, signed_in)) = &session {
        if !request.names_session(&signed_in.session_id) {
            // Nothing proves this request comes from the app the session signed in to: the
            // person is asked on Latchkey's own page, where only they can confirm.
            return see_other(&format!("{SIGNED_OUT_PAGE}?confirm=1"));
        }
        if let Err(e) = sessions::end(&state, token, &meta).await {
            return unavailable(e);
        }
        ended = true;
    }
    let mut response = match request.destination() {
        AfterLogout::App(uri) => see_other(&uri),
        AfterLogout::SignedOutPage | AfterLogout::Confirm => see_other(SIGNED_OUT_PAGE),
    };
    if ended {
        if let Ok(value) = HeaderValue::from_str(&cookies::end(&state.settings)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
