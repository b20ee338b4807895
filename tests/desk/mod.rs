//! The `guichet` binary as a user runs it: `guichet serve` as a separate process on a free
//! port, and the operator's commands, all with one environment (the `GUICHET_*` variables of
//! the contract) in one working directory, so they share the state as a real deployment does.

#![allow(dead_code)] // each test binary uses its own part

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::StatusCode;

use crate::common::{Remote, COOKIE};

/// The `guichet` executable cargo built for these tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_guichet")
}

/// A free address on 127.0.0.1 (released just before the server binds it).
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// Light argon2 for the tests (the OWASP defaults are tested elsewhere), written as the
/// `GUICHET_CONFIG` file a deployment would have.
pub const LIGHT_CONFIG: &str = r#"
[passwords]
memory_kib = 64
iterations = 1

[mail]
customer_service_phone = "1 800 555-0100"
customer_service_hours = "lundi au vendredi, 8 h à 17 h"
"#;

/// One deployment's environment: a working directory, its variables.
#[derive(Clone)]
pub struct Env {
    pub dir: PathBuf,
    pub addr: SocketAddr,
    vars: Vec<(String, String)>,
}

impl Env {
    /// State in `state` (`("GUICHET_DATABASE_URL", url)` or the Redis variables), mail to
    /// `smtp_url` (or the outbox when `None`), accounts from `users`.
    pub fn new(dir: &Path, state: &[(&str, String)], smtp_url: Option<String>) -> Self {
        let addr = free_addr();
        let config = dir.join("guichet.toml");
        std::fs::write(&config, LIGHT_CONFIG).expect("the config file is written");
        let mut vars: Vec<(String, String)> = vec![
            ("GUICHET_ADDR".into(), addr.to_string()),
            ("GUICHET_BASE_URL".into(), format!("http://{addr}")),
            ("GUICHET_INSECURE_COOKIES".into(), "1".into()),
            ("GUICHET_CONFIG".into(), config.display().to_string()),
            (
                "GUICHET_OUTBOX".into(),
                dir.join("outbox").display().to_string(),
            ),
            (
                "GUICHET_SERVICE_EMAIL".into(),
                "service@portal.example".into(),
            ),
            (
                "GUICHET_MAIL_FROM".into(),
                "Portail <no-reply@portal.example>".into(),
            ),
            ("GUICHET_OPERATOR".into(), "test-operator".into()),
        ];
        vars.extend(state.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        if let Some(url) = smtp_url {
            vars.push(("GUICHET_SMTP_URL".into(), url));
        }
        Self {
            dir: dir.to_owned(),
            addr,
            vars,
        }
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value.into()));
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command.current_dir(&self.dir).args(args);
        for (name, _) in std::env::vars() {
            if name.starts_with("GUICHET_") {
                command.env_remove(name);
            }
        }
        for (k, v) in &self.vars {
            command.env(k, v);
        }
        command
    }

    /// Runs an operator's command to its end.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    /// Runs a command with `stdin` as its input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("guichet starts");
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes()).expect("stdin is written");
        }
        let output = child.wait_with_output().expect("guichet ends");
        Run {
            args: args.join(" "),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts `guichet serve` and waits until `/health` answers.
    pub async fn serve(&self) -> Served {
        let log = self.dir.join(format!("serve-{}.log", self.addr.port()));
        let out = File::create(&log).expect("a log file");
        let err = out.try_clone().expect("a log file");
        let child = self
            .command(&["serve"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("guichet serve starts");
        let mut served = Served {
            child,
            remote: Remote::new(self.addr),
            log,
        };
        served.wait_until_ready().await;
        served
    }
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub args: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit status 0 and returns stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "guichet {}: {self:?}", self.args);
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("guichet {}: stdout is not JSON ({e}): {self:?}", self.args))
    }

    /// Asserts the exit status.
    pub fn exits(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "guichet {}: {self:?}", self.args);
        self
    }
}

/// A running `guichet serve`; killed when dropped.
pub struct Served {
    child: Child,
    pub remote: Remote,
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asks `probe` until it answers `wanted` or 2.5 s pass, and returns its last answer: a change
/// made by another process reaches a server's SQL read cache within 1 s
/// (`store::sql::DEFAULT_CACHE_TTL`), with a margin here for a loaded machine.
pub async fn settles<F, Fut>(wanted: StatusCode, mut probe: F) -> StatusCode
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StatusCode>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2500);
    loop {
        let status = probe().await;
        if status == wanted || tokio::time::Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a sign-in as an API client got back.
pub struct SignedIn {
    pub status: StatusCode,
    pub json: serde_json::Value,
    /// The session cookie's value, if one was set.
    pub session: Option<String>,
}

impl Served {
    /// Signs in as an API client (JSON), over a new connection: never one the readiness check
    /// left open, so that connection limits are really exercised.
    pub async fn sign_in(&self, code: &str, password: &str) -> SignedIn {
        let reply = Remote::new(self.remote.addr)
            .post("/auth/login")
            .accept_json()
            .json(&serde_json::json!({ "user_code": code, "password": password }))
            .send()
            .await;
        SignedIn {
            status: reply.status,
            json: serde_json::from_slice(&reply.body).unwrap_or_default(),
            session: reply.set_cookie(COOKIE).map(|c| c.value.clone()),
        }
    }

    /// What `/auth/verify` answers to this session cookie.
    pub async fn verify(&self, session: &str) -> StatusCode {
        Remote::new(self.remote.addr)
            .get("/auth/verify")
            .session(session)
            .send()
            .await
            .status
    }

    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("guichet serve exited ({status}):\n{}", self.log_text());
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
                "guichet serve did not answer within 30 s:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server logged so far.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        let _ = File::open(&self.log).and_then(|mut f| f.read_to_string(&mut text));
        text
    }

    /// Sends SIGTERM and waits for the process to end; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) with the child's pid and SIGTERM has no memory effects.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "guichet serve ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pid, to kill -9 it.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
