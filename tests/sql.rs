//! What the SQL stores promise beyond the store contract (`tests/store_contract.rs` runs that
//! against both databases): the URL chooses the backend, the schema is created once even by
//! processes starting together, the read cache sees this process's writes at once and other
//! processes' within its TTL, expired rows are reaped, corrupt rows are errors, concurrent
//! takers and pushers stay within the rules, imports are batched, and a PostgreSQL that goes
//! away fails requests closed within two seconds and is used again when it is back.

#![cfg(any(feature = "sqlite", feature = "postgres"))]

use std::sync::Arc;
use std::time::{Duration, Instant};

use guichet::identity::{Account, CasePolicy, Email, UserCode};
use guichet::limit::{Limit, Rate};
use guichet::mail::{Letter, LetterKind};
use guichet::pages::Language;
use guichet::session::{SessionKey, SessionRecord};
use guichet::store::sql::SqlStore;
use guichet::store::{
    AccountStore, CredentialStore, Credentials, Directory, MailQueue, RateLimitStore, SessionStore,
    Store, StoreErrorKind, ThrottleStore,
};

#[cfg(feature = "postgres")]
mod postgres_server;
#[cfg(feature = "sqlite")]
mod sqlite_file;

fn code(s: &str) -> UserCode {
    UserCode::parse(s, CasePolicy::Insensitive).expect("a valid code")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A session key no other test uses (a real one is a hash of a random id; any 32 bytes do).
fn new_key() -> SessionKey {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    bytes[12..28].copy_from_slice(
        &std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            .to_le_bytes(),
    );
    SessionKey::from_bytes(bytes)
}

fn record(user: &str) -> SessionRecord {
    SessionRecord::new(code(user), 0, now())
}

fn account(user: &str, email: &str) -> Account {
    Account::new(code(user), format!("Person {user}"), "acme")
        .with_email(Email::parse(email).expect("a valid address"))
        .with_services(["collection"])
}

fn letter(user: &str) -> Letter {
    Letter::new(LetterKind::TemporaryPassword, code(user), Language::Fr)
}

const TTL: Duration = Duration::from_secs(1800);

/// The databases each check runs against: a new SQLite file, a new PostgreSQL database.
fn stores(what: &str) -> Vec<(&'static str, String)> {
    vec![
        #[cfg(feature = "sqlite")]
        ("sqlite", sqlite_file::url(what)),
        #[cfg(feature = "postgres")]
        ("postgres", postgres_server::shared().fresh_database(what)),
    ]
}

async fn connect(url: &str) -> SqlStore {
    SqlStore::connect(url).await.expect("a SQL store")
}

#[tokio::test]
async fn the_url_chooses_the_backend_and_what_cannot_be_served_is_refused() {
    for url in ["mysql://db/portal", "portal.db", "redis://127.0.0.1"] {
        let error = SqlStore::connect(url).await.expect_err(url).to_string();
        assert!(error.contains("scheme"), "{url}: {error}");
    }
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://?mode=memory",
    ] {
        let error = SqlStore::connect(url).await.expect_err(url).to_string();
        assert!(error.contains("in-memory"), "{url}: {error}");
    }
    #[cfg(not(feature = "postgres"))]
    assert!(SqlStore::connect("postgres://db/portal")
        .await
        .expect_err("no postgres feature")
        .to_string()
        .contains("`postgres` feature"));
    #[cfg(feature = "sqlite")]
    {
        let missing_folder = sqlite_file::dir().join("no/such/folder/guichet.db");
        let url = format!("sqlite://{}", missing_folder.display());
        assert!(
            SqlStore::connect(&url).await.is_err(),
            "folders are not made"
        );
        let store = connect(&sqlite_file::url("debug")).await;
        assert!(format!("{store:?}").contains("sqlite"));
    }
}

/// The file holds password hashes and session digests: other users of the machine must not
/// read it, whatever the umask.
#[cfg(all(feature = "sqlite", unix))]
#[tokio::test]
async fn a_new_sqlite_file_and_its_journal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let path = sqlite_file::path("private");
    let store = connect(&format!("sqlite://{}", path.display())).await;
    assert!(store
        .create(&new_key(), &record("ACME-001"), TTL)
        .await
        .unwrap());
    let wal = path.with_extension("db-wal");
    for file in [&path, &wal] {
        let mode = std::fs::metadata(file)
            .expect("the file exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{}: {mode:o}", file.display());
    }
}

