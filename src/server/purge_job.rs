//! The background purge: every few minutes, delete what has expired ([`store::purge`]),
//! full client allowances included.

use crate::server::store::Db;
use crate::server::store::{self, purge};
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(10 * 60);

/// Purges every [`EVERY`], keeping audit events `audit_kept_seconds` long.
pub fn spawn(db: Db, audit_kept_seconds: i64) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            // The first tick is immediate: a restart cleans up what piled up while down.
            ticks.tick().await;
            match purge::expired(&db, store::unix_now(), audit_kept_seconds).await {
                Ok(purged) if purged.total() > 0 => tracing::info!(?purged, "purged expired rows"),
                Ok(_) => {}
                Err(e) => tracing::error!("purge: {e}"),
            }
            // Accounts whose deletion's grace is over are erased.
            match crate::server::services::account_life::erase_due(&db).await {
                Ok(0) => {}
                Ok(erased) => tracing::info!(erased, "erased accounts whose deletion was due"),
                Err(e) => tracing::error!("erasing accounts: {e}"),
            }
        }
    });
}
