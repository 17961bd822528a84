//! The outside review's findings (an attacker's view of SPEC §7), one test or more each: every
//! test here failed before its fix.

use crate::common::{
    authing, eventually, json, reset, reset_token_for, send_email_code, spawn_app, spawn_app_with,
    test_state, verify_email_code, TestApp, PASSWORD,
};
use base64::Engine;
use latchkey::server::services::{accounts, phone};
use reqwest::header::{ACCEPT, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Signs in through the web form (as a hydrated page does); returns the `Set-Cookie` pairs.
pub(crate) async fn web_login(
    app: &TestApp,
    identifier: &str,
    password: &str,
    cookies: &str,
) -> (u16, Vec<String>) {
    let mut request = app
        .http
        .post(app.at("/rpc/login"))
        .header(ACCEPT, "application/json")
        .header(ORIGIN, app.url.as_str())
        .form(&[("identifier", identifier), ("password", password)]);
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies);
    }
    let response = request.send().await.unwrap();
    let set: Vec<String> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    (response.status().as_u16(), set)
}

pub(crate) fn cookie_named(set: &[String], name: &str) -> String {
    set.iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {set:?}"))
        .clone()
}

// ---- 1. Pre-registration takeover by phone -------------------------------------------------

#[tokio::test]
async fn an_account_with_an_unverified_address_cannot_add_a_phone() {
    let app = spawn_app().await;
    let token = app.signed_up("squatter").await;
    let state = test_state(&app).await;
    let account = accounts::account_for_token(&state, &token).await.unwrap();
    let refused = phone::add(
        &state,
        &account,
        "138 0013 8000",
        Some("86"),
        &Default::default(),
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(latchkey::server::services::ServiceError::NotAllowed(_))
        ),
        "{refused:?}"
    );
    assert!(app.sms_outbox().is_empty());
    // Over the web form too, with its own words.
    let response = app
        .http
        .post(app.at("/rpc/add_phone"))
        .header(ACCEPT, "application/json")
        .header(ORIGIN, app.url.as_str())
        .header(COOKIE, format!("latchkey_session={token}"))
        .form(&[("country_code", "+86"), ("number", "138 0013 8000")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Verify your e-mail"),
        "{body}"
    );
}

