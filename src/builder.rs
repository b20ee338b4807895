//! [`Guichet`], the configured sign-in desk you build once, and [`GuichetBuilder`]: they make the
//! shared [`Context`], the postman, the layers and the flows.

use std::sync::{Arc, OnceLock, Weak};

use crate::audit::{Audit, AuditEvent};
use crate::config::Config;
use crate::context::Context;
use crate::customer_service::CustomerService;
use crate::deny::{self, Denied, IntoDenial};
use crate::error::{ConfigError, StoreError};
use crate::flows::Flows;
use crate::identity::{UserCode, UserCodeError};
use crate::letters;
use crate::mail::postman::{Outgoing, Postman, Round, Writer};
use crate::mail::Mailer;
use crate::origin::Origin;
use crate::pages::{BuiltinPages, Pages};
use crate::password::Hasher;
use crate::respond::Responder;
use crate::session::SessionLayer;
use crate::store::{self, AccountStore, Change, Directory, MailQueue, Store};

/// A configured sign-in desk. Cheap to clone; make the layers and flows from it.
///
/// ```
/// use guichet::{Guichet, mail::Outbox, store::memory::{AccountsFile, MemoryStore}};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let outbox = std::env::temp_dir().join("guichet-doc-outbox");
/// let mut config = guichet::Config::default();
/// config.mail.from = "Service à la clientèle <no-reply@portal.example>".into();
/// config.mail.customer_service_phone = "1 800 555-0100".into();
/// config.mail.customer_service_hours = "lundi au vendredi, 8 h à 17 h".into();
/// let guichet = Guichet::builder()
///     .config(config)
///     .base_url("https://portal.example")
///     .store(MemoryStore::new())
///     .directory(AccountsFile::demo())
///     .mailer(Outbox::new(outbox)?)
///     .build()?;
/// let _layer = guichet.session_layer(); // outermost, around everything
/// let _flows = guichet.flows();         // mounted at guichet.prefix()
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Guichet {
    ctx: Arc<Context>,
    postman: Arc<Postman>,
}

impl Guichet {
    /// Starts a builder with the safe defaults.
    pub fn builder() -> GuichetBuilder {
        GuichetBuilder::default()
    }

    /// The layer that gives every request its lazy [`Session`](crate::Session). Put it
    /// outermost, around the guarded routes and the flows.
    pub fn session_layer(&self) -> SessionLayer {
        SessionLayer::new(Arc::clone(&self.ctx))
    }

    /// The built-in flows, to mount at [`prefix`](Self::prefix).
    pub fn flows(&self) -> Flows {
        Flows::new(Arc::clone(&self.ctx))
    }

    /// Where the flows live (default `/auth`).
    pub fn prefix(&self) -> &str {
        &self.ctx.config.prefix
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// The password hasher (to provision hashes with the configured parameters).
    pub fn hasher(&self) -> &Hasher {
        &self.ctx.hasher
    }

    /// Normalises a typed user code with the configured case policy.
    pub fn user_code(&self, typed: &str) -> Result<UserCode, UserCodeError> {
        UserCode::parse(typed, self.ctx.config.user_codes.case)
    }

    /// Ends every session of the account at once ("sign out everywhere").
    pub async fn sign_out_everywhere(&self, code: &UserCode) -> Result<(), StoreError> {
        store::update(&*self.ctx.store, code, |c| Change::Save(c.move_epoch()))
            .await
            .map(drop)
    }

    /// Disables the account: its sessions end and sign-ins fail (with the usual answer).
    pub async fn disable(&self, code: &UserCode) -> Result<(), StoreError> {
        self.set_disabled(code, true).await
    }

    /// Re-enables an account disabled with [`disable`](Self::disable).
    pub async fn enable(&self, code: &UserCode) -> Result<(), StoreError> {
        self.set_disabled(code, false).await
    }

    async fn set_disabled(&self, code: &UserCode, disabled: bool) -> Result<(), StoreError> {
        store::update(&*self.ctx.store, code, |c| {
            if c.set_disabled(disabled) {
                Change::Save(())
            } else {
                Change::Keep(())
            }
        })
        .await
    }

    /// Customer service's actions, in the name of `operator` (who appears in the audit events).
    pub fn customer_service(&self, operator: impl Into<String>) -> CustomerService {
        CustomerService::new(Arc::clone(&self.ctx), operator)
    }

    /// Waits, at most `deadline` in all, for the work requests left behind their answers (a
    /// credential request's letter is queued after a random pause), then stops accepting
    /// emails and waits for the queued ones to be delivered (or given up). Call it when the
    /// server has stopped; returns whether everything drained. What did not stays in the
    /// durable queue for the next start.
    pub async fn shutdown(&self, deadline: std::time::Duration) -> bool {
        let until = tokio::time::Instant::now() + deadline;
        self.ctx.background.close();
        let finished = tokio::time::timeout_at(until, self.ctx.background.wait())
            .await
            .is_ok();
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let stopped = self.postman.stop(left).await;
        finished && stopped && self.ctx.store.waiting().await.is_ok_and(|n| n == 0)
    }
}

impl std::fmt::Debug for Guichet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guichet")
            .field("config", &self.ctx.config)
            .finish_non_exhaustive()
    }
}

