//! Tests against the real `latchkey` binary as a separate process: killed with
//! SIGKILL in the middle of a write load and restarted, and a full run's log searched for
//! every secret the run used.

mod common;

use common::process::Process;
use common::{eventually_within, outbox_of, Mail, PASSWORD};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn wait_for_mail(data_dir: &Path, to: &str, subject: &str, count: usize) -> Vec<Mail> {
    eventually_within(
        Duration::from_secs(30),
        &format!("{count} mails to {to} about {subject:?}"),
        async || {
            let found: Vec<Mail> = outbox_of(data_dir)
                .into_iter()
                .filter(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject))
                .collect();
            (found.len() >= count).then_some(found)
        },
    )
    .await
}

#[tokio::test]
async fn a_sigkill_mid_load_loses_no_acknowledged_write_and_queued_mail_is_sent_after_restart() {
    let data = tempfile::tempdir().unwrap();
    // First life: mail goes to an SMTP port nobody listens on, so every message stays queued.
    let dead_smtp = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("smtp://127.0.0.1:{port}")
    };
    let mut server = Process::start(data.path(), &[("LATCHKEY_SMTP_URL", &dead_smtp)]);
    let http = client();

    // Four writers sign up accounts one after another until the server dies under them.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let http = http.clone();
            let url = server.at("/v2/auth/register");
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                for n in 0.. {
                    let name = format!("w{writer}n{n}");
                    let sent = http
                        .post(&url)
                        .form(&[
                            ("username", name.as_str()),
                            ("email_address", &format!("{name}@example.com")),
                            ("password", PASSWORD),
                        ])
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 200 => {
                            acknowledged.lock().unwrap().push(name)
                        }
                        Ok(response) => panic!("{name}: {}", response.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Kill once a fair number are in, while requests are certainly in flight.
    eventually_within(
        Duration::from_secs(30),
        "40 acknowledged writes",
        async || (acknowledged.lock().unwrap().len() >= 40).then_some(()),
    )
    .await;
    server.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 40,
        "only {} sign-ups",
        acknowledged.len()
    );
    assert!(
        outbox_of(data.path()).is_empty(),
        "nothing could be delivered yet"
    );

    // Second life, same data, mail to the outbox directory.
    let server = Process::start(data.path(), &[]);
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        data.path().join("latchkey.db").display()
    ))
    .await
    .unwrap();
    for name in &acknowledged {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(name)
            .fetch_optional(&db)
            .await
            .unwrap();
        assert!(found.is_some(), "{name} was acknowledged but is gone");
    }
    // The killed process may have died holding its claim on the message it was sending; such a
    // claim runs out after two minutes. Let that time pass.
    sqlx::query("UPDATE outbox SET claimed_until = 0")
        .execute(&db)
        .await
        .unwrap();
    // Every acknowledged sign-up's verification mail was queued with it, and now goes out.
    for name in &acknowledged {
        wait_for_mail(data.path(), &format!("{name}@example.com"), "Confirm", 1).await;
    }
    // The server that came back is healthy.
    let (status, _) = (
        http.get(server.at("/v2/auth/refresh"))
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(status, 401);
}

