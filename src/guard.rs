//! Authorisation layers: [`RequireAuth`] (anyone signed in) and [`RequireService`] (signed in
//! and subscribed to a service).
//!
//! A guard resolves the request's [`Session`] and either passes the request on, with the
//! [`Identity`] in its extensions, or answers itself:
//!
//! | situation | browser (`Accept: text/html`) | other clients |
//! | --- | --- | --- |
//! | not signed in | `303` to the sign-in page with `?next=` | `401` JSON |
//! | signed in with a temporary password | `303` to the choose-password page | `403` JSON |
//! | missing the route's service | `403` page | `403` JSON |
//! | a store cannot answer | `503` page + `Retry-After` | `503` JSON + `Retry-After` |
//!
//! Applications choose other answers with [`GuichetBuilder::deny_with`](crate::GuichetBuilder::deny_with).
//! A guard never lets a request through when it cannot tell who is asking.
//!
//! ```
//! use axum::{routing::get, Router};
//! use guichet::{RequireAuth, RequireService};
//!
//! let app: Router = Router::new()
//!     .route("/account", get(|| async { "mine" }).layer(RequireAuth::new()))
//!     .route("/services/collection", get(|| async { "collection" }).layer(RequireService::new("collection")));
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use tower_layer::Layer;
use tower_service::Service;

use crate::desk::Desk;
use crate::flows::{next_from_uri, urlencode};
use crate::identity::{Identity, Service as Subscription};
use crate::respond::{self, Body};
use crate::session::{Session, SessionState};

/// Why a guard refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// Nobody is signed in (or the session died).
    SignInRequired,
    /// Signed in with a temporary password: a password must be chosen first.
    PasswordMustBeSet,
    /// Signed in, but without the route's service.
    MissingService(Subscription),
    /// A store could not answer; the guard fails closed.
    Unavailable,
}

/// The parts of a refused request a [`Deny`] implementation may look at.
#[derive(Debug)]
#[non_exhaustive]
pub struct Denied<'a> {
    /// Why.
    pub denial: Denial,
    /// The request method.
    pub method: &'a Method,
    /// The request URI.
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

/// Chooses the response to a refused request. Return `None` to keep guichet's default for that
/// case. Closures `Fn(&Denied) -> Option<Response<Full<Bytes>>>` implement it.
pub trait Deny: Send + Sync + 'static {
    /// The response, or `None` for the default.
    fn deny(&self, denied: &Denied<'_>) -> Option<Response<Body>>;
}

impl<F> Deny for F
where
    F: Fn(&Denied<'_>) -> Option<Response<Body>> + Send + Sync + 'static,
{
    fn deny(&self, denied: &Denied<'_>) -> Option<Response<Body>> {
        self(denied)
    }
}

/// The answer to a refused request: the application's [`Deny`] if it gives one, else the default.
pub(crate) fn answer(desk: &Desk, denied: &Denied<'_>) -> Response<Body> {
    desk.denials
        .as_ref()
        .and_then(|deny| deny.deny(denied))
        .unwrap_or_else(|| default_denial(desk, denied))
}

/// guichet's default answers (see the module docs' table).
fn default_denial(desk: &Desk, denied: &Denied<'_>) -> Response<Body> {
    let browser = respond::is_browser(denied.headers);
    match &denied.denial {
        Denial::SignInRequired if browser => {
            let location = match next_from_uri(denied.uri) {
                Some(next) => format!("{}?next={}", desk.login_path(), urlencode(&next)),
                None => desk.login_path(),
            };
            respond::redirect(&location)
        }
        Denial::SignInRequired => respond::message(
            desk,
            denied.headers,
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
            |m| m.sign_in_required,
        ),
        Denial::PasswordMustBeSet if browser => respond::redirect(&desk.set_password_path()),
        Denial::PasswordMustBeSet => respond::message(
            desk,
            denied.headers,
            StatusCode::FORBIDDEN,
            "password_must_be_set",
            |m| m.password_must_be_set,
        ),
        Denial::MissingService(_) => respond::message(
            desk,
            denied.headers,
            StatusCode::FORBIDDEN,
            "missing_service",
            |m| m.missing_service,
        ),
        Denial::Unavailable => {
            respond::refusal(desk, denied.headers, &crate::error::Refusal::Unavailable)
        }
    }
}

/// Lets a request through only if someone is signed in (with a normal, not restricted, session).
///
/// Responses it lets through get `Cache-Control: no-store` unless the route set its own
/// `Cache-Control`: a signed-in page must not be kept by a shared cache or in the history of a
/// shared computer. [`keep_out_of_caches(false)`](Self::keep_out_of_caches) turns it off.
#[derive(Debug, Clone)]
pub struct RequireAuth {
    no_store: bool,
}

impl Default for RequireAuth {
    fn default() -> Self {
        Self { no_store: true }
    }
}

impl RequireAuth {
    /// The guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether responses let through get `Cache-Control: no-store` when the route set no
    /// `Cache-Control` of its own (default: yes).
    pub fn keep_out_of_caches(mut self, no_store: bool) -> Self {
        self.no_store = no_store;
        self
    }
}

/// Lets a request through only if someone is signed in and subscribes to a service. Like
/// [`RequireAuth`], it keeps the responses it lets through out of caches by default.
#[derive(Debug, Clone)]
pub struct RequireService {
    service: Subscription,
    no_store: bool,
}

impl RequireService {
    /// The guard for `service`, e.g. `RequireService::new("collection")`.
    pub fn new(service: impl AsRef<str>) -> Self {
        Self {
            service: Subscription::new(service),
            no_store: true,
        }
    }

    /// Whether responses let through get `Cache-Control: no-store` when the route set no
    /// `Cache-Control` of its own (default: yes).
    pub fn keep_out_of_caches(mut self, no_store: bool) -> Self {
        self.no_store = no_store;
        self
    }
}

impl<S> Layer<S> for RequireAuth {
    type Service = Guarded<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner,
            service: None,
            no_store: self.no_store,
        }
    }
}

