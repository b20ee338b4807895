//! The `guichet` command line on real state, as customer service uses it: each command's exit
//! status and output (JSON shapes of the contract), and its effect seen through `guichet serve`
//! running on the same state at the same time, over HTTP, with letters over SMTP.

mod common;
mod desk;
mod redis_server;
mod smtp;

use std::path::Path;
use std::time::Duration;

use common::*;
use desk::{Env, Served};
use guichet::password::Hasher;
use http::StatusCode;
use serde_json::json;
use smtp::{Received, SmtpServer};

/// The accounts file of the tests (light hashes), written in `dir`.
async fn write_accounts(dir: &Path) -> String {
    let toml =
        accounts_toml(&Hasher::new(&light_config().passwords).expect("valid parameters")).await;
    let path = dir.join("accounts.toml");
    std::fs::write(&path, toml).expect("the accounts file is written");
    path.display().to_string()
}

fn sqlite(dir: &Path) -> Vec<(&'static str, String)> {
    vec![(
        "GUICHET_DATABASE_URL",
        format!("sqlite://{}", dir.join("guichet.db").display()),
    )]
}

fn redis(_dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("GUICHET_REDIS_URL", redis_server::shared().url()),
        ("GUICHET_REDIS_PREFIX", redis_server::unique_prefix("cli")),
    ]
}

