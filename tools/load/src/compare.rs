//! Side by side with the peer: the peer's bare handler (`axum-peer serve bare`, `GET
//! /protected`: the 1.00), the peer's signed-in `GET /protected` on each of its session stores,
//! and guichet's portal signed in on each of its stores, all running at once (idle when not
//! measured) and driven by `wrk`. Every variant is measured in a pair with the bare handler,
//! the two runs back to back, and guarded with unguarded routes of one portal form pairs too;
//! a round runs every pair, the next one reverses the order of the pairs and within each pair
//! (ABBA). Every figure is the median over rounds of its pair's ratio, so the slow drifts and
//! the bursts of this shared machine cancel out or fall outside the median.
//!
//! Placement when pinning (2 cores): every server on core 0, `wrk` on core 1, Redis and
//! PostgreSQL on core 1 too (started there by this tool). The server is then the bottleneck, and
//! the CPU columns show it: the server's core near 100 %, `wrk`'s well below (unless other
//! tenants of the machine take part of the cores, which the columns show too).

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE, HOST};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;

use crate::procs::{
    self, cpu_seconds, cpu_seconds_with_children, Placement, Server, CLIENT_CORE, SERVER_CORE,
};
use crate::{
    connect, list, median, progress, send, sign_in, start_portal, verdict, Account, PortalStore,
    Result, SIGN_IN_SOURCE,
};

/// Connections of every `wrk` run (one thread).
pub const CONNECTIONS: usize = 32;
/// Sessions each signed-in variant rotates through, request by request.
const SESSIONS: usize = 8;
const PEER_PASSWORD_FORM: &str = "username=alice&password=correct%20horse";

/// What the comparison needs from the run.
pub struct Setup<'a> {
    pub placement: Placement,
    pub rounds: usize,
    pub phase_secs: u64,
    pub dir: &'a Path,
    pub portal: &'a Path,
    pub peer: &'a Path,
    pub users: &'a Path,
    /// Accounts to sign in with on guichet (one session each).
    pub accounts: &'a [Arc<Account>],
    /// Redis URL and, when this tool started it, its pid.
    pub redis: Option<(&'a str, Option<u32>)>,
    pub sqlite: bool,
    pub postgres: Option<&'a procs::Postgres>,
}

/// The comparison's tables, and the peer's session ÷ bare for the a–g table.
pub struct Comparison {
    pub markdown: String,
    pub peer_session: Option<(String, f64)>,
}

/// One thing measured: a server and a request.
struct Variant {
    key: &'static str,
    server: String,
    request: String,
    url: String,
    lua: PathBuf,
    pid: u32,
    /// The store's process (Redis, PostgreSQL), whose CPU is shown too.
    backing: Option<u32>,
    runs: Vec<WrkRun>,
}

/// Two variants measured back to back in every round: `subject` ÷ `reference`.
struct Pair {
    reference: usize,
    subject: usize,
    /// (reference, subject) of each round.
    runs: Vec<(WrkRun, WrkRun)>,
}

impl Pair {
    fn new(reference: usize, subject: usize) -> Self {
        Self {
            reference,
            subject,
            runs: Vec::new(),
        }
    }

    /// Per-round throughput ratios, subject ÷ reference.
    fn ratios(&self) -> Vec<f64> {
        self.runs.iter().map(|(r, s)| s.rps / r.rps).collect()
    }

    /// Per-round ratios of requests per CPU-second of the server, subject ÷ reference: what
    /// a request costs the server itself, whatever share of its core the machine's other
    /// tenants left it.
    fn cpu_ratios(&self) -> Vec<f64> {
        self.runs
            .iter()
            .map(|(r, s)| (s.rps / s.server_cpu) / (r.rps / r.server_cpu))
            .collect()
    }
}

/// A peer session mode: its key, `serve` mode, extra arguments (`--flag value`) or environment
/// variables, and the pid of its store's server.
type PeerMode = (
    &'static str,
    &'static str,
    Vec<(String, String)>,
    Option<u32>,
);

