//! The REST surfaces, one module per API document. Each handler parses its input,
//! calls a service, and maps the result into that surface's envelope.

pub mod admin;
pub mod authing;
pub mod body;
pub mod oidc;
pub mod openapi;
pub mod refusal;
pub mod tangerine;
pub mod temporal;

use crate::server::http::request_id::RequestId;
use crate::server::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

/// Every REST route, plus JSON answers for unknown paths under `/v2` and `/api`.
pub fn router() -> Router<AppState> {
    with_envelope_errors(
        temporal::router()
            .merge(authing::router())
            .merge(tangerine::router())
            .route("/openapi.json", axum::routing::get(openapi::document))
            .route("/v2/{*rest}", any(unknown_route))
            .route("/api/{*rest}", any(unknown_route)),
    )
}

/// Wraps REST routes so that whatever fails outside a handler's own envelope — a panic, an
/// unknown route, a refused body — still answers in the surface's JSON envelope.
pub fn with_envelope_errors(routes: Router<AppState>) -> Router<AppState> {
    // One `layer` call, outermost first: each layer costs every request (`http::edge` says why).
    routes.layer(
        ServiceBuilder::new()
            // REST answers carry tokens and personal data: no cache may keep them.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(axum::middleware::from_fn(json_errors)),
    )
}

async fn unknown_route() -> StatusCode {
    StatusCode::NOT_FOUND
}

/// Answers the framework gives on its own (no such route, wrong method, body too large, a
/// panic caught below) come as bare text; an API client expects its envelope.
async fn json_errors(request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().copied();
    // A clone of the URI shares its bytes: no copy per request.
    let uri = request.uri().clone();
    // Only Authing answers in the client's language (`x-authing-lang`); Temporal in English.
    let mut language = HeaderMap::new();
    if let Some(value) = request
        .headers()
        .get(crate::server::http::request_id::AUTHING_LANGUAGE)
    {
        language.insert(
            crate::server::http::request_id::AUTHING_LANGUAGE,
            value.clone(),
        );
    }
    // Caught here as well as at the edge, so the 500 a panic makes gets the envelope too.
    let response = match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a request handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    };
    if !crate::server::http::is_bare_refusal(&response) {
        return response;
    }
    let mut fresh = refusal::answer(response.status(), uri.path(), &language, request_id);
    if let Some(allow) = response.headers().get(header::ALLOW) {
        fresh.headers_mut().insert(header::ALLOW, allow.clone());
    }
    fresh.into_response()
}
