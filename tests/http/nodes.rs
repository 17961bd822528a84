//! Several Latchkey nodes serving one user base from one database (SPEC §9): what one node
//! starts, another finishes; what one node counts, every node enforces. Each node is a server
//! of its own (its own key ring, allowance handle, outbox worker and data directory); the test
//! command runs this file on SQLite and on a PostgreSQL cluster at SERIALIZABLE isolation.

use crate::common::process::Process;
use crate::common::smtp::SmtpSink;
use crate::common::{
    authing, eventually, eventually_within, json, reset, send_email_code, spawn_app_with,
    spawn_node_of, verify_email_code, Mail, TestApp, PASSWORD,
};
use latchkey::server::config::Config;
use std::collections::HashMap;
use std::time::Duration;

/// Three nodes, A, B and C, delivering mail to one SMTP sink; `configure` applies to each.
async fn three_nodes(configure: impl Fn(&mut Config)) -> ([TestApp; 3], SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let setup = |c: &mut Config| {
        c.smtp_url = Some(url.clone().into());
        configure(c);
    };
    let a = spawn_app_with(setup).await;
    // One service has one public URL (its load balancer's), whichever node answers: tokens
    // name it as their issuer.
    let public_url = a.url.clone();
    let node = |c: &mut Config| {
        setup(c);
        c.public_url = Some(public_url.clone());
    };
    let b = spawn_node_of(&a, node).await;
    let c = spawn_node_of(&a, node).await;
    ([a, b, c], sink)
}

/// Waits (up to 10 s) for the `n`-th mail (from 1) the sink received for `to`.
async fn nth_mail_for(sink: &SmtpSink, to: &str, n: usize) -> Mail {
    let wanted = format!("<{to}>");
    let mail = eventually(&format!("mail number {n} for {to}"), async || {
        sink.messages()
            .into_iter()
            .filter(|m| m.to.contains(&wanted))
            .nth(n - 1)
    })
    .await;
    Mail::parse(mail.data.as_bytes())
}