/// A row that could not be measured, and why.
struct Missing {
    server: String,
    why: String,
}

#[derive(Debug, Clone)]
struct WrkRun {
    rps: f64,
    p99_ms: f64,
    server_cpu: f64,
    wrk_cpu: f64,
    backing_cpu: Option<f64>,
    socket_errors: String,
}

pub async fn run(setup: &Setup<'_>) -> Result<Comparison> {
    let mut servers: Vec<Server> = Vec::new();
    let mut variants: Vec<Variant> = Vec::new();
    let mut missing: Vec<Missing> = Vec::new();
    let redis_pid = setup.redis.and_then(|(_, pid)| pid);
    let postgres_pid = setup.postgres.and_then(|pg| pg.pid());

    // The peer: bare (the 1.00), then its session stores.
    let bare = start_peer(setup, "bare", &[]).await?;
    let mut peer_modes: Vec<PeerMode> = Vec::new();
    if setup.redis.is_none() {
        peer_modes.push(("peer-mem", "session-mem", vec![], None));
    }
    if let Some((url, _)) = setup.redis {
        peer_modes.push((
            "peer-redis",
            "session-redis",
            vec![("--redis".into(), url.to_owned())],
            redis_pid,
        ));
    }
    if setup.sqlite {
        peer_modes.push(("peer-sqlite", "session-sqlite", vec![], None));
    }
    if let Some(pg) = setup.postgres {
        peer_modes.push((
            "peer-postgres",
            "session-postgres",
            vec![("PEER_DATABASE_URL".into(), pg.url("peer"))],
            postgres_pid,
        ));
    }
    let mut peer_cookie_shape: Option<String> = None;
    for (key, mode, extra, backing) in peer_modes {
        progress(&format!(
            "compare: peer `serve {mode}`, signing in {SESSIONS} sessions"
        ));
        let server = start_peer(setup, mode, &extra).await?;
        let cookies = peer_sessions(&server).await?;
        peer_cookie_shape.get_or_insert_with(|| cookies[0].clone());
        let store = match mode {
            "session-mem" => "tower-sessions `MemoryStore`",
            "session-redis" => "tower-sessions-redis-store",
            "session-sqlite" => "tower-sessions-sqlx-store, SQLite file",
            _ => "tower-sessions-sqlx-store, PostgreSQL",
        };
        variants.push(variant(
            setup,
            key,
            format!("peer `serve {mode}` ({store})"),
            "`GET /protected` signed in (`POST /login` first)".into(),
            &server,
            "/protected",
            &cookies,
            backing,
        )?);
        servers.push(server);
    }
    // The bare handler gets a cookie of the peer's shape too, so that every request carries the
    // same headers; it reads none of them.
    let bare_cookie = peer_cookie_shape.unwrap_or_else(|| "id=AAAAAAAAAAAAAAAAAAAAAA".into());
    variants.insert(
        0,
        variant(
            setup,
            "peer-bare",
            "peer `serve bare` (no middleware)".into(),
            "`GET /protected`".into(),
            &bare,
            "/protected",
            &[bare_cookie],
            None,
        )?,
    );
    servers.push(bare);

    // guichet's portal, one process per store.
    let mut portals: Vec<(&'static str, PortalStore, String, Option<u32>)> = Vec::new();
    if setup.redis.is_none() {
        portals.push((
            "mem",
            PortalStore::Default,
            "default store (SQLite file, `guichet.db`)".into(),
            None,
        ));
    }
    if let Some((url, _)) = setup.redis {
        portals.push((
            "redis",
            PortalStore::Redis {
                url: url.to_owned(),
                cache: false,
                prefix: format!("load{}c", std::process::id()),
            },
            "Redis, one round trip (`GUICHET_REDIS_URL`)".into(),
            redis_pid,
        ));
        portals.push((
            "cache",
            PortalStore::Redis {
                url: url.to_owned(),
                cache: true,
                prefix: format!("load{}k", std::process::id()),
            },
            "Redis + client-side caching (`GUICHET_REDIS_CACHE=1`)".into(),
            redis_pid,
        ));
    }
    let reads_database_url = binary_mentions(setup.portal, b"GUICHET_DATABASE_URL");
    let sql: [(bool, &str, &str, Option<u32>); 2] = [
        (setup.sqlite, "sqlite", "SQLite file", None),
        (
            setup.postgres.is_some(),
            "postgres",
            "PostgreSQL",
            postgres_pid,
        ),
    ];
    for (wanted, tag, name, backing) in sql {
        if !wanted {
            continue;
        }
        if !reads_database_url {
            missing.push(Missing {
                server: format!("guichet portal, {name} (`GUICHET_DATABASE_URL`)"),
                why: "not available: this portal build does not read `GUICHET_DATABASE_URL` (guichet has no SQL store yet)".into(),
            });
            continue;
        }
        let url = if tag == "sqlite" {
            // An empty file is an empty SQLite database.
            let file = setup.dir.join("guichet.sqlite");
            std::fs::write(&file, b"")?;
            format!("sqlite://{}", file.display())
        } else {
            setup
                .postgres
                .map(|pg| pg.url("guichet"))
                .ok_or("no PostgreSQL")?
        };
        portals.push((
            if tag == "sqlite" {
                "sqlite"
            } else {
                "postgres"
            },
            PortalStore::Database(url),
            format!("{name} (`GUICHET_DATABASE_URL`)"),
            backing,
        ));
    }
    for (tag, store, name, backing) in portals {
        progress(&format!(
            "compare: guichet portal, {name}, signing in {SESSIONS} sessions"
        ));
        let portal = start_portal(
            setup.portal,
            setup.dir,
            setup.users,
            &store,
            Some(SERVER_CORE),
            setup.placement,
            &format!("portal-{tag}"),
        )
        .await?;
        let cookies = guichet_sessions(&portal, setup.accounts).await?;
        let server = format!("guichet portal, {name}");
        let (account_key, health_key, guarded_key) = match tag {
            "mem" => (
                "guichet-mem-account",
                Some("guichet-mem-health"),
                Some("guichet-mem-guarded-ok"),
            ),
            "redis" => ("guichet-redis-account", Some("guichet-redis-health"), None),
            "cache" => ("guichet-cache-account", None, None),
            "sqlite" => ("guichet-sqlite-account", None, None),
            _ => ("guichet-postgres-account", None, None),
        };
        variants.push(variant(
            setup,
            account_key,
            server.clone(),
            "`GET /account` signed in (`RequireAuth`, JSON)".into(),
            &portal,
            "/account",
            &cookies,
            backing,
        )?);
        if let Some(key) = health_key {
            variants.push(variant(
                setup,
                key,
                server.clone(),
                "`GET /health` with the cookie (session layer, no guard: \"ok\")".into(),
                &portal,
                "/health",
                &cookies,
                backing,
            )?);
        }
        if let Some(key) = guarded_key {
            // The same trivial handler as /health behind `RequireAuth`, if the portal has it.
            if answers_ok(&portal, GUARDED_OK, &cookies[0]).await {
                variants.push(variant(
                    setup,
                    key,
                    server.clone(),
                    format!(
                        "`GET {GUARDED_OK}` signed in (`RequireAuth` around /health's handler)"
                    ),
                    &portal,
                    GUARDED_OK,
                    &cookies,
                    backing,
                )?);
                // Forward auth: what a reverse proxy's sub-request costs, beside the guard.
                variants.push(variant(
                    setup,
                    "guichet-mem-verify",
                    server.clone(),
                    "`GET /auth/verify` signed in (forward auth: `200` + `Remote-*` headers)"
                        .into(),
                    &portal,
                    VERIFY,
                    &cookies,
                    backing,
                )?);
            } else {
                missing.push(Missing {
                    server: format!("{server}: `GET {GUARDED_OK}`"),
                    why: format!("not available: the portal has no `{GUARDED_OK}` (/health's handler behind `RequireAuth`); the guarded ÷ unguarded target uses `/account` ÷ `/health` instead"),
                });
            }
        }
        servers.push(portal);
    }

    // The pairs: every variant with the bare peer, and guarded with unguarded on one portal.
    let index = |key: &str| variants.iter().position(|v| v.key == key);
    let bare_index = index("peer-bare").expect("the bare peer is always measured");
    let mut pairs: Vec<Pair> = (0..variants.len())
        .filter(|&i| i != bare_index)
        .map(|subject| Pair::new(bare_index, subject))
        .collect();
    for (guarded, unguarded) in [
        ("guichet-mem-guarded-ok", "guichet-mem-health"),
        ("guichet-mem-verify", "guichet-mem-guarded-ok"),
        ("guichet-mem-account", "guichet-mem-health"),
        ("guichet-redis-account", "guichet-redis-health"),
    ] {
        if let (Some(subject), Some(reference)) = (index(guarded), index(unguarded)) {
            pairs.push(Pair::new(reference, subject));
        }
    }

    // Warm-up, then the rounds: each pair's two runs back to back, in turn (A B, then B A
    // in the next round, the pairs' order reversed too).
    let secs = setup.phase_secs;
    progress(&format!(
        "compare: {} variants, warm-up 1 s each, then {} rounds of {} pairs of {secs}-s runs",
        variants.len(),
        setup.rounds,
        pairs.len()
    ));
    for v in &variants {
        wrk_async(setup.placement, v, 1).await?;
    }
    for round in 0..setup.rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..pairs.len()).collect()
        } else {
            (0..pairs.len()).rev().collect()
        };
        for p in order {
            let (first, second) = if round % 2 == 0 {
                (pairs[p].reference, pairs[p].subject)
            } else {
                (pairs[p].subject, pairs[p].reference)
            };
            let one = wrk_async(setup.placement, &variants[first], secs).await?;
            let two = wrk_async(setup.placement, &variants[second], secs).await?;
            variants[first].runs.push(one.clone());
            variants[second].runs.push(two.clone());
            let (reference, subject) = if round % 2 == 0 {
                (one, two)
            } else {
                (two, one)
            };
            pairs[p].runs.push((reference, subject));
        }
    }
    drop(servers);

    Ok(tables(setup, &variants, &pairs, &missing))
}

