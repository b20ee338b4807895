//! The [`Guichet`]: one configured desk shared by every layer, and its builder.

use std::sync::Arc;

use crate::audit::{Audit, AuditEvent};
use crate::config::Config;
use crate::error::{ConfigError, StoreError};
use crate::flows::origin::Origin;
use crate::flows::Flows;
use crate::guard::Deny;
use crate::identity::{UserCode, UserCodeError};
use crate::limit::Limit;
use crate::mail::postman::Postman;
use crate::mail::{Mailer, Outbox};
use crate::pages::{BuiltinPages, Pages};
use crate::password::Hasher;
use crate::session::SessionLayer;
use crate::store::memory::{
    MemoryCredentialStore, MemoryMailQueue, MemoryRateLimits, MemorySessionStore,
    MemoryThrottleStore,
};
use crate::store::{
    self, Change, CredentialStore, Directory, MailQueue, RateLimitStore, SessionStore,
    ThrottleStore,
};
use std::time::Duration;

/// Everything the layers share. Built once by [`GuichetBuilder::build`].
pub(crate) struct Desk {
    pub(crate) config: Config,
    /// The portal's public origin (`mail.base_url`), against which form posts are checked.
    pub(crate) origin: Origin,
    pub(crate) directory: Arc<dyn Directory>,
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) credentials: Arc<dyn CredentialStore>,
    pub(crate) throttle: Arc<dyn ThrottleStore>,
    pub(crate) hasher: Hasher,
    pub(crate) limits: Arc<dyn RateLimitStore>,
    pub(crate) pages: Arc<dyn Pages>,
    pub(crate) denials: Option<Arc<dyn Deny>>,
    pub(crate) audit: Audit,
    pub(crate) mail_queue: Arc<dyn MailQueue>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) postman: Postman,
}

impl Desk {
    /// Spends one allowance of `key` under `limit`, with the configured rate; `Err` is the wait.
    pub(crate) async fn limit(
        &self,
        limit: Limit,
        key: &str,
    ) -> Result<Result<(), Duration>, StoreError> {
        Ok(
            match self
                .limits
                .check(limit, key, self.config.rate(limit))
                .await?
            {
                Some(wait) => Err(wait),
                None => Ok(()),
            },
        )
    }

    /// Reserves one attempt of `key` under the throttle `limit`; `Err` is the wait.
    pub(crate) async fn reserve(
        &self,
        limit: Limit,
        key: &str,
    ) -> Result<Result<(), Duration>, StoreError> {
        let rate = self.config.rate(limit);
        Ok(match self.throttle.reserve(limit, key, rate).await? {
            Some(wait) => Err(wait),
            None => Ok(()),
        })
    }

    pub(crate) fn login_path(&self) -> String {
        format!("{}/login", self.config.prefix)
    }

    pub(crate) fn set_password_path(&self) -> String {
        format!("{}/password/set", self.config.prefix)
    }

    pub(crate) fn password_request_path(&self) -> String {
        format!("{}/password", self.config.prefix)
    }

    pub(crate) fn cancel_path(&self) -> String {
        format!("{}/password/cancel", self.config.prefix)
    }

    pub(crate) fn assets_path(&self) -> String {
        format!("{}/assets", self.config.prefix)
    }
}

/// A configured sign-in desk. Cheap to clone; make layers and flows from it.
///
/// ```
/// use guichet::{Guichet, store::memory::AccountsFile};
///
/// # fn main() -> Result<(), guichet::ConfigError> {
/// let guichet = Guichet::builder()
///     .base_url("https://portal.example")
///     .directory(AccountsFile::demo())
///     .build()?;
/// let _layer = guichet.session_layer(); // outermost, around everything
/// let _flows = guichet.flows();         // mounted at guichet.prefix()
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Guichet {
    desk: Arc<Desk>,
}

impl Guichet {
    /// Starts a builder with the safe defaults and the in-memory stores.
    pub fn builder() -> GuichetBuilder {
        GuichetBuilder::default()
    }

    /// The layer that gives every request its lazy [`Session`](crate::Session). Put it outermost.
    pub fn session_layer(&self) -> SessionLayer {
        SessionLayer::new(Arc::clone(&self.desk))
    }

