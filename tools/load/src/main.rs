//! Load generator for the portal example, measured side by side with the peer (axum-login
//! 0.18 and tower-sessions 0.14, `shared/peer/axum-peer`). It prints markdown tables of ratios measured
//! in one run (see BENCHMARKS.md for how to read them):
//!
//! 1. **Side by side with the peer** ([`compare`]): the peer's bare handler (`axum-peer serve
//!    bare`, `GET /protected`) is the 1.00; the peer signed in on its session stores and
//!    guichet's portal signed in on its stores are each a ratio to it, measured back to back
//!    with it by `wrk` in ABBA rounds, servers pinned to core 0 and `wrk` (and Redis,
//!    PostgreSQL) to core 1.
//! 2. **Figures a–g** of guichet's portal alone, with this tool's own HTTP/1.1 clients (below).
//!
//! ```sh
//! scripts/load.sh            # builds the portal example, this tool and the peer in release, then runs it
//! scripts/load.sh --quick    # shorter phases, for checking that the tool works
//! guichet-load [--quick] [--redis [URL]] [--cache] [--sqlite] [--postgres] \
//!     [--portal PATH] [--peer PATH | --peer-manifest PATH] [--pg-bin DIR]
//! ```
//!
//! * `--redis`: a throw-away `redis-server` (pinned to core 1), or `--redis URL` for one
//!   already running; the comparison then has guichet on Redis with and without client-side
//!   caching and the peer's `session-redis`, and figures a–g run on Redis (`--cache`: with
//!   client-side caching).
//! * `--sqlite`, `--postgres`: the peer's `session-sqlite` / `session-postgres` (PostgreSQL
//!   started here as the `postgres` user in a temporary folder), and guichet's portal with
//!   `GUICHET_DATABASE_URL` when the portal reads that variable ("not available" otherwise).
//! * The peer binary: `--peer PATH`, or built with cargo from `--peer-manifest` (default: the
//!   first `shared/peer/axum-peer/Cargo.toml` in the repository's folder or above it) into
//!   `target/peer`.
//!
//! | figure | how |
//! | --- | --- |
//! | a. authenticated GET ÷ bare GET | `GET /account` (JSON, session cookie) against `GET /health`, same 8 connections and headers, phases interleaved (ABBA) |
//! | b. sign-in flood ÷ what hashing permits | 32 connections signing in with correct passwords (one account each, distinct loopback source addresses), against permits ÷ one hash time measured here, interleaved with the floods |
//! | c. GET p99, flood ÷ idle | 2 paced probe connections (one `GET /account` every 5 ms each), idle phases interleaved with flood phases; latency counts from the scheduled send time when the previous answer was late |
//! | d. portal peak RSS | `VmHWM` / `VmRSS` from `/proc/<pid>/status` |
//! | e. unknown code ÷ wrong password | sequential sign-ins, alternating, a fresh code each |
//! | f. bytes per idle session | live bytes counted by this process's global allocator, 100 000 `SessionStore::create` into a `MemorySessionStore` |
//!
//! Only loopback addresses are used. Every loop is bounded in count and time, and the whole run
//! is cut at 5.5 minutes (a full run takes about 4); every server is killed when this process
//! ends (also on error or panic).
//!
//! The portal is started with a `GUICHET_CONFIG` that lifts the per-IP sign-in limit
//! (`sign_in.attempts_per_ip = "100000/minute"`). The flood also spreads its connections over
//! distinct loopback source addresses (127.0.0.10–41); any `429` is counted and printed.
//! With `--redis` the portal keeps every store in Redis.

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use guichet::config::PasswordConfig;
use guichet::identity::CasePolicy;
use guichet::password::Hasher;
use guichet::session::{SessionKey, SessionRecord};
use guichet::store::memory::MemoryStore;
use guichet::store::SessionStore;
use guichet::UserCode;
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

mod compare;
mod procs;

use procs::{Placement, Server, TempDir};

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Live bytes, for figure f.

/// The system allocator, counting the bytes currently handed out (requested sizes).
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

fn add_live(bytes: usize) {
    LIVE_BYTES.fetch_add(bytes as isize, Ordering::Relaxed);
}