/// Three nodes starting at the same moment on a database nobody has used: each one's
/// migrations, first signing key and generated secrets race the others', and all three come up
/// serving one service.
#[tokio::test]
async fn three_nodes_starting_at_once_on_an_empty_database_agree() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::common::test_database(dir.path()).await;
    let start = || crate::common::spawn_app_on(Some(database.url.clone()), |_| {});
    let (a, b, c) = tokio::join!(start(), start(), start());
    if !crate::common::on_postgres() {
        // Whichever node came first switched the file to WAL; the others' connections use it.
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&a.db)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
    assert_eq!(
        a.register("first", "first@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    let (status, body) = json(b.login("first", PASSWORD).await).await;
    assert_eq!(status, 200, "{body}");
    // The token b signed verifies on c (same keys), though c's issuer differs here: the key
    // ring is what this checks, so compare the kid of a token of each node.
    let (_, from_c) = json(c.login("first", PASSWORD).await).await;
    let kid = |token: &str| token.split('.').next().unwrap().to_owned();
    assert_eq!(
        kid(body["token"].as_str().unwrap()),
        kid(from_c["token"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_session_started_on_one_node_is_refreshed_and_used_on_the_others() {
    let ([a, b, c], _sink) = three_nodes(|_| {}).await;
    assert_eq!(
        a.register("roamer", "roamer@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    let (status, body) = json(b.login("roamer", PASSWORD).await).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, body) = json(c.get_with_token("/v2/auth/refresh", &token).await).await;
    assert_eq!(status, 200, "{body}");
    let refreshed = body["token"].as_str().unwrap().to_owned();
    let (status, body) = json(
        a.get_with_token("/v2/account/credits/available", &refreshed)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A password change on B ends the session for every node at once.
    let (status, body) = json(
        b.post_with_token(
            "/v2/account/password/change",
            &refreshed,
            &[
                ("old_password", PASSWORD),
                ("new_password", "a changed passphrase"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for node in [&a, &c] {
        let response = node
            .get_with_token("/v2/account/credits/available", &refreshed)
            .await;
        assert_eq!(response.status(), 401);
    }
}

#[tokio::test]
async fn a_reset_begun_on_one_node_is_finished_on_two_others() {
    let ([a, b, c], sink) = three_nodes(|_| {}).await;
    a.register("forgetful", "forgetful@example.com", PASSWORD)
        .await;
    // Step 1 on A; the code arrives by whichever node's worker claimed the mail.
    let (status, body) = send_email_code(&a, "forgetful@example.com").await;
    assert_eq!(status, 200, "{body}");
    let code = nth_mail_for(&sink, "forgetful@example.com", 2)
        .await
        .passcode();
    // Step 2 on B.
    let (status, body) = verify_email_code(&b, "forgetful@example.com", &code).await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["passwordResetToken"].as_str().unwrap();
    // Step 3 on C, then the new password works on A and the old one nowhere.
    let (status, body) = reset(&c, token, "a brand new passphrase", "none").await;
    assert_eq!(
        (status, body["statusCode"].as_u64()),
        (200, Some(200)),
        "{body}"
    );
    let (status, _) = json(a.login("forgetful", "a brand new passphrase").await).await;
    assert_eq!(status, 200);
    let (status, _) = json(b.login("forgetful", PASSWORD).await).await;
    assert_eq!(status, 401);
    // The token is spent for every node.
    let (_, body) = reset(&a, token, "yet another passphrase", "none").await;
    assert_eq!(body["apiCode"], 2030, "{body}");
}

#[tokio::test]
async fn a_login_lockout_reached_across_nodes_holds_on_every_node() {
    let ([a, b, c], _sink) = three_nodes(|c| c.logins_per_address_per_minute = 0).await;
    a.register("guarded", "guarded@example.com", PASSWORD).await;
    // Five wrong passwords, spread over the nodes, reach the default lockout.
    for (n, node) in [&a, &b, &c, &a, &b].into_iter().enumerate() {
        let (status, _) = json(node.login("guarded", "not the password").await).await;
        assert_eq!(status, 401, "attempt {n}");
    }
    // The right password is refused on the node that saw the fewest attempts.
    let (status, _) = json(c.login("guarded", PASSWORD).await).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn a_per_address_limit_is_one_limit_for_the_whole_service() {
    let ([a, b, c], _sink) = three_nodes(|c| c.logins_per_address_per_minute = 6).await;
    // Six logins (of names that exist nowhere, so no account lock interferes) over three nodes.
    for (n, node) in [&a, &b, &c, &a, &b, &c].into_iter().enumerate() {
        let (status, body) = json(node.login(&format!("nobody{n}"), PASSWORD).await).await;
        assert_eq!(status, 401, "login {n}: {body}");
    }
    for node in [&a, &b, &c] {
        let response = node.login("nobody-else", PASSWORD).await;
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn concurrent_registrations_of_one_name_over_three_nodes_admit_exactly_one() {
    let ([a, b, c], _sink) = three_nodes(|c| c.registrations_per_address_per_hour = 0).await;
    let nodes = [&a, &b, &c];
    let attempts = (0..64).map(|n| {
        let node = nodes[n % 3];
        async move {
            node.register("contested", &format!("contested{n}@example.com"), PASSWORD)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let mut counted: HashMap<u16, usize> = HashMap::new();
    for status in statuses {
        *counted.entry(status).or_default() += 1;
    }
    assert_eq!(counted.get(&200), Some(&1), "{counted:?}");
    assert_eq!(counted.get(&409), Some(&63), "{counted:?}");
    assert_eq!(a.user_count().await, 1);
}

/// 500 messages queued over three node processes, one of them SIGKILLed while the three are
/// delivering: every message reaches the mail server, each under its one Message-ID. The killed
/// node held at most the one message it was sending (claims are per message); its claim runs
/// out and another node sends it. A kill between the mail server's acceptance and the sender's
/// record of it is the one moment a message can go out twice, with the same Message-ID (which
/// is how receivers recognise the repeat): at most one such message, never more.
#[tokio::test]
async fn five_hundred_mails_over_three_nodes_with_one_killed_each_arrive_once() {
    use latchkey::server::delivery::messages::Email;
    use latchkey::server::store::{self, outbox};

    let sink = SmtpSink::start().await;
    // Slow enough that the run lasts a while and the kill lands mid-run.
    sink.slow_down(Duration::from_millis(5));
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let database = crate::common::test_database(dirs[0].path()).await;
    let database_url = database.url.clone();
    let smtp_url = sink.url();
    let env = [
        ("LATCHKEY_DATABASE_URL", database_url.as_str()),
        ("LATCHKEY_SMTP_URL", smtp_url.as_str()),
        ("LATCHKEY_OUTBOX_CLAIM_SECONDS", "3"),
    ];
    let mut nodes: Vec<Process> = dirs
        .iter()
        .map(|d| Process::start(d.path(), &env))
        .collect();

    // Queued in batches, as requests on several nodes would.
    let db = store::connect(&database_url).await.unwrap();
    let mut queued = Vec::new();
    for batch in 0..10 {
        let mut tx = db.begin_write().await.unwrap();
        for n in 0..50 {
            let email = Email {
                to: format!("reader{}@example.com", batch * 50 + n),
                subject: "news".into(),
                text: "text".into(),
                html: "<p>html</p>".into(),
            };
            queued.push(outbox::enqueue_email(&mut tx, &email).await.unwrap());
        }
        tx.commit().await.unwrap();
    }
    // The workers find the queue on their next poll (at most five seconds); kill one as soon
    // as a fifth has gone out.
    eventually("a hundred deliveries", async || {
        (sink.messages().len() >= 100).then_some(())
    })
    .await;
    nodes[0].kill();

    let message_ids = |sink: &SmtpSink| -> Vec<String> {
        sink.messages().iter().map(|m| m.message_id()).collect()
    };
    // The killed node's claim runs out (3 s) and the survivors poll (5 s): allow a minute.
    eventually_within(
        Duration::from_secs(60),
        "500 distinct messages",
        async || {
            let mut distinct = message_ids(&sink);
            distinct.sort();
            distinct.dedup();
            (distinct.len() >= 500).then_some(())
        },
    )
    .await;
    // Past another claim's length and a poll: nothing more may arrive.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let ids = message_ids(&sink);
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 500, "every message arrives");
    assert!(
        ids.len() <= 501,
        "{} deliveries of 500 messages: more than the one the kill may repeat",
        ids.len()
    );
    let mut recipients: Vec<String> = sink.messages().iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 500);
    for id in &queued {
        assert!(
            distinct
                .iter()
                .any(|m| m.starts_with(&format!("<outbox.{id}."))),
            "message {id} never arrived"
        );
    }
    let unsent: i64 = sqlx_count_unsent(&db).await;
    assert_eq!(unsent, 0, "every row records its delivery");
    for node in &mut nodes[1..] {
        node.stop();
    }
}

/// Rows of the outbox not yet recorded as sent.
async fn sqlx_count_unsent(db: &latchkey::server::store::Db) -> i64 {
    use latchkey::server::store::Db;
    let sql = "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL";
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// Generated secrets are made once, by whichever node starts first, and shared: a passcode
/// mailed by one node's request checks out on another, and the public keys match.
#[tokio::test]
async fn every_node_publishes_the_same_keys() {
    let ([a, b, c], _sink) = three_nodes(|_| {}).await;
    let mut keys = Vec::new();
    for node in [&a, &b, &c] {
        let (status, body) = authing(
            node.http
                .get(node.at("/api/v3/system"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        keys.push((body["data"]["rsa"].clone(), body["data"]["sm2"].clone()));
    }
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[1], keys[2]);
}

/// On PostgreSQL, mail queued anywhere wakes the idle workers of every node at once (`NOTIFY`),
/// long before their poll, which is set to a minute here so that only the wake-up can deliver
/// in time. (SQLite has no such signal between processes: there the poll alone delivers, which
/// the other tests cover.)
#[tokio::test]
async fn queued_mail_wakes_the_other_nodes_at_once_on_postgres() {
    use latchkey::server::delivery::messages::Email;
    use latchkey::server::store::{self, outbox};
    if !crate::common::on_postgres() {
        return;
    }
    let ([a, _b, _c], sink) = three_nodes(|c| c.outbox_poll_seconds = 60).await;
    // Every worker drains what start-up queued, then sleeps for its minute.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Queued by a process with no worker of its own (as a node that died right after the
    // commit would have), then announced.
    let db = store::connect(&a.database_url).await.unwrap();
    for round in 0..3 {
        let email = Email {
            to: format!("woken{round}@example.com"),
            subject: "wake up".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
        };
        outbox::enqueue_email(&db, &email).await.unwrap();
        outbox::announce(&db).await.unwrap();
        let wanted = format!("<woken{round}@example.com>");
        eventually_within(
            Duration::from_secs(20),
            &format!("round {round}: a node woken for the announced mail"),
            async || {
                sink.messages()
                    .iter()
                    .any(|m| m.to.contains(&wanted))
                    .then_some(())
            },
        )
        .await;
    }
}
