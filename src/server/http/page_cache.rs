//! Signed-out pages from memory.
//!
//! The sign-in, sign-up, home and "forgot" pages, asked for without a query and without a
//! cookie that changes them, are the same markup for every visitor in one language: only the
//! script nonce differs. Rendering one costs the server ~185 µs of CPU (Leptos builds the whole
//! view tree), so a flood of anonymous page loads costs far more than the sign-ins they
//! precede. The first request for a page in a language renders it as usual; later ones get
//! that markup with a fresh nonce stamped where the first one stood, and the policy header
//! that names it.
//!
//! Nothing here can go stale while the process runs: these pages are made of the compiled-in
//! text and the configuration read at start, never of the database. An HTTP test renders each
//! one past the cache and compares.

use crate::i18n::Language;
use crate::server::http::page_headers::content_security_policy;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Larger than any page; a body past it is passed on, never kept.
const MAX_PAGE_BYTES: usize = 1 << 20;

/// Variants kept of one page in one language (they differ by the calling code the reset's
/// phone form suggests). A client cycling through every region of `Accept-Language` could
/// otherwise make a few hundred, ~15 KiB each, and crowd every other page out of the cache:
/// past this, that page renders for the regions not kept, and the others are untouched.
const MAX_VARIANTS_PER_PAGE: usize = 6;

/// Pages kept at most: a backstop above what the variants allow (five pages, two languages,
/// [`MAX_VARIANTS_PER_PAGE`] of the one page that varies).
const MAX_PAGES: usize = 64;

/// The pages kept, once rendered, by what their markup depends on.
#[derive(Default)]
pub struct PageCache {
    pages: RwLock<HashMap<PageKey, Arc<RenderedPage>>>,
}

/// Everything of a request a kept page's markup depends on: the page, the language, and for
/// the page with a phone form the calling code it suggests (from `Accept-Language`'s region).
/// A few hundred keys could exist (the pages times the languages times the calling codes); at
/// most [`MAX_PAGES`] are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    path: &'static str,
    language: Language,
    calling_code: Option<String>,
}

impl PageCache {
    fn kept(&self, key: &PageKey) -> Option<Arc<RenderedPage>> {
        // A panic elsewhere while holding the lock leaves whole entries: keep using them.
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        pages.get(key).cloned()
    }

    fn keep(&self, key: PageKey, page: RenderedPage) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        let variants = pages
            .keys()
            .filter(|kept| kept.path == key.path && kept.language == key.language)
            .count();
        if variants < MAX_VARIANTS_PER_PAGE && pages.len() < MAX_PAGES {
            pages.insert(key, Arc::new(page));
        }
    }
}

/// One render, ready to be sent again.
struct RenderedPage {
    /// The response's headers, but for the policy that names the nonce.
    headers: HeaderMap,
    /// The body, cut where the render's nonce stood.
    pieces: Vec<Bytes>,
}

/// The path as kept, and whether the page suggests a calling code, for the pages whose markup
/// depends on nothing but the language, that code and the configuration. Pages with a query
/// (`?next=`, `?notice=`, a reset step's token) render each time: their markup says more. A
/// page listed here must read nothing else of the request while it renders.
fn shared_page(path: &str) -> Option<(&'static str, bool)> {
    Some(match path {
        "/" => ("/", false),
        "/login" => ("/login", false),
        "/register" => ("/register", false),
        "/forgot/username" => ("/forgot/username", false),
        // The reset's first step offers a phone form, with the caller's calling code.
        "/forgot/password" => ("/forgot/password", true),
        _ => return None,
    })
}

/// Latchkey's cookies that the kept pages never read: the language (part of the key) and the
/// remembered device (read by the sign-in itself, not by the page). Any other of its cookies
/// (a session, a refused form coming back, a second step or reset under way) changes what a
/// page shows, so the page is rendered for it. Other sites' cookies on the same host are not
/// Latchkey's concern and change nothing.
fn changes_the_page(cookie_name: &str) -> bool {
    cookie_name.starts_with("latchkey_")
        && cookie_name != crate::server::http::cookies::LANGUAGE_COOKIE_NAME
        && cookie_name != crate::server::http::cookies::DEVICE_COOKIE_NAME
}

