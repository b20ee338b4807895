//! The whole stack, as a client reaches it: one request, built from the input, through an axum
//! `Router` with guichet's session layer outermost, a guarded `/account`, `/services/...`,
//! and the flows under `/auth`, driven with `tower::ServiceExt::oneshot` on a current-thread
//! runtime made once.
//!
//! The request's method, path, query, `Cookie`, `Content-Type`, `Accept`, `Accept-Language`,
//! `Origin`, `Sec-Fetch-Site`, `Host`, `X-Forwarded-For`, `Content-Length` and body all come
//! from the input (structured with `arbitrary`, so most inputs are near-valid requests). The
//! input can also ask the harness to sign someone in first (a real session cookie, which the
//! fuzzer could never guess), to open a *restricted* session with a temporary password
//! captured from the outgoing email, and to use the captured cancel token.
//!
//! Two desks, both with light argon2 (8 KiB, 1 pass), the demo accounts, a `MemoryStore`, a
//! mailer that keeps what it needs of each letter in memory, and online password changes on:
//! * *lenient*: every rate and throttle so high it is never reached (the answers are then a
//!   function of the input), behind a trusted proxy (`X-Forwarded-For` is read); its store can
//!   be told by the input to fail after a number of calls (a store outage in the middle of a
//!   flow);
//! * *strict*: every limit 1 per day, spent at start-up, so every sign-in and password request
//!   that gets that far is answered `429`; no trusted proxy.
//!
//! Checked: no panic; the status is one guichet or the router can legitimately answer: never
//! 5xx, except 503 when the store failed during the request; a redirect stays on this site;
//! the body can be read.

#![no_main]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use guichet::config::Config;
use guichet::limit::{Limit, PeerAddr, Rate};
use guichet::mail::{Letter, MailError, Mailer};
use guichet::session::{SessionKey, SessionRecord};
use guichet::store::memory::{AccountsFile, MemoryStore};
use guichet::store::{
    async_trait, Claimed, CodeRequest, CredentialStore, Credentials, MailQueue, RateLimitStore,
    RequestStore, SessionStore, Store, ThrottleStore, Versioned,
};
use guichet::{Guichet, Identity, RequireAuth, RequireService, StoreError, UserCode};
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// The input.

#[derive(Arbitrary, Debug)]
struct Input {
    strict: bool,
    /// On the lenient desk: the store fails every call after this many.
    store_fails_after: Option<u8>,
    who: Who,
    method: Verb,
    path: Path,
    query: Option<Query>,
    content_type: Option<ContentType>,
    accept: Option<Accept>,
    accept_language: Option<String>,
    origin: Option<Origin>,
    sec_fetch_site: Option<FetchSite>,
    host: Option<String>,
    forwarded_for: Option<String>,
    content_length: Option<String>,
    cookie_extra: Option<String>,
    body: Payload,
}

