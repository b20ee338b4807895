//! Run-time credential state: hashes made with older argon2 parameters are replaced after a
//! successful sign-in, and what an operator changes (disable, sign out everywhere) holds for
//! every process sharing the credential store, a restarted one included.

mod common;
mod smtp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use guichet::identity::CasePolicy;
use guichet::identity::{Account, Email, UserCode};
use guichet::password::Hasher;
use guichet::store::memory::{AccountsFile, MemoryStore};
use guichet::store::{CredentialStore, Directory, StoreError};
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

/// An application's own user table that keeps password hashes: accounts from the test file,
/// with the hash guichet writes back through `Directory::save_password_hash` in force.
struct OwnTable {
    accounts: AccountsFile,
    hashes: std::sync::Mutex<std::collections::HashMap<UserCode, Option<String>>>,
}

impl OwnTable {
    fn hash(&self, user_code: &str) -> Option<String> {
        self.hashes.lock().unwrap().get(&code(user_code)).cloned()?
    }
}

#[guichet::store::async_trait]
impl Directory for OwnTable {
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
        let Some(account) = self.accounts.account(code).await? else {
            return Ok(None);
        };
        Ok(Some(match self.hashes.lock().unwrap().get(code) {
            Some(kept) => {
                let mut account = (*account).clone();
                account.password_hash = kept.clone();
                Arc::new(account)
            }
            None => account,
        }))
    }

    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
        self.accounts.accounts_with_email(email).await
    }

    async fn save_password_hash(
        &self,
        code: &UserCode,
        hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut hashes = self.hashes.lock().unwrap();
        hashes.insert(code.clone(), hash.map(str::to_owned));
        Ok(true)
    }
}

/// The temporary password and the "this wasn't me" token of the last letter to Luc.
async fn luc_letter(smtp: &smtp::SmtpServer, count: usize) -> (String, String) {
    let letters = smtp.wait_for(count, Duration::from_secs(15)).await;
    let text = letters[count - 1].text();
    let password = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|word| is_temporary_password(word))
        .expect("a temporary password")
        .to_owned();
    let from = text.find("token=").expect("a cancel link") + "token=".len();
    (password, text[from..from + 43].to_owned())
}

/// Luc asks for a temporary password, signs in with it and chooses `chosen`; the session.
async fn luc_chooses(
    portal: &Portal,
    smtp: &smtp::SmtpServer,
    n: usize,
    chosen: &str,
) -> (String, String) {
    let asked = portal
        .post("/auth/password")
        .accept_json()
        .form(&[("user_code", LUC)])
        .send()
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let (temporary, token) = luc_letter(smtp, n).await;
    let restricted = portal.sign_in(LUC, &temporary).await.session();
    let set = portal
        .post("/auth/password/set")
        .accept_json()
        .session(&restricted)
        .form(&[("password", chosen)])
        .send()
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    (set.session(), token)
}

#[tokio::test]
async fn a_directory_that_keeps_passwords_is_written_the_chosen_one_and_the_undone_one() {
    let config = light_config();
    let hasher = Hasher::new(&config.passwords).unwrap();
    let table = Arc::new(OwnTable {
        accounts: directory(&config).await,
        hashes: Default::default(),
    });
    let smtp = smtp::SmtpServer::start().await;
    let portal_on = |store: MemoryStore| {
        let (table, url) = (Arc::clone(&table), smtp.url());
        Portal::with(
            |_| {},
            move |b| {
                b.directory(table)
                    .store(store)
                    .mailer(guichet::mail::SmtpMailer::from_url(&url).unwrap())
            },
        )
    };
    let portal = portal_on(MemoryStore::new()).await;

    // Luc chooses a password: the table holds its hash, and his new session is not mistaken
    // for one an operator's change ended.
    let (session, _) = luc_chooses(&portal, &smtp, 1, "Luc-Choisit-2026").await;
    let kept = table.hash(LUC).expect("the chosen hash is written back");
    let typed = hasher.password("Luc-Choisit-2026").unwrap();
    assert!(matches!(
        hasher.verify(&typed, Some(&kept)).await,
        Ok(guichet::password::Verification::Match { .. })
    ));
    assert_eq!(portal.account_with(&session).await.status, StatusCode::OK);
    assert_eq!(
        portal.sign_in(LUC, LUC_PW).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The table is the one source of truth: a portal with fresh run-time state has it.
    let fresh = portal_on(MemoryStore::new()).await;
    fresh.session_for(LUC, "Luc-Choisit-2026").await;

    // An intruder with a temporary password chooses another; "this wasn't me" undoes it,
    // in guichet's state and in the table.
    let (_, token) = luc_chooses(&portal, &smtp, 2, "Pris-Par-Un-Intrus").await;
    let undone = portal
        .post("/auth/password/cancel")
        .accept_json()
        .form(&[("code", LUC), ("token", &token)])
        .send()
        .await;
    assert_eq!(undone.json()["cancelled"], "undone", "{}", undone.text());
    assert_eq!(table.hash(LUC).as_deref(), Some(kept.as_str()));
    for at in [&portal, &portal_on(MemoryStore::new()).await] {
        assert_eq!(
            at.sign_in(LUC, "Pris-Par-Un-Intrus").await.status,
            StatusCode::UNAUTHORIZED
        );
        at.session_for(LUC, "Luc-Choisit-2026").await;
    }
}
