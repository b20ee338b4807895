//! The portal example end to end: the example binary is built, started as a separate process
//! with the environment the README documents (`GUICHET_*`), and driven over HTTP like a browser
//! and an API client would, with cookies handled by hand.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use guichet::password::Hasher;
use http::StatusCode;

/// Builds `examples/portal.rs` (once per test binary) and returns the executable's path, as
/// cargo reports it (so a custom target directory is found too).
fn portal_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--example", "portal"])
            .arg("--message-format=json-render-diagnostics")
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .stderr(Stdio::inherit());
        // Cargo describes this test to it in CARGO_* variables; some build scripts (ring's)
        // rerun when those change, so the example would be rebuilt at every test run (and
        // again at the next plain `cargo build`). Give cargo the environment a person would.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_for_tests = name == "CARGO"
                || name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                ]
                .contains(&name.as_ref());
            if set_for_tests {
                build.env_remove(name.as_ref());
            }
        }
        let output = build.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "cargo build --example portal failed"
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "portal")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reports the portal executable")
    })
}

/// A free port on 127.0.0.1 (released just before the portal binds it).
fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// The running example; killed when dropped, whatever happens in the test.
struct RunningPortal {
    child: Child,
    remote: Remote,
    log: PathBuf,
}

impl Drop for RunningPortal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RunningPortal {
    /// Starts the example with the contract's environment and waits until it answers.
    async fn start(dir: &Path, users: &Path) -> Self {
        let addr = free_addr();
        let log = dir.join(format!("portal-{}.log", addr.port()));
        let out = File::create(&log).expect("a log file");
        let err = out.try_clone().expect("a log file");
        let child = Command::new(portal_binary())
            .current_dir(dir)
            .env("GUICHET_ADDR", addr.to_string())
            .env("GUICHET_USERS", users)
            .env("GUICHET_INSECURE_COOKIES", "1")
            .env("GUICHET_OUTBOX", dir.join("outbox"))
            .env("RUST_LOG", "info")
            .env_remove("GUICHET_REDIS_URL")
            .env_remove("GUICHET_DATABASE_URL")
            .env_remove("GUICHET_SMTP_URL")
            .env_remove("GUICHET_CONFIG")
            .env_remove("GUICHET_BASE_URL")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the portal starts");
        let mut portal = Self {
            child,
            remote: Remote::new(addr),
            log,
        };
        portal.wait_until_ready().await;
        portal
    }

    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the portal exited ({status}):\n{}", self.log_text());
            }
            if tokio::net::TcpStream::connect(self.remote.addr)
                .await
                .is_ok()
            {
                let health = self.remote.get("/health").send().await;
                if health.status == StatusCode::OK {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the portal did not answer within 30 s:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        File::open(&self.log)
            .map(|f| {
                BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    async fn sign_in(&self, user_code: &str, password: &str, next: &str) -> Reply {
        self.remote
            .post("/auth/login")
            .form(&[
                ("user_code", user_code),
                ("password", password),
                ("next", next),
            ])
            .send()
            .await
    }

    async fn session_for(&self, user_code: &str, password: &str) -> String {
        let reply = self.sign_in(user_code, password, "/").await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{user_code}: {}\n{}",
            reply.text(),
            self.log_text()
        );
        reply.session()
    }
}

/// The accounts file of the contract's format, hashed with light parameters (the portal
/// verifies with the parameters in each hash, then rehashes with its own).
async fn write_accounts(dir: &Path) -> PathBuf {
    let toml =
        accounts_toml(&Hasher::new(&light_config().passwords).expect("valid parameters")).await;
    let path = dir.join("accounts.toml");
    std::fs::write(&path, toml).expect("the accounts file is written");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_example_signs_people_in_and_guards_its_services() {
    let dir = TempDir::new("portal");
    let users = write_accounts(dir.path()).await;
    let portal = RunningPortal::start(dir.path(), &users).await;
    let remote = &portal.remote;

    // Anonymous: the home page is public and links to the sign-in page.
    let home = remote.get("/").accept_html().send().await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text().contains("href=\"/auth/login\""));
    // The portal's own pages carry the same security headers as guichet's.
    assert!(home.header("content-security-policy").is_some_and(|csp| csp
        .contains("default-src 'none'")
        && csp.contains("frame-ancestors 'none'")));
    assert_eq!(home.header("x-content-type-options"), Some("nosniff"));
    let refused = remote.get("/account").accept_html().send().await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location(), Some("/auth/login?next=%2Faccount"));
    let refused = remote.get("/account").accept_json().send().await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // The sign-in page, with the FAQ's tips.
    let page = remote.get("/auth/login?next=%2Faccount").send().await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Verr. Num."));
    assert!(page.text().contains("value=\"/account\""));

    // A wrong password, then the right one typed with spaces and in lower case.
    let failed = portal
        .sign_in(MARIE, "bonjour-marie-2026", "/account")
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    let signed_in = portal.sign_in("  acme-001 ", MARIE_PW, "/account").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        portal.log_text()
    );
    assert_eq!(signed_in.location(), Some("/account"));
    let cookie = signed_in
        .set_cookie(COOKIE)
        .expect("the insecure cookie name");
    assert!(cookie.has("HttpOnly") && !cookie.has("Secure"));
    let marie = cookie.value;

    // Her account, as JSON and as a page.
    let account = remote
        .get("/account")
        .accept_json()
        .session(&marie)
        .send()
        .await;
    assert_eq!(account.status, StatusCode::OK);
    let account = account.json();
    assert_eq!(account["user_code"], "ACME-001");
    assert_eq!(account["name"], "Marie Tremblay");
    assert_eq!(
        account["services"],
        serde_json::json!(["collection", "orders"])
    );
    let page = remote
        .get("/account")
        .accept_html()
        .session(&marie)
        .send()
        .await;
    assert!(page.text().contains("Marie Tremblay"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("content-security-policy").is_some());

    // Her services.
    for path in [
        "/services/collection",
        "/services/collection/",
        "/services/collection/x",
        "/services/orders/2026/03",
    ] {
        let reply = remote.get(path).session(&marie).send().await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }

    // Luc subscribes to collection only.
    let luc = portal.session_for(LUC, LUC_PW).await;
    let reply = remote
        .get("/services/collection/x")
        .session(&luc)
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    for path in [
        "/services/orders",
        "/services/orders/",
        "/services/orders/x",
    ] {
        let reply = remote.get(path).accept_json().session(&luc).send().await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }

    // Marie signs out; her cookie opens nothing afterwards. Luc is still signed in.
    let out = remote.post("/auth/logout").session(&marie).send().await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/auth/login"));
    assert!(out.set_cookie(COOKIE).is_some_and(|c| c.is_removal()));
    let replay = remote
        .get("/account")
        .accept_json()
        .session(&marie)
        .send()
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    let still = remote
        .get("/account")
        .accept_json()
        .session(&luc)
        .send()
        .await;
    assert_eq!(still.status, StatusCode::OK);

    // A crash keeps everyone signed in: sessions live in `guichet.db` in the working
    // directory (the contract's default `sqlite://guichet.db`), and Marie's sign-out holds.
    drop(portal); // kill -9
    assert!(
        dir.path().join("guichet.db").exists(),
        "the SQLite file is in the working directory"
    );
    let portal = RunningPortal::start(dir.path(), &users).await;
    let still = portal
        .remote
        .get("/account")
        .accept_json()
        .session(&luc)
        .send()
        .await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "Luc's session survives the crash"
    );
    let replay = portal
        .remote
        .get("/account")
        .accept_json()
        .session(&marie)
        .send()
        .await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "Marie's sign-out survives the crash"
    );
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let account = portal
        .remote
        .get("/account")
        .accept_json()
        .session(&marie)
        .send()
        .await;
    assert_eq!(account.json()["user_code"], "ACME-001");
}

