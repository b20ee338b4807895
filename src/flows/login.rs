//! `GET/POST /auth/login`: the sign-in page and the sign-in itself.
//!
//! The order of a sign-in is chosen so that nothing tells a known user code from an unknown
//! one: limits are checked before any lookup and apply to every code alike; the directory and
//! the credential store are asked the same questions for both; the password is verified against
//! the account's hash or, failing one, against a dummy hash with the same parameters; and the
//! failure answer is the same page (or JSON) whatever the reason. Only the audit event says why.
//!
//! Every attempt is counted (reserved) in the user code's throttle before the password is
//! checked, atomically, so concurrent attempts at the edge of the limit cannot all be checked;
//! a success clears the count. Attempts with something shaped like a temporary password have
//! their own allowance ([`Limit::TemporaryPasswordPerUserCode`]): a throttled person can still
//! use the one they asked for by email, and such attempts never stretch the ordinary throttle.

use std::sync::Arc;

use http::header::SET_COOKIE;
use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::{AuditEvent, FailureReason, ThrottleLimit};
use crate::context::Context;
use crate::error::Refusal;
use crate::identity::{AccountStatus, UserCode};
use crate::limit::{client_ip, limit_key, Limit};
use crate::pages::{Messages, SignInPage};
use crate::password::{temporary, Password, Verification};
use crate::respond::{self, Body};
use crate::session::{unix_now, Session};
use crate::store::{self, Change, Credentials};

use super::{form, RequestBody};
use crate::links::Links;
use crate::origin;

/// The sign-in page; keeps a valid `?next=`.
pub(crate) fn page(ctx: &Context, parts: &Parts) -> Result<Response<Body>, Refusal> {
    let next = form::query(&parts.uri, &["next"])?.next(&ctx.respond.links)?;
    Ok(render(ctx, parts, StatusCode::OK, next.as_deref(), None))
}

/// The page, fresh (`failed_code: None`) or after a failure (with the code typed, normalised).
fn render(
    ctx: &Context,
    parts: &Parts,
    status: StatusCode,
    next: Option<&str>,
    failed_code: Option<&str>,
) -> Response<Body> {
    let language = ctx.respond.language(&parts.headers);
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
    let links = &ctx.respond.links;
    // "Email me my password" keeps `next`, so that the temporary password leads where the
    // person was going.
    let password_request = Links::with_next(links.password_request(), next);
    let page = SignInPage {
        language,
        action: links.login(),
        password_request: &password_request,
        next,
        user_code: failed_code,
        failed: failed_code.is_some(),
        assets: links.assets(),
        layout: ctx.respond.layout(&parts.into(), next),
    };
    ctx.respond.html(status, ctx.respond.pages.sign_in(&page))
}

