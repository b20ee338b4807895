//! How a refused request is answered: why it was refused ([`Denial`]), what the application may
//! look at to choose the answer ([`Denied`]), and guichet's default answers.
//!
//! | situation | browser (`Accept: text/html`) | other clients |
//! | --- | --- | --- |
//! | not signed in | `303` to the sign-in page with `?next=` | `401` JSON |
//! | signed in with a temporary password | `303` to the choose-password page | `403` JSON |
//! | missing the route's service | `403` page | `403` JSON |
//! | a store cannot answer | `503` page + `Retry-After` | `503` JSON + `Retry-After` |
//!
//! [`GuichetBuilder::deny_with`](crate::GuichetBuilder::deny_with) chooses other answers, case
//! by case; returning `None` keeps the default.

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use crate::identity::ServiceName;
use crate::links::{next_from_uri, Links};
use crate::pages::Language;
use crate::respond::{self, Asked, Body, Responder};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// Nobody is signed in (or the session ended).
    SignInRequired,
    /// Signed in with a temporary password: a password must be chosen first.
    PasswordMustBeSet,
    /// Signed in, but without the route's service.
    MissingService(ServiceName),
    /// A store could not answer; guichet fails closed.
    Unavailable,
}

impl Denial {
    /// The status of guichet's default answer to a client that is not a browser.
    pub fn status(&self) -> StatusCode {
        match self {
            Denial::SignInRequired => StatusCode::UNAUTHORIZED,
            Denial::PasswordMustBeSet | Denial::MissingService(_) => StatusCode::FORBIDDEN,
            Denial::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A refused request, as an application choosing the answer sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Denied<'a> {
    /// Why.
    pub denial: Denial,
    /// The request method.
    pub method: &'a Method,
    /// The request URI.
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The client's language: the one chosen with the pages' switch, else `Accept-Language`'s,
    /// else the configured default.
    pub language: Language,
    /// Where guichet sends a browser to sign in: the sign-in page, with `next` set to this
    /// request when it is a path on this site.
    pub sign_in: String,
}

impl Denied<'_> {
    /// The client asked for JSON (`Accept: application/json`).
    pub fn wants_json(&self) -> bool {
        respond::wants_json(self.headers)
    }

    /// A browser navigating (`Accept` lists `text/html` and not JSON), as opposed to an API
    /// client: the one to redirect rather than answer with a status.
    pub fn is_browser(&self) -> bool {
        respond::is_browser(self.headers)
    }
}

/// What a [`deny_with`](crate::GuichetBuilder::deny_with) closure may return: with the `axum`
/// feature, anything that is `IntoResponse`; without it, an `http::Response` with a body of
/// bytes.
pub trait IntoDenial {
    /// The response.
    fn into_denial(self) -> Response<UnsyncBoxBody<Bytes, BoxError>>;
}

#[cfg(feature = "axum")]
impl<T: axum::response::IntoResponse> IntoDenial for T {
    fn into_denial(self) -> Response<UnsyncBoxBody<Bytes, BoxError>> {
        self.into_response()
            .map(|body| body.map_err(BoxError::from).boxed_unsync())
    }
}

#[cfg(not(feature = "axum"))]
impl<B> IntoDenial for Response<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn into_denial(self) -> Response<UnsyncBoxBody<Bytes, BoxError>> {
        self.map(|body| body.map_err(Into::into).boxed_unsync())
    }
}

/// The application's choice, type-erased.
pub(crate) type Custom =
    dyn for<'a> Fn(&Denied<'a>) -> Option<Response<UnsyncBoxBody<Bytes, BoxError>>> + Send + Sync;

/// Wraps a closure as the application's choice.
pub(crate) fn custom<F, R>(choose: F) -> Box<Custom>
where
    F: for<'a> Fn(&Denied<'a>) -> Option<R> + Send + Sync + 'static,
    R: IntoDenial,
{
    Box::new(move |denied| choose(denied).map(IntoDenial::into_denial))
}

/// The answer to a refused request: the application's, if it chose one (read whole: denial
/// pages are small, and the application's own), else guichet's default.
pub(crate) async fn answer(
    responder: &Responder,
    custom: Option<&Custom>,
    denied: &Denied<'_>,
) -> Response<Body> {
    let chosen = custom.and_then(|choose| choose(denied));
    match chosen {
        Some(response) => match read_whole(response).await {
            Some(response) => response,
            None => default(responder, denied),
        },
        None => default(responder, denied),
    }
}

/// The application's answer with its body read, or `None` if it could not be read. (Boxed: a
/// plain `async fn` here trips the compiler's `Send` analysis of the callers' futures.)
fn read_whole(
    response: Response<UnsyncBoxBody<Bytes, BoxError>>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Response<Body>>> + Send>> {
    Box::pin(async move {
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(collected) => Some(Response::from_parts(parts, Full::new(collected.to_bytes()))),
            Err(error) => {
                let error = error.to_string();
                tracing::error!(target: "guichet", %error, "the application's answer to a refused request could not be read; answering with guichet's");
                None
            }
        }
    })
}

/// The denial, as seen from a request.
pub(crate) fn denied<'a>(
    responder: &Responder,
    denial: Denial,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Denied<'a> {
    Denied {
        denial,
        method,
        uri,
        headers,
        language: responder.language(headers),
        sign_in: Links::with_next(responder.links.login(), next_from_uri(uri).as_deref()),
    }
}

/// guichet's default answers (see the module docs' table).
fn default(responder: &Responder, denied: &Denied<'_>) -> Response<Body> {
    let browser = denied.is_browser();
    let asked = Asked {
        method: denied.method,
        uri: denied.uri,
        headers: denied.headers,
    };
    let status = denied.denial.status();
    match &denied.denial {
        Denial::SignInRequired if browser => respond::redirect(&denied.sign_in),
        Denial::SignInRequired => {
            responder.message(&asked, status, "sign_in_required", |m| m.sign_in_required)
        }
        Denial::PasswordMustBeSet if browser => respond::redirect(responder.links.set_password()),
        Denial::PasswordMustBeSet => {
            responder.message(&asked, status, "password_must_be_set", |m| {
                m.password_must_be_set
            })
        }
        Denial::MissingService(_) => {
            responder.message(&asked, status, "missing_service", |m| m.missing_service)
        }
        Denial::Unavailable => responder.refusal(&asked, &crate::error::Refusal::Unavailable),
    }
}
