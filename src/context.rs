//! What the layers and flows of one [`Guichet`](crate::Guichet) share: the configuration, the
//! stores, the hasher, the way answers are built. It knows no flow and no layer; they read it.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::Audit;
use crate::config::Config;
use crate::deny::{self, Custom, Denial, Denied};
use crate::error::StoreError;
use crate::limit::Limit;
use crate::origin::Origin;
use crate::password::Hasher;
use crate::respond::{Body, Responder};
use crate::store::{AccountStore, Directory, Store};

/// Shared by every layer and flow made from one [`Guichet`](crate::Guichet).
pub(crate) struct Context {
    pub(crate) config: Config,
    /// The portal's public origin (`mail.base_url`), against which form posts are checked.
    pub(crate) origin: Origin,
    /// Pages, links and the default language.
    pub(crate) respond: Responder,
    pub(crate) directory: Arc<dyn Directory>,
    /// The same directory, when guichet may write it (customer service, imports).
    pub(crate) accounts: Option<Arc<dyn AccountStore>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) hasher: Hasher,
    /// The application's answers to refused requests, if it chose any.
    pub(crate) denials: Option<Box<Custom>>,
    pub(crate) audit: Audit,
    /// The metrics handles of the hot paths.
    pub(crate) meters: crate::metrics::Meters,
    /// Called after a letter was queued, so that it leaves at once.
    pub(crate) letter_queued: Box<dyn Fn() + Send + Sync>,
    /// What accepted requests left to do after their answer (a credential request's lookups
    /// and letter, a rehash): awaited by [`Guichet::shutdown`](crate::Guichet::shutdown), so
    /// that a request answered just before a stop is not lost.
    pub(crate) background: tokio_util::task::TaskTracker,
}

impl Context {
    /// Spends one allowance of `key` under `limit`, with the configured rate; `Err` is the wait.
    pub(crate) async fn limit(
        &self,
        limit: Limit,
        key: &str,
    ) -> Result<Result<(), Duration>, StoreError> {
        let rate = self.config.rate(limit);
        let checked = self.store.check(limit, key, rate).await;
        counted(limit, checked)
    }

    /// Reserves one attempt of `key` under the throttle `limit`; `Err` is the wait.
    pub(crate) async fn reserve(
        &self,
        limit: Limit,
        key: &str,
    ) -> Result<Result<(), Duration>, StoreError> {
        let rate = self.config.rate(limit);
        let reserved = self.store.reserve(limit, key, rate).await;
        counted(limit, reserved)
    }

    /// Writes the password now in force for `code` back to a directory that keeps passwords
    /// ([`Directory::save_password_hash`]). A failure is logged, nothing more: guichet's
    /// credential store already holds the change, and a directory that missed it is not
    /// mistaken for an operator's change.
    pub(crate) async fn write_back(&self, code: &crate::identity::UserCode, hash: Option<&str>) {
        if let Err(error) = self.directory.save_password_hash(code, hash).await {
            tracing::warn!(
                target: "guichet",
                user_code = %code,
                %error,
                "the directory did not keep the password hash; guichet's credential store has it"
            );
        }
    }

    /// The answer to a request refused for `denial`: the application's choice, else guichet's.
    pub(crate) async fn deny(
        &self,
        denial: Denial,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
    ) -> http::Response<Body> {
        let denied: Denied<'_> = deny::denied(&self.respond, denial, method, uri, headers);
        deny::answer(&self.respond, self.denials.as_deref(), &denied).await
    }
}

/// A limit's answer as the flows use it (`Err` is the wait), counted in the metrics.
fn counted(
    limit: Limit,
    answer: Result<Option<Duration>, StoreError>,
) -> Result<Result<(), Duration>, StoreError> {
    match answer {
        Ok(None) => Ok(Ok(())),
        Ok(Some(wait)) => {
            crate::metrics::limited(limit);
            Ok(Err(wait))
        }
        Err(error) => {
            crate::metrics::store_error("limits", &error);
            Err(error)
        }
    }
}
