//! What choosing a password (`/auth/password/set`) and changing one (`/auth/password/change`)
//! share: the rules a new password follows (NIST SP 800-63B: at least 8 characters, no
//! composition rules, not the user code, not shaped like a temporary password; pasting is
//! allowed), the form, and what a success does (every other session ends, this one is rotated).

use http::header::SET_COOKIE;
use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::AuditEvent;
use crate::context::Context;
use crate::deny::Denial;
use crate::error::Refusal;
use crate::identity::Identity;
use crate::limit::Limit;
use crate::pages::{FormPage, Messages};
use crate::password::temporary;
use crate::respond::{self, Body};
use crate::session::Session;

use super::form::Fields;

/// The shortest password a person may choose (NIST SP 800-63B's minimum).
const MIN_CHARS: usize = 8;

/// Which page: choosing (restricted session) or changing (online, when allowed).
#[derive(Clone, Copy)]
pub(super) enum Form {
    Choose,
    Change,
}

/// What is wrong with a new password, in the page's words; `None` if it may be used.
pub(super) fn problem(
    m: &'static Messages,
    fields: &Fields,
    typed: &str,
    identity: &Identity,
) -> Option<&'static str> {
    if typed.chars().count() < MIN_CHARS {
        Some(m.password_too_short)
    } else if fields
        .get("confirm")
        .is_some_and(|confirm| confirm != typed)
    {
        Some(m.passwords_differ)
    } else if temporary::canonical(typed).is_some()
        || typed
            .trim()
            .eq_ignore_ascii_case(identity.user_code().as_str())
    {
        Some(m.password_unusable)
    } else {
        None
    }
}

/// The form, fresh or with what was wrong.
pub(super) fn render(
    ctx: &Context,
    parts: &Parts,
    form: Form,
    status: StatusCode,
    next: Option<&str>,
    error: Option<&str>,
    identity: &Identity,
) -> Response<Body> {
    let links = &ctx.respond.links;
    if respond::wants_json(&parts.headers) {
        let fields = match form {
            Form::Choose => serde_json::json!(["password", "confirm", "next"]),
            Form::Change => serde_json::json!(["current", "password", "confirm", "next"]),
        };
        let body = match error {
            Some(message) => serde_json::json!({ "error": "password_refused", "message": message }),
            None => serde_json::json!({ "fields": fields }),
        };
        return respond::json(status, &body);
    }
    let action = match form {
        Form::Choose => links.set_password(),
        Form::Change => links.change_password(),
    };
    let page = FormPage {
        language: ctx.respond.language(&parts.headers),
        action,
        next,
        error,
        sign_in: links.login(),
        assets: links.assets(),
        user_code: Some(identity.user_code().as_str()),
        layout: ctx.respond.layout(&parts.into(), next),
    };
    let html = match form {
        Form::Choose => ctx.respond.pages.choose_password(&page),
        Form::Change => ctx.respond.pages.change_password(&page),
    };
    ctx.respond.html(status, html)
}

/// After the new password (`hash`) was stored: `epoch` is the account's epoch then, `None`
/// if the credentials moved meanwhile (the session may no longer choose: refused as any
/// protected route refuses). Otherwise the hash is written back to a directory that keeps
/// passwords, the sign-in throttle is cleared, this session rotated, the event audited, and
/// the person sent on.
#[allow(clippy::too_many_arguments)]
pub(super) async fn done(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
    identity: &Identity,
    epoch: Option<u64>,
    hash: &str,
    next: Option<&str>,
    event: AuditEvent,
) -> Result<Response<Body>, Refusal> {
    let Some(epoch) = epoch else {
        return Ok(ctx
            .deny(
                Denial::SignInRequired,
                &parts.method,
                &parts.uri,
                &parts.headers,
            )
            .await);
    };
    ctx.write_back(identity.user_code(), Some(hash)).await;
    let code = identity.user_code();
    ctx.store
        .clear(Limit::SignInPerUserCode, code.as_str())
        .await?;
    let cookie = session.rotate(identity.account(), epoch, None).await?;
    ctx.audit.emit(&event);
    let target = next.unwrap_or("/");
    let mut response = if respond::wants_json(&parts.headers) {
        respond::json(
            StatusCode::OK,
            &serde_json::json!({ "password_set": true, "next": target }),
        )
    } else {
        respond::redirect(target)
    };
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}
