//! The background purge: every few minutes, delete what has expired ([`store::purge`]),
//! full client allowances included, after telling apps of the sessions that ran out; then
//! erase the accounts whose deletion is due. `latchkey purge` runs the same pass at once.

use crate::server::services::{account_life, oidc, ServiceError};
use crate::server::store::Db;
use crate::server::store::{self, purge};
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(10 * 60);

/// What one pass did.
#[derive(Debug, Default)]
pub struct Pass {
    /// Sessions over whose apps were told (back-channel logout) as they were deleted.
    pub sessions_told: usize,
    pub purged: purge::Purged,
    pub erased: usize,
}

/// One pass at `now`: apps told of sessions that ran out, expired rows deleted (audit events
/// kept `audit_kept_seconds`), and the accounts whose deletion is due by `erase_by` erased.
pub async fn pass(
    db: &Db,
    now: i64,
    audit_kept_seconds: i64,
    erase_by: i64,
) -> Result<Pass, ServiceError> {
    // Before the purge deletes them: a deleted session can no longer name its apps. Should
    // telling fail, nothing is purged this pass (no session goes untold); erasing, which the
    // law asks for on time, waits on neither.
    let told = oidc::logout::sessions_over(db, now, 500).await;
    let purged = match told {
        Ok(_) => Some(purge::expired(db, now, audit_kept_seconds).await),
        Err(_) => None,
    };
    let erased = account_life::erase_due_by(db, erase_by).await;
    Ok(Pass {
        sessions_told: told?,
        purged: purged.transpose()?.unwrap_or_default(),
        erased: erased?,
    })
}

/// Runs a pass every [`EVERY`], keeping audit events `audit_kept_seconds` long.
pub fn spawn(db: Db, audit_kept_seconds: i64) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            // The first tick is immediate: a restart cleans up what piled up while down.
            ticks.tick().await;
            let now = store::unix_now();
            match pass(&db, now, audit_kept_seconds, now).await {
                Ok(done) if done.sessions_told + done.erased > 0 || done.purged.total() > 0 => {
                    tracing::info!(
                        purged = ?done.purged,
                        sessions_told = done.sessions_told,
                        erased = done.erased,
                        "purge pass"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!("purge: {e}"),
            }
        }
    });
}
