//! The OpenID Connect provider over HTTP: discovery, the code flow with and without PKCE, the
//! sign-in and consent it may need, tokens checked against the published keys, refresh
//! rotation, userinfo, revocation, logout (RP-initiated and back-channel), and every error path
//! of the contract. On SQLite, or PostgreSQL when the suite runs there; several nodes too.

use crate::common::{json, sent, spawn_app, spawn_node_of, TestApp, PASSWORD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey::server::services::oidc_clients::{self, NewClient};
use latchkey::server::store::audit::RequestMeta;
use reqwest::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const REDIRECT: &str = "https://app.example.com/callback";
const AFTER_LOGOUT: &str = "https://app.example.com/bye";

/// A registered relying party.
struct Rp {
    client_id: String,
    secret: Option<String>,
}

async fn client(app: &TestApp, public: bool, first_party: bool, backchannel: Option<String>) -> Rp {
    let asked = NewClient {
        name: if first_party { "Wiki" } else { "Photo Album" }.into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![AFTER_LOGOUT.into()],
        backchannel_logout_uri: backchannel,
        public,
        first_party,
    };
    let issued = oidc_clients::register(&app.state.db, &asked, &RequestMeta::default(), None)
        .await
        .unwrap();
    Rp {
        client_id: issued.client_id,
        secret: issued.client_secret,
    }
}

fn cookie(token: &str) -> String {
    format!("latchkey_session={token}")
}

/// A signed-in browser's cookie for a new account `name`.
async fn browser(app: &TestApp, name: &str) -> String {
    cookie(&app.signed_up(name).await)
}

async fn authorize(app: &TestApp, cookie: Option<&str>, params: &[(&str, &str)]) -> Response {
    let mut request = app.http.get(app.at("/oauth/authorize")).query(params);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

fn location(response: &Response) -> String {
    // 303 from the endpoints, 302 from the server functions' forms.
    assert!(
        matches!(response.status().as_u16(), 302 | 303),
        "a redirect, not {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Where a page of Latchkey reached after a form (the resumed authorization) sends the browser
/// on to the app: its meta refresh, and the link beside it.
async fn sent_on(response: Response) -> String {
    assert_eq!(response.status(), 200, "a page that sends the browser on");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let page = response.text().await.unwrap();
    let at = page.find("content=\"0;url=").expect("a meta refresh") + 15;
    let url = &page[at..at + page[at..].find('"').unwrap()];
    assert!(
        page.contains(&format!("href=\"{url}\"")),
        "and a link: {page}"
    );
    url.replace("&amp;", "&")
}

/// The page a browser is sent to when the request cannot go back to the app.
async fn problem_page(app: &TestApp, reason: &str) -> Response {
    let at = app.at(&format!("/oauth/problem?reason={reason}"));
    app.http.get(at).send().await.unwrap()
}

fn query_of(location: &str) -> HashMap<String, String> {
    let url = reqwest::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

/// The usual request: code flow, openid email profile, a state and a nonce.
fn asked<'a>(rp: &'a Rp, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid email profile offline_access"),
        ("state", "st-1"),
        ("nonce", "n-1"),
    ];
    for (name, value) in extra {
        params.retain(|(key, _)| key != name);
        params.push((name, value));
    }
    params
}

/// A code for a signed-in browser, checking the answer's `state` and `iss`.
async fn code_for(app: &TestApp, rp: &Rp, cookie: &str, extra: &[(&str, &str)]) -> String {
    let answer = authorize(app, Some(cookie), &asked(rp, extra)).await;
    let at = location(&answer);
    assert!(at.starts_with(REDIRECT), "{at}");
    let query = query_of(&at);
    assert_eq!(query.get("state").map(String::as_str), Some("st-1"), "{at}");
    assert_eq!(query["iss"], app.url);
    query
        .get("code")
        .unwrap_or_else(|| panic!("no code in {at}"))
        .clone()
}

fn pkce() -> (String, String) {
    let verifier = "v".repeat(20) + &URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            >> (i % 24)) as u8;
    }
    bytes
}

async fn token_request(app: &TestApp, rp: &Rp, form: &[(&str, &str)]) -> (u16, Value) {
    let mut request = app.http.post(app.at("/oauth/token"));
    if let Some(secret) = &rp.secret {
        request = request.basic_auth(&rp.client_id, Some(secret));
    }
    let mut form = form.to_vec();
    if rp.secret.is_none() {
        form.push(("client_id", &rp.client_id));
    }
    sent(request.form(&form)).await
}

async fn exchange(app: &TestApp, rp: &Rp, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    token_request(app, rp, &form).await
}

async fn refresh(app: &TestApp, rp: &Rp, token: &str) -> (u16, Value) {
    token_request(
        app,
        rp,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// Verifies a token against the published JWKS (the issuer), returning its claims: RS256 for
/// id_tokens and logout tokens, ES256 for access tokens.
async fn verified(app: &TestApp, token: &str, typ: &str) -> Value {
    let (status, jwks) = sent(app.http.get(app.at("/oauth/jwks"))).await;
    assert_eq!(status, 200);
    let header = jsonwebtoken::decode_header(token).unwrap();
    let expected = match typ {
        "at+jwt" => jsonwebtoken::Algorithm::ES256,
        _ => jsonwebtoken::Algorithm::RS256,
    };
    assert_eq!(header.alg, expected);
    assert_eq!(header.typ.as_deref(), Some(typ));
    let kid = header.kid.expect("a kid");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("{kid} is published"));
    let decoding = match key["kty"].as_str() {
        Some("RSA") => jsonwebtoken::DecodingKey::from_rsa_components(
            key["n"].as_str().unwrap(),
            key["e"].as_str().unwrap(),
        ),
        _ => jsonwebtoken::DecodingKey::from_ec_components(
            key["x"].as_str().unwrap(),
            key["y"].as_str().unwrap(),
        ),
    }
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(expected);
    validation.set_issuer(&[&app.url]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .unwrap()
        .claims
}

async fn userinfo(app: &TestApp, access_token: &str) -> (u16, Value) {
    sent(
        app.http
            .get(app.at("/oauth/userinfo"))
            .bearer_auth(access_token),
    )
    .await
}

#[tokio::test]
async fn discovery_names_every_endpoint_under_the_exact_issuer() {
    let app = spawn_app().await;
    let (status, document) = sent(app.http.get(app.at("/.well-known/openid-configuration"))).await;
    assert_eq!(status, 200);
    assert_eq!(document["issuer"], app.url.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/oauth/jwks"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("end_session_endpoint", "/oauth/logout"),
    ] {
        assert_eq!(document[field], app.at(path), "{field}");
    }
    assert_eq!(
        document["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        document["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(document["backchannel_logout_session_supported"], true);
    let (status, jwks) = sent(app.http.get(app.at("/oauth/jwks"))).await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().unwrap();
    let mut kinds: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k["kty"].as_str().unwrap(), k["alg"].as_str().unwrap()))
        .collect();
    kinds.sort();
    assert_eq!(kinds, [("EC", "ES256"), ("RSA", "RS256")]);
    for key in keys {
        assert!(
            key["kid"].is_string() && key.get("d").is_none(),
            "public only: {key}"
        );
    }
}

#[tokio::test]
async fn a_signed_in_person_goes_straight_back_with_a_code_that_gives_verifiable_tokens() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "olivia").await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (status, tokens) = exchange(&app, &rp, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 600);
    let id = verified(&app, tokens["id_token"].as_str().unwrap(), "JWT").await;
    assert_eq!(id["aud"], rp.client_id.as_str());
    assert_eq!(id["azp"], rp.client_id.as_str());
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["acr"], "pwd");
    assert_eq!(id["email"], "olivia@example.com");
    assert_eq!(id["preferred_username"], "olivia");
    let sub = id["sub"].as_str().unwrap().to_owned();
    let user_id: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'olivia'")
        .await;
    assert!(
        sub != "olivia" && sub != user_id.to_string(),
        "opaque: {sub}"
    );
    assert!(id["auth_time"].as_i64().unwrap() <= id["iat"].as_i64().unwrap());
    assert!(id["sid"].as_str().unwrap().len() >= 16);
    // at_hash: the left half of the access token's SHA-256.
    let access = tokens["access_token"].as_str().unwrap();
    let digest = Sha256::digest(access.as_bytes());
    assert_eq!(id["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));
    let at = verified(&app, access, "at+jwt").await;
    assert_eq!(at["client_id"], rp.client_id.as_str());
    assert_eq!(at["sub"], sub.as_str());

    let (status, info) = userinfo(&app, access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["email"], "olivia@example.com");
    assert_eq!(info["email_verified"], false);
    assert_eq!(info["preferred_username"], "olivia");
    assert!(
        info.get("phone_number").is_none(),
        "phone was not asked for"
    );

    // The same person, another authorization: the same sub.
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, again) = exchange(&app, &rp, &code, None).await;
    let id = verified(&app, again["id_token"].as_str().unwrap(), "JWT").await;
    assert_eq!(id["sub"], sub.as_str());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_after_the_grace_ends_the_grant() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "rhea").await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, first) = exchange(&app, &rp, &code, None).await;
    let first_refresh = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, second) = refresh(&app, &rp, &first_refresh).await;
    assert_eq!(status, 200, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh, "rotated");
    let id = verified(&app, second["id_token"].as_str().unwrap(), "JWT").await;
    assert!(
        id.get("nonce").is_none(),
        "a refreshed id_token repeats no nonce"
    );
    // Two tabs refreshing at once: the replaced token still works within the grace.
    let (status, _) = refresh(&app, &rp, &first_refresh).await;
    assert_eq!(status, 200);
    // Stored hashed: the token itself is nowhere in the database.
    let found: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM oidc_refresh_tokens WHERE token_hash = '{second_refresh}'"
        ))
        .await;
    assert_eq!(found, 0);

    // After the grace, the replaced token is a replay: the whole grant ends.
    sqlx::query("UPDATE oidc_refresh_tokens SET replaced_at = replaced_at - 60 WHERE replaced_at IS NOT NULL")
        .execute(&app.db)
        .await
        .unwrap();
    let (status, body) = refresh(&app, &rp, &first_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = refresh(&app, &rp, &second_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the grant ended"
    );
    let (status, _) = userinfo(&app, second["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "its access tokens too");

    // Another client cannot use a client's refresh token.
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let other = client(&app, false, true, None).await;
    let (status, body) = refresh(&app, &other, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "and its own client still can");
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_what_it_gave_is_revoked() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "cody").await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (status, tokens) = exchange(&app, &rp, &code, None).await;
    assert_eq!(status, 200);
    let (status, body) = exchange(&app, &rp, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = userinfo(&app, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    let (status, _) = refresh(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);

    // An expired code, a wrong redirect_uri and a made-up code are refused too.
    let code = code_for(&app, &rp, &browser, &[]).await;
    sqlx::query("UPDATE oidc_codes SET expires_at = expires_at - 120")
        .execute(&app.db)
        .await
        .unwrap();
    let (status, body) = exchange(&app, &rp, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (status, body) = token_request(
        &app,
        &rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/other"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = exchange(&app, &rp, "made-up", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = token_request(&app, &rp, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn pkce_is_required_of_public_clients_and_checked_whenever_sent() {
    let app = spawn_app().await;
    let public = client(&app, true, true, None).await;
    let browser = browser(&app, "pat").await;
    // No challenge from a public client: refused at the app's address.
    let answer = authorize(&app, Some(&browser), &asked(&public, &[])).await;
    let query = query_of(&location(&answer));
    assert_eq!(query["error"], "invalid_request");
    assert_eq!(query["state"], "st-1");
    // `plain` is refused.
    let answer = authorize(
        &app,
        Some(&browser),
        &asked(
            &public,
            &[
                ("code_challenge", &"a".repeat(43)),
                ("code_challenge_method", "plain"),
            ],
        ),
    )
    .await;
    assert_eq!(query_of(&location(&answer))["error"], "invalid_request");

    let (verifier, challenge) = pkce();
    let with_pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let code = code_for(&app, &public, &browser, &with_pkce).await;
    let (status, body) = exchange(&app, &public, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "no verifier"
    );
    let code = code_for(&app, &public, &browser, &with_pkce).await;
    let wrong = "w".repeat(43);
    let (status, body) = exchange(&app, &public, &code, Some(&wrong)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "wrong verifier"
    );
    let code = code_for(&app, &public, &browser, &with_pkce).await;
    let (status, tokens) = exchange(&app, &public, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");

    // A confidential client sending a verifier for a code made without a challenge: refused
    // (a PKCE downgrade).
    let confidential = client(&app, false, true, None).await;
    let code = code_for(&app, &confidential, &browser, &[]).await;
    let (status, body) = exchange(&app, &confidential, &code, Some(&verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn an_unknown_client_or_unregistered_redirect_gets_the_error_page_never_a_redirect() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "una").await;
    for params in [
        asked(&rp, &[("client_id", "nobody")]),
        asked(&rp, &[("redirect_uri", "https://evil.example/callback")]),
        asked(
            &rp,
            &[("redirect_uri", "https://app.example.com/callback/")],
        ),
        vec![
            ("client_id", rp.client_id.as_str()),
            ("response_type", "code"),
        ],
    ] {
        let answer = authorize(&app, Some(&browser), &params).await;
        let at = location(&answer);
        assert!(at.starts_with("/oauth/problem?reason="), "{at}");
    }
    let page = problem_page(&app, "redirect-uri").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("has not registered"));
}

#[tokio::test]
async fn malformed_requests_go_back_to_the_app_with_the_rfc_error_and_change_nothing() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "mal").await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            asked(&rp, &[("response_type", "token")]),
            "unsupported_response_type",
        ),
        (
            asked(&rp, &[("response_type", "code id_token")]),
            "unsupported_response_type",
        ),
        (
            asked(&rp, &[("request", "eyJ.x.y")]),
            "request_not_supported",
        ),
        (
            asked(&rp, &[("request_uri", "https://x.example/r")]),
            "request_uri_not_supported",
        ),
        (asked(&rp, &[("scope", "email profile")]), "invalid_scope"),
        (asked(&rp, &[("prompt", "none login")]), "invalid_request"),
        (asked(&rp, &[("prompt", "sideways")]), "invalid_request"),
        (asked(&rp, &[("max_age", "soon")]), "invalid_request"),
        (
            asked(&rp, &[("response_mode", "fragment")]),
            "invalid_request",
        ),
        (
            asked(&rp, &[("id_token_hint", "not.a.token")]),
            "invalid_request",
        ),
        (
            {
                let mut params = asked(&rp, &[]);
                params.push(("scope", "openid"));
                params
            },
            "invalid_request",
        ),
    ];
    let grants_before: i64 = app.scalar("SELECT COUNT(*) FROM oidc_grants").await;
    for (params, error) in cases {
        let answer = authorize(&app, Some(&browser), &params).await;
        let at = location(&answer);
        assert!(at.starts_with(REDIRECT), "{at}");
        let query = query_of(&at);
        assert_eq!(query["error"], error, "{params:?}");
        assert_eq!(query["iss"], app.url);
        assert!(!query.contains_key("code"));
    }
    let grants_after: i64 = app.scalar("SELECT COUNT(*) FROM oidc_grants").await;
    assert_eq!(grants_before, grants_after, "nothing was granted");
    // Unknown scopes are dropped, not refused.
    let code = code_for(&app, &rp, &browser, &[("scope", "openid address my:own")]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    assert_eq!(tokens["scope"], "openid");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    // form_post answers with a page whose form posts to the app.
    let answer = authorize(
        &app,
        Some(&browser),
        &asked(&rp, &[("response_mode", "form_post")]),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let policy = answer.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("form-action https://app.example.com"),
        "{policy}"
    );
    let page = answer.text().await.unwrap();
    assert!(
        page.contains(r#"action="https://app.example.com/callback""#),
        "{page}"
    );
    assert!(page.contains(r#"name="code""#) && page.contains(r#"name="state" value="st-1""#));
}

#[tokio::test]
async fn without_a_session_the_person_signs_in_and_comes_back_and_prompt_none_says_login_required()
{
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let answer = authorize(&app, None, &asked(&rp, &[("prompt", "none")])).await;
    let query = query_of(&location(&answer));
    assert_eq!(query["error"], "login_required");
    assert_eq!(query["state"], "st-1");

    let answer = authorize(&app, None, &asked(&rp, &[("login_hint", "sam")])).await;
    let at = location(&answer);
    assert!(
        at.starts_with("/login?next=%2Foauth%2Fauthorize%2Fresume"),
        "{at}"
    );
    assert!(at.contains("login_hint=sam"), "{at}");
    let next = query_of(&app.at(&at))["next"].clone();
    // The login page fills in the hinted name.
    let page = app
        .http
        .get(app.at(&at))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"value="sam""#),
        "login_hint pre-fills the name"
    );
    // The person signs in (any way: here the REST login gives the same session token) and
    // the page sends them back.
    let browser = browser(&app, "sam").await;
    let answer = app
        .http
        .get(app.at(&next))
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    let at = sent_on(answer).await;
    assert!(at.starts_with(REDIRECT), "{at}");
    let code = query_of(&at)["code"].clone();
    assert_eq!(exchange(&app, &rp, &code, None).await.0, 200);
    // The waiting request was answered once: coming back again finds nothing.
    let answer = app
        .http
        .get(app.at(&next))
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    assert!(location(&answer).starts_with("/oauth/problem?reason=expired"));
}

#[tokio::test]
async fn third_party_apps_ask_for_consent_once_per_scope_set_and_a_refusal_is_access_denied() {
    let app = spawn_app().await;
    let rp = client(&app, false, false, None).await;
    let browser = browser(&app, "connie").await;
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("prompt", "none")])).await;
    assert_eq!(query_of(&location(&answer))["error"], "consent_required");

    let answer = authorize(&app, Some(&browser), &asked(&rp, &[])).await;
    let at = location(&answer);
    assert!(at.starts_with("/oauth/consent?request="), "{at}");
    let request = query_of(&app.at(&at))["request"].clone();
    let page = app
        .http
        .get(app.at(&at))
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Photo Album") && page.contains("connie"),
        "{page}"
    );
    assert!(
        page.contains("Your e-mail address"),
        "scopes in plain words"
    );
    // Allowed (a plain form, as without JavaScript): back to the authorization, then the app.
    let answered = app
        .post_page_form(
            "/rpc/answer_consent",
            &at,
            &[],
            Some(&browser),
            &[("request", &request), ("allow", "yes")],
        )
        .await;
    let back = location(&answered);
    assert_eq!(back, format!("/oauth/authorize/resume?request={request}"));
    let answer = app
        .http
        .get(app.at(&back))
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    assert!(sent_on(answer).await.starts_with(REDIRECT));
    // Next time, the same scopes: no question.
    code_for(&app, &rp, &browser, &[]).await;
    // A new scope: asked again.
    let answer = authorize(
        &app,
        Some(&browser),
        &asked(&rp, &[("scope", "openid phone")]),
    )
    .await;
    assert!(location(&answer).starts_with("/oauth/consent?"));
    // prompt=consent asks even when agreed; refusing answers access_denied.
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("prompt", "consent")])).await;
    let at = location(&answer);
    let request = query_of(&app.at(&at))["request"].clone();
    let answered = app
        .post_page_form(
            "/rpc/answer_consent",
            &at,
            &[],
            Some(&browser),
            &[("request", &request), ("allow", "no")],
        )
        .await;
    let back = location(&answered);
    let answer = app
        .http
        .get(app.at(&back))
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    let query = query_of(&sent_on(answer).await);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "st-1");

    // Another account cannot ride on a consent someone else gave to a request.
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("prompt", "consent")])).await;
    let at = location(&answer);
    let request = query_of(&app.at(&at))["request"].clone();
    app.post_page_form(
        "/rpc/answer_consent",
        &at,
        &[],
        Some(&browser),
        &[("request", &request), ("allow", "yes")],
    )
    .await;
    let stranger = self::browser(&app, "stranger").await;
    let answer = app
        .http
        .get(app.at(&format!("/oauth/authorize/resume?request={request}")))
        .header("cookie", &stranger)
        .send()
        .await
        .unwrap();
    assert!(
        location(&answer).starts_with("/oauth/consent?"),
        "asked in person"
    );

    // The account page lists the app; revoking it ends its grants.
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let page = app
        .http
        .get(app.at("/account"))
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Photo Album"));
    let revoked = app
        .post_page_form(
            "/rpc/revoke_app",
            "/account",
            &[],
            Some(&browser),
            &[("client_id", &rp.client_id)],
        )
        .await;
    assert_eq!(location(&revoked), "/account?notice=app-revoked");
    let (status, _) = userinfo(&app, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    let (status, _) = refresh(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[])).await;
    assert!(
        location(&answer).starts_with("/oauth/consent?"),
        "asks again"
    );
}

