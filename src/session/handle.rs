use std::sync::{Arc, OnceLock};

use http::header::{self, HeaderMap, HeaderValue};
use tokio::sync::OnceCell;
use tower_cookies::cookie::SameSite;
use tower_cookies::Cookie;

use crate::config::CookieConfig;
use crate::context::Context;
use crate::error::StoreError;
use crate::identity::{Account, Identity};
use crate::session::{cookie_value, lifecycle, SessionCookie};

/// The request's session, put into the request extensions by the
/// [`SessionLayer`](super::SessionLayer). Nothing is read until someone asks who is signed in;
/// the answer is then worked out once per request, and guards, extractors and handlers share it.
///
/// With axum, take [`Identity`] or `Option<Identity>` in a handler rather than this. With plain
/// hyper, read it from the request: `request.extensions().get::<Session>()`.
#[derive(Clone)]
pub struct Session {
    ctx: Arc<Context>,
    /// The request's `Cookie` header, as sent (several are joined).
    cookies: Option<HeaderValue>,
    /// The answer, once known: read without waiting (a `std` cell, which costs a signed-in
    /// request nothing beyond storing it).
    state: OnceLock<Result<SessionState, StoreError>>,
    /// The stores' answer when it had to be waited for (tokio's cell: one reading however
    /// many wait); only that path touches it.
    asked: OnceCell<Result<SessionState, StoreError>>,
}

/// Who a request's session says is there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionState {
    /// Nobody: no session cookie, or a session that ended.
    Anonymous,
    /// Signed in with a temporary password: a restricted session, whose only door is choosing a
    /// password. Treat it as anonymous everywhere else.
    MustChoosePassword(Identity),
    /// Signed in.
    SignedIn(Identity),
}

/// What one session cookie in a request says (borrowed from the request's `Cookie` header).
enum Sent<'a> {
    /// No session cookie.
    Nothing,
    /// One readable session cookie.
    Cookie(SessionCookie<'a>),
    /// Something unusable: malformed, or several cookies of our name (one may have been planted
    /// by a sibling sub-domain, so none is trusted).
    Unusable,
}

impl Session {
    pub(crate) fn new(ctx: Arc<Context>, headers: &HeaderMap) -> Self {
        let mut all = headers.get_all(header::COOKIE).iter();
        let cookies = match (all.next(), all.next()) {
            (None, _) => None,
            (Some(one), None) => Some(one.clone()),
            (Some(_), Some(_)) => {
                let joined: Vec<&[u8]> = headers
                    .get_all(header::COOKIE)
                    .iter()
                    .map(HeaderValue::as_bytes)
                    .collect();
                HeaderValue::from_bytes(&joined.join(&b"; "[..])).ok()
            }
        };
        Self {
            ctx,
            cookies,
            state: OnceLock::new(),
            asked: OnceCell::new(),
        }
    }

    /// Who is signed in: `Ok(None)` for anonymous (or ended) sessions and for restricted ones
    /// (opened with a temporary password, see [`state`](Self::state)); `Err` when a store
    /// could not answer (fail closed: treat it as "cannot tell", never as signed in).
    pub async fn identity(&self) -> Result<Option<Identity>, StoreError> {
        Ok(match self.state().await? {
            SessionState::SignedIn(identity) => Some(identity),
            _ => None,
        })
    }

    /// Who is signed in, if that is already known: behind [`RequireAuth`](crate::RequireAuth)
    /// or [`RequireService`](crate::RequireService) it always is (the guard worked it out), so
    /// a handler that is not async, or a plain hyper service, reads it here. `None` for
    /// anonymous and restricted sessions, and when nobody asked yet (then use
    /// [`identity`](Self::identity)).
    pub fn identity_now(&self) -> Option<Identity> {
        match self.state.get() {
            Some(Ok(SessionState::SignedIn(identity))) => Some(identity.clone()),
            _ => None,
        }
    }

    /// Everything the session says, restricted sessions included.
    pub async fn state(&self) -> Result<SessionState, StoreError> {
        if let Some(known) = self.state_now() {
            return known;
        }
        // Futures of one request asking at once wait for one reading of the stores, so an
        // ended session is closed (and audited) once.
        let resolved = self
            .asked
            .get_or_init(|| async {
                match self.sent() {
                    Sent::Cookie(cookie) => lifecycle::resolve(&self.ctx, &cookie)
                        .await
                        .inspect_err(|e| crate::metrics::store_error("sessions", e)),
                    Sent::Nothing | Sent::Unusable => Ok(SessionState::Anonymous),
                }
            })
            .await;
        self.state.get_or_init(|| resolved.clone()).clone()
    }

