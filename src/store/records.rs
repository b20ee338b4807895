//! Accounts and clients as stores keep them: plain serde records (JSON in Redis, rows in SQL),
//! read back through the same checks as the accounts file, so a corrupt record is an error,
//! never a half-read account.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreErrorKind};
use crate::identity::{Account, AccountStatus, Client, Email, ServiceName, UserCode};

/// An [`Account`] as a store writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountRecord {
    pub(crate) code: UserCode,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<Email>,
    pub(crate) client: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) services: Vec<ServiceName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) password_hash: Option<String>,
    #[serde(default)]
    pub(crate) status: AccountStatus,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) shared_inbox: bool,
}

impl From<&Account> for AccountRecord {
    fn from(account: &Account) -> Self {
        Self {
            code: account.code.clone(),
            name: account.name.clone(),
            email: account.email.clone(),
            client: account.client.clone(),
            services: account.services.clone(),
            password_hash: account.password_hash.clone(),
            status: account.status,
            shared_inbox: account.shared_inbox,
        }
    }
}

impl From<AccountRecord> for Account {
    fn from(record: AccountRecord) -> Self {
        Account {
            code: record.code,
            name: record.name,
            email: record.email,
            client: record.client,
            services: record.services,
            password_hash: record.password_hash,
            status: record.status,
            shared_inbox: record.shared_inbox,
        }
    }
}

/// A [`Client`] as a store writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClientRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) contact: UserCode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) services: Vec<ServiceName>,
}

impl From<&Client> for ClientRecord {
    fn from(client: &Client) -> Self {
        Self {
            id: client.id.clone(),
            name: client.name.clone(),
            contact: client.contact.clone(),
            services: client.services.clone(),
        }
    }
}

impl From<ClientRecord> for Client {
    fn from(record: ClientRecord) -> Self {
        Client {
            id: record.id,
            name: record.name,
            contact: record.contact,
            services: record.services,
        }
    }
}

/// JSON for a record.
#[cfg_attr(
    not(any(feature = "redis", feature = "sqlite", feature = "postgres")),
    allow(dead_code)
)]
pub(crate) fn encode<T: Serialize>(record: &T) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::with_kind(StoreErrorKind::Other, e))
}

/// A record from JSON; unreadable JSON is a corrupt store.
#[cfg_attr(
    not(any(feature = "redis", feature = "sqlite", feature = "postgres")),
    allow(dead_code)
)]
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::with_kind(StoreErrorKind::Corrupt, e))
}

/// An account from JSON.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn account(bytes: &[u8]) -> Result<Arc<Account>, StoreError> {
    decode::<AccountRecord>(bytes).map(|r| Arc::new(r.into()))
}

/// A client from JSON.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn client(bytes: &[u8]) -> Result<Arc<Client>, StoreError> {
    decode::<ClientRecord>(bytes).map(|r| Arc::new(r.into()))
}
