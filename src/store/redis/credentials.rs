use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::scripts::{ISSUE_TEMPORARY, REPLACE_HASH, SET_DISABLED, SET_PASSWORD, TAKE_TEMPORARY};
use super::{unavailable, RedisStore};
use crate::error::StoreError;
use crate::identity::UserCode;
use crate::store::{CredentialStore, Credentials, TemporaryCredential};

impl RedisStore {
    /// `{P:c:<code>}:cred` and `{P:c:<code>}:temp`: one hash tag per account, so scripts that
    /// touch both work on a cluster. Braces in codes are percent-encoded so they cannot
    /// break the tag.
    fn account_keys(&self, code: &UserCode) -> (String, String) {
        let tag = format!(
            "{{{}:c:{}}}",
            self.prefix,
            crate::flows::urlencode(code.as_str())
        );
        (format!("{tag}:cred"), format!("{tag}:temp"))
    }
}

fn number(fields: &HashMap<String, String>, name: &str) -> u64 {
    fields.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[async_trait]
impl CredentialStore for RedisStore {
    async fn credentials(&self, code: &UserCode) -> Result<Credentials, StoreError> {
        let (cred, temp) = self.account_keys(code);
        let (state, pending): (HashMap<String, String>, HashMap<String, String>) = redis::pipe()
            .cmd("HGETALL")
            .arg(&cred)
            .cmd("HGETALL")
            .arg(&temp)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let temporary = match (pending.get("hash"), pending.get("cancel_key")) {
            (Some(hash), Some(cancel_key)) => Some(TemporaryCredential {
                hash: Arc::from(hash.as_str()),
                expires_at: number(&pending, "expires_at"),
                epoch: number(&pending, "epoch"),
                cancel_key: cancel_key.clone(),
            }),
            _ => None,
        };
        Ok(Credentials {
            epoch: number(&state, "epoch"),
            password_hash: state.get("hash").map(|h| Arc::from(h.as_str())),
            disabled: state.get("disabled").is_some_and(|d| d == "1"),
            temporary,
        })
    }

    async fn replace_password_hash(
        &self,
        code: &UserCode,
        expected: Option<&str>,
        new: &str,
    ) -> Result<bool, StoreError> {
        let (cred, _) = self.account_keys(code);
        let replaced: i64 = REPLACE_HASH
            .key(cred)
            .arg(if expected.is_none() { "1" } else { "0" })
            .arg(expected.unwrap_or(""))
            .arg(new)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(replaced == 1)
    }

    async fn bump_epoch(&self, code: &UserCode) -> Result<u64, StoreError> {
        let (cred, _) = self.account_keys(code);
        redis::cmd("HINCRBY")
            .arg(cred)
            .arg("epoch")
            .arg(1)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn set_disabled(&self, code: &UserCode, disabled: bool) -> Result<(), StoreError> {
        let (cred, _) = self.account_keys(code);
        let _: i64 = SET_DISABLED
            .key(cred)
            .arg(if disabled { "1" } else { "0" })
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn issue_temporary(
        &self,
        code: &UserCode,
        temporary: &TemporaryCredential,
    ) -> Result<(), StoreError> {
        let (_, temp) = self.account_keys(code);
        let _: i64 = ISSUE_TEMPORARY
            .key(temp)
            .arg(&*temporary.hash)
            .arg(temporary.expires_at)
            .arg(temporary.epoch)
            .arg(&temporary.cancel_key)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn take_temporary(&self, code: &UserCode, hash: &str) -> Result<bool, StoreError> {
        let (_, temp) = self.account_keys(code);
        let taken: i64 = TAKE_TEMPORARY
            .key(temp)
            .arg("hash")
            .arg(hash)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(taken == 1)
    }

    async fn cancel_temporary(
        &self,
        code: &UserCode,
        cancel_key: &str,
    ) -> Result<bool, StoreError> {
        let (_, temp) = self.account_keys(code);
        let taken: i64 = TAKE_TEMPORARY
            .key(temp)
            .arg("cancel_key")
            .arg(cancel_key)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(taken == 1)
    }

    async fn set_password(&self, code: &UserCode, hash: &str) -> Result<u64, StoreError> {
        let (cred, temp) = self.account_keys(code);
        SET_PASSWORD
            .key(cred)
            .key(temp)
            .arg(hash)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }
}
