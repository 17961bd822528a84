//! The account's life (SPEC §15) over REST and the pages without JavaScript: moving to a new
//! address and the old address's way back, deleting (the grace, keeping, erasure that leaves no
//! row naming the person), and the export.

use crate::common::{json, spawn_app, spawn_app_with, Mail, TestApp, PASSWORD};
use crate::second_factors::{cookie_pair, enrolled, location, mfa_token, second_step};
use latchkey::server::services::account_life;
use serde_json::Value;

async fn post(app: &TestApp, path: &str, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
    json(app.post_with_token(path, token, form).await).await
}

/// The six-digit code in a mail.
fn code_in(mail: &Mail) -> String {
    mail.text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a code")
        .to_owned()
}

/// The query value `name` of the first link in a mail.
fn token_in(mail: &Mail, name: &str) -> String {
    let link = mail.link();
    let (_, query) = link.split_once('?').expect("a query");
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .expect("the token")
        .to_owned()
}

async fn email_of(app: &TestApp, name: &str) -> String {
    sqlx::query_scalar("SELECT email FROM users WHERE username = $1")
        .bind(name)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_address_needs_the_password_and_its_code_and_the_old_one_can_take_it_back() {
    let app = spawn_app().await;
    let token = app.signed_up("mover").await;
    let change = "/v2/account/email/change";
    let (status, body) = post(
        &app,
        change,
        &token,
        &[("new_email", "new@example.com"), ("password", "wrong")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = post(
        &app,
        change,
        &token,
        &[("new_email", "not an address"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &app,
        change,
        &token,
        &[("new_email", "MOVER@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 400, "the same address");
    let (status, body) = post(
        &app,
        change,
        &token,
        &[("new_email", "new@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        email_of(&app, "mover").await,
        "mover@example.com",
        "nothing changes yet"
    );

    let mail = app
        .mail_to("new@example.com", "Confirm your new e-mail address")
        .await;
    let code = code_in(&mail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = "/v2/account/email/change/confirm";
    let (status, _) = post(&app, confirm, &token, &[("code", wrong)]).await;
    assert_eq!(status, 400);
    let (status, body) = post(&app, confirm, &token, &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(email_of(&app, "mover").await, "new@example.com");
    let (status, _) = json(app.login("new@example.com", PASSWORD).await).await;
    assert_eq!(status, 200, "signs in with the new address");
    let (status, _) = post(&app, confirm, &token, &[("code", &code)]).await;
    assert_eq!(status, 400, "a code works once");

    // Meanwhile the old address is held for its way back: nobody can sign up with it (the one
    // who moved the account, say) and so block the restore.
    let squat = app
        .register("squatter", "mover@example.com", PASSWORD)
        .await;
    assert_eq!(squat.status(), 409);

    // The old mailbox's "this wasn't me": a page that asks for the click, then everything.
    let told = app
        .mail_to("mover@example.com", "Your e-mail address was changed")
        .await;
    assert!(
        told.text.contains("n***@example.com"),
        "the new address only masked: {}",
        told.text
    );
    let restore = token_in(&told, "token");
    let page = app
        .http
        .get(app.at(&format!("/account/email/restore?token={restore}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        email_of(&app, "mover").await,
        "new@example.com",
        "a GET changes nothing"
    );
    let restored = app
        .post_page_form(
            "/rpc/restore_email",
            "/account/email/restore",
            &[],
            None,
            &[("token", &restore)],
        )
        .await;
    assert_eq!(location(&restored), "/login?notice=email-restored");
    assert_eq!(email_of(&app, "mover").await, "mover@example.com");
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &token)
            .await
            .status(),
        401,
        "everybody was signed out"
    );
    app.mail_to("mover@example.com", "passcode").await;
    let again = app
        .post_page_form(
            "/rpc/restore_email",
            "/account/email/restore",
            &[],
            None,
            &[("token", &restore)],
        )
        .await;
    assert_ne!(
        location(&again),
        "/login?notice=email-restored",
        "the link works once"
    );
}

#[tokio::test]
async fn a_taken_address_gets_the_same_answer_and_only_its_mailbox_is_told() {
    let app = spawn_app().await;
    app.signed_up("holder").await;
    let token = app.signed_up("asker").await;
    let change = "/v2/account/email/change";
    let (status, body) = post(
        &app,
        change,
        &token,
        &[("new_email", "HOLDER@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mail = app
        .mail_to("HOLDER@example.com", "Confirm your new e-mail address")
        .await;
    assert!(
        mail.text.contains("belongs to another account"),
        "{}",
        mail.text
    );
    let pending: i64 = app.scalar("SELECT COUNT(*) FROM email_changes").await;
    assert_eq!(pending, 0);
    // Sends to a mailbox are counted like every other send: a second within the minute waits.
    let (status, _) = post(
        &app,
        change,
        &token,
        &[("new_email", "holder@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn one_pending_change_and_an_address_taken_meanwhile_and_a_second_factor() {
    let app = spawn_app().await;
    let token = app.signed_up("racer").await;
    let change = "/v2/account/email/change";
    post(
        &app,
        change,
        &token,
        &[("new_email", "first@example.com"), ("password", PASSWORD)],
    )
    .await;
    let first = app.mail_to("first@example.com", "Confirm").await;
    post(
        &app,
        change,
        &token,
        &[("new_email", "second@example.com"), ("password", PASSWORD)],
    )
    .await;
    let second = app.mail_to("second@example.com", "Confirm").await;
    let confirm = "/v2/account/email/change/confirm";
    let (status, _) = post(&app, confirm, &token, &[("code", &code_in(&first))]).await;
    assert_eq!(status, 400, "the later change replaced the first");
    let dead = app
        .http
        .get(app.at(&format!(
            "/account/email/confirm?token={}",
            token_in(&first, "token")
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dead.contains("link-dead"), "its link too");
    // Someone signs up with the address before the code is used.
    assert_eq!(
        app.register("squatter", "second@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    let (status, body) = post(&app, confirm, &token, &[("code", &code_in(&second))]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(email_of(&app, "racer").await, "racer@example.com");

    // With a second factor, its code is asked for too.
    let (mut authenticator, _) = enrolled(&app, "guarded").await;
    let mfa = mfa_token(&app, "guarded").await;
    let (_, body) = second_step(&app, &mfa, &authenticator.next_code().await).await;
    let guarded = body["token"].as_str().unwrap().to_owned();
    let asked = [
        ("new_email", "guarded2@example.com"),
        ("password", PASSWORD),
    ];
    let (status, body) = post(&app, change, &guarded, &asked).await;
    assert_eq!(status, 400, "{body}");
    let code = authenticator.next_code().await;
    let with_code = [asked[0], asked[1], ("code", code.as_str())];
    let (status, body) = post(&app, change, &guarded, &with_code).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_new_address_s_link_works_after_a_click_but_not_after_the_account_s_deletion() {
    let app = spawn_app().await;
    let token = app.signed_up("linker").await;
    post(
        &app,
        "/v2/account/email/change",
        &token,
        &[("new_email", "linked@example.com"), ("password", PASSWORD)],
    )
    .await;
    let mail = app.mail_to("linked@example.com", "Confirm").await;
    let link_token = token_in(&mail, "token");
    let page = app
        .http
        .get(app.at(&format!("/account/email/confirm?token={link_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        email_of(&app, "linker").await,
        "linker@example.com",
        "the page alone changes nothing"
    );

    let (status, body) = post(
        &app,
        "/v2/account/delete",
        &token,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let used = app
        .post_page_form(
            "/rpc/confirm_email_change_link",
            "/account/email/confirm",
            &[],
            None,
            &[("token", &link_token)],
        )
        .await;
    assert_ne!(location(&used), "/login?notice=email-changed");
    assert_eq!(email_of(&app, "linker").await, "linker@example.com");
}

#[tokio::test]
async fn deletion_disables_at_once_signing_in_keeps_it_and_the_erasure_leaves_nothing_that_names_the_person(
) {
    let app = spawn_app_with(|config| config.deletion_grace_seconds = 0).await;
    let token = app.signed_up("leaver").await;
    let (status, _) = post(&app, "/v2/account/delete", &token, &[("password", "wrong")]).await;
    assert_eq!(status, 400);
    let (status, body) = post(
        &app,
        "/v2/account/delete",
        &token,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &token)
            .await
            .status(),
        401
    );
    let (status, body) = json(app.login("leaver", PASSWORD).await).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("/account/keep"));
    let (status, _) = json(app.login("leaver", "wrong password").await).await;
    assert_eq!(status, 401, "a wrong password learns nothing of it");
    app.mail_to("leaver@example.com", "Your account will be deleted")
        .await;

    // Keeping it: signing in on its page.
    let kept = app
        .post_page_form(
            "/rpc/keep_account",
            "/account/keep",
            &[],
            None,
            &[("identifier", "leaver"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&kept), "/account?notice=kept");
    let session = cookie_pair(&kept, "latchkey_session");
    let token = session.trim_start_matches("latchkey_session=").to_owned();
    assert_eq!(
        app.get_with_token("/v2/account/credits/available", &token)
            .await
            .status(),
        200
    );
    let (status, _) = json(app.login("leaver", PASSWORD).await).await;
    assert_eq!(status, 200);

    // Deleted again; the grace (none here) over, the purge erases.
    sqlx::query(
        "UPDATE users SET phone_country_code = '86', phone_number = '13900139000', \
                 phone_e164 = '+8613900139000', phone_verified = TRUE WHERE username = 'leaver'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let (status, _) = post(
        &app,
        "/v2/account/delete",
        &token,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 200);
    let erased = account_life::erase_due(&app.state.db).await.unwrap();
    assert_eq!(erased, 1);
    for needle in ["leaver", "13900139000"] {
        let found = rows_naming(&app, needle).await;
        assert!(found.is_empty(), "{needle} is still in {found:?}");
    }
    let events: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE event = 'account.erased'")
        .await;
    assert_eq!(
        events, 1,
        "the audit keeps the event under the pseudonymous id"
    );
    assert_eq!(
        app.register("leaver", "leaver@example.com", PASSWORD)
            .await
            .status(),
        200,
        "free again"
    );
    let (status, _) = json(app.login("leaver", PASSWORD).await).await;
    assert_eq!(status, 200);
}

/// Every (table, column) of the database with a value containing `needle`, on either backend.
async fn rows_naming(app: &TestApp, needle: &str) -> Vec<String> {
    let columns: Vec<(String, String)> = if crate::common::on_postgres() {
        sqlx::query_as(
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(&app.db)
        .await
        .unwrap()
    } else {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations'",
        )
        .fetch_all(&app.db)
        .await
        .unwrap();
        let mut columns = Vec::new();
        for table in tables {
            let names: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&app.db)
                    .await
                    .unwrap();
            columns.extend(names.into_iter().map(|c| (table.clone(), c)));
        }
        columns
    };
    let mut found = Vec::new();
    for (table, column) in columns {
        // PostgreSQL's case-blind usernames cannot take LIKE: compare their bytes.
        let collate = if crate::common::on_postgres() {
            " COLLATE \"C\""
        } else {
            ""
        };
        let sql = format!(
            "SELECT COUNT(*) FROM {table} \
             WHERE LOWER(CAST({column} AS TEXT)){collate} LIKE '%' || $1 || '%'"
        );
        let count: i64 = sqlx::query_scalar(&sql)
            .bind(needle)
            .fetch_one(&app.db)
            .await
            .unwrap();
        if count > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

#[tokio::test]
async fn the_export_holds_the_account_and_never_a_secret() {
    let app = spawn_app().await;
    let token = app.signed_up("plainexporter").await;
    let response = app.get_with_token("/v2/account/export", &token).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let (_, document) = json(response).await;
    assert_eq!(document["format"], "latchkey-export-1");
    assert_eq!(document["account"]["username"], "plainexporter");
    assert_eq!(document["account"]["email"], "plainexporter@example.com");
    assert_eq!(document["sessions"].as_array().unwrap().len(), 1);
    assert!(document["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "register"));
    let text = document.to_string();
    for secret in ["$argon2", "password_hash", "secret", "token_hash", PASSWORD] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(
        app.http
            .get(app.at("/v2/account/export"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn keeping_an_account_counts_in_the_sign_in_s_own_lock() {
    let app = spawn_app().await;
    let token = app.signed_up("guessed").await;
    let (status, _) = post(
        &app,
        "/v2/account/delete",
        &token,
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        let wrong = app
            .post_page_form(
                "/rpc/keep_account",
                "/account/keep",
                &[],
                None,
                &[("identifier", "guessed"), ("password", "not the password")],
            )
            .await;
        assert_eq!(location(&wrong), "/account/keep");
    }
    // The sign-in's lock for the username is spent: no fresh guesses there either.
    let (status, _) = json(app.login("guessed", PASSWORD).await).await;
    assert_eq!(status, 429);
    let kept = app
        .post_page_form(
            "/rpc/keep_account",
            "/account/keep",
            &[],
            None,
            &[("identifier", "guessed"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        location(&kept),
        "/account/keep",
        "locked for the keep page too"
    );
}

#[tokio::test]
async fn the_purge_removes_changes_and_restore_links_that_ran_out() {
    let app = spawn_app().await;
    let token = app.signed_up("expiring").await;
    post(
        &app,
        "/v2/account/email/change",
        &token,
        &[("new_email", "later@example.com"), ("password", PASSWORD)],
    )
    .await;
    let mail = app.mail_to("later@example.com", "Confirm").await;
    let (status, _) = post(
        &app,
        "/v2/account/email/change/confirm",
        &token,
        &[("code", &code_in(&mail))],
    )
    .await;
    assert_eq!(status, 200);
    post(
        &app,
        "/v2/account/email/change",
        &token,
        &[("new_email", "again@example.com"), ("password", PASSWORD)],
    )
    .await;
    let now = latchkey::server::store::unix_now();
    let purged = latchkey::server::store::purge::expired(&app.state.db, now, 3600)
        .await
        .unwrap();
    assert_eq!(purged.account_life, 0, "both still live");
    let later = now + 73 * 3600;
    let purged = latchkey::server::store::purge::expired(&app.state.db, later, 3600)
        .await
        .unwrap();
    assert_eq!(
        purged.account_life, 2,
        "the pending change and the restore link"
    );
    let left: i64 = app.scalar("SELECT COUNT(*) FROM email_changes").await;
    let restores: i64 = app.scalar("SELECT COUNT(*) FROM email_restores").await;
    assert_eq!((left, restores), (0, 0));
}
