//! The shared harness of the integration tests: a small portal (the same shape as
//! `examples/portal.rs`) served over real HTTP on 127.0.0.1, a hyper client with hand-made
//! cookie handling, the same router through `tower::ServiceExt::oneshot`, and stores that can be
//! switched off to check that guichet fails closed.
//!
//! Accounts are hashed with light argon2 parameters (64 KiB, 1 pass) so the suite stays fast;
//! the timing test (`tests/timing.rs`) is the one place that uses the OWASP defaults.

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use guichet::config::Config;
use guichet::identity::CasePolicy;
use guichet::limit::PeerAddr;
use guichet::limit::{Limit, Rate};
use guichet::mail::Letter;
use guichet::password::Hasher;
use guichet::session::{SessionKey, SessionRecord};
use guichet::store::memory::{AccountsFile, MemoryStore};
use guichet::store::{
    Claimed, CodeRequest, CredentialStore, Credentials, Directory, MailQueue, RateLimitStore,
    RequestStore, SessionStore, Store, ThrottleStore, Versioned,
};
use guichet::{
    Account, Email, Guichet, GuichetBuilder, Identity, RequireAuth, RequireService, StoreError,
    UserCode,
};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::ServiceExt;

/// The session cookie's name with `config.cookies.secure = false`.
pub const COOKIE: &str = "guichet";

/// Marie: subscribes to `collection` and `orders`; the client's contact person.
pub const MARIE: &str = "ACME-001";
pub const MARIE_PW: &str = "Bonjour-Marie-2026";
/// Luc: subscribes to `collection` only.
pub const LUC: &str = "ACME-002";
pub const LUC_PW: &str = "Bonjour-Luc-2026";
/// The reception desk: no password yet (it must be requested by email).
pub const RECEPTION: &str = "ACME-003";
/// Jean: disabled in the accounts file.
pub const JEAN: &str = "ACME-004";
pub const JEAN_PW: &str = "Bonjour-Jean-2026";
/// Sophie chose a password with spaces around it; it must be typed exactly so.
pub const SOPHIE: &str = "ACME-005";
pub const SOPHIE_PW: &str = " Bonjour Sophie ";
/// A code no account has.
pub const NOBODY: &str = "ACME-999";

/// How long any single HTTP exchange may take before the test fails instead of hanging.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The configuration of most tests: light argon2, cookies without `Secure` (plain http), and
/// the mail settings every guichet needs.
pub fn light_config() -> Config {
    let mut config = Config::default();
    // Links in emails are built from it, and form posts are checked against it.
    config.mail.base_url = "http://127.0.0.1".into();
    config.mail.from = "Service à la clientèle <no-reply@portal.example>".into();
    config.mail.customer_service_phone = "1 800 555-0100".into();
    config.mail.customer_service_hours = "lundi au vendredi, 8 h à 17 h".into();
    config.passwords.memory_kib = 64;
    config.passwords.iterations = 1;
    config.cookies.secure = false;
    config
}

/// A PHC string for `password`, computed by `hasher`.
pub async fn hash(hasher: &Hasher, password: &str) -> String {
    hasher
        .hash(&hasher.password(password).expect("a valid password"))
        .await
        .expect("hashing works")
}