/// Who sends the request.
#[derive(Arbitrary, Debug)]
enum Who {
    Anonymous,
    /// A `Cookie` header value of the input's own.
    RawCookie(String),
    /// Signed in first by the harness (lenient desk only).
    SignedIn(Person),
    /// Signed in with a temporary password just mailed (lenient desk only).
    Restricted,
    /// A real session cookie with one byte replaced.
    Tampered(Person, u8, u8),
    /// A real session cookie sent twice, or next to a planted one.
    Twice(Person, bool),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Person {
    Marie,
    Sophie,
}

impl Person {
    fn credentials(self) -> (&'static str, &'static str) {
        match self {
            Person::Marie => ("ACME-001", "Bonjour-Marie-2026"),
            Person::Sophie => ("BETA-001", "Bonjour-Sophie-2026"),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Verb {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
}

#[derive(Arbitrary, Debug)]
enum Path {
    Login,
    Logout,
    Password,
    PasswordSet,
    PasswordChange,
    PasswordCancel,
    Team,
    Css,
    Js,
    Account,
    Root,
    Collection,
    Orders,
    /// `/auth/` followed by the input's text.
    Auth(String),
    /// `/account` followed by the input's text.
    AccountSuffix(String),
    /// The input's text as the whole path.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Query {
    Next(Value),
    /// `code=...&token=...`, as in the email's cancel link.
    Cancel(Value, Value),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum ContentType {
    Form,
    FormCharset,
    Json,
    JsonCharset,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Accept {
    Json,
    Html,
    Browser,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Origin {
    /// `http://` and the `Host` header sent (or `127.0.0.1`).
    SameHost,
    Other,
    Null,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum FetchSite {
    SameOrigin,
    None,
    SameSite,
    CrossSite,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Payload {
    Empty,
    /// Form-encoded fields; `true` percent-encodes the value, `false` sends it raw.
    Form(Vec<(Field, Value, bool)>),
    Json(Vec<(Field, JsonValue)>),
    /// `{"people": [{"name": ..., "email": ...}, ...]}` (`/auth/team`); `None` leaves a member
    /// out.
    People(Vec<(Option<Value>, Option<JsonValue>)>),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Field {
    UserCode,
    Password,
    Next,
    Confirm,
    Code,
    Token,
    Current,
    Name,
    Email,
    Other(String),
}

impl Field {
    fn name(&self) -> &str {
        match self {
            Field::UserCode => "user_code",
            Field::Password => "password",
            Field::Next => "next",
            Field::Confirm => "confirm",
            Field::Code => "code",
            Field::Token => "token",
            Field::Current => "current",
            Field::Name => "name",
            Field::Email => "email",
            Field::Other(name) => name,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Value {
    /// A demo user code, as typed in one of the forgiving ways.
    Code(u8, Spelling),
    /// The right password of a demo account.
    RightPassword(u8),
    /// The temporary password last mailed to Luc (ACME-002), in one of its typed forms.
    TemporaryPassword(Spelling),
    /// The token of the last cancel link mailed to Luc.
    CancelToken,
    /// A path of this site, for `next`.
    Local(String),
    /// An email address: a demo account's, a role address, a new one, or one made of text.
    Address(u8, Spelling),
    /// A full name.
    Name(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Spelling {
    AsIs,
    Lower,
    Spaced,
    FullWidth,
}

#[derive(Arbitrary, Debug)]
enum JsonValue {
    String(Value),
    Null,
    Number(i64),
    Bool(bool),
    Array(Vec<String>),
    Object,
}

// ---------------------------------------------------------------------------------------------
// Turning the input into a request.

const CODES: &[&str] = &[
    "ACME-001", "ACME-002", "ACME-003", "BETA-001", "BETA-002", "ACME-999",
];
const PASSWORDS: &[(&str, &str)] = &[
    ("ACME-001", "Bonjour-Marie-2026"),
    ("ACME-002", "Bonjour-Luc-2026"),
    ("BETA-001", "Bonjour-Sophie-2026"),
    ("BETA-002", "Bonjour-Jean-2026"),
];
/// Luc: the account whose temporary passwords the harness uses (his password may change).
const LUC: &str = "ACME-002";
const ADDRESSES: &[&str] = &[
    "nouvelle.personne@acme.example",
    "paul+portail@acme.example",
    "marie@acme.example",
    "info@acme.example",
    "comptabilite@beta.example",
    "Nouvelle.Personne@ACME.example",
    "pas une adresse",
    "a@b",
];
const NAMES: &[&str] = &["Paul Lévesque", "Anne-Marie O'Neil", " ", "X", "李小龍"];

fn spell(text: &str, spelling: Spelling) -> String {
    match spelling {
        Spelling::AsIs => text.to_owned(),
        Spelling::Lower => text.to_lowercase(),
        Spelling::Spaced => format!("  {text}\t"),
        Spelling::FullWidth => text
            .chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
                _ => c,
            })
            .collect(),
    }
}

impl Value {
    fn text(&self, world: &World) -> String {
        match self {
            Value::Code(i, spelling) => spell(CODES[usize::from(*i) % CODES.len()], *spelling),
            Value::RightPassword(i) => PASSWORDS[usize::from(*i) % PASSWORDS.len()].1.to_owned(),
            Value::TemporaryPassword(spelling) => {
                let mail = world.mail.last.lock().unwrap();
                spell(mail.password.as_deref().unwrap_or(""), *spelling)
            }
            Value::CancelToken => {
                let mail = world.mail.last.lock().unwrap();
                mail.token.clone().unwrap_or_default()
            }
            Value::Local(path) => format!("/{path}"),
            Value::Address(i, spelling) => {
                spell(ADDRESSES[usize::from(*i) % ADDRESSES.len()], *spelling)
            }
            Value::Name(i) => NAMES[usize::from(*i) % NAMES.len()].to_owned(),
            Value::Raw(text) => text.clone(),
        }
    }
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn body_of(payload: &Payload, world: &World) -> Vec<u8> {
    match payload {
        Payload::Empty => Vec::new(),
        Payload::Form(fields) => fields
            .iter()
            .take(48)
            .map(|(field, value, encoded)| {
                let value = value.text(world);
                if *encoded {
                    format!("{}={}", encode(field.name()), encode(&value))
                } else {
                    format!("{}={value}", field.name())
                }
            })
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes(),
        Payload::Json(fields) => {
            let members: Vec<String> = fields
                .iter()
                .take(16)
                .map(|(field, value)| {
                    format!("{}:{}", json_string(field.name()), json_value(value, world))
                })
                .collect();
            format!("{{{}}}", members.join(",")).into_bytes()
        }
        Payload::People(rows) => {
            let rows: Vec<String> = rows
                .iter()
                .take(24)
                .map(|(name, email)| {
                    let mut members = Vec::new();
                    if let Some(name) = name {
                        members.push(format!("\"name\":{}", json_string(&name.text(world))));
                    }
                    if let Some(email) = email {
                        members.push(format!("\"email\":{}", json_value(email, world)));
                    }
                    format!("{{{}}}", members.join(","))
                })
                .collect();
            format!("{{\"people\":[{}]}}", rows.join(",")).into_bytes()
        }
        Payload::Raw(bytes) => bytes.clone(),
    }
}

fn json_value(value: &JsonValue, world: &World) -> String {
    match value {
        JsonValue::String(v) => json_string(&v.text(world)),
        JsonValue::Null => "null".to_owned(),
        JsonValue::Number(n) => n.to_string(),
        JsonValue::Bool(b) => b.to_string(),
        JsonValue::Array(items) => {
            let items: Vec<String> = items.iter().map(|s| json_string(s)).collect();
            format!("[{}]", items.join(","))
        }
        JsonValue::Object => "{}".to_owned(),
    }
}

fn path_of(path: &Path) -> String {
    match path {
        Path::Login => "/auth/login".into(),
        Path::Logout => "/auth/logout".into(),
        Path::Password => "/auth/password".into(),
        Path::PasswordSet => "/auth/password/set".into(),
        Path::PasswordChange => "/auth/password/change".into(),
        Path::Team => "/auth/team".into(),
        Path::PasswordCancel => "/auth/password/cancel".into(),
        Path::Css => "/auth/assets/guichet.css".into(),
        Path::Js => "/auth/assets/guichet.js".into(),
        Path::Account => "/account".into(),
        Path::Root => "/".into(),
        Path::Collection => "/services/collection".into(),
        Path::Orders => "/services/orders".into(),
        Path::Auth(rest) => format!("/auth/{rest}"),
        Path::AccountSuffix(rest) => format!("/account{rest}"),
        Path::Raw(path) => path.clone(),
    }
}

fn query_of(query: &Query, world: &World) -> String {
    match query {
        Query::Next(v) => format!("next={}", encode(&v.text(world))),
        Query::Cancel(code, token) => format!(
            "code={}&token={}",
            encode(&code.text(world)),
            encode(&token.text(world))
        ),
        Query::Raw(q) => q.clone(),
    }
}

fn header(request: &mut http::request::Builder, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        if let Some(headers) = request.headers_mut() {
            headers.append(name, value);
        }
    }
}

/// The request the input describes, with `cookie` (the harness's session, if any).
fn build(input: &Input, world: &World, cookie: Option<String>) -> Option<Request<Body>> {
    let method = match input.method {
        Verb::Get => Method::GET,
        Verb::Head => Method::HEAD,
        Verb::Post => Method::POST,
        Verb::Put => Method::PUT,
        Verb::Delete => Method::DELETE,
        Verb::Options => Method::OPTIONS,
        Verb::Patch => Method::PATCH,
    };
    let mut target = path_of(&input.path);
    if let Some(query) = &input.query {
        target.push('?');
        target.push_str(&query_of(query, world));
    }
    // A target http cannot read could not reach the service from a real connection either.
    let uri: http::Uri = target.parse().ok()?;
    let mut request = Request::builder().method(method).uri(uri);
    let cookie = match (&input.who, cookie) {
        (Who::RawCookie(raw), _) => Some(raw.clone()),
        (_, cookie) => cookie,
    };
    let cookie = match (&input.cookie_extra, cookie) {
        (Some(extra), Some(c)) => Some(format!("{c}; {extra}")),
        (Some(extra), None) => Some(extra.clone()),
        (None, c) => c,
    };
    if let Some(cookie) = cookie {
        header(&mut request, header::COOKIE, &cookie);
    }
    if let Some(t) = &input.content_type {
        let t = match t {
            ContentType::Form => "application/x-www-form-urlencoded",
            ContentType::FormCharset => "application/x-www-form-urlencoded; charset=UTF-8",
            ContentType::Json => "application/json",
            ContentType::JsonCharset => "Application/JSON ; charset=utf-8",
            ContentType::Raw(t) => t,
        };
        header(&mut request, header::CONTENT_TYPE, t);
    }
    if let Some(a) = &input.accept {
        let a = match a {
            Accept::Json => "application/json",
            Accept::Html => "text/html",
            Accept::Browser => "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            Accept::Raw(a) => a,
        };
        header(&mut request, header::ACCEPT, a);
    }
    if let Some(l) = &input.accept_language {
        header(&mut request, header::ACCEPT_LANGUAGE, l);
    }
    let host = input.host.as_deref();
    if let Some(h) = host {
        header(&mut request, header::HOST, h);
    }
    if let Some(o) = &input.origin {
        let o = match o {
            Origin::SameHost => format!("http://{}", host.unwrap_or("127.0.0.1")),
            Origin::Other => "https://evil.example".to_owned(),
            Origin::Null => "null".to_owned(),
            Origin::Raw(o) => o.clone(),
        };
        header(&mut request, header::ORIGIN, &o);
    }
    if let Some(s) = &input.sec_fetch_site {
        let s = match s {
            FetchSite::SameOrigin => "same-origin",
            FetchSite::None => "none",
            FetchSite::SameSite => "same-site",
            FetchSite::CrossSite => "cross-site",
            FetchSite::Raw(s) => s,
        };
        header(&mut request, HeaderName::from_static("sec-fetch-site"), s);
    }
    if let Some(f) = &input.forwarded_for {
        header(&mut request, HeaderName::from_static("x-forwarded-for"), f);
    }
    if let Some(n) = &input.content_length {
        header(&mut request, header::CONTENT_LENGTH, n);
    }
    let body = body_of(&input.body, world);
    let mut request = request.body(Body::from(body)).ok()?;
    request.extensions_mut().insert(PEER);
    Some(request)
}

// ---------------------------------------------------------------------------------------------
// The world: made once per process.

const PEER: PeerAddr = PeerAddr(SocketAddr::new(
    std::net::IpAddr::V4(Ipv4Addr::LOCALHOST),
    40000,
));

struct World {
    runtime: tokio::runtime::Runtime,
    lenient: Router,
    strict: Router,
    /// The lenient desk's store.
    store: Arc<Flaky>,
    mail: Arc<Capture>,
    /// Session cookies the harness opened, reused until a request that may end them.
    sessions: Mutex<HashMap<Kind, String>>,
    _guichets: Vec<Guichet>,
}

/// The sessions the harness can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Normal(Person),
    Restricted,
}

/// The mailer: counts letters and keeps the temporary password and cancel token last mailed
/// to each demo account (`last` is Luc's).
#[derive(Default)]
struct Capture {
    last: Mutex<Mail>,
    others: Mutex<HashMap<&'static str, Mail>>,
}

#[derive(Default, Clone)]
struct Mail {
    sent: u64,
    password: Option<String>,
    token: Option<String>,
}

#[async_trait]
impl Mailer for Capture {
    async fn send(&self, message: &lettre::Message) -> Result<(), MailError> {
        let text = decoded_text(&message.formatted());
        let mut last = self.last.lock().unwrap();
        last.sent += 1;
        let Some(password) = temporary_password_in(&text) else {
            return Ok(());
        };
        let token = cancel_token_in(&text);
        if text.contains(LUC) {
            last.password = Some(password.clone());
            last.token = token.clone();
        }
        if let Some(code) = CODES.iter().find(|code| text.contains(*code)) {
            let mut others = self.others.lock().unwrap();
            let mail = others.entry(code).or_default();
            mail.sent += 1;
            mail.password = Some(password);
            mail.token = token;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// A memory store that can be told to fail.

/// A `MemoryStore` whose calls fail once `budget` calls have been made (`u64::MAX`: never).
struct Flaky {
    inner: MemoryStore,
    budget: AtomicU64,
    failed: AtomicBool,
}

impl Flaky {
    fn new() -> Self {
        Flaky {
            inner: MemoryStore::new(),
            budget: AtomicU64::new(u64::MAX),
            failed: AtomicBool::new(false),
        }
    }

    fn arm(&self, calls: Option<u8>) {
        self.failed.store(false, Ordering::SeqCst);
        let budget = calls.map_or(u64::MAX, u64::from);
        self.budget.store(budget, Ordering::SeqCst);
    }

    /// Disarms; says whether a call failed meanwhile.
    fn disarm(&self) -> bool {
        self.budget.store(u64::MAX, Ordering::SeqCst);
        self.failed.swap(false, Ordering::SeqCst)
    }

    fn armed(&self) -> bool {
        self.budget.load(Ordering::SeqCst) != u64::MAX
    }

    fn spend(&self) -> Result<(), StoreError> {
        let left = self.budget.load(Ordering::SeqCst);
        if left == u64::MAX {
            return Ok(());
        }
        if left == 0 {
            self.failed.store(true, Ordering::SeqCst);
            return Err(StoreError::new("the fuzzer switched the store off"));
        }
        self.budget.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl SessionStore for Flaky {
    async fn create(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.spend()?;
        self.inner.create(key, record, ttl).await
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.spend()?;
        self.inner.load(key).await
    }

    fn load_now(&self, key: &SessionKey) -> Option<Result<Option<SessionRecord>, StoreError>> {
        if self.armed() {
            return None;
        }
        self.inner.load_now(key)
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.touch(key, record, ttl).await
    }

    async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.destroy(key).await
    }

    async fn sessions_of(&self, code: &UserCode) -> Result<Vec<SessionRecord>, StoreError> {
        self.spend()?;
        self.inner.sessions_of(code).await
    }
}

#[async_trait]
impl CredentialStore for Flaky {
    async fn credentials(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError> {
        self.spend()?;
        self.inner.credentials(code).await
    }

    fn credentials_now(
        &self,
        code: &UserCode,
    ) -> Option<Result<Versioned<Credentials>, StoreError>> {
        if self.armed() {
            return None;
        }
        self.inner.credentials_now(code)
    }

    async fn save_credentials(
        &self,
        code: &UserCode,
        version: u64,
        state: &Credentials,
    ) -> Result<bool, StoreError> {
        self.spend()?;
        self.inner.save_credentials(code, version, state).await
    }
}

#[async_trait]
impl ThrottleStore for Flaky {
    async fn reserve(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.spend()?;
        self.inner.reserve(limit, key, rate).await
    }

    async fn peek(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.spend()?;
        self.inner.peek(limit, key, rate).await
    }

    async fn clear(&self, limit: Limit, key: &str) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.clear(limit, key).await
    }
}

#[async_trait]
impl RateLimitStore for Flaky {
    async fn check(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.spend()?;
        self.inner.check(limit, key, rate).await
    }
}

#[async_trait]
impl MailQueue for Flaky {
    async fn push(&self, letter: &Letter, capacity: usize) -> Result<bool, StoreError> {
        self.spend()?;
        self.inner.push(letter, capacity).await
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, StoreError> {
        self.spend()?;
        self.inner.claim(lease).await
    }

    async fn complete(&self, id: &str) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.complete(id).await
    }

    async fn retry(&self, id: &str, after: Duration) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.retry(id, after).await
    }

    async fn waiting(&self) -> Result<usize, StoreError> {
        self.spend()?;
        self.inner.waiting().await
    }
}

#[async_trait]
impl RequestStore for Flaky {
    async fn add_request(&self, request: &CodeRequest) -> Result<bool, StoreError> {
        self.spend()?;
        self.inner.add_request(request).await
    }

    async fn request(&self, id: &str) -> Result<Option<CodeRequest>, StoreError> {
        self.spend()?;
        self.inner.request(id).await
    }

    async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, StoreError> {
        self.spend()?;
        self.inner.requests(all).await
    }

    async fn decide_request(&self, decided: &CodeRequest) -> Result<bool, StoreError> {
        self.spend()?;
        self.inner.decide_request(decided).await
    }
}

impl Store for Flaky {}

/// The text of every part of a MIME message, quoted-printable and base64 parts decoded.
fn decoded_text(raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw);
    let mut out = String::new();
    let mut encoding = "";
    let mut in_body = false;
    let mut base64 = String::new();
    let flush = |base64: &mut String, out: &mut String| {
        if let Some(bytes) = decode_base64(base64) {
            out.push_str(&String::from_utf8_lossy(&bytes));
            out.push('\n');
        }
        base64.clear();
    };
    for line in raw.split("\r\n") {
        if line.starts_with("--") {
            flush(&mut base64, &mut out);
            in_body = false;
            encoding = "";
            continue;
        }
        if !in_body {
            if line.is_empty() {
                in_body = true;
            } else if let Some(v) = line
                .to_ascii_lowercase()
                .strip_prefix("content-transfer-encoding:")
            {
                encoding = match v.trim() {
                    "base64" => "base64",
                    "quoted-printable" => "qp",
                    _ => "",
                };
            }
            continue;
        }
        match encoding {
            "base64" => base64.push_str(line.trim()),
            "qp" => match line.strip_suffix('=') {
                Some(soft) => out.push_str(&decode_qp(soft)),
                None => {
                    out.push_str(&decode_qp(line));
                    out.push('\n');
                }
            },
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    flush(&mut base64, &mut out);
    out
}

fn decode_qp(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=');
    if text.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `XXXX-XXXX-XXXX-XXXX-XXXX` from the temporary-password alphabet.
fn temporary_password_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let alphabet =
        |b: u8| matches!(b, b'2'..=b'9' | b'A'..=b'Z') && !matches!(b, b'I' | b'L' | b'O');
    (0..bytes.len().saturating_sub(23)).find_map(|i| {
        let window = &bytes[i..i + 24];
        let shaped =
            window.iter().enumerate().all(
                |(j, b)| {
                    if j % 5 == 4 {
                        *b == b'-'
                    } else {
                        alphabet(*b)
                    }
                },
            );
        let bounded = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        (shaped && bounded).then(|| String::from_utf8_lossy(window).into_owned())
    })
}

fn cancel_token_in(text: &str) -> Option<String> {
    let start = text.find("token=")? + "token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (token.len() == 43).then_some(token)
}

async fn account(who: Identity) -> String {
    format!("{} {}", who.user_code(), who.name())
}

async fn home(who: Option<Identity>) -> String {
    who.map_or_else(|| "anonymous".to_owned(), |w| w.user_code().to_string())
}

fn config(strict: bool) -> Config {
    let mut config = Config::default();
    config.passwords.memory_kib = 8;
    config.passwords.iterations = 1;
    config.passwords.hashing_threads = Some(1);
    config.passwords.online_change = true;
    config.mail.from = "Portail <no-reply@portal.example>".into();
    config.mail.customer_service_phone = "1 800 555-0100".into();
    config.mail.customer_service_hours = "lundi au vendredi, 8 h à 17 h".into();
    config.mail.customer_service_email = Some("service@portal.example".into());
    config.cookies.secure = false;
    let rate = if strict {
        Rate::per_day(1)
    } else {
        Rate::per_second(u32::MAX)
    };
    config.sign_in.failures_per_code = rate;
    config.sign_in.attempts_per_ip = rate;
    config.sign_in.temporary_attempts_per_code = rate;
    config.accounts.requests_per_contact = rate;
    let requests = &mut config.credential_requests;
    requests.per_user_code = rate;
    requests.per_email = rate;
    requests.per_ip = rate;
    requests.global = rate;
    if !strict {
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    }
    config
}

fn desk(strict: bool, store: impl Store, mail: &Arc<Capture>) -> (Guichet, Router) {
    let guichet = Guichet::builder()
        .config(config(strict))
        .base_url("http://127.0.0.1")
        .store(store)
        .directory(AccountsFile::demo())
        .mailer(Arc::clone(mail))
        .build()
        .expect("the fuzzing configuration is valid");
    let router = Router::new()
        .route("/", get(home))
        .route("/account", get(account).layer(RequireAuth::new()))
        .route(
            "/services/collection",
            get(account).layer(RequireService::new("collection")),
        )
        .route(
            "/services/orders",
            get(account).layer(RequireService::new("orders")),
        )
        .nest_service(guichet.prefix(), guichet.flows())
        .layer(guichet.session_layer());
    (guichet, router)
}

impl World {
    fn new() -> Self {
        // Paused time: sleeps end as soon as nothing else can run (the 50-250 ms pause before
        // a credential request is handled, the postman's polls), so waiting for a letter costs
        // no wall time. Sessions and throttles read the system clock.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime");
        let mail = Arc::new(Capture::default());
        let store = Arc::new(Flaky::new());
        let ((g1, lenient), (g2, strict)) = {
            let _entered = runtime.enter();
            (
                desk(false, Arc::clone(&store), &mail),
                desk(true, MemoryStore::new(), &mail),
            )
        };
        let world = World {
            runtime,
            lenient,
            strict,
            store,
            mail,
            sessions: Mutex::default(),
            _guichets: vec![g1, g2],
        };
        world.warm_up();
        world
    }

    fn send(&self, router: &Router, request: Request<Body>) -> (Response<Body>, Vec<u8>) {
        self.send_failing(router, request, None).0
    }

    /// Sends `request` with the lenient store failing after `fail_after` calls (if given);
    /// says whether it failed.
    fn send_failing(
        &self,
        router: &Router,
        request: Request<Body>,
        fail_after: Option<u8>,
    ) -> ((Response<Body>, Vec<u8>), bool) {
        self.store.arm(fail_after);
        let response = self.runtime.block_on(async {
            let response = router.clone().oneshot(request).await.expect("infallible");
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .expect("a response body can be read")
                .to_bytes();
            (Response::from_parts(parts, Body::empty()), bytes.to_vec())
        });
        let failed = self.store.disarm();
        // Let background work (the postman, rehashing) move on, as it would between requests.
        self.settle(Duration::ZERO);
        (response, failed)
    }

    fn settle(&self, at_least: Duration) {
        self.runtime.block_on(async {
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
            if !at_least.is_zero() {
                tokio::time::sleep(at_least).await;
            }
        });
    }

    fn post_form(&self, router: &Router, path: &str, body: String) -> Response<Body> {
        self.post_form_as(router, path, body, None)
    }

    fn post_form_as(
        &self,
        router: &Router,
        path: &str,
        body: String,
        cookie: Option<&str>,
    ) -> Response<Body> {
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        request.extensions_mut().insert(PEER);
        self.send(router, request).0
    }

    /// The session cookie of a sign-in on the lenient desk.
    fn sign_in(&self, code: &str, password: &str) -> Option<String> {
        let body = format!("user_code={}&password={}", encode(code), encode(password));
        let response = self.post_form(&self.lenient, "/auth/login", body);
        (response.status() == StatusCode::SEE_OTHER)
            .then(|| session_cookie(&response))
            .flatten()
    }

    /// A session of this kind: the one opened for an earlier input if it may still be
    /// alive, else a new one.
    fn session(&self, kind: Kind) -> Option<String> {
        if let Some(cookie) = self.sessions.lock().unwrap().get(&kind) {
            return Some(cookie.clone());
        }
        let cookie = match kind {
            Kind::Normal(person) => {
                let (code, password) = person.credentials();
                self.sign_in(code, password)
                    .or_else(|| self.restore(code, password))
            }
            Kind::Restricted => self.restricted(),
        }?;
        self.sessions.lock().unwrap().insert(kind, cookie.clone());
        Some(cookie)
    }

    /// A request other than `GET` or `HEAD` may end the session it carries (sign-out, a new
    /// sign-in, a chosen password): the next input gets a new one.
    fn used(&self, kind: Option<Kind>, method: &Method) {
        if let Some(kind) = kind {
            if method != Method::GET && method != Method::HEAD {
                self.sessions.lock().unwrap().remove(&kind);
            }
        }
    }

    /// When an input changed a demo person's password (online, or with a temporary one): asks
    /// for a temporary password, signs in with it and chooses the demo password again.
    ///
    /// A letter an earlier input asked for may still be on its way (each request waits 50 to
    /// 250 ms before its letter is written): when it leaves after the one read here, its
    /// temporary password voids the one this session was opened with, and choosing is refused
    /// with 401. That, and only that, is tried again.
    fn restore(&self, code: &'static str, password: &str) -> Option<String> {
        let mail = |capture: &Capture| capture.others.lock().unwrap().get(code).cloned();
        let sent = |capture: &Capture| mail(capture).map_or(0, |m| m.sent);
        // Whether a letter to `code` left after the `count`th, waiting up to 400 ms of
        // (paused) time for it.
        let letter_after = |count: u64| {
            for _ in 0..2000 {
                if sent(&self.mail) > count {
                    return true;
                }
                self.settle(Duration::from_micros(200));
            }
            false
        };
        for _ in 0..4 {
            let before = sent(&self.mail);
            let body = format!("user_code={code}");
            self.post_form(&self.lenient, "/auth/password", body);
            letter_after(before);
            let read = mail(&self.mail)?;
            let restricted = self.sign_in(code, read.password.as_deref()?)?;
            let body = format!("password={0}&confirm={0}", encode(password));
            let response =
                self.post_form_as(&self.lenient, "/auth/password/set", body, Some(&restricted));
            if response.status() == StatusCode::SEE_OTHER {
                return session_cookie(&response);
            }
            // The newer letter's password is stored before the letter reaches the mailer:
            // it is given the time to arrive.
            assert!(
                response.status() == StatusCode::UNAUTHORIZED && letter_after(read.sent),
                "{code} chooses the demo password again: {} without a newer letter",
                response.status()
            );
        }
        None
    }

    /// A restricted session: Luc asks for a temporary password and signs in with it.
    fn restricted(&self) -> Option<String> {
        let before = self.mail.last.lock().unwrap().sent;
        let response = self.post_form(&self.lenient, "/auth/password", format!("user_code={LUC}"));
        assert_eq!(response.status(), StatusCode::OK, "Luc's password request");
        for _ in 0..2000 {
            if self.mail.last.lock().unwrap().sent > before {
                break;
            }
            self.settle(Duration::from_micros(200));
        }
        let mail = self.mail.last.lock().unwrap().clone();
        self.sign_in(LUC, mail.password.as_deref()?)
    }

    fn warm_up(&self) {
        // The demo hashes use the OWASP parameters; one sign-in each rehashes them with the
        // light ones (in the background), so later verifications are cheap.
        for (code, password) in PASSWORDS {
            self.sign_in(code, password);
        }
        self.settle(Duration::from_millis(200));
        for person in [Person::Marie, Person::Sophie] {
            let (code, password) = person.credentials();
            assert!(self.sign_in(code, password).is_some(), "{code} signs in");
        }
        assert!(
            self.restricted().is_some(),
            "a temporary password was captured from the mail and opens a restricted session"
        );
        // Spend the strict desk's limits: from now on every sign-in and password request that
        // gets past the field checks is throttled there.
        for (path, body) in [
            ("/auth/login", "user_code=ACME-001&password=x"),
            ("/auth/password", "user_code=ACME-001"),
        ] {
            self.post_form(&self.strict, path, body.to_owned());
            let again = self.post_form(&self.strict, path, body.to_owned());
            assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        }
    }
}

fn session_cookie(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.strip_prefix("guichet="))
        .find(|v| !v.is_empty())
        .map(|v| format!("guichet={v}"))
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::new)
}

/// What guichet, its guards or the router may answer (and 503 when the store failed).
const LEGITIMATE: &[u16] = &[200, 201, 303, 400, 401, 403, 404, 405, 413, 415, 422, 429];

fuzz_target!(|input: Input| {
    let world = world();
    let router = if input.strict {
        &world.strict
    } else {
        &world.lenient
    };
    let kind = match &input.who {
        _ if input.strict => None,
        Who::Anonymous | Who::RawCookie(_) => None,
        Who::SignedIn(p) | Who::Tampered(p, ..) | Who::Twice(p, _) => Some(Kind::Normal(*p)),
        Who::Restricted => Some(Kind::Restricted),
    };
    let cookie = kind
        .and_then(|kind| world.session(kind))
        .map(|c| match &input.who {
            Who::Tampered(_, at, byte) => {
                let mut bytes = c.into_bytes();
                let i = usize::from(*at) % bytes.len();
                bytes[i] = *byte;
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Who::Twice(_, true) => format!("{c}; guichet=AAAA.QUNNRS0wMDE"),
            Who::Twice(_, false) => format!("{c}; {c}"),
            _ => c,
        });
    let Some(request) = build(&input, world, cookie) else {
        return;
    };
    let method = request.method().clone();
    let fail_after = input.store_fails_after.filter(|_| !input.strict);
    let ((response, body), store_failed) = world.send_failing(router, request, fail_after);
    world.used(kind, &method);
    let status = response.status();
    let unavailable = store_failed && status == StatusCode::SERVICE_UNAVAILABLE;
    assert!(
        LEGITIMATE.contains(&status.as_u16()) || unavailable,
        "status {status} (store failed: {store_failed}) for {input:#?}\nbody: {}",
        String::from_utf8_lossy(&body)
    );
    if status == StatusCode::SEE_OTHER {
        let location = response
            .headers()
            .get(header::LOCATION)
            .expect("a redirect has a Location")
            .to_str()
            .expect("a readable Location");
        assert!(
            location.starts_with('/')
                && !location.starts_with("//")
                && !location.starts_with("/\\"),
            "a redirect off the site: {location:?} for {input:#?}"
        );
    }
});