    /// The answer if it is known without waiting: already worked out, no session cookie, or
    /// stores that answer from process memory. `None`: ask [`state`](Self::state).
    pub(crate) fn state_now(&self) -> Option<Result<SessionState, StoreError>> {
        if let Some(known) = self.state.get() {
            return Some(known.clone());
        }
        let now = match self.sent() {
            Sent::Cookie(cookie) => lifecycle::resolve_now(&self.ctx, &cookie)?,
            Sent::Nothing | Sent::Unusable => Ok(SessionState::Anonymous),
        };
        Some(self.state.get_or_init(|| now).clone())
    }

    /// The request carried a session cookie (usable or not): when it leads nowhere, the answer
    /// should tell the browser to forget it.
    pub(crate) fn carried_cookie(&self) -> bool {
        !matches!(self.sent(), Sent::Nothing)
    }

    pub(crate) fn ctx(&self) -> &Arc<Context> {
        &self.ctx
    }

    fn sent(&self) -> Sent<'_> {
        let Some(cookies) = self.cookies.as_ref() else {
            return Sent::Nothing;
        };
        // Bytes, not `to_str`: another site's cookie with bytes beyond ASCII in the same
        // header must not sign anyone out; only our own cookie's value has to be readable.
        let name = self.ctx.config.cookies.name().as_bytes();
        let mut values = cookies
            .as_bytes()
            .split(|&b| b == b';')
            .filter_map(|pair| value_of(pair, name));
        match (values.next(), values.next()) {
            (None, _) => Sent::Nothing,
            (Some(value), None) => std::str::from_utf8(value)
                .ok()
                .and_then(SessionCookie::parse)
                .map_or(Sent::Unusable, Sent::Cookie),
            (Some(_), Some(_)) => Sent::Unusable,
        }
    }

    /// Signs `account` in: the session this request came with (if any) is destroyed and a new
    /// one, with a new id, is opened; returns the `Set-Cookie` value to send. This rotation is
    /// what defeats session fixation. `restricted` names the temporary password of a
    /// restricted session.
    pub(crate) async fn rotate(
        &self,
        account: &Account,
        epoch: u64,
        restricted: Option<Arc<str>>,
    ) -> Result<HeaderValue, StoreError> {
        if let Sent::Cookie(old) = self.sent() {
            lifecycle::close(&self.ctx, &old.id).await?;
        }
        let id = lifecycle::open(&self.ctx, account, epoch, restricted).await?;
        let value = cookie_value(&id, account.code.as_str());
        Ok(set_cookie(&self.ctx.config.cookies, value))
    }

    /// Signs out: destroys the session server-side and returns the `Set-Cookie` that clears
    /// it. If the store cannot destroy it, the error comes back and the cookie is kept, so that
    /// signing out can be tried again (a browser that forgot a session still alive on the
    /// server would give a false sense of safety).
    pub(crate) async fn end(&self) -> Result<HeaderValue, StoreError> {
        if let Sent::Cookie(old) = self.sent() {
            lifecycle::close(&self.ctx, &old.id).await?;
        }
        Ok(self.removal())
    }

    /// The `Set-Cookie` that tells the browser to forget the session cookie.
    pub(crate) fn removal(&self) -> HeaderValue {
        let mut removal = cookie(&self.ctx.config.cookies, String::new());
        removal.make_removal();
        header_value(&removal)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("has_cookie", &self.cookies.is_some())
            .finish_non_exhaustive()
    }
}

/// The value of one `name=value` pair of a `Cookie` header if it is named `name`: spaces and
/// tabs around the name and the value, and double quotes around the value, are not part of
/// them.
fn value_of<'a>(pair: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let rest = pair.trim_ascii_start().strip_prefix(name)?;
    let value = rest.trim_ascii_start().strip_prefix(b"=")?;
    let value = value.trim_ascii();
    let start = value.iter().position(|&b| b != b'"').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b'"')
        .map_or(start, |last| last + 1);
    Some(&value[start..end])
}

/// The session cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` unless turned off,
/// and `Domain` only when a parent domain is configured.
fn cookie(config: &CookieConfig, value: String) -> Cookie<'static> {
    let mut cookie = Cookie::build((config.name(), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.secure);
    if let Some(domain) = &config.domain {
        cookie = cookie.domain(domain.clone());
    }
    cookie.build()
}

fn set_cookie(config: &CookieConfig, value: String) -> HeaderValue {
    header_value(&cookie(config, value))
}

fn header_value(cookie: &Cookie<'static>) -> HeaderValue {
    // The value is base64url and the attributes are fixed words: always a valid header.
    HeaderValue::from_str(&cookie.encoded().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}
