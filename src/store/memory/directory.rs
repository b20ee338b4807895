use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identity::{Account, Client, Email, UserCode};
use crate::store::{AccountStore, Directory};

/// Accounts and clients in process memory, with the mailbox index shared-inbox detection asks.
#[derive(Debug, Default)]
pub(super) struct Accounts(RwLock<State>);

#[derive(Debug, Default)]
struct State {
    accounts: BTreeMap<UserCode, Arc<Account>>,
    clients: BTreeMap<String, Arc<Client>>,
    /// Normalised mailbox → codes of the accounts using it.
    mailboxes: HashMap<String, Vec<UserCode>>,
}

impl Accounts {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn put(&mut self, account: &Account) -> Option<Arc<Account>> {
        let previous = self
            .accounts
            .insert(account.code.clone(), Arc::new(account.clone()));
        if let Some(email) = previous.as_ref().and_then(|p| p.email.as_ref()) {
            if let Some(codes) = self.mailboxes.get_mut(&email.normalised()) {
                codes.retain(|c| *c != account.code);
            }
        }
        if let Some(email) = &account.email {
            self.mailboxes
                .entry(email.normalised())
                .or_default()
                .push(account.code.clone());
        }
        previous
    }
}

#[async_trait]
impl Directory for MemoryStore {
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
        Ok(self.accounts.read().accounts.get(code).cloned())
    }

    fn account_now(&self, code: &UserCode) -> Option<Result<Option<Arc<Account>>, StoreError>> {
        Some(Ok(self.accounts.read().accounts.get(code).cloned()))
    }

    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
        let state = self.accounts.read();
        Ok(state
            .mailboxes
            .get(&email.normalised())
            .into_iter()
            .flatten()
            .filter_map(|code| state.accounts.get(code).cloned())
            .collect())
    }

    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.accounts.read().clients.get(id).cloned())
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        Ok(self.accounts.read().clients.values().cloned().collect())
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.accounts
            .write()
            .clients
            .insert(client.id.clone(), Arc::new(client.clone()));
        Ok(())
    }

    async fn accounts(
        &self,
        client: Option<&str>,
        after: Option<&UserCode>,
        limit: usize,
    ) -> Result<Vec<Arc<Account>>, StoreError> {
        let state = self.accounts.read();
        let range = match after {
            Some(after) => state.accounts.range((
                std::ops::Bound::Excluded(after.clone()),
                std::ops::Bound::Unbounded,
            )),
            None => state.accounts.range(..),
        };
        Ok(range
            .map(|(_, account)| account)
            .filter(|account| client.is_none_or(|c| account.client == c))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        let mut state = self.accounts.write();
        if state.accounts.contains_key(&account.code) {
            return Ok(false);
        }
        state.put(account);
        Ok(true)
    }

    async fn put_account(&self, account: &Account) -> Result<Option<Arc<Account>>, StoreError> {
        Ok(self.accounts.write().put(account))
    }
}
