//! Client-side caching on one Redis server: the answers a signed-in request needs (its
//! session, its account, the account's credential state) are kept in process memory, and
//! Redis says the moment any of them changes.
//!
//! A second connection, in RESP3, asks Redis for `CLIENT TRACKING ON BCAST` on three key
//! prefixes (`P:s:` sessions, `P:c:` credential states, `{P:acc}:a` the accounts): whoever
//! writes such a key, Redis pushes its name on that connection, and the entry is forgotten
//! (a changed account forgets every account: they share one hash). Broadcast mode needs no
//! table on the server of what this process read, and the pushes arrive on a connection that
//! does nothing else, so they are handled as soon as they are read, in the connection's own
//! task, without a queue to fall behind.
//!
//! Entries are served only under a **lease** that each successful check renews: every half
//! second the tracking connection and the main one are asked which server they talk to (its
//! `run_id`), and the lease runs 2 s from the moment the last check that found both on the
//! same server was sent. Redis answers a connection's pushes before its replies, so such a
//! check proves that every change until it was sent has been pushed and applied. So whatever
//! goes wrong (a connection the network drops silently, a failover that moved the main
//! connection to another server, a task that stopped running), **nothing is served from memory
//! more than 2 s after the last moment Redis was known to push its changes here**. A closed
//! connection is seen at once (the redis crate says so), and subscribing again, or renewing a
//! lease that lapsed, empties the caches first: nothing read before a gap in the pushes is
//! served after it. The main connection's `CLIENT ID` is checked too: when it was made again
//! between two checks, it may have read from another server meanwhile (a failover and back),
//! and the caches are emptied. While nothing is served, every request asks Redis (and gets
//! `503` if Redis cannot answer). The generation of each cache (see `store::cache`) keeps a
//! read that was under way during a push from putting its older answer back. Entries never
//! live longer than [`TTL`].
//!
//! Not seen: `SWAPDB` (Redis pushes nothing for it), and writes to another database number
//! under the same key names (they only make this process forget more).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, PushInfo, PushKind, Value};

use crate::identity::{Account, UserCode};
use crate::session::{SessionKey, SessionRecord};
use crate::store::cache::Caches;
use crate::store::{Credentials, Versioned};

/// The longest an entry is served, pushes or not: a bound that holds even if this module had a
/// fault. With pushes, entries are forgotten long before.
const TTL: Duration = Duration::from_secs(10);

/// How often the two connections are checked...
const CHECK: Duration = Duration::from_millis(500);

/// ...how long a check may take...
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// ...and how long entries are served after a good check was sent. Longer than a check
/// period and a check's time together, so that slow checks do not keep emptying the caches.
const LEASE: Duration = Duration::from_secs(2);

/// How long to wait before subscribing again after a failure: doubled on each failure in a
/// row, up to [`RETRY_MAX`].
const RETRY: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The tracking connection's name in `CLIENT LIST`.
const NAME: &str = "guichet-tracking";

/// The caches of one [`RedisStore`](super::RedisStore) and its clones, and whether Redis is
/// telling this process what changes.
pub(super) struct Tracking {
    caches: Caches,
    /// Until when entries may be served and kept, in µs after `started`; 0 after a
    /// connection was lost, until the next one is subscribed.
    lease: AtomicU64,
    started: Instant,
    /// Which tracking connection is the current one (a closing old one says nothing)...
    link: AtomicU64,
    /// ...and the last one seen closed (a connection closed before it went live never does).
    closed: AtomicU64,
    sessions: Vec<u8>,
    credentials: Vec<u8>,
    accounts: Vec<u8>,
}

/// A read under way: when it was sent, and the caches' generations then; what it answers is
/// kept through it.
pub(super) struct Read<'a> {
    tracking: &'a Tracking,
    at: Instant,
    sessions: u64,
    credentials: u64,
    accounts: u64,
}

