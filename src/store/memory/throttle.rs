use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::limit::{gcra, Rate};
use crate::store::ThrottleStore;

/// Failure counts in a hash map. A key whose allowance is full again is in the same state as an
/// absent key, so it is dropped on the next sweep (every 1024 failures): memory is bounded by
/// the keys that failed recently.
#[derive(Debug)]
pub struct MemoryThrottleStore {
    origin: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    tats: HashMap<Box<str>, Duration>,
    spends: u32,
}

impl Default for MemoryThrottleStore {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            state: Mutex::default(),
        }
    }
}

impl MemoryThrottleStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn peek(&self, key: &str, rate: Rate) -> Result<Option<Duration>, StoreError> {
        let now = self.origin.elapsed();
        Ok(gcra::peek(self.state().tats.get(key).copied(), now, rate))
    }

    async fn spend(&self, key: &str, rate: Rate) -> Result<(), StoreError> {
        let now = self.origin.elapsed();
        let mut state = self.state();
        state.spends = state.spends.wrapping_add(1);
        if state.spends % 1024 == 0 {
            state.tats.retain(|_, tat| *tat > now);
        }
        let tat = gcra::spend(state.tats.get(key).copied(), now, rate);
        state.tats.insert(key.into(), tat);
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.state().tats.remove(key);
        Ok(())
    }
}