fn sub_live(bytes: usize) {
    LIVE_BYTES.fetch_sub(bytes as isize, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged; the
// counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add_live(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add_live(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) };
        sub_live(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add_live(new_size);
            sub_live(layout.size());
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------------
// Settings.

/// Durations and counts of one run.
struct Plan {
    compare_rounds: usize,
    compare_phase_secs: u64,
    reps: usize,
    get_phase: Duration,
    idle_phase: Duration,
    flood_phase: Duration,
    hashes_per_rep: usize,
    leak_pairs: usize,
    sessions: usize,
}

impl Plan {
    fn full() -> Self {
        Self {
            // Short runs, back to back in pairs, many rounds: each ratio compares two runs a
            // second apart, and the median of 10 shrugs off the rounds another tenant's build
            // lands on.
            compare_rounds: 10,
            compare_phase_secs: 1,
            reps: 4,
            get_phase: Duration::from_secs(5),
            idle_phase: Duration::from_secs(4),
            flood_phase: Duration::from_secs(5),
            hashes_per_rep: 6,
            leak_pairs: 40,
            sessions: 100_000,
        }
    }

    fn quick() -> Self {
        Self {
            compare_rounds: 2,
            compare_phase_secs: 1,
            reps: 2,
            get_phase: Duration::from_secs(1),
            idle_phase: Duration::from_secs(1),
            flood_phase: Duration::from_secs(2),
            hashes_per_rep: 3,
            leak_pairs: 8,
            sessions: 100_000,
        }
    }
}

const GET_CONNECTIONS: usize = 8;
const FLOOD_CONNECTIONS: usize = 32;
const PROBES: usize = 2;
const PROBE_INTERVAL: Duration = Duration::from_millis(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const WHOLE_RUN: Duration = Duration::from_secs(330);
const PASSWORD_WRONG: &str = "Wrong-password-2026";

/// The loopback source address of flood connection `i` (127.0.0.10 and up).
fn flood_source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 10 + i as u8)
}
const SIGN_IN_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const LEAK_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const GET_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

// ---------------------------------------------------------------------------------------------
// The peer (axum-login 0.18 + tower-sessions 0.14) in figures b–g, measured earlier on this
// machine with its own subcommands (figure a's is measured in the run: see `compare`).

const PEER_B: &str = "35 sign-ins/s";
const PEER_C: &str = "205 ms under flood";
const PEER_D: &str = "6.5–9 GB";
const PEER_E: &str = "0.13 ms vs 15 ms (64–115x leak)";
const PEER_F: &str = "4.25 kB";

/// The command line.
struct Options {
    quick: bool,
    /// `--redis`: `None` inside for a redis-server started here, `Some(URL)` for one running.
    redis: Option<Option<String>>,
    cache: bool,
    sqlite: bool,
    postgres: bool,
    portal: PathBuf,
    peer: Option<PathBuf>,
    peer_manifest: Option<PathBuf>,
    pg_bin: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Self> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let value = |name: &str| -> Result<Option<PathBuf>> {
            match args.iter().position(|a| a == name) {
                Some(i) => Ok(Some(PathBuf::from(
                    args.get(i + 1)
                        .ok_or_else(|| format!("{name} needs a value"))?,
                ))),
                None => Ok(None),
            }
        };
        let known = [
            "--quick",
            "--redis",
            "--cache",
            "--sqlite",
            "--postgres",
            "--portal",
            "--peer",
            "--peer-manifest",
            "--pg-bin",
        ];
        for (i, arg) in args.iter().enumerate() {
            let is_value = i > 0
                && [
                    "--portal",
                    "--peer",
                    "--peer-manifest",
                    "--pg-bin",
                    "--redis",
                ]
                .contains(&args[i - 1].as_str())
                && !arg.starts_with("--");
            if !is_value && !known.contains(&arg.as_str()) {
                return Err(format!("unknown argument {arg:?}").into());
            }
        }
        let redis = args.iter().position(|a| a == "--redis").map(|i| {
            args.get(i + 1)
                .filter(|next| !next.starts_with("--"))
                .cloned()
        });
        let portal = match value("--portal")? {
            Some(path) => path,
            // target/release/guichet-load next to target/release/examples/portal.
            None => std::env::current_exe()?
                .parent()
                .ok_or("no folder for the load binary")?
                .join("examples")
                .join("portal"),
        };
        let cache = args.iter().any(|a| a == "--cache");
        if cache && redis.is_none() {
            return Err("--cache goes with --redis".into());
        }
        Ok(Self {
            quick: args.iter().any(|a| a == "--quick"),
            redis,
            cache,
            sqlite: args.iter().any(|a| a == "--sqlite"),
            postgres: args.iter().any(|a| a == "--postgres"),
            portal,
            peer: value("--peer")?,
            peer_manifest: value("--peer-manifest")?,
            pg_bin: value("--pg-bin")?,
        })
    }

    /// The `scripts/load.sh` command line that gives these options.
    fn command(&self) -> String {
        let mut command = String::from("scripts/load.sh");
        for (on, flag) in [
            (self.quick, " --quick"),
            (self.redis.is_some(), " --redis"),
            (self.cache, " --cache"),
            (self.sqlite, " --sqlite"),
            (self.postgres, " --postgres"),
        ] {
            if on {
                command.push_str(flag);
            }
        }
        command
    }
}

fn main() -> Result<()> {
    let options = Options::parse()?;
    // Before the run's clock starts: building the peer can take minutes the first time.
    let peer = procs::peer_binary(options.peer.as_deref(), options.peer_manifest.as_deref())?;
    let plan = if options.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        tokio::time::timeout(WHOLE_RUN, run(&plan, &options, &peer))
            .await
            .map_err(|_| {
                BoxError::from(format!(
                    "the run took longer than its {} s bound",
                    WHOLE_RUN.as_secs()
                ))
            })?
    });
    // Ends every task still holding a connection before the servers' guards are gone.
    runtime.shutdown_timeout(Duration::from_secs(2));
    outcome
}

