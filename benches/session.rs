//! What an authenticated request costs: session layer + [`RequireAuth`] with the memory store,
//! against the same trivial handler with no guichet layer at all.
//!
//! ```sh
//! cargo bench --bench session
//! ```
//!
//! * group `in_process`: `tower::ServiceExt::oneshot` of `GET /account` (with the session
//!   cookie) through the layers, against the bare router;
//! * group `http`: a real server on `127.0.0.1:0` and one keep-alive hyper HTTP/1.1 client
//!   connection, `GET /account` (guarded) against `GET /bare` (no guichet layer), same server,
//!   same cookie and headers. This is the ratio behind the "guarded ≥ 0.95 × bare" target.
//!   The server also has `GET /public`: the same handler inside the session layer without a
//!   guard (the "public route through the session layer ≥ 0.98 × without it" target), and
//!   `GET /handler`: the handler guarded the lean way (`get(ok.layer(RequireAuth::new()))`,
//!   axum's `Handler::layer`), measured against `/public` (guarded ÷ unguarded, same layers).
//!
//! Client and server share one current-thread tokio runtime (see [`runtime`]).
//!
//! The machine this runs on is shared and noisy, so after criterion's own (sequential) figures
//! the bench prints a table measured side by side: rounds that alternate guarded and bare
//! batches (ABBA order), reporting the median of the per-round ratios. Those ratios are the
//! figures to quote; criterion's absolute timings are context.
//!
//! The bench also counts **allocations per authenticated request**: a global allocator counts
//! the calls to `alloc`, `alloc_zeroed` and `realloc` during N in-process `oneshot` calls of the
//! guarded route, minus the same for the bare router, divided by N (target: at most 3), for
//! three compositions: the guard on the route (`get(ok).layer(guard)`) inside `Router::layer`,
//! the guard on the handler (`get(ok.layer(guard))`), and the guard on the handler with the
//! session layer wrapped around the finished router (`session_layer().layer(router)`). Beside
//! them, the same routes with no-op layers tell axum's own layering (each `layer` boxes the
//! route and its future) from guichet's allocations. `GUICHET_BENCH_TRACE_ALLOCS=guarded cargo bench
//! --bench session` prints where each allocation of one request comes from instead of
//! benchmarking (see [`trace_allocations`]).
//!
//! Under `cargo test --benches` criterion runs each routine once and the side-by-side table is
//! reduced to a smoke run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::handler::Handler;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use criterion::{Criterion, Throughput};
use guichet::config::Config;
use guichet::limit::PeerAddr;
use guichet::mail::Outbox;
use guichet::password::Hasher;
use guichet::session::SessionService;
use guichet::store::memory::{AccountsFile, MemoryStore};
use guichet::{Guichet, RequireAuth};
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::runtime::Runtime;
use tower::layer::util::Identity as NoopLayer;
use tower::{Layer, ServiceExt};

// ---------------------------------------------------------------------------------------------
// Allocation counting.

/// The system allocator, counting allocator calls (and the bytes they ask for) while
/// [`COUNTING`] is set.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

fn count(size: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
    if TRACING.load(Ordering::Relaxed) {
        trace(size);
    }
}

/// Set while [`trace_allocations`] runs its one request: every allocation prints where it
/// came from.
static TRACING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while an allocation is being traced: the tracing's own allocations are not.
    static IN_TRACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Prints an allocation's size and the first frames of its backtrace outside the standard
/// library (`--` between frames, callee first).
fn trace(size: usize) {
    let _ = IN_TRACE.try_with(|busy| {
        if busy.replace(true) {
            return;
        }
        let backtrace = std::backtrace::Backtrace::force_capture().to_string();
        let frames: Vec<&str> = backtrace
            .lines()
            .filter_map(|line| line.trim_start().split_once(": ").map(|(_, f)| f))
            .filter(|f| {
                ![
                    "std::",
                    "core::",
                    "alloc::",
                    "<std::",
                    "<core::",
                    "<alloc::",
                    "__rust",
                    "__rdl",
                    "session::count",
                    "session::trace",
                    "<session::Counting",
                    "hashbrown::",
                    "<hashbrown::",
                ]
                .iter()
                .any(|prefix| f.starts_with(prefix))
            })
            .take(4)
            .collect();
        eprintln!("{size:>6} B  {}", frames.join("  --  "));
        busy.set(false);
    });
}

// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged; the
// counters are only bookkeeping (and never allocate).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocator calls and bytes asked for, per request, over `n` in-process requests to `service`
/// (after a warm-up). Everything runs on this thread (current-thread runtime); tasks the
/// requests spawned get a few turns before counting stops, so deferred work counts too.
async fn allocations_per_request(service: &impl App, cookie: &HeaderValue, n: u32) -> (f64, f64) {
    for _ in 0..100 {
        in_process(service, cookie).await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let (calls, bytes) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        ALLOCATED_BYTES.load(Ordering::SeqCst),
    );
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..n {
        in_process(service, cookie).await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    COUNTING.store(false, Ordering::SeqCst);
    let calls = ALLOCATIONS.load(Ordering::SeqCst) - calls;
    let bytes = ALLOCATED_BYTES.load(Ordering::SeqCst) - bytes;
    (calls as f64 / f64::from(n), bytes as f64 / f64::from(n))
}

// ---------------------------------------------------------------------------------------------
// The fixture.

const CODE: &str = "BENCH-001";
const PASSWORD: &str = "Bench-password-2026";

async fn ok() -> &'static str {
    "ok"
}

/// The two in-process services, and the cookie of a signed-in session.
struct Fixture {
    guarded: Router,
    /// The session layer around an unguarded `/account`: what the layer alone costs.
    layered: Router,
    bare: Router,
    /// `guarded`'s and `layered`'s shapes with no-op layers (`tower::layer::util::Identity`)
    /// instead of guichet's: what axum's own layering costs (`Router::layer` and
    /// `MethodRouter::layer` box the route and its future), for the allocation count.
    noop_guarded: Router,
    noop_layered: Router,
    /// The guard on the handler (`get(ok.layer(RequireAuth::new()))`, axum's `Handler::layer`)
    /// instead of on the route (`get(ok).layer(..)`): no second boxed route level.
    handler_guarded: Router,
    /// `handler_guarded`'s route with the session layer wrapped around the finished router
    /// (`session_layer().layer(router)`) instead of `Router::layer`: no axum layering at all.
    wrapped: SessionService<Router>,
    cookie: HeaderValue,
}

