//! `guichet serve`: the desk as a standalone server, for services not written in Rust behind
//! a reverse proxy. Everything under the prefix is the flows (with `/auth/verify` for the
//! proxy's sub-requests); `/health` answers `200 ok` without touching a store, for load
//! balancers' liveness checks.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use guichet::environment::{Environment, Import};
use guichet::flows::Flows;
use guichet::Body;
use http::{header, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

/// The flows, and `/health` beside them.
#[derive(Clone)]
struct Desk {
    flows: Flows,
}

impl<B> Service<Request<B>> for Desk
where
    Flows: Service<Request<B>, Response = Response<Body>, Error = Infallible>,
    <Flows as Service<Request<B>>>::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path() == "/health" {
            let mut response = Response::new(Body::new(Bytes::from_static(b"ok\n")));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return Box::pin(std::future::ready(Ok(response)));
        }
        Box::pin(self.flows.call(request))
    }
}

/// Opens the environment (importing `GUICHET_USERS`), serves until SIGTERM or Ctrl-C, then
/// drains the connections and the mail queue.
pub(crate) async fn run(environment: Environment) -> Result<(), String> {
    let addr = environment.addr().map_err(|e| e.to_string())?;
    if let Some(metrics) = environment
        .start_metrics()
        .await
        .map_err(|e| e.to_string())?
    {
        tracing::info!(%metrics, "metrics at /metrics");
    }
    let opened = environment
        .open(Import::AtStart)
        .await
        .map_err(|e| e.to_string())?;
    let guichet = opened.guichet;
    if let Some(report) = opened.import {
        tracing::info!(
            created = report.created,
            updated = report.updated,
            unchanged = report.unchanged,
            "accounts imported"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("GUICHET_ADDR {addr}: {e}"))?;
    tracing::info!(%addr, state = %opened.state, prefix = guichet.prefix(), "guichet serve listening");
    let desk = guichet.session_layer().layer(Desk {
        flows: guichet.flows(),
    });
    let limits = guichet.config().server.clone();
    guichet::server::serve(listener, desk, &limits, guichet::server::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopping: sending the letters still queued");
    if !guichet.shutdown(Duration::from_secs(30)).await {
        tracing::warn!("letters still queued at exit stay in the durable queue");
    }
    Ok(())
}
