//! Where state lives: the traits guichet needs, and the in-memory implementations.
//!
//! | trait | holds | changes at run time |
//! | --- | --- | --- |
//! | [`Directory`] | accounts and clients: the read-only profile, usually the application's own database | no (guichet never writes it) |
//! | [`SessionStore`] | sessions, keyed by a hash of the session id | every sign-in, sign-out, and now and then a touch |
//! | [`CredentialStore`] | per account, one versioned value ([`Credentials`]): a password set at run time, the credential epoch, a disabled flag, the last temporary password | rehash, chosen or temporary password, disable, "sign out everywhere" |
//! | [`ThrottleStore`] | sign-in attempts per user code | every attempt, before the password is checked; cleared on success |
//! | [`RateLimitStore`] | rate limits per client IP, user code, address, and in all | every sign-in and credential request |
//! | [`MailQueue`] | letters waiting for delivery (never a credential) | every credential request |
//!
//! Each method has one sharp meaning, so that the memory implementations here and the ones for
//! several processes (Redis) can be held to the same contract by one test suite, public as
//! `store::contract` with the `test-util` feature for stores written elsewhere.
//!
//! Every method can fail with [`StoreError`]; guichet then fails closed (`503`), never open.
//! No store ever receives a session id or a password in clear: sessions are keyed by
//! [`SessionKey`], a SHA-256 hash of the id, and passwords arrive
//! as argon2id PHC strings.

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
mod cache;
#[cfg(feature = "test-util")]
pub mod contract;
mod credentials;
pub mod memory;
pub(crate) mod records;
#[cfg(feature = "redis")]
pub mod redis;
mod requests;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;

use std::sync::Arc;
use std::time::Duration;

// Everything a store implementation names, in one place: `use guichet::store::*;`.
/// The attribute the store traits are written with, re-exported so that a store needs no
/// `async-trait` dependency of its own: `#[guichet::store::async_trait]`.
pub use async_trait::async_trait;

pub use crate::error::{StoreError, StoreErrorKind};
pub use crate::identity::{Account, AccountStatus, Client, Email, ServiceName, UserCode};
pub use crate::limit::{Limit, Rate};
pub use crate::mail::{Letter, LetterKind};
pub use crate::session::{SessionKey, SessionRecord};

pub(crate) use credentials::{update, Change};

/// The hasher of in-process maps whose keys no client can aim (SHA-256 outputs, accounts that
/// exist): foldhash, faster than the standard SipHash on the signed-in path. Maps whose keys a
/// client chooses keep SipHash.
pub(crate) type QuickHasher = foldhash::fast::RandomState;
pub use credentials::{Credentials, Versioned};
pub use requests::{CodeRequest, NewPerson, RequestStatus};

