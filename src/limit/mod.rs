//! Rate limits: who may try again, and when.
//!
//! * [`Rate`]: how limits are spelt, so they read right (`Rate::per_hour(10)`: ten, refilled over
//!   an hour; never "one every n seconds" in disguise).
//! * [`gcra`]: the generic cell rate algorithm, written once, used by the stores that keep
//!   per-user-code failure counts (those must be clearable on success and shared between
//!   processes, which governor's in-process state is not).
//! * [`KeyedLimiter`]: allowances per key (client IP, user code, address, or one global key),
//!   in process, with governor.
//! * [`client_ip`]: which address is the client's, believing proxy headers only from trusted
//!   proxies.

mod client_ip;
pub mod gcra;
mod keyed;
mod rate;

/// The limits guichet applies; stores key their counters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Sign-in attempts per client IP.
    SignInPerIp,
    /// Sign-in attempts per user code with an ordinary password (the sign-in throttle; a
    /// success clears it).
    SignInPerUserCode,
    /// Sign-in attempts per user code with something shaped like a temporary password: their
    /// own allowance, so that a throttled person can still sign in with one received by email,
    /// and so that such guesses can neither stretch the throttle nor go unbounded.
    TemporaryPasswordPerUserCode,
    /// "This wasn't me" links followed per client IP.
    CancelPerIp,
    /// Credential requests per client IP.
    RequestPerIp,
    /// Credential requests per user code.
    RequestPerUserCode,
    /// Credential emails per normalised address.
    RequestPerEmail,
    /// Credential requests in all.
    RequestGlobal,
}

impl Limit {
    /// A short stable name, for store keys and logs.
    pub fn name(self) -> &'static str {
        match self {
            Limit::SignInPerIp => "sign-in-ip",
            Limit::SignInPerUserCode => "sign-in-code",
            Limit::TemporaryPasswordPerUserCode => "temporary-code",
            Limit::CancelPerIp => "cancel-ip",
            Limit::RequestPerIp => "request-ip",
            Limit::RequestPerUserCode => "request-code",
            Limit::RequestPerEmail => "request-email",
            Limit::RequestGlobal => "request-all",
        }
    }
}

pub use client_ip::{client_ip, limit_key, PeerAddr, ProxyHeader};
pub use keyed::KeyedLimiter;
pub use rate::{Rate, RateError};

use std::time::Duration;

/// `Retry-After` seconds: rounded up, never 0 (a client told "retry after 0" retries at once).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(360)), 360);
    }
}
