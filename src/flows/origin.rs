//! Refusing cross-site form posts (CSRF), the way browsers let servers tell: `Sec-Fetch-Site`
//! where sent, else `Origin` compared with `Host`. A request with neither header comes from a
//! non-browser client (curl, a script), which cannot be a victim of CSRF, and passes.

use http::{HeaderMap, Uri};

use crate::error::Refusal;

pub(crate) fn check(headers: &HeaderMap, uri: &Uri) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(Refusal::CrossSite),
        };
    }
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.parse::<Uri>().ok())
        .and_then(|o| o.authority().map(|a| a.as_str().to_owned()));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(Refusal::CrossSite),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_with(pairs: &[(&'static str, &'static str)]) -> Result<(), Refusal> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        check(&h, &Uri::from_static("/auth/login"))
    }

    #[test]
    fn same_origin_and_typed_navigation_pass() {
        assert!(check_with(&[("sec-fetch-site", "same-origin")]).is_ok());
        assert!(check_with(&[("sec-fetch-site", "none")]).is_ok());
        assert!(check_with(&[
            ("origin", "http://portal.example:3000"),
            ("host", "portal.example:3000")
        ])
        .is_ok());
        assert!(check_with(&[]).is_ok());
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert_eq!(
            check_with(&[("sec-fetch-site", "cross-site")]),
            Err(Refusal::CrossSite)
        );
        assert_eq!(
            check_with(&[("sec-fetch-site", "same-site")]),
            Err(Refusal::CrossSite)
        );
        assert_eq!(
            check_with(&[
                ("origin", "https://evil.example"),
                ("host", "portal.example")
            ]),
            Err(Refusal::CrossSite)
        );
        assert_eq!(
            check_with(&[("origin", "null"), ("host", "portal.example")]),
            Err(Refusal::CrossSite)
        );
    }
}
