//! # guichet — the sign-in desk of a customer portal, as Tower layers
//!
//! `guichet` (French: the service counter) puts cookie-session authentication with argon2id
//! passwords in front of any hyper or axum service: a sign-in page in French and English, a
//! session layer, guards for routes and subscribed services, sign-in throttling that treats
//! known and unknown user codes exactly alike, "email me my password" that never mails a
//! credential to a shared inbox, customer service's tools, and forward auth for services not
//! written in Rust.
//!
//! ```no_run
//! use axum::{handler::Handler, routing::get, Router};
//! use guichet::mail::Outbox;
//! use guichet::store::memory::{AccountsFile, MemoryStore};
//! use guichet::{Config, Guichet, Identity, RequireAuth, RequireService};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::default();
//! config.mail.from = "Portail <no-reply@portal.example>".into();
//! config.mail.customer_service_phone = "1 800 555-0100".into();
//! config.mail.customer_service_hours = "lundi au vendredi, 8 h à 17 h".into();
//! let guichet = Guichet::builder()
//!     .config(config)
//!     .base_url("https://portal.example")
//!     .directory(AccountsFile::load("accounts.toml", Default::default())?)
//!     .store(MemoryStore::new()) // or SqlStore, RedisStore: state that survives restarts
//!     .mailer(Outbox::new("outbox")?) // or SmtpMailer
//!     .build()?;
//!
//! let app = Router::new()
//!     .route("/", get(|| async { "public" }))
//!     // Guards on the handlers (`get(handler).layer(guard)` works too, at a few more
//!     // allocations per request).
//!     .route("/account", get((|who: Identity| async move { who.name().to_owned() }).layer(RequireAuth::new())))
//!     .route("/services/collection", get((|| async { "collection" }).layer(RequireService::new("collection"))))
//!     .nest_service(guichet.prefix(), guichet.flows())
//!     // Last, around everything (the flows included): the session layer. Wrapping the
//!     // finished router instead (`guichet.session_layer().layer(router)`) spares axum's
//!     // per-request boxing of layered routes (README, "Hot path").
//!     .layer(guichet.session_layer());
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Where each behaviour lives
//!
//! Read bottom-up: each module uses only those above it in this table's lower part.
//!
//! | module | job |
//! | --- | --- |
//! | [`Guichet`], [`GuichetBuilder`] | assembling the desk: config, stores, mailer, pages; hands out the layers and the flows |
//! | [`flows`] | the built-in routes under `/auth`: sign-in, sign-out, "email me my password", choosing and changing a password, "this wasn't me", the contact person's team page, forward auth (`/auth/verify`) |
//! | [`guard`] | [`RequireAuth`], [`RequireService`] |
//! | [`deny`] | how refused requests are answered, and how an application chooses other answers |
//! | [`customer_service`] | the staff's operations: accounts, temporary passwords read out on the phone, user codes by email, sessions, throttles, shared inboxes, contact persons' requests |
//! | [`session`] | session ids, the stored record, lifecycle rules, the [`SessionLayer`] and the lazy [`Session`] |
//! | [`mail`] | letters, their templates, the durable delivery queue, SMTP and `.eml` outboxes |
//! | [`inbox`] | shared-inbox detection: addresses where several people read, which never receive a credential |
//! | [`pages`] | the built-in HTML pages and their words (fr, en), replaceable through [`Pages`](pages::Pages) |
//! | [`limit`] | rates, throttles, the client IP behind trusted proxies |
//! | [`password`] | argon2id hash/verify on dedicated low-priority threads, bounded queue and memory, dummy verify, rehash |
//! | [`store`] | the store traits and their implementations: memory, SQL (SQLite, PostgreSQL), Redis; the contract suite |
//! | [`identity`] | [`UserCode`] normalisation, [`Email`], [`Account`], [`Client`], the request's [`Identity`] |
//! | [`audit`] | security events, as `tracing` events and application hooks |
//! | [`metrics`] | what guichet counts, through the `metrics` facade |
//! | [`config`] | policies with safe defaults, serde-loadable, validated at build time |
//! | [`error`] | the errors: refusals, configuration, stores |
//! | `server` (feature `server`) | serving on a socket facing the internet: timeouts, connection cap, graceful shutdown |
//! | `environment` (feature `cli`) | the `GUICHET_*` variables shared by the portal example, the `guichet` command line and `guichet serve` |
//!
//! ## What ships
//!
//! * The library: the layers, guards, extractors and flows above, with stores in memory,
//!   SQLite and PostgreSQL (features `sqlite` and `postgres`, both default) and Redis (feature
//!   `redis`, default; Redis Cluster and client-side caching included).
//! * The `guichet` binary (feature `cli`, default): customer service's commands on the
//!   portal's state, and `guichet serve`, the desk as a standalone server for reverse proxies
//!   (nginx, Caddy, Traefik: recipes in `recipes/`).
//! * Examples: `portal` (the demo portal), `hyper` (without axum), `hash_password`.
//!
//! What guichet does not do: multi-factor authentication, single sign-on protocols (OIDC,
//! SAML), self-service sign-up. Passwords are changed online only when the policy allows it
//! (`passwords.online_change`, off by default, as the portal's FAQ says).
//!
//! ## Design decisions
//!
//! * **One layer, one job.** The [`SessionLayer`] only attaches a lazy [`Session`]; it never
//!   refuses and never touches a store by itself. Guards decide. Flows are a plain tower
//!   service. A route that never asks who is signed in costs no store access.
//! * **Fail closed.** When a store cannot answer, guarded routes get `503` with `Retry-After`,
//!   never access; public routes go on as anonymous and a warning is logged.
//! * **Same answer, same time.** A sign-in with an unknown user code does the same lookups, a
//!   full argon2 verification against a dummy hash, and gets the same body as a wrong password.
//! * **No secret at rest in clear.** Stores see a SHA-256 hash of the session id, never the id;
//!   passwords only as argon2id PHC strings; temporary passwords as BLAKE2b digests; the mail
//!   queue holds letters, and a temporary password is only generated when its letter is sent.
//! * **Hashing never starves the runtime.** argon2 runs on dedicated threads (one less than the
//!   cores by default) below normal priority, each reusing one memory block, with a bounded
//!   queue; a sign-in flood costs bounded memory and leaves other requests fast.
//! * **Generic over bodies.** Layers work on any `http::Request<B>`, so plain hyper works
//!   (`examples/hyper.rs`); axum extractors come with the default `axum` feature.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

pub mod audit;
mod builder;
pub mod config;
mod context;
mod credential_request;
pub mod customer_service;
pub mod deny;
#[cfg(feature = "cli")]
pub mod environment;
pub mod error;
pub mod flows;
#[cfg(fuzzing)]
pub mod fuzzing;
pub mod guard;
pub mod identity;
pub mod inbox;
mod letters;
pub mod limit;
mod links;
pub mod mail;
pub mod metrics;
mod origin;
pub mod pages;
pub mod password;
mod respond;
#[cfg(feature = "server")]
pub mod server;
pub mod session;
pub mod store;

pub use audit::AuditEvent;
pub use builder::{Guichet, GuichetBuilder};
pub use config::Config;
pub use deny::{Denial, Denied, IntoDenial};
pub use error::{ConfigError, Refusal, StoreError};
pub use guard::{RequireAuth, RequireService};
pub use identity::{
    Account, AccountStatus, CasePolicy, Client, Email, Identity, ServiceName, UserCode,
};
pub use respond::Body;
pub use session::{Session, SessionLayer, SessionState};

/// The README's Rust examples are compiled as doc tests, so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
