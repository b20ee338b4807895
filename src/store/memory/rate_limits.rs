use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::limit::{KeyedLimiter, Limit, Rate};
use crate::store::RateLimitStore;

/// Rate limits in process, one governor keyed limiter per limit (and rate).
#[derive(Debug, Default)]
pub struct MemoryRateLimits {
    limiters: Mutex<HashMap<(Limit, Rate), KeyedLimiter<String>>>,
}

impl MemoryRateLimits {
    /// No limit spent yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimits {
    async fn check(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let limiter = self
            .limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((limit, rate))
            .or_insert_with(|| KeyedLimiter::new(rate))
            .clone();
        Ok(limiter.check(&key.to_owned()).err())
    }
}
