//! The web pages and their server functions over plain HTTP: what a browser without
//! JavaScript does, and the cookie rules of SPEC §7.

use crate::common::{spawn_app, TestApp, PASSWORD};
use reqwest::header::{HeaderMap, ACCEPT, COOKIE, LOCATION, ORIGIN, REFERER, SET_COOKIE};
use reqwest::Response;

/// Submits a form the way a browser without JavaScript does.
async fn post_form(
    app: &TestApp,
    path: &str,
    from_page: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Response {
    let mut request = app
        .http
        .post(app.at(path))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .header(ORIGIN, app.url.as_str())
        .header(REFERER, app.at(from_page))
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `name=value` part of the session cookie the response sets.
fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers.get(SET_COOKIE).expect("a cookie").to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.http.get(app.at(path)).header(ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_pages_render_their_forms_on_the_server() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/register", None).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"action="/rpc/register""#), "{html}");
    for field in ["username", "email", "password"] {
        assert!(html.contains(&format!(r#"name="{field}""#)), "{field}");
    }
    let (status, html) = page(&app, "/login", None).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"action="/rpc/login""#));
    assert!(html.contains(r#"name="identifier""#));
    let (status, _) = page(&app, "/", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_pages_are_404_html() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/no/such/page", None).await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn the_account_page_sends_signed_out_visitors_to_login() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.at("/account"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(location(response.headers()), "/login");
    let response = app
        .http
        .get(app.at("/account"))
        .header(ACCEPT, "text/html")
        .header(COOKIE, "latchkey_session=forged.token.value")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
}

#[tokio::test]
async fn registering_without_javascript_signs_in_and_lands_on_the_account_page() {
    let app = spawn_app().await;
    let response = post_form(
        &app,
        "/rpc/register",
        "/register",
        None,
        &[
            ("username", "webby"),
            ("email", "webby@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(response.headers()), "/account");
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=86400"] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http must not get Secure cookies"
    );

    let cookie = session_cookie(response.headers());
    let (status, html) = page(&app, "/account", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(html.contains("webby@example.com"), "{html}");
    assert!(html.contains(">webby<"));
    assert!(html.contains("not verified"));
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn a_refused_registration_without_javascript_shows_the_field_error_on_the_form() {
    let app = spawn_app().await;
    app.register("taken", "taken@example.com", PASSWORD).await;
    let response = post_form(
        &app,
        "/rpc/register",
        "/register",
        None,
        &[
            ("username", "TAKEN"),
            ("email", "new@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    let back = location(response.headers());
    assert!(back.starts_with(&app.at("/register?")), "{back}");
    assert!(response.headers().get(SET_COOKIE).is_none());

    let path = back.strip_prefix(&app.url).unwrap();
    let (status, html) = page(&app, path, None).await;
    assert_eq!(status, 200);
    assert!(html.contains("That username is taken"), "{html}");
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn the_server_applies_the_common_password_list_the_browser_does_not_carry() {
    let app = spawn_app().await;
    let response = post_form(
        &app,
        "/rpc/register",
        "/register",
        None,
        &[
            ("username", "commoner"),
            ("email", "c@example.com"),
            ("password", "iloveyou1"),
        ],
    )
    .await;
    let back = location(response.headers());
    let (_, html) = page(&app, back.strip_prefix(&app.url).unwrap(), None).await;
    assert!(html.contains("most common"), "{html}");
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn login_without_javascript_by_username_or_email() {
    let app = spawn_app().await;
    app.register("logan", "logan@example.com", PASSWORD).await;
    for identifier in ["logan", "LOGAN@example.com"] {
        let response = post_form(
            &app,
            "/rpc/login",
            "/login",
            None,
            &[("identifier", identifier), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(response.status(), 302, "{identifier}");
        assert_eq!(location(response.headers()), "/account");
        let cookie = session_cookie(response.headers());
        let (status, html) = page(&app, "/account", Some(&cookie)).await;
        assert_eq!(status, 200);
        assert!(html.contains("logan@example.com"));
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_read_the_same_on_the_login_page() {
    let app = spawn_app().await;
    app.register("known", "known@example.com", PASSWORD).await;
    let mut pages = Vec::new();
    for identifier in ["known", "unknown-person"] {
        let response = post_form(
            &app,
            "/rpc/login",
            "/login",
            None,
            &[("identifier", identifier), ("password", "wrong password")],
        )
        .await;
        assert_eq!(response.status(), 302);
        assert!(response.headers().get(SET_COOKIE).is_none());
        let back = location(response.headers());
        let (_, html) = page(&app, back.strip_prefix(&app.url).unwrap(), None).await;
        assert!(html.contains("Incorrect username, e-mail address or password."));
        pages.push(back);
    }
    assert_eq!(pages[0], pages[1], "the error redirect must not differ");
}

#[tokio::test]
async fn hydrated_calls_get_the_cookie_and_a_client_side_redirect() {
    let app = spawn_app().await;
    app.register("hydra", "hydra@example.com", PASSWORD).await;
    let response = app
        .http
        .post(app.at("/rpc/login"))
        .header(ACCEPT, "application/json")
        .header(ORIGIN, app.url.as_str())
        .form(&[("identifier", "hydra"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(location(response.headers()), "/account");
    assert!(session_cookie(response.headers()).starts_with("latchkey_session="));

    let response = app
        .http
        .post(app.at("/rpc/login"))
        .header(ACCEPT, "application/json")
        .form(&[("identifier", "hydra"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "a refused form answers 4xx, not 500"
    );
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        error["message"],
        "Incorrect username, e-mail address or password."
    );
}

#[tokio::test]
async fn logout_clears_the_cookie_and_returns_to_login() {
    let app = spawn_app().await;
    app.register("leaver", "leaver@example.com", PASSWORD).await;
    let response = post_form(
        &app,
        "/rpc/login",
        "/login",
        None,
        &[("identifier", "leaver"), ("password", PASSWORD)],
    )
    .await;
    let cookie = session_cookie(response.headers());
    let response = post_form(&app, "/rpc/logout", "/account", Some(&cookie), &[]).await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(response.headers()), "/login");
    let cleared = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cleared.starts_with("latchkey_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"));
}

#[tokio::test]
async fn cookie_authenticated_posts_from_other_sites_are_refused() {
    let app = spawn_app().await;
    app.register("victim", "victim@example.com", PASSWORD).await;
    let response = post_form(
        &app,
        "/rpc/login",
        "/login",
        None,
        &[("identifier", "victim"), ("password", PASSWORD)],
    )
    .await;
    let cookie = session_cookie(response.headers());
    let response = app
        .http
        .post(app.at("/rpc/logout"))
        .header(ORIGIN, "http://evil.example")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // Fetch metadata decides when present: a cross-site form is refused even if it claims a
    // matching Origin, and a same-origin one from a `no-referrer` page (Origin: null) passes.
    for (site, origin, refused) in [
        ("cross-site", app.url.as_str(), true),
        ("same-site", app.url.as_str(), true),
        ("same-origin", "null", false),
    ] {
        let response = app
            .http
            .post(app.at("/rpc/verify_email"))
            .header("sec-fetch-site", site)
            .header(ORIGIN, origin)
            .header(COOKIE, &cookie)
            .form(&[("username", "victim"), ("token", "not-a-token")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status() == 403, refused, "{site}");
    }
    // Without fetch metadata, `Origin: null` is not this site.
    let response = app
        .http
        .post(app.at("/rpc/logout"))
        .header(ORIGIN, "null")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // A bearer-token client is not subject to the check.
    let token: serde_json::Value = app.login("victim", PASSWORD).await.json().await.unwrap();
    let response = app
        .http
        .get(app.at("/v2/auth/refresh"))
        .header(ORIGIN, "http://evil.example")
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let app = spawn_app().await;
    let response = app.http.get(app.at("/login")).send().await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(headers["referrer-policy"], "same-origin");
}

#[tokio::test]
async fn malformed_server_function_calls_are_400_and_change_nothing() {
    let app = spawn_app().await;
    for (path, content_type, body) in [
        (
            "/rpc/register",
            "application/x-www-form-urlencoded",
            "username=only",
        ),
        ("/rpc/login", "application/x-www-form-urlencoded", ""),
        (
            "/rpc/finish_reset",
            "application/x-www-form-urlencoded",
            "token=x",
        ),
        ("/rpc/verify_email", "application/json", "{broken"),
    ] {
        let response = app
            .http
            .post(app.at(path))
            .header(ACCEPT, "application/json")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path} {body:?}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(
            error["message"].as_str().unwrap().contains("incomplete"),
            "{error}"
        );
    }
    assert_eq!(app.user_count().await, 0);
}

/// Islands: a page ships the WASM exactly when its markup has an island to hydrate. A page
/// that gained an island without being listed in `app::page_has_islands` would render a form
/// that never becomes interactive; a listed page without one would download WASM for nothing.
#[tokio::test]
async fn a_page_loads_the_wasm_exactly_when_it_has_an_island() {
    let app = spawn_app().await;
    let token = app.signed_up("islands").await;
    let cookie = format!("latchkey_session={token}");
    let pages = [
        ("/", false),
        ("/login", true),
        ("/register", true),
        ("/account", false),
        ("/password", true),
        ("/upgrade", false),
        ("/forgot/username", false),
        ("/forgot/password", false),
        ("/forgot/password?via=email&to=a%40example.com", false),
        ("/forgot/password?token=anything", true),
        ("/reset-password?token=anything", false),
        ("/verify-email/someone/sometoken", false),
        ("/email-verified", false),
        ("/no/such/page", false),
    ];
    for (path, interactive) in pages {
        let (status, html) = page(&app, path, Some(&cookie)).await;
        assert!(status == 200 || status == 404, "{path}: {status}");
        let has_island = html.contains("<leptos-island");
        let loads_wasm = html.contains("/pkg/latchkey.js") || html.contains(".wasm");
        assert_eq!(
            has_island, interactive,
            "{path} has an island: {has_island}"
        );
        assert_eq!(
            loads_wasm, interactive,
            "{path} loads the WASM: {loads_wasm}"
        );
    }
}