impl Tracking {
    /// The caches for the keys of `prefix` (`P`): sessions under `P:s:`, credential states
    /// under `P:c:`, accounts in the hash `accounts`.
    pub(super) fn new(prefix: &str, accounts: String) -> Self {
        Self {
            caches: Caches::new(TTL),
            lease: AtomicU64::new(0),
            started: Instant::now(),
            link: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            sessions: format!("{prefix}:s:").into_bytes(),
            credentials: format!("{prefix}:c:").into_bytes(),
            accounts: accounts.into_bytes(),
        }
    }

    /// The caches, while Redis is known to tell what changes.
    fn serving(&self) -> Option<&Caches> {
        (self.lease.load(Ordering::SeqCst) > self.micros()).then_some(&self.caches)
    }

    fn micros(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The lease earned by a check sent at `asked` (µs): counted from when it was sent, so a
    /// slow answer or a pause before the renewal does not stretch it.
    fn lease_from(asked: u64) -> u64 {
        asked.saturating_add(u64::try_from(LEASE.as_micros()).unwrap_or(u64::MAX))
    }

    pub(super) fn session(&self, key: &SessionKey) -> Option<SessionRecord> {
        self.serving()?.sessions.get(key)
    }

    pub(super) fn credentials(&self, code: &UserCode) -> Option<Versioned<Credentials>> {
        self.serving()?.credentials.get(code)
    }

    pub(super) fn account(&self, code: &UserCode) -> Option<Arc<Account>> {
        self.serving()?.accounts.get(code)
    }

    /// To be taken just before a read is sent; its answers are kept through it.
    pub(super) fn begin(&self) -> Read<'_> {
        Read {
            tracking: self,
            at: Instant::now(),
            sessions: self.caches.sessions.generation(),
            credentials: self.caches.credentials.generation(),
            accounts: self.caches.accounts.generation(),
        }
    }

    /// A write of this process to the session (its push follows; this one is at once).
    pub(super) fn forget_session(&self, key: &SessionKey) {
        self.caches.sessions.forget(key);
    }

    pub(super) fn forget_credentials(&self, code: &UserCode) {
        self.caches.credentials.forget(code);
    }

    pub(super) fn forget_account(&self, code: &UserCode) {
        self.caches.accounts.forget(code);
    }

    fn forget_everything(&self) {
        self.caches.sessions.clear();
        self.caches.credentials.clear();
        self.caches.accounts.clear();
    }

    /// A key Redis says changed.
    fn changed(&self, key: &[u8]) {
        if let Some(rest) = key.strip_prefix(self.sessions.as_slice()) {
            match <[u8; 32]>::try_from(rest) {
                Ok(bytes) => self.forget_session(&SessionKey::from_bytes(bytes)),
                Err(_) => self.caches.sessions.clear(),
            }
        } else if let Some(rest) = key.strip_prefix(self.credentials.as_slice()) {
            match std::str::from_utf8(rest).map(UserCode::from_stored) {
                Ok(Ok(code)) => self.forget_credentials(&code),
                _ => self.caches.credentials.clear(),
            }
        } else if key == self.accounts.as_slice() {
            self.caches.accounts.clear();
        }
    }

