//! The holes found when the portal was attacked as an attacker would, one test each, over real
//! HTTP. Each of these failed before its fix.

mod common;
mod smtp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use guichet::config::PasswordConfig;
use guichet::identity::CasePolicy;
use guichet::limit::Rate;
use guichet::mail::SmtpMailer;
use guichet::store::memory::{AccountsFile, MemoryStore};
use http::StatusCode;
use smtp::SmtpServer;

const WAIT: Duration = Duration::from_secs(15);

/// A portal whose mail goes to `smtp`.
async fn portal(smtp: &SmtpServer, tune: impl FnOnce(&mut guichet::Config)) -> Portal {
    let url = smtp.url();
    Portal::with(tune, move |builder| {
        builder.mailer(SmtpMailer::from_url(&url).expect("a valid SMTP URL"))
    })
    .await
}

/// "Email me my password" as an API client.
async fn request(portal: &Portal, user_code: &str) -> Reply {
    portal
        .post("/auth/password")
        .accept_json()
        .form(&[("user_code", user_code)])
        .send()
        .await
}

/// The temporary password and the "this wasn't me" token of a temporary-password email.
struct Letter {
    password: String,
    token: String,
}

fn letter(message: &smtp::Received) -> Letter {
    let text = message.text();
    let password = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|word| word.len() == 24 && is_temporary_password(word))
        .expect("the message carries a temporary password")
        .to_owned();
    let from = text.find("token=").expect("a cancel link") + "token=".len();
    let token = text[from..from + 43].to_owned();
    Letter { password, token }
}

async fn cancel(portal: &Portal, user_code: &str, token: &str) -> Reply {
    portal
        .post("/auth/password/cancel")
        .accept_json()
        .form(&[("code", user_code), ("token", token)])
        .send()
        .await
}

async fn choose(portal: &Portal, session: &str, password: &str) -> Reply {
    portal
        .post("/auth/password/set")
        .accept_json()
        .session(session)
        .form(&[("password", password), ("confirm", password)])
        .send()
        .await
}

async fn attempt(portal: &Portal, user_code: &str, password: &str) -> Reply {
    portal
        .post("/auth/login")
        .accept_json()
        .form(&[("user_code", user_code), ("password", password)])
        .send()
        .await
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

// 1. Timing after a password request.

/// How long a sign-in takes when sent right after a password request for `asked`.
async fn sign_in_after_request(portal: &Portal, asked: &str) -> Duration {
    assert_eq!(request(portal, asked).await.status, StatusCode::OK);
    let started = Instant::now();
    let reply = attempt(portal, "ACME-998", "not-the-password").await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // Let whatever the request started in the background finish before the next round.
    tokio::time::sleep(Duration::from_millis(150)).await;
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_right_after_a_password_request_takes_as_long_whatever_code_was_asked_for() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |config| {
        config.passwords = PasswordConfig::default();
        config.passwords.hashing_threads = Some(1);
        let many = Rate::per_hour(10_000);
        config.credential_requests.per_user_code = many;
        config.credential_requests.per_email = many;
        config.credential_requests.per_ip = many;
        config.credential_requests.global = many;
        config.sign_in.failures_per_code = many;
        config.sign_in.attempts_per_ip = Rate::per_minute(10_000);
    })
    .await;
    // Luc is an active account with his own mailbox: his request issues a temporary password.
    sign_in_after_request(&portal, LUC).await;
    sign_in_after_request(&portal, NOBODY).await;
    let mut ratios = Vec::new();
    // A real leak (a hash in the way of the next sign-in) doubles the time in every attempt;
    // noise on a shared machine may spoil one attempt, not three.
    for _ in 0..3 {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for round in 0..20 {
            let (first, second) = if round % 2 == 0 {
                (LUC, NOBODY)
            } else {
                (NOBODY, LUC)
            };
            let a = sign_in_after_request(&portal, first).await;
            let b = sign_in_after_request(&portal, second).await;
            let (k, u) = if first == LUC { (a, b) } else { (b, a) };
            known.push(k);
            unknown.push(u);
        }
        let (known, unknown) = (median(known), median(unknown));
        let ratio = known.as_secs_f64() / unknown.as_secs_f64();
        eprintln!("after a request: known {known:?}, unknown {unknown:?}, ratio {ratio:.3}");
        if (0.9..=1.1).contains(&ratio) {
            return;
        }
        ratios.push(ratio);
    }
    panic!("a sign-in after a request for a known code takes longer: ratios {ratios:?}");
}

// 2. "This wasn't me" after the temporary password was used.

