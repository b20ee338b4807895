//! Where state lives: the traits guichet needs, and the in-memory implementations.
//!
//! | trait | holds | changes at run time |
//! | --- | --- | --- |
//! | [`Directory`] | accounts and clients: the read-only profile, usually the application's own database | no (guichet never writes it) |
//! | [`SessionStore`] | sessions, keyed by a hash of the session id | every sign-in, sign-out, and now and then a touch |
//! | [`CredentialStore`] | per account: a password hash set at run time, the credential epoch, a disabled flag | rehash, disable, "sign out everywhere" |
//! | [`ThrottleStore`] | failed sign-ins per user code | every failure; cleared on success |
//! | [`RateLimitStore`] | rate limits per client IP, user code, address, and in all | every sign-in and credential request |
//! | [`MailQueue`] | letters waiting for delivery (never a credential) | every credential request |
//!
//! Each method has one sharp meaning, so that the memory implementations here and the ones for
//! several processes (Redis) can be held to the same contract by one shared test suite
//! (`tests/store_contract.rs`).
//!
//! Every method can fail with [`StoreError`]; guichet then fails closed (`503`), never open.
//! No store ever receives a session id or a password in clear: sessions are keyed by
//! [`SessionKey`](crate::session::SessionKey), a BLAKE2b hash of the id, and passwords arrive
//! as argon2id PHC strings.

pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::identity::{Account, Email, UserCode};
use crate::limit::{Limit, Rate};
use crate::mail::Letter;
use crate::session::{SessionKey, SessionRecord};

/// The accounts guichet authenticates. Implement it over your own user database; the embedded
/// default is [`AccountsFile`](memory::AccountsFile), loaded from the portal's TOML file.
///
/// ```
/// use std::sync::Arc;
/// use guichet::{Account, Email, StoreError, UserCode};
/// use guichet::store::Directory;
///
/// struct MyUsers; // e.g. a database pool
///
/// #[async_trait::async_trait]
/// impl Directory for MyUsers {
///     async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
///         Ok(None) // SELECT ... WHERE user_code = $1
///     }
///     async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
///         Ok(Vec::new())
///     }
/// }
/// ```
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// The account with this (normalised) user code.
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError>;

    /// Every account whose stored address reaches the same mailbox as `email`, that is whose
    /// [`Email::normalised`] form is the same (case and `+tag` ignored). Shared-inbox detection
    /// counts them.
    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError>;
}

/// Sessions, keyed by the hash of their id.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session that expires after `ttl`. Returns `false`, and changes nothing, if
    /// the key already exists: a session is never overwritten by a new one.
    async fn create(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// The session, unless absent or past its `ttl`.
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError>;

    /// Records a use: stores `record` (the loaded one with a new `last_seen`) and extends the
    /// expiry to `ttl` from now, in one write. Does nothing if the session is gone (a touch
    /// never resurrects). Two concurrent touches of one session: the last write wins.
    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Deletes the session. Deleting an absent session is not an error.
    async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError>;
}

/// Credential state that changes at run time, per account. It must outlive a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Moves on every password change, disable and "sign out everywhere"; a session opened
    /// under another epoch is dead.
    pub epoch: u64,
    /// A PHC string set at run time (rehash, chosen password); it takes precedence over the
    /// directory's.
    pub password_hash: Option<Arc<str>>,
    /// Disabled at run time (the directory's status counts too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// A pending temporary password ("email me my password"), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary: Option<TemporaryCredential>,
}

impl Credentials {
    /// The pending temporary credential, if it is still usable at `now` (unix seconds): not
    /// expired, and issued under the current epoch.
    pub fn usable_temporary(&self, now: u64) -> Option<&TemporaryCredential> {
        self.temporary
            .as_ref()
            .filter(|t| t.expires_at > now && t.epoch == self.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_temporary_password_is_not_usable() {
        let credentials = Credentials {
            temporary: Some(TemporaryCredential {
                hash: Arc::from("$h"),
                expires_at: 1000,
                epoch: 0,
                cancel_key: String::new(),
            }),
            ..Credentials::default()
        };
        assert!(credentials.usable_temporary(999).is_some());
        assert!(credentials.usable_temporary(1000).is_none());
    }
}

/// A temporary password waiting to be used: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemporaryCredential {
    /// argon2id PHC string of the temporary password (canonical form).
    pub hash: Arc<str>,
    /// When it stops working, unix seconds.
    pub expires_at: u64,
    /// The account's credential epoch when it was issued; if the epoch moves, it is void.
    pub epoch: u64,
    /// Hex BLAKE2b-256 of the cancel token carried by the email's "this wasn't me" link.
    pub cancel_key: String,
}

/// Credential state per account.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// The account's state; the default state if nothing was ever stored.
    async fn credentials(&self, code: &UserCode) -> Result<Credentials, StoreError>;