/// The route the portal would need for the guarded ÷ unguarded target with one handler:
/// `/health`'s handler behind `RequireAuth` (see BENCHMARKS.md).
pub const GUARDED_OK: &str = "/health/signed-in";

/// The forward-auth endpoint of the portal (its flows are under `/auth`).
const VERIFY: &str = "/auth/verify";

/// Starts the peer in `mode`; tried twice, since its Redis pool has been seen to hang once in
/// `wait_for_connect` at start.
async fn start_peer(setup: &Setup<'_>, mode: &str, extra: &[(String, String)]) -> Result<Server> {
    match start_peer_once(setup, mode, extra).await {
        Ok(server) => Ok(server),
        Err(first) => {
            progress(&format!(
                "compare: the peer `serve {mode}` did not start, once more: {first}"
            ));
            start_peer_once(setup, mode, extra).await
        }
    }
}

async fn start_peer_once(
    setup: &Setup<'_>,
    mode: &str,
    extra: &[(String, String)],
) -> Result<Server> {
    let port = procs::free_port()?;
    let mut command = setup.placement.command(SERVER_CORE, setup.peer);
    command
        .args(["serve", mode, "--port", &port.to_string()])
        // The SQLite file goes to our temporary folder, removed at the end.
        .env("TMPDIR", setup.dir);
    for (name, value) in extra {
        if name.starts_with("--") {
            command.arg(name).arg(value);
        } else {
            command.env(name, value);
        }
    }
    Server::start(
        command,
        ([127, 0, 0, 1], port).into(),
        setup.dir.join(format!("peer-{mode}.log")),
        "/protected",
        None,
        // A peer on SQLite or PostgreSQL migrates its table first.
        Duration::from_secs(20),
    )
    .await
}

