//! Outgoing mail: a [`Mailer`] (SMTP with the `smtp` feature, or a folder of `.eml` files), the
//! messages guichet sends, and the postman that delivers queued [`Letter`]s off the request path.
//!
//! Guarantees and limits:
//! * Delivery never happens on a request: requests only enqueue.
//! * A transient failure (server down, `4xx`) is retried with exponential backoff, up to
//!   `mail.max_attempts`; a permanent one (`5xx`) is logged and dropped. An SMTP outage
//!   shorter than the retry window loses nothing that was accepted.
//! * Shutdown ([`Guichet::shutdown`](crate::Guichet::shutdown)) stops accepting and drains
//!   what is queued, within a deadline.
//! * The queue ([`MailQueue`](crate::store::MailQueue)) holds [`Letter`]s, never messages:
//!   the temporary password is generated when the letter is delivered, so no queue holds a
//!   credential. The in-memory queue lives in the process (a crash loses what was waiting); a
//!   shared durable queue lets another process deliver a crashed one's letters.
//! * Message bodies (which carry temporary passwords) and SMTP credentials never reach a log.

mod letter;
mod outbox;
pub(crate) mod postman;
#[cfg(feature = "smtp")]
mod smtp;
pub(crate) mod templates;

pub use letter::{Letter, LetterKind};
pub use outbox::Outbox;
#[cfg(feature = "smtp")]
pub use smtp::SmtpMailer;

use async_trait::async_trait;
use lettre::Message;

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