/// The accounts file of the tests (contract format), hashes computed by `hasher`.
pub async fn accounts_toml(hasher: &Hasher) -> String {
    format!(
        r#"
[[client]]
id = "acme"
name = "Acme Inc."
contact = "ACME-001"
services = ["collection", "orders"]

[[account]]
code = "ACME-001"
name = "Marie Tremblay"
email = "marie@acme.example"
client = "acme"
services = ["collection", "orders"]
password_hash = "{marie}"

[[account]]
code = "ACME-002"
name = "Luc Gagnon"
email = "luc@acme.example"
client = "acme"
services = ["collection"]
password_hash = "{luc}"

[[account]]
code = "ACME-003"
name = "Réception Acme"
email = "info@acme.example"
client = "acme"
services = ["collection"]
shared_inbox = true

[[account]]
code = "ACME-004"
name = "Jean Roy"
email = "jean@acme.example"
client = "acme"
services = ["collection"]
status = "disabled"
password_hash = "{jean}"

[[account]]
code = "ACME-005"
name = "Sophie Roy"
email = "sophie@acme.example"
client = "acme"
services = ["collection"]
password_hash = "{sophie}"
"#,
        marie = hash(hasher, MARIE_PW).await,
        luc = hash(hasher, LUC_PW).await,
        jean = hash(hasher, JEAN_PW).await,
        sophie = hash(hasher, SOPHIE_PW).await,
    )
}

/// The test accounts, hashed with the configuration's parameters.
pub async fn directory(config: &Config) -> AccountsFile {
    let toml = accounts_toml(&Hasher::new(&config.passwords).expect("valid parameters")).await;
    AccountsFile::from_toml(&toml, CasePolicy::Insensitive).expect("the test accounts are valid")
}

/// Whether `word` is a temporary password as the letters write it: five groups of four
/// characters from its alphabet (digits 2-9 and capitals without I, L, O).
pub fn is_temporary_password(word: &str) -> bool {
    const ALPHABET: &str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let groups: Vec<&str> = word.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| ALPHABET.contains(c)))
}

/// A normalised user code.
pub fn code(typed: &str) -> UserCode {
    UserCode::parse(typed, CasePolicy::Insensitive).expect("a valid user code")
}

/// The application of the tests, shaped like the portal example: `/` public (knows who is
/// there, if anyone), `/account` for anyone signed in (JSON), `/whoami` protected by the
/// `Identity` extractor alone, `/services/{collection,orders}` for subscribers, the flows under
/// the prefix, and the session layer around everything.
pub fn app(guichet: &Guichet) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/account", get(account).layer(RequireAuth::new()))
        .route(
            "/whoami",
            get(|who: Identity| async move { who.user_code().as_str().to_owned() }),
        )
        .route(
            "/services/collection",
            get(service).layer(RequireService::new("collection")),
        )
        .route(
            "/services/orders",
            get(service).layer(RequireService::new("orders")),
        )
        .nest_service(guichet.prefix(), guichet.flows())
        .layer(guichet.session_layer())
}

async fn home(who: Option<Identity>) -> String {
    match who {
        Some(who) => format!("bonjour {}", who.user_code()),
        None => "anonymous".to_owned(),
    }
}

async fn account(who: Identity) -> Json<serde_json::Value> {
    let services: Vec<&str> = who.services().iter().map(|s| s.as_str()).collect();
    Json(serde_json::json!({
        "user_code": who.user_code().as_str(),
        "name": who.name(),
        "client": who.client(),
        "services": services,
    }))
}

async fn service(who: Identity, uri: http::Uri) -> String {
    format!("{} for {}", uri.path(), who.user_code())
}

/// A builder with `config`, a fresh memory store, and letters written to a throw-away
/// outbox; tests replace what they need.
pub fn builder(config: Config) -> GuichetBuilder {
    static OUTBOX: std::sync::OnceLock<TempDir> = std::sync::OnceLock::new();
    let outbox = OUTBOX.get_or_init(|| TempDir::new("outbox"));
    Guichet::builder()
        .config(config)
        .store(MemoryStore::new())
        .mailer(guichet::mail::Outbox::new(outbox.path()).expect("an outbox"))
}

