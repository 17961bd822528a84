//! A real Latchkey server per test: port 0, a fresh temporary data directory and database.

#![allow(dead_code)]

use latchkey::server::config::Config;
use latchkey::server::startup;
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use serde_json::Value;
use sqlx::SqlitePool;

pub struct TestApp {
    pub url: String,
    pub db: SqlitePool,
    pub data_dir: tempfile::TempDir,
    /// Follows no redirects, keeps no cookies: every test sees exactly what the server said.
    pub http: Client,
}

pub async fn spawn_app() -> TestApp {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let mut config = Config::for_data_dir(data_dir.path());
    // One hashing thread is plenty for tests and keeps parallel tests from oversubscribing.
    config.hash_workers = Some(1);
    let server = startup::build(config).await.expect("server starts");
    let db = server.state.db.clone();
    let url = server.spawn();
    TestApp {
        url,
        db,
        data_dir,
        http: Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("HTTP client"),
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub async fn user_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.db)
            .await
            .unwrap()
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
