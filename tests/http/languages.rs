//! The interface in English and Simplified Chinese: which language a page speaks (the switch's
//! cookie, else `Accept-Language`, else English), that a Chinese page has no English left on
//! it, that refusals and mails follow, and that Authing answers follow `x-authing-lang`.

use crate::common::{authing, set_cookie_of, spawn_app, TestApp, PASSWORD};
use latchkey::i18n::Language;
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, COOKIE, LOCATION, ORIGIN};
use reqwest::Response;

const CHINESE: &str = "zh-CN,zh;q=0.9,en;q=0.5";

async fn page(app: &TestApp, path: &str, languages: &str, cookie: Option<&str>) -> String {
    let mut request = app
        .http
        .get(app.at(path))
        .header(ACCEPT, "text/html")
        .header(ACCEPT_LANGUAGE, languages);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    assert!(
        [200, 404].contains(&response.status().as_u16()),
        "{path}: {}",
        response.status()
    );
    response.text().await.unwrap()
}

/// Posts a form as a browser without JavaScript does, from `from_page`, in `languages`.
async fn post_form(
    app: &TestApp,
    path: &str,
    from_page: &str,
    languages: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> Response {
    let headers = [(ACCEPT_LANGUAGE.as_str(), languages)];
    app.post_page_form(path, from_page, &headers, cookie, form)
        .await
}

fn html_lang(html: &str) -> &str {
    let start = html
        .find("<html lang=\"")
        .expect("an html element with a lang")
        + 12;
    &html[start..start + html[start..].find('"').unwrap()]
}

/// What a reader sees of a page: its text, without markup, scripts or styles.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag = &rest[open..];
        let skip_to = ["script", "style"]
            .iter()
            .find(|name| tag.starts_with(&format!("<{name}")))
            .and_then(|name| tag.find(&format!("</{name}>")));
        let after = match skip_to {
            Some(end) => end + 1,
            None => 0,
        };
        rest = match tag[after..].find('>') {
            Some(close) => &tag[after + close + 1..],
            None => "",
        };
    }
    text.push_str(rest);
    text.replace("&amp;", "&").replace("&#x27;", "'")
}

/// Both catalogues of a language: what pages render, and what islands change.
fn all_entries(language: Language) -> Vec<(&'static str, &'static str)> {
    [language.text().entries(), language.island_text().entries()].concat()
}

/// The English strings of the pages that a Chinese page must not show: every string of the
/// English catalogue that the Chinese one words differently, cut at its placeholders.
fn english_words() -> Vec<(&'static str, &'static str)> {
    let chinese = all_entries(Language::SimplifiedChinese);
    all_entries(Language::English)
        .into_iter()
        .zip(chinese)
        .filter(|((_, en), (_, zh))| en != zh)
        .flat_map(|((key, en), _)| en.split("{}").map(move |part| (key, part.trim())))
        .filter(|(_, part)| part.len() >= 4)
        .collect()
}

fn assert_all_chinese(path: &str, html: &str) {
    assert_eq!(html_lang(html), "zh-CN", "{path}");
    let text = visible_text(html);
    for (key, english) in english_words() {
        assert!(
            !text.contains(english),
            "{path} shows English ({key}: {english:?}):\n{text}"
        );
    }
    // No raw key either.
    for (key, _) in all_entries(Language::English) {
        assert!(!text.contains(key), "{path} shows the key {key}");
    }
}

