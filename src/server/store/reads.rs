//! The reads that signed-in requests make on every call (the session's account, the credits
//! balance), on connections of their own.
//!
//! On SQLite they run on the request's own thread, through `rusqlite` (the same SQLite library
//! sqlx links): a profile of `GET /v2/account/credits/available` put the largest single cost in
//! handing each query to sqlx's per-connection worker thread and waking the request again
//! (a futex wake each way), while SQLite's own work for a primary-key read is a few
//! microseconds. A read in WAL mode does not wait for writers, so running it inline holds the
//! thread no longer than the hop did. The connections are opened with `PRAGMA query_only`, so a
//! write sent through them is an error instead of a surprise, and keep their statements
//! prepared. Writes and everything else stay on sqlx's pool.
//!
//! PostgreSQL connections are network connections with no such detour: there the reads take
//! connections from the pool.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::PgPool;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, TryLockError};
use std::time::Duration;

pub enum ReadConnections {
    Sqlite(SqliteReads),
    Postgres(PgPool),
}

impl ReadConnections {
    /// Opens `count` (at least one) read-only connections to the SQLite database `options`
    /// names.
    pub fn open_sqlite(options: &SqliteConnectOptions, count: usize) -> Result<Self, ReadError> {
        Ok(ReadConnections::Sqlite(SqliteReads::open(options, count)?))
    }
}

/// A read that failed on either backend.
#[derive(Debug)]
pub enum ReadError {
    Sqlite(rusqlite::Error),
    Postgres(sqlx::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Sqlite(e) => e.fmt(f),
            ReadError::Postgres(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<rusqlite::Error> for ReadError {
    fn from(e: rusqlite::Error) -> Self {
        ReadError::Sqlite(e)
    }
}

impl From<sqlx::Error> for ReadError {
    fn from(e: sqlx::Error) -> Self {
        ReadError::Postgres(e)
    }
}

/// How long a read waits for a lock SQLite holds only briefly in WAL mode (a checkpoint's or a
/// crashed process's recovery) before it fails: short, since it holds a request thread.
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Prepared statements kept per connection: the hot reads are a handful of statements.
const STATEMENT_CACHE: usize = 16;

pub struct SqliteReads {
    slots: Box<[Mutex<rusqlite::Connection>]>,
    /// Where the next search for a free connection starts, so load spreads over all of them.
    next: AtomicUsize,
}

impl SqliteReads {
    /// Opens `count` (at least one) read-only connections to the database file `options`
    /// names, which the pool has created. They open only an existing file, as sqlx names it:
    /// an in-memory database (`sqlite::memory:`) has no file to share and is refused here
    /// rather than read from an empty database of the connection's own.
    pub fn open(options: &SqliteConnectOptions, count: usize) -> Result<Self, ReadError> {
        use rusqlite::OpenFlags;
        let path = options.get_filename();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut slots = Vec::with_capacity(count.max(1));
        for _ in 0..count.max(1) {
            let connection = rusqlite::Connection::open_with_flags(path, flags)?;
            connection.busy_timeout(READ_BUSY_TIMEOUT)?;
            connection.pragma_update(None, "query_only", true)?;
            connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            slots.push(Mutex::new(connection));
        }
        Ok(SqliteReads {
            slots: slots.into_boxed_slice(),
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free connection, on this thread. A connection is held only while a
    /// read runs, and a read never awaits, so with a connection per worker thread one is
    /// almost always free; when none is, this waits for the one it started at.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ReadError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.slots.len();
        // A read that panicked left no transaction open (autocommit SELECTs only), so a
        // poisoned connection is as good as any.
        let free =
            (0..count).find_map(
                |offset| match self.slots[(start + offset) % count].try_lock() {
                    Ok(connection) => Some(connection),
                    Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                    Err(TryLockError::WouldBlock) => None,
                },
            );
        let connection = match free {
            Some(connection) => connection,
            None => self.slots[start % count]
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        };
        Ok(read(&connection)?)
    }

    #[cfg(test)]
    fn hold(&self, slot: usize) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.slots[slot].lock().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store;
    use sqlx::SqlitePool;

    /// A fresh database, its pool and two read connections; the directory lives as long as
    /// the returned guard.
    async fn open_two() -> (tempfile::TempDir, SqlitePool, SqliteReads) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let (store::Db::Sqlite(pool), ReadConnections::Sqlite(reads)) =
            store::connect_with_reads(&url, 2, store::POSTGRES_CONNECTIONS)
                .await
                .unwrap()
        else {
            unreachable!("a sqlite:// URL opens SQLite")
        };
        (dir, pool, reads)
    }

    fn count(reads: &SqliteReads) -> i64 {
        reads
            .read(|c| c.query_row("SELECT count(*) FROM t", [], |row| row.get(0)))
            .unwrap()
    }

    #[tokio::test]
    async fn reads_see_committed_writes_and_refuse_to_write() {
        let (_dir, pool, reads) = open_two().await;

        sqlx::query("CREATE TABLE t (v INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (v) VALUES (7)")
            .execute(&pool)
            .await
            .unwrap();
        let seen: i64 = reads
            .read(|c| c.query_row("SELECT v FROM t", [], |row| row.get(0)))
            .unwrap();
        assert_eq!(seen, 7);

        let write = reads.read(|c| c.execute("INSERT INTO t (v) VALUES (8)", []));
        assert!(write.is_err(), "a read connection accepted a write");
        let written: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(written, 1);

        // A cached statement sees later writes too (it is reset, not kept on old data).
        for expected in 1..=3 {
            assert_eq!(
                reads
                    .read(|c| c
                        .prepare_cached("SELECT count(*) FROM t")?
                        .query_row([], |row| row.get::<_, i64>(0)))
                    .unwrap(),
                expected
            );
            sqlx::query("INSERT INTO t (v) VALUES (9)")
                .execute(&pool)
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn an_in_memory_database_is_refused_and_no_file_is_made_for_it() {
        let names_in = |path: &std::path::Path| {
            std::fs::read_dir(path)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        // sqlx names it `file:sqlx-in-memory-…`, a name that must not become a file here.
        let options: SqliteConnectOptions = "sqlite::memory:".parse().unwrap();
        assert!(SqliteReads::open(&options, 1).is_err());
        let here = std::env::current_dir().unwrap();
        assert!(!names_in(&here).iter().any(|n| n.contains("sqlx-in-memory")));

        // A file that does not exist is not created either.
        let empty = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new().filename(empty.path().join("none.db"));
        assert!(SqliteReads::open(&options, 1).is_err());
        assert!(names_in(empty.path()).is_empty());
    }

    #[tokio::test]
    async fn a_held_connection_is_passed_over_and_a_busy_set_waits_its_turn() {
        let (_dir, pool, reads) = open_two().await;
        sqlx::query("CREATE TABLE t (v INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        let reads = std::sync::Arc::new(reads);

        // One connection held (as by a read on another thread): every read takes the other.
        let first = reads.hold(0);
        for _ in 0..4 {
            assert_eq!(count(&reads), 0);
        }
        // Both held: a read waits until one is given back.
        let second = reads.hold(1);
        let waiting = std::thread::spawn({
            let reads = reads.clone();
            move || count(&reads)
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !waiting.is_finished(),
            "read while every connection was held"
        );
        drop(first);
        drop(second);
        assert_eq!(waiting.join().unwrap(), 0);
    }
}
