use std::time::Duration;

use async_trait::async_trait;

use super::scripts::{CLAIM_LETTER, COMPLETE_LETTER, PUSH_LETTER, RETRY_LETTER};
use super::{unavailable, RedisStore};
use crate::error::StoreError;
use crate::mail::Letter;
use crate::store::{Claimed, MailQueue};

impl RedisStore {
    /// `{P:mail}:due`, `:letters`, `:attempts`, `:seq`: one hash tag, so the queue's scripts
    /// work on a cluster.
    fn queue_key(&self, part: &str) -> String {
        format!("{{{}:mail}}:{part}", self.prefix)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A durable, leased queue: a letter accepted by a replica that crashes before delivering it
/// is handed to another replica when its lease runs out.
#[async_trait]
impl MailQueue for RedisStore {
    async fn push(&self, letter: &Letter, capacity: usize) -> Result<bool, StoreError> {
        let json = serde_json::to_string(letter).map_err(StoreError::new)?;
        let id: i64 = PUSH_LETTER
            .key(self.queue_key("due"))
            .key(self.queue_key("letters"))
            .key(self.queue_key("seq"))
            .arg(json)
            .arg(capacity)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(id > 0)
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, StoreError> {
        let claimed: Option<(String, String, u32)> = CLAIM_LETTER
            .key(self.queue_key("due"))
            .key(self.queue_key("letters"))
            .key(self.queue_key("attempts"))
            .arg(millis(lease))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let Some((id, json, attempts)) = claimed else {
            return Ok(None);
        };
        match serde_json::from_str(&json) {
            Ok(letter) => Ok(Some(Claimed {
                id,
                letter,
                attempts,
            })),
            Err(error) => {
                tracing::error!(target: "guichet", %id, %error, "unreadable letter in the mail queue; dropped");
                self.complete(&id).await?;
                Ok(None)
            }
        }
    }

    async fn complete(&self, id: &str) -> Result<(), StoreError> {
        let _: i64 = COMPLETE_LETTER
            .key(self.queue_key("due"))
            .key(self.queue_key("letters"))
            .key(self.queue_key("attempts"))
            .arg(id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn retry(&self, id: &str, after: Duration) -> Result<(), StoreError> {
        let _: i64 = RETRY_LETTER
            .key(self.queue_key("due"))
            .key(self.queue_key("attempts"))
            .arg(id)
            .arg(millis(after))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn waiting(&self) -> Result<usize, StoreError> {
        redis::cmd("HLEN")
            .arg(self.queue_key("letters"))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }
}
