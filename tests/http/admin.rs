//! The operators' console's API (SPEC §14): who reaches it (admins' tokens only; everyone else
//! a 404), what each action does to the account and to every way into it, the audit trail of
//! each, the mail the owner gets, and the console's own listener.

use crate::common::{json, sent, spawn_app, spawn_app_with, TestApp, PASSWORD};
use crate::second_factors::{enrolled, mfa_token, second_step};
use latchkey::server::services::admin;
use latchkey::server::store::audit::RequestMeta;
use serde_json::{json, Value};

fn meta() -> RequestMeta {
    RequestMeta {
        client_addr: Some("command line".into()),
        ..RequestMeta::default()
    }
}

/// An admin (enrolled with an authenticator, made admin as the command line does) and a
/// read-write API token of theirs.
pub(crate) async fn admin_with_token(app: &TestApp, name: &str, read_only: bool) -> String {
    enrolled(app, name).await;
    admin::grant(&app.state.db, name, &meta()).await.unwrap();
    admin::token_for(&app.state.db, name, read_only, 30, &meta())
        .await
        .unwrap()
        .token
}

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], "about:blank");
    (status, body)
}

async fn api_get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.http
        .get(app.at(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn api_post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.at(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn id_of(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(name)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn enabled(app: &TestApp, id: i64) -> bool {
    // Counted: the test's own connection reads SQLite's booleans back as integers.
    let enabled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1 AND account_enabled = TRUE")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    enabled == 1
}

#[tokio::test]
async fn without_a_live_admin_token_every_admin_path_is_not_found() {
    let app = spawn_app().await;
    let session = app.signed_up("plainuser").await;
    let id = id_of(&app, "plainuser").await;
    let fake = "lka_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let paths = [
        "/admin/api/users?q=plain".to_owned(),
        format!("/admin/api/users/{id}"),
        "/admin/api/audit".to_owned(),
        "/admin/api/nothing/here".to_owned(),
    ];
    for path in &paths {
        let anonymous = app.http.get(app.at(path)).send().await.unwrap();
        assert_eq!(problem(anonymous).await.0, 404, "{path} without a token");
        // A user's own session token is no admin token.
        assert_eq!(
            problem(api_get(&app, path, &session).await).await.0,
            404,
            "{path}"
        );
        assert_eq!(
            problem(api_get(&app, path, fake).await).await.0,
            404,
            "{path}"
        );
    }
    let disable = format!("/admin/api/users/{id}/disable");
    let answer = api_post(&app, &disable, &session, json!({"reason": "x"})).await;
    assert_eq!(problem(answer).await.0, 404);
    assert!(enabled(&app, id).await, "nothing changed");

    // An ordinary account cannot be made admin without a second factor either.
    let refused = admin::grant(&app.state.db, "plainuser", &meta()).await;
    assert!(refused.unwrap_err().contains("no second factor"));
    let admins: i64 = app
        .scalar("SELECT COUNT(*) FROM users WHERE admin = TRUE")
        .await;
    assert_eq!(admins, 0);
}

#[tokio::test]
async fn search_finds_accounts_by_name_address_phone_and_id_and_every_use_is_audited() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    for name in ["alice", "alicia", "bob"] {
        app.signed_up(name).await;
    }
    sqlx::query(
        "UPDATE users SET phone_country_code = '86', phone_number = '13800138000', \
         phone_e164 = '+8613800138000' WHERE username = 'bob'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let names = |body: &Value| -> Vec<String> {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, body) = json(api_get(&app, "/admin/api/users?q=ALI", &token).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(&body),
        ["alice", "alicia"],
        "case-blind prefix, by name"
    );
    assert_eq!(body["more"], false);
    let (_, body) = json(api_get(&app, "/admin/api/users?q=bob%40exa", &token).await).await;
    assert_eq!(names(&body), ["bob"], "by e-mail prefix");
    let (_, body) = json(api_get(&app, "/admin/api/users?q=%2B86138", &token).await).await;
    assert_eq!(names(&body), ["bob"], "by phone");
    let id = id_of(&app, "alicia").await;
    let (_, body) = json(api_get(&app, &format!("/admin/api/users?q={id}"), &token).await).await;
    assert!(names(&body).contains(&"alicia".to_owned()), "by id: {body}");
    let (_, body) = json(api_get(&app, "/admin/api/users?q=zzz", &token).await).await;
    assert_eq!(names(&body), Vec::<String>::new());
    // Whatever is typed is a prefix, never a pattern.
    let (_, body) = json(api_get(&app, "/admin/api/users?q=%25", &token).await).await;
    assert_eq!(names(&body), Vec::<String>::new());

    let (status, body) = json(api_get(&app, &format!("/admin/api/users/{id}"), &token).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], "alicia");
    assert_eq!(body["user"]["enabled"], true);
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1);
    assert!(body["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "register"));
    let missing = api_get(&app, "/admin/api/users/999999", &token).await;
    assert_eq!(problem(missing).await.0, 404);
    let garbage = api_get(&app, "/admin/api/users/x'--", &token).await;
    assert_eq!(problem(garbage).await.0, 404);

    let uses: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'admin.api_token_used'")
        .await;
    assert_eq!(uses, 9, "every use of the token is audited");
    let stored: i64 = app
        .scalar("SELECT COUNT(*) FROM admin_tokens WHERE token_hash LIKE 'lka_%'")
        .await;
    assert_eq!(stored, 0, "only the hash is stored");
}

#[tokio::test]
async fn disabling_ends_every_way_in_and_enabling_restores_it() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    let session = app.signed_up("target").await;
    let id = id_of(&app, "target").await;
    let credits = |session: String| {
        let app = &app;
        async move {
            app.get_with_token("/v2/account/credits/available", &session)
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(credits(session.clone()).await, 200);

    let path = format!("/admin/api/users/{id}/disable");
    let answer = api_post(&app, &path, &token, json!({"reason": "abuse report #7"})).await;
    let (status, body) = (answer.status(), answer.text().await.unwrap());
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["user"]["enabled"], false);
    assert!(!enabled(&app, id).await);
    // The open session ended at once; nothing signs in.
    assert_eq!(credits(session).await, 401);
    let (status, _) = json(app.login("target", PASSWORD).await).await;
    assert_eq!(status, 401, "the same answer as a wrong password");
    let sessions: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(sessions, 0);
    // Recovery answers as for anyone, and sends nothing.
    let (status, _) = sent(
        app.http
            .post(app.at("/v2/forgot/password"))
            .form(&[("email_address", "target@example.com")]),
    )
    .await;
    assert_eq!(status, 200);
    app.forget_recent_sends().await;
    let (status, _) = crate::common::send_email_code(&app, "target@example.com").await;
    assert_eq!(status, 200, "Authing answers as for anyone");
    app.forget_recent_sends().await;
    let tangerine = app
        .post_json("/auth/lostPassword", json!({"username": "target"}))
        .await;
    assert_eq!(tangerine.status(), 200);
    app.mail_to("target@example.com", "Your account was disabled")
        .await;
    app.mail_barrier().await;
    assert_eq!(
        app.count_mail_to("target@example.com", "passcode"),
        0,
        "and sends nothing"
    );

    // Audited with the actor, the reason, before and after.
    let row: (String, Option<i64>, String, String) = sqlx::query_as(
        "SELECT a.reason, a.actor_id, a.before_state, a.after_state FROM audit_log a \
         WHERE a.event = 'admin.account_disabled' AND a.user_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row.0, "abuse report #7");
    assert_eq!(row.1, Some(id_of(&app, "operator").await));
    assert_eq!(row.2, r#"{"enabled":true}"#);
    assert_eq!(row.3, r#"{"enabled":false}"#);

    // Twice is refused, and changes nothing.
    let again = api_post(&app, &path, &token, json!({"reason": "again"})).await;
    assert_eq!(problem(again).await.0, 403);

    let enable = format!("/admin/api/users/{id}/enable");
    let (status, _) =
        json(api_post(&app, &enable, &token, json!({"reason": "appeal upheld"})).await).await;
    assert_eq!(status, 200);
    app.mail_to("target@example.com", "Your account was enabled")
        .await;
    let (status, _) = json(app.login("target", PASSWORD).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn read_only_tokens_read_but_change_nothing() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "watcher", true).await;
    app.signed_up("someone").await;
    let id = id_of(&app, "someone").await;
    let (status, _) = json(api_get(&app, &format!("/admin/api/users/{id}"), &token).await).await;
    assert_eq!(status, 200);
    for action in ["disable", "unlock", "end-sessions", "send-reset"] {
        let path = format!("/admin/api/users/{id}/{action}");
        let (status, body) =
            problem(api_post(&app, &path, &token, json!({"reason": "try"})).await).await;
        assert_eq!(status, 403, "{action}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("only read"),
            "{body}"
        );
    }
    assert!(enabled(&app, id).await);
    let changes: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE actor_id IS NOT NULL AND user_id IS NOT NULL")
        .await;
    assert_eq!(changes, 0);
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    app.signed_up("someone").await;
    let id = id_of(&app, "someone").await;
    let at = |action: &str| format!("/admin/api/users/{id}/{action}");

    let (status, body) = problem(api_post(&app, &at("disable"), &token, json!({})).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "reason");
    let blank = json!({"reason": "   "});
    assert_eq!(
        problem(api_post(&app, &at("disable"), &token, blank).await)
            .await
            .0,
        400
    );
    let long = json!({"reason": "x".repeat(501)});
    assert_eq!(
        problem(api_post(&app, &at("disable"), &token, long).await)
            .await
            .0,
        400
    );
    assert!(enabled(&app, id).await);

    let unknown = api_post(&app, &at("promote"), &token, json!({"reason": "r"})).await;
    assert_eq!(
        problem(unknown).await.0,
        404,
        "no such action (and no way to make admins)"
    );
    for amount in [json!("12.3456789"), json!("ten"), json!(0), json!(null)] {
        let body = json!({"reason": "r", "amount": amount});
        let (status, _) = problem(api_post(&app, &at("credits"), &token, body).await).await;
        assert_eq!(status, 400, "{amount}");
    }
    let body = json!({"reason": "r", "plan": "gold"});
    assert_eq!(
        problem(api_post(&app, &at("plan"), &token, body).await)
            .await
            .0,
        400
    );
    let malformed = app
        .http
        .post(app.at(&at("disable")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(malformed).await.0, 400);
    let nobody = api_post(
        &app,
        "/admin/api/users/424242/disable",
        &token,
        json!({"reason": "r"}),
    )
    .await;
    assert_eq!(problem(nobody).await.0, 404);
    assert!(enabled(&app, id).await);
    let changes: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE actor_id IS NOT NULL AND user_id IS NOT NULL")
        .await;
    assert_eq!(changes, 0, "nothing was done");
}

#[tokio::test]
async fn lockouts_are_seen_and_lifted() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    app.signed_up("forgetful").await;
    let id = id_of(&app, "forgetful").await;
    for _ in 0..5 {
        app.login("forgetful", "not the password").await;
    }
    let (status, _) = json(app.login("forgetful", PASSWORD).await).await;
    assert_eq!(status, 429, "locked out");
    let (_, body) = json(api_get(&app, &format!("/admin/api/users/{id}"), &token).await).await;
    let locks = body["locks"].as_array().unwrap();
    assert_eq!(locks.len(), 1, "{body}");
    // The lock of the kind of identifier typed (`services::throttle`).
    assert_eq!(locks[0]["subject"], format!("user:{id}:username"));

    let path = format!("/admin/api/users/{id}/unlock");
    let (status, _) =
        json(api_post(&app, &path, &token, json!({"reason": "called support"})).await).await;
    assert_eq!(status, 200);
    let (status, _) = json(app.login("forgetful", PASSWORD).await).await;
    assert_eq!(status, 200, "the lock is gone");
    // Nothing left to lift: said so, not audited twice.
    let again = api_post(&app, &path, &token, json!({"reason": "again"})).await;
    assert_eq!(problem(again).await.0, 403);
    let lifted: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'admin.locks_lifted'")
        .await;
    assert_eq!(lifted, 1);
}

#[tokio::test]
async fn second_factors_sessions_credits_plan_and_reset_mail() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    let (mut authenticator, _) = enrolled(&app, "owner").await;
    let id = id_of(&app, "owner").await;
    let at = |action: &str| format!("/admin/api/users/{id}/{action}");
    let reason = json!({"reason": "lost phone, identity checked"});

    // The admin cannot strip their own second factor from the console.
    let own = format!(
        "/admin/api/users/{}/remove-totp",
        id_of(&app, "operator").await
    );
    let (status, body) = problem(api_post(&app, &own, &token, reason.clone()).await).await;
    assert_eq!(status, 403, "{body}");

    let (status, _) = json(api_post(&app, &at("remove-totp"), &token, reason.clone()).await).await;
    assert_eq!(status, 200);
    app.mail_to("owner@example.com", "Your authenticator was removed")
        .await;
    let (status, body) = json(app.login("owner", PASSWORD).await).await;
    assert_eq!(status, 200, "the password alone signs in now: {body}");
    let _ = &mut authenticator;
    let codes: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(codes, 0, "recovery codes went with the last factor");

    let (status, _) = json(api_post(&app, &at("end-sessions"), &token, reason.clone()).await).await;
    assert_eq!(status, 200);
    let sessions: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(sessions, 0);

    let grant = json!({"reason": "goodwill", "amount": 12.5});
    let (status, body) = json(api_post(&app, &at("credits"), &token, grant).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["credits"], "12.5");
    let deduct = json!({"reason": "refund", "amount": "-100"});
    let (status, _) = problem(api_post(&app, &at("credits"), &token, deduct).await).await;
    assert_eq!(status, 403, "the balance would go below zero");
    let paid = json!({"reason": "invoice 42", "plan": "paid"});
    let (status, body) = json(api_post(&app, &at("plan"), &token, paid).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["plan"], "paid");

    let (status, _) = json(api_post(&app, &at("send-reset"), &token, reason).await).await;
    assert_eq!(status, 200);
    app.mail_to("owner@example.com", "passcode").await;

    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM audit_log WHERE actor_id IS NOT NULL AND user_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        [
            "admin.factor_removed",
            "admin.sessions_ended",
            "admin.credits_adjusted",
            "admin.plan_changed",
            "admin.reset_sent"
        ]
    );
}

#[tokio::test]
async fn the_audit_log_filters_pages_and_exports_csv() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    app.signed_up("subject").await;
    let id = id_of(&app, "subject").await;
    let path = format!("/admin/api/users/{id}/disable");
    let reason = json!({"reason": "=cmd|' /C calc'!A0, \"quoted\""});
    assert_eq!(api_post(&app, &path, &token, reason).await.status(), 200);

    let (status, body) = json(api_get(&app, "/admin/api/audit?user=subject", &token).await).await;
    assert_eq!(status, 200, "{body}");
    let events: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events[0], "admin.account_disabled",
        "newest first: {events:?}"
    );
    assert!(events.contains(&"register"));
    let (_, body) = json(
        api_get(
            &app,
            "/admin/api/audit?actor=operator&event=admin.account_disabled",
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(body["entries"][0]["username"], "subject");
    assert_eq!(body["entries"][0]["actor"], "operator");
    let (_, body) = json(api_get(&app, "/admin/api/audit?event=admin.", &token).await).await;
    assert!(body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["event"].as_str().unwrap().starts_with("admin.")));
    let (_, body) = json(api_get(&app, "/admin/api/audit?user=nobody-at-all", &token).await).await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 0);
    let (_, body) = json(api_get(&app, "/admin/api/audit?from=2999-01-01", &token).await).await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 0);

    let csv = api_get(&app, "/admin/api/audit.csv?user=subject", &token).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("id,at,event,"));
    let disabled = text
        .lines()
        .find(|l| l.contains("admin.account_disabled"))
        .unwrap();
    assert!(
        disabled.contains(r#""'=cmd|' /C calc'!A0, ""quoted""""#),
        "quoted and defused: {disabled}"
    );
}

