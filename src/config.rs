//! Policies with safe defaults, loadable with serde, validated when the [`Guichet`](crate::Guichet)
//! is built rather than on the first request.
//!
//! ```
//! let config: guichet::Config = toml::from_str(r#"
//!     prefix = "/auth"
//!     [sessions]
//!     idle_timeout = "20m"
//!     [sign_in]
//!     failures_per_code = "5/hour"
//! "#).unwrap();
//! assert_eq!(config.sessions.idle_timeout.as_secs(), 20 * 60);
//! ```

use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::identity::CasePolicy;
use crate::limit::Rate;

/// Everything guichet lets an application tune. `Config::default()` is the safe choice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the flows are mounted. Default `/auth`.
    pub prefix: String,
    /// Session cookie attributes.
    pub cookies: CookieConfig,
    /// Session lifetimes.
    pub sessions: SessionConfig,
    /// Password hashing and limits.
    pub passwords: PasswordConfig,
    /// How user codes compare.
    pub user_codes: UserCodeConfig,
    /// Sign-in throttling.
    pub sign_in: SignInConfig,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed. Empty (the
    /// default): the client IP is the TCP peer address.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            prefix: "/auth".into(),
            cookies: CookieConfig::default(),
            sessions: SessionConfig::default(),
            passwords: PasswordConfig::default(),
            user_codes: UserCodeConfig::default(),
            sign_in: SignInConfig::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Session cookie attributes. The cookie is always `HttpOnly`, `SameSite=Lax` and `Path=/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieConfig {
    /// `Secure` and the `__Host-guichet` name. Turn off only for plain-http local use, where the
    /// cookie is then named `guichet`.
    pub secure: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self { secure: true }
    }
}

impl CookieConfig {
    /// The cookie name: `__Host-guichet` when secure (browsers then refuse it from any
    /// sub-domain or over http), `guichet` otherwise.
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-guichet"
        } else {
            "guichet"
        }
    }
}

/// Session lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A session unused this long ends. Default 30 minutes.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not. Default 12 hours.
    #[serde(with = "humantime_serde")]
    pub absolute_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
        }
    }
}

impl SessionConfig {
    /// A session's last use is written back at most this often (a quarter of the idle timeout),
    /// so an authenticated request is normally a pure read.
    pub fn touch_after(&self) -> Duration {
        self.idle_timeout / 4
    }
}

/// Password hashing (argon2id) and limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Argon2 memory cost in KiB. Default 19456 (19 MiB, OWASP).
    pub memory_kib: u32,
    /// Argon2 passes. Default 2 (OWASP).
    pub iterations: u32,
    /// Argon2 lanes. Default 1 (OWASP).
    pub parallelism: u32,
    /// Longest accepted password in bytes, checked before any hashing. Default 1024.
    pub max_bytes: usize,
    /// Hashes computed at once. Default: one less than the cores (at least one), so the async
    /// runtime keeps a core on small machines.
    pub hashing_permits: Option<usize>,
    /// Sign-ins allowed to wait for a hashing permit, per permit; beyond that the answer is `503`
    /// with `Retry-After` instead of a queue that grows without bound. Default 64.
    pub queue_per_permit: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_bytes: 1024,
            hashing_permits: None,
            queue_per_permit: 64,
        }
    }
}

impl PasswordConfig {
    /// The effective number of hashing permits.
    pub fn permits(&self) -> usize {
        self.hashing_permits.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            cores.saturating_sub(1).max(1)
        })
    }
}

/// How user codes are normalised.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserCodeConfig {
    /// Case-insensitive (default) or case-sensitive.
    pub case: CasePolicy,
}

/// Sign-in throttling. Unknown codes are throttled exactly like known ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignInConfig {
    /// Failed sign-ins allowed per user code, as a burst that refills at this rate. A success
    /// clears the count. Default `10/hour` (NIST allows at most 100 consecutive failures).
    pub failures_per_code: Rate,
    /// Sign-in attempts allowed per client IP. Default `100/minute` (offices share one address).
    pub attempts_per_ip: Rate,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self {
            failures_per_code: Rate::per_hour(10),
            attempts_per_ip: Rate::per_minute(100),
        }
    }
}

impl Config {
    /// Refuses inconsistent or unsafe values. [`Guichet::build`](crate::GuichetBuilder::build)
    /// calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.prefix;
        if !p.starts_with('/') || p.ends_with('/') || p.len() < 2 || p.contains(['?', '#', ' ']) {
            return Err(ConfigError::invalid(
                "prefix",
                "must start with `/`, not end with `/`, and be a plain path",
            ));
        }
        let s = &self.sessions;
        if s.idle_timeout < Duration::from_secs(60) {
            return Err(ConfigError::invalid(
                "sessions.idle_timeout",
                "at least 1 minute",
            ));
        }
        if s.absolute_timeout < s.idle_timeout {
            return Err(ConfigError::invalid(
                "sessions.absolute_timeout",
                "must not be shorter than the idle timeout",
            ));
        }
        let pw = &self.passwords;
        argon2::Params::new(pw.memory_kib, pw.iterations, pw.parallelism, None)
            .map_err(|e| ConfigError::invalid("passwords", e.to_string()))?;
        if !(64..=4096).contains(&pw.max_bytes) {
            return Err(ConfigError::invalid(
                "passwords.max_bytes",
                "between 64 and 4096",
            ));
        }
        if pw.hashing_permits == Some(0) {
            return Err(ConfigError::invalid(
                "passwords.hashing_permits",
                "at least 1",
            ));
        }
        if pw.queue_per_permit == 0 {
            return Err(ConfigError::invalid(
                "passwords.queue_per_permit",
                "at least 1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_owasp() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(
            (
                c.passwords.memory_kib,
                c.passwords.iterations,
                c.passwords.parallelism
            ),
            (19456, 2, 1)
        );
    }

    #[test]
    fn unsafe_values_are_refused_at_build_time() {
        let mut c = Config::default();
        c.sessions.absolute_timeout = Duration::from_secs(60);
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.prefix = "auth/".into();
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.passwords.memory_kib = 1;
        assert!(c.validate().is_err());
    }

    #[test]
    fn unknown_keys_are_errors_not_silently_ignored() {
        assert!(toml::from_str::<Config>("prefx = \"/a\"").is_err());
    }
}
