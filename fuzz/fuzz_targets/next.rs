//! `next` sanitising (internal: through `guichet::fuzzing`): an accepted `next` is the input
//! unchanged, a same-site path (never `//host` or `/\host`), holds no control character, white
//! space, backslash or fragment, is at most 2048 bytes, and can be sent as a `Location`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    match guichet::fuzzing::next(value) {
        Ok(None) => assert!(value.is_empty()),
        Ok(Some(next)) => {
            assert_eq!(next, value);
            assert!(next.len() <= 2048);
            assert!(next.starts_with('/'));
            assert!(!next.starts_with("//") && !next.starts_with("/\\"));
            assert!(!next
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '#'));
            let uri: http::Uri = next.parse().expect("an accepted next is a URI");
            assert!(
                uri.scheme().is_none() && uri.authority().is_none(),
                "{next:?}"
            );
            assert!(http::HeaderValue::from_str(&next).is_ok(), "{next:?}");
        }
        Err(_) => assert!(!value.is_empty()),
    }
});
