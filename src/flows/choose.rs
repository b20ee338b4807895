//! `GET/POST /auth/password/set`: choosing a password, the only door of a restricted session
//! (one opened with a temporary password).
//!
//! A chosen password is stored as an argon2id hash, the credential epoch moves (every other
//! session of the account ends, and any pending temporary password is void), the account's
//! sign-in throttle is cleared, and this session is rotated into a normal one. What the chosen
//! password replaced is kept until the temporary password would have expired, so that the
//! email's "this wasn't me" link can still undo it.

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
use crate::session::{unix_now, Session, SessionState};
use crate::store::{self, Change};

use super::{form, RequestBody};
use crate::origin;

/// The shortest password a person may choose (NIST SP 800-63B's minimum).
const MIN_CHARS: usize = 8;

/// The restricted identity, or the answer for everyone else.
async fn restricted(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Identity, Response<Body>> {
    let denial = match session.state().await {
        Ok(SessionState::MustChoosePassword(identity)) => return Ok(identity),
        Ok(SessionState::SignedIn(_)) => {
            let response = ctx.respond.message(
                &parts.headers,
                StatusCode::FORBIDDEN,
                "nothing_to_choose",
                |m| m.nothing_to_choose,
            );
            return Err(response);
        }
        Ok(_) => Denial::SignInRequired,
        Err(_) => Denial::Unavailable,
    };
    Err(ctx
        .deny(denial, &parts.method, &parts.uri, &parts.headers)
        .await)
}

/// The form.
pub(crate) async fn page(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Response<Body>, Refusal> {
    if let Err(response) = restricted(ctx, session, parts).await {
        return Ok(response);
    }
    let next = form::query(&parts.uri, &["next"])?.next()?;
    Ok(render(ctx, parts, StatusCode::OK, next.as_deref(), None))
}

fn render(
    ctx: &Context,
    parts: &Parts,
    status: StatusCode,
    next: Option<&str>,
    error: Option<&str>,
) -> Response<Body> {
    if respond::wants_json(&parts.headers) {
        let body = match error {
            Some(message) => serde_json::json!({ "error": "password_refused", "message": message }),
            None => serde_json::json!({ "fields": ["password", "confirm", "next"] }),
        };
        return respond::json(status, &body);
    }
    let (action, sign_in, assets) = (
        ctx.respond.links.set_password(),
        ctx.respond.links.login(),
        ctx.respond.links.assets(),
    );
    let page = FormPage {
        language: ctx.respond.language(&parts.headers),
        action,
        next,
        error,
        sign_in,
        assets,
    };
    respond::html(status, ctx.respond.pages.choose_password(&page))
}

/// `POST`: sets the password.
pub(crate) async fn submit<B>(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&ctx.origin, &parts.headers)?;
    let identity = match restricted(ctx, session, parts).await {
        Ok(identity) => identity,
        Err(response) => return Ok(response),
    };
    let fields = form::read(&parts.headers, body, &["password", "confirm", "next"]).await?;
    let next = fields.next()?;
    let typed = fields.require("password")?;
    let password = fields.password(&ctx.hasher, typed)?;
    let m = Messages::of(ctx.respond.language(&parts.headers));
    let problem = if typed.chars().count() < MIN_CHARS {
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
    };
    if let Some(problem) = problem {
        return Ok(render(
            ctx,
            parts,
            StatusCode::BAD_REQUEST,
            next.as_deref(),
            Some(problem),
        ));
    }

    let hash = ctx
        .hasher
        .hash(&password)
        .await
        .map_err(|_| Refusal::Unavailable)?;
    let code = identity.user_code();
    let directory_hash = identity.account().password_hash.as_deref();
    let key = identity.temporary_password();
    // Only while the temporary password is still in use: "this wasn't me" may have ended it
    // since this request's session was read.
    let now = unix_now();
    let undo_until = now + ctx.config.credential_requests.validity.as_secs();
    let epoch = store::update(&*ctx.store, code, |credentials| {
        if !key.is_some_and(|key| credentials.allows_restricted(key, now)) {
            return Change::Keep(None);
        }
        credentials.choose(directory_hash, &hash, key, undo_until);
        Change::Save(Some(credentials.epoch()))
    })
    .await?;
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
    ctx.store
        .clear(Limit::SignInPerUserCode, code.as_str())
        .await?;
    let cookie = session.rotate(identity.account(), epoch, None).await?;
    ctx.audit.emit(&AuditEvent::PasswordChosen {
        user_code: code.clone(),
    });
    let target = next.as_deref().unwrap_or("/");
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
