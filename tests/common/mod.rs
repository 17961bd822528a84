//! A real Latchkey server per test: port 0, a fresh temporary data directory and database.

#![allow(dead_code)]

pub mod process;
pub mod smtp;

use latchkey::server::config::Config;
use latchkey::server::startup;
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use serde_json::Value;
use sqlx::AnyPool;

pub struct TestApp {
    pub url: String,
    /// The console's own listener, when the test configured `admin_listen`.
    pub admin_url: Option<String>,
    /// The server's database, whichever backend it is: tests write their SQL with `$1`
    /// placeholders and `TRUE`/`FALSE`, which both accept.
    pub db: AnyPool,
    pub database_url: String,
    /// The running server's own state (its key ring, its outbox worker's wake-up).
    pub state: latchkey::server::state::AppState,
    pub data_dir: tempfile::TempDir,
    /// Follows no redirects, keeps no cookies: every test sees exactly what the server said.
    pub http: Client,
    /// The database this server was given, when it is the first node on it: dropped with the
    /// server. Last, so that everything above lets go of it first.
    own_database: Option<TestDatabase>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose configuration the test adjusts first (e.g. to send mail over SMTP).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(None, configure).await
}

/// Another node of `app`'s service: a server of its own (its own key ring, outbox worker and
/// data directory) on the same database.
pub async fn spawn_node_of(app: &TestApp, configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(Some(app.database_url.clone()), configure).await
}

/// A server on `database_url`, or on a fresh database when `None`.
pub async fn spawn_app_on(
    database_url: Option<String>,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let mut config = Config::for_data_dir(data_dir.path());
    let (database_url, own_database) = match database_url {
        Some(url) => (url, None),
        None => {
            give_key_pairs(data_dir.path());
            let database = test_database(data_dir.path()).await;
            (database.url.clone(), Some(database))
        }
    };
    config.database_url = Some(database_url.into());
    // One hashing thread is plenty for tests and keeps parallel tests from oversubscribing.
    config.hash_workers = Some(1);
    configure(&mut config);
    let database_url = config.database_url();
    let server = startup::build(config).await.expect("server starts");
    let state = server.state.clone();
    let admin_url = server.admin_addr.map(|addr| format!("http://{addr}"));
    let url = server.spawn();
    sqlx::any::install_default_drivers();
    let db = AnyPool::connect(&database_url)
        .await
        .expect("the test's own connection to the database");
    TestApp {
        url,
        admin_url,
        db,
        database_url,
        state,
        data_dir,
        http: Client::builder()
            .redirect(Policy::none())
            // An answer that never comes is a hang: the test fails under its own name instead
            // of holding the whole run until CI's time runs out.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("HTTP client"),
        own_database,
    }
}

/// Puts one RSA and one SM2 key pair, made once for the whole test binary, where a server's
/// first start imports them from (the files an earlier version kept its keys in): making an
/// RSA-2048 key was most of every test server's start-up.
fn give_key_pairs(data_dir: &std::path::Path) {
    use latchkey::server::crypto::password_cipher::PasswordCiphers;
    static KEYS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (rsa, sm2) = KEYS.get_or_init(|| {
        let rsa = PasswordCiphers::new_rsa_pem().expect("an RSA key");
        (rsa, PasswordCiphers::new_sm2_hex())
    });
    std::fs::write(data_dir.join("rsa_private.pem"), rsa).expect("the RSA key file");
    std::fs::write(data_dir.join("sm2_private.hex"), sm2).expect("the SM2 key file");
}

/// Where a test's server keeps its data: a fresh PostgreSQL database on the cluster
/// `LATCHKEY_TEST_POSTGRES` names (the test command starts one and runs every HTTP test on each
/// backend), else a SQLite file in the test's data directory.
pub async fn test_database(data_dir: &std::path::Path) -> TestDatabase {
    match std::env::var("LATCHKEY_TEST_POSTGRES") {
        Ok(cluster) if !cluster.is_empty() => fresh_postgres_database(&cluster).await,
        _ => TestDatabase {
            url: format!("sqlite://{}", data_dir.join("latchkey.db").display()),
            on_cluster: None,
        },
    }
}

