//! The demo portal (the example contract in DESIGN.md).
//!
//! ```sh
//! GUICHET_INSECURE_COOKIES=1 cargo run --example portal
//! ```
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `GUICHET_ADDR` | `127.0.0.1:3000` | listen address |
//! | `GUICHET_USERS` | built-in demo accounts | path to a TOML accounts file |
//! | `GUICHET_SMTP_URL` | unset: emails are written as `.eml` files to `GUICHET_OUTBOX` | lettre SMTP URL, e.g. `smtp://127.0.0.1:2525` |
//! | `GUICHET_OUTBOX` | `./outbox` | folder for emails when no SMTP URL is set |
//! | `GUICHET_MAIL_FROM` | `Guichet <no-reply@localhost>` | the `From` of emails |
//! | `GUICHET_REDIS_URL` | unset: memory stores | Redis URL; all stores and limits go to Redis. Several URLs separated by commas: the nodes of a Redis Cluster |
//! | `GUICHET_REDIS_PREFIX` | `guichet` | the prefix of every Redis key |
//! | `GUICHET_REDIS_CACHE` | unset | `1`: Redis 6+ client-side caching (RESP3 tracking; single server only) |
//! | `GUICHET_INSECURE_COOKIES` | unset | `1` drops `Secure` for plain-http local use |
//! | `GUICHET_BASE_URL` | `http://{GUICHET_ADDR}` | the public origin links in emails are built from |
//! | `GUICHET_CONFIG` | unset | a TOML file of [`guichet::Config`] (timeouts, limits, hashing parameters, trusted proxies) |
//!
//! Routes: `/` (public), `/account` (any signed-in user), `/services/{service}/...` (that
//! service), `/health` (public, bare: for load tests), and the flows under `/auth`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;
use guichet::config::Config;
use guichet::mail::{Mailer, Outbox, SmtpMailer};
use guichet::pages::escape;
use guichet::store::memory::{AccountsFile, MemoryStore};
use guichet::store::redis::RedisStore;
use guichet::{Guichet, Identity, RequireAuth, RequireService};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let addr: SocketAddr = env("GUICHET_ADDR")
        .as_deref()
        .unwrap_or("127.0.0.1:3000")
        .parse()
        .map_err(|e| format!("GUICHET_ADDR: {e}"))?;

    let mut config: Config = match env("GUICHET_CONFIG") {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("GUICHET_CONFIG {path}: {e}"))?;
            toml::from_str(&text).map_err(|e| format!("GUICHET_CONFIG {path}: {e}"))?
        }
        None => Config::default(),
    };
    if env("GUICHET_INSECURE_COOKIES").as_deref() == Some("1") {
        config.cookies.secure = false;
    }
    let accounts = match env("GUICHET_USERS") {
        Some(path) => AccountsFile::load(path, config.user_codes.case)?,
        None => {
            tracing::info!("no GUICHET_USERS: using the demo accounts (see the README)");
            AccountsFile::demo()
        }
    };
    let services: BTreeSet<String> = accounts
        .accounts()
        .flat_map(|a| a.services.iter().map(|s| s.as_str().to_owned()))
        .collect();

    let base_url = env("GUICHET_BASE_URL").unwrap_or_else(|| format!("http://{addr}"));
    // The demo's customer service; a real portal sets its own in GUICHET_CONFIG.
    if config.mail.customer_service_phone.is_empty() {
        config.mail.customer_service_phone = "1 800 555-0199 (démo)".into();
    }
    if config.mail.customer_service_hours.is_empty() {
        config.mail.customer_service_hours = "lundi au vendredi, 8 h à 17 h".into();
    }
    config.mail.from = env("GUICHET_MAIL_FROM")
        .or_else(|| (!config.mail.from.is_empty()).then(|| config.mail.from.clone()))
        .unwrap_or_else(|| "Guichet <no-reply@localhost>".into());
    let mailer: Arc<dyn Mailer> = match env("GUICHET_SMTP_URL") {
        Some(url) => {
            let smtp = SmtpMailer::from_url(&url)?;
            tracing::info!(mailer = ?smtp, "emails go out over SMTP");
            Arc::new(smtp)
        }
        None => {
            let outbox = Outbox::new(env("GUICHET_OUTBOX").unwrap_or_else(|| "outbox".into()))?;
            tracing::info!(folder = %outbox.folder().display(), "emails are written as .eml files");
            Arc::new(outbox)
        }
    };
    let builder = Guichet::builder()
        .mailer(mailer)
        .base_url(base_url)
        .config(config)
        .directory(accounts);
    let guichet = match env("GUICHET_REDIS_URL") {
        Some(url) => {
            let prefix = env("GUICHET_REDIS_PREFIX").unwrap_or_else(|| "guichet".into());
            let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
            let redis = match nodes.as_slice() {
                [single] if env("GUICHET_REDIS_CACHE").as_deref() == Some("1") => {
                    RedisStore::connect_caching(single, &prefix).await?
                }
                [single] => RedisStore::connect(single, &prefix).await?,
                cluster => RedisStore::connect_cluster(cluster, &prefix).await?,
            };
            tracing::info!(
                ?redis,
                "sessions, credentials, limits and the mail queue live in Redis"
            );
            builder.store(redis)
        }
        None => builder.store(MemoryStore::new()),
    }
    .build()?;

    let mut app = Router::new()
        .route("/", get(home))
        .route("/health", get(|| async { "ok" }))
        .route("/account", get(account).layer(RequireAuth::new()));
    for service in &services {
        let guarded = get(service_page).layer(RequireService::new(service));
        app = app
            .route(&format!("/services/{service}"), guarded.clone())
            .route(&format!("/services/{service}/"), guarded.clone())
            .route(&format!("/services/{service}/{{*rest}}"), guarded);
    }
    let app = app
        .layer(axum::middleware::map_response(security_headers))
        .nest_service(guichet.prefix(), guichet.flows())
        .layer(guichet.session_layer());

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
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped())
    .await?;
    if !guichet.shutdown(std::time::Duration::from_secs(30)).await {
        tracing::warn!("some emails were still waiting for delivery at shutdown");
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
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

async fn account(who: Identity, headers: HeaderMap) -> Response {
    let services: Vec<&str> = who.services().iter().map(|s| s.as_str()).collect();
    if wants_json(&headers) {
        return Json(serde_json::json!({
            "user_code": who.user_code().as_str(),
            "name": who.name(),
            "client": who.client(),
            "services": services,
        }))
        .into_response();
    }
    let items: String = services
        .iter()
        .map(|s| format!("<li><a href=\"/services/{0}\">{0}</a></li>", escape(s)))
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

async fn service_page(who: Identity, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    if wants_json(&headers) {
        return Json(
            serde_json::json!({ "path": uri.path(), "user_code": who.user_code().as_str() }),
        )
        .into_response();
    }
    page(
        uri.path(),
        &format!("<p>Bienvenue, {}.</p>", escape(who.name())),
    )
    .into_response()
}