/// A desk with one light-hash account (64 KiB, 1 pass: the bench is not about argon2), signed
/// in once through the real flow.
async fn fixture() -> Fixture {
    let mut config = Config::default();
    config.cookies.secure = false;
    config.passwords.memory_kib = 64;
    config.passwords.iterations = 1;
    config.mail.from = "Bench <bench@bench.example>".into();
    config.mail.customer_service_phone = "1 800 555-0100".into();
    config.mail.customer_service_hours = "8-17".into();
    let hasher = Hasher::new(&config.passwords).expect("valid parameters");
    let hash = hasher
        .hash(&hasher.password(PASSWORD).expect("a valid password"))
        .await
        .expect("hashing works");
    let accounts = format!(
        r#"
[[client]]
id = "bench"
name = "Bench Inc."
contact = "{CODE}"
services = ["collection"]

[[account]]
code = "{CODE}"
name = "Bench User"
email = "bench@bench.example"
client = "bench"
services = ["collection"]
password_hash = "{hash}"
"#
    );
    let case = config.user_codes.case;
    let guichet = Guichet::builder()
        .base_url("http://127.0.0.1")
        .config(config)
        .store(MemoryStore::new())
        .directory(AccountsFile::from_toml(&accounts, case).expect("valid accounts"))
        .mailer(Outbox::new(std::env::temp_dir().join("guichet-bench-outbox")).expect("an outbox"))
        .build()
        .expect("valid configuration");

    // `with_state(())` turns every handler into a route once, as `axum::serve` does: a
    // `Router` called without it (`oneshot` here) converts and boxes its handlers again on
    // every request, allocations a served app never pays.
    let guarded = Router::new()
        .route("/account", get(ok).layer(RequireAuth::new()))
        .route("/handler", get(ok.layer(RequireAuth::new())))
        .route("/public", get(ok))
        .nest_service(guichet.prefix(), guichet.flows())
        .layer(guichet.session_layer())
        .with_state(());
    let layered = Router::new()
        .route("/account", get(ok))
        .layer(guichet.session_layer())
        .with_state(());
    let bare = Router::new().route("/account", get(ok)).with_state(());
    let noop_guarded = Router::new()
        .route("/account", get(ok).layer(NoopLayer::new()))
        .layer(NoopLayer::new())
        .with_state(());
    let noop_layered = Router::new()
        .route("/account", get(ok))
        .layer(NoopLayer::new())
        .with_state(());
    let handler_guarded = Router::new()
        .route("/account", get(ok.layer(RequireAuth::new())))
        .nest_service(guichet.prefix(), guichet.flows())
        .layer(guichet.session_layer())
        .with_state(());
    let wrapped = guichet.session_layer().layer(
        Router::new()
            .route("/account", get(ok.layer(RequireAuth::new())))
            .with_state(()),
    );

    let login = Request::post(format!("{}/login", guichet.prefix()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .extension(PeerAddr(SocketAddr::from(([127, 0, 0, 1], 40_000))))
        .body(axum::body::Body::from(format!(
            "user_code={CODE}&password={PASSWORD}"
        )))
        .expect("a valid request");
    let response = guarded.clone().oneshot(login).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK, "the sign-in succeeds");
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("the sign-in sets the session cookie");
    let pair = set_cookie.split(';').next().unwrap_or_default().trim();
    assert!(pair.starts_with("guichet="), "{set_cookie}");
    let cookie = HeaderValue::from_str(pair).expect("a cookie is a valid header value");

    let fixture = Fixture {
        guarded,
        layered,
        bare,
        noop_guarded,
        noop_layered,
        handler_guarded,
        wrapped,
        cookie,
    };
    // Both answer "ok" to the same request, so they do the same work apart from guichet's.
    assert_eq!(in_process(&fixture.guarded, &fixture.cookie).await, 2);
    assert_eq!(in_process(&fixture.layered, &fixture.cookie).await, 2);
    assert_eq!(in_process(&fixture.bare, &fixture.cookie).await, 2);
    assert_eq!(
        in_process(&fixture.handler_guarded, &fixture.cookie).await,
        2
    );
    assert_eq!(in_process(&fixture.wrapped, &fixture.cookie).await, 2);
    fixture
}

/// What the in-process figures call: an axum `Router`, or a router wrapped from outside.
trait App:
    tower::Service<
        Request<axum::body::Body>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
{
}

impl<S> App for S where
    S: tower::Service<
            Request<axum::body::Body>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
{
}

/// One `GET /account` through `service`; the body is read to the end. Returns its length.
async fn in_process(service: &impl App, cookie: &HeaderValue) -> usize {
    let request = Request::get("/account")
        .header(COOKIE, cookie.clone())
        .body(axum::body::Body::empty())
        .expect("a valid request");
    let response = service.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    response
        .into_body()
        .collect()
        .await
        .expect("a readable body")
        .to_bytes()
        .len()
}

/// A server on `127.0.0.1:0` serving `/account` (guarded, inside the session layer), `/handler`
/// (the same with the guard on the handler), `/public`
/// (inside the session layer, no guard), the flows, and `/bare` (added after the layer: no
/// guichet code runs for it).
async fn serve(fixture: &Fixture) -> SocketAddr {
    let app = fixture.guarded.clone().route("/bare", get(ok));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("the server runs");
    });
    addr
}

type Client = SendRequest<Empty<Bytes>>;

/// One keep-alive HTTP/1.1 connection.
async fn connect(addr: SocketAddr) -> Client {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the server accepts");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
}

/// One `GET path` over `client`, with the session cookie; the body is read to the end.
async fn over_http(client: &mut Client, path: &'static str, cookie: &HeaderValue) -> usize {
    client.ready().await.expect("the connection is alive");
    let request = Request::get(path)
        .header(HOST, "127.0.0.1")
        .header(COOKIE, cookie.clone())
        .body(Empty::new())
        .expect("a valid request");
    let response = client.send_request(request).await.expect("a response");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response
        .into_body()
        .collect()
        .await
        .expect("a readable body")
        .to_bytes()
        .len()
}

/// One thread for client, server and handler: on a small virtual machine, a request that
/// hops between threads pays wake-up latencies (futex, inter-processor interrupt) that vary
/// from run to run by more than guichet's whole cost. On one thread every microsecond measured
/// is work done (client + kernel loopback + server), so the ratio is stable. The load
/// generator (`scripts/load.sh`) measures the multi-threaded, many-connection case.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn bench_in_process(c: &mut Criterion, rt: &Runtime, fixture: &Fixture) {
    let mut group = c.benchmark_group("in_process");
    group.throughput(Throughput::Elements(1));
    for (name, service) in [("guarded", &fixture.guarded), ("bare", &fixture.bare)] {
        group.bench_function(name, |b| {
            b.to_async(rt).iter(|| in_process(service, &fixture.cookie))
        });
    }
    group.finish();
}

