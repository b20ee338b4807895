//! `GET/POST /auth/password/change`: changing one's password online, only when
//! `passwords.online_change` allows it (off by default, as the portal's FAQ says: it answers
//! `404` then).
//!
//! A normal session, the current password, and a new one following the same rules as a chosen
//! one. The attempt is counted in the sign-in throttle before the current password is checked,
//! and a wrong current password is a failed sign-in (`401` for API clients, the form again
//! with `422` for browsers). A success moves the credential epoch (every other session ends)
//! and rotates this one.

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::{AuditEvent, FailureReason};
use crate::context::Context;
use crate::deny::Denial;
use crate::error::Refusal;
use crate::identity::Identity;
use crate::limit::{client_ip, Limit};
use crate::origin;
use crate::pages::Messages;
use crate::password::Verification;
use crate::respond::{self, Body};
use crate::session::{Session, SessionState};
use crate::store::{self, Change};

use super::new_password::{done, problem, render, Form};
use super::{form, RequestBody};

/// The signed-in identity, or the answer for everyone else (`404` when the policy is off).
async fn signed_in(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Result<Identity, Response<Body>>, Refusal> {
    if !ctx.config.passwords.online_change {
        return Err(Refusal::NotFound);
    }
    let denial = match session.state().await {
        Ok(SessionState::SignedIn(identity)) => return Ok(Ok(identity)),
        Ok(SessionState::MustChoosePassword(_)) => Denial::PasswordMustBeSet,
        Ok(_) => Denial::SignInRequired,
        Err(_) => Denial::Unavailable,
    };
    Ok(Err(ctx
        .deny(denial, &parts.method, &parts.uri, &parts.headers)
        .await))
}

/// The form.
pub(crate) async fn page(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Response<Body>, Refusal> {
    let identity = match signed_in(ctx, session, parts).await? {
        Ok(identity) => identity,
        Err(response) => return Ok(response),
    };
    let next = form::query(&parts.uri, &["next"])?.next(&ctx.respond.links)?;
    let status = StatusCode::OK;
    Ok(render(
        ctx,
        parts,
        Form::Change,
        status,
        next.as_deref(),
        None,
        &identity,
    ))
}

/// `POST`: changes the password.
pub(crate) async fn submit<B>(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    let identity = match signed_in(ctx, session, parts).await? {
        Ok(identity) => identity,
        Err(response) => return Ok(response),
    };
    origin::check(&ctx.origin, &parts.headers)?;
    let fields = form::read(
        &parts.headers,
        body,
        &["current", "password", "confirm", "next"],
    )
    .await?;
    let next = fields.next(&ctx.respond.links)?;
    let current = fields.password(&ctx.hasher, fields.require("current")?)?;
    let typed = fields.require("password")?;
    let password = fields.password(&ctx.hasher, typed)?;
    let m = Messages::of(ctx.respond.language(&parts.headers));
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if let Some(problem) = problem(m, &fields, typed, &identity) {
        return Ok(render(
            ctx,
            parts,
            Form::Change,
            unprocessable,
            next.as_deref(),
            Some(problem),
            &identity,
        ));
    }

    // Counted as a sign-in attempt before the current password is checked.
    let code = identity.user_code();
    if let Err(wait) = ctx.reserve(Limit::SignInPerUserCode, code.as_str()).await? {
        return Err(Refusal::Throttled { retry_after: wait });
    }
    let directory_hash = identity.account().password_hash.as_deref();
    let credentials = ctx.store.credentials(code).await?.value;
    let read_epoch = credentials.epoch();
    let stored = credentials.password_hash(directory_hash).map(str::to_owned);
    let verification = ctx
        .hasher
        .verify(&current, stored.as_deref())
        .await
        .map_err(|_| Refusal::Unavailable)?;
    if verification == Verification::Mismatch {
        let ip = client_ip(
            &parts.extensions,
            &parts.headers,
            &ctx.config.trusted_proxies,
            ctx.config.trusted_proxy_header,
        );
        ctx.audit.emit(&AuditEvent::SignInFailed {
            user_code: code.clone(),
            ip,
            reason: FailureReason::WrongPassword,
        });
        if respond::wants_json(&parts.headers) {
            return Ok(respond::json(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({ "error": "wrong_current_password", "message": m.wrong_current_password }),
            ));
        }
        let error = Some(m.wrong_current_password);
        return Ok(render(
            ctx,
            parts,
            Form::Change,
            unprocessable,
            next.as_deref(),
            error,
            &identity,
        ));
    }

    // The current password was right: the attempt no longer counts, as after a sign-in.
    ctx.store
        .clear(Limit::SignInPerUserCode, code.as_str())
        .await?;
    let hash = ctx
        .hasher
        .hash(&password)
        .await
        .map_err(|_| Refusal::Unavailable)?;
    // Only if nothing moved while the current password was checked.
    let epoch = store::update(&*ctx.store, code, |now| {
        let unchanged = now.epoch() == read_epoch
            && now.password_hash(directory_hash) == stored.as_deref()
            && !now.is_disabled();
        if !unchanged {
            return Change::Keep(None);
        }
        now.choose(directory_hash, &hash, None, 0);
        Change::Save(Some(now.epoch()))
    })
    .await?;
    let event = AuditEvent::PasswordChanged {
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