/// The accounts guichet authenticates. Implement it over your own user database; or let a
/// store that keeps accounts be the directory too.
///
/// Over SQL: `accounts_with_email` compares mailboxes, not spellings (case, `+tags`, quoting
/// and IDN forms differ between spellings of one mailbox), which SQL cannot compute; keep
/// [`Email::normalised`] in a column of its own, written whenever the address is, and look it
/// up there. A row whose stored address no longer parses is left out of the answer (and logged
/// by you): it cannot receive mail, and it must not make the lookup fail for everyone else.
///
/// ```
/// use std::sync::Arc;
/// use guichet::store::{async_trait, Account, Directory, Email, StoreError, UserCode};
///
/// struct MyUsers; // e.g. a database pool
///
/// #[async_trait]
/// impl Directory for MyUsers {
///     async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
///         // SELECT name, email, client, services, password_hash FROM users WHERE code = $1
///         let row = Some(("Marie Tremblay", "marie@acme.example", "acme"));
///         Ok(row.map(|(name, email, client)| {
///             let mut account = Account::new(code.clone(), name, client)
///                 .with_services(["collection"]);
///             if let Ok(email) = Email::parse(email) {
///                 account = account.with_email(email);
///             }
///             Arc::new(account)
///         }))
///     }
///
///     async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
///         // SELECT ... FROM users WHERE email_normalised = $1, with email.normalised()
///         let _ = email.normalised();
///         Ok(Vec::new())
///     }
///
///     // Optional: chosen and rehashed passwords are written back to the table.
///     async fn save_password_hash(
///         &self,
///         code: &UserCode,
///         hash: Option<&str>,
///     ) -> Result<bool, StoreError> {
///         // UPDATE users SET password_hash = $2 WHERE code = $1
///         let _ = (code, hash);
///         Ok(true)
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

    /// The account, if the directory can tell without waiting (it keeps accounts in process
    /// memory, or in a cache): then a signed-in request costs no allocation and no task
    /// switch. `None` (the default) means "ask [`account`](Self::account)".
    fn account_now(&self, code: &UserCode) -> Option<Result<Option<Arc<Account>>, StoreError>> {
        let _ = code;
        None
    }

    /// The client with this identifier: its contact person may ask for user codes for new
    /// employees (`/auth/team`). The default knows no client, so nobody is a contact person.
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        let _ = id;
        Ok(None)
    }

    /// Keeps the password now in force for this account (`None`: it has none) in the
    /// directory, for an application whose own table holds password hashes and must stay the
    /// one source of truth. guichet calls it after a password is chosen, changed online,
    /// rehashed with newer parameters, or restored by "this wasn't me". Return `Ok(true)` when
    /// the directory kept it.
    ///
    /// The default keeps nothing (`Ok(false)`): run-time passwords then live in guichet's
    /// credential store only, beside the directory's, and a directory hash an operator changes
    /// later still wins. Either way guichet's credential store stays authoritative for what it
    /// records, so a failed write here (logged) loses nothing: the directory holding the hash
    /// guichet set is recognised as the same password, never as an operator's change.
    async fn save_password_hash(
        &self,
        code: &UserCode,
        hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let _ = (code, hash);
        Ok(false)
    }
}

/// A directory guichet can write: accounts and clients that operators and contact persons
/// create, and that `GUICHET_USERS` files are imported into. guichet's own stores (memory, SQL,
/// Redis) implement it; an application with its own user table implements [`Directory`] alone.
#[async_trait]
pub trait AccountStore: Directory {
    /// Every client, ordered by identifier.
    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError>;

    /// Creates the client, or replaces the one with the same identifier.
    async fn put_client(&self, client: &Client) -> Result<(), StoreError>;

    /// Accounts ordered by code, those of `client` only if given, in pages: at most `limit`,
    /// starting after the code `after` (so a directory of a million accounts is walked, never
    /// loaded whole).
    async fn accounts(
        &self,
        client: Option<&str>,
        after: Option<&UserCode>,
        limit: usize,
    ) -> Result<Vec<Arc<Account>>, StoreError>;

    /// Creates the account if its code is free; `false`, and nothing changes, if it is taken
    /// (so two operators approving at once cannot give one code twice).
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError>;

    /// Creates the account, or replaces the one with the same code; returns the one replaced.
    async fn put_account(&self, account: &Account) -> Result<Option<Arc<Account>>, StoreError>;

    /// [`put_account`](Self::put_account) for many at once (an import): a store that can write
    /// them in one transaction, or in batches, does. The default puts them one by one.
    async fn put_accounts(&self, accounts: &[Account]) -> Result<(), StoreError> {
        for account in accounts {
            self.put_account(account).await?;
        }
        Ok(())
    }
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

    /// [`load`](Self::load), if the store can answer without waiting (from process memory or a
    /// cache); `None` (the default) means "ask `load`".
    fn load_now(&self, key: &SessionKey) -> Option<Result<Option<SessionRecord>, StoreError>> {
        let _ = key;
        None
    }

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

    /// The stored sessions of `code` that are not past their time to live (for operators;
    /// whether each is still alive, given the account's epoch, is guichet's to judge).
    async fn sessions_of(&self, code: &UserCode) -> Result<Vec<SessionRecord>, StoreError>;
}

