//! `GUICHET_METRICS_ADDR`: the Prometheus exporter of the binary and the portal example, on a
//! listener of its own (so that `/metrics` is never reachable through the public port).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_service::Service;

use super::{variable, SetupError};
use crate::config::ServerConfig;

/// Latency buckets, in seconds: a memory-store guard decides in microseconds, a sign-in takes
/// tens of milliseconds of argon2, a stuck store seconds.
const BUCKETS: &[f64] = &[
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// Installs the Prometheus recorder and serves `GET /metrics` on `addr` until the process
/// ends. Call it before building the guichet, which takes its metric handles then.
pub(super) async fn start(addr: SocketAddr) -> Result<SocketAddr, SetupError> {
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .map_err(|e| variable("GUICHET_METRICS_ADDR", e))?
        .install_recorder()
        .map_err(|e| variable("GUICHET_METRICS_ADDR", e))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| variable("GUICHET_METRICS_ADDR", format!("{addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| variable("GUICHET_METRICS_ADDR", e))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    tokio::spawn(async move {
        let limits = ServerConfig::default();
        let endpoint = Endpoint { handle };
        if let Err(error) =
            crate::server::serve(listener, endpoint, &limits, std::future::pending()).await
        {
            tracing::error!(target: "guichet", %error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

/// `GET /metrics`: the Prometheus text format; anything else `404`.
#[derive(Clone)]
struct Endpoint {
    handle: PrometheusHandle,
}

impl<B> Service<Request<B>> for Endpoint {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let response = if request.uri().path() == "/metrics" {
            let mut response = Response::new(Full::new(Bytes::from(self.handle.render())));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        } else {
            let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        };
        Box::pin(std::future::ready(Ok(response)))
    }
}
