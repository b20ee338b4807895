//! The read cache of the shared stores (SQL, Redis): what the database answered recently, kept
//! in process memory for a short time, so that a signed-in request is decided without waiting
//! for the database (`SessionStore::load_now`, `CredentialStore::credentials_now`,
//! `Directory::account_now`).
//!
//! * Filled by the reads that went to the database, never read by them: `load`,
//!   `credentials`, `account` and `session_and_credentials` always ask the database, and so
//!   does the compare-and-swap that changes credential state.
//! * Each entry is fresh for the TTL counted from the moment its read was sent, so an entry is
//!   never older than the TTL, whatever the database's latency; a session's entry also ends
//!   when the session does.
//! * This process's own writes update or drop the entries they touch before they return. A
//!   read that was under way during such a write cannot put its older answer back: each cache
//!   has a generation that every dropping write moves, and a read that saw another generation
//!   when it was sent fills nothing. Credential states carry their version, so a fill never
//!   replaces a newer version with an older one.
//! * Writes by other processes are seen when the entry runs out (within the TTL), or sooner
//!   when the database says what changed: Redis pushes the keys (see `store::redis`), and each
//!   is forgotten like a write of this process.
//! * Bounded: at most [`ENTRIES`] per kind. A full cache first drops what is stale, then an
//!   arbitrary eighth of what is left (which, for a cache this short-lived, does as well as
//!   least-recently-used without its bookkeeping on every read).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::identity::{Account, UserCode};
use crate::session::{SessionKey, SessionRecord};
use crate::store::{Credentials, QuickHasher, Versioned};

/// Entries per kind (sessions, credential states, accounts), at most.
pub(super) const ENTRIES: usize = 4096;

/// The three caches and their common time to live.
pub(super) struct Caches {
    ttl_micros: AtomicU64,
    /// Keys are SHA-256 outputs, which nobody can aim: hashed with foldhash, faster than
    /// SipHash on the signed-in path.
    pub(super) sessions: Cache<SessionKey, SessionRecord, QuickHasher>,
    /// Keys may be any code someone typed (a sign-in reads the credential state of unknown
    /// codes too, so that they cost what known ones cost): SipHash, which a flood cannot aim.
    pub(super) credentials: Cache<UserCode, Versioned<Credentials>>,
    /// Filled only with accounts that exist: foldhash.
    pub(super) accounts: Cache<UserCode, Arc<Account>, QuickHasher>,
}

impl Caches {
    pub(super) fn new(ttl: Duration) -> Self {
        let caches = Self {
            ttl_micros: AtomicU64::new(0),
            sessions: Cache::new(),
            credentials: Cache::new(),
            accounts: Cache::new(),
        };
        caches.set_ttl(ttl);
        caches
    }

    /// Changes the time to live; zero turns the caches off (and empties them).
    pub(super) fn set_ttl(&self, ttl: Duration) {
        let micros = u64::try_from(ttl.as_micros()).unwrap_or(u64::MAX);
        self.ttl_micros.store(micros, Ordering::Relaxed);
        if micros == 0 {
            self.sessions.clear();
            self.credentials.clear();
            self.accounts.clear();
        }
    }

    pub(super) fn ttl(&self) -> Duration {
        Duration::from_micros(self.ttl_micros.load(Ordering::Relaxed))
    }

    /// Until when an answer read at `read_at` may be served; `None` when caching is off.
    pub(super) fn until(&self, read_at: Instant) -> Option<Instant> {
        let ttl = self.ttl();
        if ttl.is_zero() {
            return None;
        }
        read_at.checked_add(ttl)
    }
}

/// One kind of answer, by key, hashed by `S`.
pub(super) struct Cache<K, V, S = RandomState> {
    state: RwLock<State<K, V, S>>,
}

struct State<K, V, S> {
    entries: HashMap<K, Entry<V>, S>,
    /// Moves on every write that drops an entry (see the module docs).
    generation: u64,
}

struct Entry<V> {
    value: V,
    until: Instant,
}

