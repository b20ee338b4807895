use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use crate::error::{ConfigError, StoreError};
use crate::identity::{Account, AccountStatus, CasePolicy, Client, Email, ServiceName, UserCode};
use crate::store::Directory;

/// The embedded [`Directory`]: accounts and clients from the portal's TOML file (`[[client]]`
/// with `id`, `name`, `contact`, `services`; `[[account]]` with `code`, `name`, `email`,
/// `client`, `services`, optional `password_hash` and `shared_inbox`: the README shows one),
/// checked as a whole when loaded: unknown clients, services the
/// client does not subscribe to, duplicate codes, a contact person from another client, and
/// unreadable password hashes are all refused with the offending entry named. A file to import
/// into a store that holds the rest is an [`AccountsImport`].
#[derive(Debug, Clone)]
pub struct AccountsFile {
    accounts: HashMap<UserCode, Arc<Account>>,
    clients: HashMap<String, Arc<Client>>,
}

/// An accounts file to import into a store that may already hold some of the clients and
/// contact persons it names (`guichet accounts import`, `GUICHET_USERS`): each entry is checked
/// as [`AccountsFile::load`] checks it, and the names that are not in the file are checked
/// against the store by
/// [`CustomerService::import`](crate::customer_service::CustomerService::import) before it
/// writes anything. Unlike an [`AccountsFile`], it is no [`Directory`]: on its own, its names
/// may lead nowhere.
#[derive(Debug, Clone)]
pub struct AccountsImport(AccountsFile);

impl AccountsImport {
    /// Reads the file at `path` and checks each entry.
    pub fn load(path: impl AsRef<Path>, case: CasePolicy) -> Result<Self, ConfigError> {
        AccountsFile::read(path.as_ref(), case, AccountsFile::entries).map(Self)
    }

    /// The file's entries.
    pub(crate) fn file(&self) -> &AccountsFile {
        &self.0
    }
}

impl From<AccountsFile> for AccountsImport {
    /// A whole directory, to import as it is.
    fn from(file: AccountsFile) -> Self {
        Self(file)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    client: Vec<ClientEntry>,
    #[serde(default)]
    account: Vec<AccountEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    id: String,
    name: String,
    contact: String,
    #[serde(default)]
    services: Vec<ServiceName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    code: String,
    name: String,
    email: Option<String>,
    client: String,
    #[serde(default)]
    services: Vec<ServiceName>,
    password_hash: Option<String>,
    #[serde(default)]
    shared_inbox: bool,
    #[serde(default)]
    status: AccountStatus,
}

impl AccountsFile {
    /// Reads and checks the accounts file at `path`.
    pub fn load(path: impl AsRef<Path>, case: CasePolicy) -> Result<Self, ConfigError> {
        Self::read(path.as_ref(), case, Self::parse)
    }

    fn read(
        path: &Path,
        case: CasePolicy,
        parse: fn(&str, CasePolicy) -> Result<Self, String>,
    ) -> Result<Self, ConfigError> {
        let failed = |reason| ConfigError::Accounts {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        parse(&text, case).map_err(failed)
    }

    /// Parses and checks accounts TOML.
    pub fn from_toml(text: &str, case: CasePolicy) -> Result<Self, ConfigError> {
        Self::parse(text, case).map_err(|reason| ConfigError::Accounts {
            path: "<inline>".into(),
            reason,
        })
    }

    /// The demo accounts of the portal example (documented in the README).
    pub fn demo() -> Self {
        Self::parse(DEMO, CasePolicy::Insensitive).expect("the built-in demo accounts are valid")
    }

    /// The client with this identifier.
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.get(id).map(|c| &**c)
    }

    /// Every client, in no particular order.
    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.values().map(|c| &**c)
    }

