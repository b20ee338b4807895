use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::identity::UserCode;
use crate::session::{unix_now, SessionKey, SessionRecord};
use crate::store::SessionStore;

/// Sessions in a hash map, swept of expired entries at most once a minute (on a write), so
/// memory follows the number of live sessions, not of sessions ever opened.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    sessions: RwLock<Map>,
    last_sweep: AtomicU64,
}

/// Keys are SHA-256 outputs, which nobody can aim.
type Map = HashMap<SessionKey, Entry, crate::store::QuickHasher>;

#[derive(Debug)]
struct Entry {
    record: SessionRecord,
    expires_at: u64,
}

impl Sessions {
    fn load(&self, key: &SessionKey) -> Option<SessionRecord> {
        let now = unix_now();
        self.read()
            .get(key)
            .filter(|e| e.expires_at > now)
            .map(|e| e.record.clone())
    }

    /// Live sessions (expired ones not yet swept are not counted).
    pub(super) fn live(&self) -> usize {
        let now = unix_now();
        self.read().values().filter(|e| e.expires_at > now).count()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.sessions
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Map> {
        self.sessions
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn sweep_if_due(&self, sessions: &mut Map, now: u64) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now >= last + 60 {
            self.last_sweep.store(now, Ordering::Relaxed);
            sessions.retain(|_, e| e.expires_at > now);
            if sessions.capacity() > 64 && sessions.capacity() > 4 * sessions.len() {
                sessions.shrink_to_fit();
            }
        }
    }
}

fn expiry(now: u64, ttl: Duration) -> u64 {
    now.saturating_add(ttl.as_secs().max(1))
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = unix_now();
        let mut sessions = self.sessions.write();
        self.sessions.sweep_if_due(&mut sessions, now);
        if sessions.get(key).is_some_and(|e| e.expires_at > now) {
            return Ok(false);
        }
        sessions.insert(
            *key,
            Entry {
                record: record.clone(),
                expires_at: expiry(now, ttl),
            },
        );
        Ok(true)
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.sessions.load(key))
    }

    fn load_now(&self, key: &SessionKey) -> Option<Result<Option<SessionRecord>, StoreError>> {
        Some(Ok(self.sessions.load(key)))
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = unix_now();
        if let Some(entry) = self
            .sessions
            .write()
            .get_mut(key)
            .filter(|e| e.expires_at > now)
        {
            entry.record = record.clone();
            entry.expires_at = expiry(now, ttl);
        }
        Ok(())
    }

    async fn sessions_of(&self, code: &UserCode) -> Result<Vec<SessionRecord>, StoreError> {
        let now = unix_now();
        Ok(self
            .sessions
            .read()
            .values()
            .filter(|e| e.expires_at > now && e.record.user_code == *code)
            .map(|e| e.record.clone())
            .collect())
    }

    async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.sessions.write().remove(key);
        Ok(())
    }
}
