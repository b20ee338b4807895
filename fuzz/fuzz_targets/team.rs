//! The contact person's request (`POST /auth/team`, `form::read_people`, internal: through
//! `guichet::fuzzing`): `name`/`email` repeated in a form, or JSON `{"people": [...]}`. The
//! first byte picks the `Content-Type`; the rest is the body.
//!
//! Checked: no panic; an accepted body has no blank row; the rows, written again as a form
//! and as JSON, read back the same (so both encodings say the same thing, in the same order);
//! a body over 16 KiB is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

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
const MAX_BODY: usize = 16 * 1024;

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = TYPES[usize::from(pick) % TYPES.len()];
    let read = guichet::fuzzing::people(content_type, body);
    if body.len() > MAX_BODY && matches!(pick as usize % TYPES.len(), 0..=3) {
        assert!(read.is_err(), "a body of {} bytes was read", body.len());
    }
    let Ok(rows) = read else {
        return;
    };
    for (name, email) in &rows {
        assert!(
            !name.trim().is_empty() || !email.trim().is_empty(),
            "a blank row was kept"
        );
    }
    let form = rows
        .iter()
        .map(|(name, email)| format!("name={}&email={}", encode(name), encode(email)))
        .collect::<Vec<_>>()
        .join("&");
    if form.len() <= MAX_BODY {
        assert_eq!(
            guichet::fuzzing::people(FORM, form.as_bytes()).as_ref(),
            Ok(&rows),
            "the rows written as a form read back differently: {form:?}"
        );
    }
    let people: Vec<serde_json::Value> = rows
        .iter()
        .map(|(name, email)| serde_json::json!({ "name": name, "email": email }))
        .collect();
    let json = serde_json::json!({ "people": people }).to_string();
    if json.len() <= MAX_BODY {
        assert_eq!(
            guichet::fuzzing::people(JSON, json.as_bytes()).as_ref(),
            Ok(&rows),
            "the rows written as JSON read back differently: {json}"
        );
    }
});
