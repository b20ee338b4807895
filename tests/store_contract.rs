//! One contract for every store implementation. The `contract!` macro expands to the same tests
//! for a given constructor, so the memory stores and the ones for several processes are held to
//! the same sharp semantics (a `create` never overwrites, a `touch` never resurrects, a throttle
//! cleared on success forgets everything, ...).

use std::time::Duration;

use guichet::identity::{CasePolicy, UserCode};
use guichet::limit::{Limit, Rate};
use guichet::mail::{Letter, LetterKind};
use guichet::pages::Language;
use guichet::session::{SessionId, SessionRecord};
use guichet::store::{
    CredentialStore, MailQueue, RateLimitStore, SessionStore, TemporaryCredential, ThrottleStore,
};

fn code(s: &str) -> UserCode {
    UserCode::parse(s, CasePolicy::Insensitive).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn record(user: &str) -> SessionRecord {
    SessionRecord {
        user_code: code(user),
        epoch: 0,
        created_at: now(),
        last_seen: now(),
        restricted: false,
    }
}

const TTL: Duration = Duration::from_secs(1800);

pub async fn a_created_session_loads_back_identically(store: impl SessionStore) {
    let key = SessionId::generate().key();
    let r = record("ACME-001");
    assert!(store.create(&key, &r, TTL).await.unwrap());
    assert_eq!(store.load(&key).await.unwrap(), Some(r));
}

pub async fn create_never_overwrites_an_existing_session(store: impl SessionStore) {
    let key = SessionId::generate().key();
    assert!(store.create(&key, &record("ACME-001"), TTL).await.unwrap());
    assert!(!store.create(&key, &record("EVIL-666"), TTL).await.unwrap());
    assert_eq!(
        store.load(&key).await.unwrap().unwrap().user_code,
        code("ACME-001")
    );
}

pub async fn a_destroyed_session_is_gone_and_destroying_twice_is_fine(store: impl SessionStore) {
    let key = SessionId::generate().key();
    store.create(&key, &record("ACME-001"), TTL).await.unwrap();
    store.destroy(&key).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
    store.destroy(&key).await.unwrap();
}

pub async fn touch_records_the_use_but_never_resurrects(store: impl SessionStore) {
    let key = SessionId::generate().key();
    store.create(&key, &record("ACME-001"), TTL).await.unwrap();
    let seen = now() + 60;
    let used = SessionRecord {
        last_seen: seen,
        ..record("ACME-001")
    };
    store.touch(&key, &used, TTL).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap().unwrap().last_seen, seen);
    store.destroy(&key).await.unwrap();
    store.touch(&key, &used, TTL).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
}

