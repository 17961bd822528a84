//! The answers the plumbing gives before a handler is reached, or instead of one: a
//! cross-site refusal (403), a request past its time (408), a body over 64 KiB (413), no such
//! route (404), a wrong method (405), a caught panic (500). Each goes out in the envelope of
//! the surface the request was for (the same typed envelopes the handlers answer with), so a
//! REST client always reads JSON it knows, and in the request's language where that surface
//! speaks one (the pages and Authing's `x-authing-lang`; Temporal and Tangerine answer in
//! English, as their documents do). The edge middleware, which knows no surface, is handed
//! [`answer`] at start-up (`http::edge::Edge::refusal`).

use super::authing::{AuthingAnswer, NoData};
use super::temporal::envelope::TemporalMessage;
use crate::i18n::Language;
use crate::server::http::request_id::RequestId;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::borrow::Cow;

/// Which of Latchkey's faces a request was for, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Authing v3 (`/api/…`): `{statusCode, message, apiCode, requestId, data}`.
    Authing,
    /// Temporal v2 (`/v2/…`) and Tangerine365 (`/auth/lostPassword`): `{code, response}`.
    Temporal,
    /// The OpenID Connect endpoints apps call (token, revocation, userinfo, keys, discovery):
    /// RFC 6749's `{error, error_description}`, in English.
    OAuth,
    /// The admin API (`/admin/api/…`): RFC 9457 problem details.
    AdminApi,
    /// The pages and their server functions: a sentence of plain text.
    Page,
}

impl Surface {
    pub fn of(path: &str) -> Self {
        if path.starts_with("/api/") {
            Surface::Authing
        } else if path.starts_with("/admin/api/") {
            Surface::AdminApi
        } else if path.starts_with("/v2/") || path.ends_with("/auth/lostPassword") {
            Surface::Temporal
        } else if matches!(
            path,
            "/oauth/token" | "/oauth/revoke" | "/oauth/userinfo" | "/oauth/jwks"
        ) || path.starts_with("/.well-known/")
        {
            Surface::OAuth
        } else {
            Surface::Page
        }
    }
}

/// What a refusal says, for a surface in a language.
pub fn message(status: StatusCode, surface: Surface, language: Language) -> Cow<'static, str> {
    let language = match surface {
        Surface::Temporal | Surface::OAuth | Surface::AdminApi => Language::English,
        Surface::Authing | Surface::Page => language,
    };
    let words = language.text();
    let said = match (surface, status) {
        (Surface::Page, StatusCode::FORBIDDEN) => words.refused_cross_site,
        (Surface::Page, StatusCode::REQUEST_TIMEOUT) => words.refused_too_slow,
        (Surface::Page, StatusCode::PAYLOAD_TOO_LARGE) => words.refused_too_large,
        (Surface::Page, _) => words.our_fault,
        (_, StatusCode::FORBIDDEN) => words.api_cross_site,
        (_, StatusCode::REQUEST_TIMEOUT) => words.api_too_slow,
        (_, StatusCode::PAYLOAD_TOO_LARGE) => words.api_too_large,
        (_, StatusCode::NOT_FOUND) => words.api_no_such_endpoint,
        (_, StatusCode::METHOD_NOT_ALLOWED) => words.api_method_not_allowed,
        // Whatever else the framework refuses on its own, by its standard name.
        (_, other) if other.is_client_error() => {
            let reason = other.canonical_reason().unwrap_or("error");
            return Cow::Owned(reason.to_lowercase());
        }
        _ => words.api_internal,
    };
    Cow::Borrowed(said)
}

/// The refusal `status` for a request to `path` with `headers`, in its surface's envelope.
pub fn answer(
    status: StatusCode,
    path: &str,
    headers: &HeaderMap,
    request_id: Option<RequestId>,
) -> Response {
    let surface = Surface::of(path);
    let language = crate::server::http::request_id::language_of(headers);
    let message = message(status, surface, language);
    let mut response = match surface {
        Surface::Authing => Json(AuthingAnswer {
            status_code: status.as_u16(),
            message: message.into_owned(),
            api_code: 1000 + u32::from(status.as_u16()),
            request_id: request_id.map(|id| id.to_string()),
            data: NoData::default(),
        })
        .into_response(),
        Surface::Temporal => Json(TemporalMessage {
            code: status.as_u16(),
            response: message.into_owned(),
        })
        .into_response(),
        Surface::OAuth => Json(serde_json::json!({
            "error": if status.is_server_error() { "server_error" } else { "invalid_request" },
            "error_description": message,
        }))
        .into_response(),
        Surface::AdminApi => {
            super::admin::problem_response(status, message.into_owned(), Vec::new(), None)
        }
        Surface::Page => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message.into_owned(),
        )
            .into_response(),
    };
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn body_of(response: Response) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        })
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn each_surface_gets_its_envelope() {
        assert_eq!(Surface::of("/api/v3/send-email"), Surface::Authing);
        assert_eq!(Surface::of("/v2/auth/login"), Surface::Temporal);
        assert_eq!(Surface::of("//auth/lostPassword"), Surface::Temporal);
        assert_eq!(Surface::of("/rpc/login"), Surface::Page);
        assert_eq!(Surface::of("/login"), Surface::Page);
        assert_eq!(Surface::of("/oauth/token"), Surface::OAuth);
        assert_eq!(Surface::of("/oauth/authorize"), Surface::Page);

        let oauth = answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "/oauth/token",
            &HeaderMap::new(),
            None,
        );
        assert_eq!(oauth.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let json: serde_json::Value = serde_json::from_str(&body_of(oauth)).unwrap();
        assert_eq!(json["error"], "invalid_request");
        assert_eq!(
            json["error_description"],
            "request body is larger than 64 KiB"
        );

        let none = HeaderMap::new();
        let temporal = answer(StatusCode::REQUEST_TIMEOUT, "/v2/auth/login", &none, None);
        assert_eq!(temporal.headers()[header::CONTENT_TYPE], "application/json");
        let json: serde_json::Value = serde_json::from_str(&body_of(temporal)).unwrap();
        assert_eq!(json["code"], 408);
        assert_eq!(json["response"], "the request took too long to arrive");

        let id = RequestId::new();
        let authing = answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "/api/v3/send-sms",
            &none,
            Some(id),
        );
        let json: serde_json::Value = serde_json::from_str(&body_of(authing)).unwrap();
        assert_eq!(json["statusCode"], 413);
        assert_eq!(json["apiCode"], 1413);
        assert_eq!(json["requestId"], id.to_string());
    }

    #[test]
    fn pages_and_authing_answer_in_the_requests_language_temporal_in_english() {
        let chinese = headers(&[("accept-language", "zh-CN,zh;q=0.9")]);
        let page = body_of(answer(StatusCode::FORBIDDEN, "/rpc/login", &chinese, None));
        assert_eq!(page, Language::SimplifiedChinese.text().refused_cross_site);
        let authing_zh = headers(&[("x-authing-lang", "zh-CN")]);
        let authing = body_of(answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/api/v3/system",
            &authing_zh,
            None,
        ));
        assert!(
            authing.contains(Language::SimplifiedChinese.text().api_internal),
            "{authing}"
        );
        let temporal = body_of(answer(
            StatusCode::FORBIDDEN,
            "/v2/account/upgrade",
            &chinese,
            None,
        ));
        assert!(
            temporal.contains(Language::English.text().api_cross_site),
            "{temporal}"
        );
    }
}
