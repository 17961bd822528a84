//! The signed-in half over HTTP: verification mail and links, password change, credits,
//! upgrade, forgot e-mail, and delivery through the outbox (SPEC §2.2, 2.6–2.9, §3, §6).

use crate::common::smtp::SmtpSink;
use crate::common::{eventually, json, sent, spawn_app, spawn_app_with, Mail, TestApp, PASSWORD};
use latchkey::domain::Credits;
use latchkey::server::services::credits;
use latchkey::server::store::audit::RequestMeta;
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn verified_user(app: &TestApp, name: &str) -> String {
    let token = app.signed_up(name).await;
    app.verify_email_of(&format!("{name}@example.com")).await;
    token
}

#[tokio::test]
async fn registration_mails_a_verification_link_into_the_outbox() {
    let app = spawn_app().await;
    app.register("mailme", "MailMe@Example.com", PASSWORD).await;
    let mail = app
        .mail_to("MailMe@Example.com", "Confirm your e-mail address")
        .await;
    let link = mail.link();
    assert!(
        link.starts_with(&app.at("/v2/account/email/verify/mailme/")),
        "{link}"
    );
    assert!(
        mail.html.contains(&link),
        "the HTML part carries the same link"
    );
    assert!(mail.text.starts_with("Hello mailme"));
    // Only a digest of the token is stored.
    let token = link.rsplit('/').next().unwrap();
    let stored: String = app
        .scalar("SELECT token_hash FROM email_verifications")
        .await;
    assert_ne!(stored, token);
    assert!(!stored.contains(token));
}

#[tokio::test]
async fn messages_follow_the_language_the_account_signed_up_in() {
    let app = spawn_app().await;
    app.http
        .post(app.at("/v2/auth/register"))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .form(&[
            ("username", "lihua"),
            ("password", PASSWORD),
            ("email_address", "lihua@example.cn"),
        ])
        .send()
        .await
        .unwrap();
    let mail = app.mail_to("lihua@example.cn", "请确认").await;
    assert!(mail.text.contains("您好"));
    assert!(mail.link().contains("/v2/account/email/verify/lihua/"));
}

