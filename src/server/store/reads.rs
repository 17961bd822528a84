//! Connections set aside for the one-statement reads that signed-in requests make on every
//! call: the session's account and the credits balance.
//!
//! Why not the pool: sqlx returns a pooled connection through a spawned task that first pings
//! the connection's worker thread, so every pooled read costs a second round trip to another
//! thread (a futex wake each way). A profile of `GET /v2/account/credits/available` showed the
//! kernel's context switching as the largest single cost. These connections run single
//! autocommit `SELECT`s only, which leave no transaction to roll back and nothing to flush, so
//! one goes straight back to the set when its guard drops — including when a request is
//! cancelled mid-query: sqlx's worker runs commands in order, so the next one simply waits.
//! `PRAGMA query_only` makes any write sent through them an error instead of a surprise.
//!
//! PostgreSQL connections are network connections with no such detour: there the reads take
//! connections from the pool.

use super::Exec;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, PgPool, Postgres, SqliteConnection};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};

pub enum ReadConnections {
    Sqlite(SqliteReads),
    Postgres(PgPool),
}

/// A connection for one read: [`ReadConnections::get`]. It goes back when this drops.
pub enum ReadConnection<'a> {
    Sqlite(SqliteRead<'a>),
    Postgres(PoolConnection<Postgres>),
}

impl ReadConnections {
    /// Opens `count` (at least one) read-only connections to the SQLite database `options`
    /// names.
    pub async fn open_sqlite(
        options: &SqliteConnectOptions,
        count: usize,
    ) -> Result<Self, sqlx::Error> {
        Ok(ReadConnections::Sqlite(
            SqliteReads::open(options, count).await?,
        ))
    }

    /// A connection, waiting (first come, first served) while all are lent out.
    pub async fn get(&self) -> Result<ReadConnection<'_>, sqlx::Error> {
        Ok(match self {
            ReadConnections::Sqlite(reads) => ReadConnection::Sqlite(reads.get().await),
            ReadConnections::Postgres(pool) => ReadConnection::Postgres(pool.acquire().await?),
        })
    }
}

impl<'c> From<&'c mut ReadConnection<'_>> for Exec<'c> {
    fn from(read: &'c mut ReadConnection<'_>) -> Self {
        match read {
            ReadConnection::Sqlite(connection) => Exec::Sqlite(connection),
            ReadConnection::Postgres(connection) => Exec::Postgres(connection),
        }
    }
}

pub struct SqliteReads {
    slots: Box<[Mutex<SqliteConnection>]>,
    /// One permit per connection: a caller that holds one is sure to find a connection free.
    free: Semaphore,
    /// Where the next search for a free connection starts, so load spreads over all of them.
    next: AtomicUsize,
}

/// A connection lent out by [`SqliteReads::get`]; it goes back when this drops.
pub struct SqliteRead<'a> {
    // Declared first so it drops first: the connection is free before the permit that lets
    // the next caller look for it is returned.
    connection: MutexGuard<'a, SqliteConnection>,
    _permit: SemaphorePermit<'a>,
}

impl SqliteReads {
    /// Opens `count` (at least one) read-only connections to the database `options` names.
    pub async fn open(options: &SqliteConnectOptions, count: usize) -> Result<Self, sqlx::Error> {
        let count = count.max(1);
        let options = options.clone().pragma("query_only", "1");
        let mut slots = Vec::with_capacity(count);
        for _ in 0..count {
            slots.push(Mutex::new(options.connect().await?));
        }
        Ok(SqliteReads {
            slots: slots.into_boxed_slice(),
            free: Semaphore::new(count),
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection, waiting (first come, first served) while all are lent out.
    pub async fn get(&self) -> SqliteRead<'_> {
        let permit = self
            .free
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.slots.len();
        let free =
            (0..count).find_map(|offset| self.slots[(start + offset) % count].try_lock().ok());
        let connection = match free {
            Some(connection) => connection,
            // Unreachable while every lent connection holds a permit; waiting is still right.
            None => self.slots[start % count].lock().await,
        };
        SqliteRead {
            connection,
            _permit: permit,
        }
    }
}

impl Deref for SqliteRead<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.connection
    }
}

impl DerefMut for SqliteRead<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.connection
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
            store::connect_with_reads(&url, 2).await.unwrap()
        else {
            unreachable!("a sqlite:// URL opens SQLite")
        };
        (dir, pool, reads)
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
        let seen: i64 = sqlx::query_scalar("SELECT v FROM t")
            .fetch_one(&mut *reads.get().await)
            .await
            .unwrap();
        assert_eq!(seen, 7);

        let write = sqlx::query("INSERT INTO t (v) VALUES (8)")
            .execute(&mut *reads.get().await)
            .await;
        assert!(write.is_err(), "a read connection accepted a write");
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 1);
    }

    #[tokio::test]
    async fn every_connection_is_used_and_a_busy_set_waits_its_turn() {
        let (_dir, _pool, reads) = open_two().await;

        let first = reads.get().await;
        let second = reads.get().await;
        // Both are held: a third caller waits until one is given back.
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), reads.get()).await;
        assert!(third.is_err(), "got a connection while all were held");
        drop(first);
        let third = tokio::time::timeout(std::time::Duration::from_secs(5), reads.get()).await;
        assert!(third.is_ok(), "a freed connection was not handed on");
        drop(second);
    }
}