async fn registered_session(app: &TestApp, name: &str, languages: &str) -> String {
    let response = post_form(
        app,
        "/rpc/register",
        "/register",
        languages,
        None,
        &[
            ("username", name),
            ("email", &format!("{name}@example.com")),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(response.status(), 302);
    let cookie = set_cookie_of(&response, "latchkey_session").expect("a session");
    cookie.split(';').next().unwrap().to_owned()
}

/// Every page, asked for in Chinese, is in Chinese: the catalogue's English appears nowhere,
/// signed out or in.
#[tokio::test]
async fn every_page_speaks_chinese_to_a_chinese_browser() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/register",
        "/login",
        "/login?notice=password-reset",
        "/login?notice=session-ended",
        "/login/second-factor",
        "/forgot/username",
        "/forgot/username?sent=1",
        "/forgot/password",
        "/forgot/password?step=code",
        "/forgot/password?token=made-up",
        "/reset-password?token=made-up",
        "/verify-email/someone/made-up",
        "/email-verified",
        "/no/such/page",
    ] {
        let html = page(&app, path, CHINESE, None).await;
        assert_all_chinese(path, &html);
    }
    let session = registered_session(&app, "lin", CHINESE).await;
    for path in [
        "/account",
        "/account?notice=verification-sent",
        "/password",
        "/upgrade",
        "/account/security",
    ] {
        let html = page(&app, path, CHINESE, Some(&session)).await;
        assert_all_chinese(path, &html);
        assert!(html.contains("lin@example.com") || path != "/account");
    }
    // And the same pages in English for an English browser.
    let html = page(&app, "/account", "en-US,en", Some(&session)).await;
    assert_eq!(html_lang(&html), "en");
    assert!(visible_text(&html).contains("Where you are signed in"));
    assert!(visible_text(&html).contains("Signed in on 1 device."));
}

