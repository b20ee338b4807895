//! Another origin on 127.0.0.1 (its own port), as a portal's CDN: it serves the brand's logo
//! and stylesheet, so that the pages' CSP has another origin to allow, and only that one.

use std::net::SocketAddr;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

/// The logo: a small square, in the accent the brand test configures.
const LOGO: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"40\" \
                    viewBox=\"0 0 120 40\"><rect width=\"120\" height=\"40\" fill=\"#1b5e20\"/></svg>";

/// The portal's own stylesheet: something the test can see applied.
const STYLESHEET: &str = "h1 { font-style: italic; }\n";

/// The running origin; ended when dropped.
pub struct Elsewhere {
    pub origin: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Elsewhere {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Elsewhere {
    /// Serves `/logo.svg` and `/portal.css` on a free port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr: SocketAddr = listener.local_addr().expect("a bound address");
        let app = Router::new()
            .route(
                "/logo.svg",
                get(|| async { ([(CONTENT_TYPE, "image/svg+xml")], LOGO) }),
            )
            .route(
                "/portal.css",
                get(|| async { ([(CONTENT_TYPE, "text/css")], STYLESHEET) }),
            );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            origin: format!("http://{addr}"),
            server,
        }
    }
}