#[tokio::test]
async fn cancelling_a_used_temporary_password_ends_the_session_it_opened() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |_| {}).await;
    request(&portal, LUC).await;
    let mail = smtp.wait_for(1, WAIT).await;
    let letter = letter(&mail[0]);

    // Someone else reads the mail first and signs in with the temporary password.
    let intruder = portal.sign_in(LUC, &letter.password).await;
    assert_eq!(intruder.location(), Some("/auth/password/set"));
    let intruder = intruder.session();

    // The owner clicks "this wasn't me": told that the password had been used and that
    // whoever used it is signed out.
    let cancelled = cancel(&portal, LUC, &letter.token).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(
        cancelled.json()["cancelled"],
        "used",
        "{}",
        cancelled.text()
    );

    // The intruder can no longer choose a password.
    let refused = choose(&portal, &intruder, "Pris-Par-Un-Intrus-2026").await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refused.text()
    );
    assert_eq!(
        attempt(&portal, LUC, "Pris-Par-Un-Intrus-2026")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    portal.session_for(LUC, LUC_PW).await;
}

#[tokio::test]
async fn cancelling_after_the_intruder_chose_a_password_undoes_it() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |_| {}).await;
    let owner = portal.session_for(LUC, LUC_PW).await;
    request(&portal, LUC).await;
    let mail = smtp.wait_for(1, WAIT).await;
    let letter = letter(&mail[0]);
    let restricted = portal.sign_in(LUC, &letter.password).await.session();
    let chosen = choose(&portal, &restricted, "Pris-Par-Un-Intrus-2026").await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.text());
    let intruder = chosen.session();
    assert_eq!(portal.account_with(&intruder).await.status, StatusCode::OK);

    let cancelled = cancel(&portal, LUC, &letter.token).await;
    assert_eq!(
        cancelled.json()["cancelled"],
        "undone",
        "{}",
        cancelled.text()
    );
    assert_eq!(
        portal.account_with(&intruder).await.status,
        StatusCode::UNAUTHORIZED,
        "the intruder's session ends"
    );
    assert_eq!(
        portal.account_with(&owner).await.status,
        StatusCode::UNAUTHORIZED,
        "every session ends"
    );
    assert_eq!(
        attempt(&portal, LUC, "Pris-Par-Un-Intrus-2026")
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the intruder's password is gone"
    );
    portal.session_for(LUC, LUC_PW).await;
}

#[tokio::test]
async fn signing_in_with_ones_own_password_ends_a_restricted_session() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |_| {}).await;
    request(&portal, LUC).await;
    let mail = smtp.wait_for(1, WAIT).await;
    let letter = letter(&mail[0]);
    let intruder = portal.sign_in(LUC, &letter.password).await.session();

    portal.session_for(LUC, LUC_PW).await;
    let refused = choose(&portal, &intruder, "Pris-Par-Un-Intrus-2026").await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        refused.text()
    );
}

// 3. A lock-out stretched by temporary-password-shaped guesses.

#[tokio::test]
async fn guesses_shaped_like_a_temporary_password_neither_stretch_the_lock_out_nor_go_unbounded() {
    let portal = Portal::start().await;
    for _ in 0..10 {
        attempt(&portal, MARIE, "wrong-password").await;
    }
    let locked = attempt(&portal, MARIE, "wrong-password").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let before = locked.retry_after().expect("Retry-After");

    let mut refused = 0;
    for _ in 0..30 {
        let reply = attempt(&portal, MARIE, "ABCD-EFGH-JKMN-PQRS-TUVW").await;
        match reply.status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        refused >= 20,
        "temporary-shaped guesses are bounded: {refused} refused of 30"
    );

    let after = attempt(&portal, MARIE, "wrong-password").await;
    let after = after.retry_after().expect("still throttled");
    assert!(
        after <= before + 5 && after <= 3600,
        "the lock-out did not grow: {before} s before, {after} s after"
    );
}

// 4. Concurrent failures at the edge of the limit.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_are_counted_before_any_is_checked() {
    let portal = Arc::new(
        Portal::with(
            |config| {
                config.sign_in.failures_per_code = Rate::per_hour(3);
                // Slow enough hashing that every attempt is in flight at once.
                config.passwords.memory_kib = 8 * 1024;
                config.passwords.hashing_threads = Some(1);
            },
            |b| b,
        )
        .await,
    );
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let portal = Arc::clone(&portal);
        attempts.spawn(async move { attempt(&portal, LUC, "wrong-password").await.status });
    }
    let mut checked = 0;
    while let Some(status) = attempts.join_next().await {
        match status.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(checked <= 3, "{checked} passwords checked, 3 allowed");
}

// 5. An Origin with another scheme.

