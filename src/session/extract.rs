//! The axum extractors: `Identity` (refuses as a guard would when nobody is signed in),
//! `Option<Identity>` (for public routes: anonymous when nobody is, or when a store cannot
//! answer), and `SessionState` (everything, restricted sessions included).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::deny::Denial;
use crate::identity::Identity;
use crate::respond::Body;
use crate::session::{Session, SessionState};

/// Why the [`Identity`] extractor refused; it answers as a guard would (or as the application's
/// [`deny_with`](crate::GuichetBuilder::deny_with) chose).
#[derive(Debug)]
pub struct IdentityRejection {
    denial: Option<Denial>,
    response: Box<http::Response<Body>>,
}

impl IdentityRejection {
    /// Why; `None` when guichet's [`SessionLayer`](crate::SessionLayer) is missing (a
    /// programming error, answered `500`).
    pub fn denial(&self) -> Option<&Denial> {
        self.denial.as_ref()
    }

    /// The status of the answer.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }
}

impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        (*self.response).into_response()
    }
}

fn session(parts: &Parts) -> Result<&Session, IdentityRejection> {
    parts.extensions.get::<Session>().ok_or_else(|| {
        tracing::error!(target: "guichet", "guichet's extractors run without its SessionLayer");
        let mut response = http::Response::new(Body::default());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        IdentityRejection {
            denial: None,
            response: Box::new(response),
        }
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = session(parts)?;
        let denial = match session.state().await {
            Ok(SessionState::SignedIn(identity)) => return Ok(identity),
            Ok(SessionState::MustChoosePassword(_)) => Denial::PasswordMustBeSet,
            Ok(_) => Denial::SignInRequired,
            Err(_) => Denial::Unavailable,
        };
        let response = session
            .ctx()
            .deny(denial.clone(), &parts.method, &parts.uri, &parts.headers)
            .await;
        Err(IdentityRejection {
            denial: Some(denial),
            response: Box::new(response),
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let Some(session) = parts.extensions.get::<Session>() else {
            return Ok(None);
        };
        match session.identity().await {
            Ok(identity) => Ok(identity),
            Err(error) => {
                tracing::warn!(target: "guichet", %error, "store unavailable; serving a public route as anonymous");
                Ok(None)
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SessionState {
    type Rejection = IdentityRejection;

    /// Everything the session says; a store that cannot answer is refused as by a guard
    /// (`503`), never taken for anonymous.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = session(parts)?;
        match session.state().await {
            Ok(state) => Ok(state),
            Err(_) => {
                let response = session
                    .ctx()
                    .deny(
                        Denial::Unavailable,
                        &parts.method,
                        &parts.uri,
                        &parts.headers,
                    )
                    .await;
                Err(IdentityRejection {
                    denial: Some(Denial::Unavailable),
                    response: Box::new(response),
                })
            }
        }
    }
}
