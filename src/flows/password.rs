//! `GET/POST /auth/password`: "email me my password".
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
use crate::credential;
use crate::desk::Desk;
use crate::error::Refusal;
use crate::limit::{client_ip, limit_key, Limit};
use crate::pages::{FormPage, Language, Messages, NoticePage};
use crate::respond::{self, Body};

use super::{form, origin, RequestBody};

/// The request page, with the FAQ's shared-inbox warning.
pub(crate) fn page(desk: &Desk, parts: &Parts) -> Response<Body> {
    let language = Language::negotiate(&parts.headers);
    if respond::wants_json(&parts.headers) {
        let m = Messages::of(language);
        return respond::json(
            StatusCode::OK,
            &serde_json::json!({ "fields": ["user_code"], "warning": m.shared_inbox_warning }),
        );
    }
    let (action, sign_in, assets) = (
        desk.password_request_path(),
        desk.login_path(),
        desk.assets_path(),
    );
    let page = FormPage {
        language,
        action: &action,
        next: None,
        error: None,
        sign_in: &sign_in,
        assets: &assets,
    };
    respond::html(StatusCode::OK, desk.pages.password_request(&page))
}

/// `POST /auth/password`.
pub(crate) async fn submit<B>(
    desk: &Arc<Desk>,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&desk.origin, &parts.headers)?;
    let fields = form::read(&parts.headers, body, &["user_code"]).await?;
    let code = fields.user_code(desk.config.user_codes.case)?;
    let ip = client_ip(
        &parts.extensions,
        &parts.headers,
        &desk.config.trusted_proxies,
        desk.config.trusted_proxy_header,
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
        if let Err(wait) = desk.limit(limit, &key).await? {
            verdict = Err((which, wait));
            break;
        }
    }
    if let Err((limit, wait)) = verdict {
        desk.audit.emit(&AuditEvent::CredentialRequestThrottled {
            user_code: code,
            ip,
            limit,
        });
        return Err(Refusal::Throttled { retry_after: wait });
    }
    desk.audit.emit(&AuditEvent::CredentialRequested {
        user_code: code.clone(),
        ip,
    });
    let language = Language::negotiate(&parts.headers);
    tokio::spawn(credential::issue(Arc::clone(desk), code, language));

    let m = Messages::of(language);
    Ok(notice(
        desk,
        parts,
        m.password_requested_title,
        m.password_requested,
    ))
}

/// A confirmation, as a page or JSON (`{"ok": true, "message": ...}`).
pub(crate) fn notice(desk: &Desk, parts: &Parts, title: &str, message: &str) -> Response<Body> {
    if respond::wants_json(&parts.headers) {
        return respond::json(
            StatusCode::OK,
            &serde_json::json!({ "ok": true, "message": message }),
        );
    }
    let (sign_in, assets) = (desk.login_path(), desk.assets_path());
    let page = NoticePage {
        language: Language::negotiate(&parts.headers),
        title,
        message,
        sign_in: &sign_in,
        assets: &assets,
    };
    respond::html(StatusCode::OK, desk.pages.notice(&page))
}
