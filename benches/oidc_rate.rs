//! The load driver for the OpenID Connect figures of benches/run, the same for Latchkey and
//! for panva's oidc-provider, so their ratio is measured with one yardstick:
//!
//! - `code`: authorization-code exchanges a second: each connection loops an authorization
//!   (a signed-in browser's, answered at once with a code) and its exchange at the token
//!   endpoint (client_secret_basic, PKCE S256);
//! - `refresh`: refresh grants a second: each connection gets a refresh token by the code
//!   flow, then refreshes it over and over, always with the rotated one.
//!
//! `oidc_rate <mode> <issuer> <client_id> <client_secret> <redirect_uri> <scope>
//!  <connections> <seconds> <cookie | dev-interactions>` prints `<mode>_per_second=…` and
//! `<mode>_errors=…`. `cookie` is a signed-in browser's Cookie header; `dev-interactions`
//! signs in through oidc-provider's development interactions first (any name signs in).
//! A plain main (`harness = false`), run on one thread so the driver takes one core at most.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{COOKIE, LOCATION};
use reqwest::redirect::Policy;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Target {
    http: reqwest::Client,
    authorization_endpoint: String,
    token_endpoint: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    scope: String,
    cookie: Option<String>,
}

const VERIFIER: &str = "bench-verifier-bench-verifier-bench-verifier-0123456789";

impl Target {
    fn authorization_url(&self, n: u64) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
        let mut url = reqwest::Url::parse(&self.authorization_endpoint).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &self.scope)
            .append_pair("state", &format!("s{n}"))
            .append_pair("nonce", &format!("n{n}"))
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, String> {
        let mut request = self.http.get(url);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.map_err(|e| e.to_string())
    }

    /// One authorization answered at once: its code.
    async fn code(&self, n: u64) -> Result<String, String> {
        let mut response = self.get(&self.authorization_url(n)).await?;
        // oidc-provider answers `/auth` with a redirect to its resume URL first.
        for _ in 0..4 {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("no redirect: {}", response.status()))?
                .to_owned();
            let url = reqwest::Url::parse(&self.authorization_endpoint)
                .unwrap()
                .join(&location)
                .map_err(|e| e.to_string())?;
            if url.as_str().starts_with(&self.redirect_uri) {
                return url
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
                    .ok_or_else(|| format!("no code in {url}"));
            }
            response = self.get(url.as_str()).await?;
        }
        Err("too many redirects".into())
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<serde_json::Value, String> {
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("token endpoint: {}", response.status()));
        }
        response.json().await.map_err(|e| e.to_string())
    }

    async fn exchange(&self, code: &str) -> Result<serde_json::Value, String> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", VERIFIER),
        ])
        .await
    }
}

/// Signs in through oidc-provider's development interactions (login, then consent), leaving
/// the session in the client's cookie store.
async fn dev_interactions(target: &Target) -> Result<(), String> {
    let mut response = target.get(&target.authorization_url(0)).await?;
    for _ in 0..12 {
        let Some(location) = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(format!("stuck at {}", response.status()));
        };
        let url = reqwest::Url::parse(&target.authorization_endpoint)
            .unwrap()
            .join(location)
            .map_err(|e| e.to_string())?;
        if url.as_str().starts_with(&target.redirect_uri) {
            return Ok(());
        }
        if url.path().starts_with("/interaction/") {
            let page = target
                .get(url.as_str())
                .await?
                .text()
                .await
                .unwrap_or_default();
            let prompt = if page.contains("name=\"login\"") {
                "login"
            } else {
                "consent"
            };
            response = target
                .http
                .post(url.as_str())
                .form(&[("prompt", prompt), ("login", "bench")])
                .send()
                .await
                .map_err(|e| e.to_string())?;
        } else {
            response = target.get(url.as_str()).await?;
        }
    }
    Err("the interactions never finished".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [mode, issuer, client_id, client_secret, redirect_uri, scope, connections, seconds, session] =
        &args[..]
    else {
        eprintln!("usage: oidc_rate code|refresh ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI SCOPE CONNECTIONS SECONDS COOKIE|dev-interactions");
        std::process::exit(2);
    };
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let metadata: serde_json::Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let target = Arc::new(Target {
        http,
        authorization_endpoint: metadata["authorization_endpoint"].as_str().unwrap().into(),
        token_endpoint: metadata["token_endpoint"].as_str().unwrap().into(),
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        redirect_uri: redirect_uri.clone(),
        scope: scope.clone(),
        cookie: (session != "dev-interactions").then(|| session.clone()),
    });
    if session == "dev-interactions" {
        dev_interactions(&target).await.expect("signed in");
    }
    let connections: u64 = connections.parse().unwrap();
    let seconds: u64 = seconds.parse().unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    // Each connection's refresh token, got before the clock starts.
    let mut refresh_tokens = Vec::new();
    if mode == "refresh" {
        for n in 0..connections {
            let code = target.code(n).await.expect("a code");
            let tokens = target.exchange(&code).await.expect("tokens");
            refresh_tokens.push(
                tokens["refresh_token"]
                    .as_str()
                    .expect("a refresh token")
                    .to_owned(),
            );
        }
    }
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    for n in 0..connections {
        let (target, done, failed) = (target.clone(), done.clone(), failed.clone());
        let mode = mode.clone();
        let mut refresh_token = refresh_tokens.get(n as usize).cloned();
        tasks.push(tokio::spawn(async move {
            let mut i = n * 1_000_000;
            while Instant::now() < until {
                i += 1;
                let outcome = match mode.as_str() {
                    "code" => match target.code(i).await {
                        Ok(code) => target.exchange(&code).await.map(|_| ()),
                        Err(e) => Err(e),
                    },
                    _ => {
                        let token = refresh_token.clone().unwrap();
                        target
                            .token(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                            .await
                            .map(|answer| {
                                refresh_token = answer["refresh_token"]
                                    .as_str()
                                    .map(str::to_owned)
                                    .or(Some(token));
                            })
                    }
                };
                match outcome {
                    Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("{mode}: {e}");
                        }
                        0
                    }
                };
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{mode}_per_second={:.1}",
        done.load(Ordering::Relaxed) as f64 / elapsed
    );
    println!("{mode}_errors={}", failed.load(Ordering::Relaxed));
}
