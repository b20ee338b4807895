//! Run-time credential state: hashes made with older argon2 parameters are replaced after a
//! successful sign-in, and what an operator changes (disable, sign out everywhere) holds for
//! every process sharing the credential store, a restarted one included.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use guichet::identity::CasePolicy;
use guichet::password::Hasher;
use guichet::store::memory::{AccountsFile, MemoryStore};
use guichet::store::CredentialStore;
use http::StatusCode;

/// The run-time password hash stored for `user_code`, if any (read through the state's serde
/// form, as any store keeps it).
async fn runtime_hash(store: &MemoryStore, user_code: &str) -> Option<String> {
    let state = store.credentials(&code(user_code)).await.unwrap().value;
    let json = serde_json::to_value(&state).unwrap();
    json["p"]["h"].as_str().map(str::to_owned)
}

/// Waits (at most 10 s) until the run-time hash of `user_code` is set.
async fn wait_for_hash(store: &MemoryStore, user_code: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hash = runtime_hash(store, user_code).await;
        if hash.is_some() || Instant::now() > deadline {
            return hash;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_hash_made_with_older_parameters_is_replaced_after_a_sign_in() {
    // The accounts file was provisioned with other parameters (more memory) than configured now.
    let mut older = light_config().passwords;
    older.memory_kib = 128;
    let toml = accounts_toml(&Hasher::new(&older).expect("valid parameters")).await;
    assert!(toml.contains("$argon2id$v=19$m=128,t=1,p=1$"));
    let accounts = AccountsFile::from_toml(&toml, CasePolicy::Insensitive).unwrap();
    let store = Arc::new(MemoryStore::new());
    let shared = Arc::clone(&store);
    let portal = Portal::with(|_| {}, move |b| b.directory(accounts).store(shared)).await;

    let first = portal.session_for(MARIE, MARIE_PW).await;
    let rehashed = wait_for_hash(&store, MARIE)
        .await
        .expect("the hash is replaced shortly after the sign-in");
    assert!(
        rehashed.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "the current parameters: {rehashed}"
    );

    // The same password still works, against the new hash, and the rehash signed nobody out.
    assert_eq!(portal.account_with(&first).await.status, StatusCode::OK);
    let again = portal.session_for(MARIE, MARIE_PW).await;
    assert_eq!(portal.account_with(&again).await.status, StatusCode::OK);
    assert_eq!(
        portal.sign_in(MARIE, "wrong-password").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A current hash is not recomputed at every sign-in.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(runtime_hash(&store, MARIE).await, Some(rehashed));
}

#[tokio::test]
async fn a_hash_with_the_current_parameters_is_left_alone() {
    let store = Arc::new(MemoryStore::new());
    let shared = Arc::clone(&store);
    let portal = Portal::with(|_| {}, move |b| b.store(shared)).await;
    portal.session_for(LUC, LUC_PW).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(runtime_hash(&store, LUC).await, None);
    assert_eq!(
        store.credentials(&code(LUC)).await.unwrap().version,
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn a_disabled_account_stays_disabled_for_a_restarted_process() {
    let config = light_config();
    let accounts = directory(&config).await;
    let store = Arc::new(MemoryStore::new());
    let build = || {
        builder(config.clone())
            .directory(accounts.clone())
            .store(Arc::clone(&store))
            .build()
            .unwrap()
    };

    let portal = Portal::serve(build()).await;
    let session = portal.session_for(LUC, LUC_PW).await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    portal.guichet.disable(&code(LUC)).await.unwrap();
    portal
        .guichet
        .sign_out_everywhere(&code(MARIE))
        .await
        .unwrap();
    assert_eq!(
        portal.account_with(&session).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        portal.account_with(&marie).await.status,
        StatusCode::UNAUTHORIZED
    );
    drop(portal);

    // After a restart, Luc still cannot sign in; Marie can.
    let portal = Portal::serve(build()).await;
    assert_eq!(
        portal.sign_in(LUC, LUC_PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    portal.session_for(MARIE, MARIE_PW).await;

    // Re-enabling holds too.
    portal.guichet.enable(&code(LUC)).await.unwrap();
    portal.session_for(LUC, LUC_PW).await;
}
