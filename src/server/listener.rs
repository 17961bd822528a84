//! The accept loop. `axum::serve` holds a half-sent request forever,
//! so a thousand slow clients could take every connection the process may open. Here:
//! - a client has `header_timeout` to send a request's headers (and an idle keep-alive
//!   connection is closed after as long);
//! - one client address (an IPv6 client by its /64) holds at most `per_address` connections
//!   at once; a connection over the cap is closed at once;
//! - the whole request, body included, is bounded by the edge middleware's time limit
//!   (`http::edge`, 408).

use crate::server::services::client_limits::client_key;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    /// `0`: no cap.
    pub per_address: u32,
}

/// How long requests in flight may take to finish after a shutdown signal.
const DRAIN_SECONDS: u64 = 30;

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (up to [`DRAIN_SECONDS`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    http.http2().timer(TokioTimer::new());
    let open = OpenConnections::default();
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close rather than
                    // spin on the error.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = open.take(client_key(peer.ip()), limits.per_address) else {
            tracing::debug!(client = %peer.ip(), "connection refused: too many from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = http
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out ends its connection with an error; that
            // is its business, not the log's.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(Duration::from_secs(DRAIN_SECONDS)) => {
            tracing::warn!("requests still in flight after {DRAIN_SECONDS} s; stopping anyway");
        }
    }
}

/// Open connections per client key.
#[derive(Default, Clone)]
struct OpenConnections(Arc<Mutex<HashMap<IpAddr, u32>>>);

/// One open connection; counted until it drops.
struct Slot {
    open: OpenConnections,
    key: IpAddr,
}

impl OpenConnections {
    fn take(&self, key: IpAddr, cap: u32) -> Option<Slot> {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(key).or_insert(0);
        if cap != 0 && *count >= cap {
            return None;
        }
        *count += 1;
        Some(Slot {
            open: self.clone(),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .open
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            // Forget idle addresses, so the map follows the clients connected now.
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Raises this process's soft limit on open files to its hard limit: the default soft limit
/// (often 1024) is reached long before the machine runs out of anything else.
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_cap_and_a_closed_connection_frees_its_slot() {
        let open = OpenConnections::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = open.take(a, 2).unwrap();
        let _second = open.take(a, 2).unwrap();
        assert!(open.take(a, 2).is_none());
        let _other = open.take(b, 2).unwrap();
        drop(first);
        assert!(open.take(a, 2).is_some());
        // 0 means no cap.
        let slots: Vec<_> = (0..100).map(|_| open.take(b, 0).unwrap()).collect();
        drop(slots);
        assert_eq!(open.0.lock().unwrap().get(&b), Some(&1));
    }
}
