//! Second factors (SPEC §10) over REST and through the pages without JavaScript: enrolment,
//! the second step of a login, single use of codes, recovery codes, the limits on guessing,
//! turning off, and a reset that keeps them. Codes are computed here from the `otpauth://`
//! address the server hands out, parsed by `totp-rs` as an authenticator app would.

use crate::common::{
    json, reset, reset_token_for, sent, set_cookie_of, spawn_app, spawn_app_with, TestApp, PASSWORD,
};
use serde_json::{json, Value};
use totp_rs::TOTP;

/// An authenticator app: the enrolled secret, and the last step whose code it handed out, so
/// each code it gives is one the server has not taken yet.
pub(crate) struct Authenticator {
    totp: TOTP,
    last_step: i64,
}

impl Authenticator {
    pub(crate) fn from_uri(uri: &str) -> Self {
        let totp = TOTP::from_url(uri).unwrap_or_else(|e| panic!("{uri}: {e:?}"));
        assert_eq!(totp.digits, 6);
        assert_eq!(totp.step, 30);
        Authenticator { totp, last_step: 0 }
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn code_at(&self, step: i64) -> String {
        self.totp.generate((step * 30) as u64)
    }

    /// A fresh code: of the earliest step the server still accepts (one step back) that is
    /// later than the last one used, waiting for the clock when all three are used up.
    pub(crate) async fn next_code(&mut self) -> String {
        loop {
            let now = Self::now();
            let current = now / 30;
            // A step-old code stays good only until the step ends: not in its last seconds.
            let earliest = if now % 30 >= 25 { current } else { current - 1 };
            let step = (self.last_step + 1).max(earliest);
            if step <= current + 1 {
                self.last_step = step;
                return self.code_at(step);
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}

/// Signs up `name`, turns on an authenticator over REST; its app and recovery codes.
pub(crate) async fn enrolled(app: &TestApp, name: &str) -> (Authenticator, Vec<String>) {
    let token = app.signed_up(name).await;
    let (status, body) = json(
        app.post_with_token("/v2/account/mfa/totp", &token, &[("password", PASSWORD)])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut app_codes = Authenticator::from_uri(body["response"]["otpauth_uri"].as_str().unwrap());
    let code = app_codes.next_code().await;
    let confirm = "/v2/account/mfa/totp/confirm";
    let (status, body) = post_form(app, confirm, &token, &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    let codes = body["response"]["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (app_codes, codes)
}

/// The login's `mfa_token` for an account with a second factor.
pub(crate) async fn mfa_token(app: &TestApp, name: &str) -> String {
    let (status, body) = json(app.login(name, PASSWORD).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], 401);
    assert_eq!(body["message"], "second factor required");
    assert!(
        body.get("token").is_none(),
        "no session before the code: {body}"
    );
    body["mfa_token"].as_str().expect("an mfa_token").to_owned()
}

pub(crate) async fn second_step(app: &TestApp, mfa_token: &str, code: &str) -> (u16, Value) {
    sent(
        app.http
            .post(app.at("/v2/auth/login/mfa"))
            .json(&json!({"mfa_token": mfa_token, "code": code})),
    )
    .await
}

async fn credits_with(app: &TestApp, token: &str) -> u16 {
    app.get_with_token("/v2/account/credits/available", token)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn totp_enrolment_over_rest_makes_login_ask_for_a_code_that_gives_a_token() {
    let app = spawn_app().await;
    let token = app.signed_up("tess").await;

    // A session token alone adds no authenticator: whoever stole one could otherwise lock the
    // owner out with an app of their own.
    let begin = "/v2/account/mfa/totp";
    let (status, body) = post_form(&app, begin, &token, &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["response"], "password is required", "{body}");
    let (status, body) = post_form(&app, begin, &token, &[("password", "not the password")]).await;
    assert_eq!(status, 400, "{body}");
    let begun: i64 = app.scalar("SELECT COUNT(*) FROM totp_factors").await;
    assert_eq!(begun, 0, "nothing begun without the password");
    let (status, body) = post_form(&app, begin, &token, &[("password", PASSWORD)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 200);
    let secret = body["response"]["secret"].as_str().unwrap().to_owned();
    let uri = body["response"]["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Latchkey:tess?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let mut authenticator = Authenticator::from_uri(uri);

    // Begun is not on: the password alone still signs in.
    let (status, body) = json(app.login("tess", PASSWORD).await).await;
    assert_eq!(status, 200, "{body}");

    // A wrong code does not turn it on.
    let (status, body) = json(
        app.post_with_token(
            "/v2/account/mfa/totp/confirm",
            &token,
            &[("code", "000000")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let code = authenticator.next_code().await;
    let confirm = "/v2/account/mfa/totp/confirm";
    let (status, body) = post_form(&app, confirm, &token, &[("code", code.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    let codes = body["response"]["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    app.mail_to("tess@example.com", "Two-step sign-in is on")
        .await;

    // On: a second enrolment is refused until it is turned off.
    let (status, _) = post_form(&app, begin, &token, &[("password", PASSWORD)]).await;
    assert_eq!(status, 400);

    let mfa = mfa_token(&app, "tess").await;
    let (status, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 200, "{body}");
    let session = body["token"].as_str().unwrap();
    assert!(body["expire"].as_str().unwrap().ends_with('Z'));
    assert_eq!(credits_with(&app, session).await, 200);

    // The mfa_token is spent.
    let (status, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "the sign-in has expired: sign in again");

    let events: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event IN ('mfa.totp_begun', 'mfa.totp_enabled', 'login.second_factor_required')")
        .await;
    assert!(events >= 3, "{events}");
}

#[tokio::test]
async fn a_code_is_taken_once_and_only_near_its_own_step() {
    let app = spawn_app().await;
    let (mut authenticator, _) = enrolled(&app, "once").await;
    let code = authenticator.next_code().await;
    let (status, body) = second_step(&app, &mfa_token(&app, "once").await, &code).await;
    assert_eq!(status, 200, "{body}");

    // The same code again, with a new sign-in: refused.
    let mfa = mfa_token(&app, "once").await;
    let (status, body) = second_step(&app, &mfa, &code).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "the code is wrong or was used already");

    // Codes of steps too far away: refused (unless, by chance, equal to a near one).
    let current = Authenticator::now() / 30;
    for step in [current - 3, current + 3] {
        let far = authenticator.code_at(step);
        let near = (current - 1..=current + 1).any(|s| authenticator.code_at(s) == far);
        if !near {
            let (status, _) = second_step(&app, &mfa, &far).await;
            assert_eq!(status, 401, "step {step}");
        }
    }
    // Once a code of a later step is used, an earlier step's code is no longer taken either.
    let later = authenticator.next_code().await;
    let earlier = authenticator.code_at(authenticator.last_step - 1);
    let (status, body) = second_step(&app, &mfa, &later).await;
    assert_eq!(status, 200, "{body}");
    if earlier != later {
        let (status, _) = second_step(&app, &mfa_token(&app, "once").await, &earlier).await;
        assert_eq!(status, 401);
    }
}

#[tokio::test]
async fn recovery_codes_sign_in_once_each_and_every_use_is_mailed() {
    let app = spawn_app().await;
    let (_, codes) = enrolled(&app, "rowan").await;
    // Typed loosely (upper case, spaces): still the code.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let (status, body) = second_step(&app, &mfa_token(&app, "rowan").await, &typed).await;
    assert_eq!(status, 200, "{body}");
    let mail = app
        .mail_to("rowan@example.com", "A recovery code was used")
        .await;
    assert!(
        mail.text.contains("9 unused codes are left"),
        "{}",
        mail.text
    );

    let (status, _) = second_step(&app, &mfa_token(&app, "rowan").await, &codes[0]).await;
    assert_eq!(status, 401, "a recovery code works once");
    let (status, _) = second_step(&app, &mfa_token(&app, "rowan").await, &codes[1]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn guessing_the_code_counts_against_the_accounts_second_step_lock_and_burns_the_challenge() {
    let app = spawn_app().await;
    let (mut authenticator, _) = enrolled(&app, "guess").await;
    let mfa = mfa_token(&app, "guess").await;
    // Five wrong codes: the account's second step now waits.
    for _ in 0..5 {
        let (status, body) = second_step(&app, &mfa, "123456").await;
        assert_eq!(status, 401, "{body}");
    }
    let mfa = mfa_token(&app, "guess").await;
    let (status, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 429, "{body}");
    // Knowing the password does not lift the lock: a new sign-in's code waits as well.
    let mfa = mfa_token(&app, "guess").await;
    let (status, _) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 429);

    // Without the lockout in the way, five wrong codes burn the challenge: even the right code
    // is then refused, and the password step must be done again.
    let app = spawn_app_with(|config| config.login_lockout_after = 1_000).await;
    let (mut authenticator, _) = enrolled(&app, "burn").await;
    let mfa = mfa_token(&app, "burn").await;
    for _ in 0..5 {
        let (status, _) = second_step(&app, &mfa, "654321").await;
        assert_eq!(status, 401);
    }
    let (status, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "the sign-in has expired: sign in again");
    let (status, _) = second_step(
        &app,
        &mfa_token(&app, "burn").await,
        &authenticator.next_code().await,
    )
    .await;
    assert_eq!(status, 200);
    let failures: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'login.second_factor_failed'")
        .await;
    assert_eq!(failures, 5);
}

#[tokio::test]
async fn the_second_step_refuses_bad_input_in_the_login_envelope() {
    let app = spawn_app().await;
    let (status, body) = second_step(&app, "no-such-token", "123456").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], 401);
    for bad in [
        json!({}),
        json!({"mfa_token": "x"}),
        json!({"code": "123456"}),
    ] {
        let (status, body) = sent(app.http.post(app.at("/v2/auth/login/mfa")).json(&bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], 400);
    }
    let (status, _) = sent(
        app.http
            .post(app.at("/v2/auth/login/mfa"))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = sent(
        app.http
            .post(app.at("/v2/auth/login/mfa"))
            .json(&json!({"mfa_token": "x".repeat(70_000), "code": "1"})),
    )
    .await;
    assert_eq!(status, 413);
    // Enrolment needs a session.
    let (status, body) = json(
        app.http
            .post(app.at("/v2/account/mfa/totp"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    // Confirming what was never begun.
    let token = app.signed_up("never").await;
    let (status, body) = json(
        app.post_with_token(
            "/v2/account/mfa/totp/confirm",
            &token,
            &[("code", "123456")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

/// Enrols `name` and signs in through the second step: its app, recovery codes and token.
async fn signed_in_with_factor(app: &TestApp, name: &str) -> (Authenticator, Vec<String>, String) {
    let (mut authenticator, codes) = enrolled(app, name).await;
    let mfa = mfa_token(app, name).await;
    let (status, body) = second_step(app, &mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    (authenticator, codes, token)
}

/// A bearer-token form post to the Temporal surface.
pub(crate) async fn post_form(
    app: &TestApp,
    path: &str,
    token: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    json(app.post_with_token(path, token, form).await).await
}

#[tokio::test]
async fn turning_off_needs_the_password_and_a_current_code() {
    let app = spawn_app().await;
    let (mut authenticator, _, token) = signed_in_with_factor(&app, "offy").await;
    let disable = "/v2/account/mfa/totp/disable";
    let wrong_password = [("password", "wrong password"), ("code", "000000")];
    let (status, body) = post_form(&app, disable, &token, &wrong_password).await;
    assert_eq!(status, 400, "{body}");
    let wrong_code = [("password", PASSWORD), ("code", "000000")];
    let (status, body) = post_form(&app, disable, &token, &wrong_code).await;
    assert_eq!(status, 400, "{body}");
    let code = authenticator.next_code().await;
    let right = [("password", PASSWORD), ("code", code.as_str())];
    let (status, body) = post_form(&app, disable, &token, &right).await;
    assert_eq!(status, 200, "{body}");
    app.mail_to("offy@example.com", "Two-step sign-in is off")
        .await;
    let (status, body) = json(app.login("offy", PASSWORD).await).await;
    assert_eq!(status, 200, "the password alone signs in again: {body}");
    let left: i64 = app.scalar("SELECT COUNT(*) FROM recovery_codes").await;
    assert_eq!(left, 0, "its recovery codes went with it");
}

#[tokio::test]
async fn new_recovery_codes_end_the_old_ones() {
    let app = spawn_app().await;
    let (mut authenticator, old, token) = signed_in_with_factor(&app, "renew").await;
    let code = authenticator.next_code().await;
    let (status, body) = post_form(
        &app,
        "/v2/account/mfa/recovery-codes",
        &token,
        &[("code", &code)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let new: Vec<String> = body["response"]["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    app.mail_to("renew@example.com", "New recovery codes were made")
        .await;
    let (status, _) = second_step(&app, &mfa_token(&app, "renew").await, &old[3]).await;
    assert_eq!(status, 401);
    let (status, _) = second_step(&app, &mfa_token(&app, "renew").await, &new[3]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_password_reset_keeps_an_established_second_factor_and_secrets_are_sealed_at_rest() {
    let app = spawn_app().await;
    let (mut authenticator, codes) = enrolled(&app, "keeper").await;
    // Added four days ago: established (a reset removes only what was added in its last 72 h).
    sqlx::query("UPDATE totp_factors SET created_at = created_at - 4 * 86400, confirmed_at = confirmed_at - 4 * 86400")
        .execute(&app.db)
        .await
        .unwrap();
    // A sign-in begun with the old password does not outlive it.
    let begun_before = mfa_token(&app, "keeper").await;
    let reset_token = reset_token_for(&app, "keeper@example.com").await;
    let new_password = "a brand new passphrase";
    let (status, body) = reset(&app, &reset_token, new_password, "none").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = second_step(&app, &begun_before, &codes[5]).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "the sign-in has expired: sign in again");
    let (status, body) = json(app.login("keeper", new_password).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "second factor required");
    let mfa = body["mfa_token"].as_str().unwrap();
    let (status, _) = second_step(&app, mfa, &authenticator.next_code().await).await;
    assert_eq!(status, 200);

    let secret = authenticator.totp.get_secret_base32();
    let stored: String = app.scalar("SELECT secret_sealed FROM totp_factors").await;
    assert!(!stored.contains(&secret) && !stored.contains(&secret.to_lowercase()));
    let macs: String = app.scalar("SELECT MIN(code_mac) FROM recovery_codes").await;
    assert!(codes.iter().all(|c| !macs.contains(&c.replace('-', ""))));
    // The mfa_token is stored as a digest only.
    let (_, body) = json(app.login("keeper", new_password).await).await;
    let mfa = body["mfa_token"].as_str().unwrap();
    let stored: String = app
        .scalar("SELECT MIN(token_hash) FROM second_factor_challenges")
        .await;
    assert_ne!(stored, mfa);
}

// ---- The pages, without JavaScript -----------------------------------------------------------

/// The `name=value` of a Set-Cookie the response carries.
/// The authenticator secret the security page shows as text while an enrolment waits.
pub(crate) fn waiting_secret(html: &str) -> String {
    let at = html
        .find("data-testid=\"totp-secret\"")
        .expect("the secret as text");
    let start = at + html[at..].find('>').unwrap() + 1;
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

pub(crate) fn cookie_pair(response: &reqwest::Response, name: &str) -> String {
    let set = set_cookie_of(response, name).unwrap_or_else(|| panic!("no {name} cookie"));
    set.split(';').next().unwrap().to_owned()
}

/// Whether the response clears cookie `name`.
fn clears(response: &reqwest::Response, name: &str) -> bool {
    set_cookie_of(response, name).is_some_and(|set| set.starts_with(&format!("{name}=;")))
}

/// The HTML of page `path`, with the cookies given.
pub(crate) async fn page_html(app: &TestApp, path: &str, cookie: Option<&str>) -> String {
    let mut request = app.http.get(app.at(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap().text().await.unwrap()
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn enrolment_and_sign_in_work_on_the_pages_without_javascript() {
    let app = spawn_app().await;
    app.signed_up("paige").await;
    let signed_in = app
        .post_page_form(
            "/rpc/login",
            "/login",
            &[],
            None,
            &[("identifier", "paige"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status(), 302);
    let session = cookie_pair(&signed_in, "latchkey_session");

    // The security page offers to begin; the password is asked first.
    let page = app
        .http
        .get(app.at("/account/security"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Set up an authenticator app"), "{html}");
    assert!(
        !html.contains(".wasm") && !html.contains("latchkey.js"),
        "no script"
    );
    let begun = app
        .post_page_form(
            "/rpc/begin_totp",
            "/account/security",
            &[],
            Some(&session),
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&begun), "/account/security");
    let html = page_html(&app, "/account/security", Some(session.as_str())).await;
    assert!(html.contains("<svg"), "a QR code drawn on the server");
    let secret = waiting_secret(&html);
    let uri = format!("otpauth://totp/Latchkey:paige?secret={secret}&issuer=Latchkey");
    let mut authenticator = Authenticator::from_uri(&uri);

    let confirmed = app
        .post_page_form(
            "/rpc/confirm_totp",
            "/account/security",
            &[],
            Some(&session),
            &[("code", &authenticator.next_code().await)],
        )
        .await;
    assert_eq!(location(&confirmed), "/account/security?notice=two-step-on");
    let shown = cookie_pair(&confirmed, "latchkey_codes");
    let page = app
        .http
        .get(app.at("/account/security?notice=two-step-on"))
        .header("cookie", format!("{session}; {shown}"))
        .send()
        .await
        .unwrap();
    assert!(
        clears(&page, "latchkey_codes"),
        "shown once: the page clears them"
    );
    let html = page.text().await.unwrap();
    let listed = html.matches("<li><code>").count();
    assert_eq!(listed, 10, "{html}");
    let first_code_start = html.find("<li><code>").unwrap() + 10;
    let recovery = html[first_code_start..first_code_start + 11].to_owned();

    // Signing in now takes two steps.
    let password_step = app
        .post_page_form(
            "/rpc/login",
            "/login",
            &[],
            None,
            &[("identifier", "paige"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&password_step), "/login/second-factor");
    assert!(set_cookie_of(&password_step, "latchkey_session").is_none());
    let raw = set_cookie_of(&password_step, "latchkey_mfa").unwrap();
    assert!(
        raw.contains("HttpOnly") && raw.contains("Max-Age=300"),
        "{raw}"
    );
    let mfa = cookie_pair(&password_step, "latchkey_mfa");
    let page = page_html(&app, "/login/second-factor", Some(mfa.as_str())).await;
    assert!(page.contains("name=\"code\""), "{page}");

    let wrong = app
        .post_page_form(
            "/rpc/login_second_factor",
            "/login/second-factor",
            &[],
            Some(&mfa),
            &[("code", "000000")],
        )
        .await;
    assert_eq!(location(&wrong), "/login/second-factor");
    let refused = cookie_pair(&wrong, "latchkey_form");
    let page = page_html(
        &app,
        "/login/second-factor",
        Some(format!("{mfa}; {refused}").as_str()),
    )
    .await;
    assert!(page.contains("That code is not right"), "{page}");

    let done = app
        .post_page_form(
            "/rpc/login_second_factor",
            "/login/second-factor",
            &[],
            Some(&mfa),
            &[("code", &recovery)],
        )
        .await;
    assert_eq!(location(&done), "/account");
    let session = cookie_pair(&done, "latchkey_session");
    assert!(clears(&done, "latchkey_mfa"));
    let account = page_html(&app, "/account", Some(session.as_str())).await;
    assert!(
        account.contains("data-testid=\"two-step\" class=\"badge ok\">On<"),
        "{account}"
    );

    // Without a waiting sign-in the page says so instead of showing a form.
    let page = page_html(&app, "/login/second-factor", None).await;
    assert!(page.contains("no-second-step"), "{page}");
}

// ---- Passkeys: what the server hands the browser, and what it refuses -------------------------

/// Calls a server function as the passkey script does: form fields in, JSON out.
pub(crate) async fn rpc(
    app: &TestApp,
    name: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = app
        .http
        .post(app.at(&format!("/rpc/{name}")))
        .header("origin", app.url.as_str())
        .header("accept", "application/json")
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    sent(request).await
}

pub(crate) async fn web_session(app: &TestApp, name: &str) -> String {
    app.signed_up(name).await;
    let signed_in = app
        .post_page_form(
            "/rpc/login",
            "/login",
            &[],
            None,
            &[("identifier", name), ("password", PASSWORD)],
        )
        .await;
    cookie_pair(&signed_in, "latchkey_session")
}

#[tokio::test]
async fn passkeys_are_offered_only_on_a_site_reached_by_name() {
    // The default public URL is an IP address: browsers refuse passkeys there.
    let app = spawn_app().await;
    let login = page_html(&app, "/login", None).await;
    assert!(!login.contains("data-passkey") && !login.contains("passkeys.js"));
    let (status, body) = rpc(&app, "passkey_sign_in_start", None, &[]).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("domain name"),
        "{body}"
    );

    let app = spawn_app_with(|config| {
        config.public_url = Some("http://localhost:3999".into());
    })
    .await;
    let login = page_html(&app, "/login", None).await;
    assert!(login.contains("data-passkey=\"sign-in\""), "{login}");
    assert!(login.contains(
        "<script type=\"module\" src=\"/passkeys.js\" data-origin=\"http://localhost:3999\">"
    ));
}

#[tokio::test]
async fn passkey_ceremonies_are_single_use_and_refuse_bad_answers() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("http://localhost:3999".into());
    })
    .await;

    // Sign-in without a username: no credentials listed, the user verified, asked at once.
    let (status, start) = rpc(&app, "passkey_sign_in_start", None, &[]).await;
    assert_eq!(status, 200, "{start}");
    let options: Value = serde_json::from_str(start["options"].as_str().unwrap()).unwrap();
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rpId"], "localhost", "{options}");
    assert_eq!(public_key["userVerification"], "required");
    assert!(public_key["allowCredentials"]
        .as_array()
        .is_none_or(|list| list.is_empty()));
    assert!(
        options.get("mediation").is_none_or(Value::is_null),
        "{options}"
    );
    assert!(public_key["challenge"].as_str().unwrap().len() >= 43);
    let ceremony = start["ceremony"].as_str().unwrap();
    let stored: i64 = app.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await;
    assert_eq!(
        stored, 1,
        "kept in the database, for whichever node finishes it"
    );

    // A made-up answer is refused in the form's envelope, and uses the ceremony up.
    for credential in [
        "not json",
        "{}",
        r#"{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"authenticatorData":"AAAA","clientDataJSON":"AAAA","signature":"AAAA","userHandle":"AAAA"}}"#,
    ] {
        let (status, body) = rpc(
            &app,
            "passkey_sign_in_finish",
            None,
            &[("ceremony", ceremony), ("credential", credential)],
        )
        .await;
        assert_eq!(status, 400, "{credential}: {body}");
        assert_eq!(body["message"], "The passkey was not accepted. Try again.");
    }
    let left: i64 = app.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await;
    assert_eq!(left, 0);

    // Adding a passkey needs a session; its options ask for a discoverable credential.
    let password = [("password", PASSWORD)];
    let (status, _) = rpc(&app, "passkey_register_start", None, &password).await;
    assert_eq!(status, 401);
    let session = web_session(&app, "keyholder").await;
    // A session alone adds no passkey: the password first.
    let wrong = [("password", "not the password")];
    let (status, body) = rpc(&app, "passkey_register_start", Some(&session), &wrong).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "password", "{body}");
    let (status, start) = rpc(&app, "passkey_register_start", Some(&session), &password).await;
    assert_eq!(status, 200, "{start}");
    let options: Value = serde_json::from_str(start["options"].as_str().unwrap()).unwrap();
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], "keyholder");
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    // The user handle is not the account's id.
    let id: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'keyholder'")
        .await;
    assert_ne!(public_key["user"]["id"].as_str().unwrap(), id.to_string());
    // A registration ceremony cannot finish a sign-in, nor another account's registration.
    let ceremony = start["ceremony"].as_str().unwrap();
    let (status, _) = rpc(
        &app,
        "passkey_sign_in_finish",
        None,
        &[("ceremony", ceremony), ("credential", "{}")],
    )
    .await;
    assert_eq!(status, 400);
    let other = web_session(&app, "other-holder").await;
    let (status, body) = rpc(
        &app,
        "passkey_register_finish",
        Some(&other),
        &[
            ("ceremony", ceremony),
            ("name", "mine"),
            ("credential", "{}"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // A name is required.
    let (_, start) = rpc(&app, "passkey_register_start", Some(&session), &password).await;
    let (status, body) = rpc(
        &app,
        "passkey_register_finish",
        Some(&session),
        &[
            ("ceremony", start["ceremony"].as_str().unwrap()),
            ("name", "  "),
            ("credential", "{}"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"][0]["field"], "name", "{body}");
    let added: i64 = app.scalar("SELECT COUNT(*) FROM passkeys").await;
    assert_eq!(added, 0);

    // Without a sign-in waiting for its second step, there is no passkey step either.
    let (status, body) = rpc(&app, "passkey_second_factor_start", None, &[]).await;
    assert_eq!(status, 401, "{body}");
}
