//! The session cookie's value (`SessionCookie::parse`, internal: through `guichet::fuzzing`):
//! anything malformed is no session; an accepted value names a 43-character id and a
//! normalised user code, and the cookie it stands for reads back the same.
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
    assert_eq!(cookie.id.to_cookie().len(), 43);
    let code = cookie.user_code.as_str();
    assert_eq!(
        UserCode::parse(code, CasePolicy::Sensitive)
            .as_ref()
            .map(UserCode::as_str),
        Ok(code)
    );
    let again = cookie.to_value();
    assert_eq!(
        guichet::fuzzing::session_cookie(&again).as_ref(),
        Some(&cookie),
        "{value:?} gave a cookie whose value {again:?} does not read back"
    );
    assert!(http::HeaderValue::from_str(&again).is_ok());
});
