//! The store contract: the checks every store must pass, public so that a store written outside
//! this crate is held to exactly what guichet's own memory, SQL and Redis stores are held to.
//! Compiled with the `test-util` feature.
//!
//! Each check is an `async fn` taking a fresh store and panicking with a message when the
//! store breaks the contract. [`store_contract!`](crate::store_contract) expands to one
//! `#[tokio::test]` per check (the test crate needs `tokio` with the `macros` and `rt`
//! features):
//!
//! ```
//! // tests/my_store.rs, with guichet's `test-util` feature in [dev-dependencies];
//! // here the memory stores stand in for yours.
//! use guichet::store::memory::MemoryStore;
//!
//! guichet::store_contract!(sessions, MemoryStore::new());
//! mod credentials {
//!     guichet::store_contract!(credentials, guichet::store::memory::MemoryStore::new());
//! }
//! # fn main() {}
//! ```
//!
//! `$make` is evaluated once per check, inside the test's runtime (it may `.await`), so each
//! check gets a store of its own: give each one a fresh database, or a fresh key prefix.

use std::time::Duration;

use crate::identity::{Account, AccountStatus, CasePolicy, Client, Email, UserCode};
use crate::limit::{Limit, Rate};
use crate::mail::{Letter, LetterKind};
use crate::pages::Language;
use crate::session::{unix_now, SessionId, SessionRecord};
use crate::store::{
    self, AccountStore, Change, CodeRequest, CredentialStore, Credentials, MailQueue, NewPerson,
    RateLimitStore, RequestStatus, RequestStore, SessionStore, ThrottleStore, Versioned,
};

fn code(s: &str) -> UserCode {
    UserCode::parse(s, CasePolicy::Insensitive).expect("a valid user code")
}

fn record(user: &str) -> SessionRecord {
    SessionRecord {
        user_code: code(user),
        epoch: 0,
        created_at: unix_now(),
        last_seen: unix_now(),
        restricted: None,
    }
}

const TTL: Duration = Duration::from_secs(1800);

/// `create` then `load` gives the record back, restricted sessions included.
pub async fn a_created_session_loads_back_identically(store: impl SessionStore) {
    let key = SessionId::generate().key();
    let r = record("ACME-001");
    assert!(store.create(&key, &r, TTL).await.unwrap());
    assert_eq!(store.load(&key).await.unwrap(), Some(r));
    let key = SessionId::generate().key();
    let restricted = SessionRecord {
        restricted: Some("cancel-key".into()),
        ..record("ACME-002")
    };
    assert!(store.create(&key, &restricted, TTL).await.unwrap());
    assert_eq!(store.load(&key).await.unwrap(), Some(restricted));
}

/// `create` refuses a key that exists, and changes nothing.
pub async fn create_never_overwrites_an_existing_session(store: impl SessionStore) {
    let key = SessionId::generate().key();
    assert!(store.create(&key, &record("ACME-001"), TTL).await.unwrap());
    assert!(!store.create(&key, &record("EVIL-666"), TTL).await.unwrap());
    assert_eq!(
        store.load(&key).await.unwrap().unwrap().user_code,
        code("ACME-001")
    );
}

/// `destroy` removes; destroying an absent session is fine.
pub async fn a_destroyed_session_is_gone_and_destroying_twice_is_fine(store: impl SessionStore) {
    let key = SessionId::generate().key();
    store.create(&key, &record("ACME-001"), TTL).await.unwrap();
    store.destroy(&key).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
    store.destroy(&key).await.unwrap();
}