/// Puts a confirmed mainland China number on the account directly.
async fn give_confirmed_phone(app: &TestApp, username: &str, national: &str) {
    sqlx::query(
        "UPDATE users SET phone_country_code = '86', phone_number = $1, \
         phone_e164 = '+86' || $1, phone_verified = TRUE WHERE username = $2",
    )
    .bind(national)
    .bind(username)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn phone_of(app: &TestApp, username: &str) -> Option<String> {
    sqlx::query_scalar("SELECT phone_e164 FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reset_of_a_never_verified_account_removes_the_phone_and_says_so() {
    let app = spawn_app().await;
    app.signed_up("prey").await;
    // The attacker's phone on the victim's address, as earlier versions allowed it.
    give_confirmed_phone(&app, "prey", "13800138000").await;
    let token = reset_token_for(&app, "prey@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD, "none").await.0, 200);

    assert_eq!(phone_of(&app, "prey").await, None);
    let notice = app
        .mail_to("prey@example.com", "Your password was changed")
        .await;
    assert!(
        notice
            .text
            .contains("phone number on the account has been removed"),
        "{}",
        notice.text
    );
    // The attacker's number no longer resets anything.
    app.forget_recent_sends().await;
    let (status, _) = authing(
        app.post_json(
            "/api/v3/send-sms",
            json!({"channel": "CHANNEL_RESET_PASSWORD", "phoneNumber": "13800138000"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    app.mail_barrier().await;
    assert!(app.sms_outbox().is_empty(), "{:?}", app.sms_outbox());

    // A verified account keeps its phone through a reset.
    app.signed_up("keeper").await;
    app.verify_email_of("keeper@example.com").await;
    give_confirmed_phone(&app, "keeper", "13900139000").await;
    let token = reset_token_for(&app, "keeper@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD, "none").await.0, 200);
    assert_eq!(
        phone_of(&app, "keeper").await.as_deref(),
        Some("+8613900139000")
    );
}

// ---- 2. Passcode guessing budget -------------------------------------------------------------

#[tokio::test]
async fn one_mailbox_gets_one_code_a_minute_whichever_path_asks() {
    let app = spawn_app().await;
    app.signed_up("budget").await;
    app.verify_email_of("budget@example.com").await;
    assert_eq!(send_email_code(&app, "budget@example.com").await.0, 200);
    let response = app
        .post_json("/auth/lostPassword", json!({"username": "budget"}))
        .await;
    assert_eq!(response.status(), 200);
    app.mail_to("budget@example.com", "Your password reset passcode")
        .await;
    app.mail_barrier().await;
    assert_eq!(
        app.count_mail_to("budget@example.com", "Your password reset passcode"),
        1,
        "the username path must count against the same mailbox"
    );
}

#[tokio::test]
async fn an_account_gets_ten_wrong_passcodes_an_hour_across_its_codes() {
    let app = spawn_app().await;
    app.signed_up("capped").await;
    let mut wrong = 0;
    for round in 1..=3 {
        app.forget_recent_sends().await;
        assert_eq!(send_email_code(&app, "capped@example.com").await.0, 200);
        let code = app
            .nth_mail_to("capped@example.com", "Your password reset passcode", round)
            .await
            .passcode();
        let bad = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            if wrong == 10 {
                break;
            }
            let (status, body) = verify_email_code(&app, "capped@example.com", bad).await;
            assert_eq!(
                (status, body["apiCode"].as_u64()),
                (400, Some(2001)),
                "{body}"
            );
            wrong += 1;
        }
        if wrong == 10 {
            // The account's budget is spent: even the right code of a fresh send fails.
            let (status, body) = verify_email_code(&app, "capped@example.com", &code).await;
            assert_eq!(
                (status, body["apiCode"].as_u64()),
                (400, Some(2002)),
                "{body}"
            );
            return;
        }
    }
    panic!("never reached ten wrong passcodes");
}

#[tokio::test]
async fn passcode_checks_are_limited_per_client_address() {
    let app = spawn_app_with(|c| c.passcode_checks_per_address_per_hour = 3).await;
    for n in 1..=3 {
        let (status, _) = verify_email_code(&app, "anyone@example.com", "123456").await;
        assert_eq!(status, 400, "check {n}");
    }
    let response = app
        .post_json(
            "/api/v3/verify-reset-password-request",
            json!({"verifyMethod": "EMAIL_PASSCODE",
                   "emailPassCodePayload": {"email": "other@example.com", "passCode": "123456"}}),
        )
        .await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = authing(response).await;
    assert_eq!((status, body["apiCode"].as_u64()), (429, Some(1429)));
}

// ---- 3. argon2 behind the throttles ----------------------------------------------------------

#[tokio::test]
async fn password_change_guesses_are_throttled_like_logins() {
    let app = spawn_app().await;
    let token = app.signed_up("guessed").await;
    for n in 1..=5 {
        let response = app
            .post_with_token(
                "/v2/account/password/change",
                &token,
                &[
                    ("old_password", "not it at all"),
                    ("new_password", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), 400, "guess {n}");
    }
    let response = app
        .post_with_token(
            "/v2/account/password/change",
            &token,
            &[("old_password", PASSWORD), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = json(response).await;
    assert_eq!(status, 429, "{body}");
    // The lock is the re-check's own: the owner still signs in.
    assert_eq!(app.login("guessed", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn password_changes_share_the_per_address_login_allowance() {
    let app = spawn_app_with(|c| c.logins_per_address_per_minute = 2).await;
    let token = app.signed_up("spender").await; // one login spent
    let response = app
        .post_with_token(
            "/v2/account/password/change",
            &token,
            &[("old_password", "wrong"), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 400);
    let response = app
        .post_with_token(
            "/v2/account/password/change",
            &token,
            &[("old_password", "wrong"), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn one_reset_token_buys_one_reset_however_many_arrive_at_once() {
    let app = spawn_app().await;
    app.signed_up("racer").await;
    let token = reset_token_for(&app, "racer@example.com").await;
    let attempts = (0..8).map(|n| {
        let app = &app;
        let token = token.clone();
        async move { reset(app, &token, &format!("{NEW_PASSWORD} {n}"), "none").await }
    });
    let answers = futures::future::join_all(attempts).await;
    let done = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(done, 1, "{answers:?}");
    assert!(answers
        .iter()
        .filter(|(status, _)| *status != 200)
        .all(|(_, body)| body["apiCode"] == 2030));
    let changes: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'password.reset'")
        .await;
    assert_eq!(changes, 1);
}

// ---- 4. Slow clients -------------------------------------------------------------------------

#[tokio::test]
async fn half_sent_requests_are_cut_off_and_cannot_crowd_out_other_clients() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| {
        c.header_timeout_seconds = 1;
        c.connections_per_address = 20;
    })
    .await;
    let addr: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();
    // The slow client comes from 127.0.0.2, the patient one from 127.0.0.1.
    let mut slow = Vec::new();
    for _ in 0..60 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await;
        slow.push(stream);
    }
    let started = Instant::now();
    let answer = app.http.get(app.at("/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Over the cap, connections are closed at once; under it, after the header timeout.
    let mut closed = 0;
    for stream in slow.iter_mut() {
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            // hyper may answer 408 before closing.
            Ok(Ok(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, 60, "every half-sent request was cut off");
}

// ---- 5. The RSA padding oracle ---------------------------------------------------------------

fn rsa_seal(pem: &str, plain: &[u8]) -> String {
    use rsa::pkcs8::DecodePublicKey;
    let key = rsa::RsaPublicKey::from_public_key_pem(pem).unwrap();
    let sealed = key
        .encrypt(&mut rand::rngs::OsRng, rsa::Pkcs1v15Encrypt, plain)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

#[tokio::test]
async fn every_sealed_password_failure_is_2016_at_one_time_and_three_burn_the_token() {
    let app = spawn_app().await;
    app.signed_up("oracle").await;
    let (_, system) = authing(app.http.get(app.at("/api/v3/system")).send().await.unwrap()).await;
    let pem = system["data"]["rsa"]["publicKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = reset_token_for(&app, "oracle@example.com").await;

    // Valid padding around a refused password, and no valid padding at all: one answer.
    let well_padded = rsa_seal(&pem, b"short");
    let garbage = base64::engine::general_purpose::STANDARD.encode([7u8; 256]);
    let mut times = Vec::new();
    for sent in [&well_padded, &garbage] {
        let started = Instant::now();
        let (status, body) = reset(&app, &token, sent, "rsa").await;
        times.push(started.elapsed());
        assert_eq!(
            (status, body["apiCode"].as_u64()),
            (400, Some(2016)),
            "{body}"
        );
        assert_eq!(
            body["message"],
            "the password could not be decrypted or was not accepted"
        );
    }
    for took in &times {
        assert!(*took >= Duration::from_millis(250), "{times:?}");
    }
    // The third failure burns the token: even a good password is refused after it.
    let (_, body) = reset(&app, &token, &garbage, "rsa").await;
    assert_eq!(body["apiCode"], 2016);
    let (status, body) = reset(
        &app,
        &token,
        &rsa_seal(&pem, NEW_PASSWORD.as_bytes()),
        "rsa",
    )
    .await;
    assert_eq!(
        (status, body["apiCode"].as_u64()),
        (400, Some(2030)),
        "{body}"
    );

    // A plain password refused by the policy still says why (nothing sealed, no oracle).
    let token = reset_token_for(&app, "oracle@example.com").await;
    let (_, body) = reset(&app, &token, "short", "none").await;
    assert_eq!(body["apiCode"], 2029);
}

// ---- 6. Step-2 enumeration -------------------------------------------------------------------

#[tokio::test]
async fn step_two_answers_alike_for_known_and_unknown_addresses() {
    let app = spawn_app().await;
    app.signed_up("known").await;
    let mut answers = Vec::new();
    for email in ["known@example.com", "nobody-here@example.com"] {
        assert_eq!(send_email_code(&app, email).await.0, 200);
        // Step 1 stores its code (real or decoy) after answering: wait for it.
        eventually("the stored code", async || {
            let stored: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM passcodes WHERE destination = $1")
                    .bind(email)
                    .fetch_one(&app.db)
                    .await
                    .unwrap();
            (stored == 1).then_some(())
        })
        .await;
        let mut codes = Vec::new();
        for _ in 0..7 {
            let (_, body) = verify_email_code(&app, email, "000001").await;
            codes.push(body["apiCode"].as_u64().unwrap());
        }
        answers.push(codes);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], [2001, 2001, 2001, 2001, 2001, 2002, 2002]);
}

/// Sends a fresh code to `email` and waits until step 1 has stored it (real or decoy).
async fn fresh_code_stored(app: &TestApp, email: &str) {
    let mac_of = || async {
        sqlx::query_scalar::<_, String>("SELECT code_mac FROM passcodes WHERE destination = $1")
            .bind(email)
            .fetch_optional(&app.db)
            .await
            .unwrap()
    };
    let before = mac_of().await;
    app.forget_recent_sends().await;
    assert_eq!(send_email_code(app, email).await.0, 200);
    eventually(&format!("a fresh code stored for {email}"), async || {
        let now = mac_of().await;
        (now.is_some() && now != before).then_some(())
    })
    .await;
}

#[tokio::test]
async fn step_two_runs_out_alike_across_fresh_codes_for_known_and_unknown_addresses() {
    let app = spawn_app().await;
    app.signed_up("regular").await;
    let mut answers = Vec::new();
    for email in ["regular@example.com", "no-such-person@example.com"] {
        let mut codes = Vec::new();
        for _ in 0..3 {
            fresh_code_stored(&app, email).await;
            for _ in 0..4 {
                let (_, body) = verify_email_code(&app, email, "000001").await;
                codes.push(body["apiCode"].as_u64().unwrap());
            }
        }
        answers.push(codes);
    }
    assert_eq!(answers[0], answers[1]);
    // Ten wrong codes an hour, then every fresh code is spent before it is tried.
    assert_eq!(&answers[0][..10], &[2001; 10]);
    assert_eq!(&answers[0][10..], &[2002, 2002]);
}

// ---- 7. Lockouts: no side channel, no locked-out owner ---------------------------------------

#[tokio::test]
async fn a_lock_on_a_name_says_nothing_about_its_address_and_spares_a_known_browser() {
    let app = spawn_app().await;
    app.register("carol", "carol@example.com", PASSWORD).await;
    // Carol signed in from her browser before: it holds a device cookie.
    let (status, set) = web_login(&app, "carol", PASSWORD, "").await;
    assert_eq!(status, 200);
    let device = cookie_named(&set, "latchkey_device");

    for _ in 0..6 {
        app.login("carol", "wrong guess").await;
    }
    assert_eq!(app.login("carol", PASSWORD).await.status(), 429);
    // The address is not locked by guesses at the name: wrong is 401, not 429.
    assert_eq!(
        app.login("carol@example.com", "another guess")
            .await
            .status(),
        401
    );

    // Carol's own browser passes the lock with her password; a stranger's does not.
    let (status, _) = web_login(&app, "carol", PASSWORD, "").await;
    assert_eq!(status, 429);
    let (status, set) = web_login(&app, "carol", PASSWORD, &device).await;
    assert_eq!(status, 200, "{set:?}");
    // A forged device cookie is worth nothing.
    let forged = format!("latchkey_device=1.{}.{}", "0".repeat(32), "0".repeat(64));
    let (status, _) = web_login(&app, "carol", PASSWORD, &forged).await;
    assert_eq!(status, 429);
}

// ---- 8. Sessions are rows ----------------------------------------------------------------------

/// Neither a signed-in read nor a refresh works with `token` any more.
async fn assert_session_ended(app: &TestApp, token: &str) {
    for path in ["/v2/account/credits/available", "/v2/auth/refresh"] {
        let status = app.get_with_token(path, token).await.status();
        assert_eq!(status, 401, "{path}");
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.register("leaving", "leaving@example.com", PASSWORD)
        .await;
    let (_, set) = web_login(&app, "leaving", PASSWORD, "").await;
    let cookie = cookie_named(&set, "latchkey_session");
    let token = cookie.trim_start_matches("latchkey_session=").to_owned();
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &token)
            .await
            .status(),
        200
    );

    let response = app
        .http
        .post(app.at("/rpc/logout"))
        .header(ACCEPT, "application/json")
        .header(ORIGIN, app.url.as_str())
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A copy of the token kept elsewhere is dead too.
    assert_session_ended(&app, &token).await;
}

#[tokio::test]
async fn refresh_never_carries_a_session_past_its_end() {
    let app = spawn_app().await;
    let token = app.signed_up("ageing").await;
    let now = latchkey::server::store::unix_now();
    // The session was opened long ago: ten minutes are left.
    sqlx::query("UPDATE sessions SET created_at = $1, expires_at = $2")
        .bind(now - 30 * 86400 + 600)
        .bind(now + 600)
        .execute(&app.db)
        .await
        .unwrap();
    let (status, body) = json(app.get_with_token("/v2/auth/refresh", &token).await).await;
    assert_eq!(status, 200);
    let expire = time::OffsetDateTime::parse(
        body["expire"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(expire.unix_timestamp() <= now + 600, "{body}");
    let fresh = body["token"].as_str().unwrap().to_owned();

    sqlx::query("UPDATE sessions SET expires_at = $1")
        .bind(now - 1)
        .execute(&app.db)
        .await
        .unwrap();
    assert_session_ended(&app, &fresh).await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_the_account_page_lists_them() {
    let app = spawn_app().await;
    let rest_token = app.signed_up("everywhere").await;
    let (_, set) = web_login(&app, "everywhere", PASSWORD, "").await;
    let cookie = cookie_named(&set, "latchkey_session");

    let page = app
        .http
        .get(app.at("/account"))
        .header(ACCEPT, "text/html")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Where you are signed in"), "{page}");
    assert_eq!(
        page.matches("last active").count(),
        2,
        "two sessions listed"
    );
    assert!(page.contains("this browser"));

    let response = app
        .http
        .post(app.at("/rpc/sign_out_everywhere"))
        .header(ACCEPT, "text/html")
        .header(ORIGIN, app.url.as_str())
        .header("referer", app.at("/account"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "/login?notice=signed-out-everywhere"
    );
    assert_session_ended(&app, &rest_token).await;
    assert_session_ended(&app, cookie.trim_start_matches("latchkey_session=")).await;
}

// ---- 9. Login CSRF -----------------------------------------------------------------------------

#[tokio::test]
async fn a_foreign_page_cannot_sign_its_visitor_in_or_up() {
    let app = spawn_app().await;
    app.register("mallory", "mallory@example.com", PASSWORD)
        .await;
    for (path, form) in [
        (
            "/rpc/login",
            vec![("identifier", "mallory"), ("password", PASSWORD)],
        ),
        (
            "/rpc/register",
            vec![
                ("username", "planted"),
                ("email", "planted@example.com"),
                ("password", PASSWORD),
            ],
        ),
    ] {
        // An auto-posting form on another site: no cookie, a foreign Origin.
        let response = app
            .http
            .post(app.at(path))
            .header(ACCEPT, "text/html")
            .header(ORIGIN, "http://evil.example")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
        assert!(response.headers().get(SET_COOKIE).is_none(), "{path}");
        // Fetch metadata says so even where Origin is absent.
        let response = app
            .http
            .post(app.at(path))
            .header("sec-fetch-site", "cross-site")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn cross_site_refusals_on_rest_paths_are_json_envelopes() {
    let app = spawn_app().await;
    let token = app.signed_up("enveloped").await;
    for (path, envelope_key) in [
        ("/v2/account/upgrade", "code"),
        ("/api/v3/send-email", "statusCode"),
        ("/auth/lostPassword", "code"),
    ] {
        let response = app
            .http
            .post(app.at(path))
            .header(COOKIE, format!("latchkey_session={token}"))
            .header(ORIGIN, "http://evil.example")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(body[envelope_key], 403, "{path} {body}");
    }
}

// ---- 10. A reset token does not survive a password change ----------------------------------

#[tokio::test]
async fn a_password_change_revokes_outstanding_resets() {
    let app = spawn_app().await;
    let token = app.signed_up("changer").await;
    let reset_token = reset_token_for(&app, "changer@example.com").await;
    app.forget_recent_sends().await;
    assert_eq!(send_email_code(&app, "changer@example.com").await.0, 200);
    let code = app
        .nth_mail_to("changer@example.com", "Your password reset passcode", 2)
        .await
        .passcode();
    let response = app
        .post_with_token(
            "/v2/account/password/change",
            &token,
            &[("old_password", PASSWORD), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let (_, body) = reset(&app, &reset_token, "yet another passphrase", "none").await;
    assert_eq!(body["apiCode"], 2030);
    let (_, body) = verify_email_code(&app, "changer@example.com", &code).await;
    assert_eq!(body["apiCode"], 2001);
    assert_eq!(app.login("changer", NEW_PASSWORD).await.status(), 200);
}

// ---- 11. Phone squatting ---------------------------------------------------------------------

#[tokio::test]
async fn an_unconfirmed_number_blocks_nobody_and_tells_nothing() {
    let app = spawn_app().await;
    let state = test_state(&app).await;
    let mut accounts_of = Vec::new();
    for name in ["first", "owner"] {
        let token = app.signed_up(name).await;
        app.verify_email_of(&format!("{name}@example.com")).await;
        accounts_of.push(accounts::account_for_token(&state, &token).await.unwrap());
    }
    let meta = Default::default();
    phone::add(&state, &accounts_of[0], "138 0013 8000", Some("86"), &meta)
        .await
        .unwrap();
    // The real owner adds the same number: no "in use", a code is texted. (The one-a-minute
    // limit per number is passed by time, as a real owner would.)
    app.forget_recent_sends().await;
    phone::add(&state, &accounts_of[1], "138 0013 8000", Some("86"), &meta)
        .await
        .expect("an unconfirmed number on another account blocks nobody");
    let code = app.sms_code_to("+8613800138000", 2).await;
    phone::confirm(&state, &accounts_of[1], &code, &meta)
        .await
        .unwrap();
    let owners: Vec<String> =
        sqlx::query_scalar("SELECT username FROM users WHERE phone_e164 = '+8613800138000'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(owners, ["owner"]);
}

// ---- 12. IPv6 clients are counted by their /64 -----------------------------------------------

#[tokio::test]
async fn ipv6_clients_share_one_allowance_per_64() {
    let app = spawn_app_with(|c| {
        c.trust_forwarded_for = true;
        c.registrations_per_address_per_hour = 2;
    })
    .await;
    let mut statuses = Vec::new();
    for (n, addr) in ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::9"]
        .iter()
        .enumerate()
    {
        let response = app
            .http
            .post(app.at("/v2/auth/register"))
            .header("x-forwarded-for", *addr)
            .form(&[
                ("username", format!("six{n}").as_str()),
                ("password", PASSWORD),
                ("email_address", &format!("six{n}@example.com")),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    // Another /64 has its own allowance.
    let response = app
        .http
        .post(app.at("/v2/auth/register"))
        .header("x-forwarded-for", "2001:db8:5:7::1")
        .form(&[
            ("username", "seven"),
            ("password", PASSWORD),
            ("email_address", "seven@example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

// ---- 13. File permissions --------------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    app.signed_up("private").await;
    app.mail_to("private@example.com", "Confirm your e-mail")
        .await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = app.data_dir.path();
    assert_eq!(mode(dir), 0o700);
    assert_eq!(mode(&dir.join("outbox")), 0o700);
    // On PostgreSQL the database is the server's business, not a file here.
    if !crate::common::on_postgres() {
        for name in ["latchkey.db", "latchkey.db-wal", "latchkey.db-shm"] {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        }
    }
    let mails: Vec<_> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!mails.is_empty());
    for mail in mails {
        assert_eq!(mode(&mail), 0o600, "{}", mail.display());
    }
}

// ---- Minor findings ----------------------------------------------------------------------------

#[tokio::test]
async fn answers_with_tokens_are_never_cached() {
    let app = spawn_app().await;
    let token = app.signed_up("uncached").await;
    let login = app.login("uncached", PASSWORD).await;
    assert_eq!(login.headers()["cache-control"], "no-store");
    let refresh = app.get_with_token("/v2/auth/refresh", &token).await;
    assert_eq!(refresh.headers()["cache-control"], "no-store");
    let page = app
        .http
        .get(app.at("/reset-password?token=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    let (status, _) = send_email_code(&app, "uncached@example.com").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_reset_mail_is_one_grant_whether_its_code_or_its_link_is_used() {
    let app = spawn_app().await;
    app.signed_up("twofold").await;
    // The code first: the link of the same mail dies.
    assert_eq!(send_email_code(&app, "twofold@example.com").await.0, 200);
    let mail = app
        .mail_to("twofold@example.com", "Your password reset passcode")
        .await;
    let (status, _) = verify_email_code(&app, "twofold@example.com", &mail.passcode()).await;
    assert_eq!(status, 200);
    let link_token = mail.link().split("token=").nth(1).unwrap().to_owned();
    let state = test_state(&app).await;
    let by_link = latchkey::server::services::recovery::exchange_link(&state, &link_token).await;
    assert!(by_link.is_err(), "the link outlived its code");

    // The link first: the code of the same mail dies.
    app.forget_recent_sends().await;
    assert_eq!(send_email_code(&app, "twofold@example.com").await.0, 200);
    let mail = app
        .nth_mail_to("twofold@example.com", "Your password reset passcode", 2)
        .await;
    let link_token = mail.link().split("token=").nth(1).unwrap().to_owned();
    latchkey::server::services::recovery::exchange_link(&state, &link_token)
        .await
        .unwrap();
    let (_, body) = verify_email_code(&app, "twofold@example.com", &mail.passcode()).await;
    assert_eq!(body["apiCode"], 2001);
}

#[tokio::test]
async fn tangerine_refuses_oversized_and_unparseable_bodies() {
    let app = spawn_app().await;
    let big = format!("{{\"username\": \"{}\"}}", "a".repeat(70 * 1024));
    for (body, expected) in [
        (big.as_str(), 413),
        ("{\"username\": ", 400),
        ("[1, 2, 3]", 400),
    ] {
        let response = app
            .http
            .post(app.at("/auth/lostPassword"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let (status, answer) = json(response).await;
        assert_eq!(status, expected, "{answer}");
        assert_eq!(answer["code"], expected);
    }
}

// ---- Authing fidelity --------------------------------------------------------------------------

#[tokio::test]
async fn authing_business_failures_are_http_200_and_throttling_429() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v3/verify-reset-password-request",
            json!({"verifyMethod": "EMAIL_PASSCODE",
                   "emailPassCodePayload": {"email": "x@example.com", "passCode": "123456"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["statusCode"].as_u64(), body["apiCode"].as_u64()),
        (Some(400), Some(2001))
    );

    send_email_code(&app, "x@example.com").await;
    let response = app
        .post_json(
            "/api/v3/send-email",
            json!({"channel": "CHANNEL_RESET_PASSWORD", "email": "x@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn sm2_ciphertext_with_authings_prefix_is_accepted_and_system_names_the_version() {
    use sm2::elliptic_curve::common::getrandom::SysRng;
    use sm2::pke::{EncryptingKey, Mode};
    let app = spawn_app_with(|c| c.public_ips = vec!["203.0.113.7".into()]).await;
    app.signed_up("prefixed").await;
    let (_, system) = authing(app.http.get(app.at("/api/v3/system")).send().await.unwrap()).await;
    assert_eq!(system["data"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(system["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(system["data"]["publicIps"], json!(["203.0.113.7"]));
    assert_eq!(system["publicIps"], json!(["203.0.113.7"]));

    let key_hex = system["data"]["sm2"]["publicKey"].as_str().unwrap();
    let public = sm2::PublicKey::from_sec1_bytes(&hex::decode(key_hex).unwrap()).unwrap();
    let sealed = EncryptingKey::new_with_mode(public, Mode::C1C3C2)
        .encrypt(&mut SysRng, NEW_PASSWORD.as_bytes())
        .unwrap();
    let token = reset_token_for(&app, "prefixed@example.com").await;
    let sent = format!("sm2:{}", hex::encode(&sealed[1..]));
    let (status, body) = reset(&app, &token, &sent, "sm2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.login("prefixed", NEW_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_default_system_answer_lists_no_public_ips() {
    let app = spawn_app().await;
    let (_, system) = authing(app.http.get(app.at("/api/v3/system")).send().await.unwrap()).await;
    assert_eq!(system["data"]["publicIps"], json!([]));
}
