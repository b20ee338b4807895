//! SQL stores: every piece of guichet's state in a SQLite file or a PostgreSQL database, and
//! the directory of accounts and clients too. One [`SqlStore`] implements
//! [`Store`](crate::store::Store), [`Directory`](crate::store::Directory) and
//! [`AccountStore`](crate::store::AccountStore), and passes the same contract as the memory
//! and Redis stores.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use guichet::store::sql::SqlStore;
//!
//! // A file beside the portal (created if missing), or `postgres://guichet@db:5432/portal`.
//! let store = SqlStore::connect("sqlite://guichet.db").await?;
//! # let config = guichet::Config::default();
//! let guichet = guichet::Guichet::builder()
//!     .config(config)
//!     .base_url("https://portal.example")
//!     .store(store.clone())
//!     .directory(store)
//!     .mailer(guichet::mail::SmtpMailer::from_url("smtp://127.0.0.1:2525")?)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! | URL | feature | |
//! | --- | --- | --- |
//! | `sqlite://guichet.db`, `sqlite:///var/lib/portal/guichet.db` | `sqlite` (default) | a file, relative to the working directory unless the path is absolute; created if missing, readable by its owner only (its folder is not created). `sqlite::memory:` is refused: each pooled connection would see a database of its own. |
//! | `postgres://user@host:port/db`, `postgresql://...` | `postgres` (default) | plain TCP or a Unix socket (`?host=/run/postgresql`); no TLS is built in, so `sslmode=require` is refused. |
//!
//! ## Schema
//!
//! Every table is named `guichet_*`, so guichet can share a database with the application.
//! Times are microseconds since the Unix epoch (`BIGINT`), except a session's own times, which
//! are unix seconds as [`SessionRecord`](crate::session::SessionRecord) keeps them. Nothing
//! secret is stored in clear: sessions are stored under the SHA-256 hash of their id, and
//! passwords only as argon2id PHC strings (temporary ones as digests, inside the credential
//! state).
//!
//! | table | columns | indexes | expires |
//! | --- | --- | --- | --- |
//! | `guichet_sessions` | `session_key` (32 bytes: `BLOB`/`BYTEA`, key), `user_code`, `epoch`, `created_at`, `last_seen`, `restricted` (the temporary password's cancel key hash, or `NULL`), `expires_at` | `user_code` (`sessions_of`), `expires_at` (reaper) | yes: not read after `expires_at`, deleted by the reaper |
//! | `guichet_credentials` | `user_code` (key), `version`, `state` (JSON of [`Credentials`](crate::store::Credentials)) | | no (see below) |
//! | `guichet_limits` | `limit_name`, `limit_key` (key together), `tat` (GCRA theoretical arrival time) | `tat` (reaper) | yes: deleted by the reaper once `tat` is past (the allowance is full again) |
//! | `guichet_letters` | `id` (never reused), `letter` (JSON of a [`Letter`](crate::mail::Letter): never a credential), `due_at` (also the lease), `attempts` | `(due_at, id)` | no: emptied as letters go, bounded by `mail.queue_capacity` |
//! | `guichet_requests` | `id` (key), `status` (`pending`, `approved`, `rejected`), `created_at` (unix seconds), `request` (JSON of the whole [`CodeRequest`](crate::store::CodeRequest)) | `(status, created_at, id)`, `(created_at, id)` | no: kept for the operators |
//! | `guichet_clients` | `id` (key), `name`, `contact`, `services` (JSON array) | | no |
//! | `guichet_accounts` | `user_code` (key), `name`, `email`, `mailbox` ([`Email::normalised`](crate::identity::Email::normalised) of `email`), `client`, `services` (JSON array), `password_hash`, `status` (`active`, `disabled`), `shared_inbox` | `mailbox` (shared inboxes), `(client, user_code)` (a client's accounts) | no |
//! | `guichet_migrations` | `version` (key), `name`, `applied_at` | | no |
//!
//! Credential state never expires, on purpose: it is one row per account that changed at run
//! time, bounded by the directory, and deleting it would bring back a password the person
//! replaced (a temporary password in it expires by its own date). On PostgreSQL, codes and
//! identifiers are `COLLATE "C"`, so accounts page in byte order as on SQLite and in memory.
//!
//! ## Time and atomicity
//!
//! Every read-modify-write is one statement, or one transaction:
//!
//! | operation | how |
//! | --- | --- |
//! | `save_credentials` | `UPDATE ... SET version = version + 1 WHERE user_code = $1 AND version = $2`; version 0 is `INSERT ... ON CONFLICT DO NOTHING`, whose conflict means another writer was first |
//! | `reserve`, `check` (GCRA) | one `INSERT ... ON CONFLICT DO UPDATE SET tat = max(tat, now) + interval WHERE tat - tolerance <= now RETURNING tat`: a refusal matches no row and writes nothing; only then a second statement reads how long to wait |
//! | `claim` | `UPDATE ... WHERE id = (SELECT id ... WHERE due_at <= now ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ...` (without `FOR UPDATE SKIP LOCKED` on SQLite, where the statement holds the write lock) |
//! | `push` | `INSERT ... SELECT ... WHERE (SELECT count(*) ...) < capacity`; on PostgreSQL inside a transaction holding an advisory lock, so two pushes cannot both see room for one |
//! | `create`, `create_account`, `add_request` | `INSERT ... ON CONFLICT DO NOTHING` (a session may take the key of an expired one) |
//! | `touch` | `UPDATE ... WHERE session_key = $1 AND expires_at > now`: never resurrects |
//! | `decide_request` | `UPDATE ... WHERE id = $1 AND status = 'pending'` |
//! | `put_account` | a transaction reading the account replaced (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` takes the write lock first) and upserting it |
//! | `put_accounts` | one transaction, 500 accounts per `INSERT ... ON CONFLICT DO UPDATE`, in code order (two importers lock rows in one order: no deadlock) |
//! | `session_and_credentials` | one `SELECT` with two `LEFT JOIN`s: the session by key, the credential state by code |
//!
//! PostgreSQL statements read the clock in SQL (`statement_timestamp()`), so replicas with
//! skewed clocks agree on limits, leases and expiries. SQLite statements read this machine's
//! clock through SQLite (`unixepoch('subsec')`, millisecond precision): every process using
//! the file shares it.
//!
//! ## The read cache
//!
//! A signed-in request needs three answers: its session, its account and the account's
//! credential state. [`SqlStore`] keeps those it read in the last [`DEFAULT_CACHE_TTL`]
//! (one second) in process memory and answers `load_now`, `account_now` and
//! `credentials_now` from there, so a request decides without waiting for the database.
//! Writes made through this process (sign-out, password change, disable, account edits) update
//! or drop the entries they touch before they return; **writes made by another process (another
//! portal replica, an operator's command line) are seen within the TTL** — during that second
//! an ended session may still be let in here. The compare-and-swap of credential state never
//! reads the cache. Each kind holds at most 4096 entries, so memory does not grow with the
//! number of accounts. [`SqlStore::with_cache_ttl`] changes the TTL; `Duration::ZERO` turns
//! the cache off (every request then asks the database: two statements, run at once).
//!
//! ## SQLite
//!
//! The file is in WAL mode, so readers (four connections) never wait for the writer (one
//! connection: writes are queued in process rather than spun on SQLite's lock), and another
//! process (an operator's command line, a second portal) can use the same file at the same
//! time; a write waits up to 5 s for another process's (`busy_timeout`) before failing with
//! [`StoreErrorKind::Timeout`](crate::error::StoreErrorKind::Timeout). `synchronous=NORMAL`:
//! a commit is durable once the operating system has it, so a crash of the process loses
//! nothing, but a power loss or a kernel crash may roll back the last transactions (the file
//! stays consistent): sessions opened or ended, throttle counts, and credential changes of the
//! last moments before the outage.
//!
//! ## PostgreSQL, and failures
//!
//! A pool of up to 10 connections, opened as needed. A connection is waited for at most 1 s
//! (new or pooled: a database that is down fails requests within a second, never after a TCP
//! timeout), and statements are cancelled after 3 s (`statement_timeout`, `lock_timeout`).
//! Every failure is a [`StoreError`] (guichet then fails closed, `503`), of kind `Unavailable`
//! (no connection could be had, or it broke), `Timeout`, `Corrupt` (a row that does not read
//! as the schema says: never a half-read session or account), `Contention` (deadlock) or
//! `Other`. Broken connections are dropped and new ones opened as requests come: service
//! resumes by itself when the database is back.
//!
//! ## Housekeeping
//!
//! The schema is created and migrated at [`SqlStore::connect`] (embedded migrations, each
//! once, in a transaction under a lock only one process holds: two processes may start at
//! once). A background task, started by `connect` when it runs inside a tokio runtime and
//! stopped when the last clone of the store is dropped, deletes expired sessions and refilled
//! limits every minute, in batches of 1000 rows ([`SqlStore::reap_now`] does it at once).

