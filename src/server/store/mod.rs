//! Storage through sqlx, and the only place SQL is written.
//!
//! Two backends behind one API: SQLite, the embedded zero-configuration default, and
//! PostgreSQL, for several nodes serving one user base. Every store function takes an
//! [`Exec`] (the pool, a transaction or a read connection, of either backend) and runs the same
//! SQL text on both where the dialects agree: `$1` placeholders (sqlx's SQLite accepts them),
//! `TRUE`/`FALSE`, `ON CONFLICT … DO UPDATE … RETURNING`. Where they differ the function gives
//! each backend its own text (see [`on_backend!`]).
//!
//! PostgreSQL may run at `SERIALIZABLE` isolation (what CockroachDB and YugabyteDB default to),
//! where any transaction can be refused with a serialization failure (SQLSTATE 40001) and must
//! simply run again: [`write_tx!`] re-runs a whole transaction, and one statement on the pool
//! is re-run by [`on_backend!`] itself. Nothing relies on advisory locks or gap-free sequences.

pub mod account_life;
pub mod admin;
pub mod audit;
pub mod client_limits;
pub mod devices;
pub mod oidc;
pub mod oidc_clients;
pub mod outbox;
pub mod passkeys;
pub mod purge;
pub mod reads;
pub mod recovery;
pub mod second_factors;
pub mod secrets;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod users;
pub mod verifications;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The database, whichever backend it is. Cloning is cheap (a pool is a handle).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction of either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    /// With this process's turn to write to the file ([`sqlite_write_turn`]), given back when
    /// the transaction ends.
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Where one statement runs: a pool (autocommit) or one connection (a transaction's, or a read
/// connection), of either backend. Store functions take `impl Into<Exec>`, so callers pass
/// `&state.db`, `&mut *tx` or a read connection alike.
pub enum Exec<'c> {
    SqlitePool(&'c SqlitePool),
    Sqlite(&'c mut SqliteConnection),
    PgPool(&'c PgPool),
    Postgres(&'c mut PgConnection),
}

impl<'c> From<&'c Db> for Exec<'c> {
    fn from(db: &'c Db) -> Self {
        match db {
            Db::Sqlite(pool) => Exec::SqlitePool(pool),
            Db::Postgres(pool) => Exec::PgPool(pool),
        }
    }
}

impl<'c> From<&'c mut Tx> for Exec<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        match tx {
            Tx::Sqlite(tx, _) => Exec::Sqlite(tx),
            Tx::Postgres(tx) => Exec::Postgres(tx),
        }
    }
}

/// Runs a statement on whichever backend `exec` is. The body is written once per backend (or
/// once for both, when the SQL text is shared); `$e` names the sqlx executor inside it. On a
/// PostgreSQL pool the statement runs in its own transaction, which `SERIALIZABLE` may refuse:
/// it is re-run (the refused run changed nothing), so the body must be an expression that can
/// be evaluated more than once.
macro_rules! on_backend {
    ($exec:expr, $e:ident => $both:expr) => {
        $crate::server::store::on_backend!($exec, $e => $both, $e => $both)
    };
    ($exec:expr, $s:ident => $sqlite:expr, $p:ident => $postgres:expr) => {{
        let exec: $crate::server::store::Exec<'_> = $exec.into();
        match exec {
            $crate::server::store::Exec::SqlitePool($s) => $sqlite,
            $crate::server::store::Exec::Sqlite($s) => $sqlite,
            $crate::server::store::Exec::Postgres($p) => $postgres,
            $crate::server::store::Exec::PgPool(pool) => {
                $crate::server::store::retry_on_contention!({
                    let $p = pool;
                    $postgres
                })
            }
        }
    }};
}
pub(crate) use on_backend;

/// Runs a block in a write transaction (`write_tx!(db, |tx| -> ErrorType { … Ok(value) })`)
/// and commits it; an `Err` from the block, or a `return Err(…)` in it, rolls it back. A
/// transaction the database refuses for a concurrent one's sake ([`Contention`]) is run again
/// from the start, up to [`RETRIES`] times, so the block must do nothing outside the
/// transaction that cannot be done twice. The error type must convert from `sqlx::Error`; the
/// services use `services::write_tx!`, which names theirs.
///
/// A macro rather than a method taking a closure: the block is inlined into the caller's
/// future, so it may borrow the caller's locals, and the compiler sees that future is `Send`
/// (which it cannot yet prove for a closure's future over every lifetime of the transaction).
macro_rules! write_tx {
    ($db:expr, |$tx:ident| -> $error:ty $body:block) => {{
        let db: &$crate::server::store::Db = &$db;
        $crate::server::store::retry_on_contention!({
            let outcome: Result<_, $error> = async {
                let mut transaction = db.begin_write().await?;
                let $tx = &mut transaction;
                let done: Result<_, $error> = async { $body }.await;
                let value = done?;
                transaction.commit().await?;
                Ok(value)
            }
            .await;
            outcome
        })
    }};
}
pub(crate) use write_tx;

/// Evaluates `$attempt` (an expression giving a `Result` whose error is a [`Contention`]) and,
/// while the database refuses it for a concurrent transaction's sake, waits and evaluates it
/// again, up to [`RETRIES`] times.
macro_rules! retry_on_contention {
    ($attempt:expr) => {{
        let mut retries = 0;
        loop {
            match $attempt {
                Err(e)
                    if $crate::server::store::Contention::is_contention(&e)
                        && retries < $crate::server::store::RETRIES =>
                {
                    $crate::server::store::back_off(retries).await;
                    retries += 1;
                }
                done => break done,
            }
        }
    }};
}
pub(crate) use retry_on_contention;

/// How many times a refused transaction is run again before the refusal is reported. Enough
/// for a row everybody writes at once (hundreds of concurrent grants to one account commit one
/// after another): only after some two seconds of refusals does the caller hear of it.
pub const RETRIES: u32 = 16;

/// Waits before a re-run: doubling from 2 ms up to 256 ms, with jitter so that the
/// transactions that collided do not collide again in step.
pub async fn back_off(attempt: u32) {
    use rand::Rng;
    let ceiling = 2u64 << attempt.min(7);
    let wait = rand::thread_rng().gen_range(ceiling / 2..=ceiling);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// Errors that say "run it again; nothing was done": the database refused this because of a
/// concurrent transaction (40001 serialization failure, 40P01 deadlock), or it was not there
/// to do it, as while PostgreSQL fails over to its standby: a lost or refused connection
/// (I/O, class 08), a server shutting down or starting (57P01, 57P02, 57P03), a server that
/// turned read-only (25006: the connection reached a primary that is a standby now, or a
/// standby not yet promoted). Past the retry budget these answer 503 with `Retry-After`
/// (`services::ServiceError::Contended`), never 500.
pub trait Contention {
    fn is_contention(&self) -> bool;
}

impl Contention for sqlx::Error {
    fn is_contention(&self) -> bool {
        match self {
            sqlx::Error::Database(e) => match e.code().as_deref() {
                Some("25006") => {
                    // Pooled connections may all lead to the read-only server: have the pool
                    // check each before use for a while (`connect_postgres`).
                    READ_ONLY_SEEN_AT.store(unix_now(), std::sync::atomic::Ordering::Relaxed);
                    true
                }
                Some(code) => {
                    matches!(code, "40001" | "40P01" | "57P01" | "57P02" | "57P03")
                        || code.starts_with("08")
                }
                None => false,
            },
            sqlx::Error::Io(_) => true,
            _ => false,
        }
    }
}

/// Whether the database could not be reached at all, this time: no connection came within the
/// pool's wait, or the pool is closing. Answered 503 like [`Contention`], but not retried:
/// the wait was the retry.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Protocol(said) => said == COMMIT_OUTCOME_UNKNOWN,
        _ => false,
    }
}

