//! In-memory stores: the embedded default for one process.
//!
//! Everything lives and dies with the process: a restart signs everyone out, forgets throttles
//! and queued letters, and brings back the directory's password of anyone who chose one. For
//! tests and throw-away demos. Every map here evicts what has expired, so memory stays bounded.

mod accounts;
mod credentials;
mod directory;
mod mail_queue;
mod rate_limits;
mod requests;
mod sessions;
mod throttle;

pub use accounts::{AccountsFile, AccountsImport};

use crate::store::Store;

/// Every state in process memory: sessions, credential state, throttles, rate limits, the mail
/// queue, contact persons' requests, and accounts and clients (it is an
/// [`AccountStore`](crate::store::AccountStore), so it can be the directory too). Share it
/// behind an `Arc` to use it as both.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: sessions::Sessions,
    credentials: credentials::Accounts,
    throttle: throttle::Throttles,
    limits: rate_limits::Limiters,
    mail: mail_queue::Letters,
    requests: requests::Requests,
    accounts: directory::Accounts,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Live sessions (expired ones not yet swept are not counted).
    pub fn live_sessions(&self) -> usize {
        self.sessions.live()
    }
}

impl Store for MemoryStore {}
