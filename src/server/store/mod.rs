//! SQLite storage through sqlx: the only place SQL is written.

pub mod audit;
pub mod client_limits;
pub mod outbox;
pub mod purge;
pub mod reads;
pub mod recovery;
pub mod secrets;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod users;
pub mod verifications;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Opens (creating if needed) the database, in WAL mode, and applies pending migrations.
///
/// `synchronous = NORMAL` under WAL keeps every committed write through a crash of the process;
/// only a power loss can drop the last transactions, which is SQLite's documented trade-off.
pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    Ok(connect_with_options(url).await?.0)
}

/// [`connect`], also returning the options it opened the database with, for
/// [`reads::ReadConnections`] to open theirs alike.
pub async fn connect_with_options(
    url: &str,
) -> Result<(SqlitePool, SqliteConnectOptions), sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        // A ping before every use is a round trip to the connection's thread: it doubled the
        // cost of a one-row read. An embedded database file does not drop connections.
        .test_before_acquire(false)
        // SQLite takes one writer at a time, and the per-request session reads have their own
        // connections (`reads`); each connection is a thread and ~250 KiB of SQLite buffers, so
        // four suffice on the 2-core machines measured (BENCHMARKS.md) and keep the flood's
        // peak memory down.
        .max_connections(3)
        .min_connections(1)
        .connect_with(options.clone())
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok((pool, options))
}

/// Starts a transaction that will write. `BEGIN IMMEDIATE` takes SQLite's write lock at once
/// (waiting up to the busy timeout); a plain deferred transaction that reads first and writes
/// later fails outright with SQLITE_BUSY when another connection wrote in between.
pub async fn begin_write(
    db: &SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// One trivial query: does the database answer?
pub async fn ping(db: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}

/// Seconds since the Unix epoch, for expiry and scheduling columns.
pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch, for the per-address allowances.
pub fn unix_now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Timestamps are stored as RFC 3339 UTC text, the form the Temporal API shows them in.
pub fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("UTC timestamps always format")
}
