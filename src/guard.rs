//! Authorisation layers: [`RequireAuth`] (anyone signed in) and [`RequireService`] (signed in
//! and subscribed to a service).
//!
//! A guard asks the request's [`Session`] who is there and either passes the request on (the
//! route then reads who it is with the [`Identity`] extractor, or
//! [`Session::identity_now`] without axum), or answers itself (see [`deny`](crate::deny) for the
//! answers, and how to choose others). A guard never lets a request through when it cannot tell
//! who is asking: a store that cannot answer gives `503`.
//!
//! ```
//! use axum::{handler::Handler, routing::get, Router};
//! use guichet::{RequireAuth, RequireService};
//!
//! let app: Router = Router::new()
//!     // On the handler (axum's `Handler::layer`)...
//!     .route("/account", get((|| async { "mine" }).layer(RequireAuth::new())))
//!     // ...or on the route: the same answers, but axum boxes the layered route and its
//!     // future once more per request.
//!     .route("/services/collection", get(|| async { "collection" }).layer(RequireService::new("collection")));
//! ```
//!
//! Cost: with stores that answer from process memory, a guard decides before calling the inner
//! service, with no allocation of its own and no extra future; otherwise it waits for the
//! stores in one boxed future.

use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::deny::Denial;
use crate::error::StoreError;
use crate::identity::{Identity, ServiceName};
use crate::respond::Body;
use crate::session::{Session, SessionState};

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
    service: ServiceName,
    no_store: bool,
}

impl RequireService {
    /// The guard for `service`, e.g. `RequireService::new("collection")`.
    pub fn new(service: impl AsRef<str>) -> Self {
        Self {
            service: ServiceName::new(service),
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
    service: Option<ServiceName>,
    no_store: bool,
}

impl<S> Guarded<S> {
    /// The guarded service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The guarded service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The guarded service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
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
        cx: &mut task::Context<'_>,
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

/// Who may pass: the identity, or why not.
pub(crate) fn verdict(
    state: Result<SessionState, StoreError>,
    service: Option<&ServiceName>,
) -> Result<Identity, Denial> {
    match state {
        Err(_) => Err(Denial::Unavailable),
        Ok(SessionState::MustChoosePassword(_)) => Err(Denial::PasswordMustBeSet),
        Ok(SessionState::SignedIn(identity)) => match service {
            Some(s) if !identity.has_service(s.as_str()) => Err(Denial::MissingService(s.clone())),
            _ => Ok(identity),
        },
        Ok(_) => Err(Denial::SignInRequired),
    }
}

/// The answer to a refused request; a session cookie that led nowhere is cleared with it.
async fn refuse(
    session: &Session,
    denial: Denial,
    request: &http::request::Parts,
) -> Response<Body> {
    let forget = denial == Denial::SignInRequired && session.carried_cookie();
    let mut response = session
        .ctx()
        .deny(denial, &request.method, &request.uri, &request.headers)
        .await;
    if forget {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, session.removal());
    }
    response
}

fn without_session<B>() -> Response<GuardBody<B>> {
    tracing::error!(target: "guichet", "a guard runs without guichet's SessionLayer around it; refusing");
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    refused(response)
}

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of a [`Guarded`] service.
    pub struct GuardFuture<F, B, E> {
        #[pin]
        state: Guarding<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = GuardingProjection]
    enum Guarding<F, B, E> {
        /// Decided at once: the inner service's future.
        Passed { #[pin] inner: F, no_store: bool },
        /// Waiting for the stores, or answering a refusal.
        Waiting { future: Boxed<Result<Response<GuardBody<B>>, E>> },
        /// Decided at once: refused with this answer.
        Ready { response: Option<Response<GuardBody<B>>> },
    }
}

impl<F, B, E> Future for GuardFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<GuardBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            GuardingProjection::Passed { inner, no_store } => {
                let no_store = *no_store;
                inner
                    .poll(cx)
                    .map(|result| result.map(|response| passed(response, no_store)))
            }
            GuardingProjection::Waiting { future } => future.as_mut().poll(cx),
            GuardingProjection::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}

impl<F, B, E> std::fmt::Debug for GuardFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardFuture").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Guarded<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let started = std::time::Instant::now();
        let Some(session) = request.extensions().get::<Session>() else {
            let response = Some(without_session());
            return GuardFuture {
                state: Guarding::Ready { response },
            };
        };
        // Stores that answer from memory decide here, and the inner service is called at once.
        if let Some(state) = session.state_now() {
            if verdict(state, self.service.as_ref()).is_ok() {
                session.ctx().meters.guard(started);
                return GuardFuture {
                    state: Guarding::Passed {
                        inner: self.inner.call(request),
                        no_store: self.no_store,
                    },
                };
            }
        }
        // The clone that was polled ready serves this request; the fresh one waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let service = self.service.clone();
        let no_store = self.no_store;
        let future = Box::pin(async move {
            let state = match request.extensions().get::<Session>() {
                Some(session) => session.state().await,
                None => return Ok(without_session()),
            };
            if let Some(session) = request.extensions().get::<Session>() {
                session.ctx().meters.guard(started);
            }
            match verdict(state, service.as_ref()) {
                // The session keeps the identity it worked out: the route reads it from there,
                // so passing costs no allocation.
                Ok(_) => {
                    let response = inner.call(request).await?;
                    Ok(passed(response, no_store))
                }
                Err(denial) => {
                    let (parts, _) = request.into_parts();
                    match parts.extensions.get::<Session>() {
                        Some(session) => Ok(refused(refuse(session, denial, &parts).await)),
                        None => Ok(without_session()),
                    }
                }
            }
        });
        GuardFuture {
            state: Guarding::Waiting { future },
        }
    }
}
