use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use async_trait::async_trait;
use lettre::Message;

use super::{MailError, Mailer};

/// The embedded default mailer: each message becomes an `.eml` file in a folder, for
/// development and for sites that hand mail to another system.
///
/// The files hold temporary passwords, so they are for their owner's eyes only: the folder is
/// kept at mode `0700` (a folder others can read is tightened when the outbox opens), and each
/// letter is written to a fresh, exclusively created `0600` file, synced, then renamed to its
/// `.eml` name, so a reader of the folder never sees half a letter.
#[derive(Debug, Clone)]
pub struct Outbox {
    folder: PathBuf,
}

impl Outbox {
    /// Writes messages into `folder`, creating it if it does not exist.
    pub fn new(folder: impl AsRef<Path>) -> std::io::Result<Self> {
        let folder = folder.as_ref().to_path_buf();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&folder)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&folder)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700))?;
                tracing::warn!(target: "guichet", folder = %folder.display(), mode = format!("{:o}", mode & 0o777), "the outbox was readable by others; it is now 0700");
            }
        }
        Ok(Self { folder })
    }

    /// Where the messages go.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

/// A name no other letter has: 128 random bits, in hex.
fn fresh_name() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write(folder: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = fresh_name();
    let temporary = folder.join(format!(".{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed =
        written.and_then(|()| std::fs::rename(&temporary, folder.join(format!("{name}.eml"))));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let folder = self.folder.clone();
        let bytes = message.formatted();
        tokio::task::spawn_blocking(move || write(&folder, &bytes))
            .await
            .map_err(|e| MailError::Transient(e.to_string()))?
            .map_err(|e| MailError::Transient(format!("outbox: {e}")))
    }
}