    /// The built-in flows, to mount at [`prefix`](Self::prefix).
    pub fn flows(&self) -> Flows {
        Flows::new(Arc::clone(&self.desk))
    }

    /// Where the flows live (default `/auth`).
    pub fn prefix(&self) -> &str {
        &self.desk.config.prefix
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.desk.config
    }

    /// The password hasher (to provision hashes with the configured parameters).
    pub fn hasher(&self) -> &Hasher {
        &self.desk.hasher
    }

    /// Normalises a typed user code with the configured case policy.
    pub fn user_code(&self, typed: &str) -> Result<UserCode, UserCodeError> {
        UserCode::parse(typed, self.desk.config.user_codes.case)
    }

    /// Ends every session of the account at once ("sign out everywhere").
    pub async fn sign_out_everywhere(&self, code: &UserCode) -> Result<(), StoreError> {
        store::update(&*self.desk.credentials, code, |c| {
            Change::Save(c.move_epoch())
        })
        .await
        .map(drop)
    }

    /// Disables the account: its sessions end and sign-ins fail (with the usual answer).
    pub async fn disable(&self, code: &UserCode) -> Result<(), StoreError> {
        self.set_disabled(code, true).await
    }

    /// Stops accepting emails and waits, at most `deadline`, for the queued ones to be
    /// delivered (or given up). Call it when the server has stopped; returns whether it drained.
    pub async fn shutdown(&self, deadline: std::time::Duration) -> bool {
        let stopped = self.desk.postman.stop(deadline).await;
        stopped && self.desk.mail_queue.waiting().await.is_ok_and(|n| n == 0)
    }

    async fn set_disabled(&self, code: &UserCode, disabled: bool) -> Result<(), StoreError> {
        store::update(&*self.desk.credentials, code, |c| {
            if c.set_disabled(disabled) {
                Change::Save(())
            } else {
                Change::Keep(())
            }
        })
        .await
    }

    /// Re-enables an account disabled with [`disable`](Self::disable).
    pub async fn enable(&self, code: &UserCode) -> Result<(), StoreError> {
        self.set_disabled(code, false).await
    }
}

impl std::fmt::Debug for Guichet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guichet")
            .field("config", &self.desk.config)
            .finish_non_exhaustive()
    }
}

/// Assembles a [`Guichet`]. Only the directory is required; everything else has a default.
#[derive(Default)]
#[must_use]
pub struct GuichetBuilder {
    config: Config,
    base_url: Option<String>,
    directory: Option<Arc<dyn Directory>>,
    sessions: Option<Arc<dyn SessionStore>>,
    credentials: Option<Arc<dyn CredentialStore>>,
    throttle: Option<Arc<dyn ThrottleStore>>,
    pages: Option<Arc<dyn Pages>>,
    denials: Option<Arc<dyn Deny>>,
    mailer: Option<Arc<dyn Mailer>>,
    mail_queue: Option<Arc<dyn MailQueue>>,
    limits: Option<Arc<dyn RateLimitStore>>,
    audit: Audit,
}

impl GuichetBuilder {
    /// The policies (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The portal's public origin (e.g. `https://portal.example`), from which links in emails
    /// are built. Required, here or as `mail.base_url` in the [`Config`]; this one wins.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Where accounts come from. Required.
    pub fn directory(mut self, directory: impl Directory) -> Self {
        self.directory = Some(Arc::new(directory));
        self
    }

    /// Where sessions live (default: [`MemorySessionStore`]).
    pub fn session_store(mut self, store: impl SessionStore) -> Self {
        self.sessions = Some(Arc::new(store));
        self
    }

    /// Where run-time credential state lives (default: [`MemoryCredentialStore::new`], which
    /// forgets at exit; use [`MemoryCredentialStore::persistent`] or a shared store in production).
    pub fn credential_store(mut self, store: impl CredentialStore) -> Self {
        self.credentials = Some(Arc::new(store));
        self
    }

    /// Where sign-in failure counts live (default: [`MemoryThrottleStore`]).
    pub fn throttle_store(mut self, store: impl ThrottleStore) -> Self {
        self.throttle = Some(Arc::new(store));
        self
    }

