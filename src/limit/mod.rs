//! Rate limits: who may try again, and when.
//!
//! * [`Rate`]: how limits are spelt, so they read right (`Rate::per_hour(10)`: ten, refilled over
//!   an hour; never "one every n seconds" in disguise).
//! * [`Limit`]: the limits guichet applies, each with its configured rate
//!   ([`Config::rate`](crate::Config::rate)).
//! * The generic cell rate algorithm (GCRA), written once (`gcra.rs`) for the throttles that
//!   a success clears, and done by governor for the in-process rate limits; Redis and SQL
//!   stores run the same algorithm where the state lives.
//! * Which address is the client's (`client_ip.rs`): the TCP peer ([`PeerAddr`] for plain
//!   hyper), and proxy headers ([`ProxyHeader`]) only from trusted proxies. Per-address limits
//!   key IPv6 clients by their /64 network.

mod client_ip;
pub(crate) mod gcra;
mod keyed;
mod rate;

/// The limits guichet applies; stores key their counters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// Requests for user codes per contact person (`/auth/team`).
    CodeRequestPerContact,
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
            Limit::CodeRequestPerContact => "team-contact",
            Limit::RequestPerIp => "request-ip",
            Limit::RequestPerUserCode => "request-code",
            Limit::RequestPerEmail => "request-email",
            Limit::RequestGlobal => "request-all",
        }
    }
}

pub(crate) use client_ip::{client_ip, from_trusted_proxy, limit_key};
pub use client_ip::{PeerAddr, ProxyHeader};
pub(crate) use keyed::KeyedLimiter;
pub use rate::{Rate, RateError};

use std::time::Duration;

/// `Retry-After` seconds: rounded up, never 0 (a client told "retry after 0" retries at once).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
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