#[tokio::test]
async fn the_verification_link_works_once() {
    let app = spawn_app().await;
    let token = app.signed_up("once").await;
    let link = app.mail_to("once@example.com", "Confirm").await.link();

    let (status, body) = sent(app.http.get(&link)).await;
    assert_eq!(
        (status, body),
        (200, json!({"code": 200, "response": "email verified"}))
    );
    assert!(email_verified(&app).await);

    let (status, body) = sent(app.http.get(&link)).await;
    assert_eq!(status, 400);
    assert!(body["response"]
        .as_str()
        .unwrap()
        .contains("invalid, has been used, or has expired"));
    // Still signed in and fine.
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &token)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_browser_opening_the_link_gets_the_confirmation_page_and_the_token_survives() {
    let app = spawn_app().await;
    app.register("clicker", "clicker@example.com", PASSWORD)
        .await;
    let link = app.mail_to("clicker@example.com", "Confirm").await.link();
    let response = app
        .http
        .get(&link)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let page = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(page.starts_with("/verify-email/clicker/"), "{page}");
    let html = app
        .http
        .get(app.at(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Verify my e-mail address"));
    // Opening the page used nothing up: the one click (here, the form post) verifies.
    let token = page.rsplit('/').next().unwrap();
    let response = app
        .http
        .post(app.at("/rpc/verify_email"))
        .header("accept", "text/html")
        .header("referer", app.at(&page))
        .form(&[("username", "clicker"), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/email-verified");
    assert!(email_verified(&app).await);
}

#[tokio::test]
async fn expired_or_mismatched_links_verify_nothing() {
    let app = spawn_app().await;
    app.register("late", "late@example.com", PASSWORD).await;
    let link = app.mail_to("late@example.com", "Confirm").await.link();
    let token = link.rsplit('/').next().unwrap().to_owned();

    for path in [
        format!("/v2/account/email/verify/someone-else/{token}"),
        "/v2/account/email/verify/late/not-a-real-token".to_owned(),
    ] {
        let (status, _) = sent(app.http.get(app.at(&path))).await;
        assert_eq!(status, 400, "{path}");
    }
    sqlx::query("UPDATE email_verifications SET expires_at = expires_at - 86401")
        .execute(&app.db)
        .await
        .unwrap();
    let (status, _) = sent(app.http.get(&link)).await;
    assert_eq!(status, 400);
    assert!(!email_verified(&app).await);
}

#[tokio::test]
async fn the_username_in_the_link_is_case_insensitive() {
    let app = spawn_app().await;
    app.register("CaseUser", "case@example.com", PASSWORD).await;
    let link = app.mail_to("case@example.com", "Confirm").await.link();
    let shouted = link.replace("/CaseUser/", "/CASEUSER/");
    let (status, _) = sent(app.http.get(&shouted)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_new_link_can_be_asked_for_at_most_once_a_minute() {
    let app = spawn_app().await;
    let token = app.signed_up("resender").await;
    // Registration just sent one.
    let response = app
        .post_with_token("/v2/account/email/verify/resend", &token, &[])
        .await;
    // A minute from the registration's send, in whole seconds: 59 when a second ticked over
    // between the two (a loaded machine takes that long for a sign-up and a login).
    let wait = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(wait == "60" || wait == "59", "{wait}");
    let (status, body) = json(response).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], 429);

    sqlx::query("UPDATE send_log SET sent_at = sent_at - 61")
        .execute(&app.db)
        .await
        .unwrap();
    let (status, body) = json(
        app.post_with_token("/v2/account/email/verify/resend", &token, &[])
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"code": 200, "response": "a new verification link is on its way"})
        )
    );
    let links: i64 = app.scalar("SELECT COUNT(*) FROM email_verifications").await;
    assert_eq!(links, 2);

    // Five an hour at most.
    for _ in 0..3 {
        sqlx::query("UPDATE send_log SET sent_at = sent_at - 61")
            .execute(&app.db)
            .await
            .unwrap();
        assert_eq!(
            app.post_with_token("/v2/account/email/verify/resend", &token, &[])
                .await
                .status(),
            200
        );
    }
    sqlx::query("UPDATE send_log SET sent_at = sent_at - 61")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app
        .post_with_token("/v2/account/email/verify/resend", &token, &[])
        .await;
    assert_eq!(response.status(), 429);
    // The real wait: until registration's link, 5 × 61 s ago, leaves the hour.
    let wait: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3600 - 5 * 61 - 2..=3600 - 5 * 61).contains(&wait),
        "{wait}"
    );
}

