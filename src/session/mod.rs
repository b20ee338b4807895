//! Sessions: the id, the stored record, the lifecycle, and the layer that puts a lazy
//! [`Session`] handle into every request.
//!
//! Guarantees:
//! * The id is 256 random bits from the OS; stores only ever see its SHA-256 hash.
//! * A new id is issued at every sign-in (and the old session destroyed), so a cookie planted
//!   before sign-in (session fixation) is never adopted.
//! * A session ends after `idle_timeout` without use, `absolute_timeout` after sign-in, at
//!   sign-out (server side: a replayed cookie finds nothing), and as soon as its account is
//!   disabled or its credential epoch moves.
//! * The last use is written back at most every quarter of the idle timeout, and then off the
//!   request path, so an authenticated request is one store read (one round trip on Redis). The idle timeout is therefore enforced
//!   with that granularity: a session can live up to `idle_timeout` after its last *recorded*
//!   use.
//! * Resolution is lazy: a request that never asks who is signed in costs no store access and
//!   no parsing. With stores that answer from process memory, an authenticated request is
//!   decided synchronously: one SHA-256 block and three map lookups.
//!
//! Non-guarantees: two concurrent requests of one session may both touch it (last write wins,
//! harmless); the cookie carries no expiry of its own (it is a browser-session cookie), so
//! ending a session is always the server's decision.

mod handle;
mod id;
mod layer;
pub(crate) mod lifecycle;
mod record;

#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "axum")]
pub use extract::IdentityRejection;

pub use handle::{Session, SessionState};
pub use id::SessionKey;
pub(crate) use id::{cookie_value, SessionCookie, SessionId};
pub use layer::{SessionLayer, SessionService};
pub use record::SessionRecord;

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