fn bench_http(c: &mut Criterion, rt: &Runtime, fixture: &Fixture, addr: SocketAddr) {
    let client = Arc::new(tokio::sync::Mutex::new(rt.block_on(connect(addr))));
    let mut group = c.benchmark_group("http");
    group.throughput(Throughput::Elements(1));
    for (name, path) in [("guarded", "/account"), ("bare", "/bare")] {
        group.bench_function(name, |b| {
            b.to_async(rt).iter_custom(|iters| {
                let client = Arc::clone(&client);
                let cookie = fixture.cookie.clone();
                async move {
                    let mut client = client.lock().await;
                    let start = Instant::now();
                    for _ in 0..iters {
                        over_http(&mut client, path, &cookie).await;
                    }
                    start.elapsed()
                }
            })
        });
    }
    group.finish();
}

/// One request of a side-by-side comparison.
trait Probe {
    async fn one(&mut self) -> usize;
}

struct InProcess<'a, S> {
    service: &'a S,
    cookie: &'a HeaderValue,
}

impl<S: App> Probe for InProcess<'_, S> {
    async fn one(&mut self) -> usize {
        in_process(self.service, self.cookie).await
    }
}

struct Http<'a> {
    client: Client,
    path: &'static str,
    cookie: &'a HeaderValue,
}

impl Probe for Http<'_> {
    async fn one(&mut self) -> usize {
        over_http(&mut self.client, self.path, self.cookie).await
    }
}

/// Nanoseconds per request of `batch` sequential requests.
async fn batch_ns(batch: u32, probe: &mut impl Probe) -> f64 {
    let start = Instant::now();
    for _ in 0..batch {
        probe.one().await;
    }
    start.elapsed().as_nanos() as f64 / f64::from(batch)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Side by side: `rounds` rounds of (guarded batch, bare batch), ABBA order.
struct SideBySide {
    guarded_ns: f64,
    bare_ns: f64,
    /// Median over rounds of guarded throughput ÷ bare throughput (= bare time ÷ guarded time).
    ratio: f64,
    /// Median over rounds of guarded time − bare time, per request.
    overhead_ns: f64,
    ratio_min: f64,
    ratio_max: f64,
}

async fn side_by_side(
    rounds: u32,
    batch: u32,
    guarded: &mut impl Probe,
    bare: &mut impl Probe,
) -> SideBySide {
    // Warm both paths up first.
    batch_ns(batch / 4 + 1, guarded).await;
    batch_ns(batch / 4 + 1, bare).await;
    let (mut g, mut b, mut ratios, mut overheads) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let (gn, bn) = if round % 2 == 0 {
            let gn = batch_ns(batch, guarded).await;
            (gn, batch_ns(batch, bare).await)
        } else {
            let bn = batch_ns(batch, bare).await;
            (batch_ns(batch, guarded).await, bn)
        };
        g.push(gn);
        b.push(bn);
        ratios.push(bn / gn);
        overheads.push(gn - bn);
    }
    let ratio_min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let ratio_max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    SideBySide {
        guarded_ns: median(&mut g),
        bare_ns: median(&mut b),
        ratio: median(&mut ratios),
        overhead_ns: median(&mut overheads),
        ratio_min,
        ratio_max,
    }
}

