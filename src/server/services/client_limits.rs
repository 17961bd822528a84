//! Per-client-address limits: logins (and password re-checks), registrations,
//! message sends and passcode checks from one address, counted in the database (GCRA, one
//! atomic upsert per check: `store::client_limits`), so every process on it shares one
//! allowance. They bound what one host can make the service do (argon2 work, mail, database
//! rows); per-account and per-destination limits live beside them in the database.

use crate::server::services::ServiceError;
use crate::server::store::Db;
use crate::server::store::{self, client_limits};
use std::net::IpAddr;

/// What a client address is spending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    Register,
    /// Anything that sends an e-mail or SMS: recovery codes, reminders, verification resends.
    Send,
    /// A passcode checked (reset step 2, phone confirmation).
    PasscodeCheck,
}

impl Action {
    fn key_prefix(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Register => "register",
            Action::Send => "send",
            Action::PasscodeCheck => "passcode",
        }
    }
}

/// Allowance per address; `0` switches a limit off (for benchmarks and trusted networks).
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub logins_per_minute: u32,
    pub registrations_per_hour: u32,
    pub sends_per_hour: u32,
    pub passcode_checks_per_hour: u32,
}

impl Allowance {
    /// How many units, over how many milliseconds, or `None` when off.
    fn of(&self, action: Action) -> Option<(i64, i64)> {
        let (count, period_ms) = match action {
            Action::Login => (self.logins_per_minute, 60_000),
            Action::Register => (self.registrations_per_hour, 3_600_000),
            Action::Send => (self.sends_per_hour, 3_600_000),
            Action::PasscodeCheck => (self.passcode_checks_per_hour, 3_600_000),
        };
        (count > 0).then_some((i64::from(count), period_ms))
    }
}

pub struct ClientLimits {
    allowance: Allowance,
    db: Db,
}

/// The key an address is counted under: an IPv4 address itself, an IPv6 address by its /64.
/// One IPv6 host is usually given a whole /64, so keying single addresses would hand it 2^64
/// allowances.
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

impl ClientLimits {
    pub fn new(allowance: Allowance, db: Db) -> Self {
        ClientLimits { allowance, db }
    }

    /// Spends one unit of `action` for `addr`, or says how long to wait. The whole allowance
    /// may be used in a burst; it then refills evenly over its period. Requests without a
    /// known address (the command line, in-process callers) are not limited here.
    pub async fn admit(&self, action: Action, addr: Option<IpAddr>) -> Result<(), ServiceError> {
        let (Some((count, period_ms)), Some(addr)) = (self.allowance.of(action), addr) else {
            return Ok(());
        };
        let key = format!("{}:{}", action.key_prefix(), client_key(addr));
        self.admit_key(&key, count, period_ms).await
    }

    /// Spends one unit of an allowance of `count` per `period_ms` kept under `key` (a limit
    /// on something other than an address, e.g. one session's refreshes), or says how long to
    /// wait.
    pub async fn admit_key(
        &self,
        key: &str,
        count: i64,
        period_ms: i64,
    ) -> Result<(), ServiceError> {
        let interval = period_ms / count;
        let now = store::unix_now_ms();
        if client_limits::spend(&self.db, key, now, interval, count)
            .await?
            .is_some()
        {
            return Ok(());
        }
        // Refused: the next unit is free once the arrival time is within the burst again.
        let tat = client_limits::arrival_time(&self.db, key)
            .await?
            .unwrap_or(now);
        let wait_ms = tat - (count - 1) * interval - now;
        Err(ServiceError::RateLimited {
            retry_after: ((wait_ms + 999) / 1000).max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn limits(n: u32) -> (tempfile::TempDir, ClientLimits) {
        let dir = tempfile::tempdir().unwrap();
        let db = store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let allowance = Allowance {
            logins_per_minute: n,
            registrations_per_hour: n,
            sends_per_hour: n,
            passcode_checks_per_hour: n,
        };
        (dir, ClientLimits::new(allowance, db))
    }

    #[tokio::test]
    async fn an_address_gets_its_allowance_then_a_wait() {
        let (_dir, limits) = limits(3).await;
        let addr = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            limits.admit(Action::Login, addr).await.unwrap();
        }
        match limits.admit(Action::Login, addr).await {
            Err(ServiceError::RateLimited { retry_after }) => {
                assert!((1..=20).contains(&retry_after), "{retry_after}")
            }
            other => panic!("expected a wait, got {other:?}"),
        }
        // Another address and another action are counted apart.
        let other = Some("192.0.2.2".parse().unwrap());
        limits.admit(Action::Login, other).await.unwrap();
        limits.admit(Action::Register, addr).await.unwrap();
    }

    #[tokio::test]
    async fn parallel_checks_never_overspend() {
        let (_dir, limits) = limits(5).await;
        let addr = Some("192.0.2.7".parse().unwrap());
        let checks = (0..20).map(|_| limits.admit(Action::Send, addr));
        let admitted = futures::future::join_all(checks)
            .await
            .into_iter()
            .filter(Result::is_ok)
            .count();
        assert_eq!(admitted, 5);
    }

    #[tokio::test]
    async fn zero_switches_a_limit_off_and_unknown_addresses_pass() {
        let (_dir, off) = limits(0).await;
        let addr = Some("192.0.2.1".parse().unwrap());
        for _ in 0..100 {
            off.admit(Action::Send, addr).await.unwrap();
        }
        let (_dir, on) = limits(1).await;
        for _ in 0..10 {
            on.admit(Action::Send, None).await.unwrap();
        }
    }

    #[tokio::test]
    async fn ipv6_clients_are_counted_by_their_64() {
        let (_dir, limits) = limits(2).await;
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        limits.admit(Action::Send, Some(one)).await.unwrap();
        limits.admit(Action::Send, Some(same_64)).await.unwrap();
        assert!(limits.admit(Action::Send, Some(same_64)).await.is_err());
        assert!(limits.admit(Action::Send, Some(one)).await.is_err());
        limits.admit(Action::Send, Some(other_64)).await.unwrap();
        // An IPv4 client seen through an IPv6 socket is the IPv4 address.
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.9".parse::<IpAddr>().unwrap());
    }
}
