//! Records already parsed, by the bytes they were parsed from.
//!
//! A signed-in request reads the same account (and, until its last use is written back, the
//! same session record) on every request; parsing its JSON again each time cost more than the
//! rest of the read. The memo is keyed by the stored bytes themselves, so it can never answer
//! with something stale: a record that changed in Redis comes back as other bytes, a miss.
//! It holds at most [`CAPACITY`] records and starts afresh when full, so memory stays bounded
//! whatever the traffic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Records kept at most (a few hundred bytes each).
const CAPACITY: usize = 4096;

/// Parsed records by their bytes; clones share the memo.
pub(super) struct Memo<T> {
    entries: Arc<Mutex<HashMap<Box<[u8]>, T>>>,
}

impl<T> Clone for Memo<T> {
    fn clone(&self) -> Self {
        Self {
            entries: Arc::clone(&self.entries),
        }
    }
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Self {
            entries: Arc::default(),
        }
    }
}

impl<T: Clone> Memo<T> {
    /// The record these bytes hold: from the memo when they were parsed before, else parsed
    /// now (and kept if the parse succeeded; a failure is never kept, it is reported each time).
    pub(super) fn parse<E>(
        &self,
        bytes: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(known) = self.lock().get(bytes) {
            return Ok(known.clone());
        }
        let value = parse(bytes)?;
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(bytes.into(), value.clone());
        Ok(value)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<[u8]>, T>> {
        // A panic while holding the lock cannot leave a half-written entry behind.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_seen_before_are_not_parsed_again_and_changed_bytes_are() {
        let memo = Memo::<String>::default();
        let parses = std::cell::Cell::new(0);
        let parse = |bytes: &[u8]| -> Result<String, ()> {
            parses.set(parses.get() + 1);
            Ok(String::from_utf8_lossy(bytes).into_owned())
        };
        assert_eq!(memo.parse(b"one", parse).unwrap(), "one");
        assert_eq!(memo.parse(b"one", parse).unwrap(), "one");
        assert_eq!(parses.get(), 1);
        assert_eq!(memo.parse(b"two", parse).unwrap(), "two");
        assert_eq!(parses.get(), 2);
    }

    #[test]
    fn failures_are_not_kept_and_the_memo_stays_bounded() {
        let memo = Memo::<usize>::default();
        assert!(memo.parse(b"bad", |_| Err::<usize, _>("corrupt")).is_err());
        assert_eq!(memo.parse(b"bad", |b| Ok::<_, ()>(b.len())), Ok(3));
        for n in 0..(CAPACITY * 2) {
            let _ = memo.parse(n.to_string().as_bytes(), |b| Ok::<_, ()>(b.len()));
        }
        assert!(memo.lock().len() <= CAPACITY);
    }
}