/// Run-time credential state per account, as an opaque versioned value ([`Credentials`]).
///
/// Two methods with one sharp meaning: read the state with its version, and replace it only if
/// the version did not move. Every rule about credentials (a temporary password works once,
/// "this wasn't me" undoes what it opened, a chosen password moves the epoch, ...) is applied by
/// guichet on top of that compare-and-swap, so it holds for every store alike.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// The account's state and its version; the default state with version 0 if nothing was
    /// ever stored.
    async fn credentials(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError>;

    /// [`credentials`](Self::credentials), if the store can answer without waiting; `None`
    /// (the default) means "ask `credentials`".
    fn credentials_now(
        &self,
        code: &UserCode,
    ) -> Option<Result<Versioned<Credentials>, StoreError>> {
        let _ = code;
        None
    }

    /// Stores `state` if the account's version is still `version` (0: nothing stored yet) and
    /// moves the version on; says whether it did. Of two writers that read the same version,
    /// exactly one succeeds.
    async fn save_credentials(
        &self,
        code: &UserCode,
        version: u64,
        state: &Credentials,
    ) -> Result<bool, StoreError>;
}

/// A letter taken from a [`MailQueue`], reserved for the taker until its lease runs out.
/// Stores make one with [`Claimed::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claimed {
    /// The queue's id for it.
    pub id: String,
    /// What to send.
    pub letter: Letter,
    /// Failed attempts so far.
    pub attempts: u32,
}

impl Claimed {
    /// A claimed letter: the queue's `id` for it, the letter, and its failed attempts so far.
    pub fn new(id: impl Into<String>, letter: Letter, attempts: u32) -> Self {
        Self {
            id: id.into(),
            letter,
            attempts,
        }
    }
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

/// Contact persons' requests for user codes for new employees, kept until an operator decides.
#[async_trait]
pub trait RequestStore: Send + Sync + 'static {
    /// Stores a new request. `false`, and nothing changes, if its id is taken.
    async fn add_request(&self, request: &CodeRequest) -> Result<bool, StoreError>;

    /// The request with this id.
    async fn request(&self, id: &str) -> Result<Option<CodeRequest>, StoreError>;

    /// Every request, oldest first; only those still waiting unless `all`.
    async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, StoreError>;

