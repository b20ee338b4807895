//! `GET/POST /auth/password/set`: choosing a password, the only door of a restricted session
//! (one opened with a temporary password).
//!
//! A chosen password is stored as an argon2id hash, the credential epoch moves (every other
//! session of the account ends, and any pending temporary password is void), the account's
//! sign-in throttle is cleared, and this session is rotated into a normal one.

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::AuditEvent;
use crate::desk::Desk;
use crate::error::Refusal;
use crate::guard::{answer, Denial, Denied};
use crate::identity::Identity;
use crate::pages::{FormPage, Language, Messages};
use crate::password::temporary;
use crate::respond::{self, Body};
use crate::session::Session;

use super::{form, origin, RequestBody};

/// The shortest password a person may choose (NIST SP 800-63B's minimum).
const MIN_CHARS: usize = 8;

/// The restricted identity, or the answer for everyone else.
async fn restricted(
    desk: &Desk,
    session: &Session,
    parts: &Parts,
) -> Result<Identity, Response<Body>> {
    let denial = match session.identity().await {
        Ok(Some(identity)) if identity.is_restricted() => return Ok(identity),
        Ok(Some(_)) => {
            let response = respond::message(
                desk,
                &parts.headers,
                StatusCode::FORBIDDEN,
                "nothing_to_choose",
                |m| m.nothing_to_choose,
            );
            return Err(response);
        }
        Ok(None) => Denial::SignInRequired,
        Err(_) => Denial::Unavailable,
    };
    let denied = Denied {
        denial,
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
    };
    Err(answer(desk, &denied))
}

/// The form.
pub(crate) async fn page(
    desk: &Desk,
    session: &Session,
    parts: &Parts,
) -> Result<Response<Body>, Refusal> {
    if let Err(response) = restricted(desk, session, parts).await {
        return Ok(response);
    }
    let next = form::query(&parts.uri, &["next"])?.next()?;
    Ok(render(desk, parts, StatusCode::OK, next.as_deref(), None))
}

fn render(
    desk: &Desk,
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
        desk.set_password_path(),
        desk.login_path(),
        desk.assets_path(),
    );
    let page = FormPage {
        language: Language::negotiate(&parts.headers),
        action: &action,
        next,
        error,
        sign_in: &sign_in,
        assets: &assets,
    };
    respond::html(status, desk.pages.choose_password(&page))
}

/// `POST`: sets the password.
pub(crate) async fn submit<B>(
    desk: &Desk,
    session: &Session,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&parts.headers, &parts.uri)?;
    let identity = match restricted(desk, session, parts).await {
        Ok(identity) => identity,
        Err(response) => return Ok(response),
    };
    let fields = form::read(&parts.headers, body, &["password", "confirm", "next"]).await?;
    let next = fields.next()?;
    let typed = fields.require("password")?;
    let password = fields.password(&desk.hasher, typed)?;
    let m = Messages::of(Language::negotiate(&parts.headers));
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
            desk,
            parts,
            StatusCode::BAD_REQUEST,
            next.as_deref(),
            Some(problem),
        ));
    }

    let hash = desk
        .hasher
        .hash(&password)
        .await
        .map_err(|_| Refusal::Unavailable)?;
    let code = identity.user_code();
    let epoch = desk.credentials.set_password(code, &hash).await?;
    desk.throttle.clear(code.as_str()).await?;
    session.rotate(identity.account(), epoch, false).await?;
    desk.audit.emit(&AuditEvent::PasswordChosen {
        user_code: code.clone(),
    });
    let target = next.as_deref().unwrap_or("/");
    Ok(if respond::wants_json(&parts.headers) {
        respond::json(
            StatusCode::OK,
            &serde_json::json!({ "password_set": true, "next": target }),
        )
    } else {
        respond::redirect(target)
    })
}
