//! `Language::negotiate`: any `Accept-Language` bytes give French or English, English only
//! when the header names it, and the same answer every time.
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
    let language = Language::negotiate(&headers);
    assert_eq!(language, Language::negotiate(&headers));
    if language == Language::En {
        let first = headers
            .get(ACCEPT_LANGUAGE)
            .expect("English needs a header");
        let text = first.to_str().expect("English needs a readable header");
        assert!(
            text.to_ascii_lowercase().contains("en"),
            "English from {text:?}"
        );
    }
    assert!(matches!(language.tag(), "fr" | "en"));
});