    /// A message Redis (or the redis crate) pushed on tracking connection `link`.
    fn pushed(&self, link: u64, push: &PushInfo) {
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        match key {
                            Value::BulkString(key) => self.changed(key),
                            _ => self.forget_everything(),
                        }
                    }
                }
                // A null after `FLUSHALL`/`FLUSHDB`: everything changed.
                _ => self.forget_everything(),
            },
            PushKind::Disconnection => {
                self.closed.fetch_max(link, Ordering::SeqCst);
                if self.link.load(Ordering::SeqCst) == link {
                    self.go_dark();
                }
            }
            _ => {}
        }
    }

    /// Connection `link` is subscribed: whatever was kept before may have missed pushes. If
    /// it was seen closed meanwhile, it stays dark (whichever of the two comes second sees the
    /// other).
    fn go_live(&self, link: u64, asked: u64) {
        self.forget_everything();
        self.lease.store(Self::lease_from(asked), Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) >= link {
            self.go_dark();
        }
    }

    /// A check of connection `link`, sent at `asked`, passed: the lease runs on. One that had
    /// lapsed (checks late) empties the caches first. `false` when the connection was lost
    /// meanwhile.
    fn renew(&self, link: u64, asked: u64) -> bool {
        let lease = self.lease.load(Ordering::SeqCst);
        if lease == 0 || self.closed.load(Ordering::SeqCst) >= link {
            return false;
        }
        if lease <= self.micros() {
            self.forget_everything();
        }
        self.lease
            .compare_exchange(
                lease,
                Self::lease_from(asked),
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
    }

    /// Pushes may be lost from now on: serve and keep nothing.
    fn go_dark(&self) {
        self.lease.store(0, Ordering::SeqCst);
        self.forget_everything();
    }

    fn prefixes(&self) -> [Vec<u8>; 3] {
        [
            self.sessions.clone(),
            self.credentials.clone(),
            self.accounts.clone(),
        ]
    }
}

impl Read<'_> {
    pub(super) fn keep_session(&self, key: &SessionKey, record: &SessionRecord) {
        if let Some(caches) = self.tracking.serving() {
            let until = caches.until(self.at);
            caches
                .sessions
                .fill(*key, record.clone(), until, self.sessions);
        }
    }

    pub(super) fn keep_credentials(&self, code: &UserCode, state: &Versioned<Credentials>) {
        if let Some(caches) = self.tracking.serving() {
            let until = caches.until(self.at);
            caches
                .credentials
                .fill(code.clone(), state.clone(), until, self.credentials);
        }
    }

    pub(super) fn keep_account(&self, code: &UserCode, account: &Arc<Account>) {
        if let Some(caches) = self.tracking.serving() {
            let until = caches.until(self.at);
            caches
                .accounts
                .fill(code.clone(), Arc::clone(account), until, self.accounts);
        }
    }
}

