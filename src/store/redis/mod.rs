//! Redis stores: several processes (replicas behind a load balancer) share sessions,
//! credential state, sign-in throttles, rate limits and the mail queue, and behave exactly as
//! one process with the memory stores would (the same contract suite runs against both).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use guichet::store::redis::RedisStore;
//!
//! let redis = RedisStore::connect("redis://127.0.0.1:6379", "guichet").await?;
//! # let config = guichet::Config::default();
//! let guichet = guichet::Guichet::builder()
//!     .config(config)
//!     .base_url("https://portal.example")
//!     .store(redis)
//!     .directory(guichet::store::memory::AccountsFile::demo())
//!     .mailer(guichet::mail::SmtpMailer::from_url("smtp://127.0.0.1:2525")?)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! ## Keys
//!
//! Everything lives under one prefix (`guichet` above). Keys that a script touches together
//! share a hash tag (`{...}`), so every operation also works on Redis Cluster.
//!
//! | key | type | expiry | what |
//! | --- | --- | --- | --- |
//! | `P:s:<32 bytes>` | string (JSON) | idle timeout, capped by the absolute one | a session, under the SHA-256 hash of its id |
//! | `P:c:<code>` | hash `v` (version), `s` (JSON) | none (see below) | run-time credential state of an account, replaced by compare-and-swap on `v` |
//! | `P:l:<limit>:<key>` | string (TAT, µs) | when the allowance is full again | a rate limit or a sign-in throttle (GCRA) |
//! | `{P:mail}:due` | sorted set id → due time (ms) | none: emptied as letters go | letters and their leases |
//! | `{P:mail}:letters`, `{P:mail}:attempts` | hashes | none: bounded by `mail.queue_capacity` | the letters (never a credential) and their failed attempts |
//! | `{P:mail}:seq` | counter | none | letter ids |
//!
//! Every key that can grow with traffic expires. Two kinds do not, on purpose: credential
//! state is one hash per account that changed at run time, bounded by the directory, and
//! letting it expire would bring back a password the person replaced (a temporary password in
//! it expires by its own date); the mail queue is bounded by its capacity and empties itself.
//!
//! ## Time and atomicity
//!
//! Every read-modify-write is one Lua script (one round trip, atomic). Scripts read the clock
//! with `TIME`, so replicas with skewed clocks still agree on limits and leases.
//!
//! Without client-side caching, every read goes to Redis. What is kept in the process is
//! only the parsed form of accounts and session records, beside the bytes they were parsed
//! from (the last version of each, at most 4,096): bytes just read are compared with those, so
//! nothing is ever stale, and an unchanged record is not parsed again on every request.
//!
//! ## Client-side caching
//!
//! [`RedisStore::connect_caching`] keeps the three answers a signed-in request needs (its
//! session, its account, the account's credential state; at most 4,096 of each, 10 s at most)
//! in process memory, and decides the request from there without an `await`. A second
//! connection subscribes to changes of those keys (`CLIENT TRACKING ON BCAST` with the
//! prefixes `P:s:`, `P:c:` and the key `{P:acc}:a`, RESP3), and each key Redis pushes is
//! forgotten as the push is read; this process's own writes forget theirs before they return.
//! Every half second both connections are asked which server they reach. Nothing is answered
//! from memory more than 2 s after the last check that found them agreeing was sent, nor while
//! the second connection (named `guichet-tracking` in `CLIENT LIST`) is down; when the main
//! connection was made again between two checks, the caches are emptied. `SWAPDB` is not seen
//! (Redis pushes nothing for it). On a cluster, [`RedisStore::connect_cluster_caching`] uses
//! the redis crate's own client-side cache instead (per node tracking, read through the
//! asynchronous path).
//!
//! ## Failures
//!
//! Connections are multiplexed and reconnect by themselves (the redis crate's connection
//! manager, or its cluster client), with 1 s connection and response timeouts. While Redis
//! cannot answer, every request that needs it gets `503` with `Retry-After` (never access,
//! never a panic), and service resumes on its own when Redis is back.

mod credentials;
mod directory;
mod limits;
mod mail_queue;
mod memo;
mod requests;
mod scripts;
mod sessions;
mod tracking;

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::error::{StoreError, StoreErrorKind};

/// How long to wait for a connection or an answer before failing closed.
const TIMEOUT: Duration = Duration::from_secs(1);