/// Signs in `SESSIONS` times to the peer (`alice`), checks `GET /protected` with each cookie.
async fn peer_sessions(server: &Server) -> Result<Vec<String>> {
    let mut conn = connect(server.addr, SIGN_IN_SOURCE).await?;
    let mut cookies = Vec::new();
    for _ in 0..SESSIONS {
        let login = Request::post("/login")
            .header(HOST, "127.0.0.1")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(PEER_PASSWORD_FORM.as_bytes())))?;
        let reply = send(&mut conn, login).await?;
        let cookie = match (reply.status, reply.cookie("id")) {
            (StatusCode::OK, Some(cookie)) => cookie,
            (status, _) => return Err(format!("peer sign-in answered {status}").into()),
        };
        let check = send(&mut conn, get_with(&cookie, "/protected")).await?;
        if check.status != StatusCode::OK {
            return Err(format!("peer GET /protected signed in answered {}", check.status).into());
        }
        cookies.push(cookie.to_str()?.to_owned());
    }
    Ok(cookies)
}

/// Signs the first `SESSIONS` accounts in to the portal; checks `GET /account` with each.
async fn guichet_sessions(portal: &Server, accounts: &[Arc<Account>]) -> Result<Vec<String>> {
    let mut conn = connect(portal.addr, SIGN_IN_SOURCE).await?;
    let mut cookies = Vec::new();
    for account in accounts.iter().take(SESSIONS) {
        let reply = send(&mut conn, sign_in(&account.code, &account.password)).await?;
        let cookie = match (reply.status, reply.cookie("guichet")) {
            (StatusCode::OK, Some(cookie)) => cookie,
            (status, _) => {
                return Err(format!("signing {} in answered {status}", account.code).into())
            }
        };
        let check = send(&mut conn, get_with(&cookie, "/account")).await?;
        if check.status != StatusCode::OK {
            return Err(format!("GET /account signed in answered {}", check.status).into());
        }
        cookies.push(cookie.to_str()?.to_owned());
    }
    if cookies.len() < SESSIONS {
        return Err("not enough accounts to sign in".into());
    }
    Ok(cookies)
}

