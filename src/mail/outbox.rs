use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailError, Mailer};

/// The embedded default mailer: each message becomes an `.eml` file in a folder, for
/// development and for sites that hand mail to another system.
#[derive(Debug, Clone)]
pub struct Outbox {
    folder: PathBuf,
    transport: AsyncFileTransport<Tokio1Executor>,
}

impl Outbox {
    /// Writes messages into `folder`, creating it (mode 0700 on Unix: the files hold
    /// temporary passwords) if it does not exist.
    pub fn new(folder: impl AsRef<Path>) -> std::io::Result<Self> {
        let folder = folder.as_ref().to_path_buf();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&folder)?;
        Ok(Self {
            transport: AsyncFileTransport::new(&folder),
            folder,
        })
    }

    /// Where the messages go.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        self.transport
            .send(message.clone())
            .await
            .map(drop)
            .map_err(|e| MailError::Transient(e.to_string()))
    }
}
