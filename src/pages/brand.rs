//! A portal's look without code: `pages.brand` (name, logo, accent colour, extra stylesheet),
//! checked when the configuration is, and what it takes on the pages.
//!
//! The pages keep their strict Content Security Policy: the accent reaches them through a
//! stylesheet generated from the configuration (`{prefix}/assets/brand.css`, its link
//! versioned by its content so that caches never keep an old one), never inline; a logo or
//! stylesheet on another origin adds exactly that origin to `img-src` or `style-src`.

use askama::Template;
use blake2::digest::consts::U8;
use blake2::{Blake2b, Digest};
use bytes::Bytes;
use http::Uri;

use super::color::{Rgb, AA};
use super::style::SCHEMES;
use super::{Language, Messages};
use crate::config::BrandConfig;
use crate::error::ConfigError;
use crate::links::sanitize_next;

/// The longest product name: it has to fit a title and the header.
const MAX_NAME: usize = 80;

/// The product's look on the built-in pages, from `pages.brand`.
#[derive(Debug, Clone)]
pub struct Brand {
    name: Option<String>,
    logo: Option<Link>,
    stylesheet: Option<Link>,
    accent: Option<Accent>,
}

/// The configured accent and the stylesheet that carries it.
#[derive(Debug, Clone)]
struct Accent {
    css: Bytes,
    href: String,
}

/// A URL from the configuration: a path on this site, or an absolute URL and its origin.
#[derive(Debug, Clone)]
struct Link {
    url: String,
    /// `scheme://host[:port]`, for the CSP; `None` for a path on this site (`'self'`).
    origin: Option<String>,
}

#[derive(Template)]
#[template(path = "brand.css", escape = "none")]
struct AccentStylesheet {
    accent: Rgb,
}

impl Brand {
    /// Checks `config` and makes the brand; `assets` is where the flows serve `brand.css`,
    /// `base_url` the portal's public origin (an `http://` portal may use `http://` URLs, an
    /// `https://` one only `https://`, which browsers would otherwise block).
    pub(crate) fn new(
        config: &BrandConfig,
        assets: &str,
        base_url: &str,
    ) -> Result<Self, ConfigError> {
        let name = match &config.name {
            None => None,
            Some(name) => {
                let name = name.trim();
                if !crate::identity::is_plain_name(name, MAX_NAME) {
                    return Err(ConfigError::invalid(
                        "pages.brand.name",
                        format!("one line of 1 to {MAX_NAME} characters"),
                    ));
                }
                Some(name.to_owned())
            }
        };
        let secure = !base_url.starts_with("http://");
        let link = |field, url: &Option<String>| {
            url.as_deref()
                .map(|url| Link::parse(field, url, secure))
                .transpose()
        };
        let accent = match &config.accent {
            None => None,
            Some(text) => Some(Accent::new(readable_accent(text)?, assets)),
        };
        Ok(Self {
            name,
            logo: link("pages.brand.logo", &config.logo)?,
            stylesheet: link("pages.brand.stylesheet", &config.stylesheet)?,
            accent,
        })
    }

    /// The product's name: the configured one, else "Portail clients" / "Customer portal".
    pub fn name(&self, language: Language) -> &str {
        self.name
            .as_deref()
            .unwrap_or(Messages::of(language).default_brand_name)
    }

    /// The logo's URL, shown in the header with the name as its text alternative.
    pub fn logo(&self) -> Option<&str> {
        self.logo.as_ref().map(|l| l.url.as_str())
    }

    /// The portal's own stylesheet, linked after guichet's.
    pub fn stylesheet(&self) -> Option<&str> {
        self.stylesheet.as_ref().map(|l| l.url.as_str())
    }

    /// The link to the accent's stylesheet (`{prefix}/assets/brand.css?v=...`), when an accent
    /// is configured.
    pub fn accent_stylesheet(&self) -> Option<&str> {
        self.accent.as_ref().map(|a| a.href.as_str())
    }

