use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::StoreError;
use crate::identity::UserCode;
use crate::store::{CredentialStore, Credentials, TemporaryCredential};

/// Credential state in memory, optionally mirrored to a JSON file so that it survives a
/// restart (a rehashed or chosen password must not revert to the old one).
///
/// The file holds argon2id hashes, never passwords; it is written with mode `0600`, atomically
/// (a temporary file renamed over the old one), after every change and before the change is
/// reported done. A write that fails is reported as a [`StoreError`].
#[derive(Debug, Default)]
pub struct MemoryCredentialStore {
    accounts: Mutex<HashMap<UserCode, Credentials>>,
    file: Option<PathBuf>,
    writer: tokio::sync::Mutex<()>,
}

#[derive(Serialize, Deserialize, Default)]
struct FileState {
    accounts: HashMap<UserCode, Credentials>,
}

impl MemoryCredentialStore {
    /// Memory only: state is lost at exit. For tests and throw-away demos.
    pub fn new() -> Self {
        Self::default()
    }

    /// State loaded from `path` (created on the first change if absent) and written back on
    /// every change.
    pub fn persistent(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let state: FileState = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StoreError(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileState::default(),
            Err(e) => return Err(StoreError(format!("{}: {e}", path.display()))),
        };
        Ok(Self {
            accounts: Mutex::new(state.accounts),
            file: Some(path),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<UserCode, Credentials>> {
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` and, for a persistent store, writes the file before returning.
    async fn change<T>(
        &self,
        change: impl FnOnce(&mut HashMap<UserCode, Credentials>) -> T,
    ) -> Result<T, StoreError> {
        let _writing = self.writer.lock().await;
        let (result, snapshot) = {
            let mut accounts = self.accounts();
            let result = change(&mut accounts);
            let snapshot = self.file.as_ref().map(|_| FileState {
                accounts: accounts.clone(),
            });
            (result, snapshot)
        };
        if let (Some(path), Some(state)) = (&self.file, snapshot) {
            write_atomically(path, &state).await?;
        }
        Ok(result)
    }
}

async fn write_atomically(path: &Path, state: &FileState) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(StoreError::new)?;
    let tmp = path.with_extension("tmp");
    let fail = |e: std::io::Error| StoreError(format!("{}: {e}", path.display()));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&tmp).await.map_err(fail)?;
    tokio::io::AsyncWriteExt::write_all(&mut file, &bytes)
        .await
        .map_err(fail)?;
    file.sync_all().await.map_err(fail)?;
    tokio::fs::rename(&tmp, path).await.map_err(fail)
}

#[async_trait]
impl CredentialStore for MemoryCredentialStore {
    async fn credentials(&self, code: &UserCode) -> Result<Credentials, StoreError> {
        Ok(self.accounts().get(code).cloned().unwrap_or_default())
    }

    async fn replace_password_hash(
        &self,
        code: &UserCode,
        expected: Option<&str>,
        new: &str,
    ) -> Result<bool, StoreError> {
        self.change(|accounts| {
            let entry = accounts.entry(code.clone()).or_default();
            if entry.password_hash.as_deref() != expected {
                return false;
            }
            entry.password_hash = Some(Arc::from(new));
            true
        })
        .await
    }

    async fn bump_epoch(&self, code: &UserCode) -> Result<u64, StoreError> {
        self.change(|accounts| {
            let entry = accounts.entry(code.clone()).or_default();
            entry.epoch += 1;
            entry.epoch
        })
        .await
    }

    async fn set_disabled(&self, code: &UserCode, disabled: bool) -> Result<(), StoreError> {
        self.change(|accounts| {
            let entry = accounts.entry(code.clone()).or_default();
            if disabled && !entry.disabled {
                entry.epoch += 1;
            }
            entry.disabled = disabled;
        })
        .await
    }

    async fn issue_temporary(
        &self,
        code: &UserCode,
        temporary: &TemporaryCredential,
    ) -> Result<(), StoreError> {
        self.change(|accounts| {
            accounts.entry(code.clone()).or_default().temporary = Some(temporary.clone());
        })
        .await
    }

    async fn take_temporary(&self, code: &UserCode, hash: &str) -> Result<bool, StoreError> {
        self.change(|accounts| {
            let Some(entry) = accounts.get_mut(code) else {
                return false;
            };
            let matches = entry.temporary.as_ref().is_some_and(|t| &*t.hash == hash);
            if matches {
                entry.temporary = None;
            }
            matches
        })
        .await
    }

    async fn cancel_temporary(
        &self,
        code: &UserCode,
        cancel_key: &str,
    ) -> Result<bool, StoreError> {
        self.change(|accounts| {
            let Some(entry) = accounts.get_mut(code) else {
                return false;
            };
            let matches = entry
                .temporary
                .as_ref()
                .is_some_and(|t| bool::from(t.cancel_key.as_bytes().ct_eq(cancel_key.as_bytes())));
            if matches {
                entry.temporary = None;
            }
            matches
        })
        .await
    }

    async fn set_password(&self, code: &UserCode, hash: &str) -> Result<u64, StoreError> {
        self.change(|accounts| {
            let entry = accounts.entry(code.clone()).or_default();
            entry.password_hash = Some(Arc::from(hash));
            entry.temporary = None;
            entry.epoch += 1;
            entry.epoch
        })
        .await
    }
}
