//! The axum extractors: `Identity` (refuses when nobody is signed in) and `Option<Identity>`
//! (for public routes: anonymous when nobody is, or when a store cannot answer).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::guard::{answer, Denial, Denied};
use crate::identity::Identity;
use crate::session::{Session, SessionState};

/// Why the [`Identity`] extractor refused; answers like a guard would.
#[derive(Debug)]
pub struct IdentityRejection(http::Response<crate::respond::Body>);

impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

fn session(parts: &Parts) -> Option<Session> {
    parts.extensions.get::<Session>().cloned()
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(identity) = parts.extensions.get::<Identity>() {
            return Ok(identity.clone());
        }
        let Some(session) = session(parts) else {
            tracing::error!(target: "guichet", "the Identity extractor runs without guichet's SessionLayer");
            let mut response = http::Response::new(crate::respond::Body::default());
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            return Err(IdentityRejection(response));
        };
        let denial = match session.state().await {
            Ok(SessionState::SignedIn(identity)) => return Ok(identity),
            Ok(SessionState::MustChoosePassword(_)) => Denial::PasswordMustBeSet,
            Ok(_) => Denial::SignInRequired,
            Err(_) => Denial::Unavailable,
        };
        let desk = session.desk();
        let denied = Denied {
            denial,
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
        };
        Err(IdentityRejection(answer(desk, &denied)))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if let Some(identity) = parts.extensions.get::<Identity>() {
            return Ok(Some(identity.clone()));
        }
        let Some(session) = session(parts) else {
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
