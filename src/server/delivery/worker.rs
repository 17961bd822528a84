//! The background worker that empties the outbox, with retries and back-off.

use super::transport::Transport;
use crate::server::store::{self, outbox};
use lettre::message::Mailbox;
use sqlx::SqlitePool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Wakes the worker when a message was queued, so it goes out at once instead of at the
/// next poll.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }
}

/// After this many failed attempts (about a day of back-off) a message is left alone and
/// reported in the log; the row keeps its last error.
pub const MAX_ATTEMPTS: i64 = 25;
/// Messages are claimed one at a time, right before they are sent, so a worker that dies
/// holds back at most the one message it was sending.
const BATCH: i64 = 1;
/// Even with nothing due, look again this often: another process may have queued mail and
/// died before waking anyone, and its mail must still go out within seconds.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// How long a claimed message is this worker's alone: longer than one send can take (lettre's
/// SMTP timeout is a minute). A worker that dies mid-send leaves the message to another after
/// this.
const CLAIM_SECONDS: i64 = 2 * 60;

/// Seconds to wait after the `attempts`-th failure: 2, 4, 8, … capped at an hour.
pub fn backoff_seconds(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 12) as u32;
    (1i64 << exponent).min(3600)
}

pub fn spawn(db: SqlitePool, transport: Transport, from: Mailbox, wake: Wake) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&db, &transport, &from).await {
                tracing::error!("outbox: {e}");
            }
            let wait = match outbox::next_due_at(&db).await {
                Ok(Some(at)) => Duration::from_secs(
                    (at - store::unix_now()).clamp(0, IDLE_POLL.as_secs() as i64) as u64,
                ),
                _ => IDLE_POLL,
            };
            if wait.is_zero() {
                // Something is due right now (a retry whose time came while sending).
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = wake.0.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
}

async fn deliver_due(
    db: &SqlitePool,
    transport: &Transport,
    from: &Mailbox,
) -> Result<(), sqlx::Error> {
    loop {
        let batch = outbox::claim_due(db, store::unix_now(), CLAIM_SECONDS, BATCH).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for message in batch {
            match transport.send(from, &message).await {
                Ok(()) => {
                    outbox::mark_sent(db, message.id).await?;
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