/// Assembles a [`Guichet`]. Required: the public origin ([`base_url`](Self::base_url)), a
/// [`store`](Self::store), a [`directory`](Self::directory) of accounts, a
/// [`mailer`](Self::mailer), and in the [`Config`] the mail's `from` and customer service's
/// phone and hours (they reach real customers, so there is no placeholder). Everything else
/// has a safe default. Nothing is checked before [`build`](Self::build), which says what is
/// missing.
#[derive(Default)]
#[must_use]
pub struct GuichetBuilder {
    config: Config,
    base_url: Option<String>,
    store: Option<Arc<dyn Store>>,
    directory: Option<Arc<dyn Directory>>,
    accounts: Option<Arc<dyn AccountStore>>,
    mailer: Option<Arc<dyn Mailer>>,
    pages: Option<Arc<dyn Pages>>,
    denials: Option<Box<deny::Custom>>,
    audit: Audit,
}

impl GuichetBuilder {
    /// The policies (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The portal's public origin (e.g. `https://portal.example`): links in emails are built
    /// from it, never from a request's `Host`, and form posts must come from it. Required, here
    /// or as `mail.base_url` in the [`Config`]; this one wins.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Where run-time state lives: sessions, credential state, throttles, rate limits and the
    /// mail queue. Required, so that where state lives is always a choice:
    /// [`MemoryStore`](crate::store::memory::MemoryStore) forgets everything at exit (tests,
    /// demos); the SQL and Redis stores keep it, and share it between processes.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where accounts come from: your own user database (implement
    /// [`Directory`]), an [`AccountsFile`](crate::store::memory::AccountsFile), or a store that
    /// keeps accounts too. Required.
    pub fn directory(mut self, directory: impl Directory) -> Self {
        self.directory = Some(Arc::new(directory));
        self.accounts = None;
        self
    }

    /// Where accounts come from, in a directory guichet may write: customer service adds,
    /// disables and imports accounts there, and contact persons' approved requests create
    /// theirs. guichet's own stores are such directories (`MemoryStore`, `RedisStore`,
    /// `SqlStore`); share one with [`store`](Self::store) through an `Arc`. Replaces
    /// [`directory`](Self::directory).
    pub fn accounts(mut self, accounts: impl AccountStore) -> Self {
        let accounts: Arc<dyn AccountStore> = Arc::new(accounts);
        self.directory = Some(Arc::clone(&accounts) as Arc<dyn Directory>);
        self.accounts = Some(accounts);
        self
    }

    /// How emails leave: [`SmtpMailer`](crate::mail::SmtpMailer) (with the `smtp` feature),
    /// an [`Outbox`](crate::mail::Outbox) folder of `.eml` files, or your own [`Mailer`].
    /// Required: letters carry temporary passwords, so where they go is always a choice.
    pub fn mailer(mut self, mailer: impl Mailer) -> Self {
        self.mailer = Some(Arc::new(mailer));
        self
    }

    /// Replaces the built-in pages.
    pub fn pages(mut self, pages: impl Pages) -> Self {
        self.pages = Some(Arc::new(pages));
        self
    }

