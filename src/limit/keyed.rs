use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use super::Rate;

/// A rate limit per key (client IP, user code, email address, or `()` for a global ceiling),
/// kept in process by governor: one atomic per key.
///
/// Keys whose allowance is full again are forgotten on a timer-free schedule (every few
/// thousand checks), so a scan of addresses or codes cannot grow memory without bound.
pub(crate) struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
    checks: Arc<std::sync::atomic::AtomicU32>,
}

impl<K: Hash + Eq + Clone> Clone for KeyedLimiter<K> {
    fn clone(&self) -> Self {
        Self {
            limiter: Arc::clone(&self.limiter),
            checks: Arc::clone(&self.checks),
        }
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter admitting `rate` per key.
    pub(crate) fn new(rate: Rate) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(rate.quota())),
            checks: Arc::default(),
        }
    }

    /// Spends one allowance of `key`, or says how long to wait.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        use std::sync::atomic::Ordering;
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_allowance() {
        let limiter = KeyedLimiter::<std::net::IpAddr>::new(Rate::per_hour(2));
        let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let b: std::net::IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_ok());
        let wait = limiter.check(&a).unwrap_err();
        assert!(
            wait > Duration::from_secs(1700) && wait <= Duration::from_secs(1800),
            "{wait:?}"
        );
        assert!(limiter.check(&b).is_ok());
    }
}
