//! The cancel link's token (internal: through `guichet::fuzzing`): accepted exactly when it is
//! 43 base64url characters, and then unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let well_formed = value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match guichet::fuzzing::cancel_token(value) {
        Ok(token) => {
            assert!(well_formed, "{value:?} was accepted");
            assert_eq!(token, value);
        }
        Err(_) => assert!(!well_formed, "{value:?} was refused"),
    }
});
