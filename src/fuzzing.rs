//! Thin wrappers that let the fuzz targets (`fuzz/`) reach parsers that are not public.
//!
//! Compiled only under `--cfg fuzzing`, which cargo-fuzz and cargo-afl set; never part of the
//! public API. Each wrapper calls the crate's own parser unchanged and returns what it decided.

use std::future::Future;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use ipnet::IpNet;

use crate::error::Refusal;
use crate::flows::{cancel, form};
use crate::limit::ProxyHeader;
use crate::password::Hasher;
use crate::session::SessionCookie;

/// Every field name a flow asks for, so one call reads what any flow would.
pub const FIELDS: &[&str] = &["user_code", "password", "next", "confirm", "code", "token"];

/// What the session layer reads from a well-formed session cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The session id, as the cookie writes it (base64url).
    pub id: String,
    /// The user code the cookie claims, as sent.
    pub code: String,
    /// That code as a [`UserCode`](crate::UserCode), when stores may be asked with it before
    /// the record is read (it must read back unchanged under the case-sensitive policy).
    pub user_code: Option<String>,
    /// The value the layer would write for this cookie.
    pub value: String,
    /// Whether the layer's two readings of the code agree: a stored record naming
    /// [`user_code`](Self::user_code) passes the check done without asking a store
    /// (`SessionCookie::names`), as it passes the one done after asking by code.
    pub readings_agree: bool,
}

/// The session cookie's value, as [`SessionLayer`](crate::SessionLayer) reads it; `None` for
/// anything that is not a well-formed cookie.
pub fn session_cookie(value: &str) -> Option<Cookie> {
    let cookie = SessionCookie::parse(value)?;
    let code = cookie.claimed_code()?;
    let user_code = cookie.user_code();
    let readings_agree = user_code.as_ref().is_none_or(|code| cookie.names(code));
    Some(Cookie {
        id: cookie.id.to_cookie(),
        value: crate::session::cookie_value(&cookie.id, &code),
        code,
        user_code: user_code.map(|code| code.as_str().to_owned()),
        readings_agree,
    })
}

/// The client address the per-IP limits key a request under (`limit::client_ip`): the TCP
/// peer, or a proxy header's hop when the peer is a trusted proxy.
pub fn client_ip(
    extensions: &http::Extensions,
    headers: &http::HeaderMap,
    trusted: &[IpNet],
    header: ProxyHeader,
) -> IpAddr {
    crate::limit::client_ip(extensions, headers, trusted, header)
}

/// A `next` field (or query parameter), as the flows sanitise it.
pub fn next(value: &str) -> Result<Option<String>, Refusal> {
    crate::links::sanitize_next(value)
}

/// A flow's request body with this `Content-Type` (omitted if it is not a valid header
/// value): the [`FIELDS`] that were sent, in [`FIELDS`] order.
pub fn form(content_type: &str, body: &[u8]) -> Result<Vec<(&'static str, String)>, Refusal> {
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    let body = http_body_util::Full::new(bytes::Bytes::copy_from_slice(body));
    let fields = ready(form::read(&headers, body, FIELDS))?;
    Ok(sent(&fields))
}

/// A query string (`None` if `/?{q}` is not a valid request target), as the pages read it.
pub fn query(q: &str) -> Option<Result<Vec<(&'static str, String)>, Refusal>> {
    let uri = format!("/?{q}").parse::<http::Uri>().ok()?;
    Some(form::query(&uri, FIELDS).map(|fields| sent(&fields)))
}

/// The people of a contact person's request (`POST /auth/team`), as the flow reads them from a
/// body with this `Content-Type`: `(name, email)` rows as sent, blank rows dropped.
pub fn people(content_type: &str, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    let body = http_body_util::Full::new(bytes::Bytes::copy_from_slice(body));
    ready(form::read_people(&headers, body))
}

/// The online change form (`POST /auth/password/change`), read as the flow reads it before
/// any store is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeForm {
    /// The `next` field, sanitised.
    pub next: Option<String>,
    /// The current password, as typed (accepted by the password rules).
    pub current: String,
    /// The new password, as typed (accepted by the password rules).
    pub password: String,
    /// The `confirm` field, if sent.
    pub confirm: Option<String>,
    /// Whether the new password has the shape of a temporary one (refused by the flow).
    pub temporary_shaped: bool,
}

/// The fields of `/auth/password/change` read from a body with this `Content-Type`, in the
/// flow's order: the body, `next`, the current password, the new one. Passwords are limited by
/// the default `passwords.max_bytes`.
pub fn change_form(content_type: &str, body: &[u8]) -> Result<ChangeForm, Refusal> {
    static HASHER: OnceLock<Hasher> = OnceLock::new();
    let hasher = HASHER.get_or_init(|| {
        let mut config = crate::config::PasswordConfig::default();
        config.hashing_threads = Some(1);
        Hasher::new(&config).expect("the default password parameters are valid")
    });
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    let body = http_body_util::Full::new(bytes::Bytes::copy_from_slice(body));
    let fields = ready(form::read(
        &headers,
        body,
        &["current", "password", "confirm", "next"],
    ))?;
    static LINKS: OnceLock<crate::links::Links> = OnceLock::new();
    let links = LINKS.get_or_init(|| {
        let mut config = crate::config::Config::default();
        config.mail.base_url = "http://127.0.0.1".to_owned();
        crate::links::Links::new(&config)
    });
    let next = fields.next(links)?;
    let current = fields.require("current")?;
    fields.password(hasher, current)?;
    let typed = fields.require("password")?;
    fields.password(hasher, typed)?;
    Ok(ChangeForm {
        next,
        current: current.to_owned(),
        password: typed.to_owned(),
        confirm: fields.get("confirm").map(str::to_owned),
        temporary_shaped: crate::password::temporary::canonical(typed).is_some(),
    })
}

/// The canonical form of a temporary password, if `typed` has its shape.
pub fn temporary_canonical(typed: &str) -> Option<String> {
    crate::password::temporary::canonical(typed)
}

/// The `token` field of the cancel link, as `/auth/password/cancel` checks it.
pub fn cancel_token(value: &str) -> Result<String, Refusal> {
    let encoded = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
    let uri = format!("/?token={encoded}")
        .parse::<http::Uri>()
        .expect("a percent-encoded query is a valid request target");
    let fields = form::query(&uri, &["token"])?;
    cancel::token(&fields).map(str::to_owned)
}

fn sent(fields: &form::Fields) -> Vec<(&'static str, String)> {
    FIELDS
        .iter()
        .filter_map(|name| fields.get(name).map(|v| (*name, v.to_owned())))
        .collect()
}

/// Runs a future that never waits (an in-memory body), without a runtime.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("reading an in-memory body never waits"),
    }
}

/// Whether a user code or an address may never hold `c` (control, invisible, bidi).
pub fn is_forbidden(c: char) -> bool {
    crate::identity::is_forbidden(c)
}