/// The key a request's page is kept under, when it is one of the kept pages as any signed-out
/// visitor in its language sees it.
fn key_of(request: &Request) -> Option<PageKey> {
    if request.method() != Method::GET || request.uri().query().is_some() {
        return None;
    }
    let (path, suggests_calling_code) = shared_page(request.uri().path())?;
    let headers = request.headers();
    let personal = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .any(|cookie| changes_the_page(cookie.name()));
    if personal {
        return None;
    }
    let calling_code = suggests_calling_code
        .then(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::domain::phone::calling_code_for_languages)
        })
        .flatten();
    Some(PageKey {
        path,
        language: crate::server::http::request_id::language_of(headers),
        calling_code,
    })
}

/// The nonce a page's policy names.
fn nonce_of(headers: &HeaderMap) -> Option<&str> {
    let policy = headers
        .get(header::CONTENT_SECURITY_POLICY)?
        .to_str()
        .ok()?;
    let nonce = policy.split("'nonce-").nth(1)?.split('\'').next()?;
    (!nonce.is_empty()).then_some(nonce)
}

impl RenderedPage {
    /// Keeps a page rendered with `nonce`, or `None` when the nonce does not appear in it the
    /// way Leptos writes it (then the page is not one this cache understands).
    fn keep(headers: &HeaderMap, body: &Bytes, nonce: &str) -> Option<Self> {
        let mut pieces = Vec::new();
        let mut rest = 0;
        for (at, _) in body_str(body)?.match_indices(nonce) {
            pieces.push(body.slice(rest..at));
            rest = at + nonce.len();
        }
        if pieces.is_empty() {
            return None;
        }
        pieces.push(body.slice(rest..));
        let mut headers = headers.clone();
        headers.remove(header::CONTENT_SECURITY_POLICY);
        headers.remove(header::CONTENT_LENGTH);
        Some(Self { headers, pieces })
    }

    /// The page again, with `nonce` where the kept render had its own.
    fn stamped(&self, nonce: &str) -> Response {
        let length = self.pieces.iter().map(Bytes::len).sum::<usize>()
            + nonce.len() * (self.pieces.len() - 1);
        let mut body = Vec::with_capacity(length);
        for (index, piece) in self.pieces.iter().enumerate() {
            if index > 0 {
                body.extend_from_slice(nonce.as_bytes());
            }
            body.extend_from_slice(piece);
        }
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = self.headers.clone();
        if let Ok(policy) = HeaderValue::from_str(&content_security_policy(nonce)) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        response
    }
}

fn body_str(body: &Bytes) -> Option<&str> {
    std::str::from_utf8(body).ok()
}

