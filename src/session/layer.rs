use std::sync::Arc;
use std::task::{self, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::context::Context;
use crate::session::Session;

/// Puts a lazy [`Session`] into every request's extensions. It never refuses a request, never
/// touches a store, and does nothing to the response: guards, extractors and the flows decide,
/// and the flows set the session cookie on their own answers. A route that never asks who is
/// signed in pays one small allocation. Put it around the guarded routes *and* the
/// flows (and inside tracing or CORS layers, which then see guichet's answers too).
///
/// ```
/// # fn demo(guichet: guichet::Guichet) {
/// use axum::{handler::Handler, routing::get, Router};
/// use guichet::RequireAuth;
///
/// let app: Router = Router::new()
///     .route("/account", get((|| async { "mine" }).layer(RequireAuth::new())))
///     .nest_service(guichet.prefix(), guichet.flows())
///     .layer(guichet.session_layer());
/// # }
/// ```
///
/// `Router::layer` makes axum box every route and its future once more per request; wrapping
/// the finished router instead (`guichet.session_layer().layer(router)`, a
/// [`SessionService`]) does the same job without that.
#[derive(Clone)]
pub struct SessionLayer {
    ctx: Arc<Context>,
}

impl SessionLayer {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            ctx: Arc::clone(&self.ctx),
        }
    }
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer").finish_non_exhaustive()
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    ctx: Arc<Context>,
}

impl<S> SessionService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let session = Session::new(Arc::clone(&self.ctx), request.headers());
        request.extensions_mut().insert(session);
        self.inner.call(request)
    }
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}
