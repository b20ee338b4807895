//! `GET/POST /auth/password/set`: choosing a password, the only door of a restricted session
//! (one opened with a temporary password).
//!
//! A chosen password is stored as an argon2id hash, the credential epoch moves (every other
//! session of the account ends, and any pending temporary password is void), the account's
//! sign-in throttle is cleared, and this session is rotated into a normal one. What the chosen
//! password replaced is kept until the temporary password would have expired, so that the
//! email's "this wasn't me" link can still undo it.

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::AuditEvent;
use crate::context::Context;
use crate::deny::Denial;
use crate::error::Refusal;
use crate::identity::Identity;
use crate::pages::Messages;
use crate::respond::Body;
use crate::session::{unix_now, Session, SessionState};
use crate::store::{self, Change};

use super::new_password::{done, problem, render, Form};
use super::{form, RequestBody};
use crate::origin;

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
                &parts.into(),
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
    let identity = match restricted(ctx, session, parts).await {
        Ok(identity) => identity,
        Err(response) => return Ok(response),
    };
    let next = form::query(&parts.uri, &["next"])?.next(&ctx.respond.links)?;
    let status = StatusCode::OK;
    Ok(render(
        ctx,
        parts,
        Form::Choose,
        status,
        next.as_deref(),
        None,
        &identity,
    ))
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
    let next = fields.next(&ctx.respond.links)?;
    let typed = fields.require("password")?;
    let password = fields.password(&ctx.hasher, typed)?;
    let m = Messages::of(ctx.respond.language(&parts.headers));
    if let Some(problem) = problem(m, &fields, typed, &identity) {
        let status = StatusCode::BAD_REQUEST;
        return Ok(render(
            ctx,
            parts,
            Form::Choose,
            status,
            next.as_deref(),
            Some(problem),
            &identity,
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
    let event = AuditEvent::PasswordChosen {
        user_code: code.clone(),
    };
    done(
        ctx,
        session,
        parts,
        &identity,
        epoch,
        &hash,
        next.as_deref(),
        event,
    )
    .await
}
