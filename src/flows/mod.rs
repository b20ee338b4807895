//! The built-in flows, one tower service mounted under the prefix (default `/auth`):
//!
//! | route | module |
//! | --- | --- |
//! | `GET /auth/login`, `POST /auth/login` | [`login`](self) |
//! | `POST /auth/logout` | [`logout`](self) |
//! | `GET/POST /auth/password` | "email me my password" ([`password`](self)) |
//! | `GET/POST /auth/password/set` | choosing a password from a restricted session ([`choose`](self)) |
//! | `GET/POST /auth/password/change` | changing one's password online, when allowed ([`change`](self)) |
//! | `GET/POST /auth/password/cancel` | the email's "this wasn't me" link ([`cancel`](self)) |
//! | `GET/POST /auth/team` | the contact person asks for user codes for new employees ([`team`](self)) |
//! | `GET /auth/verify` | forward auth: a reverse proxy asks who is there ([`verify`](self)) |
//! | `GET /auth/language?to=en&next=...` | the pages' language switch: remembers the choice, comes back ([`language`](self)) |
//! | `GET /auth/assets/guichet.css`, `.js` | the built-in pages' stylesheet and Caps Lock script |
//! | `GET /auth/assets/brand.css`, `favicon.svg` | the brand's accent (`pages.brand.accent`) and the pages' icon |
//!
//! Every POST accepts a form or JSON, is refused if cross-site, and answers JSON to clients
//! that send `Accept: application/json`. [`Flows`] expects the full path (`/auth/login`, for
//! hyper routers that dispatch on the prefix), or the path with the prefix stripped when axum's
//! `nest_service` mounts it (which marks the request with `NestedPath`).

pub(crate) mod cancel;
mod change;
mod choose;
pub(crate) mod form;
mod language;
mod login;
mod logout;
mod new_password;
mod password;
mod team;
mod verify;

/// A request body the flows can read: any `http_body::Body` whose error can be boxed.
pub(crate) trait RequestBody:
    http_body::Body<Error: Into<Box<dyn std::error::Error + Send + Sync>>>
{
}

impl<B: http_body::Body<Error: Into<Box<dyn std::error::Error + Send + Sync>>>> RequestBody for B {}

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{self, Poll};

use http::{Method, Request, Response, StatusCode};
use tower_service::Service;

use crate::context::Context;
use crate::error::Refusal;
use crate::pages;
use crate::respond::{self, Asked, Body};
use crate::session::Session;

/// The flows' tower service. Needs guichet's [`SessionLayer`](crate::SessionLayer) around it.
#[derive(Clone)]
pub struct Flows {
    ctx: Arc<Context>,
}

impl Flows {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }
}

impl std::fmt::Debug for Flows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flows")
            .field("prefix", &self.ctx.config.prefix)
            .finish()
    }
}

enum Route {
    Login,
    Logout,
    PasswordRequest,
    ChoosePassword,
    ChangePassword,
    Cancel,
    Team,
    Verify,
    Language,
    Asset(&'static str, &'static str),
    BrandStyle,
}

impl Route {
    fn find(path: &str) -> Option<Self> {
        match path {
            "/login" => Some(Self::Login),
            "/logout" => Some(Self::Logout),
            "/password" => Some(Self::PasswordRequest),
            "/password/set" => Some(Self::ChoosePassword),
            "/password/change" => Some(Self::ChangePassword),
            "/password/cancel" => Some(Self::Cancel),
            "/team" => Some(Self::Team),
            "/verify" => Some(Self::Verify),
            "/language" => Some(Self::Language),
            "/assets/guichet.css" => Some(Self::Asset("text/css; charset=utf-8", &pages::STYLE)),
            "/assets/guichet.js" => {
                Some(Self::Asset("text/javascript; charset=utf-8", pages::SCRIPT))
            }
            "/assets/favicon.svg" => Some(Self::Asset("image/svg+xml", pages::FAVICON)),
            "/assets/brand.css" => Some(Self::BrandStyle),
            _ => None,
        }
    }

    /// The route's name in the latency metric.
    fn name(&self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Logout => "logout",
            Self::PasswordRequest => "password",
            Self::ChoosePassword => "password_set",
            Self::ChangePassword => "password_change",
            Self::Cancel => "password_cancel",
            Self::Team => "team",
            Self::Verify => "verify",
            Self::Language => "language",
            Self::Asset(..) | Self::BrandStyle => "asset",
        }
    }

    /// The methods the route answers (for `Allow`).
    fn allow(&self) -> &'static str {
        match self {
            Self::Logout => "POST",
            Self::Asset(..) | Self::BrandStyle | Self::Language => "GET, HEAD",
            _ => "GET, HEAD, POST",
        }
    }
}