#[tokio::test]
async fn a_verified_account_needs_no_new_link_and_strangers_get_none() {
    let app = spawn_app().await;
    let token = verified_user(&app, "done").await;
    let (status, body) = json(
        app.post_with_token("/v2/account/email/verify/resend", &token, &[])
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["response"], "the e-mail address is already verified");
    let (status, _) = sent(app.http.post(app.at("/v2/account/email/verify/resend"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn changing_the_password_revokes_old_tokens_and_sends_a_notice() {
    let app = spawn_app().await;
    let token = app.signed_up("changer").await;
    let (status, body) = json(
        app.post_with_token(
            "/v2/account/password/change",
            &token,
            &[("old_password", PASSWORD), ("new_password", NEW_PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"code": 200, "response": "password changed"}))
    );

    // Every token from before is dead, the caller's own included.
    let (status, _) = json(
        app.get_with_token("/v2/account/credits/available", &token)
            .await,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.get_with_token("/v2/auth/refresh", &token)
            .await
            .status(),
        401
    );
    // The old password no longer works; the new one does.
    assert_eq!(app.login("changer", PASSWORD).await.status(), 401);
    assert_eq!(app.login("changer", NEW_PASSWORD).await.status(), 200);

    let notice = app
        .mail_to("changer@example.com", "Your password was changed")
        .await;
    assert!(notice.text.contains("changed on"));
}

#[tokio::test]
async fn a_password_change_with_a_wrong_or_weak_password_changes_nothing() {
    let app = spawn_app().await;
    let token = app.signed_up("careful").await;
    for (old, new, expected) in [
        (
            "not my password",
            NEW_PASSWORD,
            "current password is not correct",
        ),
        (PASSWORD, "short", "at least 8"),
        (PASSWORD, "password123", "most common"),
        (
            PASSWORD,
            "careful@example.com",
            "cannot be your username or e-mail",
        ),
        (PASSWORD, PASSWORD, "same as the current one"),
    ] {
        let (status, body) = json(
            app.post_with_token(
                "/v2/account/password/change",
                &token,
                &[("old_password", old), ("new_password", new)],
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{old} → {new}");
        assert!(
            body["response"].as_str().unwrap().contains(expected),
            "{body}"
        );
    }
    let (status, body) = json(
        app.post_with_token(
            "/v2/account/password/change",
            &token,
            &[("old_password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["response"].as_str().unwrap()),
        (400, "new_password is required")
    );
    // Nothing changed: the token lives and the password still works.
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &token)
            .await
            .status(),
        200
    );
    assert_eq!(app.login("careful", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn credits_start_at_the_configured_amount_and_read_as_a_number() {
    let app = spawn_app_with(|c| c.starting_credits = "12.5".into()).await;
    let token = app.signed_up("rich").await;
    let (status, body) = json(
        app.get_with_token("/v2/account/credits/available", &token)
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"code": 200, "response": 12.5}))
    );
    let (status, _) = sent(app.http.get(app.at("/v2/account/credits/available"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn concurrent_credit_grants_add_up_exactly() {
    let app = spawn_app().await;
    let token = app.signed_up("granted").await;
    let meta = RequestMeta::default();
    let grant = Credits::parse("0.000001").unwrap();
    let grants = (0..200).map(|_| credits::adjust(&app.state.db, "granted", grant, &meta));
    for result in futures::future::join_all(grants).await {
        result.expect("every grant succeeds");
    }
    let big = Credits::parse("10000464.996096").unwrap();
    credits::adjust(&app.state.db, "GRANTED", big, &meta)
        .await
        .unwrap();
    let (_, body) = json(
        app.get_with_token("/v2/account/credits/available", &token)
            .await,
    )
    .await;
    assert_eq!(body["response"], 10000464.996296);
    let audited: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'credits.adjusted'")
        .await;
    assert_eq!(audited, 201);
}

#[tokio::test]
async fn credits_never_go_below_zero() {
    let app = spawn_app().await;
    app.signed_up("poor").await;
    let meta = RequestMeta::default();
    assert!(
        credits::adjust(&app.state.db, "poor", Credits::parse("-1").unwrap(), &meta)
            .await
            .is_err()
    );
    assert!(
        credits::adjust(&app.state.db, "nobody", Credits::parse("1").unwrap(), &meta)
            .await
            .is_err()
    );
    let micro: i64 = app.scalar("SELECT credits_micro FROM users").await;
    assert_eq!(micro, 0);
}

#[tokio::test]
async fn the_credits_command_grants_deducts_and_refuses_overdrafts() {
    let app = spawn_app().await;
    let token = app.signed_up("cli").await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .env("LATCHKEY_DATA_DIR", app.data_dir.path())
            .env("LATCHKEY_DATABASE_URL", &app.database_url)
            .output()
            .unwrap()
    };
    let out = run(&["credits", "grant", "cli", "12.5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "cli: 12.5 credits"
    );
    let out = run(&["credits", "deduct", "cli", "20"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("below zero"));
    let out = run(&["credits", "deduct", "cli", "2.25"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "cli: 10.25 credits"
    );
    let out = run(&["credits", "grant", "cli", "abc"]);
    assert!(!out.status.success());
    let (_, body) = json(
        app.get_with_token("/v2/account/credits/available", &token)
            .await,
    )
    .await;
    assert_eq!(body["response"], 10.25);
}

#[tokio::test]
async fn upgrading_needs_a_verified_address_and_happens_once() {
    let app = spawn_app().await;
    let token = app.signed_up("upper").await;
    let (status, body) = json(
        app.post_with_token("/v2/account/upgrade", &token, &[])
            .await,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["response"],
        "verify your e-mail address before upgrading"
    );

    app.verify_email_of("upper@example.com").await;
    let (status, body) = json(
        app.post_with_token("/v2/account/upgrade", &token, &[])
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"code": 200, "response": "account upgraded"}))
    );
    let (status, body) = json(
        app.post_with_token("/v2/account/upgrade", &token, &[])
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"code": 400, "response": "account is already upgraded"})
        )
    );
    app.mail_to("upper@example.com", "Your account is upgraded")
        .await;
    let plan: String = app.scalar("SELECT plan FROM users").await;
    assert_eq!(plan, "paid");
}

#[tokio::test]
async fn of_concurrent_upgrades_exactly_one_succeeds() {
    let app = spawn_app().await;
    let token = verified_user(&app, "racer").await;
    let attempts = (0..10).map(|_| app.post_with_token("/v2/account/upgrade", &token, &[]));
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
        statuses.iter().filter(|&&s| s == 400).count(),
        9,
        "{statuses:?}"
    );
    let upgrades: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'plan.upgraded'")
        .await;
    assert_eq!(upgrades, 1);
}

#[tokio::test]
async fn forgot_email_returns_the_address_on_both_documented_paths() {
    let app = spawn_app().await;
    let token = app.signed_up("forgetful").await;
    for path in ["/v2/forgot/email", "/v2/account/email/forgot"] {
        let (status, body) = json(
            app.post_with_token(path, &token, &[("email_address", "ignored")])
                .await,
        )
        .await;
        assert_eq!(
            (status, body),
            (
                200,
                json!({"code": 200, "response": "forgetful@example.com"})
            ),
            "{path}"
        );
        let (status, _) = sent(app.http.post(app.at(path))).await;
        assert_eq!(status, 401, "{path}");
    }
}

#[tokio::test]
async fn mail_goes_out_over_smtp_when_configured() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| c.smtp_url = Some(sink.url().into())).await;
    app.register("smtpuser", "smtpuser@example.com", PASSWORD)
        .await;
    let message = eventually("a delivered message", async || {
        sink.messages().into_iter().next()
    })
    .await;
    assert_eq!(message.to, vec!["<smtpuser@example.com>".to_owned()]);
    let mail = Mail::parse(message.data.as_bytes());
    assert_eq!(mail.subject, "Confirm your e-mail address");
    assert!(mail.link().contains("/v2/account/email/verify/smtpuser/"));
    assert!(
        app.outbox().is_empty(),
        "nothing goes to the directory when SMTP is set"
    );
}

#[tokio::test]
async fn a_mail_server_that_is_down_delays_mail_but_loses_none() {
    let sink = SmtpSink::start().await;
    sink.refuse(true);
    let app = spawn_app_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let response = app
        .register("patient", "patient@example.com", PASSWORD)
        .await;
    assert_eq!(
        response.status(),
        200,
        "the request does not wait for or fail on the mail server"
    );

    let (attempts, error): (i64, Option<String>) =
        eventually("a recorded delivery attempt", async || {
            let row: (i64, Option<String>) =
                sqlx::query_as("SELECT attempts, last_error FROM outbox")
                    .fetch_one(&app.db)
                    .await
                    .unwrap();
            (row.0 > 0).then_some(row)
        })
        .await;
    assert!(attempts >= 1);
    assert!(error.unwrap().contains("451"));
    assert!(sink.messages().is_empty());

    sink.refuse(false);
    let message = eventually("a delivered message", async || {
        sink.messages().into_iter().next()
    })
    .await;
    assert_eq!(message.to, vec!["<patient@example.com>".to_owned()]);
    // The worker records the delivery once the mail server has answered, a moment after the
    // sink has the message.
    eventually("the delivery recorded", async || {
        let sent: Option<String> = app.scalar("SELECT sent_at FROM outbox").await;
        sent
    })
    .await;
}

#[tokio::test]
async fn mail_queued_before_a_restart_goes_out_after_it() {
    let sink = SmtpSink::start().await;
    sink.refuse(true);
    let first = spawn_app_with(|c| c.smtp_url = Some(sink.url().into())).await;
    first
        .register("survivor", "survivor@example.com", PASSWORD)
        .await;
    // A second server on the same data directory and database, with the mail server back:
    // it picks the queued message up on start.
    let data_dir = first.data_dir.path().to_owned();
    let mut config = latchkey::server::config::Config::for_data_dir(&data_dir);
    config.database_url = Some(first.database_url.clone().into());
    config.hash_workers = Some(1);
    config.smtp_url = Some(sink.url().into());
    sink.refuse(false);
    // The first server's worker may be recording a failed attempt on the same row: at
    // SERIALIZABLE isolation this update is then refused and must simply be made again.
    eventually("the queued message made due", async || {
        sqlx::query("UPDATE outbox SET next_attempt_at = 0")
            .execute(&first.db)
            .await
            .ok()
    })
    .await;
    let _second = latchkey::server::startup::build(config)
        .await
        .unwrap()
        .spawn();
    let message = eventually("a delivered message", async || {
        sink.messages().into_iter().next()
    })
    .await;
    assert_eq!(message.to, vec!["<survivor@example.com>".to_owned()]);
}

/// Whether the (only) account's address is verified. Read as a number: SQLite stores booleans
/// as integers, PostgreSQL as booleans, and the test's connection reads either.
async fn email_verified(app: &TestApp) -> bool {
    let verified: i64 = app
        .scalar("SELECT CASE WHEN email_verified THEN 1 ELSE 0 END FROM users")
        .await;
    verified == 1
}

/// `latchkey clients …`: registering the apps that will sign their users in with Latchkey.
/// Secrets are shown once and stored only as a digest; every change is audited.
#[tokio::test]
async fn the_clients_command_registers_lists_rotates_and_removes_apps() {
    let app = spawn_app().await;
    // The command runs on a blocking thread: the server shares this test's runtime, and must
    // go on serving (and finish its own writes) while the command waits for the database.
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let data_dir = app.data_dir.path().to_owned();
        let database_url = app.database_url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
                    .args(&args)
                    .env("LATCHKEY_DATA_DIR", data_dir)
                    .env("LATCHKEY_DATABASE_URL", database_url)
                    .output()
                    .unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                (out.status.success(), stdout, stderr)
            })
            .await
            .unwrap()
        }
    };
    let (ok, out, err) = run(&[
        "clients",
        "add",
        "--name",
        "Grafana",
        "--redirect-uri",
        "https://grafana.example.com/login/generic_oauth",
        "--post-logout-redirect-uri",
        "https://grafana.example.com/",
        "--backchannel-logout-uri",
        "https://grafana.example.com/logout",
    ])
    .await;
    assert!(ok, "{err}");
    let issued: Value = serde_json::from_str(&out).unwrap();
    let client_id = issued["client_id"].as_str().unwrap().to_owned();
    let secret = issued["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "256 bits: {secret}");
    let stored: String = app.scalar("SELECT secret_hash FROM oidc_clients").await;
    assert!(!stored.contains(&secret), "kept only as a digest");

    // A public app gets no secret; plain http is refused unless it is this machine.
    let (ok, out, err) = run(&[
        "clients",
        "add",
        "--name",
        "CLI tool",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1:8765/callback",
    ])
    .await;
    assert!(ok, "{err}");
    let public: Value = serde_json::from_str(&out).unwrap();
    assert!(public.get("client_secret").is_none(), "{out}");
    for bad in [
        "http://grafana.example.com/cb",
        "https://a.example/cb#x",
        "/cb",
    ] {
        let (ok, _, err) = run(&["clients", "add", "--name", "X", "--redirect-uri", bad]).await;
        assert!(!ok, "{bad} was accepted");
        assert!(err.contains("redirect URI"), "{err}");
    }

    let (ok, out, _) = run(&["clients", "list"]).await;
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{out}");
    let grafana = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|client| client["client_id"] == client_id.as_str())
        .expect("the first client is listed");
    assert_eq!(grafana["name"], "Grafana");
    assert_eq!(grafana["public"], false);
    assert_eq!(
        grafana["backchannel_logout_uri"],
        "https://grafana.example.com/logout"
    );
    assert!(
        !out.contains(&secret) && !out.contains("secret_hash"),
        "{out}"
    );

    let (ok, out, err) = run(&["clients", "rotate-secret", &client_id]).await;
    assert!(ok, "{err}");
    let rotated: Value = serde_json::from_str(&out).unwrap();
    assert_ne!(rotated["client_secret"], secret.as_str());
    let after: String = app
        .scalar("SELECT secret_hash FROM oidc_clients WHERE name = 'Grafana'")
        .await;
    assert_ne!(after, stored);
    let public_id = public["client_id"].as_str().unwrap();
    let (ok, _, err) = run(&["clients", "rotate-secret", public_id]).await;
    assert!(!ok && err.contains("public client"), "{err}");

    let (ok, _, _) = run(&["clients", "remove", &client_id]).await;
    assert!(ok);
    let (ok, _, err) = run(&["clients", "remove", &client_id]).await;
    assert!(!ok && err.contains("no client"), "{err}");
    let audited: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event LIKE 'oidc.client%'")
        .await;
    assert_eq!(audited, 4, "two added, one rotated, one removed");
}