async fn answers_ok(server: &Server, path: &'static str, cookie: &str) -> bool {
    let Ok(cookie) = HeaderValue::from_str(cookie) else {
        return false;
    };
    match connect(server.addr, SIGN_IN_SOURCE).await {
        Ok(mut conn) => send(&mut conn, get_with(&cookie, path))
            .await
            .is_ok_and(|reply| reply.status == StatusCode::OK),
        Err(_) => false,
    }
}

fn get_with(cookie: &HeaderValue, path: &'static str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header(HOST, "127.0.0.1")
        .header(ACCEPT, "application/json")
        .header(COOKIE, cookie.clone())
        .body(Full::default())
        .expect("a valid request")
}

/// Whether a binary holds `needle` (an environment variable it reads, say).
fn binary_mentions(binary: &Path, needle: &[u8]) -> bool {
    std::fs::read(binary).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

#[allow(clippy::too_many_arguments)]
fn variant(
    setup: &Setup<'_>,
    key: &'static str,
    server_name: String,
    request: String,
    server: &Server,
    path: &str,
    cookies: &[String],
    backing: Option<u32>,
) -> Result<Variant> {
    // Every request of a run is one of `cookies`, in turn; requests are formatted once.
    let quoted: Vec<String> = cookies
        .iter()
        .map(|c| format!("\"{}\"", c.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    let lua = setup.dir.join(format!("{key}.lua"));
    std::fs::write(
        &lua,
        format!(
            "-- generated by tools/load: {key}\n\
             local cookies = {{{}}}\n\
             local requests = {{}}\n\
             local i = 0\n\
             function init(args)\n\
             \x20 for k, c in ipairs(cookies) do\n\
             \x20   requests[k] = wrk.format(\"GET\", \"{path}\", {{[\"Cookie\"] = c, [\"Accept\"] = \"application/json\"}})\n\
             \x20 end\n\
             end\n\
             function request()\n\
             \x20 i = i % #requests + 1\n\
             \x20 return requests[i]\n\
             end\n",
            quoted.join(", ")
        ),
    )?;
    Ok(Variant {
        key,
        server: server_name,
        request,
        url: format!("http://{}{path}", server.addr),
        lua,
        pid: server.pid(),
        backing,
        runs: Vec::new(),
    })
}

async fn wrk_async(placement: Placement, v: &Variant, secs: u64) -> Result<WrkRun> {
    let (url, lua, pid, backing) = (v.url.clone(), v.lua.clone(), v.pid, v.backing);
    let key = v.key;
    tokio::task::spawn_blocking(move || wrk(placement, &url, &lua, secs, pid, backing))
        .await?
        .map_err(|e| format!("wrk on {key}: {e}").into())
}

/// One `wrk -t1 -c32 -d{secs}s` run, on [`CLIENT_CORE`] when pinning. Fails on any non-2xx
/// answer (a refused cookie would make a fast 401 look like throughput), connect error or
/// timeout.
fn wrk(
    placement: Placement,
    url: &str,
    lua: &Path,
    secs: u64,
    server_pid: u32,
    backing: Option<u32>,
) -> Result<WrkRun> {
    let mut command = placement.command(CLIENT_CORE, "wrk");
    command
        .args(["-t1", &format!("-c{CONNECTIONS}"), &format!("-d{secs}s")])
        .args(["--latency", "--timeout", "10s", "-s"])
        .arg(lua)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let server_before = cpu_seconds(server_pid).ok_or("cannot read the server's CPU time")?;
    let backing_before = backing.and_then(cpu_seconds_with_children);
    let start = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting wrk (is it installed?): {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out)?;
    }
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut err)?;
    }
    // Reaped here, with its resource usage: wrk's own CPU time.
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 writes into both out-parameters.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet reaped (std never waited for it).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    let server_cpu = (cpu_seconds(server_pid).unwrap_or(server_before) - server_before) / wall;
    let backing_cpu = match (backing, backing_before) {
        (Some(pid), Some(before)) => {
            cpu_seconds_with_children(pid).map(|after| (after - before) / wall)
        }
        _ => None,
    };
    if reaped != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("wrk failed (status {status}): {err}{out}").into());
    }
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    let wrk_cpu = (seconds(usage.ru_utime) + seconds(usage.ru_stime)) / wall;

    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output:\n{out}{err}"))?;
    let p99_ms = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(|v| duration_ms(v.trim()))
        .unwrap_or(f64::NAN);
    if let Some(non_2xx) = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
    {
        return Err(format!("{} non-2xx answers from {url}:\n{out}", non_2xx.trim()).into());
    }
    let socket_errors = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if !socket_errors.is_empty()
        && (!socket_errors.contains("connect 0") || !socket_errors.contains("timeout 0"))
    {
        return Err(format!("wrk socket errors on {url}: {socket_errors}").into());
    }
    Ok(WrkRun {
        rps,
        p99_ms,
        server_cpu,
        wrk_cpu,
        backing_cpu,
        socket_errors,
    })
}

