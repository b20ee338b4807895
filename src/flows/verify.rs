//! `{prefix}/verify`: forward auth, the question a reverse proxy (nginx `auth_request`, Traefik
//! `ForwardAuth`, Caddy `forward_auth`) asks before every request to a service it protects:
//! "is this visitor signed in, and may they use this service?"
//!
//! | situation | answer |
//! | --- | --- |
//! | signed in (normal session), subscribed to `?service=` if given | `200`, `Remote-User`, `Remote-Name`, `Remote-Email`, `Remote-Client`, `Remote-Services` |
//! | signed in, not subscribed to `?service=` | `403` |
//! | nobody signed in | `401`; with `?redirect=1`, `302` to the sign-in page |
//! | signed in with a temporary password | `403`; with `?redirect=1`, `303` to the choose-password page |
//! | a store cannot answer | `503` |
//!
//! The `401` and the restricted `403` also carry the page the visitor should go to in
//! `Location`, for proxies that answer the redirect themselves (nginx's `auth_request` only
//! understands `2xx`, `401` and `403`; its recipe reads the header with `auth_request_set`).
//!
//! The sign-in page gets a `next` pointing back to the original URL, rebuilt from
//! `X-Original-URL` or `X-Forwarded-Proto` + `-Host` + `-Uri`, only when that URL is on one of
//! `forward_auth.redirect_origins`, or on the portal's own origin and the request comes from a
//! trusted proxy (`trusted_proxies`); otherwise the sign-in page gets no `next`. Anyone can
//! send those headers, so they can never point anywhere the configuration did not allow.
//!
//! Header values are safe to forward: printable ASCII as is, anything else (accented names)
//! as an RFC 2047 encoded word, `=?UTF-8?B?...?=`, which has no line break to smuggle.
//! The proxy must overwrite (not append to) these headers on the way to the service, so that a
//! visitor cannot send their own `Remote-User`: the recipes do.

use http::request::Parts;
use http::{header, HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::context::Context;
use crate::deny::Denial;
use crate::error::Refusal;
use crate::identity::{Identity, ServiceName};
use crate::links::{sanitize_next, Links};
use crate::origin::Origin;
use crate::respond::{self, Body};
use crate::session::Session;

use super::form;

/// The answer to the proxy's sub-request (any method: proxies differ; the body is not read).
pub(crate) async fn answer(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Response<Body>, Refusal> {
    let query = form::query(&parts.uri, &["service", "redirect"])?;
    let service = query.get("service").map(ServiceName::new);
    let redirect = query.get("redirect") == Some("1");
    let state = match session.state_now() {
        Some(state) => state,
        None => session.state().await,
    };
    let links = &ctx.respond.links;
    let asked = crate::respond::Asked::from(parts);
    let headers = &asked;
    let response = match crate::guard::verdict(state, service.as_ref()) {
        Ok(identity) => signed_in(&identity),
        Err(Denial::SignInRequired) => {
            let next = original_url(ctx, parts);
            let sign_in = Links::with_next(links.login(), next.as_deref());
            if redirect {
                found(&sign_in)
            } else {
                with_location(
                    ctx.respond.message(
                        headers,
                        StatusCode::UNAUTHORIZED,
                        "sign_in_required",
                        |m| m.sign_in_required,
                    ),
                    &sign_in,
                )
            }
        }
        Err(Denial::PasswordMustBeSet) if redirect => respond::redirect(links.set_password()),
        Err(Denial::PasswordMustBeSet) => with_location(
            ctx.respond.message(
                headers,
                StatusCode::FORBIDDEN,
                "password_must_be_set",
                |m| m.password_must_be_set,
            ),
            links.set_password(),
        ),
        Err(Denial::MissingService(_)) => {
            ctx.respond
                .message(headers, StatusCode::FORBIDDEN, "missing_service", |m| {
                    m.missing_service
                })
        }
        Err(_) => return Err(Refusal::Unavailable),
    };
    Ok(response)
}

/// `200` with who is there, for the proxy to copy onto the request it forwards.
fn signed_in(identity: &Identity) -> Response<Body> {
    let mut response = Response::new(Body::default());
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let services: Vec<&str> = identity
        .services()
        .iter()
        .map(ServiceName::as_str)
        .collect();
    let account = identity.account();
    let fields = [
        ("remote-user", Some(identity.user_code().as_str())),
        ("remote-name", Some(identity.name())),
        ("remote-email", account.email.as_ref().map(|e| e.as_str())),
        ("remote-client", Some(identity.client())),
        ("remote-services", Some(&*services.join(","))),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            h.insert(HeaderName::from_static(name), forwardable(value));
        }
    }
    response
}

/// A header value a proxy can pass on unchanged: printable ASCII as is (unless it could be
/// mistaken for an encoded word), anything else as `=?UTF-8?B?<base64>?=` (RFC 2047).
fn forwardable(text: &str) -> HeaderValue {
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b)) && !text.starts_with("=?");
    if plain {
        if let Ok(value) = HeaderValue::from_str(text) {
            return value;
        }
    }
    use base64ct::Encoding;
    let encoded = format!(
        "=?UTF-8?B?{}?=",
        base64ct::Base64::encode_string(text.as_bytes())
    );
    // Base64 and the fixed words are printable ASCII: always a valid header value.
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `302 Found`, what Traefik and Caddy pass on to the browser as is.
fn found(location: &str) -> Response<Body> {
    let mut response = respond::redirect(location);
    *response.status_mut() = StatusCode::FOUND;
    response
}

