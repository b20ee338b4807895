use http::HeaderMap;
use tower_cookies::Cookie;

/// The cookie that remembers the language a person chose with the pages' switch. Not a
/// secret and not a session: it only outranks `Accept-Language`.
pub(crate) const LANGUAGE_COOKIE: &str = "guichet-lang";

/// The languages of the built-in pages. French first: it is the portal's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Français (default).
    #[default]
    Fr,
    /// English.
    En,
}

impl Language {
    /// The preferred supported language from `Accept-Language` (highest `q`, first on ties),
    /// `default` when neither French nor English is acceptable or the header is unreadable.
    pub fn negotiate(headers: &HeaderMap, default: Self) -> Self {
        let Some(value) = headers
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return default;
        };
        let mut best: Option<(f32, Self)> = None;
        for range in value.split(',').take(32) {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let language = match tag.split('-').next() {
                Some("fr") => Self::Fr,
                Some("en") => Self::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, language));
            }
        }
        best.map_or(default, |(_, l)| l)
    }

    /// The language a person chose with the pages' switch (the `guichet-lang` cookie), else
    /// the preferred one of `Accept-Language`, else `default`.
    pub fn of_request(headers: &HeaderMap, default: Self) -> Self {
        Self::chosen(headers).unwrap_or_else(|| Self::negotiate(headers, default))
    }

    /// The language the `guichet-lang` cookie names, if the request has a readable one.
    fn chosen(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == LANGUAGE_COOKIE)
            .and_then(|cookie| Self::from_tag(cookie.value()))
    }

    /// The language of a tag guichet writes (`fr`, `en`), `None` for any other.
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "fr" => Some(Self::Fr),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language the pages' switch offers instead of this one.
    pub(crate) fn other(self) -> Self {
        match self {
            Self::Fr => Self::En,
            Self::En => Self::Fr,
        }
    }

    /// The BCP 47 tag, for `lang` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(value: &str) -> Language {
        let mut h = HeaderMap::new();
        h.insert("accept-language", value.parse().unwrap());
        Language::negotiate(&h, Language::Fr)
    }

    #[test]
    fn french_unless_english_is_preferred() {
        assert_eq!(
            Language::negotiate(&HeaderMap::new(), Language::Fr),
            Language::Fr
        );
        assert_eq!(
            Language::negotiate(&HeaderMap::new(), Language::En),
            Language::En
        );
        assert_eq!(pick("en-CA,en;q=0.9"), Language::En);
        assert_eq!(pick("fr-CA,fr;q=0.9,en;q=0.8"), Language::Fr);
        assert_eq!(pick("de-DE,en;q=0.5"), Language::En);
        assert_eq!(pick("de-DE"), Language::Fr);
        assert_eq!(pick("en;q=0.2,fr;q=0.9"), Language::Fr);
        assert_eq!(pick("en;q=0"), Language::Fr);
    }

    fn with_cookie(cookie: &str, accept: &str) -> Language {
        let mut h = HeaderMap::new();
        h.insert("cookie", cookie.parse().unwrap());
        h.insert("accept-language", accept.parse().unwrap());
        Language::of_request(&h, Language::Fr)
    }

    #[test]
    fn a_chosen_language_outranks_the_browser_s() {
        assert_eq!(with_cookie("a=1; guichet-lang=en", "fr-CA"), Language::En);
        assert_eq!(with_cookie("guichet-lang=fr", "en-US"), Language::Fr);
        // Anything else in the cookie is ignored, not an error.
        assert_eq!(with_cookie("guichet-lang=de", "en-US"), Language::En);
        assert_eq!(with_cookie("guichet-lang=EN", "fr"), Language::Fr);
        assert_eq!(with_cookie("guichet=x", "en"), Language::En);
    }
}
