//! `POST /auth/logout`: the session is destroyed in the store (so a replayed cookie finds
//! nothing), the cookie cleared, and the browser sent to the sign-in page.

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::AuditEvent;
use crate::context::Context;
use crate::error::Refusal;
use crate::respond::{self, Body};
use crate::session::{Session, SessionState};

use crate::origin;

pub(crate) async fn submit(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Response<Body>, Refusal> {
    origin::check(&ctx.origin, &parts.headers)?;
    let user_code = match session.state().await {
        Ok(SessionState::SignedIn(who) | SessionState::MustChoosePassword(who)) => {
            Some(who.user_code().clone())
        }
        _ => None,
    };
    let cookie = session.end().await?;
    ctx.audit.emit(&AuditEvent::SignedOut { user_code });
    let mut response = if respond::wants_json(&parts.headers) {
        respond::json(StatusCode::OK, &serde_json::json!({ "signed_out": true }))
    } else {
        respond::redirect(ctx.respond.links.login())
    };
    response
        .headers_mut()
        .append(http::header::SET_COOKIE, cookie);
    Ok(response)
}