    /// How emails leave (default: an [`Outbox`] folder `./outbox` of `.eml` files). With the
    /// `smtp` feature, [`SmtpMailer`](crate::mail::SmtpMailer) sends them over SMTP.
    pub fn mailer(mut self, mailer: impl Mailer) -> Self {
        self.mailer = Some(Arc::new(mailer));
        self
    }

    /// Where letters wait for delivery (default: [`MemoryMailQueue`]). A queue shared between
    /// processes lets one deliver what another accepted before crashing.
    pub fn mail_queue(mut self, queue: impl MailQueue) -> Self {
        self.mail_queue = Some(Arc::new(queue));
        self
    }

    /// Keeps every run-time state in Redis: sessions, credentials, throttles, rate limits and
    /// the mail queue, so that several processes behave as one. The directory stays yours.
    #[cfg(feature = "redis")]
    pub fn redis(self, store: crate::store::redis::RedisStore) -> Self {
        self.session_store(store.clone())
            .credential_store(store.clone())
            .throttle_store(store.clone())
            .rate_limits(store.clone())
            .mail_queue(store)
    }

    /// Where rate limits are counted (default: [`MemoryRateLimits`], in process).
    pub fn rate_limits(mut self, store: impl RateLimitStore) -> Self {
        self.limits = Some(Arc::new(store));
        self
    }

    /// Replaces the built-in pages.
    pub fn pages(mut self, pages: impl Pages) -> Self {
        self.pages = Some(Arc::new(pages));
        self
    }

    /// Chooses the guards' answers (see [`Deny`]).
    pub fn deny_with(mut self, deny: impl Deny) -> Self {
        self.denials = Some(Arc::new(deny));
        self
    }

    /// Calls `hook` with every [`AuditEvent`] (in addition to the `guichet::audit` tracing events).
    pub fn on_audit(mut self, hook: impl Fn(&AuditEvent) + Send + Sync + 'static) -> Self {
        self.audit.add(Arc::new(hook));
        self
    }

    /// Validates the configuration and builds the desk.
    pub fn build(mut self) -> Result<Guichet, ConfigError> {
        if let Some(url) = self.base_url.take() {
            self.config.mail.base_url = url;
        }
        self.config.validate()?;
        let directory = self.directory.ok_or_else(|| {
            ConfigError::invalid("directory", "a directory of accounts is required")
        })?;
        let mailer: Arc<dyn Mailer> = match self.mailer {
            Some(mailer) => mailer,
            None => Arc::new(
                Outbox::new("outbox")
                    .map_err(|e| ConfigError::invalid("mailer", format!("./outbox: {e}")))?,
            ),
        };
        let origin = Origin::parse(&self.config.mail.base_url)
            .ok_or_else(|| ConfigError::invalid("mail.base_url", "not an http(s) origin"))?;
        let desk = Desk {
            origin,
            mailer,
            mail_queue: self
                .mail_queue
                .unwrap_or_else(|| Arc::new(MemoryMailQueue::new())),
            postman: Postman::default(),
            hasher: Hasher::new(&self.config.passwords),
            limits: self
                .limits
                .unwrap_or_else(|| Arc::new(MemoryRateLimits::new())),
            directory,
            sessions: self
                .sessions
                .unwrap_or_else(|| Arc::new(MemorySessionStore::new())),
            credentials: self
                .credentials
                .unwrap_or_else(|| Arc::new(MemoryCredentialStore::new())),
            throttle: self
                .throttle
                .unwrap_or_else(|| Arc::new(MemoryThrottleStore::new())),
            pages: self.pages.unwrap_or_else(|| Arc::new(BuiltinPages)),
            denials: self.denials,
            audit: self.audit,
            config: self.config,
        };
        let desk = Arc::new(desk);
        // Deliver letters left by another (or a crashed) process as soon as possible; without a
        // runtime yet, the first credential request starts the postman.
        if tokio::runtime::Handle::try_current().is_ok() {
            desk.postman.ensure_started(&desk);
        }
        Ok(Guichet { desk })
    }
}