/// `POST /auth/login`.
pub(crate) async fn submit<B>(
    ctx: &Arc<Context>,
    session: &Session,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&ctx.origin, &parts.headers)?;
    let fields = form::read(&parts.headers, body, &["user_code", "password", "next"]).await?;
    let next = fields.next(&ctx.respond.links)?;
    let code = fields.user_code(ctx.config.user_codes.case)?;
    let typed = fields.require("password")?;
    // A temporary password is recognised by its shape alone, so each attempt does the same
    // work whatever the account holds (see `password::temporary`).
    let temporary = temporary::canonical(typed);
    let password = match temporary {
        Some(_) => None,
        None => Some(fields.password(&ctx.hasher, typed)?),
    };
    let ip = client_ip(
        &parts.extensions,
        &parts.headers,
        &ctx.config.trusted_proxies,
        ctx.config.trusted_proxy_header,
    );

    let throttled = |limit, wait| {
        ctx.audit.emit(&AuditEvent::SignInThrottled {
            user_code: code.clone(),
            ip,
            limit,
        });
        Refusal::Throttled { retry_after: wait }
    };
    if let Err(wait) = ctx.limit(Limit::SignInPerIp, &limit_key(ip)).await? {
        return Err(throttled(ThrottleLimit::ClientIp, wait));
    }
    let throttle = match temporary {
        Some(_) => Limit::TemporaryPasswordPerUserCode,
        None => Limit::SignInPerUserCode,
    };
    if let Err(wait) = ctx.reserve(throttle, code.as_str()).await? {
        return Err(throttled(ThrottleLimit::UserCode, wait));
    }

    // The same lookups for every code, known or not.
    let account = ctx.directory.account(&code).await?;
    let usable = |credentials: &Credentials| {
        account
            .as_ref()
            .is_some_and(|a| a.status == AccountStatus::Active && !credentials.is_disabled())
    };
    let directory_hash = account.as_ref().and_then(|a| a.password_hash.as_deref());
    let (accepted, reason) = match (&temporary, &password) {
        (Some(canonical), _) => {
            // One read-and-swap: of two sign-ins with one temporary password, one wins.
            let digest = temporary::digest(canonical);
            let now = unix_now();
            // The restricted session may choose a password for as long as a temporary
            // password lasts, counted from now.
            let until = now + ctx.config.credential_requests.validity.as_secs();
            let redeemed = store::update(&*ctx.store, &code, |credentials| {
                let pending = credentials
                    .pending_digest(now)
                    .filter(|_| usable(credentials));
                if !temporary::matches(&digest, pending) {
                    return Change::Keep(None);
                }
                match credentials.redeem(&digest, now, until, directory_hash) {
                    Some(key) => Change::Save(Some((key, credentials.epoch()))),
                    None => Change::Keep(None),
                }
            })
            .await?;
            let accepted = redeemed.map(|(key, epoch)| Accepted {
                epoch,
                restricted: Some(key),
                rehash: None,
            });
            (accepted, FailureReason::TemporaryPasswordInvalid)
        }
        (None, Some(password)) => {
            let credentials = ctx.store.credentials(&code).await?.value;
            let read_epoch = credentials.epoch();
            let stored = credentials.password_hash(directory_hash);
            let verification = ctx
                .hasher
                .verify(password, stored.filter(|_| usable(&credentials)))
                .await
                .map_err(|_| Refusal::Unavailable)?;
            let reason = if stored.is_some() {
                FailureReason::WrongPassword
            } else {
                FailureReason::NoPassword
            };
            let accepted = match verification {
                Verification::Match { needs_rehash } => {
                    let verified = stored.map(str::to_owned).filter(|_| needs_rehash);
                    // Someone who knows the password needs no temporary one: restricted
                    // sessions end, and a password the directory replaced is dropped. The
                    // verification only counts if nothing moved while it ran: a password
                    // chosen, undone or disabled meanwhile makes it stale.
                    let matched = stored.map(str::to_owned);
                    let epoch = store::update(&*ctx.store, &code, |now| {
                        let unchanged = now.epoch() == read_epoch
                            && now.password_hash(directory_hash) == matched.as_deref()
                            && usable(now);
                        if !unchanged {
                            Change::Keep(None)
                        } else if now.signed_in(directory_hash) {
                            Change::Save(Some(now.epoch()))
                        } else {
                            Change::Keep(Some(now.epoch()))
                        }
                    })
                    .await?;
                    epoch.map(|epoch| Accepted {
                        epoch,
                        restricted: None,
                        rehash: verified,
                    })
                }
                Verification::Mismatch => None,
            };
            (accepted, reason)
        }
        (None, None) => return Err(Refusal::MissingField("password")),
    };

    let (Some(accepted), Some(account)) = (accepted, account.as_ref()) else {
        let reason = match &account {
            None => FailureReason::UnknownCode,
            Some(a) if a.status != AccountStatus::Active => FailureReason::Disabled,
            Some(_) => reason,
        };
        ctx.audit.emit(&AuditEvent::SignInFailed {
            user_code: code.clone(),
            ip,
            reason,
        });
        return Ok(render(
            ctx,
            parts,
            StatusCode::UNAUTHORIZED,
            next.as_deref(),
            Some(code.as_str()),
        ));
    };

    // With a temporary password the session is restricted, and the ordinary throttle stays
    // until a password is chosen.
    let restricted = accepted.restricted.is_some();
    ctx.store.clear(throttle, code.as_str()).await?;
    if let (Some(verified), Some(password)) = (accepted.rehash, password) {
        ctx.background.spawn(rehash(
            Arc::clone(ctx),
            code.clone(),
            password,
            account.password_hash.clone(),
            verified,
        ));
    }
    let cookie = session
        .rotate(account, accepted.epoch, accepted.restricted)
        .await?;
    let (event, target) = if restricted {
        let target = Links::with_next(ctx.respond.links.set_password(), next.as_deref());
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
    ctx.audit.emit(&event);
    let mut response = if respond::wants_json(&parts.headers) {
        respond::json(
            StatusCode::OK,
            &serde_json::json!({ "signed_in": true, "must_set_password": restricted, "next": target }),
        )
    } else {
        respond::redirect(&target)
    };
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

/// A sign-in that succeeded.
struct Accepted {
    /// The account's epoch to open the session under.
    epoch: u64,
    /// For a temporary password: the restricted session's name for it.
    restricted: Option<Arc<str>>,
    /// The stored hash that matched, when it should be recomputed with the current parameters.
    rehash: Option<String>,
}

/// Recomputes a hash made with older parameters, off the request path. It replaces the stored
/// hash only if it is still the one that was verified.
async fn rehash(
    ctx: Arc<Context>,
    code: UserCode,
    password: Password,
    directory_hash: Option<String>,
    verified: String,
) {
    let outcome = match ctx.hasher.hash(&password).await {
        Ok(new) => store::update(&*ctx.store, &code, |credentials| {
            if credentials.rehash(directory_hash.as_deref(), &verified, &new) {
                Change::Save(true)
            } else {
                Change::Keep(false)
            }
        })
        .await
        .map(|replaced| replaced.then_some(new))
        .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(Some(new)) => {
            tracing::info!(target: "guichet", user_code = %code, "password rehashed with the current parameters");
            ctx.write_back(&code, Some(&new)).await;
        }
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(target: "guichet", user_code = %code, %error, "rehash failed; will retry at the next sign-in")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next_of(uri: &'static str) -> Result<Option<String>, Refusal> {
        let mut config = crate::Config::default();
        config.forward_auth.redirect_origins = vec!["https://app.example".into()];
        let links = crate::links::Links::new(&config);
        form::query(&http::Uri::from_static(uri), &["next"])?.next(&links)
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
        assert_eq!(
            next_of("/auth/login?next=https%3A%2F%2Fapp.example%2Freports%3Fy%3D2")
                .unwrap()
                .as_deref(),
            Some("https://app.example/reports?y=2"),
            "an allowed origin"
        );
        for bad in [
            "https%3A%2F%2Fapp.example.evil.example%2F",
            "http%3A%2F%2Fapp.example%2F",
            "https%3A%2F%2Fapp.example%3A8443%2F",
            "https%3A%2F%2Fx%40app.example%2F",
            "https%3A%2F%2Fapp.example%2Fa%23b",
        ] {
            let uri: &'static str = Box::leak(format!("/auth/login?next={bad}").into_boxed_str());
            assert!(next_of(uri).is_err(), "{bad}");
        }
        assert!(next_of("/auth/login?next=%FF").is_err());
    }
}
