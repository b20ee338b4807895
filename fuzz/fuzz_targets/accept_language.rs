//! `Language::negotiate`: any `Accept-Language` bytes give French or English; the configured
//! default only when the header names neither (the same answer whatever the default
//! otherwise), English only when the header names it, and the same answer every time.
#![no_main]

use guichet::pages::Language;
use http::{header::ACCEPT_LANGUAGE, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    // Two headers when the input holds a NUL: only the first one counts.
    for part in data.splitn(2, |b| *b == 0) {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(ACCEPT_LANGUAGE, value);
        }
    }
    let french = Language::negotiate(&headers, Language::Fr);
    let english = Language::negotiate(&headers, Language::En);
    assert_eq!(french, Language::negotiate(&headers, Language::Fr));
    // Either nothing was acceptable (each default comes back), or the header chose.
    assert!(
        (french == Language::Fr && english == Language::En) || french == english,
        "{french:?} / {english:?}"
    );
    let Some(first) = headers.get(ACCEPT_LANGUAGE) else {
        assert_eq!((french, english), (Language::Fr, Language::En));
        return;
    };
    let text = first.to_str().map(str::to_ascii_lowercase);
    if french == Language::En {
        let text = text.as_deref().expect("English needs a readable header");
        assert!(text.contains("en"), "English from {text:?}");
    }
    if english == Language::Fr {
        let text = text.as_deref().expect("French needs a readable header");
        assert!(text.contains("fr"), "French from {text:?}");
    }
    assert!(matches!(french.tag(), "fr" | "en"));
});
