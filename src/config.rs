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
use crate::limit::{Limit, ProxyHeader, Rate};
use crate::pages::{Brand, Clock, Language};

/// The longest a temporary password may last, emailed or read out on the phone.
pub(crate) const MAX_TEMPORARY_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Everything guichet lets an application tune. `Config::default()` is the safe choice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
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
    /// The header those proxies write the client's address in (`x-forwarded-for`, the
    /// default, or `forwarded`); the other one is never read.
    pub trusted_proxy_header: ProxyHeader,
    /// "Email me my password": temporary passwords and their limits.
    pub credential_requests: CredentialRequestConfig,
    /// Shared-inbox detection and policy.
    pub shared_inbox: SharedInboxConfig,
    /// Outgoing mail: addresses, links, customer service.
    pub mail: MailConfig,
    /// The built-in pages.
    pub pages: PagesConfig,
    /// Accounts that customer service creates.
    pub accounts: AccountsConfig,
    /// Forward auth: the origins `next` may point to besides the portal's own.
    pub forward_auth: ForwardAuthConfig,
    /// The limits of `guichet::server` (feature `server`: `guichet serve`, the portal example).
    pub server: ServerConfig,
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
            trusted_proxy_header: ProxyHeader::default(),
            credential_requests: CredentialRequestConfig::default(),
            shared_inbox: SharedInboxConfig::default(),
            mail: MailConfig::default(),
            pages: PagesConfig::default(),
            accounts: AccountsConfig::default(),
            forward_auth: ForwardAuthConfig::default(),
            server: ServerConfig::default(),
        }
    }
}

/// The limits of a server facing the internet: slow or idle clients cannot hold connections
/// open for long, and their number is capped. Read by `guichet::server` (feature `server`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// A client has this long to send a request's headers, counted from the connection's
    /// opening or the end of the previous response. Default 10 seconds.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A connection on which nothing is read or written for this long is closed (an idle
    /// keep-alive connection, a body that stopped coming). Default 60 seconds.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Open connections at most; beyond, new ones wait in the kernel's accept queue.
    /// Default 10 000.
    pub max_connections: usize,
    /// At shutdown, requests under way get this long to finish. Default 30 seconds.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Accounts that customer service creates (`guichet accounts add`, approved requests).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AccountsConfig {
    /// How new user codes are made: `{CLIENT}` is the client's identifier in capitals, and a
    /// run of `N` the number, zero-padded to that many digits; the next free number of the
    /// client is taken. Default `{CLIENT}-{NNN}` (`ACME-004` after `ACME-003`).
    pub code_pattern: String,
    /// Requests for user codes a contact person may send (`/auth/team`). Default `10/day`.
    pub requests_per_contact: Rate,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            code_pattern: "{CLIENT}-{NNN}".into(),
            requests_per_contact: Rate::per_day(10),
        }
    }
}

/// The built-in pages.
///
/// ```
/// let config: guichet::Config = toml::from_str(r##"
///     [pages]
///     time_zone = "America/Toronto"
///     [pages.brand]
///     name = "Groupecho"
///     logo = "https://cdn.groupecho.example/logo.svg"
///     accent = "#1b5e20"
/// "##).unwrap();
/// assert_eq!(config.pages.brand.name.as_deref(), Some("Groupecho"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PagesConfig {
    /// The language of pages and letters when the person chose none with the pages' switch
    /// and the browser states none of ours in `Accept-Language`. Default `fr`, the portal's
    /// language.
    pub default_language: Language,
    /// The time zone dates and times are written in (the temporary password's expiry in
    /// letters): an IANA name (`America/Toronto`), checked at build time. Default `UTC`.
    pub time_zone: String,
    /// The product's name, logo and colour on the pages.
    pub brand: BrandConfig,
}

impl Default for PagesConfig {
    fn default() -> Self {
        Self {
            default_language: Language::default(),
            time_zone: "UTC".into(),
            brand: BrandConfig::default(),
        }
    }
}