// ---------------------------------------------------------------------------------------------
// The portal child process.

/// Where the portal keeps its state.
enum PortalStore {
    /// Nothing set: the portal's default, a SQLite file (`guichet.db`) in its working folder.
    Default,
    Redis {
        url: String,
        cache: bool,
        prefix: String,
    },
    /// `GUICHET_DATABASE_URL` (`sqlite://...`, `postgres://...`).
    Database(String),
}

/// Starts the portal on a free loopback port (on `core` when given and pinning), with the
/// generated accounts and a configuration that lifts the per-IP limits; `name` names its log.
async fn start_portal(
    binary: &Path,
    dir: &Path,
    users: &Path,
    store: &PortalStore,
    core: Option<u8>,
    placement: Placement,
    name: &str,
) -> Result<Server> {
    if !binary.is_file() {
        return Err(format!(
            "{} not found: build it first (`cargo build --release --example portal`)",
            binary.display()
        )
        .into());
    }
    // The portal runs in `dir`: a relative path would be looked up from there.
    let binary = binary.canonicalize()?;
    let binary = binary.as_path();
    let addr = SocketAddr::from(([127, 0, 0, 1], procs::free_port()?));
    // The flood signs in from one address: lift the per-IP limit, which would otherwise be
    // what is measured.
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[sign_in]\nattempts_per_ip = \"100000/minute\"\n\
         [credential_requests]\nper_ip = \"100000/hour\"\nper_user_code = \"1000/hour\"\n\
         per_email = \"1000/hour\"\nglobal = \"100000/hour\"\n",
    )?;
    let mut command = match core {
        Some(core) => placement.command(core, binary),
        None => Command::new(binary),
    };
    // The default store is `guichet.db` in the working directory: a fresh one per run, in the
    // run's temporary folder (not wherever the tool was started).
    command
        .current_dir(dir)
        .env("GUICHET_ADDR", addr.to_string())
        .env("GUICHET_INSECURE_COOKIES", "1")
        .env("GUICHET_USERS", users)
        .env("GUICHET_CONFIG", &config)
        .env("GUICHET_OUTBOX", dir.join(format!("outbox-{name}")))
        .env("RUST_LOG", "info")
        .env_remove("GUICHET_REDIS_URL")
        .env_remove("GUICHET_REDIS_CACHE")
        .env_remove("GUICHET_DATABASE_URL")
        .env_remove("GUICHET_SMTP_URL");
    match store {
        PortalStore::Default => {}
        PortalStore::Redis { url, cache, prefix } => {
            command
                .env("GUICHET_REDIS_URL", url)
                .env("GUICHET_REDIS_PREFIX", prefix);
            if *cache {
                command.env("GUICHET_REDIS_CACHE", "1");
            }
        }
        PortalStore::Database(url) => {
            command.env("GUICHET_DATABASE_URL", url);
        }
    }
    Server::start(
        command,
        addr,
        dir.join(format!("{name}.log")),
        "/health",
        Some(StatusCode::OK),
        Duration::from_secs(30),
    )
    .await
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// `VmHWM` and `VmRSS` of a process, in kB.
fn memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 client.

type Conn = SendRequest<Full<Bytes>>;

/// A connection and the session cookie it sends.
type Signed = (Conn, HeaderValue);

async fn connect(addr: SocketAddr, from: Ipv4Addr) -> Result<Conn> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
    socket.set_nodelay(true)?;
    let stream = tokio::time::timeout(REQUEST_TIMEOUT, socket.connect(addr)).await??;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

struct Reply {
    status: StatusCode,
    /// The `name=value` pair of each `Set-Cookie`.
    set_cookies: Vec<String>,
}

impl Reply {
    /// The `name=value` pair of the cookie `name` set by the answer, if not empty.
    fn cookie(&self, name: &str) -> Option<HeaderValue> {
        self.set_cookies
            .iter()
            .find(|pair| {
                pair.split_once('=')
                    .is_some_and(|(n, v)| n.trim() == name && !v.trim().is_empty())
            })
            .and_then(|pair| HeaderValue::from_str(pair.trim()).ok())
    }
}

