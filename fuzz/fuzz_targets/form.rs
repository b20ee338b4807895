//! Flow bodies (`form::read`) and query strings (`form::query`), internal: through
//! `guichet::fuzzing`. The first byte picks the `Content-Type`; the rest is the body. Read
//! fields are named once each; a form body and the same bytes as a query string agree; the
//! fields read, written again as a form and as JSON, read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FORM: &str = "application/x-www-form-urlencoded";
const TYPES: &[&str] = &[
    FORM,
    "application/json",
    "application/json; charset=utf-8",
    "Application/X-WWW-Form-Urlencoded ; charset=UTF-8",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
];

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    // Values past the table take their content type from the body, up to the first newline.
    let (content_type, body) = match TYPES.get(usize::from(pick)) {
        Some(t) => (std::borrow::Cow::Borrowed(*t), body),
        None => {
            let end = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
            let (t, rest) = body.split_at(end);
            (String::from_utf8_lossy(t), rest.get(1..).unwrap_or(&[]))
        }
    };
    let read = guichet::fuzzing::form(&content_type, body);
    if let Ok(fields) = &read {
        let mut names: Vec<_> = fields.iter().map(|(n, _)| *n).collect();
        names.dedup();
        assert_eq!(names.len(), fields.len(), "a repeated field got through");
        assert!(fields
            .iter()
            .all(|(n, _)| guichet::fuzzing::FIELDS.contains(n)));
        let form = fields
            .iter()
            .map(|(n, v)| format!("{n}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        if form.len() <= 16 * 1024 {
            assert_eq!(
                guichet::fuzzing::form(FORM, form.as_bytes()).as_ref(),
                Ok(fields),
                "written again as a form: {form:?}"
            );
        }
        let object: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.as_str().into()))
            .collect();
        let json = serde_json::Value::Object(object).to_string();
        if json.len() <= 16 * 1024 {
            assert_eq!(
                guichet::fuzzing::form("application/json", json.as_bytes()).as_ref(),
                Ok(fields),
                "written again as JSON: {json}"
            );
        }
    }
    // A `#` would start a fragment in a request target, and a body over 16 KiB is refused
    // before it is parsed: apart from those, a form body reads like the same query string.
    if content_type == FORM && body.len() <= 16 * 1024 && !body.contains(&b'#') {
        if let Ok(q) = std::str::from_utf8(body) {
            if let Some(query) = guichet::fuzzing::query(q) {
                assert_eq!(query, read, "form body and query string disagree on {q:?}");
            }
        }
    }
});