    /// Replaces the run-time password hash with `new` if it is still `expected` (`None`: no
    /// run-time hash yet). Returns whether it did. The epoch does not move: this is for
    /// rehashing the same password, which must not sign anyone out.
    async fn replace_password_hash(
        &self,
        code: &UserCode,
        expected: Option<&str>,
        new: &str,
    ) -> Result<bool, StoreError>;

    /// Moves the epoch, ending every session and pending credential of the account.
    async fn bump_epoch(&self, code: &UserCode) -> Result<u64, StoreError>;

    /// Disables or re-enables the account; disabling moves the epoch too.
    async fn set_disabled(&self, code: &UserCode, disabled: bool) -> Result<(), StoreError>;

    /// Stores a temporary credential, replacing any pending one (a newer request wins).
    async fn issue_temporary(
        &self,
        code: &UserCode,
        temporary: &TemporaryCredential,
    ) -> Result<(), StoreError>;

    /// Removes the pending temporary credential if its hash is still `hash`, and says whether
    /// it did. Of two concurrent sign-ins with one temporary password, exactly one gets `true`:
    /// this is what makes a temporary password single-use.
    async fn take_temporary(&self, code: &UserCode, hash: &str) -> Result<bool, StoreError>;

    /// Removes the pending temporary credential if its `cancel_key` matches; says whether it did.
    async fn cancel_temporary(&self, code: &UserCode, cancel_key: &str)
        -> Result<bool, StoreError>;

    /// Records a password the person chose: the run-time hash becomes `hash`, any pending
    /// temporary credential is dropped, and the epoch moves (every other session ends).
    /// Returns the new epoch.
    async fn set_password(&self, code: &UserCode, hash: &str) -> Result<u64, StoreError>;
}

/// A letter taken from a [`MailQueue`], reserved for the taker until its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The queue's id for it.
    pub id: String,
    /// What to send.
    pub letter: Letter,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Letters waiting for delivery, with leases so that a crashed process loses nothing.
#[async_trait]
pub trait MailQueue: Send + Sync + 'static {
    /// Adds a letter, due now. Returns `false`, and adds nothing, when `capacity` letters are
    /// already waiting.
    async fn push(&self, letter: &Letter, capacity: usize) -> Result<bool, StoreError>;

    /// Takes the next due letter and leases it for `lease`: unless it is completed or
    /// rescheduled by then, it is due again and anyone may take it.
    async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, StoreError>;

    /// Removes a letter for good (delivered, or given up).
    async fn complete(&self, id: &str) -> Result<(), StoreError>;

    /// Counts one more failed attempt and makes the letter due again after `after`.
    async fn retry(&self, id: &str, after: Duration) -> Result<(), StoreError>;

    /// Letters waiting, due or not.
    async fn waiting(&self) -> Result<usize, StoreError>;
}

/// Rate limits with GCRA semantics (a burst of `rate.count()`, refilled evenly over
/// `rate.period()`): in process with governor, or shared between processes.
#[async_trait]
pub trait RateLimitStore: Send + Sync + 'static {
    /// Spends one allowance of `key` under `limit`, or says how long to wait.
    async fn check(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError>;
}

/// Failure counts for sign-in throttling, with [GCRA](crate::limit::gcra) semantics, keyed by
/// normalised user code (known or not).
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// How long `key` must wait under `rate`, or `None` if it may try now. Spends nothing.
    async fn peek(&self, key: &str, rate: Rate) -> Result<Option<Duration>, StoreError>;

    /// Spends one allowance (a failure).
    async fn spend(&self, key: &str, rate: Rate) -> Result<(), StoreError>;

    /// Forgets the key (a success).
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}
