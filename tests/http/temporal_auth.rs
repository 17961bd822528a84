//! Temporal v2 register / login / refresh over HTTP (seed 002, SPEC §3).

use crate::common::{json, sent, spawn_app, spawn_app_with, PASSWORD};
use reqwest::multipart;
use serde_json::{json, Value};

#[tokio::test]
async fn register_with_the_seeds_urlencoded_form_returns_the_scrubbed_user_object() {
    let app = spawn_app().await;
    let (status, body) = json(
        app.register("postables-demo", "Demo@Example.org", PASSWORD)
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["code"], 200);
    let user = &body["response"];
    assert!(user["ID"].as_i64().unwrap() > 0);
    assert_eq!(user["UserName"], "postables-demo");
    assert_eq!(user["EmailAddress"], "Demo@Example.org");
    assert_eq!(user["AccountEnabled"], true);
    assert_eq!(user["EmailEnabled"], false);
    assert_eq!(user["EmailVerificationToken"], "scrubbed");
    assert_eq!(user["HashedPassword"], "scrubbed");
    assert_eq!(user["AdminAccess"], false);
    assert_eq!(user["Free"], true);
    assert_eq!(user["Credits"], 0.0);
    assert_eq!(user["DeletedAt"], Value::Null);
    assert_eq!(user["IPFSKeyNames"], Value::Null);
    assert_eq!(user["IPFSKeyIDs"], Value::Null);
    assert_eq!(user["IPFSNetworkNames"], Value::Null);
    assert!(user["Status"]
        .as_str()
        .unwrap()
        .starts_with("by continuing to use this service you agree to be bound by the following api terms and service"));
    assert!(user["CreatedAt"].as_str().unwrap().ends_with('Z'));
    // The hash never leaves the server, in any field.
    assert!(!body.to_string().contains("argon2"));
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn register_accepts_multipart_form_data_as_the_seeds_formdata_sends() {
    let app = spawn_app().await;
    let form = multipart::Form::new()
        .text("username", "multi")
        .text("password", PASSWORD)
        .text("email_address", "multi@example.com");
    let response = app
        .http
        .post(app.at("/v2/auth/register"))
        .header("cache-control", "no-cache")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["UserName"], "multi");
}