/// When a statement last met a read-only server (Unix seconds; 0: never).
static READ_ONLY_SEEN_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// For how long after meeting a read-only server every pooled connection is checked before use.
const READ_ONLY_CHECKS_SECONDS: i64 = 120;

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Connections per node on PostgreSQL unless `LATCHKEY_DATABASE_POOL_SIZE` says otherwise.
/// Every node holds this many at most: size the server's `max_connections` for the node count.
pub const POSTGRES_CONNECTIONS: u32 = 16;
/// The command line's pool: a few statements, one after another.
const COMMAND_LINE_CONNECTIONS: u32 = 2;

/// Opens the database `url` names (a SQLite file, created if needed, or a PostgreSQL
/// database) and applies pending migrations.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    // No read connections: the operator commands and tests that use this make a few queries.
    Ok(match Backend::of_url(url) {
        Backend::Sqlite => Db::Sqlite(connect_sqlite(url).await?.0),
        Backend::Postgres => Db::Postgres(connect_postgres(url, COMMAND_LINE_CONNECTIONS).await?),
    })
}

/// [`connect`], and `read_connections` connections for the reads of signed-in requests
/// ([`reads::ReadConnections`]).
pub async fn connect_with_reads(
    url: &str,
    read_connections: usize,
    pool_size: u32,
) -> Result<(Db, reads::ReadConnections), sqlx::Error> {
    match Backend::of_url(url) {
        Backend::Sqlite => {
            let (pool, options) = connect_sqlite(url).await?;
            let reads =
                reads::ReadConnections::open_sqlite(&options, read_connections).map_err(|e| {
                    let file = options.get_filename().display();
                    sqlx::Error::Configuration(format!("read connections to {file}: {e}").into())
                })?;
            Ok((Db::Sqlite(pool), reads))
        }
        Backend::Postgres => {
            let pool = connect_postgres(url, pool_size).await?;
            Ok((
                Db::Postgres(pool.clone()),
                reads::ReadConnections::Postgres(pool),
            ))
        }
    }
}

