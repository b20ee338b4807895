//! The portal's environment: the `GUICHET_*` variables that the portal example, the `guichet`
//! command line and `guichet serve` all read, so that they work on the same state.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `GUICHET_ADDR` | `127.0.0.1:3000` | listen address (the portal, `guichet serve`) |
//! | `GUICHET_USERS` | unset: an empty store gets the demo accounts | a TOML accounts file, imported at every start of the portal or `guichet serve`: each account and client in it created or updated; those not in it kept |
//! | `GUICHET_DATABASE_URL` | `sqlite://guichet.db` | the SQL database holding accounts and all run-time state; `postgres://user@host:port/db` for PostgreSQL |
//! | `GUICHET_REDIS_URL` | unset | Redis instead of SQL, for everything (several URLs, comma-separated: a Redis Cluster) |
//! | `GUICHET_REDIS_PREFIX` | `guichet` | the prefix of every Redis key |
//! | `GUICHET_REDIS_CACHE` | unset | `1`: Redis 6+ client-side caching (a single server or a cluster) |
//! | `GUICHET_SMTP_URL` | unset: letters are `.eml` files in `GUICHET_OUTBOX` | lettre SMTP URL, e.g. `smtp://127.0.0.1:2525` |
//! | `GUICHET_OUTBOX` | `./outbox` | the folder of letters without SMTP |
//! | `GUICHET_BASE_URL` | `http://{GUICHET_ADDR}` | the public origin: links in letters, and form posts |
//! | `GUICHET_MAIL_FROM` | `Guichet <no-reply@localhost>` | the `From` of letters |
//! | `GUICHET_SERVICE_EMAIL` | unset | customer service's address: contact persons' requests are mailed there |
//! | `GUICHET_CONFIG` | unset | a TOML file of [`Config`] (any subset of its sections) |
//! | `GUICHET_INSECURE_COOKIES` | unset | `1` drops `Secure` from the session cookie, for plain-http local use |
//! | `GUICHET_LOG_FORMAT` | `text` | `json`: one JSON object per log line |
//! | `GUICHET_METRICS_ADDR` | unset: no metrics | an address (`127.0.0.1:9100`) serving Prometheus text at `/metrics` (see [`metrics`](crate::metrics)) |
//!
//! Run from the same working directory, the portal and the command line find the same
//! `guichet.db`.

mod exporter;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::customer_service::{CustomerService, ImportReport, ServiceError};
use crate::error::{ConfigError, StoreError};
use crate::mail::{Mailer, Outbox};
use crate::store::memory::{AccountsFile, AccountsImport};
use crate::store::AccountStore;
use crate::{Config, Guichet, GuichetBuilder};

/// Why the environment could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A variable is unusable.
    #[error("{name}: {reason}")]
    Variable {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The configuration or the accounts file was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The accounts (of `GUICHET_USERS`, or the demo accounts) could not be imported.
    #[error("importing the accounts: {0}")]
    Import(ServiceError),
}

fn variable(name: &'static str, reason: impl ToString) -> SetupError {
    SetupError::Variable {
        name,
        reason: reason.to_string(),
    }
}

/// The `GUICHET_*` variables, read once.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: std::collections::BTreeMap<&'static str, String>,
}

const NAMES: &[&str] = &[
    "GUICHET_ADDR",
    "GUICHET_USERS",
    "GUICHET_DATABASE_URL",
    "GUICHET_REDIS_URL",
    "GUICHET_REDIS_PREFIX",
    "GUICHET_REDIS_CACHE",
    "GUICHET_SMTP_URL",
    "GUICHET_OUTBOX",
    "GUICHET_BASE_URL",
    "GUICHET_MAIL_FROM",
    "GUICHET_SERVICE_EMAIL",
    "GUICHET_CONFIG",
    "GUICHET_INSECURE_COOKIES",
    "GUICHET_LOG_FORMAT",
    "GUICHET_METRICS_ADDR",
];

/// Whether the accounts file is imported when the environment opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Import {
    /// Import `GUICHET_USERS` (or put the demo accounts in an empty store): the portal and
    /// `guichet serve`, at every start.
    AtStart,
    /// Leave the accounts as they are: operators' commands.
    No,
}

/// An opened environment: the desk, and what opening it did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Opened {
    /// The desk, on the environment's stores.
    pub guichet: Guichet,
    /// What importing `GUICHET_USERS` (or the demo accounts) did, if anything was imported.
    pub import: Option<ImportReport>,
    /// Where the state lives, for logs (no credentials).
    pub state: String,
}

