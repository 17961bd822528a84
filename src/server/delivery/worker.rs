//! The background worker that empties the outbox, with retries and back-off.

use super::transport::Transport;
use crate::server::store::{self, outbox, Backend, Db};
use lettre::message::Mailbox;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Wakes the worker when a message was queued, so it goes out at once instead of at the
/// next poll. On PostgreSQL it also tells every other node's worker (`NOTIFY`): whichever is
/// idle picks the message up. Engines without `LISTEN`/`NOTIFY` simply leave it to the poll.
#[derive(Clone)]
pub struct Wake {
    local: Arc<Notify>,
    db: Db,
}

impl Wake {
    pub fn new(db: Db) -> Self {
        Wake {
            local: Arc::default(),
            db,
        }
    }

    /// Call after the transaction that queued a message has committed.
    pub fn now(&self) {
        self.local.notify_one();
        if self.db.backend() == Backend::Postgres {
            let db = self.db.clone();
            tokio::spawn(async move {
                if let Err(e) = outbox::announce(&db).await {
                    tracing::debug!("outbox: no NOTIFY ({e}); other nodes poll");
                }
            });
        }
    }
}

/// After this many failed attempts (about a day of back-off) a message is left alone and
/// reported in the log; the row keeps its last error.
pub const MAX_ATTEMPTS: i64 = 25;
/// Messages are claimed one at a time, right before they are sent, so a worker that dies
/// holds back at most the one message it was sending.
const BATCH: i64 = 1;

/// Seconds to wait after the `attempts`-th failure: 2, 4, 8, … capped at an hour.
pub fn backoff_seconds(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 12) as u32;
    (1i64 << exponent).min(3600)
}

/// How the worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How long a claimed message is this worker's alone: longer than one send can take
    /// (lettre's SMTP timeout is a minute by default). A worker that dies mid-send leaves the
    /// message to another after this.
    pub claim_seconds: i64,
    /// With nothing due, look again this often: another process may have queued mail and died
    /// before waking anyone, and its mail must still go out.
    pub idle_poll: Duration,
}

/// Starts the worker.
pub fn spawn(db: Db, transport: Transport, from: Mailbox, wake: Wake, pace: Pace) {
    let Pace {
        claim_seconds,
        idle_poll,
    } = pace;
    if db.backend() == Backend::Postgres {
        let local = wake.local.clone();
        let listening = db.clone();
        tokio::spawn(async move {
            // Listening is a nicety over the poll: when it fails, try again now and then.
            loop {
                let woken = || local.notify_one();
                if let Err(e) = outbox::listen(&listening, woken).await {
                    tracing::debug!("outbox: not listening for other nodes' mail ({e})");
                }
                tokio::time::sleep(idle_poll.max(Duration::from_secs(5)) * 12).await;
            }
        });
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&db, &transport, &from, claim_seconds).await {
                tracing::error!("outbox: {e}");
            }
            let wait = match outbox::next_due_at(&db).await {
                Ok(Some(at)) => Duration::from_secs(
                    (at - store::unix_now()).clamp(0, idle_poll.as_secs() as i64) as u64,
                ),
                _ => idle_poll,
            };
            if wait.is_zero() {
                // Something is due right now (a retry whose time came while sending).
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = wake.local.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
}

async fn deliver_due(
    db: &Db,
    transport: &Transport,
    from: &Mailbox,
    claim_seconds: i64,
) -> Result<(), sqlx::Error> {
    loop {
        let batch = outbox::claim_due(db, store::unix_now(), claim_seconds, BATCH).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for message in batch {
            match transport.send(from, &message).await {
                Ok(()) => {
                    mark_sent(db, message.id, claim_seconds).await?;
                    tracing::info!(message = message.id, channel = %message.channel, "delivered");
                }
                Err(error) => {
                    let attempts = message.attempts + 1;
                    let retry_at = if attempts >= MAX_ATTEMPTS {
                        tracing::error!(message = message.id, %error, "giving up on a message");
                        i64::MAX
                    } else {
                        tracing::warn!(message = message.id, attempts, %error, "delivery failed; will retry");
                        store::unix_now() + backoff_seconds(attempts)
                    };
                    outbox::mark_failed(db, message.id, retry_at, &error).await?;
                }
            }
        }
    }
}

/// Records a delivery, trying again while the database is away (a failover): the message is
/// this worker's for `claim_seconds`, and a record that never lands would let another worker
/// send it a second time once the claim runs out. Half the claim is spent trying at most.
async fn mark_sent(db: &Db, id: i64, claim_seconds: i64) -> Result<(), sqlx::Error> {
    let until = std::time::Instant::now() + Duration::from_secs((claim_seconds / 2).max(1) as u64);
    let mut attempt = 0;
    loop {
        match outbox::mark_sent(db, id).await {
            Ok(()) => return Ok(()),
            Err(e) if std::time::Instant::now() < until => {
                tracing::warn!(message = id, error = %e, "recording a delivery failed; trying again");
                store::back_off(attempt.min(7) + 2).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_seconds;

    #[test]
    fn backoff_doubles_and_is_capped_at_an_hour() {
        assert_eq!(backoff_seconds(1), 2);
        assert_eq!(backoff_seconds(2), 4);
        assert_eq!(backoff_seconds(5), 32);
        assert_eq!(backoff_seconds(12), 3600);
        assert_eq!(backoff_seconds(40), 3600);
    }
}