#[tokio::test]
async fn a_post_from_the_same_host_under_another_scheme_is_refused() {
    let portal = Portal::start().await;
    let reply = portal
        .post("/auth/login")
        .header("origin", format!("https://{}", portal.addr))
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let same = portal
        .post("/auth/login")
        .header("origin", format!("http://{}", portal.addr))
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(
        same.status,
        StatusCode::SEE_OTHER,
        "the portal's own origin"
    );
}

// 6. Letters readable by others.

#[cfg(unix)]
#[tokio::test]
async fn letters_in_the_outbox_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("outbox-mode");
    let outbox = dir.path().join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    std::fs::set_permissions(&outbox, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mailer = guichet::mail::Outbox::new(&outbox).unwrap();
    let portal = Portal::with(|_| {}, move |b| b.mailer(mailer)).await;
    request(&portal, LUC).await;
    let started = Instant::now();
    let letter = loop {
        let found = std::fs::read_dir(&outbox)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "eml"));
        if let Some(found) = found {
            break found.path();
        }
        assert!(started.elapsed() < WAIT, "no letter in the outbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let file = std::fs::metadata(&letter).unwrap().permissions().mode();
    assert_eq!(file & 0o077, 0, "the letter is private: {file:o}");
    let folder = std::fs::metadata(&outbox).unwrap().permissions().mode();
    assert_eq!(folder & 0o077, 0, "the outbox is private: {folder:o}");
    let leftovers: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_none_or(|x| x != "eml"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files: {leftovers:?}");
}

// 8. The cancel route is limited like the other flows.

#[tokio::test]
async fn the_cancel_link_is_rate_limited_per_client_ip() {
    let portal = Portal::with(
        |config| config.credential_requests.per_ip = Rate::per_hour(5),
        |b| b,
    )
    .await;
    let token = "A".repeat(43);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(cancel(&portal, NOBODY, &token).await.status);
    }
    assert_eq!(statuses[..5], [StatusCode::OK; 5]);
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

// 9. A new password hash from the operator.

#[tokio::test]
async fn a_new_hash_in_the_accounts_file_wins_over_an_older_chosen_password() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let config = light_config();
    let hasher = guichet::password::Hasher::new(&config.passwords).expect("valid parameters");
    let store = Arc::new(MemoryStore::new());
    let build = |toml: &str| {
        builder(config.clone())
            .directory(AccountsFile::from_toml(toml, CasePolicy::Insensitive).unwrap())
            .store(Arc::clone(&store))
            .mailer(SmtpMailer::from_url(&url).unwrap())
            .build()
            .unwrap()
    };
    let file = accounts_toml(&hasher).await;
    let portal = Portal::serve(build(&file)).await;
    request(&portal, LUC).await;
    let mail = smtp.wait_for(1, WAIT).await;
    let restricted = portal
        .sign_in(LUC, &letter(&mail[0]).password)
        .await
        .session();
    let chosen = choose(&portal, &restricted, "Choisi-Par-Luc-2026").await;
    let session = chosen.session();
    drop(portal);

    // The operator gives Luc a new password in the accounts file, and the portal restarts.
    let old_hash = {
        let start = file.find("ACME-002").unwrap();
        let at = file[start..].find("password_hash = \"").unwrap() + start + 17;
        let end = file[at..].find('"').unwrap() + at;
        file[at..end].to_owned()
    };
    let new_hash = hash(&hasher, "Donne-Par-Le-Service-2026").await;
    let portal = Portal::serve(build(&file.replace(&old_hash, &new_hash))).await;
    portal.session_for(LUC, "Donne-Par-Le-Service-2026").await;
    assert_eq!(
        attempt(&portal, LUC, "Choisi-Par-Luc-2026").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        portal.account_with(&session).await.status,
        StatusCode::UNAUTHORIZED,
        "moving the hash ends the sessions opened under the old one"
    );
}

// 10. One mailbox under two spellings, and quoted role addresses.

#[tokio::test]
async fn an_idn_domain_and_its_punycode_are_one_shared_mailbox() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let toml = r#"
        [[client]]
        id = "beta"
        name = "Beta"
        contact = "BETA-001"
        [[account]]
        code = "BETA-001"
        name = "Bob"
        email = "bob@acmé.example"
        client = "beta"
        [[account]]
        code = "BETA-002"
        name = "Bobby"
        email = "bob@xn--acm-dma.example"
        client = "beta"
        [[account]]
        code = "BETA-003"
        name = "Info"
        email = '"info"@beta.example'
        client = "beta"
    "#;
    let portal = Portal::with(
        |_| {},
        move |b| {
            b.directory(AccountsFile::from_toml(toml, CasePolicy::Insensitive).unwrap())
                .mailer(SmtpMailer::from_url(&url).unwrap())
        },
    )
    .await;
    for code in ["BETA-001", "BETA-003"] {
        request(&portal, code).await;
    }
    let mail = smtp.wait_for(2, WAIT).await;
    for message in &mail {
        let text = message.text();
        assert!(
            !text.contains("temporaire :") && !text.contains("password:"),
            "a shared mailbox got a temporary password: {text}"
        );
    }
}

