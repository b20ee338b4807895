//! Run-time credential state: hashes made with older argon2 parameters are replaced after a
//! successful sign-in, and what an operator changes (disable, sign out everywhere) survives a
//! restart when the credential store is persistent.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use guichet::identity::CasePolicy;
use guichet::password::Hasher;
use guichet::store::memory::{AccountsFile, MemoryCredentialStore};
use guichet::store::CredentialStore;
use guichet::Guichet;
use http::StatusCode;

/// The credential state as a freshly started process would read it from `path`.
async fn stored(path: &Path, user_code: &str) -> guichet::store::Credentials {
    MemoryCredentialStore::persistent(path)
        .expect("the state file is readable")
        .credentials(&code(user_code))
        .await
        .expect("a memory store answers")
}

/// Waits (at most 10 s) until the stored run-time hash of `user_code` satisfies `done`.
async fn wait_for_hash(
    path: &Path,
    user_code: &str,
    done: impl Fn(Option<&str>) -> bool,
) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hash = if path.exists() {
            stored(path, user_code)
                .await
                .password_hash
                .map(|h| h.to_string())
        } else {
            None
        };
        if done(hash.as_deref()) || Instant::now() > deadline {
            return hash;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_hash_made_with_older_parameters_is_replaced_after_a_sign_in() {
    let dir = TempDir::new("rehash");
    let state = dir.path().join("state.json");

    // The accounts file was provisioned with other parameters (more memory) than configured now.
    let mut older = light_config().passwords;
    older.memory_kib = 128;
    let toml = accounts_toml(&Hasher::new(&older)).await;
    assert!(toml.contains("$argon2id$v=19$m=128,t=1,p=1$"));
    let accounts = AccountsFile::from_toml(&toml, CasePolicy::Insensitive).unwrap();
    let store = MemoryCredentialStore::persistent(&state).unwrap();
    let portal = Portal::with(
        |_| {},
        move |b| b.directory(accounts).credential_store(store),
    )
    .await;

    let first = portal.session_for(MARIE, MARIE_PW).await;
    let rehashed = wait_for_hash(&state, MARIE, |h| h.is_some())
        .await
        .expect("the hash is replaced shortly after the sign-in");
    assert!(
        rehashed.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "the current parameters: {rehashed}"
    );
    let file = std::fs::read_to_string(&state).unwrap();
    assert!(!file.contains(MARIE_PW), "only hashes at rest");

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
    assert_eq!(
        stored(&state, MARIE).await.password_hash.as_deref(),
        Some(rehashed.as_str())
    );
}

#[tokio::test]
async fn a_hash_with_the_current_parameters_is_left_alone() {
    let dir = TempDir::new("no-rehash");
    let state = dir.path().join("state.json");
    let store = MemoryCredentialStore::persistent(&state).unwrap();
    let portal = Portal::with(|_| {}, move |b| b.credential_store(store)).await;
    portal.session_for(LUC, LUC_PW).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hash = if state.exists() {
        stored(&state, LUC).await.password_hash
    } else {
        None
    };
    assert_eq!(hash, None);
}

#[tokio::test]
async fn a_disabled_account_stays_disabled_after_a_restart() {
    let dir = TempDir::new("persist");
    let state = dir.path().join("state.json");
    let config = light_config();
    let accounts = directory(&config).await;

    let before = Guichet::builder()
        .config(config.clone())
        .directory(accounts.clone())
        .credential_store(MemoryCredentialStore::persistent(&state).unwrap())
        .build()
        .unwrap();
    let portal = Portal::serve(before).await;
    let session = portal.session_for(LUC, LUC_PW).await;
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
    drop(portal);

    // A new store opened on the same file says the same.
    let luc = stored(&state, LUC).await;
    assert!(luc.disabled);
    assert!(luc.epoch >= 1);
    assert_eq!(stored(&state, MARIE).await.epoch, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the state file is private: {mode:o}");
    }

    // After a restart, Luc still cannot sign in; Marie can.
    let after = Guichet::builder()
        .config(config)
        .directory(accounts)
        .credential_store(MemoryCredentialStore::persistent(&state).unwrap())
        .build()
        .unwrap();
    let portal = Portal::serve(after).await;
    assert_eq!(
        portal.sign_in(LUC, LUC_PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    portal.session_for(MARIE, MARIE_PW).await;

    // Re-enabling is persisted too.
    portal.guichet.enable(&code(LUC)).await.unwrap();
    assert!(!stored(&state, LUC).await.disabled);
    portal.session_for(LUC, LUC_PW).await;
}