#[tokio::test]
async fn no_password_code_or_token_of_a_full_run_reaches_the_log() {
    let data = tempfile::tempdir().unwrap();
    // The most talkative setting an operator might use.
    let mut server = Process::start(data.path(), &[("LATCHKEY_LOG", "debug")]);
    let http = client();
    let post = |path: &str, body: Value| http.post(server.at(path)).json(&body).send();
    let mut secrets: Vec<String> = vec![PASSWORD.to_owned()];

    let registered = post(
        "/v2/auth/register",
        json!({"username": "secretive", "email_address": "secretive@example.com", "password": PASSWORD}),
    )
    .await
    .unwrap();
    assert_eq!(registered.status(), 200);
    let verify_link =
        wait_for_mail(data.path(), "secretive@example.com", "Confirm", 1).await[0].link();
    secrets.push(verify_link.rsplit('/').next().unwrap().to_owned());
    let accept_json = http.get(&verify_link).send().await.unwrap();
    assert_eq!(accept_json.status(), 200);

    let login: Value = post(
        "/v2/auth/login",
        json!({"username": "secretive", "password": PASSWORD}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    secrets.push(token.clone());
    let wrong = post(
        "/v2/auth/login",
        json!({"username": "secretive", "password": "a wrong guess at it"}),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    secrets.push("a wrong guess at it".into());

    let second = "second password, never logged";
    let changed = http
        .post(server.at("/v2/account/password/change"))
        .bearer_auth(&token)
        .form(&[("old_password", PASSWORD), ("new_password", second)])
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    secrets.push(second.into());

    let sent = post(
        "/api/v3/send-email",
        json!({"email": "secretive@example.com", "channel": "CHANNEL_RESET_PASSWORD"}),
    )
    .await
    .unwrap();
    assert_eq!(sent.status(), 200);
    let mail = wait_for_mail(data.path(), "secretive@example.com", "passcode", 1)
        .await
        .remove(0);
    let code = mail.passcode();
    let reset_link = mail.link();
    secrets.push(code.clone());
    secrets.push(reset_link.split("token=").nth(1).unwrap().to_owned());
    let grant: Value = post(
        "/api/v3/verify-reset-password-request",
        json!({"verifyMethod": "EMAIL_PASSCODE",
               "emailPassCodePayload": {"email": "secretive@example.com", "passCode": code}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let reset_token = grant["data"]["passwordResetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(reset_token.clone());
    let third = "third password, never logged";
    let reset = post(
        "/api/v3/reset-password",
        json!({"password": third, "passwordResetToken": reset_token, "passwordEncryptType": "none"}),
    )
    .await
    .unwrap();
    assert_eq!(reset.status(), 200);
    secrets.push(third.into());
    // The link page carries a token in its address.
    let page = http
        .get(server.at(&format!(
            "/reset-password?{}",
            reset_link.split('?').nth(1).unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    server.stop();
    let log = server.log();
    assert!(log.contains("answered"), "the log is being captured: {log}");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds {secret:?}:\n{log}"
        );
    }
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        data.path().join("latchkey.db").display()
    ))
    .await
    .unwrap();
    let audit: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT event, detail FROM audit_log")
            .fetch_all(&db)
            .await
            .unwrap();
    let audit = format!("{audit:?}");
    for secret in &secrets {
        assert!(
            !audit.contains(secret.as_str()),
            "the audit log holds {secret:?}"
        );
    }
}

/// Every `/pkg/…` address a page names (scripts, preloads, the WASM the loader fetches).
fn front_end_urls(html: &str) -> Vec<String> {
    let mut urls: Vec<String> = html
        .match_indices("/pkg/")
        .map(|(at, _)| {
            html[at..]
                .split(['"', '\'', ')', ' ', '>'])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// The binary cargo built for this test run (plain cargo, not cargo-leptos) must name the front
/// end's files as cargo-leptos writes them, and serve every one of them, or its pages never
/// hydrate (their forms still work, so nobody notices).
#[tokio::test]
async fn a_binary_built_by_plain_cargo_serves_every_file_its_pages_name() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/site");
    let data = tempfile::tempdir().unwrap();
    let mut server = Process::start(data.path(), &[("LEPTOS_SITE_ROOT", site.to_str().unwrap())]);
    let html = client()
        .get(server.at("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let urls = front_end_urls(&html);
    assert!(urls.contains(&"/pkg/latchkey.js".to_owned()), "{urls:?}");
    assert!(urls.contains(&"/pkg/latchkey.wasm".to_owned()), "{urls:?}");
    assert!(urls.iter().all(|u| !u.contains("_bg")), "{urls:?}");

    if !site.join("pkg/latchkey.wasm").exists() {
        // `./scripts/test` builds the front end first; a bare `cargo test` may not have it.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must build the front end (cargo leptos build --release --split) before this test"
        );
        eprintln!("target/site has no front end yet: only the names were checked");
        server.stop();
        return;
    }
    for url in &urls {
        let response = client().get(server.at(url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let expected = match url.rsplit('.').next() {
            Some("js") => "javascript",
            Some("wasm") => "application/wasm",
            Some("css") => "text/css",
            _ => "",
        };
        assert!(content_type.contains(expected), "{url}: {content_type}");
        // The same for everyone: browsers may keep it (pages and API answers may not).
        let cache = response.headers().get("cache-control");
        assert!(cache.is_none_or(|v| v != "no-store"), "{url}: {cache:?}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{url}");
        // The build compressed each file once; a client that takes brotli gets that file,
        // never one compressed for it per request.
        let file = site.join(url.trim_start_matches('/'));
        let brotli = std::fs::read(format!("{}.br", file.display()))
            .unwrap_or_else(|e| panic!("{url} was not compressed at build time: {e}"));
        let response = client()
            .get(server.at(url))
            .header("accept-encoding", "br, gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], "br", "{url}");
        assert_eq!(response.headers()["vary"], "accept-encoding", "{url}");
        assert_eq!(response.bytes().await.unwrap(), brotli, "{url}");
    }
    server.stop();
}

/// `latchkey admins …` on the data directory of a running server, as an operator runs it.
fn admins(data_dir: &Path, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("LATCHKEY_DATA_DIR", data_dir)
        .arg("admins")
        .args(args)
        .output()
        .expect("the latchkey binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn the_admins_command_line_grants_lists_prints_tokens_and_revokes() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Process::start(data.path(), &[]);
    let http = client();
    assert!(admins(data.path(), &["list"]).1.contains("no admins yet"));
    let (ok, said) = admins(data.path(), &["grant", "nobody"]);
    assert!(!ok && said.contains("there is no account named"), "{said}");

    let registered = http
        .post(server.at("/v2/auth/register"))
        .json(&json!({"username": "ops", "email_address": "ops@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 200);
    let (ok, said) = admins(data.path(), &["grant", "ops"]);
    assert!(!ok && said.contains("no second factor"), "{said}");

    // An authenticator over REST, its first code computed as an app would.
    let login: Value = http
        .post(server.at("/v2/auth/login"))
        .json(&json!({"username": "ops", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let begun: Value = http
        .post(server.at("/v2/account/mfa/totp"))
        .bearer_auth(token)
        .form(&[("password", PASSWORD)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let totp = totp_rs::TOTP::from_url(begun["response"]["otpauth_uri"].as_str().unwrap()).unwrap();
    let confirmed = http
        .post(server.at("/v2/account/mfa/totp/confirm"))
        .bearer_auth(token)
        .form(&[("code", totp.generate_current().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);

    let (ok, said) = admins(data.path(), &["grant", "ops"]);
    assert!(ok && said.contains("ops is an admin"), "{said}");
    assert!(admins(data.path(), &["list"])
        .1
        .contains("ops <ops@example.com>"));
    let (ok, said) = admins(
        data.path(),
        &["token", "ops", "--read-only", "--days", "400"],
    );
    assert!(!ok && said.contains("--days must be 1 to 365"), "{said}");
    let (ok, api_token) = admins(data.path(), &["token", "ops", "--read-only"]);
    assert!(ok, "{api_token}");
    let api_token = api_token.trim();
    assert!(api_token.starts_with("lka_"), "{api_token}");
    let users = http
        .get(server.at("/admin/api/users?q=ops"))
        .bearer_auth(api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);

    let (ok, said) = admins(data.path(), &["revoke", "ops"]);
    assert!(ok && said.contains("no longer an admin"), "{said}");
    let users = http
        .get(server.at("/admin/api/users?q=ops"))
        .bearer_auth(api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 404, "its tokens ended with it");
    server.stop();
    assert!(
        !server.log().contains(api_token),
        "the token never reaches the log"
    );
}
