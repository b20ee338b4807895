use std::time::Duration;

use async_trait::async_trait;

use super::scripts::{GCRA_CHECK, GCRA_PEEK};
use super::{unavailable, RedisStore};
use crate::error::StoreError;
use crate::limit::{Limit, Rate};
use crate::store::{RateLimitStore, ThrottleStore};

fn micros(rate: Rate) -> u64 {
    u64::try_from(rate.interval().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn wait(micros: u64) -> Option<Duration> {
    (micros > 0).then(|| Duration::from_micros(micros))
}

impl RedisStore {
    /// `P:l:<limit>:<key>`.
    fn limit_key(&self, limit: Limit, key: &str) -> String {
        self.key("l", &format!("{}:{key}", limit.name()))
    }
}

/// The same GCRA as governor, done atomically in Redis in one round trip, so N replicas
/// together admit exactly what one would.
#[async_trait]
impl RateLimitStore for RedisStore {
    async fn check(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let waited: u64 = GCRA_CHECK
            .key(self.limit_key(limit, key))
            .arg(micros(rate))
            .arg(rate.count())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(wait(waited))
    }
}

/// Throttles are rate limits that a success clears.
#[async_trait]
impl ThrottleStore for RedisStore {
    async fn reserve(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.check(limit, key, rate).await
    }

    async fn peek(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let waited: u64 = GCRA_PEEK
            .key(self.limit_key(limit, key))
            .arg(micros(rate))
            .arg(rate.count())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(wait(waited))
    }

    async fn clear(&self, limit: Limit, key: &str) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.limit_key(limit, key))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
