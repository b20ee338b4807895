//! `GET/POST /auth/password`: "email me my password". A `next` from the sign-in page goes
//! along (query, then a hidden field) and back to the sign-in page, so that the temporary
//! password still leads where the person was going.
//!
//! The answer is decided before anything about the code is looked up: limits first (per
//! client IP, per user code, global), then the same `200` for every code. What happens next
//! (a temporary password, a shared-inbox notice, or nothing) runs in the background
//! ([`credential`](crate::credential)), so neither the body nor the timing tells whether the
//! code exists, has an address, or sits on a shared inbox.

use std::sync::Arc;

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::{AuditEvent, ThrottleLimit};
use crate::context::Context;
use crate::credential_request;
use crate::error::Refusal;
use crate::limit::{client_ip, limit_key, Limit};
use crate::links::Links;
use crate::pages::{FormPage, Messages, NoticePage};
use crate::respond::{self, Body};

use super::{form, RequestBody};
use crate::origin;

/// The request page, with the FAQ's shared-inbox warning; keeps a valid `?next=` (from the
/// sign-in page) for the way back.
pub(crate) fn page(ctx: &Context, parts: &Parts) -> Result<Response<Body>, Refusal> {
    let language = ctx.respond.language(&parts.headers);
    if respond::wants_json(&parts.headers) {
        let m = Messages::of(language);
        return Ok(respond::json(
            StatusCode::OK,
            &serde_json::json!({ "fields": ["user_code", "next"], "warning": m.shared_inbox_warning }),
        ));
    }
    let next = form::query(&parts.uri, &["next"])?.next(&ctx.respond.links)?;
    let links = &ctx.respond.links;
    let sign_in = Links::with_next(links.login(), next.as_deref());
    let page = FormPage {
        language,
        action: links.password_request(),
        next: next.as_deref(),
        error: None,
        sign_in: &sign_in,
        assets: links.assets(),
        user_code: None,
        layout: ctx.respond.layout(&parts.into(), next.as_deref()),
    };
    Ok(ctx
        .respond
        .html(StatusCode::OK, ctx.respond.pages.password_request(&page)))
}

/// `POST /auth/password`.
pub(crate) async fn submit<B>(
    ctx: &Arc<Context>,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&ctx.origin, &parts.headers)?;
    let fields = form::read(&parts.headers, body, &["user_code", "next"]).await?;
    let next = fields.next(&ctx.respond.links)?;
    let code = fields.user_code(ctx.config.user_codes.case)?;
    let ip = client_ip(
        &parts.extensions,
        &parts.headers,
        &ctx.config.trusted_proxies,
        ctx.config.trusted_proxy_header,
    );
    let checks = [
        (Limit::RequestPerIp, limit_key(ip), ThrottleLimit::ClientIp),
        (
            Limit::RequestPerUserCode,
            code.as_str().to_owned(),
            ThrottleLimit::UserCode,
        ),
        (Limit::RequestGlobal, String::new(), ThrottleLimit::Global),
    ];
    let mut verdict = Ok(());
    for (limit, key, which) in checks {
        if let Err(wait) = ctx.limit(limit, &key).await? {
            verdict = Err((which, wait));
            break;
        }
    }
    if let Err((limit, wait)) = verdict {
        ctx.audit.emit(&AuditEvent::CredentialRequestThrottled {
            user_code: code,
            ip,
            limit,
        });
        return Err(Refusal::Throttled { retry_after: wait });
    }
    ctx.audit.emit(&AuditEvent::CredentialRequested {
        user_code: code.clone(),
        ip,
    });
    let language = ctx.respond.language(&parts.headers);
    ctx.background
        .spawn(credential_request::handle(Arc::clone(ctx), code, language));

    let m = Messages::of(language);
    Ok(notice(
        ctx,
        parts,
        m.password_requested_title,
        m.password_requested,
        next.as_deref(),
    ))
}

/// A confirmation, as a page or JSON (`{"ok": true, "message": ...}`), its link back to the
/// sign-in page keeping `next`.
pub(crate) fn notice(
    ctx: &Context,
    parts: &Parts,
    title: &str,
    message: &str,
    next: Option<&str>,
) -> Response<Body> {
    if respond::wants_json(&parts.headers) {
        return respond::json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true, "message": message }),
        );
    }
    let sign_in = Links::with_next(ctx.respond.links.login(), next);
    let page = NoticePage {
        language: ctx.respond.language(&parts.headers),
        title,
        message,
        sign_in: &sign_in,
        assets: ctx.respond.links.assets(),
        layout: ctx.respond.layout(&parts.into(), next),
    };
    ctx.respond
        .html(StatusCode::OK, ctx.respond.pages.notice(&page))
}