/// Whether the tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("LATCHKEY_TEST_POSTGRES").is_ok_and(|v| !v.is_empty())
}

/// A test's database. A PostgreSQL one is dropped with this value: each is ~8 MB of catalogs
/// before any data, and a pass makes hundreds, which a machine short of disk cannot hold. (A
/// SQLite one lives in the test's data directory and goes with that.)
pub struct TestDatabase {
    pub url: String,
    /// The cluster's URL and the database's name, for the drop.
    on_cluster: Option<(String, String)>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((cluster_url, name)) = self.on_cluster.take() else {
            return;
        };
        // Drop runs on the test's runtime, which cannot wait on a future here: the statement
        // runs on a thread and a runtime of its own. FORCE ends the connections servers still
        // hold; a failure only leaves a database behind, which the cluster's removal takes.
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&cluster_url).await.ok()?;
                sqlx::query(&statement).execute(&mut admin).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("note: the test database {name} was not dropped");
        }
    }
}

/// Creates an empty database on the cluster at `cluster_url`.
pub async fn fresh_postgres_database(cluster_url: &str) -> TestDatabase {
    use sqlx::Connection;
    let name = format!("latchkey_test_{:016x}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(cluster_url)
        .await
        .expect("the test PostgreSQL cluster answers");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("a test database");
    let base = cluster_url
        .rsplit_once('/')
        .map_or(cluster_url, |(base, _)| base);
    TestDatabase {
        url: format!("{base}/{name}"),
        on_cluster: Some((cluster_url.to_owned(), name)),
    }
}

/// Asks `probe` every 50 ms until it finds what it looks for, and returns that; fails the test
/// after 15 s, saying what never came.
pub async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(std::time::Duration::from_secs(15), what, probe).await
}