/// One Redis (or Redis Cluster) connection and a key prefix; implements every guichet store.
/// Cheap to clone: clones share the multiplexed connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    prefix: String,
    /// Accounts already parsed, with their JSON, by code.
    accounts: memo::Memo<crate::identity::UserCode, std::sync::Arc<crate::identity::Account>>,
    /// Session records already parsed, with their JSON, by session key.
    sessions: memo::Memo<crate::session::SessionKey, crate::session::SessionRecord>,
    /// With client-side caching on one server: the answers kept, and whether Redis is telling
    /// what changes (`None` without caching, and on a cluster, where the redis crate caches).
    tracking: Option<std::sync::Arc<tracking::Tracking>>,
}

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisStore {
    /// Connects to one Redis server (`redis://host:port/db`, `rediss://` for TLS is not built
    /// in). The connection is made lazily: a store made while Redis is down works as soon as
    /// Redis is up, and fails closed until then.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Ok(Self::with(Connection::Single(Self::manager(url)?), prefix))
    }

    /// The multiplexed connection to one server, made lazily.
    fn manager(url: &str) -> Result<ConnectionManager, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::new)?;
        ConnectionManager::new_lazy_with_config(client, Self::manager_config())
            .map_err(StoreError::new)
    }

    /// Like [`connect`](Self::connect), with Redis 6+ server-assisted client-side caching: a
    /// signed-in request is decided from process memory (its session, its account and the
    /// account's credential state, as last read), without waiting for Redis. A second
    /// connection asks Redis to push the name of every such key that anyone changes
    /// (`CLIENT TRACKING ON BCAST`, RESP3), and the entry is forgotten as the push arrives:
    /// a sign-out or a disable on any replica takes effect here as soon as that message does
    /// (well under a millisecond on a quiet LAN, more under load; during that window this
    /// replica may still accept the ended session). While that connection is down nothing is
    /// served from memory, and nothing is served more than 2 s after the last check that
    /// Redis still pushes its changes here. See the module docs.
    pub async fn connect_caching(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let manager = Self::manager(url)?;
        let mut store = Self::with(Connection::Single(manager.clone()), prefix);
        let pushes = redis::IntoConnectionInfo::into_connection_info(url)
            .map(|info| {
                let resp3 = info
                    .redis_settings()
                    .clone()
                    .set_protocol(redis::ProtocolVersion::RESP3);
                info.set_redis_settings(resp3)
            })
            .and_then(redis::Client::open)
            .map_err(StoreError::new)?;
        let tracking = std::sync::Arc::new(tracking::Tracking::new(
            &store.prefix,
            store.accounts_key("a"),
        ));
        tokio::spawn(tracking::follow(
            pushes,
            manager,
            std::sync::Arc::downgrade(&tracking),
        ));
        store.tracking = Some(tracking);
        Ok(store)
    }

    fn manager_config() -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
    }

    /// Connects to a Redis Cluster through any of its nodes.
    pub async fn connect_cluster(nodes: &[&str], prefix: &str) -> Result<Self, StoreError> {
        Self::cluster(Self::cluster_builder(nodes), prefix).await
    }

    /// Like [`connect_cluster`](Self::connect_cluster), with client-side caching as in
    /// [`connect_caching`](Self::connect_caching): each node tracks the keys this process read
    /// from it and pushes their invalidation (RESP3).
    pub async fn connect_cluster_caching(nodes: &[&str], prefix: &str) -> Result<Self, StoreError> {
        let builder = Self::cluster_builder(nodes)
            .use_protocol(redis::ProtocolVersion::RESP3)
            .cache_config(redis::caching::CacheConfig::new());
        Self::cluster(builder, prefix).await
    }

    fn cluster_builder(nodes: &[&str]) -> redis::cluster::ClusterClientBuilder {
        ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(TIMEOUT)
            .response_timeout(TIMEOUT)
    }

    async fn cluster(
        builder: redis::cluster::ClusterClientBuilder,
        prefix: &str,
    ) -> Result<Self, StoreError> {
        let client = builder.build().map_err(StoreError::new)?;
        let connection = client
            .get_async_connection()
            .await
            .map_err(StoreError::new)?;
        Ok(Self::with(Connection::Cluster(connection), prefix))
    }

    fn with(connection: Connection, prefix: &str) -> Self {
        Self {
            connection,
            prefix: prefix.trim_end_matches(':').to_owned(),
            accounts: memo::Memo::default(),
            sessions: memo::Memo::default(),
            tracking: None,
        }
    }

    /// A read about to be sent, whose answers the cache may keep (with client-side caching).
    fn begin_read(&self) -> Option<tracking::Read<'_>> {
        self.tracking.as_deref().map(tracking::Tracking::begin)
    }

    /// A connection handle for one operation.
    fn conn(&self) -> Connection {
        self.connection.clone()
    }

    /// `P:<kind>:<rest>`.
    fn key(&self, kind: &str, rest: &str) -> String {
        format!("{}:{kind}:{rest}", self.prefix)
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match (&self.connection, &self.tracking) {
            (Connection::Single(_), None) => "single",
            (Connection::Single(_), Some(_)) => "single, caching",
            (Connection::Cluster(_), _) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("connection", &kind)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// An authenticated request's two reads, pipelined: one round trip.
#[async_trait::async_trait]
impl crate::store::Store for RedisStore {
    async fn session_and_credentials(
        &self,
        key: &crate::session::SessionKey,
        code: &crate::identity::UserCode,
    ) -> Result<
        (
            Option<crate::session::SessionRecord>,
            crate::store::Versioned<crate::store::Credentials>,
        ),
        StoreError,
    > {
        use crate::store::{CredentialStore, SessionStore};
        if let Connection::Cluster(_) = self.connection {
            // The two keys live in different slots: two commands, sent at once.
            let (session, credentials) = tokio::join!(self.load(key), self.credentials(code));
            return Ok((session?, credentials?));
        }
        let read = self.begin_read();
        let (session, version, state): (Option<Vec<u8>>, Option<u64>, Option<Vec<u8>>) =
            redis::pipe()
                .cmd("GET")
                .arg(self.session_key(key))
                .cmd("HMGET")
                .arg(self.credentials_key(code))
                .arg("v")
                .arg("s")
                .query_async(&mut self.conn())
                .await
                .map(|(session, (version, state))| (session, version, state))
                .map_err(unavailable)?;
        let session = self.session_record(key, session);
        let state = credentials::decode(code, version, state)?;
        if let (Some(read), Some(record)) = (&read, &session) {
            // Only for a live session of that code: forged cookies must not fill the cache.
            if record.user_code == *code {
                read.keep_session(key, record);
                read.keep_credentials(code, &state);
            }
        }
        Ok((session, state))
    }
}

/// Redis errors become store errors (and so `503`), with the reason for the log.
fn unavailable(error: redis::RedisError) -> StoreError {
    let kind = if error.is_timeout() {
        StoreErrorKind::Timeout
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal()
    {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Other
    };
    StoreError::with_kind(kind, error)
}
