//! `next`: where to go after signing in. Only same-site paths are accepted, so a crafted link
//! can never turn the sign-in page into an open redirect.

use http::Uri;

use crate::error::Refusal;

/// The longest accepted `next`.
pub(crate) const MAX_NEXT: usize = 2048;

/// Accepts `/path?query` on this site; refuses absolute and scheme-relative URLs (`//evil`,
/// `/\evil`, which browsers read as another host), control characters, white space,
/// fragments and anything over [`MAX_NEXT`]. An empty `next` means none.
pub(crate) fn sanitize(next: &str) -> Result<Option<String>, Refusal> {
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
pub(crate) fn from_uri(uri: &Uri) -> Option<String> {
    let full = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    sanitize(full)
        .ok()
        .flatten()
        .or_else(|| sanitize(uri.path()).ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_site_paths_are_kept() {
        for ok in ["/", "/account", "/services/collection/x?y=1&z=%2F"] {
            assert_eq!(sanitize(ok).unwrap().as_deref(), Some(ok));
        }
        assert_eq!(sanitize("").unwrap(), None);
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
            assert!(sanitize(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn an_accepted_next_is_always_a_local_path(s in "\\PC{0,40}") {
            if let Ok(Some(next)) = sanitize(&s) {
                prop_assert!(next.starts_with('/'));
                prop_assert!(!next.starts_with("//") && !next.starts_with("/\\"));
                prop_assert!(!next.contains('\\'));
                prop_assert!(!next.chars().any(char::is_control));
            }
        }
    }
}
