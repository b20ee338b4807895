//! `POST /auth/logout`: the session is destroyed in the store (so a replayed cookie finds
//! nothing), the cookie cleared, and the browser sent to the sign-in page.

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::AuditEvent;
use crate::desk::Desk;
use crate::error::Refusal;
use crate::respond::{self, Body};
use crate::session::Session;

use super::origin;

pub(crate) async fn submit(
    desk: &Desk,
    session: &Session,
    parts: &Parts,
) -> Result<Response<Body>, Refusal> {
    origin::check(&parts.headers, &parts.uri)?;
    let user_code = session
        .identity()
        .await
        .ok()
        .flatten()
        .map(|i| i.user_code().clone());
    session.end().await?;
    desk.audit.emit(&AuditEvent::SignedOut { user_code });
    Ok(if respond::wants_json(&parts.headers) {
        respond::json(StatusCode::OK, &serde_json::json!({ "signed_out": true }))
    } else {
        respond::redirect(&desk.login_path())
    })
}
