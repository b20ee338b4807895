//! Refusing cross-site form posts (CSRF), the way browsers let servers tell: `Sec-Fetch-Site`
//! where sent, else `Origin` compared with the portal's public origin (`mail.base_url`):
//! scheme, host and port, so that a page served over another scheme, or from another port of
//! the same host, cannot post. A request with neither header comes from a non-browser client
//! (curl, a script), which cannot be a victim of CSRF, and passes.

use http::{HeaderMap, Uri};

use crate::error::Refusal;

/// An origin: scheme, host (lower case) and port (the scheme's default when not written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http` or `https` URL.
    pub(crate) fn parse(url: &str) -> Option<Self> {
        let uri = url.parse::<Uri>().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        Some(Self {
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default),
            scheme,
        })
    }

    /// Whether `text` is an origin and nothing more: `scheme://host[:port]`, with at most a
    /// trailing `/`.
    pub(crate) fn is_exact(text: &str) -> bool {
        Self::parse(text).is_some()
            && text.parse::<Uri>().is_ok_and(|u| {
                u.path_and_query()
                    .is_none_or(|pq| matches!(pq.as_str(), "" | "/"))
            })
    }
}

/// Refuses a cross-site post to a portal whose public origin is `own`.
pub(crate) fn check(own: &Origin, headers: &HeaderMap) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(Refusal::CrossSite),
        };
    }
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        return Ok(());
    };
    match origin.to_str().ok().and_then(Origin::parse) {
        Some(origin) if origin == *own => Ok(()),
        _ => Err(Refusal::CrossSite),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_origin_has_no_path_query_or_credentials() {
        for ok in [
            "https://app.example",
            "https://app.example/",
            "http://app.example:8080",
        ] {
            assert!(Origin::is_exact(ok), "{ok}");
        }
        for bad in [
            "https://app.example/x",
            "https://app.example?x",
            "https://user@app.example",
            "ftp://app.example",
            "app.example",
            "",
        ] {
            assert!(!Origin::is_exact(bad), "{bad}");
        }
    }

    fn check_with(pairs: &[(&'static str, &'static str)]) -> Result<(), Refusal> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        let own = Origin::parse("http://portal.example:3000").unwrap();
        check(&own, &h)
    }

    #[test]
    fn same_origin_and_typed_navigation_pass() {
        assert!(check_with(&[("sec-fetch-site", "same-origin")]).is_ok());
        assert!(check_with(&[("sec-fetch-site", "none")]).is_ok());
        assert!(check_with(&[("origin", "http://Portal.Example:3000")]).is_ok());
        assert!(check_with(&[]).is_ok());
    }

    #[test]
    fn cross_site_posts_are_refused() {
        for pairs in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")],
            &[("origin", "https://evil.example")],
            &[("origin", "null")],
            &[("origin", "https://portal.example:3000")],
            &[("origin", "http://portal.example")],
            &[("origin", "http://portal.example:3001")],
            &[("origin", "http://user@portal.example:3000")],
        ] {
            assert_eq!(check_with(pairs), Err(Refusal::CrossSite), "{pairs:?}");
        }
    }

    #[test]
    fn default_ports_are_the_same_origin_written_or_not() {
        assert_eq!(
            Origin::parse("https://portal.example"),
            Origin::parse("https://portal.example:443")
        );
        assert!(Origin::parse("ftp://portal.example").is_none());
    }
}
