use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::limit::{KeyedLimiter, Limit, Rate};
use crate::store::RateLimitStore;

/// Rate limits in process, one governor keyed limiter per limit (and rate).
#[derive(Debug, Default)]
pub(super) struct Limiters(Mutex<HashMap<(Limit, Rate), KeyedLimiter<String>>>);

#[async_trait]
impl RateLimitStore for MemoryStore {
    async fn check(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let limiter = self
            .limits
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((limit, rate))
            .or_insert_with(|| KeyedLimiter::new(rate))
            .clone();
        Ok(limiter.check(&key.to_owned()).err())
    }
}