/// A portal's look on the built-in pages, without code. Every field is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BrandConfig {
    /// The product's name, in the pages' titles and header. Default: "Portail clients" in
    /// French, "Customer portal" in English.
    pub name: Option<String>,
    /// The URL of a logo shown in the header (its text alternative is the name): a path on
    /// this site, or an `https://` URL, whose origin the pages' CSP then allows for images.
    pub logo: Option<String>,
    /// The buttons' colour, `#rrggbb`, in both the light and the dark scheme. Refused unless
    /// the button text stays readable on it (WCAG AA, 4.5:1).
    pub accent: Option<String>,
    /// The URL of a stylesheet linked after guichet's: a path on this site, or an `https://`
    /// URL, whose origin the pages' CSP then allows for styles.
    pub stylesheet: Option<String>,
}

/// Session cookie attributes. The cookie is always `HttpOnly`, `SameSite=Lax` and `Path=/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CookieConfig {
    /// `Secure` and the `__Host-` / `__Secure-` name prefixes. Turn off only for plain-http
    /// local use, where the cookie is then named `guichet`.
    pub secure: bool,
    /// A parent domain the cookie is sent to (e.g. `example.com` for a portal at
    /// `portal.example.com` and applications at `app.example.com`), for forward auth across
    /// sub-domains. Unset (the default): the cookie stays on the portal's own host, named
    /// `__Host-guichet`, which browsers refuse to let any other host set or read.
    ///
    /// Setting it trusts **every host under that domain**: each one receives the session
    /// cookie with every request, and any of them (or anyone who takes one over) can read it
    /// from its own logs or set a cookie of the same name for the whole domain. Use it only
    /// when all those hosts are yours and kept with the same care. The cookie is then named
    /// `__Secure-guichet` (`__Host-` forbids a domain) and the portal's host
    /// (`mail.base_url`) must be inside the domain.
    pub domain: Option<String>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            secure: true,
            domain: None,
        }
    }
}

impl CookieConfig {
    /// The cookie name: `__Host-guichet` when secure and host-only, `__Secure-guichet` when
    /// secure for a parent [`domain`](Self::domain), `guichet` over plain http.
    pub fn name(&self) -> &'static str {
        match (self.secure, &self.domain) {
            (false, _) => "guichet",
            (true, None) => "__Host-guichet",
            (true, Some(_)) => "__Secure-guichet",
        }
    }
}

/// Forward auth (`{prefix}/verify`, for reverse proxies): where it may send people back to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ForwardAuthConfig {
    /// Other origins (`https://app.example`: scheme, host and port exactly, no path) that
    /// `next` may point to after signing in: the applications behind the reverse proxy when
    /// they live on other hosts than the portal. Empty (the default): `next` is a path on the
    /// portal's own site only, so the sign-in page is never an open redirect.
    pub redirect_origins: Vec<String>,
}

/// Session lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct PasswordConfig {
    /// Argon2 memory cost in KiB. Default 19456 (19 MiB, OWASP).
    pub memory_kib: u32,
    /// Argon2 passes. Default 2 (OWASP).
    pub iterations: u32,
    /// Argon2 lanes. Default 1 (OWASP).
    pub parallelism: u32,
    /// Longest accepted password in bytes, checked before any hashing. Default 1024.
    pub max_bytes: usize,
    /// Dedicated hashing threads, so hashes computed at once. Default: one less than the cores
    /// (at least one), so the async runtime keeps a core on small machines.
    pub hashing_threads: Option<usize>,
    /// Sign-ins allowed to wait for a hashing thread, per thread; beyond that the answer is
    /// `503` with `Retry-After` instead of a queue that grows without bound. Default 64.
    pub queue_per_thread: usize,
    /// Whether people may change their password online (`/auth/password/change`). Off by
    /// default, as the portal's FAQ says ("for security reasons"): passwords are then changed
    /// by asking for a temporary one by email, or through customer service.
    pub online_change: bool,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_bytes: 1024,
            hashing_threads: None,
            queue_per_thread: 64,
            online_change: false,
        }
    }
}

impl PasswordConfig {
    /// The effective number of hashing threads.
    pub fn threads(&self) -> usize {
        self.hashing_threads.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            cores.saturating_sub(1).max(1)
        })
    }
}

/// How user codes are normalised.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct UserCodeConfig {
    /// Case-insensitive (default) or case-sensitive.
    pub case: CasePolicy,
}

