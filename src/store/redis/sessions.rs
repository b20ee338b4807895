use std::time::Duration;

use async_trait::async_trait;

use super::{unavailable, RedisStore};
use crate::error::StoreError;
use crate::identity::UserCode;
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

impl RedisStore {
    /// `P:u:<code>`: the keys of an account's sessions, scored by expiry (ms), so operators can
    /// count them. Kept beside the sessions, not with them (a session key holds no code), so
    /// a destroyed session stays listed until its expiry passes; `sessions_of` reads the
    /// sessions themselves and keeps only those still there.
    fn sessions_index(&self, code: &UserCode) -> String {
        self.key("u", &crate::links::urlencode(code.as_str()))
    }

    async fn index_session(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
        existing: bool,
    ) -> Result<(), StoreError> {
        let index = self.sessions_index(&record.user_code);
        let expiry = unix_millis().saturating_add(u128::from(millis(ttl)));
        let mut add = redis::cmd("ZADD");
        add.arg(&index);
        if existing {
            add.arg("XX");
        }
        let _: () = redis::pipe()
            .add_command(
                add.arg(u64::try_from(expiry).unwrap_or(u64::MAX))
                    .arg(self.session_key(key))
                    .clone(),
            )
            .ignore()
            .cmd("PEXPIRE")
            .arg(&index)
            .arg(millis(ttl))
            .arg("NX")
            .ignore()
            .cmd("PEXPIRE")
            .arg(&index)
            .arg(millis(ttl))
            .arg("GT")
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A stored record; an unreadable one is no session: it signs nobody in.
impl RedisStore {
    /// A stored session record; unreadable JSON is no session.
    pub(super) fn session_record(
        &self,
        key: &SessionKey,
        value: Option<Vec<u8>>,
    ) -> Option<SessionRecord> {
        self.sessions
            .parse(key, &value?, |json| serde_json::from_slice(json))
            .ok()
    }
}

impl RedisStore {
    /// After this process wrote a session: its cached answer goes at once (Redis's push
    /// follows), whether the write went through or not.
    fn written<T>(&self, key: &SessionKey, written: T) -> T {
        if let Some(t) = &self.tracking {
            t.forget_session(key);
        }
        written
    }
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
        let created: Result<Option<String>, _> = redis::cmd("SET")
            .arg(self.session_key(key))
            .arg(encode(record)?)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await;
        let created = self.written(key, created).map_err(unavailable)?;
        if created.is_some() {
            self.index_session(key, record, ttl, false).await?;
        }
        Ok(created.is_some())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let read = self.begin_read();
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.session_key(key))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let record = self.session_record(key, value);
        if let (Some(read), Some(record)) = (&read, &record) {
            read.keep_session(key, record);
        }
        Ok(record)
    }

    fn load_now(&self, key: &SessionKey) -> Option<Result<Option<SessionRecord>, StoreError>> {
        Some(Ok(Some(self.tracking.as_ref()?.session(key)?)))
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        // XX: only if it still exists, so a touch racing a sign-out never resurrects.
        let touched: Result<Option<String>, _> = redis::cmd("SET")
            .arg(self.session_key(key))
            .arg(encode(record)?)
            .arg("XX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await;
        self.written(key, touched).map_err(unavailable)?;
        self.index_session(key, record, ttl, true).await
    }

    async fn sessions_of(&self, code: &UserCode) -> Result<Vec<SessionRecord>, StoreError> {
        let index = self.sessions_index(code);
        let now = u64::try_from(unix_millis()).unwrap_or(u64::MAX);
        let (keys, _): (Vec<Vec<u8>>, i64) = redis::pipe()
            .cmd("ZRANGEBYSCORE")
            .arg(&index)
            .arg(now)
            .arg("+inf")
            .cmd("ZREMRANGEBYSCORE")
            .arg(&index)
            .arg("-inf")
            .arg(now)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut mget = redis::cmd("MGET");
        for key in &keys {
            mget.arg(key);
        }
        let values: Vec<Option<Vec<u8>>> = mget
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(values
            .into_iter()
            // An operator's listing: parsed here, not kept in the hot path's memo.
            .filter_map(|value| serde_json::from_slice::<SessionRecord>(&value?).ok())
            .filter(|record| record.user_code == *code)
            .collect())
    }

    async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError> {
        let destroyed: Result<i64, _> = redis::cmd("DEL")
            .arg(self.session_key(key))
            .query_async(&mut self.conn())
            .await;
        self.written(key, destroyed).map_err(unavailable)?;
        Ok(())
    }
}
