//! A request id for every request: in the `x-request-id` response header, in every log line
//! of that request, and in the audit log, so one id ties a user's report to the server's story.

use crate::server::delivery::messages::Language;
use crate::server::store::audit::RequestMeta;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address as Latchkey counts it: the peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself appended; earlier ones are the client's word).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

fn client_addr(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|last| last.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

fn new_id() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Middleware: assigns the id (ignoring any id the client sent, which could be forged to
/// confuse the logs), logs one line per request, and echoes the id in the response.
///
/// Only the route pattern is logged, never the raw path or query: some of them carry tokens.
/// Its state is `--trust-forwarded-for`: one flag, not the whole `AppState`, because this runs
/// for every request.
pub async fn assign(
    State(trust_forwarded_for): State<bool>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = new_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    if let Some(addr) = client_addr(&request, trust_forwarded_for) {
        request.extensions_mut().insert(ClientAddr(addr));
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unrouted)".to_owned());
    let span = tracing::info_span!("request", id = %id, method = %request.method(), route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// The request id and client address, for the audit log; never fails.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Meta(meta_from_parts(parts)))
    }
}

/// The cookie that keeps the language a visitor chose with the pages' switch.
pub const LANGUAGE_COOKIE_NAME: &str = "latchkey_lang";

/// The language a request asks for: the one chosen with the switch (its cookie), else
/// Authing's `x-authing-lang` (its SDKs send one with every call), else the first of
/// `Accept-Language` Latchkey speaks, else English.
pub fn language_of(headers: &axum::http::HeaderMap) -> Language {
    crate::server::auth::cookie_value(headers, LANGUAGE_COOKIE_NAME)
        .and_then(|tag| Language::recognise(&tag))
        .or_else(|| authing_language_of(headers))
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Language::from_accept_language)
        })
        .unwrap_or_default()
}

/// The language of Authing's `x-authing-lang` header, when there is one: one Latchkey speaks,
/// else English (as Authing answers a language it lacks).
pub fn authing_language_of(headers: &axum::http::HeaderMap) -> Option<Language> {
    let tag = headers.get("x-authing-lang")?.to_str().ok()?;
    Some(Language::recognise(tag).unwrap_or_default())
}

pub fn meta_from_parts(parts: &Parts) -> RequestMeta {
    let client_ip = parts.extensions.get::<ClientAddr>().map(|addr| addr.0);
    RequestMeta {
        client_addr: client_ip.map(|ip| ip.to_string()),
        client_ip,
        request_id: parts.extensions.get::<RequestId>().map(|id| id.0.clone()),
        language: language_of(&parts.headers),
        authing_language: authing_language_of(&parts.headers),
        user_agent: parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
    }
}
