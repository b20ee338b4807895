//! `GET/POST /auth/password/cancel`: the "this wasn't me" link of a temporary-password email.
//!
//! `GET` only shows a button: mail scanners that follow links change nothing. `POST`, if the
//! token matches, undoes whatever the temporary password opened: a waiting one stops working;
//! one used to sign in also ends the restricted sessions it opened; one used to choose a new
//! password brings the previous password back and ends every session of the account. The
//! answer says which (JSON: `"cancelled"`: `pending`, `used`, `undone`, or `nothing`); only the
//! holder of the emailed token can tell them apart, so it reveals nothing to anyone else.
//! Posts are limited per client IP; nothing is written when nothing matches.

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::{AuditEvent, Cancellation};
use crate::context::Context;
use crate::error::Refusal;
use crate::letters::cancel_key;
use crate::limit::{client_ip, limit_key, Limit};
use crate::pages::{CancelPage, Messages};
use crate::respond::{self, Body};
use crate::session::unix_now;
use crate::store::{self, Change};

use super::{form, password, RequestBody};
use crate::origin;

const FIELDS: &[&str] = &["code", "token"];

/// The confirmation button.
pub(crate) fn page(ctx: &Context, parts: &Parts) -> Result<Response<Body>, Refusal> {
    let fields = form::query(&parts.uri, FIELDS)?;
    let code = fields.user_code_in("code", ctx.config.user_codes.case)?;
    let token = token(&fields)?;
    let page = CancelPage {
        language: ctx.respond.language(&parts.headers),
        action: ctx.respond.links.cancel(),
        user_code: code.as_str(),
        token,
        assets: ctx.respond.links.assets(),
        layout: ctx.respond.layout(&parts.into(), None),
    };
    Ok(ctx
        .respond
        .html(StatusCode::OK, ctx.respond.pages.cancel(&page)))
}

/// `POST`: cancels.
pub(crate) async fn submit<B>(
    ctx: &Context,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&ctx.origin, &parts.headers)?;
    let fields = form::read(&parts.headers, body, FIELDS).await?;
    let code = fields.user_code_in("code", ctx.config.user_codes.case)?;
    let key = cancel_key(token(&fields)?);
    let ip = client_ip(
        &parts.extensions,
        &parts.headers,
        &ctx.config.trusted_proxies,
        ctx.config.trusted_proxy_header,
    );
    if let Err(wait) = ctx.limit(Limit::CancelPerIp, &limit_key(ip)).await? {
        return Err(Refusal::Throttled { retry_after: wait });
    }
    let now = unix_now();
    // The directory's hash: a directory that keeps passwords may hold the one being undone.
    let account = ctx.directory.account(&code).await?;
    let directory = account.as_ref().and_then(|a| a.password_hash.as_deref());
    let cancelled = store::update(&*ctx.store, &code, |credentials| {
        match credentials.cancel(&key, now, directory) {
            Some(Cancellation::Undone) => Change::Save(Some((
                Cancellation::Undone,
                credentials.password_hash(directory).map(str::to_owned),
            ))),
            Some(cancelled) => Change::Save(Some((cancelled, None))),
            None => Change::Keep(None),
        }
    })
    .await?;
    if let Some((Cancellation::Undone, restored)) = &cancelled {
        ctx.write_back(&code, restored.as_deref()).await;
    }
    let cancelled = cancelled.map(|(cancelled, _)| cancelled);
    let m = Messages::of(ctx.respond.language(&parts.headers));
    let message = match cancelled {
        None => m.nothing_to_cancel,
        Some(Cancellation::Pending) => m.cancelled,
        Some(Cancellation::Used) => m.cancelled_used,
        Some(Cancellation::Undone) => m.cancelled_undone,
    };
    if let Some(cancelled) = cancelled {
        ctx.audit.emit(&AuditEvent::TemporaryPasswordCancelled {
            user_code: code,
            cancelled,
        });
    }
    if respond::wants_json(&parts.headers) {
        return Ok(respond::json(
            StatusCode::OK,
            &serde_json::json!({
                "ok": true,
                "cancelled": cancelled.map_or("nothing", Cancellation::name),
                "message": message,
            }),
        ));
    }
    Ok(password::notice(ctx, parts, m.cancel_title, message, None))
}

/// The token: 43 base64url characters, as the email carries it.
pub(crate) fn token(fields: &form::Fields) -> Result<&str, Refusal> {
    let token = fields.require("token")?;
    let well_formed = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(token)
    } else {
        Err(Refusal::InvalidField {
            field: "token",
            reason: "not a cancel token",
        })
    }
}
