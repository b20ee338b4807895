//! guichet on plain hyper, without axum: the layers are generic over any `http::Request<B>`.
//!
//! ```sh
//! cargo run --example hyper
//! curl -i http://127.0.0.1:3001/private          # 401
//! ```
//!
//! The router is a small `match` on the path; the client's address is handed to guichet through
//! the `PeerAddr` request extension (axum's `ConnectInfo` plays that role elsewhere).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::{service_fn, BoxError, Layer, ServiceBuilder, ServiceExt};

use guichet::limit::PeerAddr;
use guichet::mail::Outbox;
use guichet::store::memory::{AccountsFile, MemoryStore};
use guichet::{Guichet, RequireAuth, Session};

type Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

fn text(body: &'static str) -> Response<Body> {
    boxed(Response::new(Full::new(Bytes::from_static(
        body.as_bytes(),
    ))))
}

/// One body type for every branch of the router.
fn boxed<B>(response: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    response.map(|body| body.map_err(Into::into).boxed())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = guichet::Config::default();
    config.cookies.secure = false; // plain http on loopback
    config.mail.from = "Guichet <no-reply@localhost>".into();
    config.mail.customer_service_phone = "1 800 555-0199 (demo)".into();
    config.mail.customer_service_hours = "8 h à 17 h".into();
    let guichet = Guichet::builder()
        .base_url("http://127.0.0.1:3001")
        .config(config)
        .store(MemoryStore::new())
        .directory(AccountsFile::demo())
        .mailer(Outbox::new("outbox")?)
        .build()?;

    // A protected handler: behind RequireAuth, the session already knows who is there.
    let private = RequireAuth::new().layer(service_fn(|request: Request<Incoming>| async move {
        let name = request
            .extensions()
            .get::<Session>()
            .and_then(Session::identity_now)
            .map(|who| who.name().to_owned());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "Bonjour {}",
            name.unwrap_or_default()
        )))))
    }));
    let flows = guichet.flows();
    let prefix = guichet.prefix().to_owned();

    let router = service_fn(move |request: Request<Incoming>| {
        let (private, flows, prefix) = (private.clone(), flows.clone(), prefix.clone());
        async move {
            let path = request.uri().path();
            let response: Response<Body> = if path.starts_with(&format!("{prefix}/")) {
                boxed(
                    flows
                        .oneshot(request)
                        .await
                        .unwrap_or_else(|never| match never {}),
                )
            } else if path == "/private" {
                boxed(
                    private
                        .oneshot(request)
                        .await
                        .unwrap_or_else(|never| match never {}),
                )
            } else {
                text("public")
            };
            Ok::<_, Infallible>(response)
        }
    });
    let app = ServiceBuilder::new()
        .layer(guichet.session_layer())
        .service(router);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("hyper + guichet on http://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        let app = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(PeerAddr(peer));
                request
            });
        tokio::spawn(async move {
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
                .await;
            if let Err(error) = served {
                eprintln!("connection from {peer}: {error}");
            }
        });
    }
}