/// Every path under `/services/` is guarded by the service it names, as the store knows it when
/// the request comes: a service nobody subscribed to when the portal started is refused like any
/// other (not a `404` that would tell which services exist), and is served as soon as customer
/// service subscribes the account (`guichet accounts import` while the portal runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_added_while_the_portal_runs_is_guarded_then_served() {
    let dir = TempDir::new("portal-new-service");
    let users = write_accounts(dir.path()).await;
    let portal = RunningPortal::start(dir.path(), &users).await;
    let remote = &portal.remote;

    let anonymous = remote
        .get("/services/billing/2026")
        .accept_json()
        .send()
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let browser = remote.get("/services/billing").accept_html().send().await;
    assert_eq!(browser.status, StatusCode::SEE_OTHER);
    assert!(browser
        .location()
        .is_some_and(|to| to.starts_with("/auth/login")));
    let luc = portal.session_for(LUC, LUC_PW).await;
    let paths = [
        "/services/billing",
        "/services/billing/",
        "/services/billing/x",
    ];
    for path in paths {
        let reply = remote.get(path).accept_json().session(&luc).send().await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
    // The service is the path's segment as sent: any bytes after it are the service's own, and
    // an encoded name is not the service's name.
    let odd = remote
        .get("/services/collection/%FF")
        .accept_json()
        .session(&luc)
        .send()
        .await;
    assert_eq!(odd.status, StatusCode::OK);
    let encoded = remote
        .get("/services/coll%65ction")
        .accept_json()
        .session(&luc)
        .send()
        .await;
    assert_eq!(encoded.status, StatusCode::FORBIDDEN);

    // Customer service adds billing to the client and to Luc, on the portal's database.
    let file = std::fs::read_to_string(&users).expect("the accounts file");
    let file = file
        .replacen(
            r#"services = ["collection", "orders"]"#,
            r#"services = ["collection", "orders", "billing"]"#,
            1,
        )
        .replace(
            "email = \"luc@acme.example\"\nclient = \"acme\"\nservices = [\"collection\"]",
            "email = \"luc@acme.example\"\nclient = \"acme\"\nservices = [\"collection\", \"billing\"]",
        );
    assert!(file.contains(r#"services = ["collection", "billing"]"#));
    let updated = dir.path().join("billing.toml");
    std::fs::write(&updated, file).expect("the updated file is written");
    let import = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .current_dir(dir.path())
        .args(["accounts", "import"])
        .arg(&updated)
        .env_remove("GUICHET_REDIS_URL")
        .env_remove("GUICHET_DATABASE_URL")
        .env_remove("GUICHET_CONFIG")
        .output()
        .expect("guichet runs");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    // The portal reads the change within its cache's bound (1 s), without a restart.
    let deadline = Instant::now() + Duration::from_secs(5);
    for path in paths {
        loop {
            let reply = remote.get(path).accept_json().session(&luc).send().await;
            if reply.status == StatusCode::OK {
                break;
            }
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
            assert!(Instant::now() < deadline, "{path} is still refused");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let refused = remote
        .get("/services/billing")
        .accept_json()
        .session(&marie)
        .send()
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "Marie has no billing"
    );
}