mod credentials;
mod directory;
mod limits;
mod mail_queue;
mod migrations;
mod pool;
mod reaper;
mod requests;
mod sessions;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::StoreError;

/// How long the read cache keeps an answer by default: see [the module docs](self#the-read-cache).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(1);

/// guichet's state in a SQLite file or a PostgreSQL database; see [the module docs](self).
/// Cheap to clone: clones share the connections, the cache and the reaper.
#[derive(Clone)]
pub struct SqlStore {
    inner: Arc<Inner>,
}

struct Inner {
    pools: pool::Pools,
    cache: crate::store::cache::Caches,
    /// Tells the reaper to stop when the last store goes.
    stop: Arc<Notify>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

impl SqlStore {
    /// Opens the database at `url` (`sqlite://...` or `postgres://...`; see
    /// [the module docs](self)), creates or migrates its schema, and starts the reaper when
    /// called inside a tokio runtime. Fails for an unknown scheme, a backend this build does
    /// not include (the `sqlite` and `postgres` features), or a database that cannot be
    /// reached or migrated.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::open(url).await?.0)
    }

    /// [`connect`](Self::connect), and the reaper's task if one was started.
    async fn open(url: &str) -> Result<(Self, Option<tokio::task::JoinHandle<()>>), StoreError> {
        let pools = pool::open(url).await?;
        migrations::migrate(&pools).await?;
        let stop = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            pools,
            cache: crate::store::cache::Caches::new(DEFAULT_CACHE_TTL),
            stop: Arc::clone(&stop),
        });
        let reaper = reaper::spawn(&inner, stop);
        Ok((Self { inner }, reaper))
    }

    /// Sets how long the read cache keeps answers ([`DEFAULT_CACHE_TTL`] unless set), for this
    /// store and its clones; `Duration::ZERO` turns the cache off. This is also how long a
    /// write by another process may go unseen here.
    pub fn with_cache_ttl(self, ttl: Duration) -> Self {
        self.inner.cache.set_ttl(ttl);
        self
    }

    /// Deletes expired sessions and refilled limits now, as the reaper does every minute;
    /// returns how many rows went.
    pub async fn reap_now(&self) -> Result<u64, StoreError> {
        reaper::reap(&self.inner.pools).await
    }

    fn pools(&self) -> &pool::Pools {
        &self.inner.pools
    }

    fn cache(&self) -> &crate::store::cache::Caches {
        &self.inner.cache
    }
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.inner.pools {
            #[cfg(feature = "sqlite")]
            pool::Pools::Sqlite { .. } => "sqlite",
            #[cfg(feature = "postgres")]
            pool::Pools::Postgres(_) => "postgres",
        };
        f.debug_struct("SqlStore")
            .field("backend", &backend)
            .field("cache_ttl", &self.inner.cache.ttl())
            .finish()
    }
}
