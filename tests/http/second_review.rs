//! The second outside review's findings, one test or more each: a stolen session must not
//! lock the owner out, device cookies must not outlive the password nor multiply guesses,
//! removing a factor takes a factor, one second-step lock per account, refreshes neither
//! audited nor unlimited, refusals in the surface's envelope and language, and the rest.

use crate::common::{
    json, reset, reset_token_for, sent, set_cookie_of, spawn_app, spawn_app_with, TestApp, PASSWORD,
};
use crate::review::{cookie_named, web_login};
use crate::second_factors::{
    enrolled, page_html, post_form, rpc, second_step, waiting_secret, web_session, Authenticator,
};

const NEW_PASSWORD: &str = "a brand new passphrase";

// ---- 2. Device cookies --------------------------------------------------------------------

/// Changes the password over REST (signing in for it); the old password is [`PASSWORD`].
async fn change_password(app: &TestApp, name: &str) {
    let (_, body) = json(app.login(name, PASSWORD).await).await;
    let token = body["token"].as_str().expect("a token").to_owned();
    let form = [("old_password", PASSWORD), ("new_password", NEW_PASSWORD)];
    let (status, body) = post_form(app, "/v2/account/password/change", &token, &form).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn device_cookies_share_one_lane_so_collecting_them_buys_no_guesses() {
    let app = spawn_app_with(|config| config.logins_per_address_per_minute = 0).await;
    app.register("dora", "dora@example.com", PASSWORD).await;
    // Someone who knew the password signs in three times and keeps each browser's cookie.
    let mut cookies = Vec::new();
    for _ in 0..3 {
        let (status, set) = web_login(&app, "dora", PASSWORD, "").await;
        assert_eq!(status, 200);
        cookies.push(cookie_named(&set, "latchkey_device"));
    }
    // Their guesses at a password, spread over the cookies, are counted together: five, then
    // a wait, however many cookies they hold (before, each cookie was five guesses of its own).
    let mut answers = Vec::new();
    for guess in 0..9 {
        let cookie = &cookies[guess % cookies.len()];
        let (status, _) = web_login(&app, "dora", &format!("guess number {guess}"), cookie).await;
        answers.push(status);
    }
    assert_eq!(&answers[..5], &[401; 5], "{answers:?}");
    assert!(answers[5..].iter().all(|s| *s == 429), "{answers:?}");
}

#[tokio::test]
async fn a_password_change_forgets_every_remembered_browser() {
    let app = spawn_app_with(|config| config.logins_per_address_per_minute = 0).await;
    app.register("ezra", "ezra@example.com", PASSWORD).await;
    let (_, set) = web_login(&app, "ezra", PASSWORD, "").await;
    let before_change = cookie_named(&set, "latchkey_device");
    change_password(&app, "ezra").await;
    let (status, set) = web_login(&app, "ezra", NEW_PASSWORD, "").await;
    assert_eq!(status, 200);
    let after_change = cookie_named(&set, "latchkey_device");

    // A stranger locks the name.
    for _ in 0..6 {
        app.login("ezra", "wrong guess").await;
    }
    // The browser remembered after the change still passes; the one from before is a stranger.
    let (status, _) = web_login(&app, "ezra", NEW_PASSWORD, &before_change).await;
    assert_eq!(status, 429, "a cookie from before the change opens no lane");
    let (status, _) = web_login(&app, "ezra", NEW_PASSWORD, &after_change).await;
    assert_eq!(status, 200);
    let remembered: i64 = app.scalar("SELECT COUNT(*) FROM remembered_devices").await;
    assert!(remembered <= 2, "{remembered}");
}

#[tokio::test]
async fn a_reset_and_ending_every_session_forget_remembered_browsers_and_few_are_kept() {
    let app = spawn_app_with(|config| config.logins_per_address_per_minute = 0).await;
    app.register("fern", "fern@example.com", PASSWORD).await;
    for _ in 0..8 {
        let (status, _) = web_login(&app, "fern", PASSWORD, "").await;
        assert_eq!(status, 200);
    }
    let kept: i64 = app.scalar("SELECT COUNT(*) FROM remembered_devices").await;
    assert_eq!(kept, 5, "an account remembers five browsers at most");

    let token = reset_token_for(&app, "fern@example.com").await;
    let (status, body) = reset(&app, &token, NEW_PASSWORD, "none").await;
    assert_eq!(status, 200, "{body}");
    let kept: i64 = app.scalar("SELECT COUNT(*) FROM remembered_devices").await;
    assert_eq!(kept, 0, "a reset forgets them");

    let (_, set) = web_login(&app, "fern", NEW_PASSWORD, "").await;
    let session = cookie_named(&set, "latchkey_session");
    let response = app
        .post_page_form(
            "/rpc/sign_out_everywhere",
            "/account",
            &[],
            Some(&session),
            &[],
        )
        .await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let kept: i64 = app.scalar("SELECT COUNT(*) FROM remembered_devices").await;
    assert_eq!(kept, 0, "ending every session forgets them");
}

// ---- 3. Removing a passkey takes a second factor ------------------------------------------

#[tokio::test]
async fn removing_a_passkey_needs_the_password_and_a_code() {
    let app = spawn_app().await;
    let (mut authenticator, codes) = enrolled(&app, "percy").await;
    // A passkey row as a finished registration leaves it (its record is not read on removal).
    let user_id: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'percy'")
        .await;
    sqlx::query(
        "INSERT INTO passkeys (credential_id, user_id, name, passkey, created_at) \
         VALUES ('cred-1', $1, 'Laptop', '{}', 1)",
    )
    .bind(user_id)
    .execute(&app.db)
    .await
    .unwrap();
    let session = web_session_with_code(&app, "percy", &mut authenticator).await;

    // The password alone removes nothing: before, it did.
    let form = [("id", "cred-1"), ("password", PASSWORD), ("code", "")];
    let (status, body) = rpc(&app, "remove_passkey", Some(&session), &form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "code", "{body}");
    let wrong = [("id", "cred-1"), ("password", PASSWORD), ("code", "000000")];
    let (status, _) = rpc(&app, "remove_passkey", Some(&session), &wrong).await;
    assert_eq!(status, 400);
    let left: i64 = app.scalar("SELECT COUNT(*) FROM passkeys").await;
    assert_eq!(left, 1);

    // With a recovery code (or the app's code) it goes.
    let right = [
        ("id", "cred-1"),
        ("password", PASSWORD),
        ("code", codes[0].as_str()),
    ];
    let (status, body) = rpc(&app, "remove_passkey", Some(&session), &right).await;
    assert_eq!(status, 200, "{body}");
    let left: i64 = app.scalar("SELECT COUNT(*) FROM passkeys").await;
    assert_eq!(left, 0);
}

/// A web session of an account with an authenticator: the password, then a code.
async fn web_session_with_code(
    app: &TestApp,
    name: &str,
    authenticator: &mut Authenticator,
) -> String {
    let (status, set) = web_login(app, name, PASSWORD, "").await;
    assert_eq!(status, 200, "{set:?}");
    let second_step = cookie_named(&set, "latchkey_mfa");
    let response = app
        .http
        .post(app.at("/rpc/login_second_factor"))
        .header("origin", app.url.as_str())
        .header("accept", "application/json")
        .header("cookie", &second_step)
        .form(&[("code", authenticator.next_code().await.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    set_cookie_of(&response, "latchkey_session")
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

// ---- 4. One second-step lock per account, which a reset keeps -----------------------------

#[tokio::test]
async fn the_second_step_lock_is_one_per_account_and_a_reset_keeps_it() {
    let app = spawn_app_with(|config| config.logins_per_address_per_minute = 0).await;
    let (mut authenticator, _) = enrolled(&app, "stella").await;
    // Established: a reset removes only factors added in its last 72 hours.
    sqlx::query("UPDATE totp_factors SET created_at = created_at - 4 * 86400, confirmed_at = confirmed_at - 4 * 86400")
        .execute(&app.db)
        .await
        .unwrap();
    // Five wrong codes after the password typed as the username: the fifth locks.
    let (_, body) = json(app.login("stella", PASSWORD).await).await;
    let mfa = body["mfa_token"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let (status, body) = second_step(&app, &mfa, "000000").await;
        assert_eq!(status, 401, "{body}");
    }
    // The same password typed as the address: the code is still locked (before, the address
    // had five guesses of its own).
    let (status, body) = json(app.login("stella@example.com", PASSWORD).await).await;
    assert_eq!(status, 401, "{body}");
    let mfa = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 429, "{body}");

    // A reset proves the mailbox, not the second factor: the lock stays.
    let token = reset_token_for(&app, "stella@example.com").await;
    let (status, _) = reset(&app, &token, NEW_PASSWORD, "none").await;
    assert_eq!(status, 200);
    let (status, body) = json(app.login("stella", NEW_PASSWORD).await).await;
    assert_eq!(status, 401, "{body}");
    let mfa = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 429, "{body}");
}

// ---- 1. A factor a thief added just before is gone after the owner's reset -----------------

#[tokio::test]
async fn a_reset_removes_second_factors_added_in_the_72_hours_before_it_and_says_so() {
    let app = spawn_app().await;
    enrolled(&app, "olive").await;
    // Begun four days ago but confirmed now: it came into force now, so it goes (a thief could
    // begin one, wait, and confirm it just before the owner notices).
    sqlx::query("UPDATE totp_factors SET created_at = created_at - 4 * 86400")
        .execute(&app.db)
        .await
        .unwrap();
    // A passkey added three days and a bit ago stays; the authenticator goes.
    let user_id: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'olive'")
        .await;
    sqlx::query(
        "INSERT INTO passkeys (credential_id, user_id, name, passkey, created_at) \
         VALUES ('old-key', $1, 'Old phone', '{}', $2)",
    )
    .bind(user_id)
    .bind(now() - 73 * 3600)
    .execute(&app.db)
    .await
    .unwrap();
    let token = reset_token_for(&app, "olive@example.com").await;
    let (status, body) = reset(&app, &token, NEW_PASSWORD, "none").await;
    assert_eq!(status, 200, "{body}");
    let totp: i64 = app.scalar("SELECT COUNT(*) FROM totp_factors").await;
    assert_eq!(totp, 0, "the authenticator added just now is gone");
    let passkeys: i64 = app.scalar("SELECT COUNT(*) FROM passkeys").await;
    assert_eq!(passkeys, 1, "the established passkey stays");
    let codes: i64 = app.scalar("SELECT COUNT(*) FROM recovery_codes").await;
    assert_eq!(codes, 10, "a factor is left, so its recovery codes stay");
    let mail = app
        .mail_to("olive@example.com", "Your password was changed")
        .await;
    assert!(
        mail.text
            .contains("added in the 72 hours before this reset"),
        "{}",
        mail.text
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---- 7. Refreshes: not audited, limited per session; sessions capped per account ----------

#[tokio::test]
async fn refreshes_write_no_audit_rows_and_a_session_may_refresh_sixty_times_an_hour() {
    let app = spawn_app().await;
    let token = app.signed_up("rolf").await;
    let events_before: i64 = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    let mut answers = Vec::new();
    for _ in 0..61 {
        let response = app.get_with_token("/v2/auth/refresh", &token).await;
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, body) = json(response).await;
        answers.push(status);
        if status == 429 {
            assert!(retry_after.is_some(), "{body}");
            assert_eq!(body["code"], 429, "{body}");
        }
    }
    assert!(answers[..60].iter().all(|s| *s == 200), "{answers:?}");
    assert_eq!(answers[60], 429);
    let events_after: i64 = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    assert_eq!(events_after, events_before, "refreshes are not audited");
}

#[tokio::test]
async fn an_account_keeps_a_hundred_sessions_and_sign_ins_past_that_end_the_least_used() {
    let app = spawn_app_with(|config| config.logins_per_address_per_minute = 0).await;
    let first = app.signed_up("busy").await;
    // The sign-up's session was last used a minute ago; the hundred below are newer.
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 60")
        .execute(&app.db)
        .await
        .unwrap();
    for _ in 0..100 {
        assert_eq!(app.login("busy", PASSWORD).await.status(), 200);
    }
    let sessions: i64 = app.scalar("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(sessions, 100);
    // The first session, least recently used, was the one to go.
    let status = app
        .get_with_token("/v2/account/credits/available", &first)
        .await
        .status();
    assert_eq!(status, 401);
}

// ---- 9. A waiting enrolment belongs to the session that began it --------------------------

#[tokio::test]
async fn only_the_session_that_began_an_enrolment_sees_and_confirms_it() {
    let app = spawn_app().await;
    let owner = web_session(&app, "tilda").await;
    let (status, set) = web_login(&app, "tilda", PASSWORD, "").await;
    assert_eq!(status, 200);
    let thief = cookie_named(&set, "latchkey_session");
    let (status, body) = rpc(&app, "begin_totp", Some(&owner), &[("password", PASSWORD)]).await;
    assert!(status == 200 || status == 302, "{status} {body}");
    let owners_page = page_html(&app, "/account/security", Some(&owner)).await;
    let secret = waiting_secret(&owners_page);
    let thiefs_page = page_html(&app, "/account/security", Some(&thief)).await;
    assert!(
        !thiefs_page.contains(&secret),
        "another session sees the secret"
    );
    let uri = format!("otpauth://totp/Latchkey:tilda?secret={secret}&issuer=Latchkey");
    let mut authenticator = Authenticator::from_uri(&uri);
    let code = authenticator.next_code().await;
    let (status, body) = rpc(&app, "confirm_totp", Some(&thief), &[("code", &code)]).await;
    assert_eq!(status, 403, "{body}");
    let on: i64 = app
        .scalar("SELECT COUNT(*) FROM totp_factors WHERE confirmed_at IS NOT NULL")
        .await;
    assert_eq!(on, 0);
}

#[tokio::test]
async fn guesses_at_an_enrolments_first_code_are_limited() {
    let app = spawn_app().await;
    let session = web_session(&app, "guss").await;
    rpc(
        &app,
        "begin_totp",
        Some(&session),
        &[("password", PASSWORD)],
    )
    .await;
    let mut answers = Vec::new();
    for _ in 0..7 {
        let (status, _) = rpc(&app, "confirm_totp", Some(&session), &[("code", "000000")]).await;
        answers.push(status);
    }
    assert_eq!(&answers[..5], &[400; 5], "{answers:?}");
    assert_eq!(answers[6], 429, "{answers:?}");
}

#[tokio::test]
async fn a_refused_form_with_a_dotted_page_leaves_no_error_in_the_address() {
    let app = spawn_app().await;
    let refused_from = |page: &'static str| {
        app.http
            .post(app.at("/rpc/login"))
            .header("accept", "text/html")
            .header("origin", app.url.as_str())
            .form(&[
                ("identifier", "nobody"),
                ("password", "wrong password"),
                ("__page", page),
            ])
            .send()
    };
    // A plain page comes back to itself, clean, with the error in the cookie.
    let plain = refused_from("/login").await.unwrap();
    assert_eq!(plain.headers()["location"], "/login");
    assert!(set_cookie_of(&plain, "latchkey_form").is_some());
    // A dotted one is not taken for a page (a URL parser folds `/.//login` into `//login`), so
    // nothing sends the browser to an address with the error in it.
    let dotted = refused_from("/.//login").await.unwrap();
    let location = dotted
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(!location.contains("__err"), "{location}");
    assert!(!location.contains("//login"), "{location}");
}

// ---- 10. A client's mistake is not a server error -----------------------------------------

#[tokio::test]
async fn a_reset_code_without_its_reset_is_a_client_error() {
    let app = spawn_app().await;
    let (status, body) = rpc(&app, "verify_reset_code", None, &[("code", "123456")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "This reset has run out of time. Start again to get a new passcode."
    );
    // A form that cannot be read is the client's too.
    let (status, _) = rpc(&app, "verify_reset_code", None, &[]).await;
    assert_eq!(status, 400);
}

// ---- Carried: the 404 page, the plumbing's refusals, the command line ----------------------

#[tokio::test]
async fn the_not_found_page_names_a_signed_in_visitor() {
    let app = spawn_app().await;
    let session = web_session(&app, "nemo").await;
    let response = app
        .http
        .get(app.at("/no/such/page"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("nemo"),
        "the header names the account: {html}"
    );
}

#[tokio::test]
async fn the_plumbings_refusals_speak_the_surface_and_the_language() {
    let app = spawn_app().await;
    let big = "x".repeat(70_000);
    // A page's form, in Chinese.
    let response = app
        .http
        .post(app.at("/rpc/login"))
        .header("origin", app.url.as_str())
        .header("accept-language", "zh-CN")
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let text = response.text().await.unwrap();
    assert_eq!(text, "请求大于 64 KiB。");
    // A cross-site form, in Chinese.
    let response = app
        .http
        .post(app.at("/rpc/login"))
        .header("origin", "http://evil.example")
        .header("accept-language", "zh-CN")
        .form(&[("identifier", "x"), ("password", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("跨站"));
    // Authing in its client's language.
    let (status, body) = sent(
        app.http
            .post(app.at("/api/v3/send-email"))
            .header("x-authing-lang", "zh-CN")
            .header("content-type", "application/json")
            .body(big),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(body["message"], "请求体大于 64 KiB", "{body}");
    assert_eq!(body["apiCode"], 1413);
}

#[tokio::test]
async fn a_request_past_its_time_is_a_408_in_the_surfaces_envelope() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|config| config.request_timeout_seconds = 1).await;
    let addr = app.url.trim_start_matches("http://");
    // Headers whole, the body promised but never finished.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /v2/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"user",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains("\"code\":408"), "{answer}");
}

#[tokio::test]
async fn the_command_line_makes_a_new_database_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("fresh");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["keys", "list"])
        .env("LATCHKEY_DATA_DIR", &dir)
        .env_remove("LATCHKEY_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("latchkey.db")), 0o600);
}

// ---- 5. The front end's files are compressed once, at build time ---------------------------

#[tokio::test]
async fn static_files_go_out_as_compressed_at_build_time_and_never_per_request() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm: Vec<u8> = (0..40_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(pkg.join("app.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("app.wasm.br"), b"brotli made at build time").unwrap();
    std::fs::write(pkg.join("app.wasm.gz"), b"gzip made at build time").unwrap();
    std::fs::write(pkg.join("plain.js"), "x".repeat(20_000)).unwrap();
    let app =
        spawn_app_with(|config| config.site_root = site.path().to_str().unwrap().into()).await;

    let get = |path: &'static str, encodings: &'static str| {
        app.http
            .get(app.at(path))
            .header("accept-encoding", encodings)
            .send()
    };
    let response = get("/pkg/app.wasm", "gzip, br").await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "br");
    assert_eq!(response.headers()["vary"], "accept-encoding");
    assert_eq!(
        &response.bytes().await.unwrap()[..],
        b"brotli made at build time"
    );
    let response = get("/pkg/app.wasm", "gzip").await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(
        &response.bytes().await.unwrap()[..],
        b"gzip made at build time"
    );
    // A file the build did not compress goes out as it is: nothing is compressed per request.
    let response = get("/pkg/plain.js", "gzip, br").await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(response.bytes().await.unwrap().len(), 20_000);
}
