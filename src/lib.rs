//! # guichet — the sign-in ctx of a customer portal, as Tower layers
//!
//! `guichet` (French: the service counter) puts cookie-session authentication with argon2id
//! passwords in front of any hyper or axum service: a sign-in page in French and English, a
//! session layer, guards for routes and subscribed services, and sign-in throttling that treats
//! known and unknown user codes exactly alike.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use guichet::{Guichet, Identity, RequireAuth, RequireService, store::memory::AccountsFile};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guichet = Guichet::builder()
//!     .base_url("https://portal.example")
//!     .directory(AccountsFile::load("accounts.toml", Default::default())?)
//!     .build()?;
//!
//! let app = Router::new()
//!     .route("/", get(|| async { "public" }))
//!     .route("/account", get(|who: Identity| async move { who.name().to_owned() }).layer(RequireAuth::new()))
//!     .route("/services/collection", get(|| async { "collection" }).layer(RequireService::new("collection")))
//!     .nest_service(guichet.prefix(), guichet.flows())
//!     .layer(guichet.session_layer());
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Where each behaviour lives
//!
//! | module | job |
//! | --- | --- |
//! | [`config`] | policies with safe defaults, serde-loadable, validated at build time |
//! | [`identity`] | [`UserCode`] normalisation, [`Email`], [`Account`], [`Client`], the request's [`Identity`] |
//! | [`password`] | argon2id hash/verify on dedicated low-priority threads, bounded permits and memory, dummy verify, rehash |
//! | [`session`] | session ids, the stored record, lifecycle rules, the [`SessionLayer`] and the lazy [`Session`] |
//! | [`guard`] | [`RequireAuth`], [`RequireService`], and how refusals are answered ([`Deny`]) |
//! | [`flows`] | the built-in routes: `/auth/login`, `/auth/logout` |
//! | [`limit`] | rates, GCRA, per-IP limiter, client IP behind trusted proxies |
//! | [`store`] | the store traits ([`Directory`](store::Directory), [`SessionStore`](store::SessionStore), ...) and the memory implementations |
//! | [`pages`] | the built-in HTML pages and their words (fr, en), replaceable through [`Pages`](pages::Pages) |
//! | [`audit`] | security events, as `tracing` events and application hooks |
//! | [`respond`] | how guichet's own responses are built (negotiation, security headers) |
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
//! * **No secret at rest in clear.** Stores see a BLAKE2b hash of the session id, never the id;
//!   passwords only as argon2id PHC strings.
//! * **Hashing never starves the runtime.** argon2 runs on dedicated threads (one less than the
//!   cores by default) below normal priority, each reusing one memory block, with a bounded
//!   queue; a sign-in flood costs bounded memory and leaves other requests fast.
//! * **Generic over bodies.** Layers work on any `http::Request<B>`, so plain hyper works
//!   (`examples/hyper.rs`); axum extractors come with the default `axum` feature.
//!
//! What guichet does not do (yet): multi-factor authentication, password-reset by email
//! (the "email me my password" flow comes next), several processes sharing state (Redis stores).

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
