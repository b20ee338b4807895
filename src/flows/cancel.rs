//! `GET/POST /auth/password/cancel`: the "this wasn't me" link of a temporary-password email.
//!
//! `GET` only shows a button: mail scanners that follow links change nothing. `POST` removes
//! the pending temporary password if the token matches. The answer is the same whether
//! anything was pending or not.

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::AuditEvent;
use crate::credential::cancel_key;
use crate::desk::Desk;
use crate::error::Refusal;
use crate::pages::{CancelPage, Language, Messages};
use crate::respond::{self, Body};

use super::{form, origin, password, RequestBody};

const FIELDS: &[&str] = &["code", "token"];

/// The confirmation button.
pub(crate) fn page(desk: &Desk, parts: &Parts) -> Result<Response<Body>, Refusal> {
    let fields = form::query(&parts.uri, FIELDS)?;
    let code = fields.user_code_in("code", desk.config.user_codes.case)?;
    let token = token(&fields)?;
    let (action, assets) = (desk.cancel_path(), desk.assets_path());
    let page = CancelPage {
        language: Language::negotiate(&parts.headers),
        action: &action,
        user_code: code.as_str(),
        token,
        assets: &assets,
    };
    Ok(respond::html(StatusCode::OK, desk.pages.cancel(&page)))
}

/// `POST`: cancels.
pub(crate) async fn submit<B>(
    desk: &Desk,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&parts.headers, &parts.uri)?;
    let fields = form::read(&parts.headers, body, FIELDS).await?;
    let code = fields.user_code_in("code", desk.config.user_codes.case)?;
    if desk
        .credentials
        .cancel_temporary(&code, &cancel_key(token(&fields)?))
        .await?
    {
        desk.audit
            .emit(&AuditEvent::TemporaryPasswordCancelled { user_code: code });
    }
    let m = Messages::of(Language::negotiate(&parts.headers));
    Ok(password::notice(desk, parts, m.cancel_title, m.cancelled))
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