fn with_location(mut response: Response<Body>, location: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The URL the visitor asked the proxy for, as the `next` of the sign-in page, when it may be
/// one (see the module docs).
fn original_url(ctx: &Context, parts: &Parts) -> Option<String> {
    let url = forwarded_url(&parts.headers)?;
    let links = &ctx.respond.links;
    if links.is_elsewhere_allowed(&url) {
        return Some(url);
    }
    let trusted = crate::limit::from_trusted_proxy(&parts.extensions, &ctx.config.trusted_proxies);
    if !trusted || Origin::parse(&url).as_ref() != Some(&ctx.origin) {
        return None;
    }
    let path = url.parse::<http::Uri>().ok()?;
    sanitize_next(path.path_and_query()?.as_str())
        .ok()
        .flatten()
}

/// `X-Original-URL` (nginx recipes), else `X-Forwarded-Proto` + `-Host` + `-Uri` (Traefik,
/// Caddy).
fn forwarded_url(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(url) = get("x-original-url") {
        return Some(url.to_owned());
    }
    let proto = get("x-forwarded-proto")?;
    let host = get("x-forwarded-host")?;
    let uri = get("x-forwarded-uri").unwrap_or("/");
    if !matches!(proto, "http" | "https") || !uri.starts_with('/') {
        return None;
    }
    Some(format!("{proto}://{host}{uri}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_cannot_smuggle_lines_and_keep_accents() {
        assert_eq!(forwardable("Marie Tremblay"), "Marie Tremblay");
        let accented = forwardable("Réception Acme");
        assert_eq!(accented, "=?UTF-8?B?UsOpY2VwdGlvbiBBY21l?=");
        let injected = forwardable("Eve\r\nRemote-User: ADMIN");
        assert!(!injected.as_bytes().contains(&b'\n'));
        assert!(injected.to_str().unwrap().starts_with("=?UTF-8?B?"));
        assert_ne!(forwardable("=?UTF-8?B?QURNSU4=?="), "=?UTF-8?B?QURNSU4=?=");
    }

    #[test]
    fn the_original_url_comes_from_one_header_or_the_three() {
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_url(&h), None);
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert("x-forwarded-host", HeaderValue::from_static("app.example"));
        h.insert("x-forwarded-uri", HeaderValue::from_static("/r?x=1"));
        assert_eq!(
            forwarded_url(&h).as_deref(),
            Some("https://app.example/r?x=1")
        );
        h.insert("x-forwarded-proto", HeaderValue::from_static("javascript"));
        assert_eq!(forwarded_url(&h), None);
        h.insert(
            "x-original-url",
            HeaderValue::from_static("https://portal.example/x"),
        );
        assert_eq!(
            forwarded_url(&h).as_deref(),
            Some("https://portal.example/x")
        );
    }
}