/// Keeps a tracking connection to `client` (RESP3) up for as long as `tracking` lives:
/// subscribes, checks it and the store's `main` connection every [`CHECK`], renewing the lease,
/// and starts again when anything fails.
pub(super) async fn follow(
    client: redis::Client,
    mut main: ConnectionManager,
    tracking: Weak<Tracking>,
) {
    let mut retry = RETRY;
    let mut said = false;
    loop {
        let Some(link) = tracking
            .upgrade()
            .map(|t| t.link.fetch_add(1, Ordering::SeqCst) + 1)
        else {
            return;
        };
        let failure = match subscribe(&client, &tracking, link).await {
            Ok(mut connection) => {
                let mut reads = None;
                loop {
                    let Some(asked) = tracking.upgrade().map(|t| t.micros()) else {
                        return;
                    };
                    let now = match same_server(&mut connection, &mut main).await {
                        Ok(now) => now,
                        Err(error) => break error,
                    };
                    let Some(t) = tracking.upgrade() else { return };
                    match &reads {
                        None => {
                            t.go_live(link, asked);
                            tracing::info!("redis: client-side cache on (changes are pushed)");
                            retry = RETRY;
                            said = false;
                        }
                        Some(before) => {
                            if *before != now {
                                // The reads' connection was made again since the last check:
                                // it may have read elsewhere meanwhile (a failover and back).
                                t.forget_everything();
                            }
                            if !t.renew(link, asked) {
                                break "the connection closed".to_owned();
                            }
                        }
                    }
                    reads = Some(now);
                    drop(t);
                    tokio::time::sleep(CHECK).await;
                }
            }
            Err(error) => error.to_string(),
        };
        match tracking.upgrade() {
            Some(t) => t.go_dark(),
            None => return,
        }
        if !said {
            tracing::warn!(
                %failure,
                "redis: client-side cache off until changes are pushed again; every signed-in request asks Redis"
            );
            said = true;
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Which connection the reads went through at a check: the server's `run_id` (new at every
/// start) and the connection's `CLIENT ID` (new at every reconnection).
#[derive(PartialEq)]
struct Reads {
    server: String,
    client: i64,
}

/// Both connections answer within [`CHECK_TIMEOUT`], from the same server: pushes describe
/// the server the reads go to. Returns where the reads went.
async fn same_server(
    tracking: &mut MultiplexedConnection,
    main: &mut ConnectionManager,
) -> Result<Reads, String> {
    let pushes = async {
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(tracking)
            .await?;
        run_id(&info)
    };
    let reads = async {
        let (info, client): (String, i64) = redis::pipe()
            .cmd("INFO")
            .arg("server")
            .cmd("CLIENT")
            .arg("ID")
            .query_async(main)
            .await?;
        Ok(Reads {
            server: run_id(&info)?,
            client,
        })
    };
    match tokio::time::timeout(CHECK_TIMEOUT, async { tokio::try_join!(pushes, reads) }).await {
        Ok(Ok((pushes, reads))) if pushes == reads.server => Ok(reads),
        Ok(Ok(_)) => Err("the connections reach different servers (a failover?)".to_owned()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer in time".to_owned()),
    }
}

/// The `run_id` line of `INFO server`.
fn run_id(info: &str) -> redis::RedisResult<String> {
    info.lines()
        .find_map(|line| line.strip_prefix("run_id:"))
        .map(|id| id.trim().to_owned())
        .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Parse, "INFO without run_id")))
}

/// A new connection subscribed to the prefixes' changes, its pushes handled as they arrive.
async fn subscribe(
    client: &redis::Client,
    tracking: &Weak<Tracking>,
    link: u64,
) -> redis::RedisResult<MultiplexedConnection> {
    let prefixes = match tracking.upgrade() {
        Some(t) => t.prefixes(),
        None => {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "store dropped",
            )))
        }
    };
    let pushes = tracking.clone();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(LEASE))
        .set_response_timeout(Some(LEASE))
        .set_push_sender(move |push: PushInfo| {
            if let Some(t) = pushes.upgrade() {
                t.pushed(link, &push);
            }
            Ok::<(), std::convert::Infallible>(())
        });
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(NAME)
        .query_async(&mut connection)
        .await?;
    let mut command = redis::cmd("CLIENT");
    command.arg("TRACKING").arg("ON").arg("BCAST");
    for prefix in &prefixes {
        command.arg("PREFIX").arg(prefix.as_slice());
    }
    let () = command.query_async(&mut connection).await?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking() -> Tracking {
        let t = Tracking::new("p", "{p:acc}:a".to_owned());
        t.link.store(1, Ordering::SeqCst);
        t.go_live(1, t.micros());
        t
    }

    fn record() -> SessionRecord {
        SessionRecord {
            user_code: UserCode::from_stored("ACME-001").unwrap(),
            epoch: 0,
            created_at: 0,
            last_seen: 0,
            restricted: None,
        }
    }

    #[test]
    fn a_pushed_session_key_is_forgotten_and_no_other() {
        let t = tracking();
        let (one, two) = (
            SessionKey::from_bytes([1; 32]),
            SessionKey::from_bytes([2; 32]),
        );
        let read = t.begin();
        read.keep_session(&one, &record());
        read.keep_session(&two, &record());
        let mut key = b"p:s:".to_vec();
        key.extend_from_slice(&[1; 32]);
        t.pushed(1, &invalidate(vec![Value::BulkString(key)]));
        assert!(t.session(&one).is_none());
        assert!(t.session(&two).is_some());
    }

    #[test]
    fn a_read_under_way_during_a_push_keeps_nothing() {
        let t = tracking();
        let key = SessionKey::from_bytes([1; 32]);
        let read = t.begin();
        t.pushed(
            1,
            &invalidate(vec![Value::BulkString(b"p:s:other".to_vec())]),
        );
        read.keep_session(&key, &record());
        assert!(t.session(&key).is_none());
    }

    #[test]
    fn a_flush_or_a_lost_connection_forgets_everything_and_stops_serving() {
        let t = tracking();
        let key = SessionKey::from_bytes([1; 32]);
        t.begin().keep_session(&key, &record());
        t.pushed(1, &invalidate(vec![Value::Nil]));
        assert!(t.session(&key).is_none(), "FLUSHALL sends a null");

        t.link.store(3, Ordering::SeqCst);
        t.go_live(3, t.micros());
        t.begin().keep_session(&key, &record());
        t.pushed(2, &disconnection());
        assert!(
            t.session(&key).is_some(),
            "an old connection closing says nothing"
        );
        t.pushed(3, &disconnection());
        assert!(t.session(&key).is_none());
        t.begin().keep_session(&key, &record());
        assert!(t.session(&key).is_none(), "nothing is kept while dark");
        assert!(
            !t.renew(3, t.micros()),
            "a lost connection's checks renew nothing"
        );
    }

    #[test]
    fn a_connection_closed_before_it_goes_live_never_serves() {
        let t = Tracking::new("p", "{p:acc}:a".to_owned());
        t.link.store(1, Ordering::SeqCst);
        t.pushed(1, &disconnection());
        t.go_live(1, t.micros());
        let key = SessionKey::from_bytes([1; 32]);
        t.begin().keep_session(&key, &record());
        assert!(t.session(&key).is_none());
    }

    #[test]
    fn a_lapsed_lease_serves_nothing_and_its_renewal_starts_afresh() {
        let t = tracking();
        let key = SessionKey::from_bytes([1; 32]);
        t.begin().keep_session(&key, &record());
        t.lease.store(1, Ordering::SeqCst);
        assert!(t.session(&key).is_none(), "no check passed for too long");
        assert!(t.renew(1, t.micros()));
        assert!(
            t.session(&key).is_none(),
            "kept before the lapse: forgotten"
        );
        t.begin().keep_session(&key, &record());
        assert!(t.session(&key).is_some());
    }

    #[test]
    fn an_account_change_forgets_every_account_and_a_credential_change_one_state() {
        let t = tracking();
        let (marie, luc) = (
            UserCode::from_stored("ACME-001").unwrap(),
            UserCode::from_stored("ACME-002").unwrap(),
        );
        let account = Arc::new(Account::new(marie.clone(), "Marie", "acme"));
        let read = t.begin();
        read.keep_account(&marie, &account);
        read.keep_credentials(&marie, &nothing());
        read.keep_credentials(&luc, &nothing());
        t.pushed(
            1,
            &invalidate(vec![Value::BulkString(b"p:c:ACME-001".to_vec())]),
        );
        assert!(t.credentials(&marie).is_none());
        assert!(t.credentials(&luc).is_some());
        assert!(t.account(&marie).is_some());
        t.pushed(
            1,
            &invalidate(vec![Value::BulkString(b"{p:acc}:a".to_vec())]),
        );
        assert!(t.account(&marie).is_none());
    }

    fn nothing() -> Versioned<Credentials> {
        Versioned {
            value: Credentials::default(),
            version: 0,
        }
    }

    fn disconnection() -> PushInfo {
        PushInfo {
            kind: PushKind::Disconnection,
            data: vec![],
        }
    }

    fn invalidate(keys: Vec<Value>) -> PushInfo {
        let data = match keys.as_slice() {
            [Value::Nil] => vec![Value::Nil],
            _ => vec![Value::Array(keys)],
        };
        PushInfo {
            kind: PushKind::Invalidate,
            data,
        }
    }
}
