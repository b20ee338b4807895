use std::sync::Arc;

use http::HeaderMap;
use tokio::sync::OnceCell;
use tower_cookies::cookie::SameSite;
use tower_cookies::{Cookie, Cookies};

use crate::config::CookieConfig;
use crate::desk::Desk;
use crate::error::StoreError;
use crate::identity::{Account, Identity};
use crate::session::{lifecycle, SessionCookie};

/// The request's session, put into the request extensions by the [`SessionLayer`](super::SessionLayer).
///
/// Resolving it (who is signed in?) is lazy and done at most once per request: guards, the axum
/// extractor and handlers share the answer.
#[derive(Clone)]
pub struct Session(Arc<State>);

struct State {
    desk: Arc<Desk>,
    cookies: Cookies,
    cookie: Option<SessionCookie>,
    state: OnceCell<Result<SessionState, StoreError>>,
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

impl Session {
    pub(crate) fn new(desk: Arc<Desk>, cookies: Cookies, headers: &HeaderMap) -> Self {
        let name = desk.config.cookies.name();
        let values = session_cookie_values(headers, name);
        let cookie = match values.as_slice() {
            [] => None,
            [value] => SessionCookie::parse(value),
            // Several cookies of our name: one may have been planted (e.g. by a sibling
            // sub-domain). Trust none of them.
            _ => None,
        };
        let unusable = cookie.is_none() && !values.is_empty();
        let session = Self(Arc::new(State {
            desk,
            cookies,
            cookie,
            state: OnceCell::new(),
        }));
        if unusable {
            session.clear_cookie();
        }
        session
    }

    /// Who is signed in: `Ok(None)` for anonymous (or dead) sessions and for restricted ones
    /// (opened with a temporary password, see [`state`](Self::state)); `Err` when a store
    /// could not answer (fail closed: treat it as "cannot tell", never as signed in).
    pub async fn identity(&self) -> Result<Option<Identity>, StoreError> {
        Ok(match self.state().await? {
            SessionState::SignedIn(identity) => Some(identity),
            _ => None,
        })
    }

    /// Everything the session says, restricted sessions included. Resolved once per request;
    /// guards, extractors and handlers share the answer.
    pub async fn state(&self) -> Result<SessionState, StoreError> {
        self.0
            .state
            .get_or_init(|| async {
                let Some(cookie) = &self.0.cookie else {
                    return Ok(SessionState::Anonymous);
                };
                let resolved = lifecycle::resolve(&self.0.desk, cookie).await;
                if matches!(resolved, Ok(SessionState::Anonymous)) {
                    self.clear_cookie();
                }
                resolved
            })
            .await
            .clone()
    }

    pub(crate) fn desk(&self) -> &Arc<Desk> {
        &self.0.desk
    }

    /// Signs `account` in: the session this request came with (if any) is destroyed and a new
    /// one, with a new id, is opened. This rotation is what defeats session fixation.
    pub(crate) async fn rotate(
        &self,
        account: &Account,
        epoch: u64,
        restricted: Option<Arc<str>>,
    ) -> Result<(), StoreError> {
        if let Some(old) = &self.0.cookie {
            lifecycle::close(&self.0.desk, &old.id).await?;
        }
        let id = lifecycle::open(&self.0.desk, account, epoch, restricted).await?;
        let value = SessionCookie {
            id,
            user_code: account.code.clone(),
        };
        self.0
            .cookies
            .add(cookie(&self.0.desk.config.cookies, value.to_value()));
        Ok(())
    }

    /// Signs out: destroys the session server-side, then clears the cookie. If the store
    /// cannot destroy it, the cookie is kept so that signing out can be tried again (a browser
    /// that forgot a session still alive on the server would give a false sense of safety).
    pub(crate) async fn end(&self) -> Result<(), StoreError> {
        if let Some(old) = &self.0.cookie {
            lifecycle::close(&self.0.desk, &old.id).await?;
        }
        self.clear_cookie();
        Ok(())
    }

    fn clear_cookie(&self) {
        let mut removal = cookie(&self.0.desk.config.cookies, String::new());
        removal.make_removal();
        self.0.cookies.add(removal);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("has_cookie", &self.0.cookie.is_some())
            .finish_non_exhaustive()
    }
}

/// The session cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` unless turned off.
fn cookie(config: &CookieConfig, value: String) -> Cookie<'static> {
    Cookie::build((config.name(), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.secure)
        .build()
}

/// Every value sent for cookie `name`, across all `Cookie` headers. Header values that are not
/// visible ASCII are skipped.
fn session_cookie_values<'h>(headers: &'h HeaderMap, name: &str) -> Vec<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (n, v) = pair.split_once('=')?;
            (n.trim() == name).then(|| v.trim().trim_matches('"'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values_are_found_across_headers_and_repeats_are_all_reported() {
        let mut h = HeaderMap::new();
        h.append("cookie", "a=1; guichet=abc".parse().unwrap());
        h.append(
            "cookie",
            "guichet=def; guichet_lang=fr; theme=guichet-dark"
                .parse()
                .unwrap(),
        );
        assert_eq!(session_cookie_values(&h, "guichet"), ["abc", "def"]);
        assert!(session_cookie_values(&h, "__Host-guichet").is_empty());
    }
}
