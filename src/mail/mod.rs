//! Outgoing mail: a [`Mailer`] (SMTP with the `smtp` feature, or a folder of `.eml` files), the
//! messages guichet sends, and a [`DeliveryQueue`] that keeps them off the request path.
//!
//! Guarantees and limits:
//! * Delivery never happens on a request: requests only enqueue.
//! * A transient failure (server down, `4xx`) is retried with exponential backoff, up to
//!   `mail.max_attempts`; a permanent one (`5xx`) is logged and dropped. An SMTP outage
//!   shorter than the retry window loses nothing that was accepted.
//! * Shutdown ([`Guichet::shutdown`](crate::Guichet::shutdown)) stops accepting and drains
//!   what is queued, within a deadline.
//! * The in-memory queue lives in the process: a crash loses what was waiting. Several
//!   processes sharing a durable queue is the Redis backend's job.
//! * Message bodies (which carry temporary passwords) and SMTP credentials never reach a log.

mod outbox;
mod queue;
#[cfg(feature = "smtp")]
mod smtp;
pub mod templates;

pub use outbox::Outbox;
pub use queue::{DeliveryQueue, QueueFull};
#[cfg(feature = "smtp")]
pub use smtp::SmtpMailer;

use async_trait::async_trait;
use lettre::Message;

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: the server is unreachable, busy, or answered `4xx`.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Not worth retrying: the server refused the message for good (`5xx`).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Delivers one message. Implement it to send through another service.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Hands `message` to the mail system.
    async fn send(&self, message: &Message) -> Result<(), MailError>;
}

/// A shared mailer is a mailer, so the choice can be made at run time
/// (`Arc<dyn Mailer>`: SMTP or outbox from configuration).
#[async_trait]
impl<M: Mailer + ?Sized> Mailer for std::sync::Arc<M> {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        (**self).send(message).await
    }
}