    /// What `{prefix}/assets/brand.css` serves: the accent's rules, or nothing.
    pub(crate) fn accent_css(&self) -> Bytes {
        self.accent
            .as_ref()
            .map_or_else(Bytes::new, |a| a.css.clone())
    }

    /// The other origin images come from (the logo's), if any.
    pub(crate) fn image_origin(&self) -> Option<&str> {
        self.logo.as_ref().and_then(|l| l.origin.as_deref())
    }

    /// The other origin stylesheets come from (the portal's stylesheet's), if any.
    pub(crate) fn style_origin(&self) -> Option<&str> {
        self.stylesheet.as_ref().and_then(|l| l.origin.as_deref())
    }
}

impl Accent {
    fn new(accent: Rgb, assets: &str) -> Self {
        let css = AccentStylesheet { accent }.render().unwrap_or_default();
        // The link changes with the content, so a cached old accent is never shown.
        let digest = Blake2b::<U8>::digest(css.as_bytes());
        let version: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            href: format!("{assets}/brand.css?v={version}"),
            css: Bytes::from(css),
        }
    }
}

/// The accent, if it is a colour the button text stays readable on, in every scheme.
fn readable_accent(text: &str) -> Result<Rgb, ConfigError> {
    const FIELD: &str = "pages.brand.accent";
    let accent = Rgb::parse(text.trim()).ok_or_else(|| {
        ConfigError::invalid(
            FIELD,
            "a CSS hex colour, `#rgb` or `#rrggbb` (e.g. `#0b57d0`)",
        )
    })?;
    for scheme in SCHEMES {
        let contrast = accent.contrast(scheme.on_accent);
        if contrast < AA {
            return Err(ConfigError::invalid(
                FIELD,
                format!(
                    "{accent} is the buttons' background under their text ({text_colour}) in the \
                     {scheme} scheme: a contrast of {contrast:.2}:1, where WCAG AA asks for at \
                     least {AA}:1; choose a darker colour",
                    text_colour = scheme.on_accent,
                    scheme = scheme.name,
                ),
            ));
        }
    }
    Ok(accent)
}

