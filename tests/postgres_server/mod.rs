//! A real PostgreSQL server for the tests, initialised in a temporary folder and listening on a
//! free port of 127.0.0.1 (and a socket in that folder), with trust authentication. It can be
//! stopped and started again on the same port to test faults, and is stopped, and its folder
//! removed, when the test process ends, however it ends. `scripts/test.sh` installs the
//! `postgresql` package when the machine lacks it; its binaries are found under
//! `/usr/lib/postgresql/<version>/bin`. Run as root (as the tests are on CI), the server runs as
//! the `postgres` user (`runuser -u postgres --`), since PostgreSQL refuses to run as root.

#![allow(dead_code)] // each test binary uses its own part

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One server shared by a whole test binary (tests isolate themselves with
/// [`PostgresServer::fresh_database`]); the watchdog stops it when the binary exits.
pub fn shared() -> &'static PostgresServer {
    static SHARED: std::sync::OnceLock<PostgresServer> = std::sync::OnceLock::new();
    SHARED.get_or_init(PostgresServer::start)
}

/// A name no other test uses (a database, a schema), lower-case.
pub fn unique_name(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "t{}_{}_{what}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The folder of the newest PostgreSQL's binaries.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql (scripts/test.sh installs it)")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub struct PostgresServer {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    watchdog: Option<Child>,
    running: bool,
    /// CREATE DATABASE one at a time.
    creating: Mutex<()>,
}

impl PostgresServer {
    pub fn start() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "guichet-postgres-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("socket")).expect("a temp dir");
        let mut server = Self {
            port: free_port(),
            dir,
            bin: bin_dir(),
            watchdog: None,
            running: false,
            creating: Mutex::new(()),
        };
        if is_root() {
            let owned = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&server.dir)
                .status()
                .expect("chown runs");
            assert!(owned.success(), "the temp dir can be given to postgres");
        }
        let initdb = server
            .as_postgres("initdb")
            .arg("-D")
            .arg(server.data())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("initdb runs");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        server.watch();
        server.resume();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("socket")
    }

    /// A command from PostgreSQL's binaries, run as the `postgres` user when we are root.
    fn as_postgres(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// A shell that waits for this test process to end, then stops the server (immediately:
    /// nothing needs saving) and removes its folder. Ctrl-C and hang-ups are ignored, so the
    /// server never outlives the tests; dropping the server ends the watchdog.
    fn watch(&mut self) {
        let stop = format!(
            "{runuser}'{bin}/pg_ctl' -D '{data}' -m immediate -w stop >/dev/null 2>&1",
            runuser = if is_root() {
                "runuser -u postgres -- "
            } else {
                ""
            },
            bin = self.bin.display(),
            data = self.data().display(),
        );
        let script = format!(
            "trap '' INT HUP; trap 'exit 0' TERM; \
             while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}; rm -rf '{dir}'",
            pid = std::process::id(),
            dir = self.dir.display(),
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh runs");
        self.watchdog = Some(child);
    }

    /// `postgres://postgres@127.0.0.1:PORT/database`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn fresh_database(&self, what: &str) -> String {
        let name = unique_name(what);
        let _one_at_a_time = self
            .creating
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let out = self.psql("postgres", &format!("CREATE DATABASE {name}"));
        assert!(out.is_some(), "CREATE DATABASE {name} failed");
        self.url(&name)
    }

    /// Runs one SQL command with psql over the socket; its output, if it succeeded.
    pub fn psql(&self, database: &str, sql: &str) -> Option<String> {
        let out = Command::new(self.bin.join("psql"))
            .arg("-h")
            .arg(self.socket())
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
            ])
            .arg(sql)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The server goes away (fast shutdown: its connections are closed).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        self.running = false;
    }

    /// The server comes back on the same port, with its data.
    pub fn resume(&mut self) {
        let options = format!(
            "-p {port} -k {socket} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
             -c shared_buffers=32MB",
            port = self.port,
            socket = self.socket().display(),
        );
        let started = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "30", "-o", &options, "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(
            started.success(),
            "PostgreSQL did not start: see {}",
            self.log().display()
        );
        self.running = true;
        self.wait_until_up();
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.psql("postgres", "SELECT 1").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("PostgreSQL on port {} did not answer", self.port);
    }

    /// The server's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