/// SQLite would follow the link and create its target with the default mode.
#[cfg(all(feature = "sqlite", unix))]
#[tokio::test]
async fn a_link_to_a_missing_database_file_is_refused() {
    let target = sqlite_file::path("target");
    let link = sqlite_file::path("link");
    std::os::unix::fs::symlink(&target, &link).expect("a link");
    let error = SqlStore::connect(&format!("sqlite://{}", link.display()))
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("link to a missing file"), "{error}");
    assert!(!target.exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_create_the_schema_once() {
    for (backend, url) in stores("together") {
        let (a, b, c) = tokio::join!(
            SqlStore::connect(&url),
            SqlStore::connect(&url),
            SqlStore::connect(&url)
        );
        let (a, b, _c) = (a.expect(backend), b.expect(backend), c.expect(backend));
        // One database: what one writes, the other reads.
        let key = new_key();
        assert!(a.create(&key, &record("ACME-001"), TTL).await.unwrap());
        assert!(b.load(&key).await.unwrap().is_some(), "{backend}");
        drop((a, b));
        // And again, on a database already migrated.
        connect(&url).await;
    }
}

#[tokio::test]
async fn the_signed_in_request_reads_once_then_answers_from_memory() {
    for (backend, url) in stores("hot") {
        let store = connect(&url).await;
        let key = new_key();
        let who = code("ACME-001");
        assert!(
            store.load_now(&key).is_none(),
            "{backend}: nothing read yet"
        );
        let (none, state) = store.session_and_credentials(&key, &who).await.unwrap();
        assert_eq!((none, state.version), (None, 0), "{backend}");
        assert!(
            store.credentials_now(&who).is_none(),
            "{backend}: a cookie naming no session fills nothing"
        );
        let elses = new_key();
        store
            .create(&elses, &record("ACME-002"), TTL)
            .await
            .unwrap();
        store.session_and_credentials(&elses, &who).await.unwrap();
        assert!(
            store.credentials_now(&who).is_none(),
            "{backend}: nor one naming someone else's session"
        );

        let r = record("ACME-001");
        store.create(&key, &r, TTL).await.unwrap();
        let mut changed = Credentials::default();
        assert!(store.save_credentials(&who, 0, &changed).await.unwrap());
        let (session, state) = store.session_and_credentials(&key, &who).await.unwrap();
        assert_eq!(session.as_ref(), Some(&r), "{backend}");
        assert_eq!(state.version, 1, "{backend}");
        assert_eq!(store.load_now(&key).unwrap().unwrap(), Some(r), "{backend}");
        assert_eq!(store.credentials_now(&who).unwrap().unwrap().version, 1);

        // A compare-and-swap starts from the database, never from the cache.
        changed = store.credentials(&who).await.unwrap().value;
        assert!(store.save_credentials(&who, 1, &changed).await.unwrap());
        assert_eq!(store.credentials_now(&who).unwrap().unwrap().version, 2);
        assert!(!store.save_credentials(&who, 1, &changed).await.unwrap());
        assert!(
            store.credentials_now(&who).is_none(),
            "{backend}: a lost compare-and-swap drops what is cached"
        );

        store
            .put_account(&account("ACME-001", "a@acme.example"))
            .await
            .unwrap();
        assert!(store.account_now(&who).is_none(), "{backend}: not read yet");
        store.account(&who).await.unwrap();
        assert_eq!(store.account_now(&who).unwrap().unwrap().unwrap().code, who);
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn own_writes_reach_the_cache_at_once_and_other_processes_within_the_ttl() {
    let url = sqlite_file::url("cache");
    let ttl = Duration::from_millis(300);
    let portal = connect(&url).await.with_cache_ttl(ttl);
    // Another process on the same file: an operator's command line.
    let operator = connect(&url).await.with_cache_ttl(Duration::ZERO);
    let who = code("ACME-001");

    let key = new_key();
    portal.create(&key, &record("ACME-001"), TTL).await.unwrap();
    assert!(portal.load_now(&key).is_some(), "created here: cached");
    portal.destroy(&key).await.unwrap();
    assert!(
        portal.load_now(&key).is_none(),
        "signed out here: gone at once"
    );

    let key = new_key();
    operator
        .create(&key, &record("ACME-001"), TTL)
        .await
        .unwrap();
    portal.load(&key).await.unwrap();
    operator.destroy(&key).await.unwrap();
    assert!(
        portal.load_now(&key).is_some(),
        "ended elsewhere: still cached within the TTL"
    );
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(portal.load_now(&key).is_none(), "and gone after it");
    assert_eq!(portal.load(&key).await.unwrap(), None);

    let key = new_key();
    portal.create(&key, &record("ACME-001"), TTL).await.unwrap();
    portal.touch(&key, &record("ACME-001"), TTL).await.unwrap();
    assert!(portal.load_now(&key).is_none(), "a touch drops the entry");

    portal.credentials(&who).await.unwrap();
    let disabled = Credentials::default();
    assert!(operator.save_credentials(&who, 0, &disabled).await.unwrap());
    assert_eq!(portal.credentials_now(&who).unwrap().unwrap().version, 0);
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(portal.credentials_now(&who).is_none());
    assert_eq!(portal.credentials(&who).await.unwrap().version, 1);
    assert!(portal.save_credentials(&who, 1, &disabled).await.unwrap());
    assert_eq!(
        portal.credentials_now(&who).unwrap().unwrap().version,
        2,
        "saved here: the new version at once"
    );

    portal
        .put_account(&account("ACME-001", "a@acme.example"))
        .await
        .unwrap();
    portal.account(&who).await.unwrap();
    portal
        .put_account(&account("ACME-001", "b@acme.example"))
        .await
        .unwrap();
    assert!(
        portal.account_now(&who).is_none(),
        "edited here: dropped at once"
    );
    portal.account(&who).await.unwrap();
    portal
        .put_accounts(&[account("ACME-001", "c@acme.example")])
        .await
        .unwrap();
    assert!(
        portal.account_now(&who).is_none(),
        "imported here: dropped at once"
    );

    let off = portal.clone().with_cache_ttl(Duration::ZERO);
    off.account(&who).await.unwrap();
    assert!(off.account_now(&who).is_none(), "a zero TTL caches nothing");
    assert!(
        portal.credentials_now(&who).is_none(),
        "clones share the cache"
    );
}

#[tokio::test]
async fn the_reaper_deletes_expired_sessions_and_refilled_limits_only() {
    for (backend, url) in stores("reaper") {
        let store = connect(&url).await;
        let (short, long) = (new_key(), new_key());
        store
            .create(&short, &record("ACME-001"), Duration::from_millis(100))
            .await
            .unwrap();
        store.create(&long, &record("ACME-001"), TTL).await.unwrap();
        let fast = Rate::per_second(10);
        store
            .check(Limit::SignInPerIp, "192.0.2.1", fast)
            .await
            .unwrap();
        store
            .reserve(Limit::SignInPerUserCode, "ACME-001", Rate::per_hour(3))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(store.reap_now().await.unwrap(), 2, "{backend}");
        assert_eq!(store.reap_now().await.unwrap(), 0, "{backend}");
        assert!(store.load(&long).await.unwrap().is_some(), "{backend}");
        let throttled = store
            .reserve(Limit::SignInPerUserCode, "ACME-001", Rate::per_hour(1))
            .await
            .unwrap();
        assert!(
            throttled.is_some(),
            "{backend}: a throttle still counting stays"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_takers_each_get_every_letter_once() {
    for (backend, url) in stores("takers") {
        let store = connect(&url).await;
        for n in 0..40 {
            assert!(store.push(&letter(&format!("A-{n}")), 100).await.unwrap());
        }
        let taker = |store: SqlStore| async move {
            let mut taken = Vec::new();
            while let Some(claimed) = store.claim(TTL).await.unwrap() {
                taken.push(claimed.letter.user_code.to_string());
            }
            taken
        };
        let takers: Vec<_> = (0..4).map(|_| tokio::spawn(taker(store.clone()))).collect();
        let mut all = Vec::new();
        for taker in takers {
            all.extend(taker.await.unwrap());
        }
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 40, "{backend}: each letter once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_stay_within_the_capacity() {
    for (backend, url) in stores("pushers") {
        let store = connect(&url).await;
        let pushes: Vec<_> = (0..12)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { store.push(&letter(&format!("A-{n}")), 5).await })
            })
            .collect();
        let mut accepted = 0;
        for push in pushes {
            accepted += usize::from(push.await.unwrap().unwrap());
        }
        assert_eq!(accepted, 5, "{backend}");
        assert_eq!(store.waiting().await.unwrap(), 5, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_database_admit_exactly_the_burst_together() {
    for (backend, url) in stores("replicas") {
        let (a, b) = (connect(&url).await, connect(&url).await);
        let rate = Rate::per_hour(30);
        let attempts = |store: SqlStore| {
            tokio::spawn(async move {
                let mut admitted = 0;
                for _ in 0..25 {
                    let wait = store.reserve(Limit::SignInPerUserCode, "K", rate).await;
                    admitted += usize::from(wait.unwrap().is_none());
                }
                admitted
            })
        };
        let (x, y) = tokio::join!(attempts(a), attempts(b));
        assert_eq!(x.unwrap() + y.unwrap(), 30, "{backend}");
    }
}

fn many_accounts(n: usize, name: &str) -> Vec<Account> {
    (0..n)
        .map(|i| {
            let user = format!("IMP-{i:06}");
            Account::new(
                code(&user),
                format!("{name} {i}"),
                if i % 2 == 0 { "acme" } else { "beta" },
            )
            .with_email(Email::parse(&format!("user{i}@import.example")).unwrap())
            .with_services(["collection", "orders"])
            .with_password_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
        })
        .collect()
}

#[tokio::test]
async fn an_import_is_written_in_batches_and_pages_read_it_back() {
    for (backend, url) in stores("import") {
        let store = connect(&url).await;
        let mut accounts = many_accounts(1_234, "Person");
        // The same code twice in one import: the last one wins, as one by one.
        accounts.push(
            Account::new(code("IMP-000007"), "Renamed", "acme").with_services(["collection"]),
        );
        store.put_accounts(&accounts).await.unwrap();
        let mut read: Vec<Arc<Account>> = Vec::new();
        loop {
            let page = store
                .accounts(None, read.last().map(|a| &a.code), 500)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            read.extend(page);
        }
        assert_eq!(read.len(), 1_234, "{backend}");
        assert_eq!(*read[10], accounts[10], "{backend}");
        assert_eq!(read[7].name, "Renamed", "{backend}");
        assert_eq!(read[7].email, None, "{backend}");
        let beta = store.accounts(Some("beta"), None, 10_000).await.unwrap();
        assert_eq!(beta.len(), 616, "{backend}: odd numbers but the renamed 7");
        let mailbox = Email::parse("USER8+x@import.example").unwrap();
        let found = store.accounts_with_email(&mailbox).await.unwrap();
        assert_eq!(found.len(), 1, "{backend}");
        assert_eq!(found[0].code, code("IMP-000008"), "{backend}");
    }
}

/// Two portals starting at once on one database both import `GUICHET_USERS`, each in its own
/// order (an accounts file is read into a map): neither may fail. PostgreSQL answered one of
/// them "deadlock detected" when each wrote the rows in the order it was given, and that
/// portal exited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_importing_the_same_accounts_together_both_succeed() {
    for (backend, url) in stores("importers") {
        let (a, b) = (connect(&url).await, connect(&url).await);
        for round in 0..4 {
            let accounts = many_accounts(2_000, &format!("Round {round}"));
            let reversed: Vec<Account> = accounts.iter().rev().cloned().collect();
            let (x, y) = tokio::join!(a.put_accounts(&accounts), b.put_accounts(&reversed));
            x.unwrap_or_else(|e| panic!("{backend}, round {round}, first: {e}"));
            y.unwrap_or_else(|e| panic!("{backend}, round {round}, second: {e}"));
        }
        let read = a.accounts(None, None, 10_000).await.unwrap();
        assert_eq!(read.len(), 2_000, "{backend}");
        assert!(
            read.iter().all(|a| a.name.starts_with("Round 3 ")),
            "{backend}"
        );
    }
}

/// The kind of the error `result` must be.
fn kind<T>(result: Result<T, guichet::store::StoreError>) -> StoreErrorKind {
    result.map(|_| ()).unwrap_err().kind()
}

/// Writes `sql` straight into the database, as a broken tool would.
async fn tamper(backend: &str, url: &str, sql: &str) {
    match backend {
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            use sqlx::{Connection, Executor};
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            connection.execute(sql).await.unwrap();
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let database = url.rsplit('/').next().unwrap();
            assert!(postgres_server::shared().psql(database, sql).is_some());
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_corrupt_row_is_a_corrupt_error_never_a_default() {
    for (backend, url) in stores("corrupt") {
        let store = connect(&url).await;
        let who = code("ACME-001");
        store
            .save_credentials(&who, 0, &Credentials::default())
            .await
            .unwrap();
        store
            .put_account(&account("ACME-001", "a@acme.example"))
            .await
            .unwrap();
        store
            .put_account(&account("ACME-002", "a@acme.example"))
            .await
            .unwrap();
        let key = new_key();
        store.create(&key, &record("ACME-001"), TTL).await.unwrap();
        tamper(
            backend,
            &url,
            "UPDATE guichet_credentials SET state = 'not json'",
        )
        .await;
        tamper(
            backend,
            &url,
            "UPDATE guichet_accounts SET status = 'frozen' WHERE user_code = 'ACME-001'",
        )
        .await;
        tamper(backend, &url, "UPDATE guichet_sessions SET user_code = ''").await;
        assert_eq!(
            kind(store.credentials(&who).await),
            StoreErrorKind::Corrupt,
            "{backend}"
        );
        assert_eq!(
            kind(store.session_and_credentials(&key, &who).await),
            StoreErrorKind::Corrupt,
            "{backend}"
        );
        assert_eq!(
            kind(store.load(&key).await),
            StoreErrorKind::Corrupt,
            "{backend}"
        );
        assert_eq!(
            kind(store.account(&who).await),
            StoreErrorKind::Corrupt,
            "{backend}"
        );
        // A mailbox lookup leaves the unreadable account out rather than fail for everyone.
        let found = store
            .accounts_with_email(&Email::parse("a@acme.example").unwrap())
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_guichet_is_refused() {
    for (backend, url) in stores("newer") {
        connect(&url).await;
        tamper(
            backend,
            &url,
            "INSERT INTO guichet_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
        )
        .await;
        let error = SqlStore::connect(&url)
            .await
            .expect_err(backend)
            .to_string();
        assert!(error.contains("999"), "{backend}: {error}");
    }
}

/// PostgreSQL goes away: every call fails with a `StoreError` within two seconds (guichet then
/// answers 503); it comes back on the same port: the same store works again.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_stopped_postgres_fails_closed_fast_and_service_resumes_by_itself() {
    let mut server = postgres_server::PostgresServer::start();
    let url = server.fresh_database("fault");
    let store = connect(&url).await;
    let key = new_key();
    let who = code("ACME-001");
    store.create(&key, &record("ACME-001"), TTL).await.unwrap();

    server.stop();
    /// The call fails, with `Unavailable`, in under two seconds.
    macro_rules! fails_fast {
        ($call:expr) => {{
            let started = Instant::now();
            let error = $call.await.map(|_| ()).unwrap_err();
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(2),
                "{}: {took:?}",
                stringify!($call)
            );
            assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
        }};
    }
    for _ in 0..2 {
        fails_fast!(store.load(&key));
        fails_fast!(store.credentials(&who));
        fails_fast!(store.session_and_credentials(&key, &who));
        fails_fast!(store.reserve(Limit::SignInPerUserCode, "ACME-001", Rate::per_hour(10)));
        fails_fast!(store.push(&letter("ACME-001"), 10));
    }

    server.resume();
    assert!(
        store.load(&key).await.unwrap().is_some(),
        "the same store reconnects, and the session is still there"
    );
    assert_eq!(store.credentials(&who).await.unwrap().version, 0);
}