/// A running test portal.
pub struct Portal {
    pub guichet: Guichet,
    pub router: Router,
    pub addr: SocketAddr,
    remote: Remote,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Portal {
    /// The light configuration and the test accounts.
    pub async fn start() -> Self {
        Self::with(|_| {}, |builder| builder).await
    }

    /// The light configuration changed by `tune`, the test accounts, and the builder changed by
    /// `build` (which may replace the directory or add stores and hooks).
    pub async fn with(
        tune: impl FnOnce(&mut Config),
        build: impl FnOnce(GuichetBuilder) -> GuichetBuilder,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        let mut config = light_config();
        tune(&mut config);
        let accounts = directory(&config).await;
        // The portal's own origin: form posts are checked against it.
        let builder = builder(config)
            .base_url(format!("http://{addr}"))
            .directory(accounts);
        let guichet = build(builder)
            .build()
            .expect("the test configuration is valid");
        Self::serve_on(listener, guichet)
    }

    /// Serves `guichet`'s test application on a fresh port.
    pub async fn serve(guichet: Guichet) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        Self::serve_on(listener, guichet)
    }

    fn serve_on(listener: tokio::net::TcpListener, guichet: Guichet) -> Self {
        let router = app(&guichet);
        let addr = listener.local_addr().expect("a bound address");
        let service = router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            axum::serve(listener, service)
                .await
                .expect("the server runs");
        });
        Self {
            guichet,
            router,
            addr,
            remote: Remote::new(addr),
            server,
        }
    }

    pub fn get(&self, path: &str) -> Call {
        self.call(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call {
        self.call(Method::POST, path)
    }

    pub fn call(&self, method: Method, path: &str) -> Call {
        let mut call = self.remote.call(method, path);
        call.router = Some(self.router.clone());
        call
    }

    /// A sign-in form as a browser posts it (no `Accept: application/json`).
    pub async fn sign_in(&self, user_code: &str, password: &str) -> Reply {
        self.post("/auth/login")
            .form(&[("user_code", user_code), ("password", password)])
            .send()
            .await
    }

    /// Signs in, checks it worked, and returns the new session cookie's value.
    pub async fn session_for(&self, user_code: &str, password: &str) -> String {
        let reply = self.sign_in(user_code, password).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "signing in {user_code} should work: {}",
            reply.text()
        );
        reply.session()
    }

    /// `GET /account` as an API client with this session cookie.
    pub async fn account_with(&self, session: &str) -> Reply {
        self.get("/account")
            .accept_json()
            .session(session)
            .send()
            .await
    }
}

/// A hyper client for a server at `addr` (in this process or another one).
#[derive(Clone)]
pub struct Remote {
    pub addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Remote {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn get(&self, path: &str) -> Call {
        self.call(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call {
        self.call(Method::POST, path)
    }

    pub fn call(&self, method: Method, path: &str) -> Call {
        Call {
            remote: self.clone(),
            router: None,
            method,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }
}

/// One request being built.
pub struct Call {
    remote: Remote,
    router: Option<Router>,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Call {
    /// Adds a header (repeated names are appended, not replaced). Raw bytes are allowed, so
    /// tests can send what a careless or hostile client would.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        let value = HeaderValue::from_bytes(value.as_ref()).expect("a header value");
        self.headers.append(name, value);
        self
    }

    pub fn accept_json(self) -> Self {
        self.header("accept", "application/json")
    }

    /// What a browser sends when navigating.
    pub fn accept_html(self) -> Self {
        self.header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
    }

    /// Sends the session cookie `guichet=value`.
    pub fn session(self, value: &str) -> Self {
        self.header("cookie", format!("{COOKIE}={value}"))
    }

    /// A form-encoded body.
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.body("application/x-www-form-urlencoded", body)
    }

    /// A JSON body.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.body("application/json", value.to_string())
    }

    /// A body of any type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        if !content_type.is_empty() {
            self = self.header("content-type", content_type);
        }
        self.body = body.into();
        self
    }

    fn request(self, uri: String) -> Request<Full<Bytes>> {
        let mut request = Request::builder()
            .method(self.method)
            .uri(uri)
            .body(Full::new(self.body))
            .expect("a valid request");
        *request.headers_mut() = self.headers;
        request
    }