/// Sign-in throttling. Unknown codes are throttled exactly like known ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SignInConfig {
    /// Sign-in attempts allowed per user code, as a burst that refills at this rate. Each
    /// attempt is counted before the password is checked, and a success clears the count, so
    /// this counts failures. Default `10/hour` (NIST allows at most 100 consecutive failures).
    pub failures_per_code: Rate,
    /// Sign-in attempts allowed per client IP. Default `100/minute` (offices share one address).
    pub attempts_per_ip: Rate,
    /// Sign-in attempts with something shaped like a temporary password, per user code. They
    /// have their own allowance, so that someone throttled can still sign in with the temporary
    /// password they asked for by email; guesses of that shape are hopeless (99 random bits),
    /// but are bounded too. Default `10/hour`.
    pub temporary_attempts_per_code: Rate,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self {
            failures_per_code: Rate::per_hour(10),
            attempts_per_ip: Rate::per_minute(100),
            temporary_attempts_per_code: Rate::per_hour(10),
        }
    }
}

/// "Email me my password". Every limit applies to unknown user codes exactly as to known ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CredentialRequestConfig {
    /// How long a temporary password works. Default 1 hour; at most 24 hours.
    #[serde(with = "humantime_serde")]
    pub validity: Duration,
    /// Requests per user code. Default `3/hour`.
    pub per_user_code: Rate,
    /// Emails per normalised address. Default `5/hour`. Over it, the request is answered as
    /// usual but nothing is sent (a `429` here would tell which codes share an address).
    pub per_email: Rate,
    /// Requests per client IP. Default `100/hour` (offices share one address).
    pub per_ip: Rate,
    /// Requests in all, protecting the SMTP relay. Default `600/hour`.
    pub global: Rate,
}

impl Default for CredentialRequestConfig {
    fn default() -> Self {
        Self {
            validity: Duration::from_secs(3600),
            per_user_code: Rate::per_hour(3),
            per_email: Rate::per_hour(5),
            per_ip: Rate::per_hour(100),
            global: Rate::per_hour(600),
        }
    }
}

/// What to do when a temporary password would go to a shared inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SharedInboxPolicy {
    /// Send a notice without any credential, telling the person to call customer service. Default.
    #[default]
    Notice,
    /// Send nothing.
    Withhold,
}

/// Shared-inbox detection: an operator flag, an address used by two or more accounts, or a
/// role address (the local part, before any `+tag`, is in `role_addresses`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SharedInboxConfig {
    /// Notice (default) or withhold.
    pub policy: SharedInboxPolicy,
    /// Local parts read by a team rather than a person (RFC 2142 names and French ones).
    pub role_addresses: Vec<String>,
}

impl Default for SharedInboxConfig {
    fn default() -> Self {
        let roles = [
            "info",
            "information",
            "admin",
            "administrator",
            "administration",
            "contact",
            "support",
            "help",
            "aide",
            "sales",
            "ventes",
            "vente",
            "marketing",
            "compta",
            "comptabilite",
            "comptabilité",
            "accounting",
            "accounts",
            "billing",
            "facturation",
            "factures",
            "finance",
            "reception",
            "réception",
            "accueil",
            "bureau",
            "office",
            "direction",
            "secretariat",
            "secrétariat",
            "rh",
            "hr",
            "jobs",
            "emplois",
            "service",
            "serviceclient",
            "service-client",
            "clients",
            "commandes",
            "orders",
            "equipe",
            "équipe",
            "team",
            "all",
            "tous",
            "noreply",
            "no-reply",
            "postmaster",
            "hostmaster",
            "webmaster",
            "abuse",
            "security",
            "securite",
            "sécurité",
            "noc",
        ];
        Self {
            policy: SharedInboxPolicy::Notice,
            role_addresses: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}

/// Outgoing mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MailConfig {
    /// The portal's public address, e.g. `https://portal.example`. Links in emails are built
    /// from it, never from a request's `Host` header. Required.
    pub base_url: String,
    /// `From`, e.g. `Service à la clientèle <no-reply@portal.example>`. Required.
    pub from: String,
    /// `Reply-To`, if replies should go elsewhere.
    pub reply_to: Option<String>,
    /// Customer service telephone number, quoted in shared-inbox notices and on the pages.
    /// Required: it reaches real customers, so there is no placeholder.
    pub customer_service_phone: String,
    /// Customer service hours, quoted with the telephone number. Required.
    pub customer_service_hours: String,
    /// Customer service's own address: contact persons' requests for user codes are mailed
    /// there (they are also listed for operators either way).
    pub customer_service_email: Option<String>,
    /// Attempts for a transient delivery failure before the email is given up (with an error
    /// log). Default 12, with exponential backoff from 1 s up to 5 minutes between attempts.
    pub max_attempts: u32,
    /// Emails waiting for delivery at most; beyond it a request is answered but not sent, and
    /// an error is logged. Default 10 000.
    pub queue_capacity: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            from: String::new(),
            reply_to: None,
            customer_service_phone: String::new(),
            customer_service_hours: String::new(),
            customer_service_email: None,
            max_attempts: 12,
            queue_capacity: 10_000,
        }
    }
}