impl<S> Layer<S> for RequireService {
    type Service = Guarded<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner,
            service: Some(self.service.clone()),
            no_store: self.no_store,
        }
    }
}

/// A service behind [`RequireAuth`] or [`RequireService`].
#[derive(Debug, Clone)]
pub struct Guarded<S> {
    inner: S,
    service: Option<Subscription>,
    no_store: bool,
}

pin_project_lite::pin_project! {
    /// The body of a guarded route: the inner service's, or guichet's own when it refused.
    /// Its error type is the inner body's, so wrapping a route changes nothing for error handling.
    pub struct GuardBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProjection]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Refused { #[pin] body: Body },
    }
}

impl<B> http_body::Body for GuardBody<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProjection::Inner { body } => body.poll_frame(cx),
            KindProjection::Refused { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|f| f.map_err(|never| match never {}))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Refused { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Refused { body } => body.size_hint(),
        }
    }
}

impl<B> std::fmt::Debug for GuardBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Refused { .. } => "Refused",
        };
        f.debug_tuple("GuardBody").field(&kind).finish()
    }
}

fn passed<B>(mut response: Response<B>, no_store: bool) -> Response<GuardBody<B>> {
    if no_store {
        response
            .headers_mut()
            .entry(http::header::CACHE_CONTROL)
            .or_insert(http::HeaderValue::from_static("no-store"));
    }
    response.map(|body| GuardBody {
        kind: Kind::Inner { body },
    })
}

fn refused<B>(response: Response<Body>) -> Response<GuardBody<B>> {
    response.map(|body| GuardBody {
        kind: Kind::Refused { body },
    })
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Guarded<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes>,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this request; the fresh one waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let service = self.service.clone();
        let no_store = self.no_store;
        Box::pin(async move {
            let Some(session) = request.extensions().get::<Session>().cloned() else {
                tracing::error!(target: "guichet", "a guard runs without guichet's SessionLayer around it; refusing");
                let mut response = Response::new(Body::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                return Ok(refused(response));
            };
            let verdict = match session.state().await {
                Err(_) => Err(Denial::Unavailable),
                Ok(SessionState::MustChoosePassword(_)) => Err(Denial::PasswordMustBeSet),
                Ok(SessionState::SignedIn(identity)) => match &service {
                    Some(s) if !identity.has_service(s.as_str()) => {
                        Err(Denial::MissingService(s.clone()))
                    }
                    _ => Ok(identity),
                },
                Ok(_) => Err(Denial::SignInRequired),
            };
            match verdict {
                Ok(identity) => {
                    request.extensions_mut().insert::<Identity>(identity);
                    let response = inner.call(request).await?;
                    Ok(passed(response, no_store))
                }
                Err(denial) => {
                    let desk = session.desk();
                    let denied = Denied {
                        denial,
                        method: request.method(),
                        uri: request.uri(),
                        headers: request.headers(),
                    };
                    Ok(refused(answer(desk, &denied)))
                }
            }
        })
    }
}
