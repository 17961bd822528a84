//! Abuse limits and page headers (SPEC §7): login lockouts per account, limits per
//! client address, the Content-Security-Policy nonce, and no referrer from token pages.

use crate::common::smtp::SmtpSink;
use crate::common::{
    eventually_within, json, sent, spawn_app, spawn_app_with, test_state_with, PASSWORD,
};
use serde_json::json;

/// A lockout answer with the number of seconds taken out, to compare two of them.
fn shape(status: u16, body: &serde_json::Value) -> (u16, String) {
    let text = body.to_string();
    let digits_out: String = text.chars().filter(|c| !c.is_ascii_digit()).collect();
    (status, digits_out)
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    app.signed_up("locked").await;
    // `signed_up` logged in once; that success cleared the count.
    for attempt in 1..=5 {
        let (status, _) = json(app.login("locked", "not the password").await).await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let answer = app.login("locked", PASSWORD).await;
    let retry_after: i64 = answer.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15).contains(&retry_after), "{retry_after}");
    let (status, body) = json(answer).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], 429);
    assert!(body["message"].as_str().unwrap().contains("try again"));

    // The e-mail address names the same account but has a lock of its own: a lock on one
    // identifier must not tell anyone which others name the same account, nor keep the owner
    // out through another.
    let (status, _) = json(app.login("locked@example.com", PASSWORD).await).await;
    assert_eq!(status, 200);
    let (status, _) = json(app.login("locked", PASSWORD).await).await;
    assert_eq!(status, 429, "the name stays locked");
    // Another spelling of the same name is the same lock, not a fresh budget.
    let (status, _) = json(app.login(" LOCKED ", PASSWORD).await).await;
    assert_eq!(status, 429, "a variant of the name shares its lock");

    // Once the lock has passed, the right password works again and resets the count.
    sqlx::query("UPDATE login_throttle SET locked_until = 0")
        .execute(&app.db)
        .await
        .unwrap();
    let (status, _) = json(app.login("locked", PASSWORD).await).await;
    assert_eq!(status, 200);
    let (status, _) = json(app.login("locked", "not the password").await).await;
    assert_eq!(status, 401, "a success starts the count afresh");

    let events: Vec<String> =
        sqlx::query_scalar("SELECT event FROM audit_log WHERE event LIKE 'login.%' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        events.iter().filter(|e| *e == "login.failed").count(),
        6,
        "refused attempts never reach the password check: {events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| *e == "login.succeeded").count(),
        3,
        "{events:?}"
    );
}

#[tokio::test]
async fn a_lockout_looks_the_same_for_names_that_do_not_exist() {
    let app = spawn_app().await;
    app.signed_up("realname").await;
    for _ in 0..5 {
        app.login("realname", "wrong password").await;
        app.login("ghostname", "wrong password").await;
    }
    let (real_status, real) = json(app.login("realname", PASSWORD).await).await;
    let (ghost_status, ghost) = json(app.login("ghostname", PASSWORD).await).await;
    assert_eq!(real_status, 429);
    assert_eq!(shape(real_status, &real), shape(ghost_status, &ghost));
}

#[tokio::test]
async fn parallel_guesses_are_cut_off_after_five() {
    let app = spawn_app().await;
    app.signed_up("rushed").await;
    let guesses = (0..20).map(|i| app.login("rushed", if i == 19 { PASSWORD } else { "guess" }));
    let statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let checked = statuses.iter().filter(|&&s| s != 429).count();
    assert_eq!(checked, 5, "exactly five passwords checked: {statuses:?}");
    assert!(statuses.iter().all(|&s| [200, 401, 429].contains(&s)));
}