impl Config {
    /// The configured rate of a limit.
    pub fn rate(&self, limit: Limit) -> Rate {
        let (sign_in, requests) = (&self.sign_in, &self.credential_requests);
        match limit {
            Limit::SignInPerIp => sign_in.attempts_per_ip,
            Limit::SignInPerUserCode => sign_in.failures_per_code,
            Limit::TemporaryPasswordPerUserCode => sign_in.temporary_attempts_per_code,
            Limit::RequestPerIp | Limit::CancelPerIp => requests.per_ip,
            Limit::RequestPerUserCode => requests.per_user_code,
            Limit::RequestPerEmail => requests.per_email,
            Limit::RequestGlobal => requests.global,
            Limit::CodeRequestPerContact => self.accounts.requests_per_contact,
        }
    }

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
        if pw.hashing_threads.is_some_and(|n| !(1..=256).contains(&n)) {
            return Err(ConfigError::invalid(
                "passwords.hashing_threads",
                "between 1 and 256 (each holds one argon2 memory block)",
            ));
        }
        if !(1..=10_000).contains(&pw.queue_per_thread) {
            return Err(ConfigError::invalid(
                "passwords.queue_per_thread",
                "between 1 and 10000",
            ));
        }
        let validity = self.credential_requests.validity;
        if validity < Duration::from_secs(60) || validity > MAX_TEMPORARY_VALIDITY {
            return Err(ConfigError::invalid(
                "credential_requests.validity",
                "between 1 minute and 24 hours",
            ));
        }
        let origin_only = self
            .mail
            .base_url
            .parse::<http::Uri>()
            .ok()
            .filter(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some())
            .filter(|u| u.path_and_query().is_none_or(|p| p.as_str() == "/"));
        if origin_only.is_none() {
            return Err(ConfigError::invalid(
                "mail.base_url",
                "required: the portal's public origin, e.g. `https://portal.example` \
                 (links in emails are built from it, never from the Host header)",
            ));
        }
        for (field, value) in [
            ("mail.from", &self.mail.from),
            (
                "mail.customer_service_phone",
                &self.mail.customer_service_phone,
            ),
            (
                "mail.customer_service_hours",
                &self.mail.customer_service_hours,
            ),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(
                    field,
                    "required: it is written in the letters customers receive",
                ));
            }
        }
        let addresses = [
            ("mail.from", Some(&self.mail.from)),
            ("mail.reply_to", self.mail.reply_to.as_ref()),
            (
                "mail.customer_service_email",
                self.mail.customer_service_email.as_ref(),
            ),
        ];
        for (field, address) in addresses {
            if let Some(address) = address {
                address
                    .parse::<lettre::message::Mailbox>()
                    .map_err(|e| ConfigError::invalid(field, e.to_string()))?;
            }
        }
        let pattern = &self.accounts.code_pattern;
        let digits = pattern.find("{N").and_then(|start| {
            let end = pattern[start..].find('}')? + start;
            let run = &pattern[start + 1..end];
            (!run.is_empty() && run.chars().all(|c| c == 'N')).then_some(run.len())
        });
        if digits.is_none_or(|n| n > 12) || pattern.matches("{N").count() != 1 {
            return Err(ConfigError::invalid(
                "accounts.code_pattern",
                "needs one `{N...}` (one to twelve N), e.g. `{CLIENT}-{NNN}`",
            ));
        }
        if self.mail.max_attempts == 0 || self.mail.queue_capacity == 0 {
            return Err(ConfigError::invalid(
                "mail",
                "max_attempts and queue_capacity at least 1",
            ));
        }
        for origin in &self.forward_auth.redirect_origins {
            if !crate::origin::Origin::is_exact(origin) {
                return Err(ConfigError::invalid(
                    "forward_auth.redirect_origins",
                    format!("{origin:?} is not an origin: write `https://app.example` (scheme, host, optional port; no path)"),
                ));
            }
        }
        if let Some(domain) = &self.cookies.domain {
            let host = origin_only
                .as_ref()
                .and_then(|u| u.host())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let domain_ok = domain.contains('.')
                && !domain.starts_with(['.', '-'])
                && !domain.ends_with(['.', '-'])
                && !domain.contains("..")
                && domain.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                });
            if !domain_ok {
                return Err(ConfigError::invalid(
                    "cookies.domain",
                    "a parent domain in lower case, without a leading dot, e.g. `example.com`",
                ));
            }
            if !(host == *domain || host.ends_with(&format!(".{domain}"))) {
                return Err(ConfigError::invalid(
                    "cookies.domain",
                    format!("the portal's host ({host}, from mail.base_url) is not inside {domain}: browsers would refuse the cookie"),
                ));
            }
        }
        Brand::new(&self.pages.brand, "", &self.mail.base_url)?;
        Clock::new(&self.pages.time_zone)?;
        let server = &self.server;
        if server.header_read_timeout.is_zero()
            || server.idle_timeout.is_zero()
            || server.max_connections == 0
        {
            return Err(ConfigError::invalid(
                "server",
                "header_read_timeout, idle_timeout and max_connections above zero",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Config {
        let mut c = Config::default();
        c.mail.base_url = "https://portal.example".into();
        c.mail.from = "Portail <no-reply@portal.example>".into();
        c.mail.customer_service_phone = "1 800 555-0100".into();
        c.mail.customer_service_hours = "8 h à 17 h".into();
        c
    }

    #[test]
    fn defaults_are_valid_and_owasp() {
        let c = valid();
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
        let mut c = valid();
        c.sessions.absolute_timeout = Duration::from_secs(60);
        assert!(c.validate().is_err());
        let mut c = valid();
        c.prefix = "auth/".into();
        assert!(c.validate().is_err());
        let mut c = valid();
        c.passwords.memory_kib = 1;
        assert!(c.validate().is_err());
        // Found by the config fuzz target: the queue size overflowed in Hasher::new.
        let mut c = valid();
        c.passwords.hashing_threads = Some(4_611_686_018_427_387_904);
        c.passwords.queue_per_thread = 4;
        assert!(c.validate().is_err());
        let mut c = valid();
        c.credential_requests.validity = Duration::from_secs(25 * 3600);
        assert!(c.validate().is_err(), "{:?}", c.validate());
        for bad in [
            "",
            "portal.example",
            "ftp://portal.example",
            "https://portal.example/app?x",
        ] {
            let mut c = valid();
            c.mail.base_url = bad.into();
            assert!(c.validate().is_err(), "{bad}");
        }
        let mut c = valid();
        c.mail.from = "not an address".into();
        assert!(c.validate().is_err());
        for field in ["from", "phone", "hours"] {
            let mut c = valid();
            match field {
                "from" => c.mail.from.clear(),
                "phone" => c.mail.customer_service_phone.clear(),
                _ => c.mail.customer_service_hours = " ".into(),
            }
            let error = c.validate().unwrap_err().to_string();
            assert!(error.contains("required"), "{error}");
        }
    }

    #[test]
    fn the_pages_brand_and_time_zone_are_checked_with_the_rest() {
        let mut c = valid();
        c.pages.time_zone = "America/Toronto".into();
        c.pages.brand.accent = Some("#1b5e20".into());
        c.pages.brand.logo = Some("https://cdn.portal.example/logo.svg".into());
        c.validate().unwrap();
        let mut c = valid();
        c.pages.time_zone = "Mars/Olympus_Mons".into();
        let error = c.validate().unwrap_err().to_string();
        assert!(error.contains("pages.time_zone"), "{error}");
        let mut c = valid();
        c.pages.brand.accent = Some("#ffff00".into());
        let error = c.validate().unwrap_err().to_string();
        assert!(error.contains("pages.brand.accent"), "{error}");
        let mut c = valid();
        c.pages.brand.logo = Some("http://cdn.portal.example/logo.svg".into());
        let error = c.validate().unwrap_err().to_string();
        assert!(error.contains("pages.brand.logo"), "{error}");
    }

    #[test]
    fn unknown_keys_are_errors_not_silently_ignored() {
        assert!(toml::from_str::<Config>("prefx = \"/a\"").is_err());
    }
}