/// Middleware on the page routes: serves a kept page, or renders it and keeps it.
pub async fn serve(State(cache): State<Arc<PageCache>>, request: Request, next: Next) -> Response {
    let Some(key) = key_of(&request) else {
        return next.run(request).await;
    };
    if let Some(page) = cache.kept(&key) {
        // The generator Leptos uses for its own nonces: 128 random bits.
        return page.stamped(&leptos::nonce::Nonce::new().to_string());
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(header::SET_COOKIE) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!("a page could not be rendered whole: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if let Some(page) =
        nonce_of(&parts.headers).and_then(|nonce| RenderedPage::keep(&parts.headers, &body, nonce))
    {
        cache.keep(key, page);
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, cookie: Option<&str>) -> Request {
        let mut builder = Request::builder().uri(path);
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_plain_signed_out_page_loads_are_kept() {
        let key = |path, language, calling_code: Option<&str>| {
            Some(PageKey {
                path,
                language,
                calling_code: calling_code.map(str::to_owned),
            })
        };
        assert_eq!(
            key_of(&request("/login", None)),
            key("/login", Language::English, None)
        );
        assert_eq!(
            key_of(&request(
                "/login",
                Some("latchkey_lang=zh-CN; latchkey_device=abc; _ga=1")
            )),
            key("/login", Language::SimplifiedChinese, None)
        );
        let british = Request::builder()
            .uri("/forgot/password")
            .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.8")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            key_of(&british),
            key("/forgot/password", Language::English, Some("+44"))
        );
        assert_eq!(key_of(&request("/login?next=/account", None)), None);
        assert_eq!(key_of(&request("/account", None)), None);
        assert_eq!(key_of(&request("/forgot/password?step=2", None)), None);
        for cookie in [
            "latchkey_session=x",
            "a=b; latchkey_form=x",
            "latchkey_mfa=x",
            "latchkey_reset=x",
        ] {
            assert_eq!(key_of(&request("/login", Some(cookie))), None, "{cookie}");
        }
        let post = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .body(Body::empty())
            .unwrap();
        assert_eq!(key_of(&post), None);
    }

    #[test]
    fn a_kept_page_comes_back_with_the_new_nonce_everywhere() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&content_security_policy("OLD")).unwrap(),
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let body =
            Bytes::from_static(b"<script nonce=\"OLD\">a</script><p>x</p><script nonce=\"OLD\">");
        let nonce = nonce_of(&headers).unwrap().to_owned();
        assert_eq!(nonce, "OLD");
        let page = RenderedPage::keep(&headers, &body, &nonce).unwrap();
        let response = page.stamped("NEW");
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            content_security_policy("NEW").as_str()
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let sent = runtime
            .block_on(axum::body::to_bytes(response.into_body(), MAX_PAGE_BYTES))
            .unwrap();
        assert_eq!(
            &sent[..],
            b"<script nonce=\"NEW\">a</script><p>x</p><script nonce=\"NEW\">"
        );
    }

    #[test]
    fn a_client_cycling_regions_fills_only_its_pages_variants() {
        let cache = PageCache::default();
        let page = || RenderedPage {
            headers: HeaderMap::new(),
            pieces: vec![Bytes::from_static(b"<p>"), Bytes::from_static(b"</p>")],
        };
        for code in 0..MAX_PAGES + 10 {
            let key = PageKey {
                path: "/forgot/password",
                language: Language::English,
                calling_code: Some(format!("+{code}")),
            };
            cache.keep(key.clone(), page());
            assert_eq!(
                cache.kept(&key).is_some(),
                code < MAX_VARIANTS_PER_PAGE,
                "{code}"
            );
        }
        // Every other page, and the same page in the other language, is still kept.
        for (path, language) in [
            ("/login", Language::English),
            ("/register", Language::English),
            ("/forgot/password", Language::SimplifiedChinese),
            ("/login", Language::SimplifiedChinese),
        ] {
            let key = PageKey {
                path,
                language,
                calling_code: None,
            };
            cache.keep(key.clone(), page());
            assert!(cache.kept(&key).is_some(), "{path} {language:?}");
        }
        assert_eq!(cache.pages.read().unwrap().len(), MAX_VARIANTS_PER_PAGE + 4);
    }

    /// A page route behind the cache whose handler counts its renders; `answer` makes the
    /// response from the render's number.
    fn counted_page(
        answer: fn(usize) -> Response,
    ) -> (axum::Router, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let renders = Arc::new(AtomicUsize::new(0));
        let counter = renders.clone();
        let router = axum::Router::new()
            .route(
                "/login",
                axum::routing::get(move || {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    async move { answer(n) }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(PageCache::default()),
                serve,
            ));
        (router, renders)
    }

    fn page_with_nonce(n: usize) -> Response {
        let nonce = format!("render{n}nonce");
        let mut response =
            Response::new(Body::from(format!("<script nonce=\"{nonce}\"></script>")));
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&content_security_policy(&nonce)).unwrap(),
        );
        response
    }

    async fn get_login(router: &axum::Router) -> (String, String) {
        use tower::ServiceExt;
        let response = router
            .clone()
            .oneshot(request("/login", None))
            .await
            .unwrap();
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), MAX_PAGE_BYTES)
            .await
            .unwrap();
        (policy, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn the_middleware_renders_a_page_once_and_stamps_it_after() {
        let (router, renders) = counted_page(page_with_nonce);
        let (first_policy, first) = get_login(&router).await;
        let (second_policy, second) = get_login(&router).await;
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(first.contains("render0nonce") && first_policy.contains("render0nonce"));
        let nonce = second_policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        assert_ne!(nonce, "render0nonce");
        assert_eq!(second, format!("<script nonce=\"{nonce}\"></script>"));
    }

    #[tokio::test]
    async fn answers_that_set_a_cookie_or_fail_are_not_kept() {
        fn with_cookie(n: usize) -> Response {
            let mut response = page_with_nonce(n);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
            response
        }
        fn failing(n: usize) -> Response {
            let mut response = page_with_nonce(n);
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        }
        for answer in [with_cookie as fn(usize) -> Response, failing] {
            let (router, renders) = counted_page(answer);
            get_login(&router).await;
            get_login(&router).await;
            assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 2);
        }
    }

    #[test]
    fn a_page_without_its_nonce_is_not_kept() {
        let headers = HeaderMap::new();
        assert_eq!(nonce_of(&headers), None);
        assert!(RenderedPage::keep(&headers, &Bytes::from_static(b"<p>x</p>"), "OLD").is_none());
    }
}
