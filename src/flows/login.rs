//! `GET/POST /auth/login`: the sign-in page and the sign-in itself.
//!
//! The order of a sign-in is chosen so that nothing tells a known user code from an unknown
//! one: limits are checked before any lookup and apply to every code alike; the directory and
//! the credential store are asked the same questions for both; the password is verified against
//! the account's hash or, failing one, against a dummy hash with the same parameters; and the
//! failure answer is the same page (or JSON) whatever the reason. Only the audit event says why.
//!
//! A failure spends one allowance of the user code's throttle; a success clears it. Two
//! concurrent failures may both pass the check before either is counted: the throttle may let
//! a handful more through under a race, never fewer.

use std::sync::Arc;

use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::{AuditEvent, FailureReason, ThrottleLimit};
use crate::desk::Desk;
use crate::error::Refusal;
use crate::identity::{AccountStatus, UserCode};
use crate::limit::{client_ip, Limit};
use crate::pages::{Language, Messages, SignInPage};
use crate::password::{temporary, Password, Verification};
use crate::respond::{self, Body};
use crate::session::{unix_now, Session};

use super::{form, origin, urlencode, RequestBody};

/// The sign-in page; keeps a valid `?next=`.
pub(crate) fn page(desk: &Desk, parts: &Parts) -> Result<Response<Body>, Refusal> {
    let next = form::query(&parts.uri, &["next"])?.next()?;
    Ok(render(desk, parts, StatusCode::OK, next.as_deref(), None))
}

/// The page, fresh (`failed_code: None`) or after a failure (with the code typed, normalised).
fn render(
    desk: &Desk,
    parts: &Parts,
    status: StatusCode,
    next: Option<&str>,
    failed_code: Option<&str>,
) -> Response<Body> {
    let language = Language::negotiate(&parts.headers);
    if respond::wants_json(&parts.headers) {
        let body = match failed_code {
            Some(_) => serde_json::json!({
                "error": "sign_in_failed",
                "message": Messages::of(language).sign_in_failed,
                "tips": Messages::of(language).tips,
            }),
            None => serde_json::json!({ "fields": ["user_code", "password", "next"] }),
        };
        return respond::json(status, &body);
    }
    let action = desk.login_path();
    let assets = desk.assets_path();
    let password_request = desk.password_request_path();
    let page = SignInPage {
        language,
        action: &action,
        password_request: &password_request,
        next,
        user_code: failed_code,
        failed: failed_code.is_some(),
        assets: &assets,
    };
    respond::html(status, desk.pages.sign_in(&page))
}

