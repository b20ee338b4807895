//! Where guichet's pages live and the links it writes: the paths under the prefix, absolute
//! links for emails (always from `mail.base_url`, never from a request's `Host`), and `next`,
//! where to go after signing in. Only same-site paths, and URLs on the origins listed in
//! `forward_auth.redirect_origins`, are accepted as `next`, so a crafted link can never turn
//! the sign-in page into an open redirect.

use http::Uri;

use crate::config::Config;
use crate::error::Refusal;
use crate::origin::Origin;
use crate::pages::Language;

/// The paths of the built-in pages, computed once from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    base_url: String,
    login: String,
    password_request: String,
    set_password: String,
    change_password: String,
    team: String,
    cancel: String,
    language: String,
    assets: String,
    /// The other origins `next` may point to.
    redirect_origins: Vec<Origin>,
}

impl Links {
    pub(crate) fn new(config: &Config) -> Self {
        let prefix = config.prefix.clone();
        let under = |path: &str| format!("{prefix}{path}");
        Self {
            base_url: config.mail.base_url.trim_end_matches('/').to_owned(),
            login: under("/login"),
            password_request: under("/password"),
            set_password: under("/password/set"),
            change_password: under("/password/change"),
            team: under("/team"),
            cancel: under("/password/cancel"),
            language: under("/language"),
            assets: under("/assets"),
            redirect_origins: config
                .forward_auth
                .redirect_origins
                .iter()
                .filter_map(|origin| Origin::parse(origin))
                .collect(),
        }
    }

    /// The sign-in page.
    pub(crate) fn login(&self) -> &str {
        &self.login
    }

    /// "Email me my password".
    pub(crate) fn password_request(&self) -> &str {
        &self.password_request
    }

    /// Choosing a password (the door of a restricted session).
    pub(crate) fn set_password(&self) -> &str {
        &self.set_password
    }

    /// Changing one's password online.
    pub(crate) fn change_password(&self) -> &str {
        &self.change_password
    }

    /// The contact person's form.
    pub(crate) fn team(&self) -> &str {
        &self.team
    }

    /// "This wasn't me".
    pub(crate) fn cancel(&self) -> &str {
        &self.cancel
    }

    /// `next` as sent (a query or form field): a same-site path, or an absolute URL on one of
    /// `forward_auth.redirect_origins`; anything else is refused. Empty means none.
    pub(crate) fn next(&self, next: &str) -> Result<Option<String>, Refusal> {
        if self.is_elsewhere_allowed(next) {
            return Ok(Some(next.to_owned()));
        }
        sanitize_next(next)
    }

    /// An absolute `http(s)` URL on an allowed other origin, without credentials, control
    /// characters, white space, backslashes or fragment, and not over [`MAX_NEXT`].
    pub(crate) fn is_elsewhere_allowed(&self, url: &str) -> bool {
        !self.redirect_origins.is_empty()
            && url.len() <= MAX_NEXT
            && !url
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#')
            && Origin::parse(url).is_some_and(|origin| self.redirect_origins.contains(&origin))
    }

    /// Where `guichet.css` and `guichet.js` are served.
    pub(crate) fn assets(&self) -> &str {
        &self.assets
    }

    /// The pages' language switch: to `language`, then back to `next`.
    pub(crate) fn switch_language(&self, language: Language, next: Option<&str>) -> String {
        let path = format!("{}?to={}", self.language, language.tag());
        Self::with_next(&path, next)
    }

    /// `path` (which may have a query already) with `next` when there is one.
    pub(crate) fn with_next(path: &str, next: Option<&str>) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        match next {
            Some(next) => format!("{path}{separator}next={}", urlencode(next)),
            None => path.to_owned(),
        }
    }

    /// An absolute link for an email: the public origin, then `path_and_query`.
    pub(crate) fn absolute(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }
}

/// Percent-encodes a query value (leaving `-`, `_`, `.` readable).
pub(crate) fn urlencode(text: &str) -> String {
    const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.');
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// The longest accepted `next`.
pub(crate) const MAX_NEXT: usize = 2048;

/// Accepts `/path?query` on this site; refuses absolute and scheme-relative URLs (`//evil`,
/// `/\evil`, which browsers read as another host), control characters, white space,
/// fragments and anything over [`MAX_NEXT`]. An empty `next` means none.
pub(crate) fn sanitize_next(next: &str) -> Result<Option<String>, Refusal> {
    const INVALID: Refusal = Refusal::InvalidField {
        field: "next",
        reason: "not a path on this site",
    };
    if next.is_empty() {
        return Ok(None);
    }
    let bytes = next.as_bytes();
    let same_site = next.len() <= MAX_NEXT
        && bytes[0] == b'/'
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#')
        && next.parse::<http::uri::PathAndQuery>().is_ok();
    if same_site {
        Ok(Some(next.to_owned()))
    } else {
        Err(INVALID)
    }
}

/// The `next` a guard sends a browser back to: the refused request's path and query, if it
/// is an acceptable `next` (the path alone if the query makes it too long).
pub(crate) fn next_from_uri(uri: &Uri) -> Option<String> {
    let full = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    sanitize_next(full)
        .ok()
        .flatten()
        .or_else(|| sanitize_next(uri.path()).ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_site_paths_are_kept() {
        for ok in ["/", "/account", "/services/collection/x?y=1&z=%2F"] {
            assert_eq!(sanitize_next(ok).unwrap().as_deref(), Some(ok));
        }
        assert_eq!(sanitize_next("").unwrap(), None);
    }

    #[test]
    fn other_sites_and_absurd_values_are_refused() {
        let long = format!("/{}", "a".repeat(MAX_NEXT));
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil",
            "javascript:alert(1)",
            "evil",
            "/a\r\nSet-Cookie: x=1",
            "/a b",
            "/a#frag",
            "/\t/evil",
            long.as_str(),
        ] {
            assert!(sanitize_next(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn an_accepted_next_is_always_a_local_path(s in "\\PC{0,40}") {
            if let Ok(Some(next)) = sanitize_next(&s) {
                prop_assert!(next.starts_with('/'));
                prop_assert!(!next.starts_with("//") && !next.starts_with("/\\"));
                prop_assert!(!next.contains('\\'));
                prop_assert!(!next.chars().any(char::is_control));
            }
        }
    }
}
