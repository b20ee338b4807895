//! `Email::parse`, `normalised()` and `local_part()`: an accepted address is the trimmed input,
//! has a local part and a domain, no white space or forbidden character; its normalised form
//! is lower case, has no `+tag`, and normalising an address that parses from it changes nothing.
#![no_main]

use guichet::Email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(typed) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(email) = Email::parse(typed) else {
        return;
    };
    let s = email.as_str();
    assert_eq!(s, typed.trim());
    assert!(s.len() <= 254);
    let (local, domain) = s.rsplit_once('@').expect("an accepted address has an @");
    assert!(!local.is_empty() && !domain.is_empty());
    assert!(!s
        .chars()
        .any(|c| c.is_whitespace() || guichet::fuzzing::is_forbidden(c)));

    let normalised = email.normalised();
    assert_eq!(normalised, normalised.to_lowercase(), "{s:?}");
    let local_part = email.local_part();
    assert!(
        !local_part.contains('+'),
        "{s:?} gave local part {local_part:?}"
    );
    assert!(
        normalised.starts_with(&local_part) && normalised[local_part.len()..].starts_with('@'),
        "{s:?}: local part {local_part:?} of {normalised:?}"
    );
    if let Ok(again) = Email::parse(&normalised) {
        assert_eq!(again.normalised(), normalised, "{s:?}");
        assert_eq!(again.local_part(), local_part, "{s:?}");
    }
});