/// Applies pending migrations. Several processes may start at the same moment on a new
/// database: the one that loses a race for a migration fails on what the winner created, and
/// runs the migrator again, which now finds that migration applied.
macro_rules! migrate_with_retries {
    ($migrator:expr, $pool:expr) => {{
        let migrator = $migrator;
        let mut attempt = 0;
        loop {
            match migrator.run($pool).await {
                Ok(()) => break,
                Err(e) if attempt < RETRIES => {
                    tracing::debug!(error = %e, "a migration collided with another process's");
                    back_off(attempt + 3).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }};
}

/// SQLite in WAL mode. `synchronous = NORMAL` under WAL keeps every committed write through a
/// crash of the process; only a power loss can drop the last transactions, which is SQLite's
/// documented trade-off.
async fn connect_sqlite(url: &str) -> Result<(SqlitePool, SqliteConnectOptions), sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    switch_to_wal(&options).await?;
    let pool = SqlitePoolOptions::new()
        // A ping before every use is a round trip to the connection's thread: it doubled the
        // cost of a one-row read. An embedded database file does not drop connections.
        .test_before_acquire(false)
        // SQLite takes one writer at a time, and the per-request session reads have their own
        // connections (`reads`); each connection is a thread and ~250 KiB of SQLite buffers, so
        // three suffice on the 2-core machines measured (BENCHMARKS.md) and keep the flood's
        // peak memory down.
        .max_connections(3)
        .min_connections(1)
        .connect_with(options.clone())
        .await?;
    migrate_with_retries!(sqlx::migrate!("./migrations/sqlite"), &pool);
    Ok((pool, options))
}

/// Puts the database in WAL mode, once, before any pooled connection opens: the mode is kept
/// in the file, so the connections need not ask for it. Asking on every connection is how it
/// went wrong: processes starting at once on a new file race to switch it, and SQLite answers
/// the loser "database is locked" at once, without waiting out its busy timeout. Here the
/// loser waits and asks again, and finds the file switched.
async fn switch_to_wal(options: &SqliteConnectOptions) -> Result<(), sqlx::Error> {
    use sqlx::{ConnectOptions, Connection};
    let options = options.clone().journal_mode(SqliteJournalMode::Wal);
    let mut attempt = 0;
    loop {
        match options.connect().await {
            Ok(connection) => return connection.close().await,
            Err(e) if is_sqlite_busy(&e) && attempt < RETRIES => {
                tracing::debug!(error = %e, "another process was switching the database to WAL");
                back_off(attempt + 3).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// SQLite's "database is locked" (SQLITE_BUSY, with or without an extended code).
fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == 5),
        _ => false,
    }
}

/// PostgreSQL. Nothing may rely on advisory locks (which distributed engines lack), so sqlx's
/// migration lock is off: each migration runs in its own transaction, and two nodes applying
/// the same one collide on the catalog or the migrations table (see `migrate_with_retries!`).
async fn connect_postgres(url: &str, pool_size: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("latchkey");
    let pool = PgPoolOptions::new()
        .max_connections(pool_size.max(1))
        .min_connections(1)
        // While the database fails over no connection comes: a request waits this long for
        // one, then answers 503, rather than holding its client for the whole failover.
        .acquire_timeout(Duration::from_secs(5))
        // After a failover, connections opened to the old primary (a standby now, or gone)
        // are dropped as soon as one of them is found read-only; the pool's own ping drops
        // dead ones.
        .before_acquire(|connection, _| {
            Box::pin(async move {
                let seen = READ_ONLY_SEEN_AT.load(std::sync::atomic::Ordering::Relaxed);
                if unix_now() - seen > READ_ONLY_CHECKS_SECONDS {
                    return Ok(true);
                }
                let standby: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                    .fetch_one(&mut *connection)
                    .await?;
                Ok(!standby)
            })
        })
        .connect_with(options)
        .await?;
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.set_locking(false);
    migrate_with_retries!(migrator, &pool);
    Ok(pool)
}

/// One turn to write per SQLite file in this process. SQLite lets one connection write at a
/// time; the others' `BEGIN IMMEDIATE` wait in SQLite's busy handler, which sleeps and polls
/// (1, 2, 5, 10… ms). Under concurrent writes (32 authorizations at once) that polling cost
/// more than the writing: the server used 4 ms of CPU per authorization where 8 at once took
/// 2 ms. Queued here instead, each transaction starts the moment the previous one ends. Other
/// processes on the file (the command line) still meet the busy handler.
static SQLITE_WRITE_TURNS: LazyLock<
    std::sync::Mutex<HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>>,
> = LazyLock::new(Default::default);

/// Waits for this process's turn to write to `pool`'s file; as long as the busy timeout at
/// most, after which the transaction is refused as SQLite would refuse it.
async fn sqlite_write_turn(
    pool: &SqlitePool,
) -> Result<tokio::sync::OwnedMutexGuard<()>, sqlx::Error> {
    let file = pool.connect_options().get_filename().to_owned();
    let turn = SQLITE_WRITE_TURNS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(file)
        .or_default()
        .clone();
    tokio::time::timeout(SQLITE_BUSY_TIMEOUT, turn.lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)
}

/// How long a write waits for the file before it is refused.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a transaction that will write. On SQLite, `BEGIN IMMEDIATE` takes the write lock
    /// at once (waiting up to the busy timeout): a deferred transaction that reads first and
    /// writes later fails outright with SQLITE_BUSY when another connection wrote in between.
    /// The process's own transactions take turns first ([`sqlite_write_turn`]). On PostgreSQL,
    /// the server's default isolation applies.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => {
                let turn = sqlite_write_turn(pool).await?;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// One trivial query: does the database answer?
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_backend!(self, e => sqlx::query("SELECT 1").execute(e).await.map(|_| ()))
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    /// Commits. A connection lost while the commit was on its way leaves its outcome unknown:
    /// that is never run again (it may have committed), and answers 503 ([`is_unreachable`]);
    /// the client that asks again finds out which it was.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let committed = match self {
            Tx::Sqlite(tx, _turn) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        };
        committed.map_err(|e| match &e {
            sqlx::Error::Io(_) => sqlx::Error::Protocol(COMMIT_OUTCOME_UNKNOWN.into()),
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("08")) => {
                sqlx::Error::Protocol(COMMIT_OUTCOME_UNKNOWN.into())
            }
            _ => e,
        })
    }
}

/// What a commit whose connection was lost on the way says.
const COMMIT_OUTCOME_UNKNOWN: &str = "the connection was lost during the commit";

/// Which unique constraint a failed insert or update ran into, if that is why it failed:
/// the column name for both backends (SQLite names `table.column` in its message; the
/// PostgreSQL migrations name every unique constraint `table_column_key`).
pub fn unique_violation(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db_error) = e else {
        return None;
    };
    if !db_error.is_unique_violation() {
        return None;
    }
    if let Some(constraint) = db_error.constraint() {
        return Some(
            constraint
                .strip_suffix("_key")
                .unwrap_or(constraint)
                .to_owned(),
        );
    }
    // "UNIQUE constraint failed: users.username"
    let columns = db_error.message().rsplit(':').next()?.trim();
    Some(columns.replace('.', "_"))
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
