use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::limit::{gcra, Limit, Rate};
use crate::store::ThrottleStore;

/// Sign-in throttles in a hash map. A key whose allowance is full again is in the same state as
/// an absent key, so it is dropped on the next sweep (every 1024 reservations): memory is
/// bounded by the keys used recently.
#[derive(Debug)]
pub(super) struct Throttles {
    origin: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    tats: HashMap<(Limit, Box<str>), Duration>,
    reservations: u32,
}

impl Default for Throttles {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            state: Mutex::default(),
        }
    }
}

impl Throttles {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn reserve(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let now = self.throttle.origin.elapsed();
        let mut state = self.throttle.state();
        state.reservations = state.reservations.wrapping_add(1);
        if state.reservations.is_multiple_of(1024) {
            state.tats.retain(|_, tat| *tat > now);
        }
        let entry = (limit, Box::from(key));
        let tat = state.tats.get(&entry).copied();
        if let Some(wait) = gcra::peek(tat, now, rate) {
            return Ok(Some(wait));
        }
        state.tats.insert(entry, gcra::spend(tat, now, rate));
        Ok(None)
    }

    async fn peek(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let now = self.throttle.origin.elapsed();
        let tat = self
            .throttle
            .state()
            .tats
            .get(&(limit, Box::from(key)))
            .copied();
        Ok(gcra::peek(tat, now, rate))
    }

    async fn clear(&self, limit: Limit, key: &str) -> Result<(), StoreError> {
        self.throttle.state().tats.remove(&(limit, Box::from(key)));
        Ok(())
    }
}