fn summary(rt: &Runtime, fixture: &Fixture, addr: SocketAddr, full: bool) {
    let (rounds, in_batch, http_batch, counted) = if full {
        (15, 20_000, 3_000, 10_000)
    } else {
        (2, 20, 20, 100)
    };
    let bare = || InProcess {
        service: &fixture.bare,
        cookie: &fixture.cookie,
    };
    let in_proc = rt.block_on(side_by_side(
        rounds,
        in_batch,
        &mut InProcess {
            service: &fixture.guarded,
            cookie: &fixture.cookie,
        },
        &mut bare(),
    ));
    let layer_only = rt.block_on(side_by_side(
        rounds,
        in_batch,
        &mut InProcess {
            service: &fixture.layered,
            cookie: &fixture.cookie,
        },
        &mut bare(),
    ));
    let pair = |with: &'static str, without: &'static str| {
        rt.block_on(async {
            let mut with = Http {
                client: connect(addr).await,
                path: with,
                cookie: &fixture.cookie,
            };
            let mut without = Http {
                client: connect(addr).await,
                path: without,
                cookie: &fixture.cookie,
            };
            side_by_side(rounds, http_batch, &mut with, &mut without).await
        })
    };
    let http = pair("/account", "/bare");
    let http_layer_only = pair("/public", "/bare");
    let http_handler = pair("/handler", "/public");
    let in_proc_wrapped = rt.block_on(side_by_side(
        rounds,
        in_batch,
        &mut InProcess {
            service: &fixture.wrapped,
            cookie: &fixture.cookie,
        },
        &mut bare(),
    ));
    let (guarded_allocs, guarded_bytes) = rt.block_on(allocations_per_request(
        &fixture.guarded,
        &fixture.cookie,
        counted,
    ));
    let (layered_allocs, layered_bytes) = rt.block_on(allocations_per_request(
        &fixture.layered,
        &fixture.cookie,
        counted,
    ));
    let (bare_allocs, bare_bytes) = rt.block_on(allocations_per_request(
        &fixture.bare,
        &fixture.cookie,
        counted,
    ));
    let (noop_guarded_allocs, noop_guarded_bytes) = rt.block_on(allocations_per_request(
        &fixture.noop_guarded,
        &fixture.cookie,
        counted,
    ));
    let (noop_layered_allocs, noop_layered_bytes) = rt.block_on(allocations_per_request(
        &fixture.noop_layered,
        &fixture.cookie,
        counted,
    ));
    let (handler_allocs, handler_bytes) = rt.block_on(allocations_per_request(
        &fixture.handler_guarded,
        &fixture.cookie,
        counted,
    ));
    let (wrapped_allocs, wrapped_bytes) = rt.block_on(allocations_per_request(
        &fixture.wrapped,
        &fixture.cookie,
        counted,
    ));
    let per_authenticated = guarded_allocs - bare_allocs;

    let verdict = |pass: bool| if pass { "PASS" } else { "MISS" };
    println!();
    println!(
        "## guichet session bench — side by side ({rounds} interleaved rounds, ABBA; medians)"
    );
    println!();
    println!("| group | with guichet ns/req | bare ns/req | overhead ns/req | with guichet ÷ bare throughput (min–max) | target | verdict |");
    println!("| --- | ---: | ---: | ---: | --- | --- | --- |");
    for (name, r, target) in [
        ("in_process (oneshot): layer + guard", &in_proc, None),
        (
            "in_process (oneshot): layer only, no guard",
            &layer_only,
            None,
        ),
        (
            "in_process (oneshot): guard on the handler, session layer wrapped around the router",
            &in_proc_wrapped,
            None,
        ),
        (
            "http (keep-alive, 1 conn): guarded `/account` ÷ `/bare`",
            &http,
            Some(0.95),
        ),
        (
            "http (keep-alive, 1 conn): the same handler guarded ÷ unguarded, both in the session layer (guard on the handler), `/handler` ÷ `/public`",
            &http_handler,
            Some(0.95),
        ),
        (
            "http (keep-alive, 1 conn): public route through the session layer, `/public` ÷ `/bare`",
            &http_layer_only,
            Some(0.98),
        ),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.3} ({:.3}–{:.3}) | {} | {} |",
            r.guarded_ns,
            r.bare_ns,
            r.overhead_ns,
            r.ratio,
            r.ratio_min,
            r.ratio_max,
            target.map_or("context".into(), |t| format!("≥ {t:.2}")),
            target.map_or("—", |t| verdict(r.ratio >= t)),
        );
    }
    println!();
    println!(
        "| allocations per request (in process, `oneshot`, {counted} requests each; calls to alloc + alloc_zeroed + realloc) | allocations | bytes asked for | target | verdict |"
    );
    println!("| --- | ---: | ---: | --- | --- |");
    println!(
        "| **authenticated request, memory store: guarded − bare** | **{per_authenticated:.2}** | {:.0} | ≤ 3 | {} |",
        guarded_bytes - bare_bytes,
        verdict(per_authenticated <= 3.0)
    );
    println!(
        "| authenticated request, guard on the handler (`get(ok.layer(RequireAuth::new()))`): − bare | {:.2} | {:.0} | ≤ 3 | {} |",
        handler_allocs - bare_allocs,
        handler_bytes - bare_bytes,
        verdict(handler_allocs - bare_allocs <= 3.0)
    );
    println!(
        "| the same, session layer wrapped around the router (`session_layer().layer(router)`): − bare | {:.2} | {:.0} | ≤ 3 | {} |",
        wrapped_allocs - bare_allocs,
        wrapped_bytes - bare_bytes,
        verdict(wrapped_allocs - bare_allocs <= 3.0)
    );
    println!(
        "| public request through the session layer: layered − bare | {:.2} | {:.0} | context | — |",
        layered_allocs - bare_allocs,
        layered_bytes - bare_bytes
    );
    println!(
        "| guichet's own, authenticated: guarded − the same routes with no-op layers (axum's boxing left out) | {:.2} | {:.0} | context | — |",
        guarded_allocs - noop_guarded_allocs,
        guarded_bytes - noop_guarded_bytes
    );
    println!(
        "| guichet's own, session layer: layered − the same route with a no-op layer | {:.2} | {:.0} | context | — |",
        layered_allocs - noop_layered_allocs,
        layered_bytes - noop_layered_bytes
    );
    println!(
        "| guarded router (absolute) | {guarded_allocs:.2} | {guarded_bytes:.0} | context | — |"
    );
    println!("| session layer, no guard (absolute) | {layered_allocs:.2} | {layered_bytes:.0} | context | — |");
    println!("| bare router (absolute) | {bare_allocs:.2} | {bare_bytes:.0} | context | — |");
    println!("| no-op layers in `guarded`'s shape (absolute) | {noop_guarded_allocs:.2} | {noop_guarded_bytes:.0} | context | — |");
    println!("| a no-op layer in `layered`'s shape (absolute) | {noop_layered_allocs:.2} | {noop_layered_bytes:.0} | context | — |");
    println!();
    println!(
        "command: cargo bench --bench session (1-minute load average at the end: {})",
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "?".into())
    );
    if !full {
        println!("(smoke run: figures above are not measurements)");
    }
}

