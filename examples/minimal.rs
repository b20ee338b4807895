//! The smallest guichet application: one public handler, one protected handler, the flows
//! under `/auth`, and the session layer around the router. Nothing else: no pages of its own,
//! no security headers, served by plain `axum::serve`.
//!
//! ```sh
//! GUICHET_INSECURE_COOKIES=1 GUICHET_ADDR=127.0.0.1:3002 cargo run --release --example minimal
//! curl -i http://127.0.0.1:3002/protected      # 401; a browser is sent to /auth/login (303)
//! ```
//!
//! It opens its state from the same `GUICHET_*` variables as the portal example (see
//! [`guichet::environment`]): SQLite by default, PostgreSQL or Redis on request, the demo
//! accounts in an empty store.
//!
//! Routes: `/health` (`"ok"`, public), `/protected` (the same `"ok"` behind [`RequireAuth`]),
//! `/identity` (the same `"ok"` from a handler that takes the [`Identity`] extractor instead
//! of a guard layer), and the flows under `/auth`.
//!
//! This is also what the benchmarks (`scripts/pairs.sh minimal`) set beside the peer's bare
//! axum handler: the same `"ok"`, the same server loop, and guichet's session layer and guard
//! added, so that the ratio is guichet's own cost per signed-in request. It is not a template
//! for production: a service that faces the internet serves with [`guichet::server::serve`]
//! (header timeouts, a connection cap, graceful shutdown) and drains the mail queue with
//! `Guichet::shutdown` before it exits, as the portal example does; and an empty store gets
//! the demo accounts, whose passwords are public.

use std::net::SocketAddr;

use axum::handler::Handler;
use axum::routing::get;
use axum::Router;
use guichet::environment::{Environment, Import};
use guichet::{Identity, RequireAuth};
use tower::Layer;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A start that fails says why in words (not as a debug dump), and exits 1.
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("minimal: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let environment = Environment::from_env();
    environment.init_logging();
    let addr = environment.addr()?;
    let guichet = environment.open(Import::AtStart).await?.guichet;

    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/protected",
            get((|| async { "ok" }).layer(RequireAuth::new())),
        )
        .route("/identity", get(|_: Identity| async { "ok" }))
        .nest_service(guichet.prefix(), guichet.flows());
    // Around the finished router: no extra boxed level per route (see the README's "Hot path").
    let app = guichet.session_layer().layer(router);

    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("guichet minimal on http://{}", listener.local_addr()?);
    // `ConnectInfo` gives the sign-in limits the client's address.
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            SocketAddr,
        >(app),
    )
    .await?;
    Ok(())
}
