use std::time::Duration;

use async_trait::async_trait;

use super::{unavailable, RedisStore};
use crate::error::StoreError;
use crate::session::{SessionKey, SessionRecord};
use crate::store::SessionStore;

impl RedisStore {
    /// `P:s:` followed by the 32 raw bytes of the key (shorter than hex: memory per session
    /// is mostly key and value).
    pub(super) fn session_key(&self, key: &SessionKey) -> Vec<u8> {
        let mut out = format!("{}:s:", self.prefix).into_bytes();
        out.extend_from_slice(key.as_bytes());
        out
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A stored record; an unreadable one is no session: it signs nobody in.
pub(super) fn decode(value: Option<Vec<u8>>) -> Option<SessionRecord> {
    serde_json::from_slice(&value?).ok()
}

fn encode(record: &SessionRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(StoreError::new)
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn create(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let created: Option<String> = redis::cmd("SET")
            .arg(self.session_key(key))
            .arg(encode(record)?)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(created.is_some())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.session_key(key))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(decode(value))
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        // XX: only if it still exists, so a touch racing a sign-out never resurrects.
        let _: Option<String> = redis::cmd("SET")
            .arg(self.session_key(key))
            .arg(encode(record)?)
            .arg("XX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.session_key(key))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
