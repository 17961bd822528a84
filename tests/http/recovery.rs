//! Account recovery over HTTP: the Authing v3 and Temporal v2 recovery endpoints, the
//! Tangerine lost-password endpoint, passcode rules, reset tokens, and RSA/SM2-encrypted
//! passwords (seeds 000, 001, 003, 004; SPEC §2.10–2.11, §4, §5, §7).

use crate::common::{
    authing, eventually, json, reset, reset_token_for, send_email_code, sent,
    signed_up_with_mailed_code, spawn_app, test_state, test_state_with, verify_email_code,
    PASSWORD,
};
use base64::Engine;
use latchkey::server::services::phone;
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn the_whole_reset_by_email_passcode_over_authing() {
    let app = spawn_app().await;
    let old_token = app.signed_up("resetme").await;

    let response = app
        .post_json(
            "/api/v3/send-email",
            json!({"channel": "CHANNEL_RESET_PASSWORD", "email": "RESETME@example.com"}),
        )
        .await;
    let header_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, body) = authing(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"statusCode": 200, "message": "操作成功", "apiCode": 0, "requestId": header_id, "data": null})
    );

    let mail = app
        .mail_to("resetme@example.com", "Your password reset passcode")
        .await;
    let code = mail.passcode();
    assert!(mail.html.contains(&code));
    assert!(mail.link().starts_with(&app.at("/reset-password?token=")));
    // Once delivered, the message (and the code in it) is gone from the database.
    eventually("every message recorded as sent", async || {
        let unsent: i64 = app
            .scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
            .await;
        (unsent == 0).then_some(())
    })
    .await;
    let kept: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE body_text LIKE '%' || $1 || '%' \
         OR COALESCE(body_html, '') LIKE '%' || $1 || '%'",
    )
    .bind(&code)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        kept, 0,
        "the passcode outlived its delivery in the outbox table"
    );

    let (status, body) = verify_email_code(&app, "resetme@example.com", &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiCode"], 0);
    assert_eq!(body["data"]["tokenExpiresIn"], 900);
    let token = body["data"]["passwordResetToken"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 256 bits: {token}");

    let (status, body) = reset(&app, token, NEW_PASSWORD, "none").await;
    assert_eq!(
        (status, &body["data"]),
        (200, &json!({"success": true})),
        "{body}"
    );

    assert_eq!(app.login("resetme", PASSWORD).await.status(), 401);
    assert_eq!(app.login("resetme", NEW_PASSWORD).await.status(), 200);
    assert_eq!(
        app.get_with_token("/v2/auth/refresh", &old_token)
            .await
            .status(),
        401,
        "sessions end"
    );
    app.mail_to("resetme@example.com", "Your password was changed")
        .await;
    let events: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'password.reset'")
        .await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn step_one_answers_the_same_for_unknown_addresses_and_mails_nobody() {
    let app = spawn_app().await;
    app.signed_up("known").await;
    let known = send_email_code(&app, "known@example.com").await;
    let unknown = send_email_code(&app, "nobody@example.com").await;
    assert_eq!(known.0, unknown.0);
    let strip = |mut v: Value| {
        v["requestId"] = Value::Null;
        v
    };
    assert_eq!(strip(known.1), strip(unknown.1));

    for path in ["/v2/forgot/password", "/v2/forgot/username"] {
        // The Temporal path shares the per-address limit with the Authing one just used.
        app.forget_recent_sends().await;
        let a = sent(
            app.http
                .post(app.at(path))
                .form(&[("email_address", "known@example.com")]),
        )
        .await;
        let b = sent(
            app.http
                .post(app.at(path))
                .form(&[("email_address", "nobody@example.com")]),
        )
        .await;
        assert_eq!(a, b, "{path}");
        assert_eq!(a.0, 200, "{path}");
    }
    app.mail_barrier().await;
    assert!(app.outbox().iter().all(|m| m.to != "nobody@example.com"));
}

#[tokio::test]
async fn sends_are_limited_per_address_known_or_not() {
    let app = spawn_app().await;
    app.signed_up("limited").await;
    for email in ["limited@example.com", "stranger@example.com"] {
        assert_eq!(send_email_code(&app, email).await.0, 200);
        let response = app
            .post_json(
                "/api/v3/send-email",
                json!({"channel": "CHANNEL_RESET_PASSWORD", "email": email}),
            )
            .await;
        // A minute after the send, give or take the second that may have passed.
        let wait: i64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((59..=60).contains(&wait), "{wait}");
        let (status, body) = authing(response).await;
        assert_eq!(
            (status, body["apiCode"].as_u64()),
            (429, Some(1429)),
            "{email}"
        );
    }
    // Ten an hour: after a minute the next goes, until ten were sent in the hour.
    for _ in 0..9 {
        sqlx::query("UPDATE send_log SET sent_at = sent_at - 61")
            .execute(&app.db)
            .await
            .unwrap();
        assert_eq!(send_email_code(&app, "stranger@example.com").await.0, 200);
    }
    sqlx::query("UPDATE send_log SET sent_at = sent_at - 61")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app
        .post_json(
            "/api/v3/send-email",
            json!({"channel": "CHANNEL_RESET_PASSWORD", "email": "stranger@example.com"}),
        )
        .await;
    // The real wait: until the oldest of the ten (sent 610 s ago) leaves the hour.
    let wait: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((2988..=2991).contains(&wait), "{wait}");
    assert_eq!(authing(response).await.0, 429);
}

#[tokio::test]
async fn five_wrong_codes_burn_it_and_the_sixth_fails_even_when_right() {
    let app = spawn_app().await;
    let code = signed_up_with_mailed_code(&app, "guessed").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let (status, body) = verify_email_code(&app, "guessed@example.com", wrong).await;
        assert_eq!((status, body["apiCode"].as_u64()), (400, Some(2001)));
    }
    let (status, body) = verify_email_code(&app, "guessed@example.com", &code).await;
    assert_eq!(
        (status, body["apiCode"].as_u64()),
        (400, Some(2002)),
        "{body}"
    );
}

#[tokio::test]
async fn parallel_guesses_never_get_more_than_five_tries() {
    let app = spawn_app().await;
    let code = signed_up_with_mailed_code(&app, "swarm").await;
    let guesses: Vec<String> = (0..40)
        .map(|i| format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .collect();
    let answers = futures::future::join_all(
        guesses
            .iter()
            .map(|g| verify_email_code(&app, "swarm@example.com", g)),
    )
    .await;
    let wrong_code_answers = answers.iter().filter(|(_, b)| b["apiCode"] == 2001).count();
    assert_eq!(wrong_code_answers, 5, "exactly five guesses were compared");
    assert!(answers.iter().filter(|(_, b)| b["apiCode"] == 2002).count() == 35);
    let (_, body) = verify_email_code(&app, "swarm@example.com", &code).await;
    assert_eq!(body["apiCode"], 2002);
}

#[tokio::test]
async fn a_new_code_replaces_the_old_and_codes_expire() {
    let app = spawn_app().await;
    let first = signed_up_with_mailed_code(&app, "renewed").await;
    app.forget_recent_sends().await;
    send_email_code(&app, "renewed@example.com").await;
    let second = app
        .nth_mail_to("renewed@example.com", "passcode", 2)
        .await
        .passcode();
    if first != second {
        let (_, body) = verify_email_code(&app, "renewed@example.com", &first).await;
        assert_eq!(body["apiCode"], 2001, "the first code was replaced");
    }
    sqlx::query("UPDATE passcodes SET expires_at = expires_at - 601")
        .execute(&app.db)
        .await
        .unwrap();
    let (_, body) = verify_email_code(&app, "renewed@example.com", &second).await;
    assert_eq!(body["apiCode"], 2001, "expired");
}

#[tokio::test]
async fn codes_are_single_use() {
    let app = spawn_app().await;
    let code = signed_up_with_mailed_code(&app, "single").await;
    assert_eq!(
        verify_email_code(&app, "single@example.com", &code).await.0,
        200
    );
    let (_, body) = verify_email_code(&app, "single@example.com", &code).await;
    assert_eq!(body["apiCode"], 2001);
}

#[tokio::test]
async fn reset_tokens_are_single_use_expire_and_survive_a_refused_password() {
    let app = spawn_app().await;
    app.signed_up("tokens").await;
    let token = reset_token_for(&app, "tokens@example.com").await;

    let (status, body) = reset(&app, &token, "password1", "none").await;
    assert_eq!(
        (status, body["apiCode"].as_u64()),
        (400, Some(2029)),
        "{body}"
    );
    let (status, body) = reset(&app, &token, "short", "none").await;
    assert_eq!(
        (status, body["apiCode"].as_u64()),
        (400, Some(2029)),
        "{body}"
    );

    assert_eq!(reset(&app, &token, NEW_PASSWORD, "none").await.0, 200);
    let (status, body) = reset(&app, &token, "yet another passphrase", "none").await;
    assert_eq!((status, body["apiCode"].as_u64()), (400, Some(2030)));

    app.forget_recent_sends().await;
    let token = reset_token_for(&app, "tokens@example.com").await;
    sqlx::query("UPDATE reset_tokens SET expires_at = expires_at - 901 WHERE kind = 'reset'")
        .execute(&app.db)
        .await
        .unwrap();
    let (_, body) = reset(&app, &token, "yet another passphrase", "none").await;
    assert_eq!(body["apiCode"], 2030);
    let (_, body) = reset(&app, "made-up-token", "yet another passphrase", "none").await;
    assert_eq!(body["apiCode"], 2030);
}

#[tokio::test]
async fn a_reset_revokes_outstanding_passcodes() {
    let app = spawn_app().await;
    app.signed_up("revoker").await;
    let token = reset_token_for(&app, "revoker@example.com").await;
    app.forget_recent_sends().await;
    send_email_code(&app, "revoker@example.com").await;
    // The code is queued just after the answer; its mail shows it was stored.
    app.nth_mail_to("revoker@example.com", "passcode", 2).await;
    let pending: i64 = app.scalar("SELECT COUNT(*) FROM passcodes").await;
    assert_eq!(pending, 1);
    assert_eq!(reset(&app, &token, NEW_PASSWORD, "none").await.0, 200);
    let pending: i64 = app.scalar("SELECT COUNT(*) FROM passcodes").await;
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn the_flat_payload_of_seed_001_is_accepted() {
    let app = spawn_app().await;
    let code = signed_up_with_mailed_code(&app, "flat").await;
    let (status, body) = authing(
        app.post_json(
            "/api/v3/verify-reset-password-request",
            json!({"verifyMethod": "EMAIL_PASSCODE", "resetPasswordPayload": {"email": "flat@example.com", "passCode": code}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["passwordResetToken"].is_string());
}

#[tokio::test]
async fn passwords_encrypted_with_the_published_rsa_and_sm2_keys_are_accepted() {
    use rsa::pkcs8::DecodePublicKey;
    use sm2::elliptic_curve::common::getrandom::SysRng;
    use sm2::pke::{EncryptingKey, Mode};

    let app = spawn_app().await;
    app.signed_up("crypto").await;
    let (status, system) = sent(app.http.get(app.at("/api/v3/system"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        system["rsa"], system["data"]["rsa"],
        "keys also at the top level"
    );
    assert_eq!(system["sm2"], system["data"]["sm2"]);

    let rsa_pem = system["data"]["rsa"]["publicKey"].as_str().unwrap();
    let rsa_key = rsa::RsaPublicKey::from_public_key_pem(rsa_pem).unwrap();
    let sealed = rsa_key
        .encrypt(
            &mut rand::rngs::OsRng,
            rsa::Pkcs1v15Encrypt,
            NEW_PASSWORD.as_bytes(),
        )
        .unwrap();
    let token = reset_token_for(&app, "crypto@example.com").await;
    let (status, body) = reset(
        &app,
        &token,
        &base64::engine::general_purpose::STANDARD.encode(sealed),
        "rsa",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.login("crypto", NEW_PASSWORD).await.status(), 200);

    let sm2_hex = system["data"]["sm2"]["publicKey"].as_str().unwrap();
    let sm2_key = sm2::PublicKey::from_sec1_bytes(&hex::decode(sm2_hex).unwrap()).unwrap();
    let sealed = EncryptingKey::new_with_mode(sm2_key, Mode::C1C3C2)
        .encrypt(&mut SysRng, "the sm2 passphrase".as_bytes())
        .unwrap();
    app.forget_recent_sends().await;
    let token = reset_token_for(&app, "crypto@example.com").await;
    let (status, body) = reset(&app, &token, &hex::encode(&sealed[1..]), "sm2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.login("crypto", "the sm2 passphrase").await.status(),
        200
    );
}

#[tokio::test]
async fn an_undecryptable_password_is_2016_and_two_of_them_keep_the_token() {
    let app = spawn_app().await;
    app.signed_up("garbled").await;
    let token = reset_token_for(&app, "garbled@example.com").await;
    for kind in ["rsa", "sm2"] {
        let (status, body) = reset(&app, &token, "bm90IGVuY3J5cHRlZA==", kind).await;
        assert_eq!(
            (status, body["apiCode"].as_u64()),
            (400, Some(2016)),
            "{kind}"
        );
    }
    let (_, body) = reset(&app, &token, NEW_PASSWORD, "aes").await;
    assert_eq!(body["apiCode"], 1400);
    // Without a live token nothing is decrypted at all: the token is refused first.
    let (status, body) = reset(&app, "made-up-token", "bm90IGVuY3J5cHRlZA==", "rsa").await;
    assert_eq!((status, body["apiCode"].as_u64()), (400, Some(2030)));
    assert_eq!(reset(&app, &token, NEW_PASSWORD, "none").await.0, 200);
}

#[tokio::test]
async fn malformed_authing_requests_are_1400_with_a_request_id() {
    let app = spawn_app().await;
    for (path, body) in [
        (
            "/api/v3/send-email",
            json!({"channel": "CHANNEL_LOGIN", "email": "a@example.com"}),
        ),
        (
            "/api/v3/send-email",
            json!({"channel": "CHANNEL_RESET_PASSWORD"}),
        ),
        (
            "/api/v3/send-email",
            json!({"channel": "CHANNEL_RESET_PASSWORD", "email": "not an address"}),
        ),
        (
            "/api/v3/send-sms",
            json!({"channel": "CHANNEL_RESET_PASSWORD"}),
        ),
        (
            "/api/v3/send-sms",
            json!({"channel": "CHANNEL_RESET_PASSWORD", "phoneNumber": "123"}),
        ),
        (
            "/api/v3/verify-reset-password-request",
            json!({"verifyMethod": "CARRIER_PIGEON"}),
        ),
        (
            "/api/v3/verify-reset-password-request",
            json!({"verifyMethod": "EMAIL_PASSCODE"}),
        ),
        (
            "/api/v3/verify-reset-password-request",
            json!({"verifyMethod": "EMAIL_PASSCODE", "emailPassCodePayload": {"email": "a@example.com"}}),
        ),
        ("/api/v3/reset-password", json!({"password": "x"})),
        ("/api/v3/reset-password", json!({"passwordResetToken": "x"})),
        ("/api/v3/send-email", json!("just a string")),
    ] {
        let (status, envelope) = authing(app.post_json(path, body.clone()).await).await;
        assert_eq!(status, 400, "{path} {body}");
        assert_eq!(envelope["apiCode"], 1400, "{path} {body}: {envelope}");
        assert_eq!(envelope["statusCode"], 400);
        assert!(envelope["requestId"]
            .as_str()
            .is_some_and(|id| id.len() == 16));
    }
    let response = app
        .http
        .post(app.at("/api/v3/reset-password"))
        .header("content-type", "application/json")
        .body("{\"password\": ")
        .send()
        .await
        .unwrap();
    let (status, envelope) = authing(response).await;
    assert_eq!((status, envelope["apiCode"].as_u64()), (400, Some(1400)));
}

#[tokio::test]
async fn forgot_username_mails_verified_addresses_only() {
    let app = spawn_app().await;
    app.signed_up("remembered").await;
    app.signed_up("unconfirmed").await;
    app.verify_email_of("remembered@example.com").await;
    for email in ["REMEMBERED@example.com", "unconfirmed@example.com"] {
        let (status, body) = sent(
            app.http
                .post(app.at("/v2/forgot/username"))
                .form(&[("email_address", email)]),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["code"], 200);
    }
    let mail = app
        .mail_to("remembered@example.com", "Your Latchkey username")
        .await;
    assert!(mail.text.contains("remembered"));
    app.mail_barrier().await;
    assert!(!app
        .outbox()
        .iter()
        .any(|m| m.to == "unconfirmed@example.com" && m.subject.contains("username")));
}

#[tokio::test]
async fn tangerine_lost_password_starts_a_reset_by_username_and_always_answers_200_empty() {
    let app = spawn_app().await;
    app.signed_up("tangy").await;
    app.verify_email_of("tangy@example.com").await;
    let response = app
        .post_json("//auth/lostPassword", json!({"username": "tangy"}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    app.mail_to("tangy@example.com", "Your password reset passcode")
        .await;

    for (path, content_type, body) in [
        (
            "/auth/lostPassword",
            "application/x-www-form-urlencoded",
            "username=nobody",
        ),
        (
            "//auth/lostPassword",
            "application/x-www-form-urlencoded",
            "",
        ),
        (
            "/auth/lostPassword",
            "application/json",
            "{\"username\": \"tangy\"}",
        ),
    ] {
        let response = app
            .http
            .post(app.at(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path} {body}");
        assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    }
    // A body that is not the JSON it claims to be is refused, as everywhere else.
    let response = app
        .http
        .post(app.at("/auth/lostPassword"))
        .header("content-type", "application/json")
        .body("{broken")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(400)), "{body}");
}

#[tokio::test]
async fn tangerine_sends_nothing_to_unverified_addresses() {
    let app = spawn_app().await;
    app.signed_up("unsure").await;
    app.post_json("/auth/lostPassword", json!({"username": "unsure"}))
        .await;
    app.mail_barrier().await;
    assert!(!app.outbox().iter().any(|m| m.subject.contains("reset")));
}

#[tokio::test]
async fn the_whole_reset_by_sms_passcode_for_a_verified_phone() {
    let app = spawn_app().await;
    let token = app.signed_up("texter").await;
    app.verify_email_of("texter@example.com").await;
    let state_account =
        latchkey::server::services::accounts::account_for_token(&test_state(&app).await, &token)
            .await
            .unwrap();
    let state = test_state(&app).await;
    let added = phone::add(
        &state,
        &state_account,
        "138 0013 8000",
        Some("+86"),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(added.e164, "+8613800138000");

    // Not verified yet: nothing is texted for a reset.
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
    // The answer leaves before the message work begins (a few milliseconds later): let that
    // work see the number still unconfirmed, as the request did.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let confirm = app.sms_code_to("+8613800138000", 1).await;
    phone::confirm(&state, &state_account, &confirm, &Default::default())
        .await
        .unwrap();
    app.mail_barrier().await;
    assert_eq!(
        app.sms_outbox().len(),
        1,
        "the unverified number got no reset code"
    );

    app.forget_recent_sends().await;
    let (status, body) = authing(
        app.post_json(
            "/api/v3/send-sms",
            json!({"channel": "CHANNEL_RESET_PASSWORD", "phoneNumber": "13800138000", "phoneCountryCode": "+86"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = app.sms_code_to("+8613800138000", 2).await;
    let (status, body) = authing(
        app.post_json(
            "/api/v3/verify-reset-password-request",
            json!({"verifyMethod": "PHONE_PASSCODE", "phonePassCodePayload": {"phoneNumber": "13800138000", "passCode": code}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reset_token = body["data"]["passwordResetToken"].as_str().unwrap();
    assert_eq!(reset(&app, reset_token, NEW_PASSWORD, "none").await.0, 200);
    assert_eq!(app.login("texter", NEW_PASSWORD).await.status(), 200);
}

/// The app's state, rebuilt on the same data directory (same keys, same database) so tests can
/// call services that have no REST endpoint.
#[tokio::test]
async fn the_web_reset_accepts_passwords_sealed_with_the_published_key() {
    let app = spawn_app().await;
    app.signed_up("sealed").await;
    let token = reset_token_for(&app, "sealed@example.com").await;
    let (_, system) = sent(app.http.get(app.at("/api/v3/system"))).await;
    let pem = system["data"]["rsa"]["publicKey"].as_str().unwrap();
    let post = |new: String, again: String, encryption: &'static str| {
        let form = vec![
            ("token", token.clone()),
            ("new_password", new),
            ("new_password_again", again),
            ("encryption", encryption.to_owned()),
        ];
        app.http
            .post(app.at("/rpc/finish_reset"))
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    // Plain text where a sealed password is announced: refused, nothing changed.
    let response = post(NEW_PASSWORD.into(), NEW_PASSWORD.into(), "rsa")
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(app.login("sealed", PASSWORD).await.status(), 200);

    let seal = |p: &str| latchkey::api::seal::seal_password(pem, p).unwrap();
    let response = post(seal(NEW_PASSWORD), seal(NEW_PASSWORD), "rsa")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["location"],
        "/login?notice=password-reset"
    );
    assert_eq!(app.login("sealed", NEW_PASSWORD).await.status(), 200);
}

/// A real HTTP server on loopback standing in for the operator's SMS gateway: it records every
/// JSON body it accepts, and answers 503 to the first `failures` requests.
async fn sms_gateway(failures: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let store = store.clone();
            let calls = calls.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) < failures {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                store.lock().unwrap().push(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn text_messages_go_to_the_configured_webhook_and_are_retried() {
    let (url, received) = sms_gateway(1).await;
    let app = crate::common::spawn_app_with(|c| c.sms_webhook_url = Some(url.clone().into())).await;
    let token = app.signed_up("hooked").await;
    app.verify_email_of("hooked@example.com").await;
    let state = test_state_with(&app, |c| c.sms_webhook_url = Some(url.into())).await;
    let account = latchkey::server::services::accounts::account_for_token(&state, &token)
        .await
        .unwrap();
    phone::add(
        &state,
        &account,
        "+1 650 253 0000",
        None,
        &Default::default(),
    )
    .await
    .unwrap();

    // The first delivery fails (503); the retry two seconds later gets through.
    let delivered = eventually("a text message at the gateway", async || {
        let delivered = received.lock().unwrap().clone();
        (!delivered.is_empty()).then_some(delivered)
    })
    .await;
    assert_eq!(delivered.len(), 1, "one message, delivered once");
    assert_eq!(delivered[0]["to"], "+16502530000");
    assert!(delivered[0]["body"].as_str().unwrap().contains("Latchkey"));
    // The worker records the delivery once the gateway has answered, a moment after it has
    // the message.
    let attempts = eventually("the delivery recorded", async || {
        let (attempts, sent): (i64, Option<String>) =
            sqlx::query_as("SELECT attempts, sent_at FROM outbox WHERE channel = 'sms'")
                .fetch_one(&app.db)
                .await
                .unwrap();
        sent.map(|_| attempts)
    })
    .await;
    assert_eq!(attempts, 2);
    assert!(
        app.sms_outbox().is_empty(),
        "nothing goes to the directory when the webhook is set"
    );
}

#[tokio::test]
async fn a_reset_lifts_a_login_lockout() {
    let app = spawn_app().await;
    app.signed_up("lockedout").await;
    for _ in 0..5 {
        app.login("lockedout", "wrong password").await;
    }
    assert_eq!(app.login("lockedout", PASSWORD).await.status(), 429);
    let token = reset_token_for(&app, "lockedout@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD, "none").await.0, 200);
    assert_eq!(app.login("lockedout", NEW_PASSWORD).await.status(), 200);
}