#[test]
fn an_address_mail_cannot_be_sent_to_is_refused_when_the_file_is_loaded() {
    let toml = r#"
        [[client]]
        id = "beta"
        name = "Beta"
        contact = "BETA-001"
        [[account]]
        code = "BETA-001"
        name = "Bob"
        email = "bob@beta@example"
        client = "beta"
    "#;
    let error = AccountsFile::from_toml(toml, CasePolicy::Insensitive)
        .unwrap_err()
        .to_string();
    assert!(error.contains("BETA-001"), "{error}");
}

// 11. IPv6 clients keyed by their /64.

#[tokio::test]
async fn addresses_of_one_ipv6_network_share_one_allowance() {
    let portal = Portal::with(
        |config| {
            config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            config.sign_in.attempts_per_ip = Rate::per_minute(3);
        },
        |b| b,
    )
    .await;
    let mut statuses = Vec::new();
    for host in 1..=4 {
        let reply = portal
            .post("/auth/login")
            .accept_json()
            .header("x-forwarded-for", format!("2001:db8:1:2::{host}"))
            .form(&[("user_code", NOBODY), ("password", "wrong-password")])
            .send()
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let other_network = portal
        .post("/auth/login")
        .accept_json()
        .header("x-forwarded-for", "2001:db8:1:3::1")
        .form(&[("user_code", NOBODY), ("password", "wrong-password")])
        .send()
        .await;
    assert_eq!(other_network.status, StatusCode::UNAUTHORIZED);
}

// 12. Signed-in pages kept out of caches.

#[tokio::test]
async fn a_guarded_page_is_never_stored_by_a_cache() {
    let portal = Portal::start().await;
    let session = portal.session_for(MARIE, MARIE_PW).await;
    let reply = portal.account_with(&session).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

// 14. Duplicate JSON keys.

#[tokio::test]
async fn a_json_body_with_a_repeated_key_is_refused() {
    let portal = Portal::start().await;
    let reply = portal
        .post("/auth/login")
        .accept_json()
        .body(
            "application/json",
            format!(r#"{{"user_code":"{NOBODY}","user_code":"{MARIE}","password":"{MARIE_PW}"}}"#),
        )
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(reply.set_cookie(COOKIE).is_none());
}

// 13. The session handle's identity.

#[tokio::test]
async fn an_application_asking_the_session_who_is_there_never_gets_a_restricted_identity() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |_| {}).await;
    request(&portal, LUC).await;
    let mail = smtp.wait_for(1, WAIT).await;
    let restricted = portal
        .sign_in(LUC, &letter(&mail[0]).password)
        .await
        .session();

    // An application route that authorises with the session handle itself.
    let app = axum::Router::new()
        .route(
            "/mine",
            axum::routing::get(
                |axum::Extension(session): axum::Extension<guichet::Session>| async move {
                    match session.identity().await {
                        Ok(Some(who)) => (StatusCode::OK, who.user_code().to_string()),
                        _ => (StatusCode::UNAUTHORIZED, String::new()),
                    }
                },
            ),
        )
        .layer(portal.guichet.session_layer());
    let reply = tower::ServiceExt::oneshot(
        app,
        http::Request::get("/mine")
            .header("cookie", format!("{COOKIE}={restricted}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
}

// The second attack, on the fixes above.

const INTRUDER_PW: &str = "Pris-Par-Un-Intrus-2026";

/// An intruder who read Luc's letter chose a password: their session and the letter.
async fn intruder_chose(portal: &Portal, smtp: &SmtpServer) -> (String, Letter) {
    request(portal, LUC).await;
    let first = letter(&smtp.wait_for(1, WAIT).await[0]);
    let restricted = portal.sign_in(LUC, &first.password).await.session();
    let chosen = choose(portal, &restricted, INTRUDER_PW).await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.text());
    (chosen.session(), first)
}

#[tokio::test]
async fn a_newer_request_does_not_keep_the_owner_from_undoing_an_intruders_password() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |_| {}).await;
    let (intruder, first) = intruder_chose(&portal, &smtp).await;
    // Anyone can ask for another letter: no sign-in, no mailbox needed.
    request(&portal, LUC).await;
    smtp.wait_for(2, WAIT).await;
    let undone = cancel(&portal, LUC, &first.token).await;
    assert_eq!(undone.json()["cancelled"], "undone", "{}", undone.text());
    assert_eq!(
        portal.account_with(&intruder).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt(&portal, LUC, INTRUDER_PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    portal.session_for(LUC, LUC_PW).await;
}

#[tokio::test]
async fn signing_everyone_out_does_not_erase_the_undo_of_an_intruders_password() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |_| {}).await;
    let (_, first) = intruder_chose(&portal, &smtp).await;
    portal
        .guichet
        .sign_out_everywhere(&code(LUC))
        .await
        .unwrap();
    let undone = cancel(&portal, LUC, &first.token).await;
    assert_eq!(undone.json()["cancelled"], "undone", "{}", undone.text());
    assert_eq!(
        attempt(&portal, LUC, INTRUDER_PW).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_in_flight_does_not_survive_the_undo() {
    let smtp = SmtpServer::start().await;
    let portal = Arc::new(
        portal(&smtp, |config| {
            config.passwords = PasswordConfig::default();
            config.passwords.hashing_threads = Some(1);
        })
        .await,
    );
    let (_, first) = intruder_chose(&portal, &smtp).await;
    // Anyone can lengthen the wait for a hashing thread: wrong passwords on unknown codes.
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..40 {
        let portal = Arc::clone(&portal);
        flood
            .spawn(async move { attempt(&portal, &format!("NOBODY-{i}"), "wrong-password").await });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let intruder = {
        let portal = Arc::clone(&portal);
        tokio::spawn(async move { attempt(&portal, LUC, INTRUDER_PW).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let undone = cancel(&portal, LUC, &first.token).await;
    assert_eq!(undone.json()["cancelled"], "undone");
    let reply = intruder.await.unwrap();
    while flood.join_next().await.is_some() {}
    if reply.status == StatusCode::OK {
        let session = reply.session();
        assert_eq!(
            portal.account_with(&session).await.status,
            StatusCode::UNAUTHORIZED,
            "a session opened with the undone password outlives the undo"
        );
    }
}

#[tokio::test]
async fn a_restricted_session_ends_when_its_temporary_password_would_have() {
    let smtp = SmtpServer::start().await;
    let portal = portal(&smtp, |config| {
        config.credential_requests.validity = Duration::from_secs(60);
        config.sessions.idle_timeout = Duration::from_secs(300);
    })
    .await;
    request(&portal, LUC).await;
    let first = letter(&smtp.wait_for(1, WAIT).await[0]);
    let restricted = portal.sign_in(LUC, &first.password).await.session();
    tokio::time::sleep(Duration::from_secs(62)).await;
    let late = choose(&portal, &restricted, INTRUDER_PW).await;
    assert_eq!(late.status, StatusCode::UNAUTHORIZED, "{}", late.text());
    portal.session_for(LUC, LUC_PW).await;
}

#[tokio::test]
async fn a_temporary_password_still_recovers_an_account_whose_chosen_password_the_operator_replaced(
) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let config = light_config();
    let hasher = guichet::password::Hasher::new(&config.passwords).expect("valid parameters");
    let store = Arc::new(MemoryStore::new());
    let build = |toml: &str| {
        builder(config.clone())
            .directory(AccountsFile::from_toml(toml, CasePolicy::Insensitive).unwrap())
            .store(Arc::clone(&store))
            .mailer(SmtpMailer::from_url(&url).unwrap())
            .build()
            .unwrap()
    };
    let file = accounts_toml(&hasher).await;
    let portal = Portal::serve(build(&file)).await;
    request(&portal, LUC).await;
    let first = letter(&smtp.wait_for(1, WAIT).await[0]);
    let restricted = portal.sign_in(LUC, &first.password).await.session();
    let chosen = choose(&portal, &restricted, "Choisi-Par-Luc-2026").await;
    assert_eq!(chosen.status, StatusCode::OK);
    drop(portal);

    let start = file.find("ACME-002").unwrap();
    let at = file[start..].find("password_hash = \"").unwrap() + start + 17;
    let end = file[at..].find('"').unwrap() + at;
    let new = hash(&hasher, "Donne-Par-Le-Service-2026").await;
    let portal = Portal::serve(build(&file.replace(&file[at..end], &new))).await;
    request(&portal, LUC).await;
    let second = letter(&smtp.wait_for(2, WAIT).await[1]);
    let restricted = portal.sign_in(LUC, &second.password).await.session();
    let chosen = choose(&portal, &restricted, "Encore-Un-Autre-2026").await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.text());
}