    /// Sends the request over real HTTP to the portal's port.
    pub async fn send(self) -> Reply {
        let uri = format!("http://{}{}", self.remote.addr, self.path);
        let client = self.remote.client.clone();
        let request = self.request(uri);
        let exchange = async move {
            let response = client.request(request).await.expect("an HTTP answer");
            Reply::read(response).await
        };
        tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .expect("the portal answers in time")
    }

    /// Sends the request through `tower::ServiceExt::oneshot` on the same router, as if from
    /// `peer` (what a non-axum server puts in the extensions).
    pub async fn oneshot(self, peer: &str) -> Reply {
        let router = self
            .router
            .clone()
            .expect("oneshot needs the in-process router");
        let path = self.path.clone();
        let mut request = self.request(path);
        request
            .extensions_mut()
            .insert(PeerAddr(peer.parse().expect("a socket address")));
        let exchange = async move {
            let response = router.oneshot(request).await.expect("infallible");
            Reply::read(response).await
        };
        tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .expect("the router answers in time")
    }
}

/// Percent-encodes a form component (everything but unreserved characters).
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    async fn read<B>(response: http::Response<B>) -> Self
    where
        B: http_body::Body,
        B::Error: std::fmt::Debug,
    {
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("a whole body").to_bytes();
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("expected JSON ({e}), got {:?}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// `Retry-After` in seconds.
    pub fn retry_after(&self) -> Option<u64> {
        self.header("retry-after").and_then(|v| v.parse().ok())
    }

    /// Every `Set-Cookie` for `name`.
    pub fn set_cookies(&self, name: &str) -> Vec<SetCookie> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(SetCookie::parse)
            .filter(|c| c.name == name)
            .collect()
    }

    /// The one `Set-Cookie` for `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<SetCookie> {
        let mut all = self.set_cookies(name);
        assert!(all.len() <= 1, "several Set-Cookie for {name}: {all:?}");
        all.pop()
    }

    /// The new session cookie's value (panics if the response sets none or clears it).
    pub fn session(&self) -> String {
        let cookie = self
            .set_cookie(COOKIE)
            .unwrap_or_else(|| panic!("no session cookie set: {:?}", self.headers));
        assert!(!cookie.is_removal(), "the session cookie was cleared");
        cookie.value
    }

    /// The body as HTML, with the typed user code replaced, so that pages that echo it can
    /// be compared byte for byte.
    pub fn text_without(&self, typed_code: &str) -> String {
        self.text().replace(typed_code, "{CODE}")
    }
}

/// A `Set-Cookie` header, read by hand.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> Self {
        let mut parts = header.split(';');
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .expect("name=value");
        let attributes = parts
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (a.trim().to_ascii_lowercase(), None),
            })
            .collect();
        Self {
            name: name.trim().to_owned(),
            value: value.trim().trim_matches('"').to_owned(),
            attributes,
        }
    }

    /// The attribute's value (`Some("")` for a flag such as `HttpOnly`), if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.attributes
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    pub fn has(&self, flag: &str) -> bool {
        self.attribute(flag).is_some()
    }

    /// A cookie that tells the browser to forget it.
    pub fn is_removal(&self) -> bool {
        self.value.is_empty() && self.attribute("max-age") == Some("0")
    }
}

/// A cookie value that looks exactly like a session cookie for Marie (a well-formed id, her
/// user code) but was never issued.
pub fn forged_session_id() -> String {
    format!("{}.{}", forged_id(), base64url(MARIE))
}

fn base64url(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A 43-character base64url value that looks exactly like a session id but was never issued.
fn forged_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        ^ (u64::from(std::process::id()) << 32);
    let mut value: String = (0..42)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(ALPHABET[(seed % 64) as usize])
        })
        .collect();
    // 43 characters of base64url hold 258 bits; the last one carries only 4 of them, so it
    // must leave the 2 spare bits at zero to be a canonical encoding of 32 bytes.
    value.push('A');
    value
}

