//! `UserCode::parse` under both case policies: a code that parses is normalised (parsing it
//! again gives it back), holds no forbidden character, is trimmed, non-empty and at most
//! `MAX_CHARS` characters; a case-insensitive code also reads back unchanged under the
//! case-sensitive policy (that is how stores deserialise it).
#![no_main]

use guichet::identity::CasePolicy;
use guichet::UserCode;
use libfuzzer_sys::fuzz_target;

fn check(typed: &str, case: CasePolicy) -> Option<UserCode> {
    let code = UserCode::parse(typed, case).ok()?;
    let s = code.as_str();
    assert!(!s.is_empty(), "{typed:?} gave an empty code");
    assert_eq!(s, s.trim(), "{typed:?} gave an untrimmed code");
    assert!(
        s.chars().count() <= UserCode::MAX_CHARS,
        "{typed:?} gave a code over MAX_CHARS"
    );
    assert!(
        !s.chars().any(guichet::fuzzing::is_forbidden),
        "{typed:?} gave {s:?}, which holds a forbidden character"
    );
    let again = UserCode::parse(s, case);
    assert_eq!(
        again.as_ref().map(UserCode::as_str),
        Ok(s),
        "{case:?}: parsing {typed:?} gave {s:?}, parsing that gave {again:?}"
    );
    Some(code)
}

fuzz_target!(|data: &[u8]| {
    let Ok(typed) = std::str::from_utf8(data) else {
        return;
    };
    check(typed, CasePolicy::Sensitive);
    if let Some(code) = check(typed, CasePolicy::Insensitive) {
        let stored = UserCode::parse(code.as_str(), CasePolicy::Sensitive);
        assert_eq!(
            stored.as_ref().map(UserCode::as_str),
            Ok(code.as_str()),
            "an insensitive code {code:?} (from {typed:?}) does not read back from a store"
        );
    }
});
