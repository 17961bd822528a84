//! What a node does when the database goes away under it (SPEC §16), short of a real failover
//! (scripts/failover.sh runs that with Patroni): a reset request answered is always followed
//! by its mail, even when the task that queues it never ran; connections cut by the server
//! are replaced without an error reaching anyone, even one cut in the middle of a write.

use crate::common::{json, sent, spawn_app, PASSWORD};

#[tokio::test]
async fn an_answered_reset_request_is_queued_by_the_sweep_when_its_own_task_never_ran() {
    let app = spawn_app().await;
    app.signed_up("swept").await;
    // The row an answer leaves behind before its task runs, as a node that died right after
    // answering would leave it (ten seconds old: past the sweep's patience).
    let old = latchkey::server::store::unix_now() - 10;
    sqlx::query(
        "INSERT INTO recovery_requests (kind, destination, client_addr, request_id, created_at) \
         VALUES ('reset_email', 'swept@example.com', '192.0.2.1', NULL, $1), \
                ('reset_email', 'nobody@example.com', '192.0.2.1', NULL, $1)",
    )
    .bind(old)
    .execute(&app.db)
    .await
    .unwrap();
    app.mail_to("swept@example.com", "passcode").await;
    crate::common::eventually("the requests taken up", async || {
        let left: i64 = app.scalar("SELECT COUNT(*) FROM recovery_requests").await;
        (left == 0).then_some(())
    })
    .await;
    // The unknown address got its decoy, and no mail.
    let decoys: i64 = app
        .scalar("SELECT COUNT(*) FROM passcodes WHERE destination = 'nobody@example.com' AND user_id IS NULL")
        .await;
    assert_eq!(decoys, 1);
    app.mail_barrier().await;
    assert_eq!(app.count_mail_to("nobody@example.com", "passcode"), 0);
}

#[tokio::test]
async fn connections_the_database_cuts_are_replaced_and_nobody_sees_an_error() {
    if !crate::common::on_postgres() {
        return; // SQLite has no server to cut connections.
    }
    let app = spawn_app().await;
    let token = app.signed_up("steady").await;
    for round in 0..3 {
        // The server ends every connection of the node, as a restarting primary does (57P01).
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'latchkey' AND pid <> pg_backend_pid()",
        )
        .execute(&app.db)
        .await
        .unwrap();
        let credits = app
            .get_with_token("/v2/account/credits/available", &token)
            .await;
        assert_eq!(credits.status(), 200, "round {round}: a read");
        let name = format!("steady{round}");
        let (status, body) = sent(app.http.post(app.at("/v2/auth/register")).form(&[
            ("username", name.as_str()),
            ("password", PASSWORD),
            ("email_address", &format!("{name}@example.com")),
        ]))
        .await;
        assert_eq!(status, 200, "round {round}: a write: {body}");
        let (status, _) = json(app.login(&name, PASSWORD).await).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn a_write_whose_connection_is_cut_midway_is_run_again_on_another() {
    if !crate::common::on_postgres() {
        return; // SQLite has no server to cut connections.
    }
    let app = spawn_app().await;
    // The first account row inserted ends its own connection from inside the transaction, as a
    // primary going down mid-write does: the connection was sound when the pool handed it out,
    // so only the run-again of the whole transaction can save the request. (A sequence, not a
    // table, counts the cuts: it is not rolled back with the transaction.)
    for statement in [
        "CREATE SEQUENCE test_cuts",
        "CREATE FUNCTION test_cut_once() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
           IF nextval('test_cuts') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; \
           RETURN NEW; \
         END $$",
        "CREATE TRIGGER test_cut_once BEFORE INSERT ON users \
         FOR EACH ROW EXECUTE FUNCTION test_cut_once()",
    ] {
        sqlx::query(statement).execute(&app.db).await.unwrap();
    }

    let (status, body) = sent(app.http.post(app.at("/v2/auth/register")).form(&[
        ("username", "midway"),
        ("password", PASSWORD),
        ("email_address", "midway@example.com"),
    ]))
    .await;
    assert_eq!(status, 200, "{body}");
    let cuts: i64 = app.scalar("SELECT last_value FROM test_cuts").await;
    assert_eq!(cuts, 2, "the first try was cut, the second went through");
    let accounts: i64 = app
        .scalar("SELECT COUNT(*) FROM users WHERE username = 'midway'")
        .await;
    assert_eq!(accounts, 1, "one account, not two");
    let (status, _) = json(app.login("midway", PASSWORD).await).await;
    assert_eq!(status, 200);
    // One welcome mail: the cut try's queued message went with its transaction.
    app.mail_barrier().await;
    assert_eq!(app.count_mail_to("midway@example.com", ""), 1);
}