#[tokio::test]
async fn register_accepts_json() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.at("/v2/auth/register"))
        .json(&json!({"username": "jason", "password": PASSWORD, "email_address": "jason@example.com"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response"]["EmailAddress"], "jason@example.com");
}

#[tokio::test]
async fn missing_fields_are_named_and_nothing_is_written() {
    let app = spawn_app().await;
    for (form, missing) in [
        (
            vec![("password", PASSWORD), ("email_address", "a@example.com")],
            "username",
        ),
        (
            vec![("username", "abc"), ("email_address", "a@example.com")],
            "password",
        ),
        (
            vec![("username", "abc"), ("password", PASSWORD)],
            "email_address",
        ),
        (
            vec![
                ("username", "  "),
                ("password", PASSWORD),
                ("email_address", "a@example.com"),
            ],
            "username",
        ),
    ] {
        let response = app
            .http
            .post(app.at("/v2/auth/register"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"code": 400, "response": format!("{missing} is required")})
        );
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn invalid_values_get_clear_messages_and_nothing_is_written() {
    let app = spawn_app().await;
    for (username, email, password, expected) in [
        ("ab", "a@example.com", PASSWORD, "3 to 32 characters"),
        ("has space", "a@example.com", PASSWORD, "letters a–z"),
        ("at@sign", "a@example.com", PASSWORD, "cannot contain @"),
        (
            "okname",
            "not-an-address",
            PASSWORD,
            "does not look like an e-mail",
        ),
        ("okname", "a@example.com", "short", "at least 8 characters"),
        ("okname", "a@example.com", "password1", "most common"),
        ("okname", "a@example.com", "okname", "at least 8"),
        (
            "okname123",
            "a@example.com",
            "OKNAME123",
            "cannot be your username",
        ),
    ] {
        let (status, body) = json(app.register(username, email, password).await).await;
        assert_eq!(status, 400, "{username} {email} {password}");
        assert_eq!(body["code"], 400);
        let message = body["response"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{message:?} should mention {expected:?}"
        );
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn taken_usernames_and_addresses_are_409_whatever_their_case() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("Taken", "taken@example.com", PASSWORD)
            .await
            .status(),
        200
    );

    let (status, body) = json(app.register("tAKEN", "other@example.com", PASSWORD).await).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], 409);
    assert!(body["response"]
        .as_str()
        .unwrap()
        .contains("username is taken"));

    let (status, body) = json(app.register("other", "TAKEN@example.COM", PASSWORD).await).await;
    assert_eq!(status, 409);
    assert!(body["response"]
        .as_str()
        .unwrap()
        .contains("e-mail address exists"));
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn concurrent_registrations_of_one_name_create_exactly_one_account() {
    // All from one address: lift the per-address limit, which would otherwise answer first.
    let app = spawn_app_with(|config| config.registrations_per_address_per_hour = 0).await;
    let emails: Vec<String> = (0..100).map(|i| format!("racer{i}@example.com")).collect();
    let attempts = emails
        .iter()
        .map(|email| app.register("racer", email, PASSWORD));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        99,
        "{statuses:?}"
    );
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn malformed_bodies_are_400_in_the_envelope_and_write_nothing() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{\"username\": \"x\"".to_vec()),
        ("application/json", b"[1,2,3]".to_vec()),
        (
            "application/json",
            b"{\"username\": 5, \"password\": \"x\", \"email_address\": \"y\"}".to_vec(),
        ),
        ("application/json", Vec::new()),
        (
            "application/x-www-form-urlencoded",
            b"username=%FF%FE&password=x&email_address=y".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"username=a&username=b".to_vec(),
        ),
        (
            "multipart/form-data; boundary=XYZ",
            b"--XYZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nabc".to_vec(),
        ),
        ("text/plain", b"\xff\xfe not utf8".to_vec()),
    ];
    for (content_type, body) in cases {
        let response = app
            .http
            .post(app.at("/v2/auth/register"))
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (status, envelope) = json(response).await;
        assert_eq!(
            status,
            400,
            "{content_type} {:?}: {envelope}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(envelope["code"], 400);
        assert!(envelope["response"].is_string());
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_in_the_envelope() {
    let app = spawn_app().await;
    let huge = "a".repeat(70 * 1024);
    let response = app
        .http
        .post(app.at("/v2/auth/register"))
        .form(&[
            ("username", huge.as_str()),
            ("password", PASSWORD),
            ("email_address", "a@example.com"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], 413);
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn login_with_json_sent_as_text_plain_returns_a_24_hour_token() {
    let app = spawn_app().await;
    app.register("loggy", "loggy@example.com", PASSWORD).await;
    let (status, body) = json(app.login("loggy", PASSWORD).await).await;
    assert_eq!(status, 200);
    // No envelope: exactly the two documented fields.
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    let expire = time::OffsetDateTime::parse(
        body["expire"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let hours = (expire - time::OffsetDateTime::now_utc()).whole_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "{hours}");
    assert!(body["expire"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn login_accepts_the_email_address_in_any_case_and_json_or_form_bodies() {
    let app = spawn_app().await;
    app.register("maily", "Maily@Example.com", PASSWORD).await;
    let (status, _) = json(app.login("MAILY@example.COM", PASSWORD).await).await;
    assert_eq!(status, 200);
    let (status, _) = json(app.login("MAILY", PASSWORD).await).await;
    assert_eq!(status, 200);
    let response = app
        .http
        .post(app.at("/v2/auth/login"))
        .json(&json!({"username": "maily", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = app
        .http
        .post(app.at("/v2/auth/login"))
        .form(&[("username", "maily"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_identical_401() {
    let app = spawn_app().await;
    app.register("known", "known@example.com", PASSWORD).await;
    let wrong = json(app.login("known", "not the password").await).await;
    let unknown = json(app.login("nobody-here", PASSWORD).await).await;
    let nonsense = json(app.login("x", "y").await).await;
    let expected = (
        401,
        json!({"code": 401, "message": "Incorrect Username / Password"}),
    );
    assert_eq!(wrong, expected);
    assert_eq!(unknown, expected);
    assert_eq!(nonsense, expected);
}

#[tokio::test]
async fn failed_and_successful_logins_are_audited() {
    let app = spawn_app().await;
    app.register("audited", "audited@example.com", PASSWORD)
        .await;
    app.login("audited", "wrong password").await;
    app.login("audited", PASSWORD).await;
    let events: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT event, request_id FROM audit_log ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "register",
            "email.verification_sent",
            "login.failed",
            "login.succeeded"
        ]
    );
    assert!(events
        .iter()
        .all(|(_, id)| id.as_deref().is_some_and(|id| id.len() == 16)));
}

#[tokio::test]
async fn malformed_login_bodies_are_400_not_401() {
    let app = spawn_app().await;
    for body in ["", "{", "username=x", "{\"username\": \"x\"}", "null"] {
        let response = app
            .http
            .post(app.at("/v2/auth/login"))
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, envelope) = json(response).await;
        assert_eq!(status, 400, "{body:?}: {envelope}");
        assert_eq!(envelope["code"], 400);
        assert!(envelope["message"].is_string());
    }
}

#[tokio::test]
async fn refresh_exchanges_a_valid_bearer_token_for_a_new_one() {
    let app = spawn_app().await;
    let token = app.signed_up("fresh").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = app
        .http
        .get(app.at("/v2/auth/refresh"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    let fresh = body["token"].as_str().unwrap();
    assert_ne!(fresh, token, "a refreshed token has a later expiry");
    // The new token works in turn.
    let again = app
        .http
        .get(app.at("/v2/auth/refresh"))
        .bearer_auth(fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn refresh_without_a_valid_token_is_401() {
    let app = spawn_app().await;
    let token = app.signed_up("tamper").await;
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    for auth in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer not.a.token".to_owned()),
        Some(format!("Bearer {tampered}")),
        Some(format!("Basic {token}")),
    ] {
        let mut request = app.http.get(app.at("/v2/auth/refresh"));
        if let Some(auth) = &auth {
            request = request.header("authorization", auth);
        }
        let (status, body) = json(request.send().await.unwrap()).await;
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(body["code"], 401);
    }
}

#[tokio::test]
async fn a_deleted_or_disabled_account_cannot_refresh() {
    let app = spawn_app().await;
    let token = app.signed_up("gone").await;
    sqlx::query("UPDATE users SET account_enabled = FALSE")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app
        .http
        .get(app.at("/v2/auth/refresh"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, _) = json(app.login("gone", PASSWORD).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s_in_their_surfaces_envelope() {
    let app = spawn_app().await;
    let (status, body) = sent(app.http.get(app.at("/v2/no/such/thing"))).await;
    assert_eq!(
        (status, body),
        (404, json!({"code": 404, "response": "no such endpoint"}))
    );

    let response = app
        .http
        .post(app.at("/api/v3/no-such-thing"))
        .send()
        .await
        .unwrap();
    let header_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, body) = json(response).await;
    assert_eq!(status, 404);
    assert_eq!(body["statusCode"], 404);
    assert_eq!(body["requestId"], header_id.as_str());
    assert_eq!(body["data"], Value::Null);

    let (status, body) = sent(app.http.get(app.at("/v2/auth/register"))).await;
    assert_eq!(status, 405);
    assert_eq!(body["code"], 405);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    for path in ["/v2/auth/refresh", "/login", "/nowhere", "/v2/nowhere"] {
        let response = app.http.get(app.at(path)).send().await.unwrap();
        let id = response
            .headers()
            .get("x-request-id")
            .expect(path)
            .to_str()
            .unwrap();
        assert_eq!(id.len(), 16, "{path}");
    }
}
