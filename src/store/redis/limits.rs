use std::time::Duration;

use async_trait::async_trait;

use super::scripts::{GCRA_CHECK, GCRA_PEEK, GCRA_SPEND};
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
            .key(self.key("l", &format!("{}:{key}", limit.name())))
            .arg(micros(rate))
            .arg(rate.count())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(wait(waited))
    }
}

#[async_trait]
impl ThrottleStore for RedisStore {
    async fn peek(&self, key: &str, rate: Rate) -> Result<Option<Duration>, StoreError> {
        let waited: u64 = GCRA_PEEK
            .key(self.key("f", key))
            .arg(micros(rate))
            .arg(rate.count())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(wait(waited))
    }

    async fn spend(&self, key: &str, rate: Rate) -> Result<(), StoreError> {
        let _: i64 = GCRA_SPEND
            .key(self.key("f", key))
            .arg(micros(rate))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.key("f", key))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
