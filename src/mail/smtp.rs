use std::time::Duration;

use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailError, Mailer};

/// Delivery over SMTP, asynchronously, with a connection pool.
///
/// The URL is lettre's: `smtp://host:port` (plain, for a local relay),
/// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`
/// (implicit TLS). Credentials in the URL are never logged.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl SmtpMailer {
    /// A mailer for `url`, with a 10 s timeout per SMTP command. Call it within a tokio
    /// runtime (the connection pool lives there).
    pub fn from_url(url: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Permanent(format!("SMTP URL: {e}")))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Self {
            transport,
            server: redact(url),
        })
    }
}

/// The URL without its user information, for logs.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_owned(),
    }
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .finish()
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        match self.transport.send(message.clone()).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn credentials_never_reach_the_debug_output() {
        let mailer = SmtpMailer::from_url("smtps://user:s3cret@mail.example:465").unwrap();
        let shown = format!("{mailer:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("mail.example"));
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_up_front() {
        assert!(SmtpMailer::from_url("http://mail.example").is_err());
    }
}