/// `POST /auth/login`.
pub(crate) async fn submit<B>(
    desk: &Arc<Desk>,
    session: &Session,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&parts.headers, &parts.uri)?;
    let fields = form::read(&parts.headers, body, &["user_code", "password", "next"]).await?;
    let next = fields.next()?;
    let code = fields.user_code(desk.config.user_codes.case)?;
    let typed = fields.require("password")?;
    // A temporary password is recognised by its shape alone, so each attempt costs exactly one
    // verification whatever the account holds (see `password::temporary`).
    let temporary = temporary::canonical(typed);
    let password = fields.password(&desk.hasher, temporary.as_deref().unwrap_or(typed))?;
    let ip = client_ip(
        &parts.extensions,
        &parts.headers,
        &desk.config.trusted_proxies,
        desk.config.trusted_proxy_header,
    );

    let throttled = |limit, wait| {
        desk.audit.emit(&AuditEvent::SignInThrottled {
            user_code: code.clone(),
            ip,
            limit,
        });
        Refusal::Throttled { retry_after: wait }
    };
    if let Err(wait) = desk.limit(Limit::SignInPerIp, &ip.to_string()).await? {
        return Err(throttled(ThrottleLimit::ClientIp, wait));
    }
    // A throttled person can always recover by email: a temporary password is 99 random bits,
    // beyond guessing, so it is not held back by the per-code failure count (failures with it
    // still count, and the per-IP limit still applies).
    let rate = desk.config.sign_in.failures_per_code;
    if temporary.is_none() {
        if let Some(wait) = desk.throttle.peek(code.as_str(), rate).await? {
            return Err(throttled(ThrottleLimit::UserCode, wait));
        }
    }

    // The same two lookups for every code, known or not.
    let account = desk.directory.account(&code).await?;
    let credentials = desk.credentials.credentials(&code).await?;
    let runtime_hash = credentials.password_hash.clone();
    let stored = match temporary {
        Some(_) => credentials.usable_temporary(unix_now()).map(|t| &*t.hash),
        None => runtime_hash
            .as_deref()
            .or_else(|| account.as_ref().and_then(|a| a.password_hash.as_deref())),
    };
    let has_hash = stored.is_some();
    let usable = account
        .as_ref()
        .is_some_and(|a| a.status == AccountStatus::Active && !credentials.disabled);
    let verification = desk
        .hasher
        .verify(&password, stored.filter(|_| usable))
        .await
        .map_err(|_| Refusal::Unavailable)?;

    let accepted = match (&account, verification) {
        (Some(found), Verification::Match { needs_rehash }) => {
            // A temporary password is single use, also under concurrent sign-ins: only one of
            // them takes it.
            let taken = match temporary {
                Some(_) => {
                    let hash = stored.unwrap_or_default();
                    desk.credentials.take_temporary(&code, hash).await?
                }
                None => true,
            };
            taken.then(|| (Arc::clone(found), needs_rehash))
        }
        _ => None,
    };
    let (account, needs_rehash) = match accepted {
        Some(accepted) => accepted,
        None => {
            let reason = match account {
                None => FailureReason::UnknownCode,
                Some(_) if !usable => FailureReason::Disabled,
                Some(_) if temporary.is_some() => FailureReason::TemporaryPasswordInvalid,
                Some(_) if !has_hash => FailureReason::NoPassword,
                Some(_) => FailureReason::WrongPassword,
            };
            desk.throttle.spend(code.as_str(), rate).await?;
            desk.audit.emit(&AuditEvent::SignInFailed {
                user_code: code.clone(),
                ip,
                reason,
            });
            return Ok(render(
                desk,
                parts,
                StatusCode::UNAUTHORIZED,
                next.as_deref(),
                Some(code.as_str()),
            ));
        }
    };

    // With a temporary password the session is restricted, and the sign-in throttle stays
    // until a password is chosen.
    let restricted = temporary.is_some();
    if !restricted {
        desk.throttle.clear(code.as_str()).await?;
        if needs_rehash {
            tokio::spawn(rehash(
                Arc::clone(desk),
                code.clone(),
                password,
                runtime_hash,
            ));
        }
    }
    session
        .rotate(&account, credentials.epoch, restricted)
        .await?;
    let (event, target) = if restricted {
        let target = match &next {
            Some(next) => format!("{}?next={}", desk.set_password_path(), urlencode(next)),
            None => desk.set_password_path(),
        };
        (
            AuditEvent::SignedInWithTemporaryPassword {
                user_code: code,
                ip,
            },
            target,
        )
    } else {
        let target = next.unwrap_or_else(|| "/".to_owned());
        (
            AuditEvent::SignedIn {
                user_code: code,
                ip,
            },
            target,
        )
    };
    desk.audit.emit(&event);
    Ok(if respond::wants_json(&parts.headers) {
        respond::json(
            StatusCode::OK,
            &serde_json::json!({ "signed_in": true, "must_set_password": restricted, "next": target }),
        )
    } else {
        respond::redirect(&target)
    })
}

/// Recomputes a hash made with older parameters, off the request path. It replaces the stored
/// hash only if nobody changed it meanwhile.
async fn rehash(desk: Arc<Desk>, code: UserCode, password: Password, expected: Option<Arc<str>>) {
    let outcome = match desk.hasher.hash(&password).await {
        Ok(new) => desk
            .credentials
            .replace_password_hash(&code, expected.as_deref(), &new)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(true) => {
            tracing::info!(target: "guichet", user_code = %code, "password rehashed with the current parameters")
        }
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(target: "guichet", user_code = %code, %error, "rehash failed; will retry at the next sign-in")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next_of(uri: &'static str) -> Result<Option<String>, Refusal> {
        form::query(&http::Uri::from_static(uri), &["next"])?.next()
    }

    #[test]
    fn next_is_read_from_the_query_and_checked() {
        assert_eq!(
            next_of("/auth/login?next=%2Faccount%3Fa%3D1")
                .unwrap()
                .as_deref(),
            Some("/account?a=1")
        );
        assert_eq!(next_of("/auth/login?x=1").unwrap(), None);
        assert!(next_of("/auth/login?next=https%3A%2F%2Fevil.example").is_err());
        assert!(next_of("/auth/login?next=%FF").is_err());
    }
}