#[tokio::test]
async fn max_age_prompt_login_and_a_mismatched_hint_sign_in_again_and_mfa_needs_a_second_factor() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "max").await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let hint = tokens["id_token"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE sessions SET created_at = created_at - 600")
        .execute(&app.db)
        .await
        .unwrap();
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("max_age", "60")])).await;
    assert!(
        location(&answer).starts_with("/login?"),
        "an older sign-in signs in again"
    );
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("max_age", "3600")])).await;
    let code = query_of(&location(&answer))["code"].clone();
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let id = verified(&app, tokens["id_token"].as_str().unwrap(), "JWT").await;
    assert!(id["auth_time"].as_i64().unwrap() <= id["iat"].as_i64().unwrap() - 600);
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("prompt", "login")])).await;
    assert!(location(&answer).starts_with("/login?"));
    let answer = authorize(
        &app,
        Some(&browser),
        &asked(&rp, &[("prompt", "none"), ("max_age", "1")]),
    )
    .await;
    assert_eq!(query_of(&location(&answer))["error"], "login_required");

    // A hint naming this person passes; another person signed in here signs in again.
    code_for(&app, &rp, &browser, &[("id_token_hint", &hint)]).await;
    let other = self::browser(&app, "other").await;
    let answer = authorize(&app, Some(&other), &asked(&rp, &[("id_token_hint", &hint)])).await;
    assert!(location(&answer).starts_with("/login?"));
    let answer = authorize(
        &app,
        Some(&other),
        &asked(&rp, &[("id_token_hint", &hint), ("prompt", "none")]),
    )
    .await;
    assert_eq!(query_of(&location(&answer))["error"], "login_required");

    // acr_values=mfa: an account without a second factor cannot meet it.
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("acr_values", "mfa")])).await;
    assert_eq!(
        query_of(&location(&answer))["error"],
        "unmet_authentication_requirements"
    );
    // Values it does not know are ignored.
    code_for(&app, &rp, &browser, &[("acr_values", "urn:gold silver")]).await;
}