impl<K: Eq + Hash, V: Clone, S: BuildHasher + Default> Cache<K, V, S> {
    fn new() -> Self {
        Self {
            state: RwLock::new(State {
                entries: HashMap::default(),
                generation: 0,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State<K, V, S>> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State<K, V, S>> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value, while fresh.
    pub(super) fn get(&self, key: &K) -> Option<V> {
        let now = Instant::now();
        self.read()
            .entries
            .get(key)
            .filter(|entry| entry.until > now)
            .map(|entry| entry.value.clone())
    }

    /// The generation, to be taken before a read is sent and given back to [`fill`](Self::fill).
    pub(super) fn generation(&self) -> u64 {
        self.read().generation
    }

    /// Keeps what a read answered, unless a write dropped entries since the read was sent.
    pub(super) fn fill(&self, key: K, value: V, until: Option<Instant>, generation: u64) {
        let Some(until) = until else { return };
        let mut state = self.write();
        if state.generation == generation {
            state.insert(key, value, until);
        }
    }

    /// Keeps `value` unless the entry holds a newer one (`newer(old, new)` says it does not).
    pub(super) fn fill_unless_newer(
        &self,
        key: K,
        value: V,
        until: Option<Instant>,
        replaces: impl Fn(&V, &V) -> bool,
    ) {
        let Some(until) = until else { return };
        let mut state = self.write();
        if let Some(old) = state.entries.get(&key) {
            if !replaces(&old.value, &value) {
                return;
            }
        }
        state.insert(key, value, until);
    }

    /// Keeps `value` (a write of this process that made it: nothing older can race it).
    pub(super) fn put(&self, key: K, value: V, until: Option<Instant>) {
        if let Some(until) = until {
            self.write().insert(key, value, until);
        }
    }

    /// Drops the entry (a write of this process changed it).
    pub(super) fn forget(&self, key: &K) {
        let mut state = self.write();
        state.generation += 1;
        state.entries.remove(key);
    }

    /// Drops every entry.
    pub(super) fn clear(&self) {
        let mut state = self.write();
        state.generation += 1;
        state.entries.clear();
        state.entries.shrink_to(ENTRIES / 8);
    }

    /// Entries held, fresh or not (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.read().entries.len()
    }
}

impl<K: Eq + Hash, V, S: BuildHasher> State<K, V, S> {
    fn insert(&mut self, key: K, value: V, until: Instant) {
        if self.entries.len() >= ENTRIES && !self.entries.contains_key(&key) {
            let now = Instant::now();
            self.entries.retain(|_, entry| entry.until > now);
            if self.entries.len() >= ENTRIES {
                let mut drop = ENTRIES / 8;
                self.entries.retain(|_, _| {
                    let keep = drop == 0;
                    drop = drop.saturating_sub(1);
                    keep
                });
            }
        }
        self.entries.insert(key, Entry { value, until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> Cache<u32, u32> {
        Cache::new()
    }

    #[test]
    fn a_fill_from_before_a_write_is_refused() {
        let c = cache();
        let until = Some(Instant::now() + Duration::from_secs(60));
        let seen = c.generation();
        c.forget(&1);
        c.fill(1, 10, until, seen);
        assert_eq!(
            c.get(&1),
            None,
            "the read may have seen the value before the write"
        );
        c.fill(1, 11, until, c.generation());
        assert_eq!(c.get(&1), Some(11));
    }

    #[test]
    fn stale_entries_are_not_served() {
        let c = cache();
        c.put(1, 10, Some(Instant::now()));
        assert_eq!(c.get(&1), None);
        c.put(2, 20, None);
        assert_eq!(c.len(), 1, "no TTL, no caching");
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let c = cache();
        let until = Some(Instant::now() + Duration::from_secs(60));
        let newer = |old: &u32, new: &u32| new >= old;
        c.fill_unless_newer(1, 5, until, newer);
        c.fill_unless_newer(1, 4, until, newer);
        assert_eq!(c.get(&1), Some(5));
        c.fill_unless_newer(1, 6, until, newer);
        assert_eq!(c.get(&1), Some(6));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let c = cache();
        let until = Some(Instant::now() + Duration::from_secs(60));
        for n in 0..(ENTRIES as u32 * 3) {
            c.put(n, n, until);
            assert!(c.len() <= ENTRIES);
        }
        assert_eq!(
            c.get(&(ENTRIES as u32 * 3 - 1)),
            Some(ENTRIES as u32 * 3 - 1)
        );
    }
}
