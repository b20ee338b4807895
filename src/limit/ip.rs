use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use super::Rate;

/// Attempts per client IP, kept in process by governor (one atomic per address).
///
/// Addresses whose allowance is full again are forgotten on a timer-free schedule (every few
/// thousand checks), so an address scan cannot grow memory without bound.
#[derive(Clone)]
pub struct IpLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    checks: Arc<std::sync::atomic::AtomicU32>,
}

impl IpLimiter {
    /// A limiter admitting `rate` per address.
    pub fn new(rate: Rate) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(rate.quota())),
            checks: Arc::default(),
        }
    }

    /// Spends one attempt for `ip`, or says how long to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        use std::sync::atomic::Ordering;
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

impl std::fmt::Debug for IpLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpLimiter").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_allowance() {
        let limiter = IpLimiter::new(Rate::per_hour(2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(1700) && wait <= Duration::from_secs(1800),
            "{wait:?}"
        );
        assert!(limiter.check(b).is_ok());
    }
}