/// The switch beats the browser's languages, comes back to the page it was on, and keeps the
/// choice in a cookie; a bad choice changes nothing.
#[tokio::test]
async fn the_switch_chooses_the_language_and_remembers_it() {
    let app = spawn_app().await;
    let html = page(&app, "/login", "en-GB,en", None).await;
    assert_eq!(html_lang(&html), "en");
    assert!(html.contains("data-testid=\"language-switch\""));
    assert!(html.contains("简体中文"));

    let response = post_form(
        &app,
        "/rpc/language",
        "/login",
        "en-GB,en",
        None,
        &[("language", "zh"), ("next", "/login?notice=session-ended")],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()[LOCATION].to_str().unwrap(),
        "/login?notice=session-ended"
    );
    let cookie = set_cookie_of(&response, "latchkey_lang").expect("the choice is kept");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = page(
        &app,
        "/login?notice=session-ended",
        "en-GB,en",
        Some(&cookie),
    )
    .await;
    assert_all_chinese("/login after the switch", &html);
    assert!(html.contains("English"), "the switch offers the way back");

    // Never off site, and a language Latchkey does not speak is refused.
    let response = post_form(
        &app,
        "/rpc/language",
        "/login",
        "en",
        None,
        &[("language", "en"), ("next", "//evil.example/")],
    )
    .await;
    assert_eq!(response.headers()[LOCATION].to_str().unwrap(), "/");
    let response = app
        .http
        .post(app.at("/rpc/language"))
        .header(ORIGIN, app.url.as_str())
        .form(&[("language", "tlh")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(set_cookie_of(&response, "latchkey_lang").is_none());
}

/// A form refused on a Chinese page says why in Chinese, with and without JavaScript.
#[tokio::test]
async fn refusals_speak_the_language_of_the_page() {
    let app = spawn_app().await;
    registered_session(&app, "wang", "en").await;
    // Without JavaScript: the refusal comes back to the page in its cookie.
    let refused = post_form(
        &app,
        "/rpc/login",
        "/login",
        CHINESE,
        None,
        &[("identifier", "wang"), ("password", "not the password")],
    )
    .await;
    assert_eq!(refused.status(), 302);
    let returned = set_cookie_of(&refused, "latchkey_form").expect("the refusal");
    let html = page(
        &app,
        "/login",
        CHINESE,
        Some(returned.split(';').next().unwrap()),
    )
    .await;
    assert!(
        html.contains("用户名、电子邮件地址或密码不正确。"),
        "{}",
        visible_text(&html)
    );
    // From a script: the answer's body.
    let response = app
        .http
        .post(app.at("/rpc/register"))
        .header(ACCEPT_LANGUAGE, CHINESE)
        .header(ORIGIN, app.url.as_str())
        .form(&[("username", "a!"), ("email", "nope"), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    for words in [
        "请更正标出的字段。",
        "用户名长度为 3 到 32 个字符。",
        "密码至少需要 8 个字符。",
    ] {
        assert!(body.contains(words), "{words} not in {body}");
    }
}

/// The account keeps the language its owner chose, and its mails follow.
#[tokio::test]
async fn mails_follow_the_language_chosen_on_the_account() {
    let app = spawn_app().await;
    let session = registered_session(&app, "chen", "en-US").await;
    app.mail_to("chen@example.com", "Confirm your e-mail address")
        .await;
    let response = post_form(
        &app,
        "/rpc/language",
        "/account",
        "en-US",
        Some(&session),
        &[("language", "zh"), ("next", "/account")],
    )
    .await;
    assert_eq!(response.status(), 302);
    let stored: String = app
        .scalar("SELECT preferred_language FROM users WHERE username = 'chen'")
        .await;
    assert_eq!(stored, "zh");
    let audited: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'language.chosen'")
        .await;
    assert_eq!(audited, 1);
    // Past the once-a-minute limit on mails to one address.
    app.forget_recent_sends().await;
    let response = post_form(
        &app,
        "/rpc/resend_verification",
        "/account",
        "en-US",
        Some(&session),
        &[],
    )
    .await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()[LOCATION].to_str().unwrap(),
        "/account?notice=verification-sent"
    );
    let mail = app
        .mail_to("chen@example.com", "请确认您的电子邮件地址")
        .await;
    assert!(mail.text.contains("chen"));
}

async fn authing_failure(app: &TestApp, language: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = app
        .http
        .post(app.at("/api/v3/verify-reset-password-request"))
        .json(&serde_json::json!({"verifyMethod": "EMAIL_PASSCODE",
                            "emailPassCodePayload": {"email": "nobody@example.com",
                                                     "passCode": "123456"}}));
    if let Some(language) = language {
        request = request.header("x-authing-lang", language);
    }
    authing(request.send().await.unwrap()).await
}

/// Authing's answers speak the language of `x-authing-lang`: zh-CN and en-US, others in
/// English; without the header, as before.
#[tokio::test]
async fn authing_messages_follow_x_authing_lang() {
    let app = spawn_app().await;
    let (_, zh) = authing_failure(&app, Some("zh-CN")).await;
    assert_eq!(zh["apiCode"], 2001, "{zh}");
    assert_eq!(zh["message"], "验证码错误或已过期");
    let (_, en) = authing_failure(&app, Some("en-US")).await;
    assert_eq!(en["apiCode"], 2001);
    assert_eq!(en["message"], "the passcode is wrong or has expired");
    let (_, other) = authing_failure(&app, Some("ja-JP")).await;
    assert_eq!(other["message"], en["message"]);
    let (_, none) = authing_failure(&app, None).await;
    assert_eq!(none["message"], en["message"]);

    // A refused field, and a success.
    let send = |language: &'static str, email: &'static str| {
        app.http
            .post(app.at("/api/v3/send-email"))
            .header("x-authing-lang", language)
            .json(&serde_json::json!({"channel": "CHANNEL_RESET_PASSWORD", "email": email}))
            .send()
    };
    let (_, refused) = authing(send("zh-CN", "not an address").await.unwrap()).await;
    assert_eq!(refused["apiCode"], 1400, "{refused}");
    assert_eq!(
        refused["message"],
        "这不像是电子邮件地址(例如 name@example.com)。"
    );
    let (_, done) = authing(send("zh-CN", "someone@example.com").await.unwrap()).await;
    assert_eq!(done["message"], "操作成功", "{done}");
    let (_, done) = authing(send("en-US", "other@example.com").await.unwrap()).await;
    assert_eq!(done["message"], "success", "{done}");
}
