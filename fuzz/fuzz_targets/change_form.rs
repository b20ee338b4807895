//! The online change form (`POST /auth/password/change`: `current`, `password`, `confirm`,
//! `next`), read as the flow reads it before any store is asked (internal: through
//! `guichet::fuzzing`). The first byte picks the `Content-Type`; the rest is the body.
//!
//! Checked: no panic; an accepted form has both passwords, each non-empty, at most
//! `max_bytes` (1024) bytes and free of control characters once NFKC-normalised; its `next`
//! is a same-site path; written again as a form and as JSON it reads back the same; the
//! temporary-password shape is recognised consistently (its canonical form is stable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";
const TYPES: &[&str] = &[
    FORM,
    JSON,
    "application/json; charset=utf-8",
    "Application/X-WWW-Form-Urlencoded ; charset=UTF-8",
    "text/plain",
    "",
];
const MAX_BYTES: usize = 1024;

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn acceptable(password: &str) -> bool {
    let normalised: String = password.nfkc().collect();
    !password.is_empty()
        && password.len() <= MAX_BYTES
        && normalised.len() <= MAX_BYTES
        && !normalised.chars().any(char::is_control)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = TYPES[usize::from(pick) % TYPES.len()];
    let Ok(form) = guichet::fuzzing::change_form(content_type, body) else {
        return;
    };
    assert!(
        acceptable(&form.current),
        "current password {:?}",
        form.current
    );
    assert!(
        acceptable(&form.password),
        "new password {:?}",
        form.password
    );
    if let Some(next) = &form.next {
        assert!(next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\"));
        assert_eq!(
            guichet::fuzzing::next(next).as_ref(),
            Ok(&Some(next.clone()))
        );
    }
    let canonical = guichet::fuzzing::temporary_canonical(&form.password);
    assert_eq!(form.temporary_shaped, canonical.is_some());
    if let Some(canonical) = canonical {
        assert_eq!(canonical.len(), 20);
        assert_eq!(
            guichet::fuzzing::temporary_canonical(&canonical).as_ref(),
            Some(&canonical)
        );
    }

    let mut pairs = vec![
        ("current", form.current.as_str()),
        ("password", &form.password),
    ];
    if let Some(confirm) = &form.confirm {
        pairs.push(("confirm", confirm));
    }
    if let Some(next) = &form.next {
        pairs.push(("next", next));
    }
    let body = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    if body.len() <= 16 * 1024 {
        assert_eq!(
            guichet::fuzzing::change_form(FORM, body.as_bytes()).as_ref(),
            Ok(&form),
            "written again as a form: {body:?}"
        );
    }
    let object: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).into()))
        .collect();
    let json = serde_json::Value::Object(object).to_string();
    if json.len() <= 16 * 1024 {
        assert_eq!(
            guichet::fuzzing::change_form(JSON, json.as_bytes()).as_ref(),
            Ok(&form),
            "written again as JSON: {json}"
        );
    }
});
