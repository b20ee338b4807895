//! Building guichet's own responses: content negotiation (HTML for browsers, JSON for the
//! rest), the security headers of built-in pages, redirects, and refusals.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode, Uri};
use http_body_util::Full;

use crate::config::Config;
use crate::error::{ConfigError, Refusal};
use crate::links::{next_from_uri, Links};
use crate::pages::{Brand, Clock, Language, LanguageSwitch, Layout, Messages, Pages, RefusalPage};

/// The body of every response guichet makes itself.
pub type Body = Full<Bytes>;

/// What answering a client in its language needs: the pages, their links, the language to
/// use when the client chose or states none of ours, the brand, the clock of the pages and
/// letters, and the pages' Content Security Policy (which allows the brand's origins).
pub(crate) struct Responder {
    pub(crate) pages: Arc<dyn Pages>,
    pub(crate) links: Links,
    pub(crate) default_language: Language,
    pub(crate) brand: Brand,
    pub(crate) clock: Clock,
    csp: HeaderValue,
}

/// The request a response answers, as much of it as a page needs: its language, and where
/// the language switch comes back to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
}

impl<'a> From<&'a Parts> for Asked<'a> {
    fn from(parts: &'a Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
        }
    }
}

impl Responder {
    /// The responder of a checked configuration.
    pub(crate) fn new(pages: Arc<dyn Pages>, config: &Config) -> Result<Self, ConfigError> {
        let links = Links::new(config);
        let brand = Brand::new(&config.pages.brand, links.assets(), &config.mail.base_url)?;
        Ok(Self {
            pages,
            csp: csp(&brand, &config.forward_auth.redirect_origins),
            brand,
            links,
            default_language: config.pages.default_language,
            clock: Clock::new(&config.pages.time_zone)?,
        })
    }

    /// The client's language: the one chosen with the pages' switch, else `Accept-Language`'s,
    /// else the configured default.
    pub(crate) fn language(&self, headers: &HeaderMap) -> Language {
        Language::of_request(headers, self.default_language)
    }

    /// What every page shows around its own content. The language switch comes back to the
    /// page `asked` for: a `GET`'s own path and query; for a form's answer, the form's page
    /// with the page's `next`.
    pub(crate) fn layout(&self, asked: &Asked<'_>, next: Option<&str>) -> Layout<'_> {
        let here = if matches!(*asked.method, Method::GET | Method::HEAD) {
            next_from_uri(asked.uri)
        } else {
            Links::with_next(asked.uri.path(), next)
                .parse::<Uri>()
                .ok()
                .and_then(|form| next_from_uri(&form))
        };
        let to = self.language(asked.headers).other();
        Layout {
            brand: &self.brand,
            switch: LanguageSwitch {
                to,
                href: self.links.switch_language(to, here.as_deref()),
            },
        }
    }

    /// A message for the client: JSON `{"error": code, "message": ...}` or an HTML page.
    pub(crate) fn message(
        &self,
        asked: &Asked<'_>,
        status: StatusCode,
        code: &str,
        text: impl Fn(&Messages) -> &str,
    ) -> Response<Body> {
        let headers = asked.headers;
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
            layout: self.layout(asked, None),
        };
        self.html(status, self.pages.refusal(&page))
    }

    /// The response for a refusal, with `Retry-After` where it has one.
    pub(crate) fn refusal(&self, asked: &Asked<'_>, refusal: &Refusal) -> Response<Body> {
        let response = self.message(asked, refusal.status(), refusal.code(), |m| {
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

    /// An HTML page with the built-in pages' security headers.
    pub(crate) fn html(&self, status: StatusCode, page: String) -> Response<Body> {
        let mut response = base(status, "text/html; charset=utf-8", page);
        let h = response.headers_mut();
        h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
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

/// The pages' Content Security Policy: nothing inline, nothing from elsewhere but the origins
/// of the brand's logo (images) and stylesheet (styles), never framed. Forms post to the
/// portal only; the origins of `forward_auth.redirect_origins` are listed in `form-action`
/// too, because browsers apply it to the redirect that follows a sign-in, and that redirect
/// may go back to one of them.
fn csp(brand: &Brand, redirect_origins: &[String]) -> HeaderValue {
    let policy = |style: Option<&str>, image: Option<&str>, forms: &[String]| {
        let also = |origin: Option<&str>| origin.map(|o| format!(" {o}")).unwrap_or_default();
        let (style, image) = (also(style), also(image));
        let forms: String = forms
            .iter()
            .map(|o| format!(" {}", o.trim_end_matches('/')))
            .collect();
        format!(
            "default-src 'none'; style-src 'self'{style}; script-src 'self'; img-src 'self'{image}; \
             form-action 'self'{forms}; frame-ancestors 'none'; base-uri 'none'"
        )
    };
    // The origins are checked to be plain `scheme://host:port`; should one still not fit a
    // header, the policy without them is the safe one.
    HeaderValue::from_str(&policy(
        brand.style_origin(),
        brand.image_origin(),
        redirect_origins,
    ))
    .or_else(|_| HeaderValue::from_str(&policy(None, None, &[])))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

/// An asset of the built-in pages (cacheable: it holds nothing personal).
pub(crate) fn asset(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
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