    /// Every account, in no particular order.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values().map(|a| &**a)
    }

    /// A whole file: its entries, and every client and contact person they name in it.
    fn parse(text: &str, case: CasePolicy) -> Result<Self, String> {
        let file = Self::entries(text, case)?;
        file.check_references(|_| None, |_| None)?;
        Ok(file)
    }

    /// The file's entries, each checked on its own (codes, addresses, hashes, duplicates).
    fn entries(text: &str, case: CasePolicy) -> Result<Self, String> {
        let file: FileFormat = toml::from_str(text).map_err(|e| e.to_string())?;
        let code = |typed: &str, what: &str| {
            UserCode::parse(typed, case).map_err(|e| format!("{what} {typed:?}: {e}"))
        };
        let mut clients = HashMap::new();
        let name = |typed: &str, what: &str| {
            let max = crate::identity::MAX_ACCOUNT_NAME;
            if crate::identity::is_plain_name(typed, max) {
                Ok(typed.trim().to_owned())
            } else {
                Err(format!("{what}: name: one line of 1 to {max} characters"))
            }
        };
        for c in file.client {
            let client = Client {
                name: name(&c.name, &format!("client {}", c.id))?,
                contact: code(&c.contact, &format!("client {:?} contact", c.id))?,
                id: c.id,
                services: c.services,
            };
            if clients
                .insert(client.id.clone(), Arc::new(client))
                .is_some()
            {
                return Err("duplicate client id".into());
            }
        }
        let mut accounts = HashMap::new();
        for a in file.account {
            let account_code = code(&a.code, "account")?;
            let email = a
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(|e| format!("account {account_code}: {e}"))?;
            if let Some(hash) = &a.password_hash {
                argon2::password_hash::PasswordHash::new(hash)
                    .map_err(|e| format!("account {account_code}: password_hash: {e}"))?;
            }
            let account = Account {
                code: account_code.clone(),
                name: name(&a.name, &format!("account {account_code}"))?,
                email,
                client: a.client,
                services: a.services,
                password_hash: a.password_hash,
                status: a.status,
                shared_inbox: a.shared_inbox,
            };
            if accounts
                .insert(account_code.clone(), Arc::new(account))
                .is_some()
            {
                return Err(format!("account {account_code}: duplicate user code"));
            }
        }
        Ok(Self { accounts, clients })
    }

    /// Checks that what a store keeps beside this file stays consistent once the file is
    /// imported: a client the file leaves alone keeps its contact person within it, and an
    /// account the file leaves alone keeps only services its client (as the file changes it)
    /// subscribes to.
    pub(crate) fn check_kept<'a>(
        &self,
        clients: impl IntoIterator<Item = &'a Client>,
        accounts: impl IntoIterator<Item = &'a Account>,
    ) -> Result<(), String> {
        for client in clients {
            let moved = !self.clients.contains_key(&client.id)
                && self
                    .accounts
                    .get(&client.contact)
                    .is_some_and(|contact| contact.client != client.id);
            if moved {
                return Err(format!(
                    "account {}: the contact person of client {} cannot move to another client",
                    client.contact, client.id
                ));
            }
        }
        for account in accounts {
            if self.accounts.contains_key(&account.code) {
                continue;
            }
            let Some(client) = self.clients.get(&account.client) else {
                continue;
            };
            if let Some(s) = client.unsubscribed(&account.services) {
                return Err(format!(
                    "client {}: account {} (kept) uses service {s}, which the client would no \
                     longer subscribe to",
                    client.id, account.code
                ));
            }
        }
        Ok(())
    }

    /// Checks that every client an account names exists and subscribes to the account's
    /// services, and that every client's contact person is one of its accounts, looking in the
    /// file first, then in `client_elsewhere` and `account_elsewhere` (a store it is imported
    /// into).
    pub(crate) fn check_references(
        &self,
        client_elsewhere: impl Fn(&str) -> Option<Arc<Client>>,
        account_elsewhere: impl Fn(&UserCode) -> Option<Arc<Account>>,
    ) -> Result<(), String> {
        let mut accounts: Vec<&Arc<Account>> = self.accounts.values().collect();
        accounts.sort_by(|a, b| a.code.cmp(&b.code));
        for account in accounts {
            let code = &account.code;
            let client = self
                .clients
                .get(&account.client)
                .cloned()
                .or_else(|| client_elsewhere(&account.client))
                .ok_or_else(|| format!("account {code}: unknown client {:?}", account.client))?;
            if let Some(s) = client.unsubscribed(&account.services) {
                return Err(format!(
                    "account {code}: service {s} is not subscribed by client {}",
                    client.id
                ));
            }
        }
        let mut clients: Vec<&Arc<Client>> = self.clients.values().collect();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        for client in clients {
            let contact = self
                .accounts
                .get(&client.contact)
                .cloned()
                .or_else(|| account_elsewhere(&client.contact));
            if contact.is_none_or(|contact| contact.client != client.id) {
                return Err(format!(
                    "client {}: contact {} is not an account of this client",
                    client.id, client.contact
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Directory for AccountsFile {
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
        Ok(self.accounts.get(code).cloned())
    }

    fn account_now(&self, code: &UserCode) -> Option<Result<Option<Arc<Account>>, StoreError>> {
        Some(Ok(self.accounts.get(code).cloned()))
    }

    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.clients.get(id).cloned())
    }

    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
        let wanted = email.normalised();
        Ok(self
            .accounts
            .values()
            .filter(|a| a.email.as_ref().is_some_and(|e| e.normalised() == wanted))
            .cloned()
            .collect())
    }
}

/// The demo accounts; their passwords are listed at the top of the file and in the README.
const DEMO: &str = include_str!("demo-accounts.toml");

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = r#"
        [[client]]
        id = "acme"
        name = "Acme Inc."
        contact = "ACME-001"
        services = ["collection", "orders"]
    "#;

    fn with_accounts(accounts: &str) -> Result<AccountsFile, ConfigError> {
        AccountsFile::from_toml(&format!("{CLIENT}\n{accounts}"), CasePolicy::Insensitive)
    }

    #[tokio::test]
    async fn the_contract_format_loads_and_codes_are_normalised() {
        let dir = with_accounts(
            r#"
            [[account]]
            code = " acme-001 "
            name = "Marie Tremblay"
            email = "marie@acme.example"
            client = "acme"
            services = ["collection"]
            shared_inbox = false
        "#,
        )
        .unwrap();
        let code = UserCode::parse("ACME-001", CasePolicy::Insensitive).unwrap();
        let marie = dir.account(&code).await.unwrap().unwrap();
        assert_eq!(marie.name, "Marie Tremblay");
        assert_eq!(dir.client("acme").unwrap().contact, code);
        let email = Email::parse("MARIE@acme.example").unwrap();
        assert_eq!(dir.accounts_with_email(&email).await.unwrap().len(), 1);
    }

    #[test]
    fn inconsistent_files_are_refused_with_the_entry_named() {
        let cases = [
            (
                r#"[[account]]
                code = "ACME-001"
                name = "M"
                client = "nope""#,
                "unknown client",
            ),
            (
                r#"[[account]]
                code = "ACME-001"
                name = "M"
                client = "acme"
                services = ["payroll"]"#,
                "not subscribed",
            ),
            (
                r#"[[account]]
                code = "ACME-001"
                name = " "
                client = "acme""#,
                "name",
            ),
            (
                r#"[[account]]
                code = "ACME-001"
                name = "Marie\nTremblay"
                client = "acme""#,
                "name",
            ),
            (
                r#"[[account]]
                code = "ACME-001"
                name = "M"
                client = "acme"
                [[account]]
                code = "acme-001"
                name = "N"
                client = "acme""#,
                "duplicate",
            ),
            (
                r#"[[account]]
                code = "ACME-001"
                name = "M"
                client = "acme"
                password_hash = "plaintext!""#,
                "password_hash",
            ),
            (
                r#"[[account]]
                code = "ACME-002"
                name = "M"
                client = "acme""#,
                "contact",
            ),
        ];
        for (accounts, expected) in cases {
            let err = with_accounts(accounts).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn the_demo_accounts_load() {
        let demo = AccountsFile::demo();
        assert!(demo.accounts().count() >= 4);
    }
}
