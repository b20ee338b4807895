//! The demo portal (the example contract): guichet's desk in front of a few pages.
//!
//! ```sh
//! GUICHET_INSECURE_COOKIES=1 cargo run --example portal
//! ```
//!
//! It reads the same `GUICHET_*` variables as the `guichet` command line (see
//! [`guichet::environment`] for the whole table): state in SQLite (`guichet.db` in the working
//! directory) unless `GUICHET_DATABASE_URL` (PostgreSQL) or `GUICHET_REDIS_URL` says otherwise;
//! the accounts of `GUICHET_USERS` imported at every start (or the demo accounts into an empty
//! store); letters over `GUICHET_SMTP_URL`, else as `.eml` files in `GUICHET_OUTBOX`.
//!
//! Routes: `/` (public), `/account` (anyone signed in), `/services/{service}` and everything
//! under it (that service), `/health` (public, bare), `/health/signed-in` (the same answer
//! behind `RequireAuth`, for load tests comparing the two), and the flows under `/auth`.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;
use guichet::environment::{Environment, Import};
use guichet::pages::escape;
use guichet::{Identity, RequireAuth, RequireService, ServiceName};
use serde::Serialize;
use tower::{Layer, ServiceExt};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A start that fails says why in words (not as a debug dump), and exits 1.
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("portal: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let environment = Environment::from_env();
    environment.init_logging();
    if let Some(metrics) = environment.start_metrics().await? {
        tracing::info!(%metrics, "metrics at /metrics");
    }
    let addr = environment.addr()?;
    let opened = environment.open(Import::AtStart).await?;
    let guichet = opened.guichet;
    if let Some(report) = opened.import {
        tracing::info!(
            created = report.created,
            updated = report.updated,
            unchanged = report.unchanged,
            "accounts imported"
        );
    }
    tracing::info!(state = %opened.state, "state opened");

    // The guards sit on the handlers (`handler.layer(guard)`, axum's `Handler::layer`) and the
    // session layer wraps the finished router: the composition with the least per-request work
    // (no extra boxed route level; see the README's "Hot path").
    let router = Router::new()
        .route("/", get(home))
        .route("/health", get(|| async { "ok" }))
        .route(
            "/health/signed-in",
            get((|| async { "ok" }).layer(RequireAuth::new())),
        )
        .route("/account", get(account.layer(RequireAuth::new())))
        // Every path under /services/ is guarded by the service it names, as the store knows
        // it when the request comes (not only the services known at start): the guard is made
        // per request there, which costs a little more than a guard made once.
        .route("/services/{service}", get(service_route))
        .route("/services/{service}/", get(service_route))
        .route("/services/{service}/{*rest}", get(service_route))
        .layer(axum::middleware::map_response(security_headers))
        .nest_service(guichet.prefix(), guichet.flows());
    let app = guichet.session_layer().layer(router);

    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        "guichet portal on http://{} (cookie {}{})",
        listener.local_addr()?,
        guichet.config().cookies.name(),
        if guichet.config().cookies.secure {
            "; Secure: plain-http clients other than browsers on localhost need GUICHET_INSECURE_COOKIES=1"
        } else {
            ""
        }
    );
    let limits = guichet.config().server.clone();
    guichet::server::serve(listener, app, &limits, guichet::server::shutdown_signal()).await?;
    if !guichet.shutdown(std::time::Duration::from_secs(30)).await {
        tracing::warn!("letters still waiting at shutdown stay in the durable queue");
    }
    Ok(())
}

/// The portal's own pages get the security headers guichet gives its pages: nothing inline or
/// from elsewhere, never framed, no sniffing, no referrer to other sites, never cached.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        // Every page may greet whoever is signed in: none belongs in a cache.
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers
            .entry(name)
            .or_insert(header::HeaderValue::from_static(value));
    }
    response
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <link rel=\"stylesheet\" href=\"/auth/assets/guichet.css\"></head><body><main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title)
    ))
}

const SIGN_OUT: &str =
    "<form method=\"post\" action=\"/auth/logout\"><button>Se déconnecter</button></form>";

async fn home(who: Option<Identity>) -> Html<String> {
    let body = match who {
        Some(who) => format!(
            "<p>Bonjour {}.</p><p><a href=\"/account\">Mon compte</a></p>{SIGN_OUT}",
            escape(who.name())
        ),
        None => "<p><a href=\"/auth/login\">Accès au site</a></p>".to_owned(),
    };
    page("Portail", &body)
}

/// `/account` as JSON: the fields borrowed from the identity, written straight out.
#[derive(Serialize)]
struct AccountJson<'a> {
    user_code: &'a str,
    name: &'a str,
    client: &'a str,
    services: &'a [ServiceName],
}

async fn account(who: Identity, format: Format) -> Response {
    if let Format::Json = format {
        return Json(AccountJson {
            user_code: who.user_code().as_str(),
            name: who.name(),
            client: who.client(),
            services: who.services(),
        })
        .into_response();
    }
    let items: String = who
        .services()
        .iter()
        .map(|s| {
            format!(
                "<li><a href=\"/services/{0}\">{0}</a></li>",
                escape(s.as_str())
            )
        })
        .collect();
    page(
        "Mon compte",
        &format!(
            "<p>Code d'utilisateur : <strong>{}</strong></p><p>Nom : {}</p><h2>Services</h2><ul>{items}</ul>{SIGN_OUT}",
            escape(who.user_code().as_str()),
            escape(who.name())
        ),
    )
    .into_response()
}

/// A service page as JSON.
#[derive(Serialize)]
struct ServiceJson<'a> {
    path: &'a str,
    user_code: &'a str,
}

/// `/services/{service}` and everything under it: [`RequireService`] for the service the path
/// names, made per request, so a service customer service adds while the portal runs is served
/// at once, and a path naming a service nobody has is refused like any other (no `404` that would
/// tell which services exist). The name is the path's segment as sent, not percent-decoded: a
/// segment that is not a service's exact name names a service nobody has.
async fn service_route(request: Request) -> Response {
    let service = request
        .uri()
        .path()
        .strip_prefix("/services/")
        .and_then(|rest| rest.split('/').next())
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned);
    let Some(service) = service else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match RequireService::new(service)
        .layer(service_page.with_state(()))
        .oneshot(request)
        .await
    {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

async fn service_page(who: Identity, format: Format, uri: axum::http::Uri) -> Response {
    if let Format::Json = format {
        return Json(ServiceJson {
            path: uri.path(),
            user_code: who.user_code().as_str(),
        })
        .into_response();
    }
    page(
        uri.path(),
        &format!("<p>Bienvenue, {}.</p>", escape(who.name())),
    )
    .into_response()
}

/// What the client asked for (`Accept: application/json` or not), read where the header is:
/// taking the request's `HeaderMap` would copy every header of every request.
enum Format {
    Json,
    Html,
}

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(if wants_json(&parts.headers) {
            Format::Json
        } else {
            Format::Html
        })
    }
}