/// A deployment: state, SMTP, the test accounts imported by `guichet serve`.
async fn deployment(
    tag: &str,
    state: impl FnOnce(&Path) -> Vec<(&'static str, String)>,
) -> (TempDir, Env, SmtpServer, Served) {
    let dir = TempDir::new(tag);
    let smtp = SmtpServer::start().await;
    let mut env = Env::new(dir.path(), &state(dir.path()), Some(smtp.url()));
    env.set("GUICHET_USERS", write_accounts(dir.path()).await);
    let served = env.serve().await;
    (dir, env, smtp, served)
}

/// Signs in over HTTP as an API client; the JSON answer and the session cookie, if any.
async fn sign_in(
    served: &Served,
    code: &str,
    password: &str,
) -> (StatusCode, serde_json::Value, Option<String>) {
    let signed_in = served.sign_in(code, password).await;
    (signed_in.status, signed_in.json, signed_in.session)
}

/// Whether this session cookie still opens `/auth/verify`.
async fn is_alive(served: &Served, session: &str) -> bool {
    match served.verify(session).await {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("verify answered {other}"),
    }
}

/// Whether this session ends within the bound a change from another process takes to reach
/// the server's read cache.
async fn ends_soon(served: &Served, session: &str) -> bool {
    let wanted = StatusCode::UNAUTHORIZED;
    desk::settles(wanted, || served.verify(session)).await == wanted
}

/// The status a sign-in settles on within that same bound.
async fn sign_in_settles(
    served: &Served,
    code: &str,
    password: &str,
    wanted: StatusCode,
) -> StatusCode {
    desk::settles(wanted, || async {
        served.sign_in(code, password).await.status
    })
    .await
}

/// The letters to `address` received so far (waiting up to 10 s for at least `count`).
async fn letters_to(smtp: &SmtpServer, address: &str, count: usize) -> Vec<Received> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let to: Vec<Received> = smtp
            .received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.contains(address)))
            .collect();
        if to.len() >= count || tokio::time::Instant::now() >= deadline {
            return to;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn temporary_password_in(letter: &Received) -> Option<String> {
    letter
        .text()
        .split(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .find(|w| is_temporary_password(w))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_listed_shown_added_disabled_and_enabled_while_the_portal_runs() {
    let (_dir, env, _smtp, served) = deployment("cli-accounts", sqlite).await;

    let list = env.run(&["accounts", "list", "--json"]).json();
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["ACME-001", "ACME-002", "ACME-003", "ACME-004", "ACME-005"]
    );
    assert_eq!(list[3]["status"], "disabled");
    let text = env.run(&["accounts", "list", "--client", "acme"]);
    assert!(text.exits(0).stdout.contains("Marie Tremblay"));
    env.run(&["accounts", "list", "--client", "nope"]).exits(1);

    let shown = env.run(&["accounts", "show", "acme-001", "--json"]).json();
    assert_eq!(
        shown,
        json!({
            "code": "ACME-001", "name": "Marie Tremblay", "email": "marie@acme.example",
            "client": "acme", "services": ["collection", "orders"], "status": "active",
            "shared_inbox": { "shared": false, "reason": null }, "sessions": 0,
            "temporary_password_pending": false, "throttled": false,
        })
    );
    let missing = env.run(&["accounts", "show", "ACME-999"]);
    assert!(missing.exits(1).stderr.contains("ACME-999"), "{missing:?}");
    env.run(&["accounts", "show"]).exits(2);
    env.run(&["accounts", "frobnicate"]).exits(2);

    let added = env
        .run(&[
            "accounts",
            "add",
            "--client",
            "acme",
            "--name",
            "Paul Côté",
            "--email",
            "paul@acme.example",
            "--json",
        ])
        .json();
    assert_eq!(
        added,
        json!({ "code": "ACME-006" }),
        "the next free code of the pattern"
    );
    let paul = env.run(&["accounts", "show", "ACME-006", "--json"]).json();
    assert_eq!(
        paul["services"],
        json!(["collection", "orders"]),
        "the client's services"
    );
    env.run(&[
        "accounts",
        "add",
        "--client",
        "nope",
        "--name",
        "X",
        "--email",
        "x@acme.example",
    ])
    .exits(1);
    env.run(&[
        "accounts",
        "add",
        "--client",
        "acme",
        "--name",
        "X",
        "--email",
        "not-an-address",
    ])
    .exits(1);
    env.run(&[
        "accounts",
        "add",
        "--client",
        "acme",
        "--name",
        "X",
        "--email",
        "x@acme.example",
        "--code",
        "ACME-001",
    ])
    .exits(1);
    for name in ["", "  ", "Marie\nTremblay"] {
        let refused = env.run(&[
            "accounts",
            "add",
            "--client",
            "acme",
            "--name",
            name,
            "--email",
            "x@acme.example",
        ]);
        assert!(refused.exits(1).stderr.contains("name"), "{refused:?}");
    }

    // Disabling ends the sessions at once and refuses sign-ins; enabling lets them in again.
    let (status, _, luc) = sign_in(&served, LUC, LUC_PW).await;
    assert_eq!(status, StatusCode::OK);
    let luc = luc.expect("a session");
    assert!(is_alive(&served, &luc).await);
    assert_eq!(
        env.run(&["accounts", "disable", "ACME-002", "--json"])
            .json(),
        json!({ "ok": true })
    );
    assert!(
        ends_soon(&served, &luc).await,
        "a disabled account's session ends"
    );
    assert_eq!(
        sign_in_settles(&served, LUC, LUC_PW, StatusCode::UNAUTHORIZED).await,
        StatusCode::UNAUTHORIZED
    );
    env.run(&["accounts", "enable", "ACME-002"]).exits(0);
    assert_eq!(
        sign_in_settles(&served, LUC, LUC_PW, StatusCode::OK).await,
        StatusCode::OK
    );

    // Sessions revoked from the counter end everywhere.
    let (_, _, marie) = sign_in(&served, MARIE, MARIE_PW).await;
    let marie = marie.expect("a session");
    assert_eq!(
        env.run(&["accounts", "show", "ACME-001", "--json"]).json()["sessions"],
        1
    );
    env.run(&["sessions", "revoke", "ACME-001"]).exits(0);
    assert!(ends_soon(&served, &marie).await);
    assert_eq!(
        env.run(&["accounts", "show", "ACME-001", "--json"]).json()["sessions"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_read_out_on_the_phone_opens_one_restricted_session() {
    let (_dir, env, _smtp, served) = deployment("cli-password", sqlite).await;

    let issued = env
        .run(&["password", "issue", "ACME-003", "--valid", "2h", "--json"])
        .json();
    assert_eq!(issued["code"], "ACME-003");
    let password = issued["password"].as_str().unwrap().to_owned();
    assert!(is_temporary_password(&password), "{password}");
    assert!(issued["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        env.run(&["accounts", "show", "ACME-003", "--json"]).json()["temporary_password_pending"],
        true
    );

    let (status, answer, session) = sign_in(&served, RECEPTION, &password).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["must_set_password"], true, "a restricted session");
    let session = session.expect("a session");
    let account = served
        .remote
        .get("/account")
        .accept_json()
        .session(&session)
        .send()
        .await;
    assert_ne!(
        account.status,
        StatusCode::OK,
        "a restricted session opens nothing else"
    );
    let (status, _, _) = sign_in(&served, RECEPTION, &password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "single use");

    // A temporary password lasts 24 hours at most, read out on the phone as emailed.
    env.run(&["password", "issue", "ACME-003", "--valid", "25h"])
        .exits(1);
    env.run(&["password", "issue", "ACME-003", "--valid", "soon"])
        .exits(2);
    env.run(&["password", "issue", "ACME-999"]).exits(1);
    let text = env.run(&["password", "issue", "ACME-003"]);
    assert!(is_temporary_password(
        text.exits(0).stdout.lines().next().unwrap().trim()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_account_is_seen_and_cleared() {
    let (_dir, env, _smtp, served) = deployment("cli-throttle", sqlite).await;
    let mut throttled = false;
    for _ in 0..20 {
        let (status, _, _) = sign_in(&served, SOPHIE, "wrong password").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "ten failures an hour throttle the code");
    assert_eq!(
        env.run(&["accounts", "show", "ACME-005", "--json"]).json()["throttled"],
        true
    );
    assert_eq!(
        env.run(&["throttle", "clear", "ACME-005", "--json"]).json(),
        json!({ "ok": true })
    );
    assert_eq!(
        env.run(&["accounts", "show", "ACME-005", "--json"]).json()["throttled"],
        false
    );
    let (status, _, _) = sign_in(&served, SOPHIE, SOPHIE_PW).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_codes_go_out_by_email_and_shared_inboxes_only_when_forced() {
    let (_dir, env, smtp, served) = deployment("cli-codes", redis).await;

    assert_eq!(
        env.run(&["code", "send", "ACME-002", "--json"]).json(),
        json!({ "sent": ["ACME-002"] })
    );
    let luc = letters_to(&smtp, "luc@acme.example", 1).await;
    assert_eq!(luc.len(), 1);
    let text = luc[0].text();
    assert!(text.contains("ACME-002"), "{text}");
    assert!(temporary_password_in(&luc[0]).is_none(), "never a password");

    let refused = env.run(&["code", "send", "info@acme.example"]);
    assert!(refused.exits(1).stderr.contains("--force"), "{refused:?}");
    assert!(letters_to(&smtp, "info@acme.example", 1).await.is_empty());
    assert_eq!(
        env.run(&["code", "send", "info@acme.example", "--force", "--json"])
            .json(),
        json!({ "sent": ["ACME-003"] })
    );
    assert_eq!(letters_to(&smtp, "info@acme.example", 1).await.len(), 1);
    assert_eq!(
        env.run(&["code", "send", "marie@acme.example", "--json"])
            .json(),
        json!({ "sent": ["ACME-001"] }),
        "by address"
    );
    env.run(&["code", "send", "nobody@acme.example"]).exits(1);

    // A disabled account gets nothing, by code or by address, and the operator is told so
    // rather than shown a letter "sent" that is dropped at delivery.
    for target in ["ACME-004", "jean@acme.example"] {
        let refused = env.run(&["code", "send", target, "--json"]);
        assert!(refused.exits(1).stderr.contains("disabled"), "{refused:?}");
    }
    assert!(letters_to(&smtp, "jean@acme.example", 1).await.is_empty());

    // An address marked shared receives no credential from "email me my password".
    assert_eq!(
        env.run(&["inbox", "check", "luc@acme.example", "--json"])
            .json(),
        json!({ "shared": false, "reason": null, "accounts": ["ACME-002"] })
    );
    assert_eq!(
        env.run(&["inbox", "mark", "luc@acme.example", "--json"])
            .json(),
        json!({ "accounts": ["ACME-002"] })
    );
    assert_eq!(
        env.run(&["inbox", "check", "luc@acme.example", "--json"])
            .json(),
        json!({ "shared": true, "reason": "operator", "accounts": ["ACME-002"] })
    );
    let before = letters_to(&smtp, "luc@acme.example", 1).await.len();
    let asked = served
        .remote
        .post("/auth/password")
        .form(&[("user_code", LUC)])
        .send()
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = letters_to(&smtp, "luc@acme.example", before).await;
    assert!(
        after.iter().all(|l| temporary_password_in(l).is_none()),
        "no password to a shared inbox"
    );
    env.run(&["inbox", "unmark", "luc@acme.example"]).exits(0);
    assert_eq!(
        env.run(&["inbox", "check", "luc@acme.example", "--json"])
            .json()["shared"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_person_asks_for_codes_and_the_new_person_signs_in() {
    let (_dir, env, smtp, served) = deployment("cli-team", sqlite).await;
    let remote = &served.remote;

    // Only the contact person of the client reaches the form.
    let anonymous = remote.get("/auth/team").accept_json().send().await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let (_, _, luc) = sign_in(&served, LUC, LUC_PW).await;
    let not_contact = remote
        .get("/auth/team")
        .accept_json()
        .session(&luc.unwrap())
        .send()
        .await;
    assert_eq!(not_contact.status, StatusCode::FORBIDDEN);
    let (_, _, marie) = sign_in(&served, MARIE, MARIE_PW).await;
    let marie = marie.expect("a session");

    // Per-row errors: an address that is not one, a duplicate, a shared inbox.
    let bad = remote
        .post("/auth/team")
        .accept_json()
        .session(&marie)
        .json(&json!({ "people": [
            { "name": "Nadia Tremblay", "email": "nadia@" },
            { "name": "Omar Haddad", "email": "omar@acme.example" },
            { "name": "Omar Bis", "email": "omar@acme.example" },
            { "name": "Accueil", "email": "info@acme.example" },
        ]}))
        .send()
        .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad.text()
    );
    let rows = bad.json()["rows"].clone();
    let flagged: Vec<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(
        flagged,
        [1, 3, 4],
        "each row with a problem, and only those: {rows}"
    );
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["message"].is_string()));

    let sent = remote
        .post("/auth/team")
        .accept_json()
        .session(&marie)
        .json(&json!({ "people": [
            { "name": "Nadia Tremblay", "email": "nadia@acme.example" },
            { "name": "Omar Haddad", "email": "omar@acme.example" },
        ]}))
        .send()
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text());
    let id = sent.json()["request"].as_str().unwrap().to_owned();

    let to_service = letters_to(&smtp, "service@portal.example", 1).await;
    assert_eq!(to_service.len(), 1, "customer service is told");
    let text = to_service[0].text();
    assert!(
        text.contains("Nadia Tremblay") && text.contains("omar@acme.example") && text.contains(&id)
    );

    let listed = env.run(&["requests", "list", "--json"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let request = &listed[0];
    assert_eq!(request["id"], id.as_str());
    assert_eq!(request["client"], "acme");
    assert_eq!(request["contact"], "ACME-001");
    assert_eq!(request["status"], "pending");
    assert_eq!(
        request["people"],
        json!([
            { "name": "Nadia Tremblay", "email": "nadia@acme.example" },
            { "name": "Omar Haddad", "email": "omar@acme.example" },
        ])
    );
    assert!(request["created_at"].as_str().unwrap().ends_with('Z'));

    let approved = env.run(&["requests", "approve", &id, "--json"]).json();
    assert_eq!(
        approved,
        json!({ "id": id, "accounts": [
            { "code": "ACME-006", "name": "Nadia Tremblay", "email": "nadia@acme.example" },
            { "code": "ACME-007", "name": "Omar Haddad", "email": "omar@acme.example" },
        ]})
    );
    env.run(&["requests", "approve", &id]).exits(1);
    assert!(env
        .run(&["requests", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .is_empty());

    // Each new person gets their code and the way to a password, never a password.
    let welcome = letters_to(&smtp, "nadia@acme.example", 1).await;
    assert_eq!(welcome.len(), 1);
    let text = welcome[0].text();
    assert!(
        text.contains("ACME-006") && text.contains("/auth/password"),
        "{text}"
    );
    assert!(temporary_password_in(&welcome[0]).is_none());
    assert_eq!(letters_to(&smtp, "omar@acme.example", 1).await.len(), 1);
    let told = letters_to(&smtp, "marie@acme.example", 1).await;
    assert!(
        told.iter().any(|l| l.text().contains("ACME-006")),
        "the contact person is told"
    );

    // Nadia asks for a password by email, signs in with it, chooses her own.
    let asked = remote
        .post("/auth/password")
        .form(&[("user_code", "ACME-006")])
        .send()
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let letters = letters_to(&smtp, "nadia@acme.example", 2).await;
    let temporary = letters
        .iter()
        .find_map(temporary_password_in)
        .expect("a temporary password");
    let (status, answer, session) = sign_in(&served, "ACME-006", &temporary).await;
    assert_eq!(
        (status, answer["must_set_password"].clone()),
        (StatusCode::OK, json!(true))
    );
    let chosen = remote
        .post("/auth/password/set")
        .accept_json()
        .session(&session.unwrap())
        .json(&json!({ "password": "Nadia choisit le sien" }))
        .send()
        .await;
    assert!(
        chosen.status.is_success() || chosen.status == StatusCode::SEE_OTHER,
        "{}",
        chosen.text()
    );
    let (status, _, session) = sign_in(&served, "ACME-006", "Nadia choisit le sien").await;
    assert_eq!(status, StatusCode::OK);
    assert!(is_alive(&served, &session.unwrap()).await);

    // A rejection tells the contact person why.
    let again = remote
        .post("/auth/team")
        .accept_json()
        .session(&marie)
        .json(&json!({ "people": [{ "name": "Zoé Lavoie", "email": "zoe@acme.example" }] }))
        .send()
        .await;
    let second = again.json()["request"].as_str().unwrap().to_owned();
    env.run(&["requests", "reject", &second]).exits(2);
    env.run(&[
        "requests",
        "reject",
        &second,
        "--reason",
        "Personne inconnue chez Acme",
    ])
    .exits(0);
    let told = letters_to(&smtp, "marie@acme.example", 2).await;
    assert!(told
        .iter()
        .any(|l| l.text().contains("Personne inconnue chez Acme")));
    let all = env.run(&["requests", "list", "--all", "--json"]).json();
    let statuses: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(
        statuses.contains(&"approved") && statuses.contains(&"rejected"),
        "{statuses:?}"
    );
    env.run(&["requests", "reject", "R-NOPE00", "--reason", "x"])
        .exits(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashed_password_imported_signs_in_and_ends_the_old_sessions() {
    let (dir, env, _smtp, served) = deployment("cli-import", sqlite).await;
    let (_, _, luc) = sign_in(&served, LUC, LUC_PW).await;
    let luc = luc.expect("a session");

    let hashed = env.run_with_stdin(&["hash-password"], "Un nouveau départ 2026\n");
    let phc = hashed.exits(0).stdout.trim().to_owned();
    assert!(
        phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "the configured parameters: {phc}"
    );
    assert!(
        !hashed.stdout.contains("Un nouveau"),
        "the password is not echoed"
    );
    let json_hash = env
        .run_with_stdin(&["hash-password", "--json"], "x-y-z-w-v-u\n")
        .json();
    assert!(json_hash["password_hash"]
        .as_str()
        .unwrap()
        .starts_with("$argon2id$"));
    env.run_with_stdin(&["hash-password"], "").exits(1);

    let file = dir.path().join("changed.toml");
    let original = std::fs::read_to_string(dir.path().join("accounts.toml")).unwrap();
    let start = original.find("code = \"ACME-002\"").unwrap();
    let line = start + original[start..].find("password_hash = \"").unwrap();
    let end = line + original[line..].find('\n').unwrap();
    let changed = format!(
        "{}password_hash = \"{phc}\"{}",
        &original[..line],
        &original[end..]
    );
    std::fs::write(&file, changed).unwrap();
    let report = env
        .run(&["accounts", "import", file.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(report["updated"], 1, "{report}");
    assert_eq!(report["signed_out"], 1, "{report}");
    assert!(
        ends_soon(&served, &luc).await,
        "a new password ends the old sessions"
    );
    assert_eq!(
        sign_in_settles(&served, LUC, "Un nouveau départ 2026", StatusCode::OK).await,
        StatusCode::OK
    );
    let (status, _, _) = sign_in(&served, LUC, LUC_PW).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A file of new hires alone: its client and the client's contact person are in the store.
    let hires = dir.path().join("hires.toml");
    std::fs::write(
        &hires,
        "[[account]]\ncode = \"ACME-777\"\nname = \"Nouvelle Recrue\"\n\
         email = \"recrue@acme.example\"\nclient = \"acme\"\nservices = [\"collection\"]\n",
    )
    .unwrap();
    let report = env
        .run(&["accounts", "import", hires.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(
        env.run(&["accounts", "show", "ACME-777", "--json"]).json()["client"],
        "acme"
    );
    // A client updated alone keeps its contact person from the store.
    std::fs::write(
        &hires,
        "[[client]]\nid = \"acme\"\nname = \"Acme Inc.\"\ncontact = \"ACME-001\"\n\
         services = [\"collection\", \"orders\", \"billing\"]\n",
    )
    .unwrap();
    let report = env
        .run(&["accounts", "import", hires.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(report["clients"], 1, "{report}");
    // Names found neither in the file nor in the store are refused, and nothing is written.
    for (entry, error) in [
        (
            "[[account]]\ncode = \"ACME-778\"\nname = \"N\"\nclient = \"nope\"\n",
            "unknown client",
        ),
        (
            "[[account]]\ncode = \"ACME-778\"\nname = \"N\"\nclient = \"acme\"\n\
             services = [\"payroll\"]\n",
            "not subscribed",
        ),
        (
            "[[client]]\nid = \"acme\"\nname = \"Acme Inc.\"\ncontact = \"NOPE-1\"\n",
            "contact",
        ),
        // Acme's contact person cannot leave Acme while the store keeps Acme as it is.
        (
            "[[client]]\nid = \"beta\"\nname = \"Beta\"\ncontact = \"BETA-001\"\n\
             services = [\"collection\"]\n\
             [[account]]\ncode = \"ACME-001\"\nname = \"Marie Tremblay\"\n\
             client = \"beta\"\nservices = [\"collection\"]\n\
             [[account]]\ncode = \"BETA-001\"\nname = \"B\"\nclient = \"beta\"\n",
            "contact person of client acme",
        ),
        // Acme cannot drop a service that accounts the file leaves alone still use.
        (
            "[[client]]\nid = \"acme\"\nname = \"Acme Inc.\"\ncontact = \"ACME-001\"\n\
             services = [\"collection\"]\n",
            "orders",
        ),
    ] {
        std::fs::write(&hires, entry).unwrap();
        let refused = env.run(&["accounts", "import", hires.to_str().unwrap()]);
        assert!(refused.exits(1).stderr.contains(error), "{refused:?}");
    }
    env.run(&["accounts", "show", "ACME-778"]).exits(1);
    assert_eq!(
        env.run(&["accounts", "show", "ACME-001", "--json"]).json()["client"],
        "acme"
    );

    std::fs::write(&file, "[[account]]\ncode = \"broken").unwrap();
    env.run(&["accounts", "import", file.to_str().unwrap()])
        .exits(1);
    env.run(&["accounts", "import", "/nonexistent/file.toml"])
        .exits(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_works_on_redis_while_the_portal_runs() {
    let (_dir, env, _smtp, served) = deployment("cli-redis", redis).await;
    let (_, _, marie) = sign_in(&served, MARIE, MARIE_PW).await;
    let marie = marie.expect("a session");
    let added = env
        .run(&[
            "accounts",
            "add",
            "--client",
            "acme",
            "--name",
            "Paul Côté",
            "--email",
            "paul@acme.example",
            "--json",
        ])
        .json();
    assert_eq!(added["code"], "ACME-006");
    let issued = env.run(&["password", "issue", "ACME-006", "--json"]).json();
    let (status, answer, _) =
        sign_in(&served, "ACME-006", issued["password"].as_str().unwrap()).await;
    assert_eq!(
        (status, answer["must_set_password"].clone()),
        (StatusCode::OK, json!(true))
    );
    env.run(&["sessions", "revoke", "ACME-001"]).exits(0);
    assert!(!is_alive(&served, &marie).await, "Redis: at once");
    env.run(&["accounts", "disable", "ACME-001"]).exits(0);
    let (status, _, _) = sign_in(&served, MARIE, MARIE_PW).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "Redis: at once");
}

#[tokio::test]
async fn every_command_explains_itself_and_usage_errors_exit_2() {
    let dir = TempDir::new("cli-help");
    let env = Env::new(dir.path(), &sqlite(dir.path()), None);
    let commands: &[&[&str]] = &[
        &[],
        &["accounts"],
        &["accounts", "list"],
        &["accounts", "show"],
        &["accounts", "add"],
        &["accounts", "disable"],
        &["accounts", "enable"],
        &["accounts", "import"],
        &["password", "issue"],
        &["code", "send"],
        &["sessions", "revoke"],
        &["throttle", "clear"],
        &["inbox", "mark"],
        &["inbox", "unmark"],
        &["inbox", "check"],
        &["requests", "list"],
        &["requests", "approve"],
        &["requests", "reject"],
        &["hash-password"],
        &["serve"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let run = env.run(&args);
        run.exits(0);
        assert!(run.stdout.contains("Usage: guichet"), "{run:?}");
    }
    let unknown = env.run(&["frobnicate"]);
    unknown.exits(2);
    assert!(unknown.stderr.contains("frobnicate"), "{unknown:?}");
}