/// The route's path below the prefix. axum's `nest_service` hands over the path with the
/// prefix already stripped (and says so with its `NestedPath` extension); any other router
/// hands over the full path, which must then start with the prefix. Stripping at most once
/// keeps `/auth/auth/login` a 404.
fn route_path<'p, B>(ctx: &Context, request: &'p Request<B>) -> Option<&'p str> {
    let path = request.uri().path();
    #[cfg(feature = "axum")]
    if request
        .extensions()
        .get::<axum::extract::NestedPath>()
        .is_some()
    {
        return Some(path);
    }
    path.strip_prefix(ctx.config.prefix.as_str())
}

/// When axum's `nest_service` stripped the prefix, the request's URI as the browser wrote it
/// (`/auth/login?next=...`): `next` and the language switch then name the page itself, not a
/// path below the prefix.
fn unnested(ctx: &Context, route_path: &str, uri: &http::Uri) -> Option<http::Uri> {
    if route_path != uri.path() {
        return None;
    }
    let prefix = &ctx.config.prefix;
    let full = match uri.query() {
        Some(query) => format!("{prefix}{route_path}?{query}"),
        None => format!("{prefix}{route_path}"),
    };
    full.parse().ok()
}

impl<B> Service<Request<B>> for Flows
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut task::Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let ctx = Arc::clone(&self.ctx);
        Box::pin(async move {
            let started = std::time::Instant::now();
            let route = route_path(&ctx, &request).and_then(Route::find);
            let name = route.as_ref().map_or("other", Route::name);
            let response = dispatch(&ctx, route, request).await;
            ctx.meters.flow(name, started);
            Ok(response)
        })
    }
}

async fn dispatch<B>(
    ctx: &Arc<Context>,
    route: Option<Route>,
    request: Request<B>,
) -> Response<Body>
where
    B: RequestBody + Send + 'static,
{
    let unnested = route_path(ctx, &request).and_then(|path| unnested(ctx, path, request.uri()));
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        tracing::error!(target: "guichet", "the flows run without guichet's SessionLayer around them");
        let mut response = Response::new(Body::default());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return response;
    };
    let (mut parts, body) = request.into_parts();
    if let Some(uri) = unnested {
        parts.uri = uri;
    }
    let outcome = match (route, &parts.method) {
        (Some(Route::Login), &Method::GET | &Method::HEAD) => login::page(ctx, &parts),
        (Some(Route::Login), &Method::POST) => login::submit(ctx, &session, &parts, body).await,
        (Some(Route::Logout), &Method::POST) => logout::submit(ctx, &session, &parts).await,
        (Some(Route::PasswordRequest), &Method::GET | &Method::HEAD) => password::page(ctx, &parts),
        (Some(Route::PasswordRequest), &Method::POST) => password::submit(ctx, &parts, body).await,
        (Some(Route::ChoosePassword), &Method::GET | &Method::HEAD) => {
            choose::page(ctx, &session, &parts).await
        }
        (Some(Route::ChoosePassword), &Method::POST) => {
            choose::submit(ctx, &session, &parts, body).await
        }
        (Some(Route::ChangePassword), &Method::GET | &Method::HEAD) => {
            change::page(ctx, &session, &parts).await
        }
        (Some(Route::ChangePassword), &Method::POST) => {
            change::submit(ctx, &session, &parts, body).await
        }
        (Some(Route::Team), &Method::GET | &Method::HEAD) => {
            team::page(ctx, &session, &parts).await
        }
        (Some(Route::Team), &Method::POST) => team::submit(ctx, &session, &parts, body).await,
        (Some(Route::Verify), _) => verify::answer(ctx, &session, &parts).await,
        (Some(Route::Cancel), &Method::GET | &Method::HEAD) => cancel::page(ctx, &parts),
        (Some(Route::Cancel), &Method::POST) => cancel::submit(ctx, &parts, body).await,
        (Some(Route::Language), &Method::GET | &Method::HEAD) => language::switch(ctx, &parts),
        (Some(Route::Asset(content_type, text)), &Method::GET | &Method::HEAD) => {
            Ok(respond::asset(content_type, text))
        }
        (Some(Route::BrandStyle), &Method::GET | &Method::HEAD) => Ok(respond::asset(
            "text/css; charset=utf-8",
            ctx.respond.brand.accent_css(),
        )),
        (Some(route), _) => Err(Refusal::MethodNotAllowed {
            allow: route.allow(),
        }),
        (None, _) => Err(Refusal::NotFound),
    };
    outcome.unwrap_or_else(|refusal| ctx.respond.refusal(&Asked::from(&parts), &refusal))
}
