use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::mail::Letter;
use crate::store::{Claimed, MailQueue};

/// Letters in process memory, ordered by due time. Bounded by the capacity given to `push`.
#[derive(Debug)]
pub(super) struct Letters {
    origin: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// (due, id), soonest first.
    due: BTreeSet<(Duration, u64)>,
    letters: HashMap<u64, Waiting>,
    next_id: u64,
}

#[derive(Debug)]
struct Waiting {
    letter: Letter,
    attempts: u32,
    due: Duration,
}

impl Default for Letters {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            state: Mutex::default(),
        }
    }
}

impl Letters {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn schedule(&mut self, id: u64, due: Duration) {
        if let Some(waiting) = self.letters.get_mut(&id) {
            self.due.remove(&(waiting.due, id));
            waiting.due = due;
            self.due.insert((due, id));
        }
    }
}

fn parse(id: &str) -> Result<u64, StoreError> {
    id.parse()
        .map_err(|_| StoreError::new(format!("unknown letter id {id:?}")))
}

#[async_trait]
impl MailQueue for MemoryStore {
    async fn push(&self, letter: &Letter, capacity: usize) -> Result<bool, StoreError> {
        let now = self.mail.origin.elapsed();
        let mut state = self.mail.state();
        if state.letters.len() >= capacity {
            return Ok(false);
        }
        let id = state.next_id;
        state.next_id += 1;
        state.letters.insert(
            id,
            Waiting {
                letter: letter.clone(),
                attempts: 0,
                due: now,
            },
        );
        state.due.insert((now, id));
        Ok(true)
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, StoreError> {
        let now = self.mail.origin.elapsed();
        let mut state = self.mail.state();
        let Some(&(due, id)) = state.due.first() else {
            return Ok(None);
        };
        if due > now {
            return Ok(None);
        }
        state.schedule(id, now + lease);
        Ok(state.letters.get(&id).map(|w| Claimed {
            id: id.to_string(),
            letter: w.letter.clone(),
            attempts: w.attempts,
        }))
    }

    async fn complete(&self, id: &str) -> Result<(), StoreError> {
        let id = parse(id)?;
        let mut state = self.mail.state();
        if let Some(waiting) = state.letters.remove(&id) {
            state.due.remove(&(waiting.due, id));
        }
        Ok(())
    }

    async fn retry(&self, id: &str, after: Duration) -> Result<(), StoreError> {
        let id = parse(id)?;
        let due = self.mail.origin.elapsed() + after;
        let mut state = self.mail.state();
        if let Some(waiting) = state.letters.get_mut(&id) {
            waiting.attempts += 1;
        }
        state.schedule(id, due);
        Ok(())
    }

    async fn waiting(&self) -> Result<usize, StoreError> {
        Ok(self.mail.state().letters.len())
    }
}
