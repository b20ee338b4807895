//! Building guichet's own responses: content negotiation (HTML for browsers, JSON for the
//! rest), the security headers of built-in pages, redirects, and refusals.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::error::Refusal;
use crate::links::Links;
use crate::pages::{Language, Messages, Pages, RefusalPage};

/// The body of every response guichet makes itself.
pub type Body = Full<Bytes>;

/// What answering a client in its language needs: the pages, their links, and the language to
/// use when the client states none of ours.
pub(crate) struct Responder {
    pub(crate) pages: Arc<dyn Pages>,
    pub(crate) links: Links,
    pub(crate) default_language: Language,
}

impl Responder {
    /// The client's language (`Accept-Language`), or the configured default.
    pub(crate) fn language(&self, headers: &HeaderMap) -> Language {
        Language::negotiate(headers, self.default_language)
    }

    /// A message for the client: JSON `{"error": code, "message": ...}` or an HTML page.
    pub(crate) fn message(
        &self,
        headers: &HeaderMap,
        status: StatusCode,
        code: &str,
        text: impl Fn(&Messages) -> &str,
    ) -> Response<Body> {
        let language = self.language(headers);
        let text = text(Messages::of(language));
        if !is_browser(headers) {
            return json(
                status,
                &serde_json::json!({ "error": code, "message": text }),
            );
        }
        let page = RefusalPage {
            language,
            status,
            message: text,
            sign_in: self.links.login(),
            assets: self.links.assets(),
        };
        html(status, self.pages.refusal(&page))
    }

    /// The response for a refusal, with `Retry-After` where it has one.
    pub(crate) fn refusal(&self, headers: &HeaderMap, refusal: &Refusal) -> Response<Body> {
        let response = self.message(headers, refusal.status(), refusal.code(), |m| {
            m.refusal(refusal)
        });
        let mut response = retry_after(response, refusal.retry_after_secs());
        if let Refusal::MethodNotAllowed { allow } = refusal {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// The client asked for JSON (`Accept: application/json`).
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    accepts(headers, "application/json")
}

/// A browser navigating (`Accept` lists `text/html`), as opposed to an API client.
pub(crate) fn is_browser(headers: &HeaderMap) -> bool {
    accepts(headers, "text/html") && !wants_json(headers)
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            range
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
        })
}

fn base(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Not `no-referrer`: with it, browsers send `Origin: null` on the pages' own form posts,
    // which the cross-site check must then refuse. `same-origin` sends nothing elsewhere.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The pages' Content Security Policy: nothing inline, nothing from elsewhere, never framed.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML page with the built-in pages' security headers.
pub(crate) fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut response = base(status, "text/html; charset=utf-8", page);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A static asset of the built-in pages (cacheable: it holds nothing personal).
pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut response = base(StatusCode::OK, content_type, body);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

/// A JSON body.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    base(status, "application/json", value.to_string())
}

/// `303 See Other` to a same-site path.
pub(crate) fn redirect(location: &str) -> Response<Body> {
    let mut response = base(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        Bytes::new(),
    );
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Sets `Retry-After` (whole seconds, never 0).
pub(crate) fn retry_after(mut response: Response<Body>, secs: Option<u64>) -> Response<Body> {
    if let Some(secs) = secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    response
}
