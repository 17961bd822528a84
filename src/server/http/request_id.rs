//! A request id for every request: in the `x-request-id` response header, in every log line
//! of that request, and in the audit log, so one id ties a user's report to the server's story.

use crate::server::delivery::messages::Language;
use crate::server::http::cookies;
use crate::server::store::audit::RequestMeta;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use rand::RngCore;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

pub const HEADER: &str = "x-request-id";

/// 16 hex digits (64 random bits), kept inline: copied into every log line and error
/// envelope without an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId([u8; 16]);

impl RequestId {
    pub fn new() -> Self {
        let mut bytes = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut bytes);
        let mut hex_digits = [0u8; 16];
        hex::encode_to_slice(bytes, &mut hex_digits).expect("16 digits for 8 bytes");
        Self(hex_digits)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits")
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client's address as Latchkey counts it: the peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself appended; earlier ones are the client's word).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

pub fn client_addr(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
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

/// The request id and client address, for the audit log; never fails.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Meta(meta_from_parts(parts)))
    }
}

/// The language a request asks for: the one chosen with the switch (its cookie), else
/// Authing's `x-authing-lang` (its SDKs send one with every call), else the first of
/// `Accept-Language` Latchkey speaks, else English.
pub fn language_of(headers: &axum::http::HeaderMap) -> Language {
    cookies::cookie_value(headers, cookies::LANGUAGE_COOKIE_NAME)
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

/// The header Authing's SDKs name their language in.
pub const AUTHING_LANGUAGE: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-authing-lang");

/// The language of Authing's `x-authing-lang` header, when there is one: one Latchkey speaks,
/// else English (as Authing answers a language it lacks).
pub fn authing_language_of(headers: &axum::http::HeaderMap) -> Option<Language> {
    let tag = headers.get(AUTHING_LANGUAGE)?.to_str().ok()?;
    Some(Language::recognise(tag).unwrap_or_default())
}

pub fn meta_from_parts(parts: &Parts) -> RequestMeta {
    let client_ip = parts.extensions.get::<ClientAddr>().map(|addr| addr.0);
    RequestMeta {
        client_addr: client_ip.map(|ip| ip.to_string()),
        client_ip,
        request_id: parts.extensions.get::<RequestId>().map(|id| id.to_string()),
        language: language_of(&parts.headers),
        authing_language: authing_language_of(&parts.headers),
        user_agent: parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
    }
}