/// A switch that breaks a store on demand.
#[derive(Debug, Clone, Default)]
pub struct Switch(Arc<AtomicBool>);

impl Switch {
    pub fn break_it(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn repair(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    pub fn check(&self) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) {
            Err(StoreError::new("the test switched this store off"))
        } else {
            Ok(())
        }
    }
}

/// A memory store whose parts fail on demand, each with its own switch. It answers nothing
/// synchronously, so requests through it take the path network stores take.
#[derive(Default)]
pub struct FlakyStore {
    pub inner: MemoryStore,
    pub sessions: Switch,
    pub credentials: Switch,
    pub throttle: Switch,
}

#[async_trait::async_trait]
impl SessionStore for FlakyStore {
    async fn create(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.sessions.check()?;
        self.inner.create(key, record, ttl).await
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.sessions.check()?;
        self.inner.load(key).await
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.sessions.check()?;
        self.inner.touch(key, record, ttl).await
    }

    async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.sessions.check()?;
        self.inner.destroy(key).await
    }

    async fn sessions_of(&self, code: &UserCode) -> Result<Vec<SessionRecord>, StoreError> {
        self.sessions.check()?;
        self.inner.sessions_of(code).await
    }
}

#[async_trait::async_trait]
impl CredentialStore for FlakyStore {
    async fn credentials(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError> {
        self.credentials.check()?;
        self.inner.credentials(code).await
    }

    async fn save_credentials(
        &self,
        code: &UserCode,
        version: u64,
        state: &Credentials,
    ) -> Result<bool, StoreError> {
        self.credentials.check()?;
        self.inner.save_credentials(code, version, state).await
    }
}

#[async_trait::async_trait]
impl ThrottleStore for FlakyStore {
    async fn reserve(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.throttle.check()?;
        self.inner.reserve(limit, key, rate).await
    }

    async fn peek(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.throttle.check()?;
        self.inner.peek(limit, key, rate).await
    }

    async fn clear(&self, limit: Limit, key: &str) -> Result<(), StoreError> {
        self.throttle.check()?;
        self.inner.clear(limit, key).await
    }
}

#[async_trait::async_trait]
impl RateLimitStore for FlakyStore {
    async fn check(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.inner.check(limit, key, rate).await
    }
}

#[async_trait::async_trait]
impl MailQueue for FlakyStore {
    async fn push(&self, letter: &Letter, capacity: usize) -> Result<bool, StoreError> {
        self.inner.push(letter, capacity).await
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, StoreError> {
        self.inner.claim(lease).await
    }

    async fn complete(&self, id: &str) -> Result<(), StoreError> {
        self.inner.complete(id).await
    }

    async fn retry(&self, id: &str, after: Duration) -> Result<(), StoreError> {
        self.inner.retry(id, after).await
    }

    async fn waiting(&self) -> Result<usize, StoreError> {
        self.inner.waiting().await
    }
}

#[async_trait::async_trait]
impl RequestStore for FlakyStore {
    async fn add_request(&self, request: &CodeRequest) -> Result<bool, StoreError> {
        self.inner.add_request(request).await
    }

    async fn request(&self, id: &str) -> Result<Option<CodeRequest>, StoreError> {
        self.inner.request(id).await
    }

    async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, StoreError> {
        self.inner.requests(all).await
    }

    async fn decide_request(&self, decided: &CodeRequest) -> Result<bool, StoreError> {
        self.inner.decide_request(decided).await
    }
}

impl Store for FlakyStore {}

/// A directory that fails on demand.
pub struct FlakyDirectory<D> {
    pub inner: D,
    pub switch: Switch,
}

#[async_trait::async_trait]
impl<D: Directory> Directory for FlakyDirectory<D> {
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
        self.switch.check()?;
        self.inner.account(code).await
    }

    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
        self.switch.check()?;
        self.inner.accounts_with_email(email).await
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("guichet-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