#[tokio::test]
async fn client_authentication_failures_are_refused_and_then_limited() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "cal").await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let wrong = Rp {
        client_id: rp.client_id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let response = app
        .http
        .post(app.at("/oauth/token"))
        .basic_auth(&wrong.client_id, wrong.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let (_, body) = json(response).await;
    assert_eq!(body["error"], "invalid_client");
    // The code was not spent by the failed attempt.
    assert_eq!(exchange(&app, &rp, &code, None).await.0, 200);
    // Secret in the body (client_secret_post) works too; both at once is refused.
    let code = code_for(&app, &rp, &browser, &[]).await;
    let secret = rp.secret.clone().unwrap();
    let (status, _) = sent(app.http.post(app.at("/oauth/token")).form(&[
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", rp.client_id.as_str()),
        ("client_secret", secret.as_str()),
    ]))
    .await;
    assert_eq!(status, 200);
    // A body that is not a form, and repeated parameters, are invalid_request.
    let (status, body) = sent(
        app.http
            .post(app.at("/oauth/token"))
            .basic_auth(&rp.client_id, Some(&secret))
            .json(&serde_json::json!({"grant_type": "refresh_token"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = sent(
        app.http
            .post(app.at("/oauth/token"))
            .basic_auth(&rp.client_id, Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=refresh_token&grant_type=authorization_code"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Repeated failures from one address: 429 with Retry-After.
    let mut limited = None;
    for _ in 0..12 {
        let response = app
            .http
            .post(app.at("/oauth/token"))
            .basic_auth(&rp.client_id, Some("guess"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 401);
    }
    let limited = limited.expect("failures are limited");
    assert!(limited.headers().contains_key("retry-after"));
    let (_, body) = json(limited).await;
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn revocation_ends_a_grant_of_the_client_only() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let other = client(&app, false, true, None).await;
    let browser = browser(&app, "reva").await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let revoke = |who: &Rp, token: &str| {
        app.http
            .post(app.at("/oauth/revoke"))
            .basic_auth(&who.client_id, who.secret.as_deref())
            .form(&[("token", token)])
            .send()
    };
    // Another client's attempt changes nothing (and says nothing).
    assert_eq!(revoke(&other, refresh_token).await.unwrap().status(), 200);
    assert_eq!(
        userinfo(&app, tokens["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
    assert_eq!(revoke(&rp, "unknown").await.unwrap().status(), 200);
    assert_eq!(revoke(&rp, refresh_token).await.unwrap().status(), 200);
    assert_eq!(
        userinfo(&app, tokens["access_token"].as_str().unwrap())
            .await
            .0,
        401
    );
    assert_eq!(refresh(&app, &rp, refresh_token).await.0, 400);
    // Revoking by the access token ends its grant too.
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(revoke(&rp, access).await.unwrap().status(), 200);
    assert_eq!(userinfo(&app, access).await.0, 401);
    // Userinfo: a missing or forged token is invalid_token with a Bearer challenge.
    let response = app
        .http
        .get(app.at("/oauth/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer error=\"invalid_token\""));
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(
        userinfo(&app, id_token).await.0,
        401,
        "an id_token is no access token"
    );
}

/// A relying party's back-channel logout endpoint: the logout tokens it received.
async fn logout_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = received.clone();
    let router = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(
            move |axum::Form(form): axum::Form<HashMap<String, String>>| {
                let kept = kept.clone();
                async move {
                    kept.lock().unwrap().push(form["logout_token"].clone());
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

async fn logout_tokens(
    received: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    count: usize,
) -> Vec<String> {
    crate::common::eventually("the back-channel logout tokens", async || {
        let tokens = received.lock().unwrap().clone();
        (tokens.len() >= count).then_some(tokens)
    })
    .await
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_redirects_only_where_registered_and_tells_the_app() {
    let app = spawn_app().await;
    let (backchannel, received) = logout_receiver().await;
    let rp = client(&app, false, true, Some(backchannel)).await;
    let browser = browser(&app, "lou").await;
    let code = code_for(&app, &rp, &browser, &[("scope", "openid email")]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let id = verified(&app, &id_token, "JWT").await;

    // Without a hint, a signed-in person is asked; nothing ends.
    let answer = app
        .http
        .get(app.at("/oauth/logout"))
        .header("cookie", &browser)
        .query(&[("post_logout_redirect_uri", AFTER_LOGOUT)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&answer), "/signed-out?confirm=1");
    assert_eq!(
        userinfo(&app, tokens["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );

    // An unregistered post-logout URI is not followed.
    let answer = app
        .http
        .get(app.at("/oauth/logout"))
        .query(&[
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&answer), "/signed-out");

    let answer = app
        .http
        .get(app.at("/oauth/logout"))
        .header("cookie", &browser)
        .query(&[
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
            ("state", "bye-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&answer), format!("{AFTER_LOGOUT}?state=bye-1"));
    // The session is over, and the app's tokens with it.
    let account = app
        .http
        .get(app.at("/v2/auth/refresh"))
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), 401);
    assert_eq!(
        userinfo(&app, tokens["access_token"].as_str().unwrap())
            .await
            .0,
        401
    );
    // The app was told, with a logout token signed by the published key.
    let logout_token = logout_tokens(&received, 1).await.remove(0);
    let claims = verified(&app, &logout_token, "logout+jwt").await;
    assert_eq!(claims["aud"], rp.client_id.as_str());
    assert_eq!(claims["sub"], id["sub"]);
    assert_eq!(claims["sid"], id["sid"]);
    assert!(claims["jti"].is_string() && claims["iat"].is_i64() && claims["exp"].is_i64());
    assert!(claims["events"]
        .get("http://schemas.openid.net/event/backchannel-logout")
        .is_some());
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn a_password_change_and_ending_every_session_end_every_grant_offline_ones_too() {
    let app = spawn_app().await;
    let (backchannel, received) = logout_receiver().await;
    let rp = client(&app, false, true, Some(backchannel)).await;
    let token = app.signed_up("pia").await;
    let browser = cookie(&token);
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    // Signing out of the browser keeps an offline grant's refresh token working.
    let out = app
        .post_page_form("/rpc/logout", "/account", &[], Some(&browser), &[])
        .await;
    assert_eq!(out.status(), 302);
    logout_tokens(&received, 1).await;
    let (status, refreshed) = refresh(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        status, 200,
        "offline_access outlives the session: {refreshed}"
    );
    assert_eq!(
        userinfo(&app, refreshed["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );

    // A password change ends it.
    let token = {
        let body: Value = app.login("pia", PASSWORD).await.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    };
    let code = code_for(&app, &rp, &cookie(&token), &[]).await;
    let (_, second) = exchange(&app, &rp, &code, None).await;
    let changed = app
        .post_page_form(
            "/rpc/change_password",
            "/password",
            &[],
            Some(&cookie(&token)),
            &[
                ("old_password", PASSWORD),
                ("new_password", "a whole new passphrase"),
                ("new_password_again", "a whole new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 302, "{:?}", changed.headers());
    for t in [&refreshed, &second] {
        let (status, _) = refresh(&app, &rp, t["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 400);
        assert_eq!(
            userinfo(&app, t["access_token"].as_str().unwrap()).await.0,
            401
        );
    }
    logout_tokens(&received, 2).await;
}

#[tokio::test]
async fn a_code_made_on_one_node_is_redeemed_on_another_and_refreshed_on_a_third() {
    let a = spawn_app().await;
    // Nodes of one service share its public URL, the issuer.
    let b = spawn_node_of(&a, |config| config.public_url = Some(a.url.clone())).await;
    let c = spawn_node_of(&a, |config| config.public_url = Some(a.url.clone())).await;
    let rp = client(&a, false, true, None).await;
    let browser = browser(&a, "nod").await;
    let code = code_for(&a, &rp, &browser, &[]).await;
    let (status, tokens) = exchange(&b, &rp, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    // Node b made the first key; node c finds it in the database.
    let (status, refreshed) = refresh(&c, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        userinfo(&a, refreshed["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
    let id = verified(&a, refreshed["id_token"].as_str().unwrap(), "JWT").await;
    assert_eq!(id["iss"], a.url.as_str());
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_stays_until_its_tokens_expire()
{
    use latchkey::server::config::{Command, Config, KeysAction};
    use latchkey::server::services::oidc::keys;
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "kira").await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, before) = exchange(&app, &rp, &code, None).await;
    let old_kid = jsonwebtoken::decode_header(before["id_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();

    let mut config = Config::for_data_dir(app.data_dir.path());
    config.database_url = Some(app.database_url.clone().into());
    let rotate = Command::Keys {
        action: KeysAction::Rotate,
    };
    let said = latchkey::server::admin::run(&config, &rotate)
        .await
        .unwrap();
    let new_kid = said
        .lines()
        .find_map(|line| line.strip_prefix("new OpenID Connect keys "))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("{said}"))
        .to_owned();
    keys::reload(&app.state.db, &app.state.oidc_keys)
        .await
        .unwrap();
    // Published at once, not signing yet.
    let (_, jwks) = sent(app.http.get(app.at("/oauth/jwks"))).await;
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(published.contains(&new_kid.as_str()) && published.contains(&old_kid.as_str()));
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let kid_of = |t: &Value| {
        jsonwebtoken::decode_header(t["id_token"].as_str().unwrap())
            .unwrap()
            .kid
            .unwrap()
    };
    assert_eq!(kid_of(&tokens), old_kid);

    // Its time come, it signs; tokens of the old key still verify at userinfo.
    let at = |offset: i64| latchkey::server::store::unix_now() + offset;
    sqlx::query("UPDATE oidc_keys SET signs_from = $1 WHERE kid = $2")
        .bind(at(-1))
        .bind(&new_kid)
        .execute(&app.db)
        .await
        .unwrap();
    keys::reload(&app.state.db, &app.state.oidc_keys)
        .await
        .unwrap();
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, after) = exchange(&app, &rp, &code, None).await;
    assert_eq!(kid_of(&after), new_kid);
    assert_eq!(
        userinfo(&app, before["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );
    // Once every token the old keys signed has expired, they are no longer published.
    sqlx::query("UPDATE oidc_keys SET signs_from = $1 WHERE signs_from > 0")
        .bind(at(-2 * 3600))
        .execute(&app.db)
        .await
        .unwrap();
    keys::reload(&app.state.db, &app.state.oidc_keys)
        .await
        .unwrap();
    let (_, jwks) = sent(app.http.get(app.at("/oauth/jwks"))).await;
    let left: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(left.len(), 2, "one of each algorithm: {left:?}");
    assert!(left.contains(&new_kid.as_str()) && !left.contains(&old_kid.as_str()));
}

#[tokio::test]
async fn the_purge_removes_what_can_no_longer_matter_and_keeps_live_grants() {
    use latchkey::server::store::purge;
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let browser = browser(&app, "pur").await;
    // A waiting request (nobody signed in), a live grant with a refreshed token, a revoked one.
    authorize(&app, None, &asked(&rp, &[])).await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, live) = exchange(&app, &rp, &code, None).await;
    let (_, refreshed) = refresh(&app, &rp, live["refresh_token"].as_str().unwrap()).await;
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, ended) = exchange(&app, &rp, &code, None).await;
    let revoked = app
        .http
        .post(app.at("/oauth/revoke"))
        .basic_auth(&rp.client_id, rp.secret.as_deref())
        .form(&[("token", ended["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let day = 86400;
    for sql in [
        "UPDATE oidc_requests SET expires_at = expires_at - 3600".to_owned(),
        format!("UPDATE oidc_codes SET expires_at = expires_at - {day} - 60"),
        format!("UPDATE oidc_refresh_tokens SET replaced_at = replaced_at - {day} - 60"),
        format!("UPDATE oidc_grants SET revoked_at = revoked_at - {day} - 60"),
    ] {
        sqlx::query(&sql).execute(&app.db).await.unwrap();
    }
    let now = latchkey::server::store::unix_now();
    let purged = purge::expired(&app.state.db, now, 365 * day).await.unwrap();
    // One request, two codes, one replaced refresh token, and the revoked grant (whose own
    // refresh token goes with it).
    assert_eq!(purged.oidc, 5, "{purged:?}");
    let requests: i64 = app.scalar("SELECT COUNT(*) FROM oidc_requests").await;
    assert_eq!(requests, 0);
    let grants: i64 = app.scalar("SELECT COUNT(*) FROM oidc_grants").await;
    assert_eq!(grants, 1, "the live grant stays");
    let tokens: i64 = app.scalar("SELECT COUNT(*) FROM oidc_refresh_tokens").await;
    assert_eq!(tokens, 1, "with its current refresh token");
    let (status, _) = refresh(&app, &rp, refreshed["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "and it still works");
}

#[tokio::test]
async fn the_plumbings_refusals_at_the_token_endpoint_are_rfc_6749_json() {
    let app = spawn_app().await;
    let (status, body) = sent(
        app.http
            .post(app.at("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=refresh_token&refresh_token={}",
                "x".repeat(70_000)
            )),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("invalid_request"))
    );
    let (status, body) = sent(app.http.get(app.at("/oauth/token"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("invalid_request")),
        "{body}"
    );
}

#[tokio::test]
async fn an_admin_disabling_an_account_ends_its_grants_and_every_oidc_surface_refuses() {
    let app = spawn_app().await;
    let admin_token = crate::admin::admin_with_token(&app, "operator", false).await;
    let (backchannel, received) = logout_receiver().await;
    let rp = client(&app, false, true, Some(backchannel)).await;
    let token = app.signed_up("dora").await;
    let browser = cookie(&token);
    let code = code_for(&app, &rp, &browser, &[]).await;
    let (_, tokens) = exchange(&app, &rp, &code, None).await;
    let id: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'dora'")
        .await;

    let disabled = app
        .http
        .post(app.at(&format!("/admin/api/users/{id}/disable")))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({"reason": "fraud"}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    logout_tokens(&received, 1).await;
    let (status, _) = refresh(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400, "the refresh token ended");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(&app, access).await.0,
        401,
        "the access token ended"
    );
    // The browser's session is gone: the app's next authorization asks for a sign-in, which
    // the account cannot make.
    let answer = authorize(&app, Some(&browser), &asked(&rp, &[("prompt", "none")])).await;
    assert_eq!(query_of(&location(&answer))["error"], "login_required");
    let signing_in = app
        .post_page_form(
            "/rpc/login",
            "/login",
            &[],
            None,
            &[("identifier", "dora"), ("password", PASSWORD)],
        )
        .await;
    assert!(
        crate::common::set_cookie_of(&signing_in, "latchkey_session").is_none(),
        "no session for a disabled account"
    );

    // Enabled again, nothing of before comes back to life: the app signs the person in anew.
    let enabled = app
        .http
        .post(app.at(&format!("/admin/api/users/{id}/enable")))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({"reason": "cleared"}))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), 200);
    assert_eq!(userinfo(&app, access).await.0, 401);
    let (status, _) = refresh(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_session_pushed_out_by_the_hundredth_newer_one_tells_its_apps() {
    let app = spawn_app().await;
    let (backchannel, received) = logout_receiver().await;
    let rp = client(&app, false, true, Some(backchannel)).await;
    let token = app.signed_up("crowded").await;
    let code = code_for(&app, &rp, &cookie(&token), &[]).await;
    let (status, _) = exchange(&app, &rp, &code, None).await;
    assert_eq!(status, 200);
    let id: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'crowded'")
        .await;
    // A hundred sessions used more recently than the browser's (as a script that signs in for
    // every job leaves them), then one sign-in more pushes the browser's out.
    let later = latchkey::server::store::unix_now() + 60;
    for n in 0..100 {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, amr) \
             VALUES ($1, $2, $3, $4, $3, 'pwd')",
        )
        .bind(format!("crowd{n:04}"))
        .bind(id)
        .bind(later)
        .bind(later + 3600)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let (status, _) = json(app.login("crowded", PASSWORD).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &token)
            .await
            .status(),
        401,
        "the browser's session was pushed out"
    );
    logout_tokens(&received, 1).await;
}

#[tokio::test]
async fn a_session_that_ran_out_is_deleted_and_its_apps_told_once() {
    let app = spawn_app().await;
    let (backchannel, received) = logout_receiver().await;
    let rp = client(&app, false, true, Some(backchannel)).await;
    let token = app.signed_up("lapsed").await;
    // A grant without offline_access: it lives only as long as its session.
    let code = code_for(&app, &rp, &cookie(&token), &[("scope", "openid email")]).await;
    let (status, tokens) = exchange(&app, &rp, &code, None).await;
    assert_eq!(status, 200);
    let now = latchkey::server::store::unix_now();
    let pass = |at: i64| {
        let db = app.state.db.clone();
        async move {
            latchkey::server::purge_job::pass(&db, at, 365 * 86400, at)
                .await
                .unwrap()
        }
    };

    // While the session lives, a pass tells nobody and keeps it.
    let done = pass(now).await;
    assert_eq!(done.sessions_told, 0);
    // Idle past its last token's day, it is over: the app is told, its grant ends, and the
    // session is deleted.
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 86400 - 61")
        .execute(&app.db)
        .await
        .unwrap();
    let done = pass(now).await;
    assert_eq!(done.sessions_told, 1);
    // Deleted in the very transaction that told its app: the purge after it finds none.
    assert_eq!(done.purged.sessions, 0);
    let sessions: i64 = app.scalar("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(sessions, 0);
    assert_eq!(logout_tokens(&received, 1).await.len(), 1);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, access).await.0, 401, "its grant ended");
    // Nothing is left to tell: a second pass queues nothing more.
    let done = pass(now).await;
    assert_eq!(done.sessions_told, 0);
    let queued: i64 = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'backchannel_logout'")
        .await;
    assert_eq!(queued, 1);

    // Many at once are read a page at a time, and every one is told: three browsers' sessions
    // run out together, read one per page.
    for name in ["many1", "many2", "many3"] {
        let token = app.signed_up(name).await;
        let code = code_for(&app, &rp, &cookie(&token), &[]).await;
        assert_eq!(exchange(&app, &rp, &code, None).await.0, 200);
    }
    sqlx::query("UPDATE sessions SET expires_at = $1")
        .bind(now - 1)
        .execute(&app.db)
        .await
        .unwrap();
    // What a second node's pass reads at the same moment.
    let stale_page =
        latchkey::server::store::sessions::over_with_live_grants(&app.state.db, now, "", 10)
            .await
            .unwrap();
    assert_eq!(stale_page.len(), 3);
    let told = latchkey::server::services::oidc::logout::sessions_over(&app.state.db, now, 1)
        .await
        .unwrap();
    assert_eq!(told, 3);
    logout_tokens(&received, 4).await;

    // These grants have offline_access and outlive their sessions, so the sessions would still
    // qualify: the node with the stale page finds each gone and tells no app a second time.
    for session_id in &stale_page {
        let told_again = latchkey::server::services::oidc::logout::session_ran_out(
            &app.state.db,
            session_id,
            now,
        )
        .await
        .unwrap();
        assert!(!told_again, "{session_id} told twice");
    }
    let queued: i64 = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'backchannel_logout'")
        .await;
    assert_eq!(queued, 4);
    let offline_grants_live: i64 = app
        .scalar("SELECT COUNT(*) FROM oidc_grants WHERE revoked_at IS NULL")
        .await;
    assert_eq!(
        offline_grants_live, 3,
        "offline grants outlive their sessions"
    );
}

#[tokio::test]
async fn an_authorization_the_database_cannot_answer_says_try_again_not_unknown_app() {
    let app = spawn_app().await;
    let rp = client(&app, false, true, None).await;
    let token = app.signed_up("waiting").await;
    app.state.db.close().await;
    // Nothing could be checked: no redirect to the app (its address is not known to be
    // registered), and not "this app is not registered" either, which would be untrue.
    let answer = authorize(&app, Some(&cookie(&token)), &asked(&rp, &[])).await;
    assert_eq!(location(&answer), "/oauth/problem?reason=unavailable");
    let page = problem_page(&app, "unavailable").await;
    assert_eq!(page.status(), 503);
    assert_eq!(page.headers()["retry-after"], "5");
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("briefly unavailable. Go back and try again in a moment."));
}
