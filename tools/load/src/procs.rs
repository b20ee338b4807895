//! The processes a run starts: guichet's portal example, the peer (`axum-peer`), a throw-away
//! `redis-server` and PostgreSQL; where they run (`taskset`), and what they cost (CPU time from
//! `/proc`). Every one is killed and reaped when its handle is dropped, also on error or panic.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http::StatusCode;

use crate::{connect, get, send, tail, Result, GET_SOURCE};

/// The core the servers under test run on when pinning.
pub const SERVER_CORE: u8 = 0;
/// The core of the load generator (`wrk`) and of Redis or PostgreSQL when pinning.
pub const CLIENT_CORE: u8 = 1;

/// Whether processes are pinned to cores with `taskset` (2 cores or more, and `taskset` works).
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub pinned: bool,
}

impl Placement {
    pub fn detect() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset")
            .args(["-c", "1", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        Self {
            pinned: cores >= 2 && taskset,
        }
    }

    /// `program`, on `core` when pinning.
    pub fn command(&self, core: u8, program: impl AsRef<std::ffi::OsStr>) -> Command {
        if self.pinned {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(core.to_string()).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// How a process started with [`command`](Self::command) on `core` runs, in words.
    pub fn describe(&self, core: u8) -> String {
        if self.pinned {
            format!("core {core} (`taskset -c {core}`)")
        } else {
            "unpinned".into()
        }
    }
}

/// A private temporary folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A server process (the portal or the peer); killed and reaped when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `command` (stdout and stderr to `log`), then waits up to `patience` until `GET
    /// ready_path` gets any HTTP answer (`want`: that status only).
    pub async fn start(
        mut command: Command,
        addr: SocketAddr,
        log: PathBuf,
        ready_path: &'static str,
        want: Option<StatusCode>,
        patience: Duration,
    ) -> Result<Self> {
        let out = std::fs::File::create(&log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("starting {command:?}: {e}"))?;
        let mut server = Self { child, addr, log };
        let tries = patience.as_millis() / 50;
        for _ in 0..tries {
            if let Some(status) = server.child.try_wait()? {
                return Err(format!(
                    "{command:?} exited at start ({status}); its log:\n{}",
                    tail(&server.log)
                )
                .into());
            }
            if let Ok(mut conn) = connect(addr, GET_SOURCE).await {
                if let Ok(reply) = send(&mut conn, get(ready_path, None)).await {
                    if want.is_none_or(|w| w == reply.status) {
                        return Ok(server);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "{command:?} did not answer {ready_path} within {} s; its log:\n{}",
            patience.as_secs(),
            tail(&server.log)
        )
        .into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system, all threads) a process has used, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`;
    // utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / clock_ticks())
}

/// CPU time of a process and its children (PostgreSQL's backends are the postmaster's), in
/// seconds. A child that exits in between takes its time with it.
pub fn cpu_seconds_with_children(pid: u32) -> Option<f64> {
    let mut total = cpu_seconds(pid)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if parent(child) == Some(pid) {
            total += cpu_seconds(child).unwrap_or(0.0);
        }
    }
    Some(total)
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

// ---------------------------------------------------------------------------------------------
// Redis.

/// A throw-away `redis-server` (no persistence), on [`CLIENT_CORE`] when pinning.
pub struct Redis {
    child: Child,
    pub url: String,
}

impl Redis {
    pub fn start(placement: Placement, dir: &Path) -> Result<Self> {
        let port = free_port()?;
        let data = dir.join("redis");
        std::fs::create_dir_all(&data)?;
        let mut command = placement.command(CLIENT_CORE, "redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command
            .spawn()
            .map_err(|e| format!("starting redis-server (is it installed?): {e}"))?;
        let mut redis = Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if let Some(status) = redis.child.try_wait()? {
                return Err(format!("redis-server exited at start ({status})").into());
            }
            if ping(port).is_ok() {
                return Ok(redis);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("redis-server did not answer PING within 5 s".into())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn ping(port: u16) -> Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.write_all(b"PING\r\n")?;
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer)?;
    if &answer == b"+PONG\r\n" {
        Ok(())
    } else {
        Err("redis-server answered PING oddly".into())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL.

/// A throw-away PostgreSQL cluster in a temporary folder, run as the `postgres` user
/// (`runuser -u postgres -- initdb / pg_ctl`), listening on 127.0.0.1 on a free port with its
/// socket in the same folder; on [`CLIENT_CORE`] when pinning. Stopped (immediate) and removed
/// when dropped.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

impl Postgres {
    /// The folder of `initdb` and `pg_ctl`: `--pg-bin`, else the newest
    /// `/usr/lib/postgresql/*/bin`.
    pub fn find_bin(explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(bin) = explicit {
            return Ok(bin.to_owned());
        }
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL in /usr/lib/postgresql ({e}); install postgresql or pass --pg-bin"))?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = entry.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        found.sort();
        found
            .pop()
            .map(|(_, bin)| bin)
            .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb".into())
    }

    pub fn start(placement: Placement, bin: &Path) -> Result<Self> {
        // The cluster's folder belongs to `postgres`, outside our own (0700) temporary folder.
        let dir = std::env::temp_dir().join(format!("guichet-load-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("socket"))?;
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()?;
        if !status.success() {
            return Err(format!("chown postgres {} failed", dir.display()).into());
        }
        let port = free_port()?;
        let pg = Self {
            bin: bin.to_owned(),
            dir,
            port,
        };
        let log = pg.dir.join("initdb.log");
        let out = std::fs::File::create(&log)?;
        let status = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg.bin.join("initdb"))
            .arg("-D")
            .arg(pg.dir.join("data"))
            .args(["--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .status()?;
        if !status.success() {
            return Err(format!("initdb failed ({status}):\n{}", tail(&log)).into());
        }
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            pg.dir.join("socket").display()
        );
        let mut command = placement.command(CLIENT_CORE, "runuser");
        let status = command
            .args(["-u", "postgres", "--"])
            .arg(pg.bin.join("pg_ctl"))
            .arg("-D")
            .arg(pg.dir.join("data"))
            .arg("-l")
            .arg(pg.dir.join("server.log"))
            .args(["-o", &options, "-w", "-t", "30", "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!(
                "pg_ctl start failed ({status}):\n{}",
                tail(&pg.dir.join("server.log"))
            )
            .into());
        }
        for database in ["peer", "guichet"] {
            let status = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(pg.bin.join("createdb"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                .arg(database)
                .status()?;
            if !status.success() {
                return Err(format!("createdb {database} failed ({status})").into());
            }
        }
        Ok(pg)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The postmaster's pid (its backends are its children).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("data").join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// The peer's binary.

/// The peer binary: `explicit`, or built from its manifest into `<target>/peer` (a no-op when
/// it is up to date), or found there when no manifest can be found.
pub fn peer_binary(explicit: Option<&Path>, manifest: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        return Err(format!("--peer {}: no such file", path.display()).into());
    }
    // target/release/guichet-load: the target folder is two levels up.
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("no target folder above the load binary")?
        .to_owned();
    let peer_target = target.join("peer");
    let binary = peer_target.join("release").join("axum-peer");
    let manifest = match manifest {
        Some(path) => Some(path.to_owned()),
        None => std::env::var_os("GUICHET_PEER_MANIFEST")
            .map(PathBuf::from)
            .or_else(find_peer_manifest),
    };
    match manifest {
        Some(manifest) => {
            crate::progress(&format!(
                "building the peer: cargo build --release --manifest-path {} --target-dir {}",
                manifest.display(),
                peer_target.display()
            ));
            let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&peer_target)
                .stdin(Stdio::null())
                .status()?;
            if !status.success() {
                return Err(format!("building the peer failed ({status})").into());
            }
            Ok(binary)
        }
        None if binary.is_file() => Ok(binary),
        None => Err(format!(
            "the peer is not built ({}) and its manifest was not found: pass --peer PATH or \
             --peer-manifest PATH (shared/peer/axum-peer/Cargo.toml)",
            binary.display()
        )
        .into()),
    }
}

/// `shared/peer/axum-peer/Cargo.toml` in the repository's folder or any folder above it (the
/// shared folder sits beside the checkout).
fn find_peer_manifest() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().ok()?;
    root.ancestors()
        .map(|folder| folder.join("shared/peer/axum-peer/Cargo.toml"))
        .find(|manifest| manifest.is_file())
}