    /// Replaces the request with `decided` if it is still waiting; `false` if it was decided
    /// meanwhile (so two operators cannot both approve one request).
    async fn decide_request(&self, decided: &CodeRequest) -> Result<bool, StoreError>;
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

/// Sign-in throttles per user code (known or not), with GCRA semantics:
/// like [`RateLimitStore`], and a success clears them.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Spends one allowance of `key` under `limit` if one is left and returns `None`, in one
    /// atomic step; otherwise spends nothing and returns how long to wait. A sign-in reserves
    /// its attempt before the password is checked, so concurrent attempts cannot all slip in.
    async fn reserve(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError>;

    /// How long `key` must wait before an attempt would be admitted, spending nothing; `None`
    /// when one would be now. (For operators: `guichet accounts show` says "throttled".)
    async fn peek(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError>;

    /// Forgets the key (a success).
    async fn clear(&self, limit: Limit, key: &str) -> Result<(), StoreError>;
}

/// Every kind of run-time state guichet keeps, in one place: what
/// [`GuichetBuilder::store`](crate::GuichetBuilder::store) takes. [`MemoryStore`](memory::MemoryStore)
/// (one process, forgets at exit) and the Redis and SQL stores implement it; a store of your
/// own implements the five traits and then `impl Store for MyStore {}`.
#[async_trait]
pub trait Store:
    SessionStore + CredentialStore + ThrottleStore + RateLimitStore + MailQueue + RequestStore
{
    /// A session and the credential state of the account it claims: what every signed-in
    /// request needs. The default asks both at once; a store that can answer both in one
    /// round trip (one query, one pipeline) does so.
    async fn session_and_credentials(
        &self,
        key: &SessionKey,
        code: &UserCode,
    ) -> Result<(Option<SessionRecord>, Versioned<Credentials>), StoreError> {
        let (session, credentials) = tokio::join!(self.load(key), self.credentials(code));
        Ok((session?, credentials?))
    }
}

/// A shared store is a store, so one can serve several [`Guichet`](crate::Guichet)s (or be
/// kept by the application to look at it).
macro_rules! shared {
    ($($trait:ident {
        $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty;)*
        $(fn $now:ident(&self $(, $now_arg:ident: $now_ty:ty)*) -> $now_out:ty;)*
    })*) => {
        $(
            #[async_trait]
            impl<T: $trait + ?Sized> $trait for Arc<T> {
                $(
                    async fn $method(&self $(, $arg: $ty)*) -> $out {
                        (**self).$method($($arg),*).await
                    }
                )*
                $(
                    fn $now(&self $(, $now_arg: $now_ty)*) -> $now_out {
                        (**self).$now($($now_arg),*)
                    }
                )*
            }
        )*
    };
}

shared! {
    Directory {
        async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError>;
        async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError>;
        async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError>;
        async fn save_password_hash(&self, code: &UserCode, hash: Option<&str>) -> Result<bool, StoreError>;
        fn account_now(&self, code: &UserCode) -> Option<Result<Option<Arc<Account>>, StoreError>>;
    }
    AccountStore {
        async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError>;
        async fn put_client(&self, client: &Client) -> Result<(), StoreError>;
        async fn accounts(&self, client: Option<&str>, after: Option<&UserCode>, limit: usize) -> Result<Vec<Arc<Account>>, StoreError>;
        async fn create_account(&self, account: &Account) -> Result<bool, StoreError>;
        async fn put_account(&self, account: &Account) -> Result<Option<Arc<Account>>, StoreError>;
        async fn put_accounts(&self, accounts: &[Account]) -> Result<(), StoreError>;
    }
    RequestStore {
        async fn add_request(&self, request: &CodeRequest) -> Result<bool, StoreError>;
        async fn request(&self, id: &str) -> Result<Option<CodeRequest>, StoreError>;
        async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, StoreError>;
        async fn decide_request(&self, decided: &CodeRequest) -> Result<bool, StoreError>;
    }
    SessionStore {
        async fn create(&self, key: &SessionKey, record: &SessionRecord, ttl: Duration) -> Result<bool, StoreError>;
        async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError>;
        async fn touch(&self, key: &SessionKey, record: &SessionRecord, ttl: Duration) -> Result<(), StoreError>;
        async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError>;
        async fn sessions_of(&self, code: &UserCode) -> Result<Vec<SessionRecord>, StoreError>;
        fn load_now(&self, key: &SessionKey) -> Option<Result<Option<SessionRecord>, StoreError>>;
    }
    CredentialStore {
        async fn credentials(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError>;
        async fn save_credentials(&self, code: &UserCode, version: u64, state: &Credentials) -> Result<bool, StoreError>;
        fn credentials_now(&self, code: &UserCode) -> Option<Result<Versioned<Credentials>, StoreError>>;
    }
    ThrottleStore {
        async fn reserve(&self, limit: Limit, key: &str, rate: Rate) -> Result<Option<Duration>, StoreError>;
        async fn peek(&self, limit: Limit, key: &str, rate: Rate) -> Result<Option<Duration>, StoreError>;
        async fn clear(&self, limit: Limit, key: &str) -> Result<(), StoreError>;
    }
    RateLimitStore {
        async fn check(&self, limit: Limit, key: &str, rate: Rate) -> Result<Option<Duration>, StoreError>;
    }
    MailQueue {
        async fn push(&self, letter: &Letter, capacity: usize) -> Result<bool, StoreError>;
        async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, StoreError>;
        async fn complete(&self, id: &str) -> Result<(), StoreError>;
        async fn retry(&self, id: &str, after: Duration) -> Result<(), StoreError>;
        async fn waiting(&self) -> Result<usize, StoreError>;
    }
}

#[async_trait]
impl<T: Store + ?Sized> Store for Arc<T> {
    async fn session_and_credentials(
        &self,
        key: &SessionKey,
        code: &UserCode,
    ) -> Result<(Option<SessionRecord>, Versioned<Credentials>), StoreError> {
        (**self).session_and_credentials(key, code).await
    }
}
