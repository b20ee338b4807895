use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identity::UserCode;
use crate::store::{CredentialStore, Credentials, Versioned};

/// Credential state per account.
#[derive(Debug, Default)]
pub(super) struct Accounts(Mutex<HashMap<UserCode, Versioned<Credentials>>>);

impl Accounts {
    fn get(&self, code: &UserCode) -> Versioned<Credentials> {
        self.lock().get(code).cloned().unwrap_or(Versioned {
            value: Credentials::default(),
            version: 0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserCode, Versioned<Credentials>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn credentials(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError> {
        Ok(self.credentials.get(code))
    }

    fn credentials_now(
        &self,
        code: &UserCode,
    ) -> Option<Result<Versioned<Credentials>, StoreError>> {
        Some(Ok(self.credentials.get(code)))
    }

    async fn save_credentials(
        &self,
        code: &UserCode,
        version: u64,
        state: &Credentials,
    ) -> Result<bool, StoreError> {
        let mut accounts = self.credentials.lock();
        let current = accounts.get(code).map_or(0, |stored| stored.version);
        if current != version {
            return Ok(false);
        }
        accounts.insert(
            code.clone(),
            Versioned {
                value: state.clone(),
                version: version + 1,
            },
        );
        Ok(true)
    }
}
