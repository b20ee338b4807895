use std::sync::Arc;

use async_trait::async_trait;

use super::scripts::{CREATE_ACCOUNT, PUT_ACCOUNT};
use super::{unavailable, RedisStore};
use crate::error::StoreError;
use crate::identity::{Account, Client, Email, UserCode};
use crate::store::records::{self, AccountRecord, ClientRecord};
use crate::store::{AccountStore, Directory};

impl RedisStore {
    /// `{P:acc}:<part>`: every account key shares one hash tag, so the scripts that keep the
    /// indexes in step with the accounts work on a cluster.
    pub(super) fn accounts_key(&self, part: &str) -> String {
        format!("{{{}:acc}}:{part}", self.prefix)
    }

    /// The mailbox index of one normalised address.
    fn mailbox_key(&self, mailbox: &str) -> String {
        self.accounts_key(&format!("m:{mailbox}"))
    }

    /// The codes of one client, in order.
    fn client_codes_key(&self, client: &str) -> String {
        self.accounts_key(&format!("k:{client}"))
    }

    async fn accounts_by_code(&self, codes: &[String]) -> Result<Vec<Arc<Account>>, StoreError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
            .arg(self.accounts_key("a"))
            .arg(codes)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        found
            .into_iter()
            .flatten()
            .map(|json| records::account(&json))
            .collect()
    }

    /// One account write, keeping the indexes in step; `create` refuses a taken code.
    async fn write_account(
        &self,
        account: &Account,
        create: bool,
    ) -> Result<(bool, Option<Arc<Account>>), StoreError> {
        let json = records::encode(&AccountRecord::from(account))?;
        let mailbox = account
            .email
            .as_ref()
            .map(|e| self.mailbox_key(&e.normalised()))
            .unwrap_or_default();
        let script = if create {
            &*CREATE_ACCOUNT
        } else {
            &*PUT_ACCOUNT
        };
        let written: Result<(i64, Option<Vec<u8>>), _> = script
            .key(self.accounts_key("a"))
            .key(self.accounts_key("mb"))
            .key(self.accounts_key("codes"))
            .key(self.client_codes_key(&account.client))
            .arg(account.code.as_str())
            .arg(json)
            .arg(mailbox)
            .arg(self.accounts_key("k:"))
            .invoke_async(&mut self.conn())
            .await;
        // Forgotten whatever the answer: a write that timed out may still have been applied.
        if let Some(t) = &self.tracking {
            t.forget_account(&account.code);
        }
        let (written, previous) = written.map_err(unavailable)?;
        let previous = previous.map(|json| records::account(&json)).transpose()?;
        Ok((written == 1, previous))
    }
}

#[async_trait]
impl Directory for RedisStore {
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
        let read = self.begin_read();
        let json: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(self.accounts_key("a"))
            .arg(code.as_str())
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let account = json
            .map(|json| self.accounts.parse(code, &json, records::account))
            .transpose()?;
        if let (Some(read), Some(account)) = (&read, &account) {
            read.keep_account(code, account);
        }
        Ok(account)
    }

    fn account_now(&self, code: &UserCode) -> Option<Result<Option<Arc<Account>>, StoreError>> {
        Some(Ok(Some(self.tracking.as_ref()?.account(code)?)))
    }

    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
        let codes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.mailbox_key(&email.normalised()))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        self.accounts_by_code(&codes).await
    }

    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        let json: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(self.accounts_key("c"))
            .arg(id)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        json.map(|json| records::client(&json)).transpose()
    }
}

#[async_trait]
impl AccountStore for RedisStore {
    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        let all: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(self.accounts_key("c"))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let mut clients = all
            .into_iter()
            .map(|(_, json)| records::client(&json))
            .collect::<Result<Vec<_>, _>>()?;
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(clients)
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("HSET")
            .arg(self.accounts_key("c"))
            .arg(&client.id)
            .arg(records::encode(&ClientRecord::from(client))?)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn accounts(
        &self,
        client: Option<&str>,
        after: Option<&UserCode>,
        limit: usize,
    ) -> Result<Vec<Arc<Account>>, StoreError> {
        let index = match client {
            Some(client) => self.client_codes_key(client),
            None => self.accounts_key("codes"),
        };
        let from = match after {
            Some(after) => format!("({after}"),
            None => "-".to_owned(),
        };
        let codes: Vec<String> = redis::cmd("ZRANGE")
            .arg(index)
            .arg(from)
            .arg("+")
            .arg("BYLEX")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        self.accounts_by_code(&codes).await
    }

    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        Ok(self.write_account(account, true).await?.0)
    }

    async fn put_account(&self, account: &Account) -> Result<Option<Arc<Account>>, StoreError> {
        Ok(self.write_account(account, false).await?.1)
    }
}