async fn send(conn: &mut Conn, request: Request<Full<Bytes>>) -> Result<Reply> {
    let exchange = async {
        conn.ready().await?;
        let response = conn.send_request(request).await?;
        let status = response.status();
        let set_cookies = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(|pair| pair.trim().to_owned())
            .collect();
        response.into_body().collect().await?;
        Ok::<_, BoxError>(Reply {
            status,
            set_cookies,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange).await?
}

fn get(path: &'static str, cookie: Option<&HeaderValue>) -> Request<Full<Bytes>> {
    let mut builder = Request::get(path)
        .header(HOST, "127.0.0.1")
        .header(ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        builder = builder.header(COOKIE, cookie.clone());
    }
    builder.body(Full::default()).expect("a valid request")
}

/// "Email me my password" for `code`.
fn password_request(code: &str) -> Request<Full<Bytes>> {
    Request::post("/auth/password")
        .header(HOST, "127.0.0.1")
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::from(format!("user_code={code}")))
        .expect("a valid request")
}

fn sign_in(code: &str, password: &str) -> Request<Full<Bytes>> {
    Request::post("/auth/login")
        .header(HOST, "127.0.0.1")
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::from(format!("user_code={code}&password={password}")))
        .expect("a valid request")
}

// ---------------------------------------------------------------------------------------------
// Statistics.

fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}

/// Nearest-rank percentile (`q` in 0..=1) of unsorted values; NaN when empty.
fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

fn list(values: &[f64], decimals: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 1-minute load average, to tell a quiet run from a noisy one.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn progress(message: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "load: {message}");
}

// ---------------------------------------------------------------------------------------------
// Accounts.

struct Account {
    code: String,
    password: String,
}

impl Account {
    fn new(group: char, i: usize) -> Arc<Self> {
        Arc::new(Self {
            code: format!("LOAD-{group}{i:02}"),
            password: format!("Load-{group}{i:02}-password-2026"),
        })
    }
}

struct Accounts {
    get: Vec<Arc<Account>>,
    flood: Vec<Arc<Account>>,
    wrong: Vec<Arc<Account>>,
}

/// One account per load connection (GET, flood) and one per wrong-password attempt, hashed at
/// the default (OWASP) parameters.
async fn write_accounts(path: &Path, leak_pairs: usize) -> Result<Accounts> {
    let accounts = Accounts {
        get: (0..GET_CONNECTIONS.max(PROBES))
            .map(|i| Account::new('G', i))
            .collect(),
        flood: (0..FLOOD_CONNECTIONS)
            .map(|i| Account::new('F', i))
            .collect(),
        wrong: (0..leak_pairs).map(|i| Account::new('W', i)).collect(),
    };
    let hasher = Hasher::new(&PasswordConfig::default()).expect("valid parameters");
    let mut text = String::from(
        "# Generated by tools/load\n\n[[client]]\nid = \"load\"\nname = \"Load Inc.\"\n\
         contact = \"LOAD-G00\"\nservices = [\"collection\"]\n",
    );
    let all = accounts
        .get
        .iter()
        .chain(&accounts.flood)
        .chain(&accounts.wrong);
    for account in all {
        let hash = hasher.hash(&hasher.password(&account.password)?).await?;
        text.push_str(&format!(
            "\n[[account]]\ncode = \"{code}\"\nname = \"Load {code}\"\nclient = \"load\"\n\
             email = \"{mailbox}@load.example\"\nservices = [\"collection\"]\npassword_hash = \"{hash}\"\n",
            code = account.code,
            mailbox = account.code.to_lowercase()
        ));
    }
    std::fs::write(path, text)?;
    Ok(accounts)
}

// ---------------------------------------------------------------------------------------------
// f. Bytes per idle session.

async fn bytes_per_session(count: usize) -> Result<f64> {
    // The directory holds the user codes; sessions share them (as `lifecycle::open` does).
    let codes: Vec<UserCode> = (0..1000)
        .map(|i| UserCode::parse(&format!("LOAD-{i:04}"), CasePolicy::Insensitive))
        .collect::<Result<_, _>>()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let ttl = Duration::from_secs(30 * 60);
    let before = live_bytes();
    let store = MemoryStore::new();
    for i in 0..count {
        let record = SessionRecord::new(codes[i % codes.len()].clone(), 0, now);
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let created =
            SessionStore::create(&store, &SessionKey::from_bytes(key), &record, ttl).await?;
        if !created {
            return Err("a session key collided".into());
        }
    }
    let after = live_bytes();
    let live = store.live_sessions();
    if live != count {
        return Err(format!("{live} live sessions, expected {count}").into());
    }
    drop(store);
    Ok((after - before) as f64 / count as f64)
}

// ---------------------------------------------------------------------------------------------
// a. Authenticated GET against the bare route.

