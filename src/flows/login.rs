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
use crate::identity::{AccountStatus, UserCode, UserCodeError};
use crate::limit::client_ip;
use crate::pages::{Language, Messages, SignInPage};
use crate::password::{Password, PasswordError, Verification};
use crate::respond::{self, Body};
use crate::session::Session;

use super::{form, next, origin};

/// The sign-in page; keeps a valid `?next=`.
pub(crate) fn page(desk: &Desk, parts: &Parts) -> Result<Response<Body>, Refusal> {
    let next = query_next(parts.uri.query())?;
    Ok(render(desk, parts, StatusCode::OK, next.as_deref(), None))
}

fn query_next(query: Option<&str>) -> Result<Option<String>, Refusal> {
    let Some(query) = query else {
        return Ok(None);
    };
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "next" {
            let spaced = value.replace('+', " ");
            let value = percent_encoding::percent_decode_str(&spaced)
                .decode_utf8()
                .map_err(|_| Refusal::MalformedBody("invalid UTF-8"))?;
            return next::sanitize(&value);
        }
    }
    Ok(None)
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
    let page = SignInPage {
        language,
        action: &action,
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
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    origin::check(&parts.headers, &parts.uri)?;
    let fields = form::read(&parts.headers, body, &["user_code", "password", "next"]).await?;
    let next = fields
        .get("next")
        .map(next::sanitize)
        .transpose()?
        .flatten();
    let code = UserCode::parse(fields.require("user_code")?, desk.config.user_codes.case).map_err(
        |e| match e {
            UserCodeError::Empty => Refusal::MissingField("user_code"),
            UserCodeError::TooLong => Refusal::InvalidField {
                field: "user_code",
                reason: "too long",
            },
            UserCodeError::ForbiddenCharacter => Refusal::InvalidField {
                field: "user_code",
                reason: "forbidden character",
            },
        },
    )?;
    let password = desk
        .hasher
        .password(fields.require("password")?)
        .map_err(|e| match e {
            PasswordError::Empty => Refusal::MissingField("password"),
            PasswordError::TooLong => Refusal::InvalidField {
                field: "password",
                reason: "too long",
            },
            PasswordError::ControlCharacter => Refusal::InvalidField {
                field: "password",
                reason: "control character",
            },
        })?;
    let ip = client_ip(
        &parts.extensions,
        &parts.headers,
        &desk.config.trusted_proxies,
    );

    let throttled = |limit, wait| {
        desk.audit.emit(&AuditEvent::SignInThrottled {
            user_code: code.clone(),
            ip,
            limit,
        });
        Refusal::Throttled { retry_after: wait }
    };
    if let Err(wait) = desk.ip_limiter.check(ip) {
        return Err(throttled(ThrottleLimit::ClientIp, wait));
    }
    let rate = desk.config.sign_in.failures_per_code;
    if let Some(wait) = desk.throttle.peek(code.as_str(), rate).await? {
        return Err(throttled(ThrottleLimit::UserCode, wait));
    }

    // The same two lookups for every code, known or not.
    let account = desk.directory.account(&code).await?;
    let credentials = desk.credentials.credentials(&code).await?;
    let runtime_hash = credentials.password_hash.clone();
    let stored = runtime_hash
        .as_deref()
        .or_else(|| account.as_ref().and_then(|a| a.password_hash.as_deref()));
    let has_hash = stored.is_some();
    let usable = account
        .as_ref()
        .is_some_and(|a| a.status == AccountStatus::Active && !credentials.disabled);
    let verification = desk
        .hasher
        .verify(&password, stored.filter(|_| usable))
        .await
        .map_err(|_| Refusal::Unavailable)?;

    let (account, needs_rehash) = match (account, verification) {
        (Some(account), Verification::Match { needs_rehash }) if usable => (account, needs_rehash),
        (account, _) => {
            let reason = match account {
                None => FailureReason::UnknownCode,
                Some(_) if !usable => FailureReason::Disabled,
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

    desk.throttle.clear(code.as_str()).await?;
    if needs_rehash {
        tokio::spawn(rehash(
            Arc::clone(desk),
            code.clone(),
            password,
            runtime_hash,
        ));
    }
    session.rotate(&account, credentials.epoch, false).await?;
    desk.audit.emit(&AuditEvent::SignedIn {
        user_code: code,
        ip,
    });
    let target = next.as_deref().unwrap_or("/");
    Ok(if respond::wants_json(&parts.headers) {
        respond::json(
            StatusCode::OK,
            &serde_json::json!({ "signed_in": true, "must_set_password": false, "next": target }),
        )
    } else {
        respond::redirect(target)
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

    #[test]
    fn next_is_read_from_the_query_and_checked() {
        assert_eq!(
            query_next(Some("next=%2Faccount%3Fa%3D1"))
                .unwrap()
                .as_deref(),
            Some("/account?a=1")
        );
        assert_eq!(query_next(Some("x=1")).unwrap(), None);
        assert!(query_next(Some("next=https%3A%2F%2Fevil.example")).is_err());
        assert!(query_next(Some("next=%FF")).is_err());
    }
}
