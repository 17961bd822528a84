//! Per-client-address limits (SPEC §7): logins, registrations and message sends from one address,
//! counted in memory with governor's GCRA limiter. They bound what one host can make the server
//! do (argon2 work, mail, database rows); per-account and per-destination limits, which must
//! survive restarts and be the same on every path, live in the database instead.

use crate::server::services::ServiceError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

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

/// Allowance per address; `0` switches a limit off (for benchmarks and trusted networks).
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub logins_per_minute: u32,
    pub registrations_per_hour: u32,
    pub sends_per_hour: u32,
    pub passcode_checks_per_hour: u32,
}

pub struct ClientLimits {
    login: Option<DefaultKeyedRateLimiter<IpAddr>>,
    register: Option<DefaultKeyedRateLimiter<IpAddr>>,
    send: Option<DefaultKeyedRateLimiter<IpAddr>>,
    passcode_check: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
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
    pub fn new(allowance: Allowance) -> Self {
        // The whole allowance may be used in a burst; it then refills evenly over the period.
        let limiter = |n: u32, quota: fn(NonZeroU32) -> Quota| {
            NonZeroU32::new(n).map(|n| RateLimiter::keyed(quota(n)))
        };
        ClientLimits {
            login: limiter(allowance.logins_per_minute, Quota::per_minute),
            register: limiter(allowance.registrations_per_hour, Quota::per_hour),
            send: limiter(allowance.sends_per_hour, Quota::per_hour),
            passcode_check: limiter(allowance.passcode_checks_per_hour, Quota::per_hour),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one unit of `action` for `addr`, or says how long to wait. Requests without a
    /// known address (the command line, in-process callers) are not limited here.
    pub fn admit(&self, action: Action, addr: Option<IpAddr>) -> Result<(), ServiceError> {
        let limiter = match action {
            Action::Login => &self.login,
            Action::Register => &self.register,
            Action::Send => &self.send,
            Action::PasscodeCheck => &self.passcode_check,
        };
        let (Some(limiter), Some(addr)) = (limiter, addr) else {
            return Ok(());
        };
        limiter.check_key(&client_key(addr)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ServiceError::RateLimited {
                retry_after: wait.as_secs_f64().ceil().max(1.0) as i64,
            }
        })
    }

    /// Drops addresses whose allowance is full again, so memory follows recent clients only.
    pub fn forget_idle(&self) {
        for limiter in [
            &self.login,
            &self.register,
            &self.send,
            &self.passcode_check,
        ]
        .into_iter()
        .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(n: u32) -> ClientLimits {
        ClientLimits::new(Allowance {
            logins_per_minute: n,
            registrations_per_hour: n,
            sends_per_hour: n,
            passcode_checks_per_hour: n,
        })
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let limits = limits(2);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        limits.admit(Action::Send, Some(one)).unwrap();
        limits.admit(Action::Send, Some(same_64)).unwrap();
        assert!(limits.admit(Action::Send, Some(same_64)).is_err());
        assert!(limits.admit(Action::Send, Some(one)).is_err());
        limits.admit(Action::Send, Some(other_64)).unwrap();
        // An IPv4 client seen through an IPv6 socket is the IPv4 address.
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_address_gets_its_allowance_then_a_wait() {
        let limits = limits(3);
        let addr = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            limits.admit(Action::Login, addr).unwrap();
        }
        match limits.admit(Action::Login, addr) {
            Err(ServiceError::RateLimited { retry_after }) => {
                assert!((1..=20).contains(&retry_after), "{retry_after}")
            }
            other => panic!("expected a wait, got {other:?}"),
        }
        // Another address and another action are counted apart.
        limits
            .admit(Action::Login, Some("192.0.2.2".parse().unwrap()))
            .unwrap();
        limits.admit(Action::Register, addr).unwrap();
    }

    #[test]
    fn zero_switches_a_limit_off_and_unknown_addresses_pass() {
        let off = limits(0);
        let addr = Some("192.0.2.1".parse().unwrap());
        for _ in 0..1000 {
            off.admit(Action::Send, addr).unwrap();
        }
        let on = limits(1);
        for _ in 0..10 {
            on.admit(Action::Send, None).unwrap();
        }
    }
}