/// Requests per second over `conns`, each looping `GET path` until the phase ends.
async fn get_phase(conns: &mut Vec<Signed>, path: &'static str, phase: Duration) -> Result<f64> {
    let start = Instant::now();
    let deadline = start + phase;
    let mut tasks = Vec::new();
    for (mut conn, cookie) in conns.drain(..) {
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut failed = 0u64;
            for _ in 0..10_000_000u32 {
                if Instant::now() >= deadline {
                    break;
                }
                match send(&mut conn, get(path, Some(&cookie))).await {
                    Ok(reply) if reply.status == StatusCode::OK => done += 1,
                    _ => failed += 1,
                }
            }
            (conn, cookie, done, failed)
        }));
    }
    let mut total = 0;
    let mut failures = 0;
    for task in tasks {
        let (conn, cookie, done, failed) = task.await?;
        conns.push((conn, cookie));
        total += done;
        failures += failed;
    }
    let elapsed = start.elapsed();
    if failures > 0 {
        return Err(format!("{failures} failed GET {path} during the throughput phase").into());
    }
    Ok(total as f64 / elapsed.as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// b, c. Sign-in flood, paced GET probes.

/// Latency samples (ms) of paced `GET /account` probes sent until `until`.
async fn probe(mut conn: Conn, cookie: HeaderValue, until: Instant) -> Result<(Conn, Vec<f64>)> {
    let mut samples = Vec::new();
    let mut scheduled = Instant::now();
    let mut previous_done = scheduled;
    for _ in 0..100_000u32 {
        if scheduled >= until {
            break;
        }
        tokio::time::sleep_until(scheduled.into()).await;
        let sent = Instant::now();
        let reply = send(&mut conn, get("/account", Some(&cookie))).await?;
        let done = Instant::now();
        if reply.status != StatusCode::OK {
            return Err(format!("probe GET /account answered {}", reply.status).into());
        }
        // When the previous answer came after this request was due, the wait counts too
        // (coordinated omission); the timer's own lateness does not.
        let from = if previous_done > scheduled {
            scheduled
        } else {
            sent
        };
        samples.push(ms(done - from));
        previous_done = done;
        scheduled += PROBE_INTERVAL;
    }
    Ok((conn, samples))
}

/// Runs the paced probes over `conns` for `phase`, in the background; the connections come
/// back with the samples.
fn spawn_probes(
    conns: Vec<Signed>,
    phase: Duration,
) -> tokio::task::JoinHandle<Result<(Vec<Signed>, Vec<f64>)>> {
    let until = Instant::now() + phase;
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(conn, cookie)| {
            tokio::spawn(async move {
                let (conn, samples) = probe(conn, cookie.clone(), until).await?;
                Ok::<_, BoxError>((conn, cookie, samples))
            })
        })
        .collect();
    tokio::spawn(async move {
        let mut all = Vec::new();
        let mut back = Vec::new();
        for task in tasks {
            let (conn, cookie, samples) = task.await??;
            back.push((conn, cookie));
            all.extend(samples);
        }
        Ok((back, all))
    })
}

/// Probe latencies with nothing else going on.
async fn idle_round(probes: &mut Vec<Signed>, phase: Duration) -> Result<Vec<f64>> {
    let (back, samples) = spawn_probes(std::mem::take(probes), phase).await??;
    *probes = back;
    Ok(samples)
}

/// Probe latencies during a flood, and the flood's outcome.
async fn flood_round(
    probes: &mut Vec<Signed>,
    flooders: &mut Vec<(Conn, Arc<Account>)>,
    phase: Duration,
) -> Result<(Vec<f64>, Flood)> {
    let handle = spawn_probes(std::mem::take(probes), phase);
    let outcome = flood(flooders, phase).await?;
    let (back, samples) = handle.await??;
    *probes = back;
    Ok((samples, outcome))
}

struct Flood {
    signed_in: u64,
    window: Duration,
    throttled: u64,
    busy: u64,
    other: u64,
    latencies_ms: Vec<f64>,
}

/// `FLOOD_CONNECTIONS` connections signing in in a loop with correct passwords for `phase`.
/// Only answers that arrive within the phase count; the requests still queued then are
/// awaited (and not counted) so the next phase starts quiet.
async fn flood(conns: &mut Vec<(Conn, Arc<Account>)>, phase: Duration) -> Result<Flood> {
    let start = Instant::now();
    let deadline = start + phase;
    let mut tasks = Vec::new();
    for (mut conn, account) in conns.drain(..) {
        tasks.push(tokio::spawn(async move {
            let mut results = Vec::new();
            for _ in 0..100_000u32 {
                if Instant::now() >= deadline {
                    break;
                }
                let sent = Instant::now();
                let status = match send(&mut conn, sign_in(&account.code, &account.password)).await
                {
                    Ok(reply) => reply.status,
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                };
                let done = Instant::now();
                results.push((done, done - sent, status));
            }
            (conn, account, results)
        }));
    }
    let mut outcome = Flood {
        signed_in: 0,
        window: phase,
        throttled: 0,
        busy: 0,
        other: 0,
        latencies_ms: Vec::new(),
    };
    for task in tasks {
        let (conn, account, results) = task.await?;
        conns.push((conn, account));
        for (done, latency, status) in results {
            if done > deadline {
                continue;
            }
            match status {
                StatusCode::OK => {
                    outcome.signed_in += 1;
                    outcome.latencies_ms.push(ms(latency));
                }
                StatusCode::TOO_MANY_REQUESTS => outcome.throttled += 1,
                StatusCode::SERVICE_UNAVAILABLE => outcome.busy += 1,
                _ => outcome.other += 1,
            }
        }
    }
    Ok(outcome)
}