/// `touch` records the use, and never brings a destroyed session back.
pub async fn touch_records_the_use_but_never_resurrects(store: impl SessionStore) {
    let key = SessionId::generate().key();
    store.create(&key, &record("ACME-001"), TTL).await.unwrap();
    let seen = unix_now() + 60;
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

/// A session past its time to live does not load (this check sleeps two seconds).
pub async fn a_session_past_its_ttl_does_not_load(store: impl SessionStore) {
    let key = SessionId::generate().key();
    store
        .create(&key, &record("ACME-001"), Duration::from_secs(1))
        .await
        .unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(store.load(&key).await.unwrap(), None);
}

fn some_state(epoch: u64) -> Credentials {
    let mut state = Credentials::default();
    for _ in 0..epoch {
        state.move_epoch();
    }
    state.choose(Some("$argon2id$directory"), "$argon2id$chosen", None, 0);
    state
}

/// Nothing stored: the default state, version 0.
pub async fn an_unknown_account_has_the_default_state_at_version_zero(store: impl CredentialStore) {
    let loaded = store.credentials(&code("NOBODY-1")).await.unwrap();
    assert_eq!(
        loaded,
        Versioned {
            value: Credentials::default(),
            version: 0
        }
    );
}

/// A saved state loads back as saved, and its version moved; other accounts are untouched.
pub async fn a_saved_state_loads_back_with_a_new_version(store: impl CredentialStore) {
    let who = code("ACME-001");
    let state = some_state(2);
    assert!(store.save_credentials(&who, 0, &state).await.unwrap());
    let loaded = store.credentials(&who).await.unwrap();
    assert_eq!(loaded.value, state);
    assert!(loaded.version > 0);
    let next = some_state(5);
    assert!(store
        .save_credentials(&who, loaded.version, &next)
        .await
        .unwrap());
    let again = store.credentials(&who).await.unwrap();
    assert_eq!(again.value, next);
    assert_ne!(again.version, loaded.version);
    assert_eq!(
        store.credentials(&code("ACME-002")).await.unwrap().version,
        0
    );
}

/// A writer that read an older version cannot overwrite a newer state.
pub async fn a_save_from_a_stale_version_is_refused(store: impl CredentialStore) {
    let who = code("ACME-001");
    assert!(store
        .save_credentials(&who, 0, &some_state(1))
        .await
        .unwrap());
    assert!(!store
        .save_credentials(&who, 0, &some_state(9))
        .await
        .unwrap());
    let loaded = store.credentials(&who).await.unwrap();
    assert_eq!(loaded.value, some_state(1));
    assert!(!store
        .save_credentials(&who, loaded.version + 1, &some_state(9))
        .await
        .unwrap());
}

/// Four writers that read one version: exactly one of them wins.
pub async fn of_concurrent_saves_from_one_version_exactly_one_succeeds(
    store: impl CredentialStore,
) {
    let who = code("ACME-003");
    let version = store.credentials(&who).await.unwrap().version;
    let (a, b, c, d) = (some_state(1), some_state(2), some_state(3), some_state(4));
    let saved = tokio::join!(
        store.save_credentials(&who, version, &a),
        store.save_credentials(&who, version, &b),
        store.save_credentials(&who, version, &c),
        store.save_credentials(&who, version, &d),
    );
    let wins = [saved.0, saved.1, saved.2, saved.3]
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1, "exactly one concurrent save wins");
}

/// The rule single use rests on: of concurrent sign-ins with one temporary password, one
/// redeems it.
pub async fn a_temporary_password_signs_in_exactly_once_under_concurrent_attempts(
    store: impl CredentialStore,
) {
    let who = code("ACME-004");
    let now = unix_now();
    store::update(&store, &who, |state| {
        state.issue_temporary("digest", now + 3600, "key");
        Change::Save(())
    })
    .await
    .unwrap();
    let redeem = || {
        store::update(&store, &who, |state| {
            match state.redeem("digest", now, now + 60, None) {
                Some(_) => Change::Save(true),
                None => Change::Keep(false),
            }
        })
    };
    let attempts = tokio::join!(redeem(), redeem(), redeem(), redeem());
    let wins = [attempts.0, attempts.1, attempts.2, attempts.3]
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1, "one sign-in redeems the temporary password");
}

