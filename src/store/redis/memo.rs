//! Records already parsed, with the bytes they were parsed from.
//!
//! A signed-in request reads the same account (and, until its last use is written back, the
//! same session record) on every request; parsing its JSON again each time cost more than the
//! rest of the read. The memo keeps, per key (an account's code, a session's key), the bytes
//! last read and what they parsed to. It can never answer with something stale: the bytes
//! just read from Redis are compared with the kept ones, and other bytes are parsed and
//! replace them, so an old version does not linger either. It holds at most [`CAPACITY`] keys
//! and starts afresh when full, so memory stays bounded whatever the traffic.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

/// Keys kept at most (a record of a few hundred bytes each).
const CAPACITY: usize = 4096;

/// Per key, the bytes last read and the record they hold.
type Entries<K, T> = HashMap<K, (Box<[u8]>, T)>;

/// Per key, the bytes last read and the record they hold; clones share the memo.
pub(super) struct Memo<K, T> {
    entries: Arc<Mutex<Entries<K, T>>>,
}

impl<K, T> Clone for Memo<K, T> {
    fn clone(&self) -> Self {
        Self {
            entries: Arc::clone(&self.entries),
        }
    }
}

impl<K, T> Default for Memo<K, T> {
    fn default() -> Self {
        Self {
            entries: Arc::default(),
        }
    }
}

impl<K: Eq + Hash + Clone, T: Clone> Memo<K, T> {
    /// The record `bytes` (just read under `key`) hold: the kept one when they are the bytes
    /// kept for `key`, else parsed now and kept in its place (a failed parse is never kept:
    /// it is reported each time).
    pub(super) fn parse<E>(
        &self,
        key: &K,
        bytes: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some((kept, value)) = self.lock().get(key) {
            if **kept == *bytes {
                return Ok(value.clone());
            }
        }
        let value = parse(bytes)?;
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(key) {
            entries.clear();
        }
        entries.insert(key.clone(), (bytes.into(), value.clone()));
        Ok(value)
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, T>> {
        // A panic while holding the lock cannot leave a half-written entry behind.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> Result<String, ()> {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    #[test]
    fn unchanged_bytes_are_not_parsed_again_and_changed_ones_replace_them() {
        let memo = Memo::<u8, String>::default();
        let parses = std::cell::Cell::new(0);
        let counted = |bytes: &[u8]| {
            parses.set(parses.get() + 1);
            text(bytes)
        };
        assert_eq!(memo.parse(&1, b"one", counted).unwrap(), "one");
        assert_eq!(memo.parse(&1, b"one", counted).unwrap(), "one");
        assert_eq!(parses.get(), 1);
        assert_eq!(memo.parse(&1, b"uno", counted).unwrap(), "uno");
        assert_eq!(parses.get(), 2);
        assert_eq!(memo.lock().len(), 1, "the old version is not kept");
        assert_eq!(memo.parse(&2, b"one", counted).unwrap(), "one");
        assert_eq!(parses.get(), 3, "another key's bytes are its own");
    }

    #[test]
    fn failures_are_not_kept_and_the_memo_stays_bounded() {
        let memo = Memo::<usize, usize>::default();
        assert!(memo.parse(&0, b"bad", |_| Err("corrupt")).is_err());
        assert_eq!(memo.parse(&0, b"bad", |b| Ok::<_, ()>(b.len())), Ok(3));
        for n in 0..(CAPACITY * 2) {
            let _ = memo.parse(&n, b"x", |b| Ok::<_, ()>(b.len()));
        }
        assert!(memo.lock().len() <= CAPACITY);
        assert_eq!(memo.parse(&0, b"again", |b| Ok::<_, ()>(b.len())), Ok(5));
    }
}