/// Samples the portal's memory every 50 ms until `stop` is set; returns the largest `VmRSS`.
fn rss_sampler(pid: u32, stop: Arc<std::sync::atomic::AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..10_000u32 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if let Some((_, rss)) = memory_kb(pid) {
                peak = peak.max(rss);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        peak
    })
}

// ---------------------------------------------------------------------------------------------
// The run.

async fn run(plan: &Plan, options: &Options, peer: &Path) -> Result<()> {
    let command = options.command();
    let portal_binary = options.portal.as_path();
    let placement = Placement::detect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let permits = PasswordConfig::default().threads();
    let load_at_start = loadavg();

    // f first, while this process does nothing else.
    progress(&format!(
        "f: {} sessions into a MemorySessionStore",
        plan.sessions
    ));
    let per_session = bytes_per_session(plan.sessions).await?;

    let dir = TempDir::new("guichet-load")?;
    let users = dir.0.join("accounts.toml");
    progress("generating the accounts file (OWASP hashes)");
    let accounts = write_accounts(&users, plan.leak_pairs).await?;

    // The stores' servers, for the whole run.
    let own_redis = match &options.redis {
        Some(None) => {
            progress("starting redis-server");
            Some(procs::Redis::start(placement, &dir.0)?)
        }
        _ => None,
    };
    let redis: Option<(String, Option<u32>)> = match (&options.redis, &own_redis) {
        (Some(Some(url)), _) => Some((url.clone(), None)),
        (_, Some(own)) => Some((own.url.clone(), Some(own.pid()))),
        _ => None,
    };
    let postgres = if options.postgres {
        progress("starting PostgreSQL (initdb, pg_ctl as the postgres user)");
        let bin = procs::Postgres::find_bin(options.pg_bin.as_deref())?;
        Some(procs::Postgres::start(placement, &bin)?)
    } else {
        None
    };

    // 1. Side by side with the peer.
    let comparison = compare::run(&compare::Setup {
        placement,
        rounds: plan.compare_rounds,
        phase_secs: plan.compare_phase_secs,
        dir: &dir.0,
        portal: portal_binary,
        peer,
        users: &users,
        accounts: &accounts.get,
        redis: redis.as_ref().map(|(url, pid)| (url.as_str(), *pid)),
        sqlite: options.sqlite,
        postgres: postgres.as_ref(),
    })
    .await?;

    // 2. Figures a–g: the portal alone, unpinned, this tool's own clients.
    progress(&format!("starting {}", portal_binary.display()));
    let store = match &redis {
        Some((url, _)) => PortalStore::Redis {
            url: url.clone(),
            cache: options.cache,
            prefix: format!("load{}", std::process::id()),
        },
        None => PortalStore::Default,
    };
    let portal = start_portal(
        portal_binary,
        &dir.0,
        &users,
        &store,
        None,
        placement,
        "portal",
    )
    .await?;
    let addr = portal.addr;

    // Sessions for the GET connections and the probes.
    let mut signer = connect(addr, SIGN_IN_SOURCE).await?;
    let mut cookies = Vec::new();
    for account in &accounts.get {
        let reply = send(&mut signer, sign_in(&account.code, &account.password)).await?;
        match (reply.status, reply.cookie("guichet")) {
            (StatusCode::OK, Some(cookie)) => cookies.push(cookie),
            (status, _) => {
                return Err(format!("signing {} in answered {status}", account.code).into())
            }
        }
    }
    drop(signer);

    // a.
    progress("a: authenticated GET vs bare route");
    let mut get_conns = Vec::new();
    for cookie in cookies.iter().take(GET_CONNECTIONS) {
        get_conns.push((connect(addr, GET_SOURCE).await?, cookie.clone()));
    }
    // Warm-up, both routes.
    get_phase(&mut get_conns, "/account", Duration::from_millis(300)).await?;
    get_phase(&mut get_conns, "/health", Duration::from_millis(300)).await?;
    let (mut account_rps, mut health_rps, mut get_ratios) = (vec![], vec![], vec![]);
    for rep in 0..plan.reps {
        let (a, h) = if rep % 2 == 0 {
            let a = get_phase(&mut get_conns, "/account", plan.get_phase).await?;
            (
                a,
                get_phase(&mut get_conns, "/health", plan.get_phase).await?,
            )
        } else {
            let h = get_phase(&mut get_conns, "/health", plan.get_phase).await?;
            (
                get_phase(&mut get_conns, "/account", plan.get_phase).await?,
                h,
            )
        };
        account_rps.push(a);
        health_rps.push(h);
        get_ratios.push(a / h);
    }
    drop(get_conns);

    // b, c, d.
    progress("b/c/d: sign-in flood, probes, memory");
    let hasher = Hasher::new(&PasswordConfig::default()).expect("valid parameters");
    let sample_password = hasher.password("Load-hash-timing-2026")?;
    let mut flood_conns = Vec::new();
    for (i, account) in accounts.flood.iter().enumerate() {
        flood_conns.push((connect(addr, flood_source(i)).await?, Arc::clone(account)));
    }
    let mut probe_conns = Vec::new();
    for cookie in cookies.iter().take(PROBES) {
        probe_conns.push((connect(addr, GET_SOURCE).await?, cookie.clone()));
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = rss_sampler(portal.pid(), Arc::clone(&stop));
    let (mut hash_ms, mut idle_ms, mut flood_ms) = (vec![], vec![], vec![]);
    let mut floods = Vec::new();
    for rep in 0..plan.reps {
        for _ in 0..plan.hashes_per_rep {
            let start = Instant::now();
            hasher.hash(&sample_password).await?;
            hash_ms.push(ms(start.elapsed()));
        }
        if rep % 2 == 0 {
            idle_ms.extend(idle_round(&mut probe_conns, plan.idle_phase).await?);
            let (samples, outcome) =
                flood_round(&mut probe_conns, &mut flood_conns, plan.flood_phase).await?;
            flood_ms.extend(samples);
            floods.push(outcome);
        } else {
            let (samples, outcome) =
                flood_round(&mut probe_conns, &mut flood_conns, plan.flood_phase).await?;
            flood_ms.extend(samples);
            floods.push(outcome);
            idle_ms.extend(idle_round(&mut probe_conns, plan.idle_phase).await?);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let peak_rss_sampled_kb = sampler.await?;
    let (hwm_kb, rss_now_kb) = memory_kb(portal.pid()).ok_or("cannot read the portal's memory")?;
    drop(flood_conns);
    drop(probe_conns);

    // e.
    progress("e: unknown code vs wrong password");
    let mut leak_conn = connect(addr, LEAK_SOURCE).await?;
    let (mut unknown_ms, mut wrong_ms) = (vec![], vec![]);
    let mut leak_statuses = Vec::new();
    for (i, known) in accounts.wrong.iter().enumerate() {
        let unknown_code = format!("NONE-W{i:02}");
        let mut order = [(true, unknown_code), (false, known.code.clone())];
        if i % 2 == 1 {
            order.reverse();
        }
        for (is_unknown, code) in order {
            let start = Instant::now();
            let reply = send(&mut leak_conn, sign_in(&code, PASSWORD_WRONG)).await?;
            let took = ms(start.elapsed());
            leak_statuses.push(reply.status);
            if is_unknown {
                unknown_ms.push(took);
            } else {
                wrong_ms.push(took);
            }
        }
    }
    // g: "email me my password", known vs unknown code. Requests are spaced out so each is
    // timed alone, as a prober would see it; the known code's issuing work (a hash, an email)
    // runs after the answer.
    progress("g: credential requests, known vs unknown code");
    let (mut request_known_ms, mut request_unknown_ms) = (vec![], vec![]);
    for (i, known) in accounts.wrong.iter().enumerate() {
        let mut order = [(true, format!("NONE-R{i:02}")), (false, known.code.clone())];
        if i % 2 == 1 {
            order.reverse();
        }
        for (is_unknown, code) in order {
            let start = Instant::now();
            let reply = send(&mut leak_conn, password_request(&code)).await?;
            let took = ms(start.elapsed());
            if reply.status != StatusCode::OK {
                return Err(format!("g: a credential request answered {}", reply.status).into());
            }
            if is_unknown {
                request_unknown_ms.push(took);
            } else {
                request_known_ms.push(took);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    drop(leak_conn);
    let log = portal.log.clone();
    drop(portal);
    if leak_statuses.iter().any(|s| *s != StatusCode::UNAUTHORIZED) {
        return Err(format!(
            "e: a failing sign-in did not answer 401: {leak_statuses:?}\n{}",
            tail(&log)
        )
        .into());
    }

    // The table.
    let get_ratio = median(&get_ratios);
    let hash_median = median(&hash_ms);
    let permitted = permits as f64 / (hash_median / 1000.0);
    let flood_rates: Vec<f64> = floods
        .iter()
        .map(|f| f.signed_in as f64 / f.window.as_secs_f64())
        .collect();
    let flood_rate = median(&flood_rates);
    let flood_ratio = flood_rate / permitted;
    let throttled: u64 = floods.iter().map(|f| f.throttled).sum();
    let busy: u64 = floods.iter().map(|f| f.busy).sum();
    let other: u64 = floods.iter().map(|f| f.other).sum();
    let sign_in_latency: Vec<f64> = floods.iter().flat_map(|f| f.latencies_ms.clone()).collect();
    let p99_idle = percentile(&idle_ms, 0.99);
    let p99_flood = percentile(&flood_ms, 0.99);
    let p99_ratio = p99_flood / p99_idle;
    let hwm_mb = hwm_kb as f64 / 1024.0;
    let leak_ratio = median(&unknown_ms) / median(&wrong_ms);

    let load_at_end = loadavg();
    let peer_a = match &comparison.peer_session {
        Some((name, ratio)) => {
            format!("{ratio:.2}x in this run ({name} ÷ `serve bare`, wrk: table above)")
        }
        None => "—".into(),
    };
    println!();
    println!("## guichet portal under load — ratios measured side by side in one run");
    println!();
    println!(
        "command: `{command}` (runs `{}`); {cores} cores, {permits} hashing permit(s), {} interleaved reps; load average {load_at_start} at start, {load_at_end} at end",
        std::env::args().collect::<Vec<_>>().join(" "),
        plan.reps
    );
    println!();
    print!("{}", comparison.markdown);
    println!(
        "### Figures a–g: the portal alone ({}; this tool's own HTTP/1.1 clients, unpinned)\n",
        match (&redis, options.cache) {
            (None, _) => "the default store, SQLite",
            (Some(_), false) => "every store in Redis",
            (Some(_), true) => "every store in Redis, client-side caching",
        }
    );
    println!(
        "| | figure | guichet | peer (axum-login 0.18 + tower-sessions 0.14; b–g measured earlier) | target | verdict |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| a | authenticated `GET /account` ÷ bare `GET /health` throughput, {GET_CONNECTIONS} conns, {}×{} s ABBA | **{get_ratio:.2}x** (per rep {}; {:.0} vs {:.0} req/s median) | {peer_a} | ≥ 0.95 | {} |",
        plan.reps,
        plan.get_phase.as_secs(),
        list(&get_ratios, 2),
        median(&account_rps),
        median(&health_rps),
        verdict(get_ratio >= 0.95)
    );
    println!(
        "| b | sign-ins/s under a {FLOOD_CONNECTIONS}-conn flood ÷ permits/hash time ({permits} ÷ {hash_median:.1} ms = {permitted:.1}/s) | **{flood_ratio:.2}** ({flood_rate:.1}/s median; per rep {}) | {PEER_B} | ≥ 0.90 | {} |",
        list(&flood_rates, 1),
        verdict(flood_ratio >= 0.9)
    );
    println!(
        "| c | `GET /account` p99 during flood ÷ idle ({PROBES} probes, one GET per {} ms each) | **{p99_ratio:.2}x** ({p99_flood:.2} ms vs {p99_idle:.2} ms; p50 {:.2} vs {:.2} ms) | {PEER_C} | ≤ 2x | {} |",
        PROBE_INTERVAL.as_millis(),
        percentile(&flood_ms, 0.5),
        percentile(&idle_ms, 0.5),
        verdict(p99_ratio <= 2.0)
    );
    println!(
        "| d | portal peak RSS during the flood (`VmHWM`) | **{hwm_mb:.1} MB** (largest sampled `VmRSS` {:.1} MB, at end {:.1} MB) | {PEER_D} | < 200 MB | {} |",
        peak_rss_sampled_kb as f64 / 1024.0,
        rss_now_kb as f64 / 1024.0,
        verdict(hwm_mb < 200.0)
    );
    println!(
        "| e | sign-in latency, unknown code ÷ known code + wrong password ({} each, alternating) | **{leak_ratio:.3}** ({:.2} ms vs {:.2} ms median) | {PEER_E} | 1.00 ± 0.05 | {} |",
        unknown_ms.len(),
        median(&unknown_ms),
        median(&wrong_ms),
        verdict((leak_ratio - 1.0).abs() <= 0.05)
    );
    let request_ratio = median(&request_unknown_ms) / median(&request_known_ms);
    println!(
        "| g | \"email me my password\" answer time, unknown ÷ known code ({} each, alternating, spaced) | **{request_ratio:.3}** ({:.3} ms vs {:.3} ms median) | — | 1.00 ± 0.05 | {} |",
        request_unknown_ms.len(),
        median(&request_unknown_ms),
        median(&request_known_ms),
        verdict((request_ratio - 1.0).abs() <= 0.05)
    );
    println!(
        "| f | bytes per idle session in `MemorySessionStore` ({} sessions, live-byte delta) | **{per_session:.0} B** | {PEER_F} | < 400 B | {} |",
        plan.sessions,
        verdict(per_session < 400.0)
    );
    println!();
    println!(
        "notes: b counts `200` answers within each {} s flood window; {throttled} `429`, {busy} `503`, {other} other answers in the windows; sign-in latency under flood p50 {:.0} ms, p99 {:.0} ms. \
         One hash = median of {} `Hasher::hash` (OWASP) in this process, interleaved with the floods (spread {:.1}–{:.1} ms). \
         c counts from the scheduled send time when the previous answer was late. a: `/account` builds a JSON body, `/health` returns \"ok\"; both get the same cookie and headers.",
        plan.flood_phase.as_secs(),
        percentile(&sign_in_latency, 0.5),
        percentile(&sign_in_latency, 0.99),
        hash_ms.len(),
        hash_ms.iter().copied().fold(f64::INFINITY, f64::min),
        hash_ms.iter().copied().fold(0.0, f64::max),
    );
    Ok(())
}