impl Link {
    /// A path on this site (checked as `next` is), or an absolute `https://` URL (`http://`
    /// too when the portal itself is plain http) without user name or password.
    fn parse(field: &'static str, url: &str, secure: bool) -> Result<Self, ConfigError> {
        if url.starts_with('/') {
            return match sanitize_next(url) {
                Ok(Some(path)) => Ok(Self {
                    url: path,
                    origin: None,
                }),
                _ => Err(ConfigError::invalid(
                    field,
                    "a path on this site (`/static/logo.svg`) or an absolute URL",
                )),
            };
        }
        let schemes = if secure { "https" } else { "https or http" };
        let refused = || {
            ConfigError::invalid(
                field,
                format!(
                    "a path on this site or an absolute {schemes} URL without user name, \
                     password or fragment (`https://cdn.example/logo.svg`)"
                ),
            )
        };
        let uri: Uri = url.parse().map_err(|_| refused())?;
        let scheme = uri.scheme_str().ok_or_else(refused)?;
        let authority = uri.authority().ok_or_else(refused)?;
        let host = authority.host();
        // Only what a host name or an IP address is made of: the origin goes into the CSP,
        // where `;` or `,` would start another directive or source.
        let plain_host = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        let allowed = scheme == "https" || (scheme == "http" && !secure);
        if !allowed || !plain_host || authority.as_str().contains('@') || url.contains('#') {
            return Err(refused());
        }
        let port = authority
            .port_u16()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let port_as_written = authority.as_str().len() == host.len() + port.len();
        if !port_as_written {
            return Err(refused());
        }
        Ok(Self {
            url: url.to_owned(),
            origin: Some(format!("{scheme}://{host}{port}").to_ascii_lowercase()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand(config: BrandConfig) -> Result<Brand, ConfigError> {
        Brand::new(&config, "/auth/assets", "https://portal.example")
    }

    fn with(field: &str, value: &str) -> BrandConfig {
        let mut config = BrandConfig::default();
        let value = Some(value.to_owned());
        match field {
            "name" => config.name = value,
            "logo" => config.logo = value,
            "accent" => config.accent = value,
            _ => config.stylesheet = value,
        }
        config
    }

    #[test]
    fn without_a_brand_the_pages_name_the_portal_in_their_language() {
        let b = brand(BrandConfig::default()).unwrap();
        assert_eq!(b.name(Language::Fr), "Portail clients");
        assert_eq!(b.name(Language::En), "Customer portal");
        assert_eq!(
            (b.logo(), b.stylesheet(), b.accent_stylesheet()),
            (None, None, None)
        );
        assert!(b.accent_css().is_empty());
        assert_eq!((b.image_origin(), b.style_origin()), (None, None));
    }

    #[test]
    fn a_name_is_one_short_line() {
        let b = brand(with("name", " Groupecho ")).unwrap();
        assert_eq!(b.name(Language::En), "Groupecho");
        for bad in ["", "  ", "a\nb", &"x".repeat(81)] {
            assert!(brand(with("name", bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_accent_the_button_text_is_unreadable_on_is_refused_with_the_contrast() {
        let b = brand(with("accent", "#1B5E20")).unwrap();
        assert!(b.accent_css().starts_with(b"/*"));
        let css = String::from_utf8(b.accent_css().to_vec()).unwrap();
        assert!(css.contains("--accent: #1b5e20;"), "{css}");
        let href = b.accent_stylesheet().unwrap();
        assert!(href.starts_with("/auth/assets/brand.css?v="), "{href}");
        assert_ne!(
            href,
            brand(with("accent", "#0d47a1"))
                .unwrap()
                .accent_stylesheet()
                .unwrap(),
            "another accent, another link"
        );

        let error = brand(with("accent", "#ffcc00")).unwrap_err().to_string();
        assert!(error.contains("pages.brand.accent"), "{error}");
        assert!(
            error.contains("#ffcc00") && error.contains("4.5:1"),
            "{error}"
        );
        assert!(error.contains("light scheme"), "{error}");
        for bad in ["blue", "#12", "#0b57d0;}body{display:none", "url(x)"] {
            let error = brand(with("accent", bad)).unwrap_err().to_string();
            assert!(error.contains("hex colour"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn logos_and_stylesheets_come_from_this_site_or_a_named_https_origin() {
        let b = brand(with("logo", "https://CDN.example:8443/a/logo.svg?x=1")).unwrap();
        assert_eq!(b.logo(), Some("https://CDN.example:8443/a/logo.svg?x=1"));
        assert_eq!(b.image_origin(), Some("https://cdn.example:8443"));
        let b = brand(with("stylesheet", "/static/portal.css")).unwrap();
        assert_eq!(b.stylesheet(), Some("/static/portal.css"));
        assert_eq!(b.style_origin(), None, "'self' covers it");
        for bad in [
            "http://cdn.example/logo.svg",
            "//cdn.example/logo.svg",
            "/\\cdn.example",
            "https://user:pw@cdn.example/logo.svg",
            "https://cdn.example/logo.svg#x",
            "javascript:alert(1)",
            "data:image/svg+xml,<svg/>",
            "logo.svg",
            "https://cdn.example/a b.svg",
            "https://cdn.example;script-src *",
            "https://cdn.example;script-src",
            "https://cdn.example,x/logo.svg",
            "https://cdn.example:/logo.svg",
            "https://cdn.example:99999/logo.svg",
        ] {
            assert!(brand(with("logo", bad)).is_err(), "{bad:?}");
            assert!(brand(with("stylesheet", bad)).is_err(), "{bad:?}");
        }
        // A plain-http portal (local use) may take its logo from a plain-http origin.
        let local = Brand::new(
            &with("logo", "http://127.0.0.1:9000/logo.svg"),
            "/auth/assets",
            "http://127.0.0.1:3000",
        );
        assert_eq!(local.unwrap().image_origin(), Some("http://127.0.0.1:9000"));
    }
}
