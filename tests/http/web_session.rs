//! The web pages and their server functions over plain HTTP: what a browser without
//! JavaScript does, and the cookie rules of SPEC §7.

use crate::common::{spawn_app, TestApp, PASSWORD};
use reqwest::header::{HeaderMap, ACCEPT, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::Response;

/// Submits a form the way a browser without JavaScript does.
async fn post_form(
    app: &TestApp,
    path: &str,
    from_page: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Response {
    app.post_page_form(path, from_page, &[], cookie, form).await
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

/// A refused form's way back without JavaScript: the redirect to its page's clean address, and
/// that page as the browser then shows it (with the cookie the error and the typed fields came
/// back in). Returns the address and the page.
async fn follow_refusal(app: &TestApp, refused: Response) -> (String, String) {
    assert_eq!(refused.status(), 302);
    let back = location(refused.headers());
    assert!(
        back.starts_with('/') && !back.contains("__err") && !back.contains("__path"),
        "a refused form comes back to a clean address: {back}"
    );
    let returned = refused
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("latchkey_form="))
        .expect("the refusal rides in a cookie");
    assert!(!refused
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("latchkey_session=")));
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=120"] {
        assert!(returned.contains(attribute), "{returned} lacks {attribute}");
    }
    let cookie = returned.split(';').next().unwrap();
    let response = app
        .http
        .get(app.at(&back))
        .header(ACCEPT, "text/html")
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cleared = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("latchkey_form=;"));
    assert!(cleared, "the page clears the cookie once shown");
    (back, response.text().await.unwrap())
}

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.http.get(app.at(path)).header(ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    // Addresses carry <wbr> where they may wrap; the text is what a reader sees.
    (status, response.text().await.unwrap().replace("<wbr>", ""))
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
    assert_eq!(location(response.headers()), "/login?next=%2Faccount");
    // A browser whose session is over is told so (and comes back after signing in).
    let response = app
        .http
        .get(app.at("/password"))
        .header(ACCEPT, "text/html")
        .header(COOKIE, "latchkey_session=forged.token.value")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let back = location(response.headers());
    assert_eq!(back, "/login?notice=session-ended&next=%2Fpassword");
    let (_, html) = page(&app, &back, None).await;
    assert!(html.contains("Your session has ended"), "{html}");
    assert!(html.contains(r#"name="next" value="/password""#), "{html}");
}

#[tokio::test]
async fn signing_in_returns_to_the_page_that_asked_for_it_and_never_off_site() {
    let app = spawn_app().await;
    app.register("returner", "returner@example.com", PASSWORD)
        .await;
    for (next, lands) in [
        ("/password", "/password"),
        ("/upgrade", "/upgrade"),
        ("//evil.example/", "/account"),
        ("https://evil.example/", "/account"),
        ("/rpc/logout", "/account"),
        ("/\\evil.example/", "/account"),
    ] {
        let response = post_form(
            &app,
            "/rpc/login",
            "/login",
            None,
            &[
                ("identifier", "returner"),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await;
        assert_eq!(response.status(), 302, "{next}");
        assert_eq!(location(response.headers()), lands, "{next}");
    }
    // The page carries only a local `next` into its form (browsers read `/\` as `//`).
    let (_, html) = page(&app, "/login?next=%2Fpassword", None).await;
    assert!(html.contains(r#"name="next" value="/password""#), "{html}");
    for off_site in ["%2F%5Cevil.example%2F", "%2F%2Fevil.example%2F"] {
        let (_, html) = page(&app, &format!("/login?next={off_site}"), None).await;
        assert!(!html.contains("evil.example"), "{off_site}: {html}");
    }
}

#[tokio::test]
async fn the_header_offers_the_ways_in_or_names_who_is_signed_in() {
    let app = spawn_app().await;
    let (_, html) = page(&app, "/", None).await;
    let header = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
    assert!(header.contains(r#"href="/login""#), "{header}");
    assert!(header.contains(r#"href="/register""#), "{header}");
    assert!(!header.contains("Sign out"), "{header}");

    let token = app.signed_up("headline").await;
    let cookie = format!("latchkey_session={token}");
    for path in ["/", "/login", "/account", "/forgot/username"] {
        let (_, html) = page(&app, path, Some(&cookie)).await;
        let header = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
        assert!(header.contains(">headline<"), "{path}: {header}");
        assert!(header.contains(r#"href="/account""#), "{path}");
        assert!(
            header.contains(r#"action="/rpc/logout""#) && header.contains("Sign out"),
            "{path}: {header}"
        );
    }
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
    let (back, html) = follow_refusal(&app, response).await;
    assert_eq!(back, "/register");
    assert!(html.contains("That username is taken"), "{html}");
    // What was typed comes back, except the password.
    assert!(html.contains(r#"value="TAKEN""#), "{html}");
    assert!(html.contains(r#"value="new@example.com""#), "{html}");
    assert!(!html.contains(PASSWORD), "{html}");
    assert_eq!(app.user_count().await, 1);

    // Shown once: the same page without the cookie is the plain form again.
    let (_, again) = page(&app, "/register", None).await;
    assert!(!again.contains("That username is taken"));
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
    let (_, html) = follow_refusal(&app, response).await;
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
        let (back, html) = follow_refusal(&app, response).await;
        assert!(html.contains("Incorrect username, e-mail address or password."));
        assert!(html.contains(&format!(r#"value="{identifier}""#)), "{html}");
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
        ("/forgot/password?step=code", false),
        ("/forgot/password?token=anything", true),
        ("/reset-password?token=anything", false),
        ("/verify-email/someone/sometoken", false),
        ("/email-verified", false),
        ("/account/email", false),
        ("/account/email/confirm?token=anything", false),
        ("/account/email/restore?token=anything", false),
        ("/account/delete", false),
        ("/account/keep", false),
        ("/admin", false),
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

/// The value (`name=value`) of the cookie `name` a response sets.
fn set_cookie_named(response: &Response, name: &str) -> String {
    crate::common::set_cookie_of(response, name).unwrap_or_else(|| panic!("no {name} cookie"))
}

#[tokio::test]
async fn the_reset_by_passcode_keeps_the_address_out_of_every_url() {
    let app = spawn_app().await;
    app.register("resetter", "resetter@example.com", PASSWORD)
        .await;
    let response = post_form(
        &app,
        "/rpc/request_reset",
        "/forgot/password",
        None,
        &[("via", "email"), ("destination", "resetter@example.com")],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(response.headers()), "/forgot/password?step=code");
    let set = set_cookie_named(&response, "latchkey_reset");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=600"] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    let reset_cookie = set.split(';').next().unwrap().to_owned();

    // The passcode step names the address from the cookie; without it, it says to start again.
    let (_, html) = page(&app, "/forgot/password?step=code", Some(&reset_cookie)).await;
    assert!(html.contains("resetter@example.com"), "{html}");
    assert!(html.contains(r#"name="code""#));
    assert!(
        !html.contains(r#"name="destination""#),
        "no address in the form either"
    );
    let (_, html) = page(&app, "/forgot/password?step=code", None).await;
    assert!(html.contains("run out of time"), "{html}");
    // A forged cookie is no cookie.
    let forged = format!("{reset_cookie}x");
    let (_, html) = page(&app, "/forgot/password?step=code", Some(&forged)).await;
    assert!(html.contains("run out of time"), "{html}");

    // A wrong passcode comes back to the same clean step, still knowing the address.
    let wrong = post_form(
        &app,
        "/rpc/verify_reset_code",
        "/forgot/password?step=code",
        Some(&reset_cookie),
        &[("code", "000000")],
    )
    .await;
    assert_eq!(location(wrong.headers()), "/forgot/password?step=code");

    let code = app
        .mail_to("resetter@example.com", "password reset")
        .await
        .passcode();
    let right = post_form(
        &app,
        "/rpc/verify_reset_code",
        "/forgot/password?step=code",
        Some(&reset_cookie),
        &[("code", &code)],
    )
    .await;
    assert_eq!(right.status(), 302);
    let next = location(right.headers());
    assert!(next.starts_with("/forgot/password?token="), "{next}");
    assert!(!next.contains("resetter"), "{next}");
    let cleared = set_cookie_named(&right, "latchkey_reset");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn a_refused_reset_request_comes_back_on_the_phone_form_with_the_number_typed() {
    let app = spawn_app().await;
    let response = post_form(
        &app,
        "/rpc/request_reset",
        "/forgot/password",
        None,
        &[
            ("via", "phone"),
            ("country_code", "+44"),
            ("destination", "12"),
        ],
    )
    .await;
    let (back, html) = follow_refusal(&app, response).await;
    assert_eq!(back, "/forgot/password");
    assert!(html.contains("not a valid phone number"), "{html}");
    assert!(html.contains(r#"value="+44""#), "{html}");
    assert!(html.contains(r#"value="12""#), "{html}");
    // The text-message choice is the one showing.
    let radio = tag_with_id(&html, "send-by-phone");
    assert!(radio.contains("checked"), "{radio}");
}

/// The opening tag of the element with `id` in `html`.
fn tag_with_id<'h>(html: &'h str, id: &str) -> &'h str {
    let at = html.find(&format!(r#"id="{id}""#)).expect("the element");
    let tag = &html[html[..at].rfind('<').unwrap()..];
    &tag[..tag.find('>').unwrap()]
}

#[tokio::test]
async fn the_phone_forms_suggest_the_calling_code_of_the_browser_language() {
    let app = spawn_app().await;
    // en-US after en-GB: the same language, another region (the page is kept per code).
    for (languages, code) in [
        ("en-GB,en;q=0.9", "+44"),
        ("en-US,en;q=0.9", "+1"),
        ("zh-CN,zh;q=0.9", "+86"),
    ] {
        let html = app
            .http
            .get(app.at("/forgot/password"))
            .header("accept-language", languages)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let tag = tag_with_id(&html, "reset-country-code");
        assert!(
            tag.contains(&format!(r#"value="{code}""#)),
            "{languages}: {tag}"
        );
    }
}