/// [`eventually`] with a deadline of `patience`, for waits that outlast a poll or a claim.
pub async fn eventually_within<T>(
    patience: std::time::Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + patience;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// The one value the test's own `sql` reads from the server's database.
    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + Unpin,
    {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn user_count(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM users").await
    }

    /// Registers through the Temporal endpoint with the seed's urlencoded form.
    pub async fn register(&self, username: &str, email: &str, password: &str) -> Response {
        self.http
            .post(self.at("/v2/auth/register"))
            .form(&[
                ("username", username),
                ("password", password),
                ("email_address", email),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs in the way the seed does: JSON sent as `text/plain`.
    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.http
            .post(self.at("/v2/auth/login"))
            .header("content-type", "text/plain")
            .body(serde_json::json!({ "username": username, "password": password }).to_string())
            .send()
            .await
            .unwrap()
    }

    /// Registers and logs in; returns the bearer token.
    pub async fn signed_up(&self, username: &str) -> String {
        let email = format!("{username}@example.com");
        assert_eq!(
            self.register(username, &email, PASSWORD).await.status(),
            200
        );
        let body: Value = self.login(username, PASSWORD).await.json().await.unwrap();
        body["token"].as_str().expect("token").to_owned()
    }
}

/// Sends `request`; its status and parsed JSON body (see [`json`]).
pub async fn sent(request: reqwest::RequestBuilder) -> (u16, Value) {
    json(request.send().await.expect("the server answers")).await
}

/// Status and parsed JSON body, checking the body is JSON.
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "expected JSON, got {content_type:?}: {text}"
    );
    (status, serde_json::from_str(&text).expect("valid JSON"))
}

/// An Authing v3 answer: its `statusCode` and body. Business failures travel as HTTP 200 with
/// the outcome in the body, as Authing answers them (its SDKs throw on any other status); only
/// 413, 429 and 500 are HTTP statuses too. Checks that, then returns `statusCode` as the status.
pub async fn authing(response: Response) -> (u16, Value) {
    let (http_status, body) = json(response).await;
    let status = body["statusCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("no statusCode in {body}")) as u16;
    let expected_http = if matches!(status, 413 | 429 | 500) {
        status
    } else {
        200
    };
    assert_eq!(http_status, expected_http, "HTTP status of {body}");
    (status, body)
}

/// The whole `Set-Cookie` value (attributes included) the response sets for cookie `name`.
pub fn set_cookie_of(response: &Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .map(str::to_owned)
}

/// A delivered e-mail, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    pub fn parse(raw: &[u8]) -> Mail {
        let message = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("a MIME message");
        let to = message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        Mail {
            to,
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: message
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        }
    }

    /// The first link in the text part.
    pub fn link(&self) -> String {
        let start = self.text.find("http://").expect("a link in the mail");
        self.text[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }
}

/// Every mail written to `<data_dir>/outbox/`, oldest first.
pub fn outbox_of(data_dir: &std::path::Path) -> Vec<Mail> {
    let mut names: Vec<_> = std::fs::read_dir(data_dir.join("outbox"))
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    names.sort();
    names
        .iter()
        .map(|p| Mail::parse(&std::fs::read(p).unwrap()))
        .collect()
}

impl TestApp {
    /// Every mail written to `data/outbox/`, oldest first.
    pub fn outbox(&self) -> Vec<Mail> {
        outbox_of(self.data_dir.path())
    }

    /// Waits for the outbox to hold a mail to `to` whose subject contains `subject`, and
    /// returns the newest such mail.
    pub async fn mail_to(&self, to: &str, subject: &str) -> Mail {
        eventually(&format!("a mail to {to} about {subject:?}"), async || {
            self.outbox()
                .into_iter()
                .rev()
                .find(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject))
        })
        .await
    }

    /// Waits for the `n`-th mail (counting from 1) to `to` whose subject contains `subject`.
    pub async fn nth_mail_to(&self, to: &str, subject: &str, n: usize) -> Mail {
        eventually(
            &format!("mail number {n} to {to} about {subject:?}"),
            async || {
                self.outbox()
                    .into_iter()
                    .filter(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject))
                    .nth(n - 1)
            },
        )
        .await
    }

    pub fn count_mail_to(&self, to: &str, subject: &str) -> usize {
        self.outbox()
            .iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to) && m.subject.contains(subject))
            .count()
    }

    /// A positive control for "nothing was sent": registers a fresh account and waits for its
    /// verification mail. The outbox is delivered oldest first, so once this arrives, anything
    /// queued before it has been delivered too, and its absence means it was never queued.
    pub async fn mail_barrier(&self) {
        let name = format!("control{:08x}", rand::random::<u32>());
        let email = format!("{name}@example.com");
        assert_eq!(self.register(&name, &email, PASSWORD).await.status(), 200);
        self.mail_to(&email, "Confirm your e-mail").await;
    }

    /// Follows the verification mail's link as an API client.
    pub async fn verify_email_of(&self, email: &str) {
        let link = self.mail_to(email, "Confirm your e-mail").await.link();
        let response = self.http.get(&link).send().await.unwrap();
        assert_eq!(response.status(), 200, "verifying {link}");
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.http
            .get(self.at(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_with_token(
        &self,
        path: &str,
        token: &str,
        form: &[(&str, &str)],
    ) -> Response {
        self.http
            .post(self.at(path))
            .bearer_auth(token)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

impl Mail {
    /// The six-digit passcode in the text part (it stands alone on its line).
    pub fn passcode(&self) -> String {
        self.text
            .lines()
            .map(str::trim)
            .find(|line| line.len() == 6 && line.chars().all(|c| c.is_ascii_digit()))
            .expect("a passcode line")
            .to_owned()
    }
}

impl TestApp {
    /// Text messages written to `data/outbox/`, oldest first, as (to, body).
    pub fn sms_outbox(&self) -> Vec<(String, String)> {
        let dir = self.data_dir.path().join("outbox");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| p.to_string_lossy().ends_with("-sms.txt"));
        names.sort();
        names
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap();
                let (head, body) = text.split_once("\n\n").unwrap();
                (
                    head.trim_start_matches("To: ").to_owned(),
                    body.trim().to_owned(),
                )
            })
            .collect()
    }

    /// Waits for a text message to `to` and returns the six-digit code in it.
    pub async fn sms_code_to(&self, to: &str, count_at_least: usize) -> String {
        let body = eventually(
            &format!("text message {count_at_least} to {to}"),
            async || {
                let to_number: Vec<_> = self
                    .sms_outbox()
                    .into_iter()
                    .filter(|(t, _)| t == to)
                    .collect();
                (to_number.len() >= count_at_least).then(|| to_number.last().unwrap().1.clone())
            },
        )
        .await;
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a code")
            .to_owned()
    }

    /// Submits a form the way a browser without JavaScript does: from page `from_page` of
    /// this site, wanting HTML back, with any `headers` more and the `cookie` given.
    pub async fn post_page_form(
        &self,
        path: &str,
        from_page: &str,
        headers: &[(&str, &str)],
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response {
        use reqwest::header::{ACCEPT, COOKIE, ORIGIN, REFERER};
        let mut request = self
            .http
            .post(self.at(path))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(ORIGIN, self.url.as_str())
            .header(REFERER, self.at(from_page))
            .form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> Response {
        self.http
            .post(self.at(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Lets the next recovery send through the once-a-minute limit.
    pub async fn forget_recent_sends(&self) {
        // At SERIALIZABLE isolation a send being logged meanwhile may refuse this: again.
        eventually("the send log moved back an hour", async || {
            sqlx::query("UPDATE send_log SET sent_at = sent_at - 3600")
                .execute(&self.db)
                .await
                .ok()
        })
        .await;
    }
}

/// Reset step 1 by e-mail over Authing (`send-email`).
pub async fn send_email_code(app: &TestApp, email: &str) -> (u16, Value) {
    authing(
        app.post_json(
            "/api/v3/send-email",
            serde_json::json!({"channel": "CHANNEL_RESET_PASSWORD", "email": email}),
        )
        .await,
    )
    .await
}

/// Signs `name` up (address `name@example.com`) and asks for a reset by e-mail; the passcode
/// the mail brought.
pub async fn signed_up_with_mailed_code(app: &TestApp, name: &str) -> String {
    app.signed_up(name).await;
    let email = format!("{name}@example.com");
    send_email_code(app, &email).await;
    app.mail_to(&email, "passcode").await.passcode()
}

/// Reset step 2 by e-mail passcode over Authing.
pub async fn verify_email_code(app: &TestApp, email: &str, code: &str) -> (u16, Value) {
    authing(
        app.post_json(
            "/api/v3/verify-reset-password-request",
            serde_json::json!({"verifyMethod": "EMAIL_PASSCODE",
                               "emailPassCodePayload": {"email": email, "passCode": code}}),
        )
        .await,
    )
    .await
}

/// Reset step 3 over Authing, the password sent as `encrypt` says (`none`, `rsa`, `sm2`).
pub async fn reset(app: &TestApp, token: &str, password: &str, encrypt: &str) -> (u16, Value) {
    authing(
        app.post_json(
            "/api/v3/reset-password",
            serde_json::json!({"password": password, "passwordResetToken": token,
                               "passwordEncryptType": encrypt}),
        )
        .await,
    )
    .await
}

/// Steps 1 and 2 by e-mail (past the once-a-minute limit); returns the reset token.
pub async fn reset_token_for(app: &TestApp, email: &str) -> String {
    app.forget_recent_sends().await;
    let before = app.count_mail_to(email, "passcode");
    let (status, _) = send_email_code(app, email).await;
    assert_eq!(status, 200);
    let code = app
        .nth_mail_to(email, "passcode", before + 1)
        .await
        .passcode();
    let (status, body) = verify_email_code(app, email, &code).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["passwordResetToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The running server's state, for calling services no REST surface reaches (phones).
pub async fn test_state(app: &TestApp) -> latchkey::server::state::AppState {
    test_state_with(app, |_| {}).await
}

/// Like [`test_state`], with the same configuration changes the running server got (its
/// outbox worker delivers too, so it must deliver the same way).
pub async fn test_state_with(
    app: &TestApp,
    configure: impl FnOnce(&mut Config),
) -> latchkey::server::state::AppState {
    let mut config = Config::for_data_dir(app.data_dir.path());
    config.database_url = Some(app.database_url.clone().into());
    configure(&mut config);
    config.hash_workers = Some(1);
    // Same issuer as the running server, so its tokens are valid here.
    config.public_url = Some(app.url.clone());
    startup::build(config).await.unwrap().state
}
