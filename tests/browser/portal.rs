//! The portal example as a separate process, as a person runs it (`cargo run --example portal`):
//! the demo accounts, the outbox folder for emails, and the `Secure` cookie (no
//! `GUICHET_INSECURE_COOKIES`: browsers accept it on 127.0.0.1).

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::free_addr;

/// Builds `examples/portal.rs` (once per test binary) and returns the executable cargo reports
/// (so a custom target directory is found too).
fn binary() -> &'static Path {
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
        // The CARGO_* variables cargo sets for this test would make some build scripts (ring's)
        // rerun, and the example be rebuilt at each run: give cargo a person's environment.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name == "CARGO"
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
                .contains(&name.as_ref())
            {
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

/// The running example; killed when dropped, whatever happened in the test.
pub struct Portal {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
    pub outbox: PathBuf,
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Portal {
    /// Starts the example in `dir` (its working directory: state file, log, outbox), with
    /// `config` as its `GUICHET_CONFIG` file when there is one, and waits until it answers.
    pub fn start(dir: &Path, config: Option<&str>) -> Self {
        let binary = binary();
        let addr = free_addr();
        let log = dir.join("portal.log");
        let outbox = dir.join("outbox");
        let out = File::create(&log).expect("the portal's log file");
        let err = out.try_clone().expect("the portal's log file");
        let mut command = Command::new(binary);
        command.env_remove("GUICHET_CONFIG");
        if let Some(config) = config {
            let file = dir.join("guichet.toml");
            std::fs::write(&file, config).expect("the portal's configuration file");
            command.env("GUICHET_CONFIG", file);
        }
        let child = command
            .current_dir(dir)
            .env("GUICHET_ADDR", addr.to_string())
            .env("GUICHET_OUTBOX", &outbox)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            // The demo accounts, the Secure cookie, emails as files, a SQLite file in the working directory.
            .env_remove("GUICHET_USERS")
            .env_remove("GUICHET_INSECURE_COOKIES")
            .env_remove("GUICHET_SMTP_URL")
            .env_remove("GUICHET_REDIS_URL")
            .env_remove("GUICHET_DATABASE_URL")
            .env_remove("GUICHET_BASE_URL")
            .env_remove("GUICHET_MAIL_FROM")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the portal starts");
        let mut portal = Self {
            child,
            addr,
            log,
            outbox,
        };
        portal.wait_until_listening();
        portal
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the portal exited ({status}):\n{}", self.log_text());
            }
            if TcpStream::connect(self.addr).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the portal did not listen within 20 s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Its standard output and error so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
