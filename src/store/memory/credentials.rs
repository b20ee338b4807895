use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::identity::UserCode;
use crate::store::{CredentialStore, Credentials, Versioned};

/// Credential state in process memory: lost at exit, so a chosen password would revert to the
/// directory's after a restart. For tests and throw-away demos; production keeps it in SQL or
/// Redis.
#[derive(Debug, Default)]
pub struct MemoryCredentialStore {
    accounts: Mutex<HashMap<UserCode, Versioned<Credentials>>>,
}

impl MemoryCredentialStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<UserCode, Versioned<Credentials>>> {
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl CredentialStore for MemoryCredentialStore {
    async fn load(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError> {
        Ok(self.accounts().get(code).cloned().unwrap_or(Versioned {
            value: Credentials::default(),
            version: 0,
        }))
    }

    async fn save(
        &self,
        code: &UserCode,
        version: u64,
        state: &Credentials,
    ) -> Result<bool, StoreError> {
        let mut accounts = self.accounts();
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