pub async fn a_session_past_its_ttl_does_not_load(store: impl SessionStore) {
    let key = SessionId::generate().key();
    store
        .create(&key, &record("ACME-001"), Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(store.load(&key).await.unwrap(), None);
}

pub async fn unknown_accounts_have_default_credentials(store: impl CredentialStore) {
    let c = store.credentials(&code("NOBODY-1")).await.unwrap();
    assert_eq!((c.epoch, c.password_hash, c.disabled), (0, None, false));
}

pub async fn the_epoch_only_moves_forward(store: impl CredentialStore) {
    let who = code("ACME-001");
    let first = store.bump_epoch(&who).await.unwrap();
    let second = store.bump_epoch(&who).await.unwrap();
    assert!(second > first);
    assert_eq!(store.credentials(&who).await.unwrap().epoch, second);
}

pub async fn a_password_hash_is_replaced_only_if_unchanged(store: impl CredentialStore) {
    let who = code("ACME-002");
    assert!(store
        .replace_password_hash(&who, None, "$argon2id$a")
        .await
        .unwrap());
    assert!(!store
        .replace_password_hash(&who, None, "$argon2id$b")
        .await
        .unwrap());
    assert!(store
        .replace_password_hash(&who, Some("$argon2id$a"), "$argon2id$c")
        .await
        .unwrap());
    let c = store.credentials(&who).await.unwrap();
    assert_eq!(c.password_hash.as_deref(), Some("$argon2id$c"));
    assert_eq!(c.epoch, 0, "a rehash must not sign anyone out");
}

pub async fn disabling_moves_the_epoch_and_enabling_keeps_it(store: impl CredentialStore) {
    let who = code("ACME-003");
    store.set_disabled(&who, true).await.unwrap();
    let disabled = store.credentials(&who).await.unwrap();
    assert!(disabled.disabled);
    assert_eq!(disabled.epoch, 1);
    store.set_disabled(&who, false).await.unwrap();
    let enabled = store.credentials(&who).await.unwrap();
    assert!(!enabled.disabled);
    assert_eq!(enabled.epoch, 1, "old sessions stay dead after re-enabling");
}

fn pending(hash: &str, epoch: u64) -> TemporaryCredential {
    TemporaryCredential {
        hash: hash.into(),
        expires_at: now() + 3600,
        epoch,
        cancel_key: format!("key-of-{hash}"),
    }
}

pub async fn a_newer_temporary_password_replaces_the_pending_one(store: impl CredentialStore) {
    let who = code("ACME-001");
    store
        .issue_temporary(&who, &pending("$first", 0))
        .await
        .unwrap();
    store
        .issue_temporary(&who, &pending("$second", 0))
        .await
        .unwrap();
    let c = store.credentials(&who).await.unwrap();
    assert_eq!(c.temporary.unwrap().hash.as_ref(), "$second");
    assert!(!store.take_temporary(&who, "$first").await.unwrap());
}

pub async fn a_temporary_password_is_taken_exactly_once(store: impl CredentialStore) {
    let who = code("ACME-001");
    store
        .issue_temporary(&who, &pending("$t", 0))
        .await
        .unwrap();
    assert!(store.take_temporary(&who, "$t").await.unwrap());
    assert!(!store.take_temporary(&who, "$t").await.unwrap());
    assert_eq!(store.credentials(&who).await.unwrap().temporary, None);
}

pub async fn cancelling_needs_the_right_key(store: impl CredentialStore) {
    let who = code("ACME-001");
    store
        .issue_temporary(&who, &pending("$t", 0))
        .await
        .unwrap();
    assert!(!store.cancel_temporary(&who, "key-of-$other").await.unwrap());
    assert!(store.credentials(&who).await.unwrap().temporary.is_some());
    assert!(store.cancel_temporary(&who, "key-of-$t").await.unwrap());
    assert!(store.credentials(&who).await.unwrap().temporary.is_none());
}

pub async fn choosing_a_password_moves_the_epoch_and_voids_the_temporary_one(
    store: impl CredentialStore,
) {
    let who = code("ACME-002");
    store
        .issue_temporary(&who, &pending("$t", 0))
        .await
        .unwrap();
    let epoch = store.set_password(&who, "$argon2id$chosen").await.unwrap();
    let c = store.credentials(&who).await.unwrap();
    assert_eq!(epoch, 1);
    assert_eq!(c.epoch, 1);
    assert_eq!(c.password_hash.as_deref(), Some("$argon2id$chosen"));
    assert_eq!(c.temporary, None);
}

pub async fn a_moved_epoch_voids_a_pending_temporary_password(store: impl CredentialStore) {
    let who = code("ACME-003");
    store
        .issue_temporary(&who, &pending("$t", 0))
        .await
        .unwrap();
    assert!(store
        .credentials(&who)
        .await
        .unwrap()
        .usable_temporary(now())
        .is_some());
    store.bump_epoch(&who).await.unwrap();
    assert!(store
        .credentials(&who)
        .await
        .unwrap()
        .usable_temporary(now())
        .is_none());
}

fn letter(user: &str) -> Letter {
    Letter {
        kind: LetterKind::TemporaryPassword,
        user_code: code(user),
        language: Language::Fr,
    }
}

pub async fn letters_come_out_in_order_and_once_each_while_leased(queue: impl MailQueue) {
    assert!(queue.push(&letter("A-1"), 10).await.unwrap());
    assert!(queue.push(&letter("A-2"), 10).await.unwrap());
    let first = queue.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    let second = queue.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(first.letter, letter("A-1"));
    assert_eq!(second.letter, letter("A-2"));
    assert_eq!(first.attempts, 0);
    assert_eq!(
        queue.claim(Duration::from_secs(60)).await.unwrap(),
        None,
        "both are leased"
    );
    queue.complete(&first.id).await.unwrap();
    queue.complete(&second.id).await.unwrap();
    assert_eq!(queue.waiting().await.unwrap(), 0);
}

pub async fn a_lease_that_runs_out_hands_the_letter_out_again(queue: impl MailQueue) {
    queue.push(&letter("A-1"), 10).await.unwrap();
    let taken = queue
        .claim(Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    // The taker "crashes": no complete, no retry.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = queue
        .claim(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("handed out again");
    assert_eq!(again.letter, taken.letter);
}

pub async fn a_retried_letter_waits_and_counts_its_attempts(queue: impl MailQueue) {
    queue.push(&letter("A-1"), 10).await.unwrap();
    let taken = queue.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    queue
        .retry(&taken.id, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(
        queue.claim(Duration::from_secs(60)).await.unwrap(),
        None,
        "not due yet"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = queue.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(again.attempts, 1);
    assert_eq!(queue.waiting().await.unwrap(), 1);
}

pub async fn a_full_queue_refuses_instead_of_growing(queue: impl MailQueue) {
    assert!(queue.push(&letter("A-1"), 2).await.unwrap());
    assert!(queue.push(&letter("A-2"), 2).await.unwrap());
    assert!(!queue.push(&letter("A-3"), 2).await.unwrap());
    assert_eq!(queue.waiting().await.unwrap(), 2);
}

pub async fn a_rate_limit_admits_the_burst_then_one_per_interval(store: impl RateLimitStore) {
    let rate = Rate::per_hour(3);
    for _ in 0..3 {
        assert_eq!(
            store
                .check(Limit::RequestPerIp, "192.0.2.1", rate)
                .await
                .unwrap(),
            None
        );
    }
    let wait = store
        .check(Limit::RequestPerIp, "192.0.2.1", rate)
        .await
        .unwrap()
        .expect("refused");
    assert!(
        wait > Duration::from_secs(1190) && wait <= Duration::from_secs(1200),
        "{wait:?}"
    );
    assert_eq!(
        store
            .check(Limit::RequestPerIp, "192.0.2.2", rate)
            .await
            .unwrap(),
        None,
        "keys are independent"
    );
    assert_eq!(
        store
            .check(Limit::SignInPerIp, "192.0.2.1", rate)
            .await
            .unwrap(),
        None,
        "limits are independent"
    );
}

pub async fn failures_are_allowed_up_to_the_burst_then_refused(store: impl ThrottleStore) {
    let rate = Rate::per_hour(3);
    for _ in 0..3 {
        assert_eq!(store.peek("ACME-001", rate).await.unwrap(), None);
        store.spend("ACME-001", rate).await.unwrap();
    }
    let wait = store
        .peek("ACME-001", rate)
        .await
        .unwrap()
        .expect("throttled");
    assert!(
        wait > Duration::from_secs(1190) && wait <= Duration::from_secs(1200),
        "{wait:?}"
    );
    assert_eq!(
        store.peek("ACME-002", rate).await.unwrap(),
        None,
        "keys are independent"
    );
}

pub async fn clearing_forgets_every_failure(store: impl ThrottleStore) {
    let rate = Rate::per_hour(2);
    store.spend("K", rate).await.unwrap();
    store.spend("K", rate).await.unwrap();
    assert!(store.peek("K", rate).await.unwrap().is_some());
    store.clear("K").await.unwrap();
    assert_eq!(store.peek("K", rate).await.unwrap(), None);
    store.spend("K", rate).await.unwrap();
    assert_eq!(store.peek("K", rate).await.unwrap(), None);
}

/// Expands to one `#[tokio::test]` per contract function, each with a fresh store.
macro_rules! contract {
    ($module:ident, $make:expr, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($make).await;
                }
            )*
        }
    };
}

contract!(
    memory_sessions,
    guichet::store::memory::MemorySessionStore::new(),
    [
        a_created_session_loads_back_identically,
        create_never_overwrites_an_existing_session,
        a_destroyed_session_is_gone_and_destroying_twice_is_fine,
        touch_records_the_use_but_never_resurrects,
        a_session_past_its_ttl_does_not_load,
    ]
);

contract!(
    memory_credentials,
    guichet::store::memory::MemoryCredentialStore::new(),
    [
        unknown_accounts_have_default_credentials,
        the_epoch_only_moves_forward,
        a_password_hash_is_replaced_only_if_unchanged,
        disabling_moves_the_epoch_and_enabling_keeps_it,
        a_newer_temporary_password_replaces_the_pending_one,
        a_temporary_password_is_taken_exactly_once,
        cancelling_needs_the_right_key,
        choosing_a_password_moves_the_epoch_and_voids_the_temporary_one,
        a_moved_epoch_voids_a_pending_temporary_password,
    ]
);

contract!(
    file_credentials,
    super::persistent_store(),
    [
        unknown_accounts_have_default_credentials,
        the_epoch_only_moves_forward,
        a_password_hash_is_replaced_only_if_unchanged,
        disabling_moves_the_epoch_and_enabling_keeps_it,
        a_newer_temporary_password_replaces_the_pending_one,
        a_temporary_password_is_taken_exactly_once,
        cancelling_needs_the_right_key,
        choosing_a_password_moves_the_epoch_and_voids_the_temporary_one,
        a_moved_epoch_voids_a_pending_temporary_password,
    ]
);

contract!(
    memory_throttle,
    guichet::store::memory::MemoryThrottleStore::new(),
    [
        failures_are_allowed_up_to_the_burst_then_refused,
        clearing_forgets_every_failure,
    ]
);

contract!(
    memory_mail_queue,
    guichet::store::memory::MemoryMailQueue::new(),
    [
        letters_come_out_in_order_and_once_each_while_leased,
        a_lease_that_runs_out_hands_the_letter_out_again,
        a_retried_letter_waits_and_counts_its_attempts,
        a_full_queue_refuses_instead_of_growing,
    ]
);

#[cfg(feature = "redis")]
mod redis_server;

#[cfg(feature = "redis")]
async fn redis_store() -> guichet::store::redis::RedisStore {
    let server = redis_server::shared();
    guichet::store::redis::RedisStore::connect(
        &server.url(),
        &redis_server::unique_prefix("contract"),
    )
    .await
    .expect("a redis store")
}

#[cfg(feature = "redis")]
contract!(
    redis_sessions,
    super::redis_store().await,
    [
        a_created_session_loads_back_identically,
        create_never_overwrites_an_existing_session,
        a_destroyed_session_is_gone_and_destroying_twice_is_fine,
        touch_records_the_use_but_never_resurrects,
        a_session_past_its_ttl_does_not_load,
    ]
);

#[cfg(feature = "redis")]
contract!(
    redis_credentials,
    super::redis_store().await,
    [
        unknown_accounts_have_default_credentials,
        the_epoch_only_moves_forward,
        a_password_hash_is_replaced_only_if_unchanged,
        disabling_moves_the_epoch_and_enabling_keeps_it,
        a_newer_temporary_password_replaces_the_pending_one,
        a_temporary_password_is_taken_exactly_once,
        cancelling_needs_the_right_key,
        choosing_a_password_moves_the_epoch_and_voids_the_temporary_one,
        a_moved_epoch_voids_a_pending_temporary_password,
    ]
);

#[cfg(feature = "redis")]
contract!(
    redis_throttle,
    super::redis_store().await,
    [
        failures_are_allowed_up_to_the_burst_then_refused,
        clearing_forgets_every_failure,
    ]
);

#[cfg(feature = "redis")]
contract!(
    redis_rate_limits,
    super::redis_store().await,
    [a_rate_limit_admits_the_burst_then_one_per_interval,]
);

#[cfg(feature = "redis")]
contract!(
    redis_mail_queue,
    super::redis_store().await,
    [
        letters_come_out_in_order_and_once_each_while_leased,
        a_lease_that_runs_out_hands_the_letter_out_again,
        a_retried_letter_waits_and_counts_its_attempts,
        a_full_queue_refuses_instead_of_growing,
    ]
);

contract!(
    memory_rate_limits,
    guichet::store::memory::MemoryRateLimits::new(),
    [a_rate_limit_admits_the_burst_then_one_per_interval,]
);

/// The whole contract against a three-master Redis Cluster, each part under its own prefix
/// (so its keys land on different slots and nodes).
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_master_redis_cluster_passes_the_same_contract() {
    let cluster = redis_server::RedisCluster::start();
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let store = || async {
        guichet::store::redis::RedisStore::connect_cluster(
            &nodes,
            &redis_server::unique_prefix("cluster"),
        )
        .await
        .expect("a cluster store")
    };
    a_created_session_loads_back_identically(store().await).await;
    create_never_overwrites_an_existing_session(store().await).await;
    a_destroyed_session_is_gone_and_destroying_twice_is_fine(store().await).await;
    touch_records_the_use_but_never_resurrects(store().await).await;
    unknown_accounts_have_default_credentials(store().await).await;
    the_epoch_only_moves_forward(store().await).await;
    a_password_hash_is_replaced_only_if_unchanged(store().await).await;
    disabling_moves_the_epoch_and_enabling_keeps_it(store().await).await;
    a_newer_temporary_password_replaces_the_pending_one(store().await).await;
    a_temporary_password_is_taken_exactly_once(store().await).await;
    cancelling_needs_the_right_key(store().await).await;
    choosing_a_password_moves_the_epoch_and_voids_the_temporary_one(store().await).await;
    a_moved_epoch_voids_a_pending_temporary_password(store().await).await;
    failures_are_allowed_up_to_the_burst_then_refused(store().await).await;
    clearing_forgets_every_failure(store().await).await;
    a_rate_limit_admits_the_burst_then_one_per_interval(store().await).await;
    letters_come_out_in_order_and_once_each_while_leased(store().await).await;
    a_retried_letter_waits_and_counts_its_attempts(store().await).await;
    a_full_queue_refuses_instead_of_growing(store().await).await;
}

fn temp_dir(what: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "guichet-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn persistent_store() -> guichet::store::memory::MemoryCredentialStore {
    guichet::store::memory::MemoryCredentialStore::persistent(
        temp_dir("contract").join("state.json"),
    )
    .unwrap()
}

#[tokio::test]
async fn credential_state_survives_reopening_the_file() {
    let path = temp_dir("reopen").join("state.json");
    let who = code("ACME-001");
    {
        let store = guichet::store::memory::MemoryCredentialStore::persistent(&path).unwrap();
        store.set_disabled(&who, true).await.unwrap();
        store
            .replace_password_hash(&who, None, "$argon2id$new")
            .await
            .unwrap();
    }
    let reopened = guichet::store::memory::MemoryCredentialStore::persistent(&path).unwrap();
    let c = reopened.credentials(&who).await.unwrap();
    assert!(c.disabled);
    assert_eq!(c.password_hash.as_deref(), Some("$argon2id$new"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state file holds hashes: owner only");
    }
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_not_a_silent_reset() {
    let path = temp_dir("corrupt").join("state.json");
    std::fs::write(&path, b"{ not json").unwrap();
    assert!(guichet::store::memory::MemoryCredentialStore::persistent(&path).is_err());
}