#[tokio::test]
async fn revoked_expired_and_ex_admin_tokens_stop_working() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    assert_eq!(
        api_get(&app, "/admin/api/users", &token).await.status(),
        200
    );
    sqlx::query("UPDATE admin_tokens SET expires_at = 0")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        problem(api_get(&app, "/admin/api/users", &token).await)
            .await
            .0,
        404
    );

    let token = admin::token_for(&app.state.db, "operator", false, 1, &meta())
        .await
        .unwrap()
        .token;
    assert_eq!(
        api_get(&app, "/admin/api/users", &token).await.status(),
        200
    );
    admin::revoke(&app.state.db, "operator", &meta())
        .await
        .unwrap();
    assert_eq!(
        problem(api_get(&app, "/admin/api/users", &token).await)
            .await
            .0,
        404
    );
    let refused = admin::token_for(&app.state.db, "operator", false, 1, &meta()).await;
    assert!(refused.unwrap_err().contains("not an admin"));
}

#[tokio::test]
async fn a_console_listener_of_its_own_hides_the_console_on_the_public_one() {
    let app = spawn_app_with(|config| {
        config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let token = admin_with_token(&app, "operator", false).await;
    let console = app.admin_url.clone().expect("the console's listener");
    let public = api_get(&app, "/admin/api/users", &token).await;
    assert_eq!(problem(public).await.0, 404, "not on the public listener");
    for path in ["/admin", "/admin/audit", "/admin/audit.csv"] {
        let answer = app.http.get(app.at(path)).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
    let answer = app
        .http
        .get(format!("{console}/admin/api/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "served on its own listener");
    // The rest of the site is on the public listener as before.
    assert_eq!(
        app.http
            .get(app.at("/login"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // And an admin signs in on the console's address too.
    let login = app
        .http
        .get(format!("{console}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
}

#[tokio::test]
async fn a_sign_in_with_a_second_factor_counts_as_the_step_up() {
    let app = spawn_app().await;
    let (mut authenticator, _) = enrolled(&app, "operator").await;
    admin::grant(&app.state.db, "operator", &meta())
        .await
        .unwrap();
    let mfa = mfa_token(&app, "operator").await;
    let (status, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let signed_in = latchkey::server::services::sessions::resolve(&app.state, token)
        .await
        .unwrap();
    let operator = admin::operator_of_session(&app.state, &signed_in)
        .await
        .unwrap();
    assert!(operator.may_change().is_ok(), "fresh from a second factor");
    // Ten minutes later it is not.
    sqlx::query("UPDATE sessions SET created_at = created_at - 601")
        .execute(&app.db)
        .await
        .unwrap();
    let signed_in = latchkey::server::services::sessions::resolve(&app.state, token)
        .await
        .unwrap();
    let operator = admin::operator_of_session(&app.state, &signed_in)
        .await
        .unwrap();
    assert!(operator.may_change().is_err(), "stale");
    // A code from the authenticator opens it again; a wrong one does not.
    let wrong = admin::StepUpProof::Code("000000");
    assert!(admin::step_up(&app.state, &signed_in, wrong, &meta())
        .await
        .is_err());
    let code = authenticator.next_code().await;
    admin::step_up(
        &app.state,
        &signed_in,
        admin::StepUpProof::Code(&code),
        &meta(),
    )
    .await
    .unwrap();
    let operator = admin::operator_of_session(&app.state, &signed_in)
        .await
        .unwrap();
    assert!(operator.may_change().is_ok());
    // A non-admin's session is not found at all.
    let other = app.signed_up("plain").await;
    let plain = latchkey::server::services::sessions::resolve(&app.state, &other)
        .await
        .unwrap();
    assert!(matches!(
        admin::operator_of_session(&app.state, &plain).await,
        Err(latchkey::server::services::ServiceError::NotFound)
    ));
}

#[tokio::test]
async fn a_passkey_step_up_is_for_admins_and_its_own_ceremonies_only() {
    use crate::second_factors::{rpc, web_session};
    // Passkeys need a site reached by name.
    let app = spawn_app_with(|config| {
        config.public_url = Some("http://localhost:3999".into());
    })
    .await;
    let step_up_page = |cookie: String| {
        let app = &app;
        async move { page(app, "/admin/step-up", Some(&cookie)).await }
    };

    // Not an admin: the site's 404, at the page and at both ends of the ceremony.
    let plain = web_session(&app, "plain").await;
    assert_eq!(step_up_page(plain.clone()).await.0, 404);
    let (status, _) = rpc(&app, "admin_step_up_passkey_start", Some(&plain), &[]).await;
    assert_eq!(status, 404);
    let (status, _) = rpc(
        &app,
        "admin_step_up_passkey_finish",
        Some(&plain),
        &[("ceremony", "x"), ("credential", "{}")],
    )
    .await;
    assert_eq!(status, 404);

    // An admin is offered a passkey next to the code; with none on the account it says so.
    let (cookie, _) = console_admin(&app, "operator").await;
    let (status, html) = step_up_page(cookie.clone()).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-passkey=\"step-up\""), "{html}");
    // Bound to the public origin: the script shows nothing on another address.
    assert!(
        html.contains("src=\"/passkeys.js\" data-origin=\"http://localhost:3999\""),
        "{html}"
    );
    let (status, body) = rpc(&app, "admin_step_up_passkey_start", Some(&cookie), &[]).await;
    assert_eq!(status, 403, "{body}");

    // A ceremony begun for a sign-in does not finish a step-up (nor is it used up by trying),
    // and a made-up answer is a failed check, audited, that opens nothing.
    let (_, start) = rpc(&app, "passkey_sign_in_start", None, &[]).await;
    let ceremony = start["ceremony"].as_str().unwrap();
    let before: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'admin.step_up_failed'")
        .await;
    let (status, body) = rpc(
        &app,
        "admin_step_up_passkey_finish",
        Some(&cookie),
        &[("ceremony", ceremony), ("credential", "{}")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "The passkey was not accepted. Try again.");
    let kept: i64 = app
        .scalar("SELECT COUNT(*) FROM webauthn_ceremonies WHERE purpose = 'sign_in'")
        .await;
    assert_eq!(
        kept, 1,
        "the sign-in's ceremony is still there for the sign-in"
    );
    let after: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'admin.step_up_failed'")
        .await;
    assert_eq!(after, before + 1);
    let stepped: i64 = app
        .scalar("SELECT COUNT(*) FROM sessions WHERE stepped_up_at IS NOT NULL")
        .await;
    assert_eq!(stepped, 0);
}

/// An admin signed in with their second factor: the session cookie (`name=value`) and the
/// authenticator, for codes later.
async fn console_admin(
    app: &TestApp,
    name: &str,
) -> (String, crate::second_factors::Authenticator) {
    let (mut authenticator, _) = enrolled(app, name).await;
    admin::grant(&app.state.db, name, &meta()).await.unwrap();
    let mfa = mfa_token(app, name).await;
    let (status, body) = second_step(app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 200, "{body}");
    let cookie = format!("latchkey_session={}", body["token"].as_str().unwrap());
    (cookie, authenticator)
}

async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.http.get(app.at(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_console_pages_are_not_found_for_anyone_but_an_admin() {
    let app = spawn_app().await;
    let plain = format!("latchkey_session={}", app.signed_up("plain").await);
    let id = id_of(&app, "plain").await;
    for path in [
        "/admin".to_owned(),
        format!("/admin/users/{id}"),
        "/admin/audit".to_owned(),
        "/admin/tokens".to_owned(),
        "/admin/clients".to_owned(),
        "/admin/step-up".to_owned(),
        "/admin/audit.csv".to_owned(),
    ] {
        for cookie in [None, Some(plain.as_str())] {
            let (status, html) = page(&app, &path, cookie).await;
            assert_eq!(status, 404, "{path} with {cookie:?}");
            assert!(!html.contains("plain@example.com"), "{path}");
        }
    }
    // A form posted to the console's functions changes nothing either.
    let disable = app
        .post_page_form(
            "/rpc/admin_act",
            &format!("/admin/users/{id}"),
            &[],
            Some(&plain),
            &[
                ("id", &id.to_string()),
                ("action", "disable"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_ne!(disable.status(), 200);
    assert!(enabled(&app, id).await);
    // Nor can a stolen cookie of an admin's sibling site post from elsewhere.
    let (cookie, _) = console_admin(&app, "operator").await;
    let cross_site = app
        .post_page_form(
            "/rpc/admin_act",
            "/admin",
            &[("sec-fetch-site", "cross-site")],
            Some(&cookie),
            &[
                ("id", &id.to_string()),
                ("action", "disable"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(cross_site.status(), 403);
    assert!(enabled(&app, id).await);
}

#[tokio::test]
async fn an_admin_finds_an_account_and_acts_on_it_without_javascript_after_a_step_up() {
    use crate::second_factors::location;
    let app = spawn_app().await;
    let (cookie, mut authenticator) = console_admin(&app, "operator").await;
    app.signed_up("locked").await;
    let id = id_of(&app, "locked").await;
    for _ in 0..5 {
        app.login("locked", "not the password").await;
    }

    let (status, html) = page(&app, "/admin?q=LOC", Some(&cookie)).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("href=\"/admin/users/{id}\"")),
        "{html}"
    );
    assert!(
        html.contains("data-testid=\"changes-open\""),
        "fresh from a second factor"
    );
    assert!(!html.contains(".wasm"), "no script");
    let (status, html) = page(&app, &format!("/admin/users/{id}"), Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("user:{id}:username")),
        "the lock is shown: {html}"
    );

    // Past ten minutes, a change waits for a step-up, and nothing changes meanwhile.
    sqlx::query("UPDATE sessions SET created_at = created_at - 601")
        .execute(&app.db)
        .await
        .unwrap();
    let (_, html) = page(&app, "/admin", Some(&cookie)).await;
    assert!(html.contains("data-testid=\"changes-closed\""));
    let unlock = [
        ("id", id.to_string()),
        ("action", "unlock".into()),
        ("reason", "support call".into()),
    ];
    let unlock: Vec<(&str, &str)> = unlock.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let from = format!("/admin/users/{id}");
    let refused = app
        .post_page_form("/rpc/admin_act", &from, &[], Some(&cookie), &unlock)
        .await;
    assert_eq!(location(&refused), from, "back to the page");
    let (status, _) = json(app.login("locked", PASSWORD).await).await;
    assert_eq!(status, 429, "still locked");

    let (status, html) = page(&app, "/admin/step-up?next=/admin/users/1", Some(&cookie)).await;
    assert_eq!(status, 200, "{html}");
    let code = authenticator.next_code().await;
    let stepped = app
        .post_page_form(
            "/rpc/admin_step_up",
            "/admin/step-up",
            &[],
            Some(&cookie),
            &[("code", &code), ("next", &from)],
        )
        .await;
    assert_eq!(location(&stepped), from);
    let done = app
        .post_page_form("/rpc/admin_act", &from, &[], Some(&cookie), &unlock)
        .await;
    assert_eq!(location(&done), format!("{from}?done=unlock"));
    let (status, _) = json(app.login("locked", PASSWORD).await).await;
    assert_eq!(status, 200, "the lock is lifted");
    let (_, html) = page(&app, &format!("{from}?done=unlock"), Some(&cookie)).await;
    assert!(html.contains("data-testid=\"done\""));
    assert!(
        html.contains("support call"),
        "the latest events name the reason"
    );

    // A step-up only leads back into the console.
    let code = authenticator.next_code().await;
    let elsewhere = app
        .post_page_form(
            "/rpc/admin_step_up",
            "/admin/step-up",
            &[],
            Some(&cookie),
            &[("code", &code), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!(location(&elsewhere), "/admin");

    // The audit log page and its export.
    let (status, html) = page(&app, "/admin/audit?event=admin.", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(html.contains("admin.locks_lifted"));
    let csv = app
        .http
        .get(app.at("/admin/audit.csv?user=locked"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("admin.locks_lifted"));

    // In Chinese too.
    let chinese = app
        .http
        .get(app.at("/admin"))
        .header("cookie", &cookie)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(chinese.contains("运营控制台"));
}

#[tokio::test]
async fn tokens_and_apps_are_made_on_the_console_and_their_secrets_shown_once() {
    use crate::second_factors::{cookie_pair, location};
    let app = spawn_app().await;
    let (cookie, _) = console_admin(&app, "operator").await;

    let made = app
        .post_page_form(
            "/rpc/admin_create_token",
            "/admin/tokens",
            &[],
            Some(&cookie),
            &[
                ("name", "nightly report"),
                ("access", "read"),
                ("days", "7"),
            ],
        )
        .await;
    assert_eq!(location(&made), "/admin/tokens?done=token-made");
    let shown = cookie_pair(&made, "latchkey_shown");
    let both = format!("{cookie}; {shown}");
    let (_, html) = page(&app, "/admin/tokens?done=token-made", Some(&both)).await;
    let token = html
        .split("data-testid=\"new-token\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the token, shown once")
        .to_owned();
    assert!(token.starts_with("lka_"));
    assert_eq!(
        api_get(&app, "/admin/api/users", &token).await.status(),
        200
    );
    let (_, html) = page(&app, "/admin/tokens", Some(&cookie)).await;
    assert!(!html.contains(&token), "not shown again");
    assert!(html.contains("nightly report"));

    let added = app
        .post_page_form(
            "/rpc/admin_add_client",
            "/admin/clients",
            &[],
            Some(&cookie),
            &[
                ("name", "Grafana"),
                (
                    "redirect_uris",
                    "https://grafana.example/login/generic_oauth",
                ),
                ("post_logout_redirect_uris", ""),
                ("backchannel_logout_uri", ""),
                ("kind", "confidential"),
                ("reason", "monitoring sign-in"),
            ],
        )
        .await;
    assert_eq!(location(&added), "/admin/clients?done=client-added");
    let shown = cookie_pair(&added, "latchkey_shown");
    let (_, html) = page(
        &app,
        "/admin/clients?done=client-added",
        Some(&format!("{cookie}; {shown}")),
    )
    .await;
    assert!(html.contains("data-testid=\"new-client-secret\""), "{html}");
    let client_id: String = app.scalar("SELECT client_id FROM oidc_clients").await;

    let refused = app
        .post_page_form(
            "/rpc/admin_edit_client",
            "/admin/clients",
            &[],
            Some(&cookie),
            &[
                ("client_id", &client_id),
                ("name", "Grafana"),
                ("redirect_uris", "http://grafana.example/cb"),
                ("post_logout_redirect_uris", ""),
                ("backchannel_logout_uri", ""),
                ("reason", "new host"),
            ],
        )
        .await;
    assert_eq!(
        location(&refused),
        "/admin/clients",
        "plain http off this machine is refused"
    );
    let edited = app
        .post_page_form(
            "/rpc/admin_edit_client",
            "/admin/clients",
            &[],
            Some(&cookie),
            &[
                ("client_id", &client_id),
                ("name", "Grafana"),
                (
                    "redirect_uris",
                    "https://grafana.example/cb\nhttps://grafana.example/cb2",
                ),
                ("post_logout_redirect_uris", ""),
                ("backchannel_logout_uri", ""),
                ("reason", "new host"),
            ],
        )
        .await;
    assert_eq!(location(&edited), "/admin/clients?done=client-edited");
    let uris: String = app.scalar("SELECT redirect_uris FROM oidc_clients").await;
    assert_eq!(
        uris,
        r#"["https://grafana.example/cb","https://grafana.example/cb2"]"#
    );
    let removed = app
        .post_page_form(
            "/rpc/admin_remove_client",
            "/admin/clients",
            &[],
            Some(&cookie),
            &[("client_id", &client_id), ("reason", "retired")],
        )
        .await;
    assert_eq!(location(&removed), "/admin/clients?done=client-removed");
    assert_eq!(
        app.scalar::<i64>("SELECT COUNT(*) FROM oidc_clients").await,
        0
    );
    let audited: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event LIKE 'oidc.client_%' AND actor_id IS NOT NULL AND reason <> ''")
        .await;
    assert_eq!(
        audited, 3,
        "added, edited, removed: each with its admin and reason"
    );
}

#[tokio::test]
async fn apps_are_registered_edited_rotated_and_removed_over_the_admin_api() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    let reader = admin::token_for(&app.state.db, "operator", true, 1, &meta())
        .await
        .unwrap()
        .token;
    let body = json!({
        "reason": "wiki sign-in",
        "name": "Wiki",
        "redirect_uris": ["https://wiki.example/cb"],
    });
    let (status, _) =
        problem(api_post(&app, "/admin/api/clients", &reader, body.clone()).await).await;
    assert_eq!(status, 403, "a read-only token registers nothing");
    let bad = json!({"reason": "x", "name": "Wiki", "redirect_uris": ["http://wiki.example/cb"]});
    let (status, refused) = problem(api_post(&app, "/admin/api/clients", &token, bad).await).await;
    assert_eq!(status, 400);
    assert!(
        refused["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("plain http"),
        "{refused}"
    );

    let (status, issued) = json(api_post(&app, "/admin/api/clients", &token, body).await).await;
    assert_eq!(status, 200, "{issued}");
    let id = issued["client_id"].as_str().unwrap().to_owned();
    assert!(issued["client_secret"].as_str().unwrap().len() >= 40);
    let (_, listed) = json(api_get(&app, "/admin/api/clients", &reader).await).await;
    assert_eq!(listed["clients"][0]["client_id"], id);
    assert!(
        !listed.to_string().contains("secret"),
        "never the secret: {listed}"
    );

    let edit = json!({"reason": "second host", "name": "Wiki",
                      "redirect_uris": ["https://wiki.example/cb", "https://wiki2.example/cb"]});
    let (status, edited) =
        json(api_post(&app, &format!("/admin/api/clients/{id}"), &token, edit).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        edited["clients"][0]["redirect_uris"][1],
        "https://wiki2.example/cb"
    );
    let rotate = format!("/admin/api/clients/{id}/rotate-secret");
    let (status, rotated) =
        json(api_post(&app, &rotate, &token, json!({"reason": "leaked"})).await).await;
    assert_eq!(status, 200);
    assert_ne!(rotated["client_secret"], issued["client_secret"]);
    let remove = format!("/admin/api/clients/{id}/remove");
    let (status, _) =
        json(api_post(&app, &remove, &token, json!({"reason": "retired"})).await).await;
    assert_eq!(status, 200);
    let (status, _) =
        problem(api_post(&app, &remove, &token, json!({"reason": "again"})).await).await;
    assert_eq!(status, 404);
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM audit_log WHERE event LIKE 'oidc.%' AND actor_id IS NOT NULL ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [
            "oidc.client_added",
            "oidc.client_edited",
            "oidc.client_secret_rotated",
            "oidc.client_removed"
        ]
    );
}

#[tokio::test]
async fn an_admin_deletes_an_account_at_once_and_the_person_is_told() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    let session = app.signed_up("gone").await;
    let id = id_of(&app, "gone").await;
    let own = format!("/admin/api/users/{}/delete", id_of(&app, "operator").await);
    let (status, _) = problem(api_post(&app, &own, &token, json!({"reason": "oops"})).await).await;
    assert_eq!(status, 403, "not on yourself");
    let path = format!("/admin/api/users/{id}/delete");
    let (status, body) =
        json(api_post(&app, &path, &token, json!({"reason": "GDPR request #12"})).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"], Value::Null);
    app.mail_to("gone@example.com", "Your account was deleted")
        .await;
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &session)
            .await
            .status(),
        401
    );
    let missing = api_get(&app, &format!("/admin/api/users/{id}"), &token).await;
    assert_eq!(problem(missing).await.0, 404);
    let (status, _) =
        problem(api_post(&app, &path, &token, json!({"reason": "again"})).await).await;
    assert_eq!(status, 404);
    assert_eq!(
        app.register("gone", "gone@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    let reason: Option<String> = sqlx::query_scalar(
        "SELECT reason FROM audit_log WHERE event = 'account.erased' AND user_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        reason.as_deref(),
        Some("GDPR request #12"),
        "the admin's own reason stays"
    );
}

#[tokio::test]
async fn an_admin_cannot_reach_a_hidden_console_by_spelling_its_path_otherwise() {
    let app = spawn_app_with(|config| {
        config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let (cookie, _) = console_admin(&app, "operator").await;
    let console = app.admin_url.clone().unwrap();
    let served = app
        .http
        .get(format!("{console}/admin"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        served.status(),
        200,
        "the admin's cookie opens it where it is served"
    );
    assert!(served.text().await.unwrap().contains("console-nav"));
    for path in [
        "/admin",
        "/%61dmin",
        "/admin/",
        "/%61dmin/audit",
        "/Admin",
        "/admin;x",
        "/./admin",
    ] {
        let (status, html) = page(&app, path, Some(&cookie)).await;
        assert_eq!(status, 404, "{path}");
        assert!(!html.contains("console-nav"), "{path} shows the console");
    }
}

#[tokio::test]
async fn an_admin_cannot_enable_an_account_its_owner_is_deleting() {
    let app = spawn_app().await;
    let token = admin_with_token(&app, "operator", false).await;
    let session = app.signed_up("leaving").await;
    let id = id_of(&app, "leaving").await;
    let deleted = app
        .post_with_token("/v2/account/delete", &session, &[("password", PASSWORD)])
        .await;
    assert_eq!(deleted.status(), 200);
    let path = format!("/admin/api/users/{id}/enable");
    let (status, body) =
        problem(api_post(&app, &path, &token, json!({"reason": "support"})).await).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("Keep my account"));
    assert!(!enabled(&app, id).await);
}