/// Reservations are admitted up to the burst; refusals spend nothing, so hammering a
/// throttled key never stretches its wait.
pub async fn a_throttle_admits_the_burst_then_refuses_without_counting_refusals(
    store: impl ThrottleStore,
) {
    let rate = Rate::per_hour(3);
    let limit = Limit::SignInPerUserCode;
    for _ in 0..3 {
        assert_eq!(store.reserve(limit, "ACME-001", rate).await.unwrap(), None);
    }
    let wait = store
        .reserve(limit, "ACME-001", rate)
        .await
        .unwrap()
        .expect("throttled");
    assert!(
        wait > Duration::from_secs(1190) && wait <= Duration::from_secs(1200),
        "{wait:?}"
    );
    for _ in 0..20 {
        store.reserve(limit, "ACME-001", rate).await.unwrap();
    }
    let after = store
        .reserve(limit, "ACME-001", rate)
        .await
        .unwrap()
        .expect("still throttled");
    assert!(
        after <= wait,
        "refusals do not count: {wait:?} then {after:?}"
    );
    assert_eq!(
        store.reserve(limit, "ACME-002", rate).await.unwrap(),
        None,
        "keys are independent"
    );
    assert_eq!(
        store
            .reserve(Limit::TemporaryPasswordPerUserCode, "ACME-001", rate)
            .await
            .unwrap(),
        None,
        "throttles are independent"
    );
}

/// `peek` tells the wait and spends nothing.
pub async fn peeking_at_a_throttle_spends_nothing(store: impl ThrottleStore) {
    let rate = Rate::per_hour(2);
    let limit = Limit::SignInPerUserCode;
    for _ in 0..5 {
        assert_eq!(store.peek(limit, "K", rate).await.unwrap(), None);
    }
    store.reserve(limit, "K", rate).await.unwrap();
    assert_eq!(store.peek(limit, "K", rate).await.unwrap(), None);
    store.reserve(limit, "K", rate).await.unwrap();
    let wait = store
        .peek(limit, "K", rate)
        .await
        .unwrap()
        .expect("throttled");
    assert!(wait > Duration::from_secs(1790), "{wait:?}");
    let again = store.peek(limit, "K", rate).await.unwrap().expect("still");
    assert!(again <= wait);
}

/// `clear` forgets every attempt of a key.
pub async fn clearing_forgets_every_attempt(store: impl ThrottleStore) {
    let rate = Rate::per_hour(2);
    let limit = Limit::SignInPerUserCode;
    store.reserve(limit, "K", rate).await.unwrap();
    store.reserve(limit, "K", rate).await.unwrap();
    assert!(store.reserve(limit, "K", rate).await.unwrap().is_some());
    store.clear(limit, "K").await.unwrap();
    assert_eq!(store.reserve(limit, "K", rate).await.unwrap(), None);
    assert_eq!(store.reserve(limit, "K", rate).await.unwrap(), None);
}

/// GCRA: a burst of `count`, then one per interval; keys and limits are independent.
pub async fn a_rate_limit_admits_the_burst_then_one_per_interval(store: impl RateLimitStore) {
    let rate = Rate::per_hour(3);
    let check = |limit, key| store.check(limit, key, rate);
    for _ in 0..3 {
        assert_eq!(check(Limit::RequestPerIp, "192.0.2.1").await.unwrap(), None);
    }
    let wait = check(Limit::RequestPerIp, "192.0.2.1")
        .await
        .unwrap()
        .expect("refused");
    assert!(
        wait > Duration::from_secs(1190) && wait <= Duration::from_secs(1200),
        "{wait:?}"
    );
    assert_eq!(
        check(Limit::RequestPerIp, "192.0.2.2").await.unwrap(),
        None,
        "keys are independent"
    );
    assert_eq!(
        check(Limit::SignInPerIp, "192.0.2.1").await.unwrap(),
        None,
        "limits are independent"
    );
}

fn letter(user: &str) -> Letter {
    Letter::new(LetterKind::TemporaryPassword, code(user), Language::Fr)
}

/// Letters come out first in, first out, each to one taker while leased.
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

