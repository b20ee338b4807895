use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tower_cookies::{CookieManager, Cookies};
use tower_layer::Layer;
use tower_service::Service;

use crate::desk::Desk;
use crate::session::Session;

/// Puts a lazy [`Session`] into every request's extensions (and manages the cookie). It never
/// refuses a request and never touches a store by itself: guards, the extractor and the flows
/// decide. Put it outermost, around the guarded routes *and* the flows.
///
/// ```
/// # fn demo(guichet: guichet::Guichet) {
/// use axum::{routing::get, Router};
/// use guichet::RequireAuth;
///
/// let app: Router = Router::new()
///     .route("/account", get(|| async { "mine" }).layer(RequireAuth::new()))
///     .nest_service(guichet.prefix(), guichet.flows())
///     .layer(guichet.session_layer());
/// # }
/// ```
#[derive(Clone)]
pub struct SessionLayer {
    desk: Arc<Desk>,
}

impl SessionLayer {
    pub(crate) fn new(desk: Arc<Desk>) -> Self {
        Self { desk }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = CookieManager<SessionService<S>>;

    fn layer(&self, inner: S) -> Self::Service {
        CookieManager::new(SessionService {
            inner,
            desk: Arc::clone(&self.desk),
        })
    }
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer").finish_non_exhaustive()
    }
}

/// The service made by [`SessionLayer`] (inside tower-cookies' `CookieManager`).
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    desk: Arc<Desk>,
}

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let cookies = request
            .extensions()
            .get::<Cookies>()
            .cloned()
            .unwrap_or_default();
        let session = Session::new(Arc::clone(&self.desk), cookies, request.headers());
        request.extensions_mut().insert(session);
        self.inner.call(request)
    }
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}