impl Environment {
    /// The variables of this process.
    pub fn from_env() -> Self {
        Self::from_pairs(
            NAMES
                .iter()
                .filter_map(|name| std::env::var(name).ok().map(|value| (*name, value))),
        )
    }

    /// Variables given by the caller (tests, embedding).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        let vars = pairs
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .filter_map(|(name, value)| {
                NAMES
                    .iter()
                    .find(|known| **known == name)
                    .map(|known| (*known, value))
            })
            .collect();
        Self { vars }
    }

    /// A variable, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The listen address (`GUICHET_ADDR`, default `127.0.0.1:3000`).
    pub fn addr(&self) -> Result<SocketAddr, SetupError> {
        self.get("GUICHET_ADDR")
            .unwrap_or("127.0.0.1:3000")
            .parse()
            .map_err(|e| variable("GUICHET_ADDR", e))
    }

    /// The configuration: `GUICHET_CONFIG`, then the variables that override it, with the
    /// demo's customer-service details where the file gives none.
    pub fn config(&self) -> Result<Config, SetupError> {
        let mut config: Config = match self.get("GUICHET_CONFIG") {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| variable("GUICHET_CONFIG", format!("{path}: {e}")))?;
                toml::from_str(&text)
                    .map_err(|e| variable("GUICHET_CONFIG", format!("{path}: {e}")))?
            }
            None => Config::default(),
        };
        if self.get("GUICHET_INSECURE_COOKIES") == Some("1") {
            config.cookies.secure = false;
        }
        let base_url = match self.get("GUICHET_BASE_URL") {
            Some(url) => url.to_owned(),
            None if !config.mail.base_url.is_empty() => config.mail.base_url.clone(),
            None => format!("http://{}", self.addr()?),
        };
        config.mail.base_url = base_url;
        if let Some(from) = self.get("GUICHET_MAIL_FROM") {
            config.mail.from = from.to_owned();
        } else if config.mail.from.is_empty() {
            config.mail.from = "Guichet <no-reply@localhost>".into();
        }
        if let Some(email) = self.get("GUICHET_SERVICE_EMAIL") {
            config.mail.customer_service_email = Some(email.to_owned());
        }
        // The demo's customer service: a real portal writes its own in GUICHET_CONFIG.
        if config.mail.customer_service_phone.is_empty() {
            config.mail.customer_service_phone = "1 800 555-0199 (démo)".into();
        }
        if config.mail.customer_service_hours.is_empty() {
            config.mail.customer_service_hours = "lundi au vendredi, 8 h à 17 h".into();
        }
        Ok(config)
    }

    /// The mailer: SMTP (`GUICHET_SMTP_URL`), or `.eml` files in `GUICHET_OUTBOX`.
    pub fn mailer(&self) -> Result<Arc<dyn Mailer>, SetupError> {
        #[cfg(feature = "smtp")]
        if let Some(url) = self.get("GUICHET_SMTP_URL") {
            let smtp = crate::mail::SmtpMailer::from_url(url)
                .map_err(|e| variable("GUICHET_SMTP_URL", e))?;
            return Ok(Arc::new(smtp));
        }
        #[cfg(not(feature = "smtp"))]
        if self.get("GUICHET_SMTP_URL").is_some() {
            return Err(variable(
                "GUICHET_SMTP_URL",
                "guichet was built without the `smtp` feature",
            ));
        }
        let folder = PathBuf::from(self.get("GUICHET_OUTBOX").unwrap_or("outbox"));
        let outbox = Outbox::new(&folder)
            .map_err(|e| variable("GUICHET_OUTBOX", format!("{}: {e}", folder.display())))?;
        Ok(Arc::new(outbox))
    }

    /// Starts the Prometheus exporter on `GUICHET_METRICS_ADDR`, if set, and says where it
    /// listens. Call it before [`open`](Self::open): the desk takes its metric handles when it
    /// is built.
    pub async fn start_metrics(&self) -> Result<Option<SocketAddr>, SetupError> {
        let Some(addr) = self.get("GUICHET_METRICS_ADDR") else {
            return Ok(None);
        };
        let addr = addr
            .parse()
            .map_err(|e| variable("GUICHET_METRICS_ADDR", e))?;
        exporter::start(addr).await.map(Some)
    }

    /// Opens the stores, builds the desk, and imports the accounts if asked.
    pub async fn open(&self, import: Import) -> Result<Opened, SetupError> {
        let config = self.config()?;
        let case = config.user_codes.case;
        let builder = Guichet::builder().config(config).mailer(self.mailer()?);
        let (builder, state) = self.stores(builder).await?;
        let guichet = builder.build()?;
        let import = match import {
            Import::No => None,
            Import::AtStart => {
                // The audit log names where the accounts came from.
                let source = match self.get("GUICHET_USERS") {
                    Some(_) => "GUICHET_USERS",
                    None => "demo accounts",
                };
                let service = guichet.customer_service(source);
                Some(self.import(&service, case).await?)
            }
        };
        Ok(Opened {
            guichet,
            import,
            state,
        })
    }

    async fn import(
        &self,
        service: &CustomerService,
        case: crate::CasePolicy,
    ) -> Result<ImportReport, SetupError> {
        let file = match self.get("GUICHET_USERS") {
            Some(path) => AccountsImport::load(path, case)?,
            None => {
                if service.any_account().await.map_err(SetupError::Import)? {
                    return Ok(ImportReport::default());
                }
                AccountsFile::demo().into()
            }
        };
        service.import(&file).await.map_err(SetupError::Import)
    }

    /// The stores: Redis if `GUICHET_REDIS_URL` is set, the SQL database otherwise.
    async fn stores(
        &self,
        builder: GuichetBuilder,
    ) -> Result<(GuichetBuilder, String), SetupError> {
        if let Some(url) = self.get("GUICHET_REDIS_URL") {
            return self.redis(builder, url).await;
        }
        let url = self
            .get("GUICHET_DATABASE_URL")
            .unwrap_or("sqlite://guichet.db");
        self.sql(builder, url).await
    }

    #[cfg(feature = "redis")]
    async fn redis(
        &self,
        builder: GuichetBuilder,
        url: &str,
    ) -> Result<(GuichetBuilder, String), SetupError> {
        use crate::store::redis::RedisStore;
        let prefix = self.get("GUICHET_REDIS_PREFIX").unwrap_or("guichet");
        let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
        let redis = match nodes.as_slice() {
            [single] if self.get("GUICHET_REDIS_CACHE") == Some("1") => {
                RedisStore::connect_caching(single, prefix).await?
            }
            [single] => RedisStore::connect(single, prefix).await?,
            cluster if self.get("GUICHET_REDIS_CACHE") == Some("1") => {
                RedisStore::connect_cluster_caching(cluster, prefix).await?
            }
            cluster => RedisStore::connect_cluster(cluster, prefix).await?,
        };
        let state = format!("{redis:?}");
        Ok((shared(builder, redis), state))
    }

    #[cfg(not(feature = "redis"))]
    async fn redis(
        &self,
        _builder: GuichetBuilder,
        _url: &str,
    ) -> Result<(GuichetBuilder, String), SetupError> {
        Err(variable(
            "GUICHET_REDIS_URL",
            "guichet was built without the `redis` feature",
        ))
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    async fn sql(
        &self,
        builder: GuichetBuilder,
        url: &str,
    ) -> Result<(GuichetBuilder, String), SetupError> {
        let sql = crate::store::sql::SqlStore::connect(url)
            .await
            .map_err(|e| variable("GUICHET_DATABASE_URL", e))?;
        let state = format!("{sql:?}");
        Ok((shared(builder, sql), state))
    }

    #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
    async fn sql(
        &self,
        _builder: GuichetBuilder,
        _url: &str,
    ) -> Result<(GuichetBuilder, String), SetupError> {
        Err(variable(
            "GUICHET_DATABASE_URL",
            "guichet was built without the `sqlite` and `postgres` features",
        ))
    }

    /// Logs for a server started from this environment (the portal, `guichet serve`):
    /// `GUICHET_LOG_FORMAT=json` for one JSON object per line, text otherwise, with colours
    /// only on a terminal; `RUST_LOG` filters (default `info`). On stderr.
    pub fn init_logging(&self) {
        self.init_logging_with("info");
    }

    /// Logs for an operator's command: the audit trail of what the command did
    /// (`guichet::audit`) and warnings, on stderr, so that stdout holds only the answer.
    pub fn init_command_logging(&self) {
        self.init_logging_with("warn,guichet::audit=info");
    }

    fn init_logging_with(&self, default_filter: &str) {
        use std::io::IsTerminal;
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        // A second initialisation (an embedding program already set a subscriber) keeps the
        // first one.
        let _ = if self.get("GUICHET_LOG_FORMAT") == Some("json") {
            builder.json().flatten_event(true).try_init()
        } else {
            builder
                .with_ansi(std::io::stderr().is_terminal())
                .try_init()
        };
    }
}

/// One store for run-time state and accounts both.
fn shared<S: crate::store::Store + AccountStore>(
    builder: GuichetBuilder,
    store: S,
) -> GuichetBuilder {
    let store = Arc::new(store);
    builder.store(Arc::clone(&store)).accounts(store)
}