/// A taker that never completes (a crash): the letter is handed out again after the lease.
pub async fn a_lease_that_runs_out_hands_the_letter_out_again(queue: impl MailQueue) {
    queue.push(&letter("A-1"), 10).await.unwrap();
    let taken = queue
        .claim(Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = queue
        .claim(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("handed out again");
    assert_eq!(again.letter, taken.letter);
}

/// A retried letter is not due before its time, and counts its failed attempts.
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

/// At capacity, `push` refuses instead of growing.
pub async fn a_full_queue_refuses_instead_of_growing(queue: impl MailQueue) {
    assert!(queue.push(&letter("A-1"), 2).await.unwrap());
    assert!(queue.push(&letter("A-2"), 2).await.unwrap());
    assert!(!queue.push(&letter("A-3"), 2).await.unwrap());
    assert_eq!(queue.waiting().await.unwrap(), 2);
}

/// Expands to one `#[tokio::test]` per check of a part of the contract (`sessions`,
/// `credentials`, `throttle`, `rate_limits`, `mail_queue`, `requests`, and `accounts` for an
/// [`AccountStore`]), each with a store made by `$make`
/// (an expression, evaluated inside the test; it may `.await`). See
/// [`store::contract`](crate::store::contract).
#[macro_export]
macro_rules! store_contract {
    (sessions, $make:expr) => {
        $crate::store_contract!(@tests $make, [
            a_created_session_loads_back_identically,
            create_never_overwrites_an_existing_session,
            a_destroyed_session_is_gone_and_destroying_twice_is_fine,
            touch_records_the_use_but_never_resurrects,
            a_session_past_its_ttl_does_not_load,
            sessions_of_lists_the_stored_sessions_of_one_account,
        ]);
    };
    (accounts, $make:expr) => {
        $crate::store_contract!(@tests $make, [
            an_account_put_reads_back_and_is_replaced_by_code,
            creating_an_account_refuses_a_taken_code,
            accounts_are_listed_by_code_in_pages_and_by_client,
            accounts_with_one_mailbox_are_found_under_any_spelling,
            clients_are_put_read_and_listed,
        ]);
    };
    (requests, $make:expr) => {
        $crate::store_contract!(@tests $make, [
            a_request_is_added_once_and_reads_back,
            requests_are_listed_oldest_first_and_pending_unless_all,
            a_request_is_decided_once,
        ]);
    };
    (credentials, $make:expr) => {
        $crate::store_contract!(@tests $make, [
            an_unknown_account_has_the_default_state_at_version_zero,
            a_saved_state_loads_back_with_a_new_version,
            a_save_from_a_stale_version_is_refused,
            of_concurrent_saves_from_one_version_exactly_one_succeeds,
            a_temporary_password_signs_in_exactly_once_under_concurrent_attempts,
        ]);
    };
    (throttle, $make:expr) => {
        $crate::store_contract!(@tests $make, [
            a_throttle_admits_the_burst_then_refuses_without_counting_refusals,
            peeking_at_a_throttle_spends_nothing,
            clearing_forgets_every_attempt,
        ]);
    };
    (rate_limits, $make:expr) => {
        $crate::store_contract!(@tests $make, [
            a_rate_limit_admits_the_burst_then_one_per_interval,
        ]);
    };
    (mail_queue, $make:expr) => {
        $crate::store_contract!(@tests $make, [
            letters_come_out_in_order_and_once_each_while_leased,
            a_lease_that_runs_out_hands_the_letter_out_again,
            a_retried_letter_waits_and_counts_its_attempts,
            a_full_queue_refuses_instead_of_growing,
        ]);
    };
    (@tests $make:expr, [$($check:ident),* $(,)?]) => {
        $(
            #[::tokio::test]
            async fn $check() {
                $crate::store::contract::$check($make).await;
            }
        )*
    };
}

/// `sessions_of` lists the stored sessions of one account, and only those.
pub async fn sessions_of_lists_the_stored_sessions_of_one_account(store: impl SessionStore) {
    let (first, second, other) = (
        SessionId::generate().key(),
        SessionId::generate().key(),
        SessionId::generate().key(),
    );
    store
        .create(&first, &record("ACME-001"), TTL)
        .await
        .unwrap();
    store
        .create(&second, &record("ACME-001"), TTL)
        .await
        .unwrap();
    store
        .create(&other, &record("ACME-002"), TTL)
        .await
        .unwrap();
    assert_eq!(store.sessions_of(&code("ACME-001")).await.unwrap().len(), 2);
    store.destroy(&first).await.unwrap();
    let left = store.sessions_of(&code("ACME-001")).await.unwrap();
    assert_eq!(left, vec![record_at("ACME-001", left[0].created_at)]);
    assert!(store.sessions_of(&code("NOBODY")).await.unwrap().is_empty());
}

fn record_at(user: &str, at: u64) -> SessionRecord {
    SessionRecord::new(code(user), 0, at)
}

fn account(user: &str, client: &str, email: &str) -> Account {
    Account::new(code(user), format!("Person {user}"), client)
        .with_email(Email::parse(email).unwrap())
        .with_services(["collection"])
        .with_password_hash("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
}

/// An account put reads back as put, and a second put replaces it by code.
pub async fn an_account_put_reads_back_and_is_replaced_by_code(store: impl AccountStore) {
    let first = account("ACME-001", "acme", "marie@acme.example");
    assert!(store.put_account(&first).await.unwrap().is_none());
    let read = store.account(&code("acme-001")).await.unwrap().unwrap();
    assert_eq!(*read, first);
    let renamed = Account {
        name: "Marie T.".into(),
        status: AccountStatus::Disabled,
        shared_inbox: true,
        ..first.clone()
    };
    let replaced = store.put_account(&renamed).await.unwrap().unwrap();
    assert_eq!(replaced.name, first.name);
    let read = store.account(&code("ACME-001")).await.unwrap().unwrap();
    assert_eq!(
        (read.name.as_str(), read.status, read.shared_inbox),
        ("Marie T.", AccountStatus::Disabled, true)
    );
    assert!(store.account(&code("ACME-404")).await.unwrap().is_none());
}

/// `create_account` never overwrites: a taken code is refused.
pub async fn creating_an_account_refuses_a_taken_code(store: impl AccountStore) {
    assert!(store
        .create_account(&account("ACME-001", "acme", "a@acme.example"))
        .await
        .unwrap());
    assert!(!store
        .create_account(&account("ACME-001", "acme", "b@acme.example"))
        .await
        .unwrap());
    let kept = store.account(&code("ACME-001")).await.unwrap().unwrap();
    assert_eq!(kept.email.as_ref().unwrap().as_str(), "a@acme.example");
}

/// Accounts come out ordered by code, in pages, optionally of one client only.
pub async fn accounts_are_listed_by_code_in_pages_and_by_client(store: impl AccountStore) {
    for (user, client) in [
        ("BETA-002", "beta"),
        ("ACME-002", "acme"),
        ("ACME-001", "acme"),
        ("BETA-001", "beta"),
        ("ACME-003", "acme"),
    ] {
        let email = format!("{}@x.example", user.to_lowercase());
        store
            .put_account(&account(user, client, &email))
            .await
            .unwrap();
    }
    let codes = |accounts: Vec<std::sync::Arc<Account>>| -> Vec<String> {
        accounts.iter().map(|a| a.code.to_string()).collect()
    };
    let first = store.accounts(None, None, 2).await.unwrap();
    assert_eq!(codes(first.clone()), ["ACME-001", "ACME-002"]);
    let next = store
        .accounts(None, Some(&first[1].code), 10)
        .await
        .unwrap();
    assert_eq!(codes(next), ["ACME-003", "BETA-001", "BETA-002"]);
    let beta = store.accounts(Some("beta"), None, 10).await.unwrap();
    assert_eq!(codes(beta), ["BETA-001", "BETA-002"]);
}

/// Every spelling of one mailbox (case, `+tag`) finds the accounts that use it.
pub async fn accounts_with_one_mailbox_are_found_under_any_spelling(store: impl AccountStore) {
    store
        .put_account(&account("ACME-001", "acme", "Info+a@Acme.example"))
        .await
        .unwrap();
    store
        .put_account(&account("ACME-002", "acme", "info@acme.example"))
        .await
        .unwrap();
    store
        .put_account(&account("ACME-003", "acme", "luc@acme.example"))
        .await
        .unwrap();
    let found = store
        .accounts_with_email(&Email::parse("INFO+b@acme.example").unwrap())
        .await
        .unwrap();
    let mut codes: Vec<String> = found.iter().map(|a| a.code.to_string()).collect();
    codes.sort();
    assert_eq!(codes, ["ACME-001", "ACME-002"]);
    // An address changed is found under its new mailbox only.
    store
        .put_account(&account("ACME-002", "acme", "luc+x@acme.example"))
        .await
        .unwrap();
    let found = store
        .accounts_with_email(&Email::parse("info@acme.example").unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

/// Clients are put, read and listed by identifier.
pub async fn clients_are_put_read_and_listed(store: impl AccountStore) {
    let beta = Client::new("beta", "Beta", code("BETA-001")).with_services(["orders"]);
    let acme = Client::new("acme", "Acme", code("ACME-001")).with_services(["collection"]);
    store.put_client(&beta).await.unwrap();
    store.put_client(&acme).await.unwrap();
    let read = store.client("acme").await.unwrap().unwrap();
    assert_eq!(*read, acme);
    let ids: Vec<String> = store
        .clients()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(ids, ["acme", "beta"]);
    let renamed = Client::new("acme", "Acme Inc.", code("ACME-002"));
    store.put_client(&renamed).await.unwrap();
    assert_eq!(
        store.client("acme").await.unwrap().unwrap().name,
        "Acme Inc."
    );
    assert!(store.client("nope").await.unwrap().is_none());
}

fn request(id: &str, created_at: u64) -> CodeRequest {
    CodeRequest::new(
        id,
        "acme",
        code("ACME-001"),
        vec![NewPerson::new(
            "Julie Côté",
            Email::parse("julie@acme.example").unwrap(),
        )],
        created_at,
    )
}

/// A request is added once (ids are unique) and reads back whole.
pub async fn a_request_is_added_once_and_reads_back(store: impl RequestStore) {
    let first = request("R-AAAA01", 1000);
    assert!(store.add_request(&first).await.unwrap());
    assert!(!store.add_request(&request("R-AAAA01", 2000)).await.unwrap());
    assert_eq!(store.request("R-AAAA01").await.unwrap(), Some(first));
    assert_eq!(store.request("R-NONE").await.unwrap(), None);
}

/// Requests come out oldest first; decided ones only when all are asked for.
pub async fn requests_are_listed_oldest_first_and_pending_unless_all(store: impl RequestStore) {
    store.add_request(&request("R-B", 2000)).await.unwrap();
    store.add_request(&request("R-A", 1000)).await.unwrap();
    store.add_request(&request("R-C", 3000)).await.unwrap();
    let mut rejected = request("R-C", 3000);
    rejected.status = RequestStatus::Rejected {
        reason: "unknown people".into(),
    };
    rejected.decided_at = Some(4000);
    assert!(store.decide_request(&rejected).await.unwrap());
    let ids = |requests: Vec<CodeRequest>| -> Vec<String> {
        requests.into_iter().map(|r| r.id).collect()
    };
    assert_eq!(ids(store.requests(false).await.unwrap()), ["R-A", "R-B"]);
    assert_eq!(
        ids(store.requests(true).await.unwrap()),
        ["R-A", "R-B", "R-C"]
    );
}

/// A request is decided once: a second decision (another operator) is refused.
pub async fn a_request_is_decided_once(store: impl RequestStore) {
    store.add_request(&request("R-D", 1000)).await.unwrap();
    let mut approved = request("R-D", 1000);
    approved.status = RequestStatus::Approved {
        accounts: vec![code("ACME-007")],
    };
    approved.decided_at = Some(2000);
    let mut rejected = request("R-D", 1000);
    rejected.status = RequestStatus::Rejected {
        reason: "late".into(),
    };
    assert!(store.decide_request(&approved).await.unwrap());
    assert!(!store.decide_request(&rejected).await.unwrap());
    assert_eq!(store.request("R-D").await.unwrap(), Some(approved));
    assert!(!store.decide_request(&request("R-NONE", 1)).await.unwrap());
}