/// wrk's "470.00us", "1.02ms", "1.00s", "2.00m" in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

fn percent(value: f64) -> String {
    format!("{:.0} %", value * 100.0)
}

fn tables(
    setup: &Setup<'_>,
    variants: &[Variant],
    pairs: &[Pair],
    missing: &[Missing],
) -> Comparison {
    let key_of = |i: usize| variants[i].key;
    let pair = |subject: &str, reference: &str| {
        pairs
            .iter()
            .find(|p| key_of(p.subject) == subject && key_of(p.reference) == reference)
    };
    let bare_key = "peer-bare";
    let mut md = String::new();
    let mut placement = if setup.placement.pinned {
        format!(
            "servers on {} one at a time under load (the others idle), `wrk` on {}, Redis/PostgreSQL started here on {}",
            setup.placement.describe(SERVER_CORE),
            setup.placement.describe(CLIENT_CORE),
            setup.placement.describe(CLIENT_CORE),
        )
    } else {
        "unpinned (fewer than 2 cores, or no `taskset`)".into()
    };
    if let Some((url, None)) = setup.redis {
        let _ = write!(
            placement,
            "; Redis at {url} was not started here and is not pinned"
        );
    }
    let _ = writeln!(
        md,
        "### Throughput side by side: each ÷ the peer's bare handler (1.00)\n\n\
         `wrk -t1 -c{CONNECTIONS} -d{}s --latency` per run; {} rounds, each running {} pairs (every variant with the bare peer, and guarded with unguarded) back to back, \
         the order within pairs and of the pairs reversed every other round (ABBA); a ratio is the median over rounds of the pair's ratio. \
         Signed-in runs rotate over {SESSIONS} sessions; every request carries `Cookie` and `Accept: application/json`. \
         Placement: {placement}.\n",
        setup.phase_secs,
        setup.rounds,
        pairs.len(),
    );
    let _ = writeln!(
        md,
        "| server | request | ÷ peer bare (median of per-round ratios; per round) | per server CPU-second ÷ peer bare | req/s (median) | p99 (median) | CPU: server / wrk / store |"
    );
    let _ = writeln!(md, "| --- | --- | --- | --- | ---: | ---: | --- |");
    for v in variants {
        let (ratio, cpu) = if v.key == bare_key {
            ("**1.00**".to_owned(), "1.00".to_owned())
        } else {
            match pair(v.key, bare_key) {
                Some(p) => (
                    format!("**{:.2}** ({})", median(&p.ratios()), list(&p.ratios(), 2)),
                    format!("{:.2}", median(&p.cpu_ratios())),
                ),
                None => ("—".into(), "—".into()),
            }
        };
        let rps: Vec<f64> = v.runs.iter().map(|x| x.rps).collect();
        let p99: Vec<f64> = v.runs.iter().map(|x| x.p99_ms).collect();
        let server_cpu: Vec<f64> = v.runs.iter().map(|x| x.server_cpu).collect();
        let wrk_cpu: Vec<f64> = v.runs.iter().map(|x| x.wrk_cpu).collect();
        let backing: Vec<f64> = v.runs.iter().filter_map(|x| x.backing_cpu).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {ratio} | {cpu} | {:.0} | {:.2} ms | {} / {} / {} |",
            v.server,
            v.request,
            median(&rps),
            median(&p99),
            percent(median(&server_cpu)),
            percent(median(&wrk_cpu)),
            if backing.is_empty() {
                "—".into()
            } else {
                percent(median(&backing))
            },
        );
    }
    for m in missing {
        let _ = writeln!(md, "| {} | — | {} | — | — | — | — |", m.server, m.why);
    }
    let errors: Vec<&str> = variants
        .iter()
        .flat_map(|v| v.runs.iter().map(|r| r.socket_errors.as_str()))
        .filter(|s| !s.is_empty())
        .collect();
    let _ = writeln!(
        md,
        "\nPer server CPU-second: (req/s ÷ the server's CPU share) ÷ the same for the bare peer, median over rounds; \
         it tells what a request costs the server itself when other tenants of the machine take part of its core (context: the targets are throughput ratios). \
         CPU: share of one core during the runs, median (server: all its threads, from `/proc`; wrk: its rusage; store: the Redis server, or the PostgreSQL postmaster and its backends); \
         when neither the server nor wrk is near 100 %, other processes had part of the cores. \
         Every answer was 2xx (a non-2xx answer fails the run){}.\n",
        if errors.is_empty() {
            String::new()
        } else {
            format!("; wrk socket errors: {}", errors.join("; "))
        }
    );

    // The targets that this run measures.
    let _ = writeln!(
        md,
        "### Targets measured in this run (HTTP, side by side)\n\n\
         | target | how | ratio (per round) | per server CPU-second | target | verdict |\n| --- | --- | --- | --- | --- | --- |"
    );
    let mut row = |name: &str, how: &str, r: &[f64], cpu: &[f64], target: Option<f64>| {
        let pass = target.map(|t| median(r) >= t);
        let _ = writeln!(
            md,
            "| {name} | {how} | **{:.2}** ({}) | {:.2} | {} | {} |",
            median(r),
            list(r, 2),
            median(cpu),
            target.map_or("context".into(), |t| format!("≥ {t}")),
            pass.map_or("—", verdict)
        );
    };
    let guarded_pair = pair("guichet-mem-guarded-ok", "guichet-mem-health")
        .or_else(|| pair("guichet-mem-account", "guichet-mem-health"));
    if let Some(p) = guarded_pair {
        let how = if key_of(p.subject) == "guichet-mem-guarded-ok" {
            format!("`GET {GUARDED_OK}` ÷ `GET /health`, same handler, same portal, back to back")
        } else {
            format!("`GET /account` (JSON handler) ÷ `GET /health` (\"ok\"), same portal, back to back: the portal has no `{GUARDED_OK}`, so the handlers differ and this understates")
        };
        row(
            "guarded ÷ unguarded, default store (SQLite)",
            &how,
            &p.ratios(),
            &p.cpu_ratios(),
            Some(0.95),
        );
    }
    if let Some(p) = pair("guichet-mem-verify", "guichet-mem-guarded-ok") {
        row(
            "forward auth ÷ guarded route, default store (SQLite)",
            &format!("`GET {VERIFY}` ÷ `GET {GUARDED_OK}`, same portal, back to back"),
            &p.ratios(),
            &p.cpu_ratios(),
            None,
        );
    }
    if let Some(p) = pair("guichet-redis-account", "guichet-redis-health") {
        row(
            "guarded ÷ unguarded, Redis",
            "`GET /account` ÷ `GET /health`, same portal, back to back",
            &p.ratios(),
            &p.cpu_ratios(),
            None,
        );
    }
    if let Some(p) = pair("guichet-redis-account", bare_key) {
        row(
            "Redis, one round trip ÷ bare",
            "guichet `GET /account` on Redis ÷ peer `serve bare`",
            &p.ratios(),
            &p.cpu_ratios(),
            Some(0.5),
        );
    }
    if let Some(p) = pair("guichet-cache-account", bare_key) {
        row(
            "Redis with client-side caching ÷ bare",
            "guichet `GET /account` on Redis, `GUICHET_REDIS_CACHE=1` ÷ peer `serve bare`",
            &p.ratios(),
            &p.cpu_ratios(),
            Some(0.85),
        );
    }
    for (ours, theirs, name) in [
        (
            "guichet-mem-account",
            "peer-mem",
            "guichet on SQLite (its default), the peer on memory",
        ),
        ("guichet-redis-account", "peer-redis", "Redis"),
        ("guichet-sqlite-account", "peer-sqlite", "SQLite"),
        ("guichet-postgres-account", "peer-postgres", "PostgreSQL"),
    ] {
        if let (Some(a), Some(b)) = (pair(ours, bare_key), pair(theirs, bare_key)) {
            // Each measured against the bare peer in the same round: the ratio of the two.
            let of = |x: Vec<f64>, y: Vec<f64>| -> Vec<f64> {
                x.iter().zip(&y).map(|(x, y)| x / y).collect()
            };
            row(
                &format!("guichet ÷ peer, signed in, {name}"),
                "(guichet `GET /account` ÷ bare) ÷ (peer `GET /protected` ÷ bare), per round",
                &of(a.ratios(), b.ratios()),
                &of(a.cpu_ratios(), b.cpu_ratios()),
                Some(1.0),
            );
        }
    }
    let _ = writeln!(
        md,
        "| public route through the session layer ÷ without it | `cargo bench --bench session` (side-by-side summary) | see the bench | — | ≥ 0.98 | — |\n\
         | allocations per authenticated request, memory store | `cargo bench --bench session` (counting allocator) | see the bench | — | ≤ 3 | — |\n"
    );

    let peer_session = ["peer-mem", "peer-redis"].iter().find_map(|key| {
        pair(key, bare_key).map(|p| (variants[p.subject].server.clone(), median(&p.ratios())))
    });
    Comparison {
        markdown: md,
        peer_session,
    }
}
