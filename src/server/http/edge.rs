//! What every routed request passes through, in one middleware: its request id and client
//! address, the cross-site check, the way back for forms sent without JavaScript, the time
//! limit, a caught panic, the default security headers, and the log line.
//!
//! One function rather than a stack of layers because each layer is paid on every request:
//! `from_fn` boxes the rest of the stack and its future per call, and a stack of nine made
//! the middleware cost more than the work of a signed-in read (BENCHMARKS.md, "routed floor").
//! The order inside is the order the layers had, outermost first.

use crate::server::http::auth;
use crate::server::http::is_bare_refusal;
use crate::server::http::no_script_forms::{self, NoScriptForms};
use crate::server::http::request_id::{self, ClientAddr, RequestId};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What the middleware needs to know, fixed at start.
pub struct Edge {
    /// `--trust-forwarded-for`: the client address is the proxy's last `X-Forwarded-For` entry.
    pub trust_forwarded_for: bool,
    /// The whole request, body included: a client trickling a body cannot hold a connection
    /// for longer (the header-read timeout is the listener's).
    pub request_timeout: Duration,
    pub forms: NoScriptForms,
    /// Words a refusal of the plumbing's own in the surface's envelope (`rest::refusal::answer`,
    /// handed in at start-up: the edge knows no surface).
    pub refusal: Refusal,
}

/// A refusal's answer, for its status, the request's path and headers, and its id.
pub type Refusal = fn(StatusCode, &str, &HeaderMap, Option<RequestId>) -> Response;

/// Set on every response that did not set its own.
static DEFAULT_HEADERS: [(HeaderName, HeaderValue); 4] = [
    // `same-origin`, not `no-referrer`: forms without JavaScript are sent back to the page they
    // came from by their Referer. Pages with a token in their address say `no-referrer`.
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
    // Pages set their own policy with their script nonce (`page_headers`); everything else
    // (JSON, static files) may load nothing and be framed by nobody.
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
];

/// The middleware. The id assigned ignores any id the client sent, which could be forged to
/// confuse the logs. Only the route pattern is logged, never the raw path or query: some of
/// them carry tokens.
pub async fn around_every_request(
    State(edge): State<Arc<Edge>>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = RequestId::new();
    request.extensions_mut().insert(id);
    if let Some(addr) = request_id::client_addr(&request, edge.trust_forwarded_for) {
        request.extensions_mut().insert(ClientAddr(addr));
    }
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("(unrouted)", MatchedPath::as_str);
    let span = tracing::info_span!("request", id = %id, method = %request.method(), route = %route);
    let started = Instant::now();
    let mut response = answer(&edge, request, next).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        )
    });
    let headers = response.headers_mut();
    for (name, value) in &DEFAULT_HEADERS {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        headers.insert(request_id::HEADER, value);
    }
    response
}

/// The request's answer within its time limit, or the status that says why there is none.
/// A refusal of the plumbing's own (408, a caught panic's 500, a 413 from a body limit) goes
/// out in the surface's envelope and the request's language, like every other answer.
async fn answer(edge: &Edge, request: Request, next: Next) -> Response {
    let id = request.extensions().get::<RequestId>().copied();
    if auth::is_cross_site_refused(&request) {
        let path = request.uri().path();
        return (edge.refusal)(StatusCode::FORBIDDEN, path, request.headers(), id);
    }
    let asked = Asked::of(&request, id);
    let handled = AssertUnwindSafe(no_script_forms::no_script_forms(&edge.forms, request, next))
        .catch_unwind();
    let response = match tokio::time::timeout(edge.request_timeout, handled).await {
        Ok(Ok(response)) => response,
        // A bug in one request must not take the connection's other requests, or the server,
        // with it.
        Ok(Err(_)) => {
            tracing::error!("a request handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    let plumbing = matches!(
        response.status(),
        StatusCode::REQUEST_TIMEOUT
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::INTERNAL_SERVER_ERROR
    );
    if plumbing && is_bare_refusal(&response) {
        return asked.refused(edge, response.status());
    }
    response
}

/// What a refusal needs to know of the request after the request itself has gone on: where it
/// went (the surface) and what says its language. Kept as clones of the header values (each a
/// reference count, no copy) rather than a map of its own: this runs for every request, and a
/// refusal is rare, so the map is only built for one.
struct Asked {
    uri: axum::http::Uri,
    /// The first `Cookie` field (HTTP/1.1 sends one), `Accept-Language`, `x-authing-lang`.
    language: [Option<HeaderValue>; 3],
    id: Option<RequestId>,
}

const LANGUAGE_HEADERS: [HeaderName; 3] = [
    header::COOKIE,
    header::ACCEPT_LANGUAGE,
    request_id::AUTHING_LANGUAGE,
];

impl Asked {
    fn of(request: &Request, id: Option<RequestId>) -> Self {
        let headers = request.headers();
        Asked {
            uri: request.uri().clone(),
            language: LANGUAGE_HEADERS.map(|name| headers.get(name).cloned()),
            id,
        }
    }

    fn refused(&self, edge: &Edge, status: StatusCode) -> Response {
        let mut headers = HeaderMap::new();
        for (name, value) in LANGUAGE_HEADERS.iter().zip(&self.language) {
            if let Some(value) = value {
                headers.insert(name.clone(), value.clone());
            }
        }
        (edge.refusal)(status, self.uri.path(), &headers, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    /// A router whose routes pass the edge as the application's do.
    fn behind_the_edge(routes: Router, request_timeout: Duration) -> Router {
        let edge = Edge {
            trust_forwarded_for: false,
            request_timeout,
            forms: NoScriptForms {
                public_url: Arc::from("http://localhost:3000"),
                key: Arc::from(&[7u8; 32][..]),
                secure_cookies: false,
            },
            refusal: crate::server::rest::refusal::answer,
        };
        routes.layer(axum::middleware::from_fn_with_state(
            Arc::new(edge),
            around_every_request,
        ))
    }

    async fn answer_to(router: Router, path: &str) -> Response {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        router.oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn a_panic_is_a_500_with_the_usual_headers() {
        let routes = Router::new().route("/boom", get(|| async { panic!("boom") as &str }));
        let response = answer_to(behind_the_edge(routes, Duration::from_secs(5)), "/boom").await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers();
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[request_id::HEADER].len(), 16);
    }

    #[tokio::test]
    async fn a_request_past_its_time_is_a_408() {
        let routes = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
        let response = answer_to(behind_the_edge(routes, Duration::from_millis(50)), "/slow").await;
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(response.headers().contains_key(request_id::HEADER));
    }

    #[tokio::test]
    async fn a_response_keeps_the_headers_it_set_and_gets_the_others() {
        let routes = Router::new().route(
            "/own",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, "default-src 'self'")],
                    "mine",
                )
            }),
        );
        let response = answer_to(behind_the_edge(routes, Duration::from_secs(5)), "/own").await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'"
        );
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        let first = headers[request_id::HEADER].clone();
        let routes = Router::new().route("/own", get(|| async { "again" }));
        let again = answer_to(behind_the_edge(routes, Duration::from_secs(5)), "/own").await;
        assert_ne!(
            again.headers()[request_id::HEADER],
            first,
            "an id per request"
        );
    }
}
