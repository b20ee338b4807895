//! Thin wrappers that let the fuzz targets (`fuzz/`) reach parsers that are not public.
//!
//! Compiled only under `--cfg fuzzing`, which cargo-fuzz and cargo-afl set; never part of the
//! public API. Each wrapper calls the crate's own parser unchanged and returns what it decided.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::error::Refusal;
use crate::flows::{cancel, form};
use crate::session::SessionCookie;

/// Every field name a flow asks for, so one call reads what any flow would.
pub const FIELDS: &[&str] = &["user_code", "password", "next", "confirm", "code", "token"];

/// The session cookie's value, as [`SessionLayer`](crate::SessionLayer) reads it: the user
/// code it claims, if it is a well-formed cookie.
pub fn session_cookie(value: &str) -> Option<String> {
    SessionCookie::parse(value).map(|cookie| cookie.code().to_owned())
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