#[tokio::test]
async fn logins_from_one_address_are_limited_across_accounts() {
    let app = spawn_app_with(|config| config.logins_per_address_per_minute = 3).await;
    for name in ["first", "second", "third"] {
        let (status, _) = json(app.login(name, "whatever password").await).await;
        assert_eq!(status, 401);
    }
    let answer = app.login("fourth", "whatever password").await;
    assert!(answer.headers().contains_key("retry-after"));
    let (status, body) = json(answer).await;
    assert_eq!((status, body["code"].as_i64()), (429, Some(429)), "{body}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_is_counted_apart() {
    let app = spawn_app_with(|config| {
        config.logins_per_address_per_minute = 1;
        config.trust_forwarded_for = true;
    })
    .await;
    let login_from = |addr: &'static str| {
        app.http
            .post(app.at("/v2/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.99, {addr}"))
            .json(&json!({"username": "nobody", "password": "whatever password"}))
            .send()
    };
    assert_eq!(login_from("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(login_from("198.51.100.2").await.unwrap().status(), 401);
    assert_eq!(login_from("198.51.100.1").await.unwrap().status(), 429);
    let recorded: Vec<Option<String>> =
        sqlx::query_scalar("SELECT client_addr FROM audit_log WHERE event = 'login.failed'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        recorded,
        [Some("198.51.100.1".into()), Some("198.51.100.2".into())],
        "the proxy's entry, not the client's claim, is recorded"
    );
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_for_is_ignored() {
    let app = spawn_app_with(|config| config.logins_per_address_per_minute = 1).await;
    let login_claiming = |addr: &'static str| {
        app.http
            .post(app.at("/v2/auth/login"))
            .header("x-forwarded-for", addr)
            .json(&json!({"username": "nobody", "password": "whatever password"}))
            .send()
    };
    assert_eq!(login_claiming("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(login_claiming("198.51.100.2").await.unwrap().status(), 429);
}

#[tokio::test]
async fn registrations_from_one_address_are_limited() {
    let app = spawn_app_with(|config| config.registrations_per_address_per_hour = 2).await;
    for name in ["reg1", "reg2"] {
        let email = format!("{name}@example.com");
        assert_eq!(app.register(name, &email, PASSWORD).await.status(), 200);
    }
    let (status, body) = json(app.register("reg3", "reg3@example.com", PASSWORD).await).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], 429);
    assert_eq!(app.user_count().await, 2, "nothing written");
}

#[tokio::test]
async fn sends_from_one_address_are_limited_whatever_the_destination() {
    let app = spawn_app_with(|config| config.sends_per_address_per_hour = 2).await;
    let send = |to: String| {
        app.post_json(
            "/api/v3/send-email",
            json!({"email": to, "channel": "CHANNEL_RESET_PASSWORD"}),
        )
    };
    for i in 0..2 {
        let (status, body) = json(send(format!("someone{i}@example.com")).await).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = json(send("someone9@example.com".into()).await).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["apiCode"], 1429);
    // The Temporal and Tangerine surfaces draw on the same allowance.
    let (status, _) = json(
        app.post_json(
            "/v2/forgot/username",
            json!({"email_address": "x@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn pages_carry_a_nonce_policy_that_matches_their_scripts() {
    let app = spawn_app().await;
    let page = app.http.get(app.at("/login")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(csp.contains("script-src 'self'") && csp.contains("'wasm-unsafe-eval'"));
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every script carries this response's nonce"
    );

    let again = app.http.get(app.at("/login")).send().await.unwrap();
    assert_ne!(
        again.headers()["content-security-policy"].to_str().unwrap(),
        csp,
        "a fresh nonce per response"
    );

    let api = app.http.get(app.at("/api/v3/system")).send().await.unwrap();
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn pages_with_a_token_in_their_address_send_no_referrer() {
    let app = spawn_app().await;
    let policy = |path: &'static str| {
        let request = app.http.get(app.at(path)).send();
        async move {
            let response = request.await.unwrap();
            response.headers()["referrer-policy"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(policy("/reset-password?token=abc").await, "no-referrer");
    assert_eq!(policy("/forgot/password?token=abc").await, "no-referrer");
    assert_eq!(policy("/verify-email/someone/abc").await, "no-referrer");
    assert_eq!(policy("/login").await, "same-origin");
    for path in ["/login", "/reset-password?token=abc", "/v2/nowhere"] {
        let response = app.http.get(app.at(path)).send().await.unwrap();
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
    }
}

#[tokio::test]
async fn the_purge_deletes_what_expired_and_keeps_what_is_live() {
    use latchkey::server::store::purge;
    let app = spawn_app().await;
    app.signed_up("purged").await;
    let now = latchkey::server::store::unix_now();
    let run = |sql: String| {
        let db = app.db.clone();
        async move { sqlx::query(&sql).execute(&db).await.unwrap() }
    };
    // Whatever sign-up left (its verification link, its delivered mail) starts live.
    run("DELETE FROM email_verifications".into()).await;
    for (tag, expires) in [("old", now - 1), ("live", now + 600)] {
        run(format!(
            "INSERT INTO passcodes (channel, destination, purpose, user_id, code_mac, created_at, expires_at) \
             VALUES ('email', '{tag}@example.com', 'reset_password', 1, 'mac', {now}, {expires})"
        ))
        .await;
        run(format!(
            "INSERT INTO reset_tokens (token_hash, kind, user_id, created_at, expires_at) \
             VALUES ('{tag}', 'reset', 1, {now}, {expires})"
        ))
        .await;
        run(format!(
            "INSERT INTO email_verifications (token_hash, user_id, email_key, created_at, expires_at) \
             VALUES ('{tag}', 1, 'purged@example.com', {now}, {expires})"
        ))
        .await;
        run(format!(
            "INSERT INTO second_factor_challenges (token_hash, user_id, throttle_key, expires_at) \
             VALUES ('{tag}', 1, 'user:1:username', {expires})"
        ))
        .await;
        run(format!(
            "INSERT INTO webauthn_ceremonies (token_hash, purpose, state, expires_at) \
             VALUES ('{tag}', 'sign_in', '{{}}', {expires})"
        ))
        .await;
    }
    run(format!(
        "INSERT INTO send_log VALUES ('email', 'a', {}), ('email', 'a', {})",
        now - 3601,
        now - 60
    ))
    .await;
    run(format!(
        "INSERT INTO login_throttle VALUES ('name:old', 9, {}, {}, 9, {}), ('name:locked', 9, {}, {}, 9, {})",
        now - 10, now - 7200, now - 4000,
        now + 900, now - 100, now - 100
    ))
    .await;
    run(format!(
        "INSERT INTO outbox (channel, recipient, body_text, created_at, next_attempt_at, sent_at) VALUES \
         ('email', 'old@example.com', '', 'x', 0, '2000-01-01T00:00:00Z'), \
         ('email', 'queued@example.com', 'body', 'x', {now}, NULL)"
    ))
    .await;
    // Past its fixed end, and idle past its last token's day; the sign-up's own stays.
    run(format!(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at) VALUES \
         ('ended', 1, {}, {}, {}), ('idle', 1, {}, {}, {})",
        now - 40 * 86400,
        now - 1,
        now - 3600,
        now - 2 * 86400,
        now + 86400,
        now - 86400 - 61
    ))
    .await;
    let outbox_before: i64 = app.scalar("SELECT COUNT(*) FROM outbox").await;
    // Admin API tokens: expired a month ago, revoked a month ago, and revoked yesterday (the
    // console still lists that one).
    run(format!(
        "INSERT INTO admin_tokens (id, user_id, token_hash, name, read_only, created_at, expires_at, revoked_at) VALUES \
         ('expired', 1, 'h1', 'x', TRUE, 0, {}, NULL), ('revoked', 1, 'h2', 'x', TRUE, 0, {}, {}), \
         ('recent', 1, 'h3', 'x', TRUE, 0, {}, {})",
        now - 30 * 86400 - 1,
        now + 86400,
        now - 30 * 86400 - 1,
        now + 86400,
        now - 86400
    ))
    .await;
    // An audit event past the retention (a year here), and one just inside it.
    let audit_at = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    run(format!(
        "INSERT INTO audit_log (at, event) VALUES ('{}', 'login.failed'), ('{}', 'login.failed')",
        audit_at(now - 366 * 86400),
        audit_at(now - 364 * 86400)
    ))
    .await;
    let audit_before: i64 = app.scalar("SELECT COUNT(*) FROM audit_log").await;

    // A full allowance (its arrival time passed); the sign-up's own may still be running.
    run(format!(
        "INSERT INTO client_limits VALUES ('send:192.0.2.1', {})",
        (now - 60) * 1000
    ))
    .await;
    let purged = purge::expired(&app.state.db, now, 365 * 86400)
        .await
        .unwrap();
    assert!(purged.client_limits >= 1, "{purged:?}");
    let purged = purge::Purged {
        client_limits: 0,
        ..purged
    };
    assert_eq!(
        purged,
        purge::Purged {
            passcodes: 1,
            reset_tokens: 1,
            email_verifications: 1,
            send_log: 1,
            login_throttle: 1,
            outbox: 1,
            sessions: 2,
            client_limits: 0,
            second_factor_challenges: 1,
            webauthn_ceremonies: 1,
            audit_log: 1,
            oidc: 0,
            account_life: 0,
            admin_tokens: 2,
        }
    );
    let kept: i64 = app
        .scalar("SELECT COUNT(*) FROM admin_tokens WHERE id = 'recent'")
        .await;
    assert_eq!(kept, 1);
    let audit_after: i64 = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    assert_eq!(
        audit_after,
        audit_before - 1,
        "only the event past the retention goes"
    );
    let outbox_after: i64 = app.scalar("SELECT COUNT(*) FROM outbox").await;
    assert_eq!(
        outbox_after,
        outbox_before - 1,
        "queued and recent mail stay"
    );
    let locked: i64 = app
        .scalar("SELECT COUNT(*) FROM login_throttle WHERE subject = 'name:locked'")
        .await;
    assert_eq!(locked, 1, "a running lock stays");
    assert_eq!(
        purge::expired(&app.state.db, now, 365 * 86400)
            .await
            .unwrap()
            .total(),
        0
    );
}

/// Rows in every table a request could write to.
async fn table_counts(app: &crate::common::TestApp) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for table in [
        "users",
        "outbox",
        "passcodes",
        "reset_tokens",
        "send_log",
        "email_verifications",
        "audit_log",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&app.db)
            .await
            .unwrap();
        counts.push((table.to_owned(), n));
    }
    counts
}

#[tokio::test]
async fn malformed_input_on_every_endpoint_is_a_4xx_envelope_and_writes_nothing() {
    let app = spawn_app().await;
    let token = app.signed_up("target").await;
    let huge_field = format!("{{\"username\": \"{}\"}}", "a".repeat(60 * 1024));
    let over_limit = format!("{{\"username\": \"{}\"}}", "a".repeat(70 * 1024));
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        ("truncated JSON", "application/json", b"{\"username\": \"ab".to_vec()),
        ("invalid UTF-8", "application/json", b"{\"username\": \"\xff\xfe\"}".to_vec()),
        ("JSON null", "application/json", b"null".to_vec()),
        ("JSON array", "application/json", b"[1, 2]".to_vec()),
        ("null fields", "application/json", br#"{"username": null, "password": null, "email": null, "email_address": null, "channel": null}"#.to_vec()),
        ("wrong types", "application/json", br#"{"username": 5, "password": [], "email": {}, "channel": true}"#.to_vec()),
        ("missing fields", "application/json", b"{}".to_vec()),
        ("XML", "application/xml", b"<user><name>x</name></user>".to_vec()),
        ("broken form", "application/x-www-form-urlencoded", b"username=%ZZ&&=%".to_vec()),
        ("empty", "application/json", Vec::new()),
        ("huge field", "application/json", huge_field.into_bytes()),
        ("over 64 KiB", "application/json", over_limit.into_bytes()),
    ];
    let endpoints = [
        "/v2/auth/register",
        "/v2/auth/login",
        "/v2/account/password/change",
        "/v2/forgot/username",
        "/v2/forgot/password",
        "/api/v3/send-email",
        "/api/v3/send-sms",
        "/api/v3/verify-reset-password-request",
        "/api/v3/reset-password",
        "/auth/lostPassword",
    ];
    let before = table_counts(&app).await;
    for path in endpoints {
        for (what, content_type, body) in &bodies {
            let response = app
                .http
                .post(app.at(path))
                .bearer_auth(&token)
                .header("content-type", *content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let (_, answer) = json(response).await;
            let context = format!("{path} with {what}: {status} {answer}");
            if path == "/auth/lostPassword" && status == 200 {
                // Tangerine answers `200 {}` to any well-formed body (seed 004); the seed's
                // own example posts an empty one.
                assert_eq!(answer, json!({}), "{context}");
                assert!(
                    matches!(
                        *what,
                        "empty" | "missing fields" | "null fields" | "huge field" | "broken form"
                    ),
                    "{context}"
                );
                continue;
            }
            if path.starts_with("/api/") {
                // Authing answers business failures as HTTP 200 (SPEC §4); only a body over
                // the limit is an HTTP error.
                let code = answer["statusCode"].as_u64().unwrap();
                assert!((400..500).contains(&code), "{context}");
                assert_eq!(status, if code == 413 { 413 } else { 200 }, "{context}");
                assert!(answer["apiCode"].as_u64().unwrap() >= 1000, "{context}");
                assert!(answer["message"].is_string(), "{context}");
            } else {
                assert!((400..500).contains(&status), "{context}");
                assert_eq!(answer["code"], status, "{context}");
                assert!(
                    answer["response"].is_string() || answer["message"].is_string(),
                    "{context}"
                );
            }
        }
    }
    // Audit rows for refused logins would be writes too; there must be none.
    assert_eq!(table_counts(&app).await, before);
    // And the account still works as it did.
    assert_eq!(app.login("target", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_panicking_handler_answers_a_500_envelope_and_the_server_lives_on() {
    use axum::routing::get;
    use latchkey::server::rest;
    let app = spawn_app().await;
    let state = crate::common::test_state(&app).await;
    // The same error layers every REST route gets, around handlers that panic.
    let boom = axum::Router::new()
        .route("/v2/boom", get(|| async { panic!("boom") as &str }))
        .route("/api/v3/boom", get(|| async { panic!("boom") as &str }))
        .route("/v2/fine", get(|| async { "fine" }));
    let router = rest::with_envelope_errors(boom).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let (status, body) = sent(app.http.get(format!("{url}/v2/boom"))).await;
    assert_eq!(
        (status, body),
        (
            500,
            json!({"code": 500, "response": "internal server error"})
        )
    );
    let (status, body) = sent(app.http.get(format!("{url}/api/v3/boom"))).await;
    assert_eq!(status, 500);
    assert_eq!(
        (body["statusCode"].as_u64(), body["apiCode"].as_u64()),
        (Some(500), Some(1500))
    );
    let fine = app.http.get(format!("{url}/v2/fine")).send().await.unwrap();
    assert_eq!(fine.text().await.unwrap(), "fine", "the server lives on");
}

#[tokio::test]
async fn forms_on_no_referrer_pages_without_javascript_come_back_to_their_page() {
    let app = spawn_app().await;
    let post = |page: &'static str| {
        app.http
            .post(app.at("/rpc/use_reset_link"))
            .header("accept", "text/html")
            .form(&[("__page", page), ("token", "not-a-real-token")])
            .send()
    };
    let response = post("/reset-password?token=not-a-real-token")
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(location, "/reset-password?token=not-a-real-token");
    let returned = response.headers()["set-cookie"].to_str().unwrap();
    assert!(returned.starts_with("latchkey_form="), "{returned}");
    // Anything but a path on this site is ignored: no open redirect.
    for hostile in ["//evil.example/", "https://evil.example/"] {
        let response = post(hostile).await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(!location.contains("evil"), "{location}");
    }
}

#[tokio::test]
async fn the_health_route_answers_ok() {
    let app = spawn_app().await;
    let response = app.http.get(app.at("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

/// Two workers on one database (two processes, later several nodes) must not send a message
/// twice: each claims its batch first. Every attempt at one row carries one Message-ID, and a
/// claim whose worker died runs out and the message goes out after all.
#[tokio::test]
async fn two_workers_send_each_message_once_with_a_stable_message_id() {
    use latchkey::server::delivery::messages::Email;
    use latchkey::server::store::{outbox, Tx};
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|c| c.smtp_url = Some(url.clone().into())).await;
    // Two more processes' worth of workers on the same database, woken at the same moment.
    let second = test_state_with(&app, |c| c.smtp_url = Some(url.clone().into())).await;
    let third = test_state_with(&app, |c| c.smtp_url = Some(url.into())).await;
    let mail = |n: usize| Email {
        to: format!("m{n}@example.com"),
        subject: format!("message {n}"),
        text: "text".into(),
        html: "<p>html</p>".into(),
    };
    // All queued in one transaction, so no worker sees any before the claims are in place: one
    // message held by a worker that died a while ago (its claim has run out), one still held
    // by a live worker.
    let now = latchkey::server::store::unix_now();
    let mut tx = app.state.db.begin_write().await.unwrap();
    for n in 0..30 {
        outbox::enqueue_email(&mut tx, &mail(n)).await.unwrap();
    }
    let expired = outbox::enqueue_email(&mut tx, &mail(30)).await.unwrap();
    let held = outbox::enqueue_email(&mut tx, &mail(31)).await.unwrap();
    for (id, until) in [(expired, now - 1), (held, now + 600)] {
        let claim = "UPDATE outbox SET claimed_until = $1 WHERE id = $2";
        match &mut tx {
            Tx::Sqlite(tx, _) => {
                sqlx::query(claim)
                    .bind(until)
                    .bind(id)
                    .execute(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                let done = sqlx::query(claim)
                    .bind(until)
                    .bind(id)
                    .execute(&mut **tx)
                    .await;
                done.map(|_| Default::default())
            }
        }
        .unwrap();
    }
    tx.commit().await.unwrap();
    // The server's own worker finds them on its next poll, a few seconds at most.
    second.mail.now();
    third.mail.now();
    // Each worker finds them on its next poll (5 s at most); allow a few.
    let patience = std::time::Duration::from_secs(30);
    eventually_within(patience, "31 delivered messages", async || {
        (sink.messages().len() >= 31).then_some(())
    })
    .await;
    // Both workers poll again meanwhile; nothing may arrive twice.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let received = sink.messages();
    let mut recipients: Vec<String> = received.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    let mut expected: Vec<String> = (0..31).map(|n| format!("<m{n}@example.com>")).collect();
    expected.sort();
    assert_eq!(recipients, expected, "each once; the held one not at all");

    let ids: Vec<String> = received.iter().map(|m| m.message_id()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("<outbox.")), "{ids:?}");
}

#[tokio::test]
async fn readyz_answers_while_the_database_does() {
    let app = spawn_app().await;
    let response = app.http.get(app.at("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    app.state.db.close().await;
    let response = app.http.get(app.at("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
}

/// The kid a token was signed with.
fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// A fresh token for `username` (password `PASSWORD`).
async fn token_of(app: &crate::common::TestApp, username: &str) -> String {
    let (_, body) = json(app.login(username, PASSWORD).await).await;
    body["token"].as_str().unwrap().to_owned()
}

/// Moves the start of signing key `kid` (time passing), and lets the server take it in.
async fn key_signs_from(app: &crate::common::TestApp, kid: &str, at: i64) {
    sqlx::query("UPDATE signing_keys SET signs_from = $1 WHERE kid = $2")
        .bind(at)
        .bind(kid)
        .execute(&app.db)
        .await
        .unwrap();
    latchkey::server::services::signing_keys::reload(&app.state.db, &app.state.tokens)
        .await
        .unwrap();
}

/// `latchkey keys rotate` adds a key that signs once announced; tokens of the old key keep
/// working until the old key's last tokens have expired, and nobody is signed out.
#[tokio::test]
async fn a_key_rotation_signs_nobody_out() {
    use latchkey::server::config::{Command, Config, KeysAction};
    use latchkey::server::services::signing_keys;
    let app = spawn_app().await;
    let old_token = app.signed_up("rotated").await;
    let old_kid = kid_of(&old_token);
    let mut config = Config::for_data_dir(app.data_dir.path());
    config.database_url = Some(app.database_url.clone().into());
    let rotate = Command::Keys {
        action: KeysAction::Rotate,
    };
    let said = latchkey::server::admin::run(&config, &rotate)
        .await
        .unwrap();
    let new_kid = said
        .strip_prefix("new session-token key ")
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .to_owned();
    assert_ne!(new_kid, old_kid);

    // Announced, not yet signing: after a reload the old key still signs.
    signing_keys::reload(&app.state.db, &app.state.tokens)
        .await
        .unwrap();
    assert_eq!(kid_of(&token_of(&app, "rotated").await), old_kid);

    // Two minutes later (the announcement has run): the new key signs, the old one verifies.
    let now = latchkey::server::store::unix_now();
    key_signs_from(&app, &new_kid, now - 1).await;
    let new_token = token_of(&app, "rotated").await;
    assert_eq!(kid_of(&new_token), new_kid);
    for token in [&old_token, &new_token] {
        let credits = app
            .get_with_token("/v2/account/credits/available", token)
            .await;
        assert_eq!(credits.status(), 200);
    }

    // A day after the new key took over, the old key's tokens have all expired: it is dropped,
    // and verifies nothing any more.
    key_signs_from(&app, &new_kid, now - 2 * 86400).await;
    let listed = latchkey::server::admin::run(
        &config,
        &Command::Keys {
            action: KeysAction::List,
        },
    )
    .await
    .unwrap();
    assert!(
        listed.starts_with(&format!("session {new_kid}")) && !listed.contains(&old_kid),
        "{listed}"
    );
    let old = app
        .get_with_token("/v2/account/credits/available", &old_token)
        .await;
    assert_eq!(old.status(), 401);
    let new = app
        .get_with_token("/v2/account/credits/available", &new_token)
        .await;
    assert_eq!(new.status(), 200);

    // A configured key is rotated by configuring another: the command says so, and rotates
    // only the OpenID Connect key it does keep.
    let mut configured = config.clone();
    configured.jwt_secret = Some("x".repeat(40).into());
    let said = latchkey::server::admin::run(&configured, &rotate)
        .await
        .unwrap();
    assert!(said.contains("LATCHKEY_JWT_SECRET"), "{said}");
    assert!(!said.contains("new session-token key"), "{said}");
    assert!(said.contains("new OpenID Connect key"), "{said}");
}

/// Per-address allowances live in the database: a second process on it sees what the first
/// spent, so a limit of N is N for the whole service.
#[tokio::test]
async fn a_second_process_shares_the_per_address_allowance() {
    use latchkey::server::services::client_limits::Action;
    let app = spawn_app_with(|c| c.registrations_per_address_per_hour = 2).await;
    for name in ["shared1", "shared2"] {
        let response = app
            .register(name, &format!("{name}@example.com"), PASSWORD)
            .await;
        assert_eq!(response.status(), 200);
    }
    let second = test_state_with(&app, |c| c.registrations_per_address_per_hour = 2).await;
    let loopback = Some("127.0.0.1".parse().unwrap());
    let refused = second.limits.admit(Action::Register, loopback).await;
    assert!(
        matches!(
            refused,
            Err(latchkey::server::services::ServiceError::RateLimited { .. })
        ),
        "{refused:?}"
    );
    let elsewhere = Some("192.0.2.44".parse().unwrap());
    second
        .limits
        .admit(Action::Register, elsewhere)
        .await
        .unwrap();
}

/// Generated secrets live in the database, so a second process on it gets the same ones; the
/// files an earlier version kept in the data directory are imported on the first start.
#[tokio::test]
async fn generated_secrets_are_shared_through_the_database_and_old_files_are_imported() {
    use latchkey::server::config::Config;
    use latchkey::server::startup;
    let app = spawn_app().await;
    let second = test_state_with(&app, |_| {}).await;
    assert_eq!(second.passcode_key, app.state.passcode_key);
    assert_eq!(
        second.ciphers.rsa_public_pem(),
        app.state.ciphers.rsa_public_pem()
    );
    assert_eq!(
        second.ciphers.sm2_public_hex(),
        app.state.ciphers.sm2_public_hex()
    );

    // An upgrade: the data directory has the old files, the database none of the secrets.
    let old = tempfile::tempdir().unwrap();
    let passcode_key = "ab".repeat(32);
    std::fs::write(old.path().join("passcode.key"), &passcode_key).unwrap();
    let mut config = Config::for_data_dir(old.path());
    let database = crate::common::test_database(old.path()).await;
    config.database_url = Some(database.url.clone().into());
    config.hash_workers = Some(1);
    let state = startup::build(config).await.unwrap().state;
    assert_eq!(hex::encode(&state.passcode_key), passcode_key);
}

/// The nonce a page's policy names, and the page with it taken out.
async fn page_without_nonce(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy")
        .to_owned();
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")));
    (nonce.clone(), html.replace(&nonce, "NONCE"))
}

#[tokio::test]
async fn signed_out_pages_kept_in_memory_match_a_fresh_render() {
    let app = spawn_app().await;
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut request = app.http.get(app.at(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for path in [
        "/",
        "/login",
        "/register",
        "/forgot/username",
        "/forgot/password",
    ] {
        // en-GB after en-US: one language, but the reset's phone form suggests another
        // calling code, so the page is kept apart.
        for language in ["en-US", "en-GB", "zh-CN"] {
            let plain = [("accept-language", language)];
            let (first_nonce, first) = page_without_nonce(get(path, &plain).await.unwrap()).await;
            let (kept_nonce, kept) = page_without_nonce(get(path, &plain).await.unwrap()).await;
            // Any other cookie of Latchkey's has the page rendered for the request.
            let with_cookie = [
                ("accept-language", language),
                ("cookie", "latchkey_other=1"),
            ];
            let (_, rendered) = page_without_nonce(get(path, &with_cookie).await.unwrap()).await;
            assert_ne!(first_nonce, kept_nonce, "{path} {language}: a fresh nonce");
            assert_eq!(first, kept, "{path} {language}");
            assert_eq!(
                kept, rendered,
                "{path} {language}: the kept page is the render"
            );
        }
    }
    let chinese = get("/login", &[("cookie", "latchkey_lang=zh-CN")])
        .await
        .unwrap();
    assert!(chinese
        .text()
        .await
        .unwrap()
        .contains(r#"<html lang="zh-CN""#));

    // A signed-in visitor's page names them, though the signed-out one is kept.
    let token = app.signed_up("kept_pages").await;
    let cookie = format!("latchkey_session={token}");
    let signed_in = get("/", &[("cookie", &cookie)]).await.unwrap();
    assert!(signed_in.text().await.unwrap().contains("kept_pages"));
}
