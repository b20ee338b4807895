//! The session cookie's value (`SessionCookie::parse`, internal: through `guichet::fuzzing`):
//! anything malformed is no session; an accepted value names a 43-character id and a claimed
//! user code without forbidden characters, is exactly the value the layer writes for that
//! cookie (so one session has one cookie spelling), and that value reads back the same.
#![no_main]

use guichet::identity::CasePolicy;
use guichet::UserCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Some(cookie) = guichet::fuzzing::session_cookie(value) else {
        return;
    };
    assert_eq!(cookie.id.len(), 43);
    assert!(!cookie.code.is_empty());
    assert!(!cookie.code.chars().any(guichet::fuzzing::is_forbidden));
    // The code stores may be asked with: present exactly when it reads back unchanged.
    let exact = UserCode::parse(&cookie.code, CasePolicy::Sensitive)
        .ok()
        .filter(|code| code.as_str() == cookie.code)
        .map(|code| code.as_str().to_owned());
    assert_eq!(cookie.user_code, exact);
    // What the stores are asked by is what the in-memory check accepts.
    assert!(cookie.readings_agree, "{cookie:?}");
    assert_eq!(
        cookie.value, value,
        "a cookie value read as {cookie:?} is not the one the layer writes"
    );
    assert_eq!(
        guichet::fuzzing::session_cookie(&cookie.value).as_ref(),
        Some(&cookie)
    );
    assert!(http::HeaderValue::from_str(&cookie.value).is_ok());
});
