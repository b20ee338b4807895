//! In-memory stores: the embedded default for one process.
//!
//! Sessions and throttles live and die with the process (a restart signs everyone out, which
//! is safe). Credential state must survive a restart, so [`MemoryCredentialStore::persistent`]
//! mirrors it to a file. Every map here evicts what has expired, so memory stays bounded.

mod accounts;
mod credentials;
mod mail_queue;
mod rate_limits;
mod sessions;
mod throttle;

pub use accounts::AccountsFile;
pub use credentials::MemoryCredentialStore;
pub use mail_queue::MemoryMailQueue;
pub use rate_limits::MemoryRateLimits;
pub use sessions::MemorySessionStore;
pub use throttle::MemoryThrottleStore;