/// `GUICHET_BENCH_TRACE_ALLOCS=guarded|layered|bare|noop_guarded|noop_layered|handler_guarded|wrapped`: after a
/// warm-up, one in-process request to that router with every allocation's origin printed to
/// stderr (in a `cargo test --bench session` build the frames have file and line numbers).
/// Background tasks that happen to run meanwhile (the mail queue's first poll) show up too.
fn trace_allocations(rt: &Runtime, fixture: &Fixture, which: &str) {
    match which {
        "guarded" => trace_one(rt, &fixture.guarded, &fixture.cookie, which),
        "layered" => trace_one(rt, &fixture.layered, &fixture.cookie, which),
        "noop_guarded" => trace_one(rt, &fixture.noop_guarded, &fixture.cookie, which),
        "noop_layered" => trace_one(rt, &fixture.noop_layered, &fixture.cookie, which),
        "bare" => trace_one(rt, &fixture.bare, &fixture.cookie, which),
        "handler_guarded" => trace_one(rt, &fixture.handler_guarded, &fixture.cookie, which),
        "wrapped" => trace_one(rt, &fixture.wrapped, &fixture.cookie, which),
        other => panic!(
            "GUICHET_BENCH_TRACE_ALLOCS={other}: guarded, layered, bare, noop_guarded, \
             noop_layered, handler_guarded or wrapped"
        ),
    }
}

fn trace_one(rt: &Runtime, service: &impl App, cookie: &HeaderValue, which: &str) {
    rt.block_on(async {
        for _ in 0..100 {
            in_process(service, cookie).await;
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        eprintln!("allocations of one in-process GET /account through `{which}`:");
        TRACING.store(true, Ordering::SeqCst);
        in_process(service, cookie).await;
        TRACING.store(false, Ordering::SeqCst);
    });
}

fn main() {
    let rt = runtime();
    let fixture = rt.block_on(fixture());
    if let Ok(which) = std::env::var("GUICHET_BENCH_TRACE_ALLOCS") {
        trace_allocations(&rt, &fixture, &which);
        return;
    }
    let addr = rt.block_on(serve(&fixture));
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (criterion's test mode).
    let full = std::env::args().any(|a| a == "--bench");

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    bench_in_process(&mut c, &rt, &fixture);
    bench_http(&mut c, &rt, &fixture, addr);
    c.final_summary();

    // `--profile-time` (profiling one routine under a profiler) wants nothing else running.
    if !std::env::args().any(|a| a == "--profile-time") {
        summary(&rt, &fixture, addr, full);
    }
}