    /// Chooses the answer to requests the guards (and the `Identity` extractor) refuse:
    /// return `Some(response)` (anything `IntoResponse` with the `axum` feature) or `None` to
    /// keep guichet's default for that case.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// use axum::http::StatusCode;
    /// use axum::response::Redirect;
    /// use guichet::Denial;
    ///
    /// let builder = guichet::Guichet::builder().deny_with(|denied| match denied.denial {
    ///     Denial::SignInRequired if denied.is_browser() => Some(Redirect::to("/welcome")),
    ///     _ => None,
    /// });
    /// # let _ = (builder, StatusCode::OK); }
    /// ```
    pub fn deny_with<F, R>(mut self, choose: F) -> Self
    where
        F: for<'a> Fn(&Denied<'a>) -> Option<R> + Send + Sync + 'static,
        R: IntoDenial,
    {
        self.denials = Some(deny::custom(choose));
        self
    }

    /// Calls `hook` with every [`AuditEvent`] (in addition to the `guichet::audit` tracing events).
    /// A hook that panics is logged and does not stop what emitted the event.
    pub fn on_audit(mut self, hook: impl Fn(&AuditEvent) + Send + Sync + 'static) -> Self {
        self.audit.add(Arc::new(hook));
        self
    }

    /// Validates the configuration and builds the desk. Starts the postman if called within a
    /// tokio runtime (otherwise at the first letter).
    pub fn build(mut self) -> Result<Guichet, ConfigError> {
        if let Some(url) = self.base_url.take() {
            self.config.mail.base_url = url;
        }
        self.config.validate()?;
        let missing = |field, what: &str| ConfigError::invalid(field, format!("required: {what}"));
        let store = self.store.ok_or_else(|| {
            missing(
                "store",
                "GuichetBuilder::store (MemoryStore for tests, a SQL or Redis store to keep state)",
            )
        })?;
        let directory = self
            .directory
            .ok_or_else(|| missing("directory", "GuichetBuilder::directory (the accounts)"))?;
        let mailer = self.mailer.ok_or_else(|| {
            missing(
                "mailer",
                "GuichetBuilder::mailer (SmtpMailer, or an Outbox folder)",
            )
        })?;
        let origin = Origin::parse(&self.config.mail.base_url)
            .ok_or_else(|| ConfigError::invalid("mail.base_url", "not an http(s) origin"))?;
        let hasher = Hasher::new(&self.config.passwords)?;
        // The postman writes letters with the context, which holds the postman's bell: it
        // finds the context through a weak link, set once the context exists, so that dropping
        // the last Guichet, layer and flow drops both.
        let home: Arc<OnceLock<Weak<Context>>> = Arc::default();
        let writer: Writer = {
            let home = Arc::clone(&home);
            Arc::new(move |letter| {
                let ctx = home.get()?.upgrade()?;
                Some(Box::pin(async move {
                    let written = letters::write(&ctx, &letter)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(written.map(|written| Outgoing {
                        message: written.message,
                        once_sent: written.once_sent.map(|event| {
                            Box::new(move || ctx.audit.emit(&event)) as Box<dyn FnOnce() + Send>
                        }),
                    }))
                }))
            })
        };
        let postman = Arc::new(Postman::new(Round {
            queue: Arc::clone(&store) as Arc<dyn MailQueue>,
            mailer,
            writer,
            max_attempts: self.config.mail.max_attempts,
        }));
        let bell = Arc::clone(&postman);
        let ctx = Arc::new(Context {
            origin,
            respond: Responder::new(
                self.pages.unwrap_or_else(|| Arc::new(BuiltinPages)),
                &self.config,
            )?,
            directory,
            accounts: self.accounts,
            store,
            hasher,
            denials: self.denials,
            audit: self.audit,
            meters: crate::metrics::Meters::new(),
            letter_queued: Box::new(move || bell.wake()),
            background: tokio_util::task::TaskTracker::new(),
            config: self.config,
        });
        let _ = home.set(Arc::downgrade(&ctx));
        // Deliver letters left by another (or a crashed) process as soon as possible.
        postman.ensure_started();
        Ok(Guichet { ctx, postman })
    }
}
