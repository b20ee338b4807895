//! In-memory stores: the embedded default for one process.
//!
//! Everything lives and dies with the process: a restart signs everyone out, forgets throttles
//! and queued letters, and brings back the directory's password of anyone who chose one. For
//! tests and throw-away demos. Every map here evicts what has expired, so memory stays bounded.

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
