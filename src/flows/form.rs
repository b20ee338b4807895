//! Reading a flow's fields from a form or a JSON body, strictly: bounded size, valid UTF-8,
//! no repeated field, clear refusals for everything else.

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use serde::Deserialize as _;

use super::RequestBody;
use crate::error::Refusal;
use crate::identity::{CasePolicy, UserCode, UserCodeError};
use crate::password::{Hasher, Password, PasswordError};

/// The largest body a flow reads. Sign-in fields fit many times over.
pub(crate) const MAX_BODY: usize = 16 * 1024;

/// The fields a flow asked for, as sent.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    values: Vec<(&'static str, String)>,
}

impl Fields {
    /// The field, if sent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field, or a refusal naming it when absent or empty.
    pub(crate) fn require(&self, name: &'static str) -> Result<&str, Refusal> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or(Refusal::MissingField(name))
    }

    /// The `user_code` field, normalised, or a refusal saying what is wrong with it.
    pub(crate) fn user_code(&self, case: CasePolicy) -> Result<UserCode, Refusal> {
        self.user_code_in("user_code", case)
    }

    /// A user code from the field `name`.
    pub(crate) fn user_code_in(
        &self,
        name: &'static str,
        case: CasePolicy,
    ) -> Result<UserCode, Refusal> {
        UserCode::parse(self.require(name)?, case).map_err(|e| match e {
            UserCodeError::Empty => Refusal::MissingField(name),
            UserCodeError::TooLong => Refusal::InvalidField {
                field: name,
                reason: "too long",
            },
            UserCodeError::ForbiddenCharacter => Refusal::InvalidField {
                field: name,
                reason: "forbidden character",
            },
        })
    }

    /// `typed` (from the `password` field) as a password, or a refusal.
    pub(crate) fn password(&self, hasher: &Hasher, typed: &str) -> Result<Password, Refusal> {
        hasher.password(typed).map_err(|e| match e {
            PasswordError::Empty => Refusal::MissingField("password"),
            PasswordError::TooLong => Refusal::InvalidField {
                field: "password",
                reason: "too long",
            },
            PasswordError::ControlCharacter => Refusal::InvalidField {
                field: "password",
                reason: "control character",
            },
        })
    }

    /// The `next` field, if sent, checked to be a same-site path or on an allowed origin.
    pub(crate) fn next(&self, links: &crate::links::Links) -> Result<Option<String>, Refusal> {
        Ok(self
            .get("next")
            .map(|next| links.next(next))
            .transpose()?
            .flatten())
    }

    fn insert(&mut self, name: &'static str, value: String) -> Result<(), Refusal> {
        if self.get(name).is_some() {
            return Err(Refusal::MalformedBody("repeated field"));
        }
        self.values.push((name, value));
        Ok(())
    }
}

/// Reads `wanted` fields from a form-encoded or JSON body; other fields are ignored.
pub(crate) async fn read<B>(
    headers: &HeaderMap,
    body: B,
    wanted: &[&'static str],
) -> Result<Fields, Refusal>
where
    B: RequestBody,
{
    let kind = content_kind(headers)?;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Refusal::BodyTooLarge);
    }
    let bytes = collect(body).await?;
    match kind {
        Kind::Form => parse_form(&bytes, wanted),
        Kind::Json => parse_json(&bytes, wanted),
    }
}

/// The people of a contact person's request, in order: a form with `name` and `email`
/// repeated (one pair per row), or JSON `{"people": [{"name": ..., "email": ...}]}`. Rows left
/// blank are dropped; the strings are as sent (checked by the flow).
pub(crate) async fn read_people<B>(
    headers: &HeaderMap,
    body: B,
) -> Result<Vec<(String, String)>, Refusal>
where
    B: RequestBody,
{
    let kind = content_kind(headers)?;
    let bytes = collect(body).await?;
    let people = match kind {
        Kind::Form => {
            let (mut names, mut emails) = (Vec::new(), Vec::new());
            for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
                let (name, value) = match pair.iter().position(|b| *b == b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &b""[..]),
                };
                match decode(name)?.as_str() {
                    "name" => names.push(decode(value)?),
                    "email" => emails.push(decode(value)?),
                    _ => {}
                }
            }
            if names.len() != emails.len() {
                return Err(Refusal::MalformedBody("as many names as addresses"));
            }
            names.into_iter().zip(emails).collect::<Vec<_>>()
        }
        Kind::Json => {
            let value = strict_json(&bytes)?;
            let rows = value
                .get("people")
                .and_then(serde_json::Value::as_array)
                .ok_or(Refusal::MissingField("people"))?;
            rows.iter()
                .map(|row| {
                    let text = |field: &'static str| match row.get(field) {
                        None | Some(serde_json::Value::Null) => Ok(String::new()),
                        Some(serde_json::Value::String(s)) => Ok(s.clone()),
                        Some(_) => Err(Refusal::InvalidField {
                            field,
                            reason: "expected a string",
                        }),
                    };
                    Ok((text("name")?, text("email")?))
                })
                .collect::<Result<Vec<_>, Refusal>>()?
        }
    };
    Ok(people
        .into_iter()
        .filter(|(name, email)| !name.trim().is_empty() || !email.trim().is_empty())
        .collect())
}

/// Reads `wanted` fields from the query string, with the same rules as a form body.
pub(crate) fn query(uri: &http::Uri, wanted: &[&'static str]) -> Result<Fields, Refusal> {
    parse_form(uri.query().unwrap_or("").as_bytes(), wanted)
}

enum Kind {
    Form,
    Json,
}

fn content_kind(headers: &HeaderMap) -> Result<Kind, Refusal> {
    let media = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/x-www-form-urlencoded") => Ok(Kind::Form),
        Some("application/json") => Ok(Kind::Json),
        _ => Err(Refusal::UnsupportedMediaType),
    }
}

async fn collect<B>(body: B) -> Result<Bytes, Refusal>
where
    B: RequestBody,
{
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Refusal::BodyTooLarge),
        Err(_) => Err(Refusal::MalformedBody("the body could not be read")),
    }
}

fn parse_form(bytes: &[u8], wanted: &[&'static str]) -> Result<Fields, Refusal> {
    let mut fields = Fields::default();
    for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let name = decode(name)?;
        if let Some(field) = wanted.iter().find(|w| **w == name) {
            fields.insert(field, decode(value)?)?;
        }
    }
    Ok(fields)
}

/// Percent-decodes a form component (`+` is a space), refusing what is not UTF-8.
fn decode(component: &[u8]) -> Result<String, Refusal> {
    let spaced: Vec<u8> = component
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Refusal::MalformedBody("invalid UTF-8"))
}

fn parse_json(bytes: &[u8], wanted: &[&'static str]) -> Result<Fields, Refusal> {
    let value = strict_json(bytes)?;
    let object = value
        .as_object()
        .ok_or(Refusal::MalformedBody("expected a JSON object"))?;
    let mut fields = Fields::default();
    for field in wanted {
        match object.get(*field) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s)) => fields.insert(field, s.clone())?,
            Some(_) => {
                return Err(Refusal::InvalidField {
                    field,
                    reason: "expected a string",
                })
            }
        }
    }
    Ok(fields)
}

/// Parses JSON, refusing an object that repeats a key (at any depth): a repeated form field is
/// refused too, and "last one wins" would let two parsers in a chain disagree on the value.
pub(crate) fn strict_json(bytes: &[u8]) -> Result<serde_json::Value, Refusal> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Strict::deserialize(&mut deserializer).map_err(|e| {
        if e.to_string().starts_with(REPEATED) {
            Refusal::MalformedBody("repeated field")
        } else {
            Refusal::MalformedBody("invalid JSON")
        }
    })?;
    deserializer
        .end()
        .map_err(|_| Refusal::MalformedBody("invalid JSON"))?;
    Ok(value.0)
}

const REPEATED: &str = "repeated key";

/// A JSON value read by a visitor that refuses repeated keys.
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.insert(key, value).is_some() {
                return Err(serde::de::Error::custom(REPEATED));
            }
        }
        Ok(serde_json::Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    const WANTED: &[&str] = &["user_code", "password"];

    async fn read_with(content_type: &'static str, body: &'static [u8]) -> Result<Fields, Refusal> {
        let mut h = HeaderMap::new();
        h.insert("content-type", content_type.parse().unwrap());
        read(&h, Full::new(Bytes::from_static(body)), WANTED).await
    }

    #[tokio::test]
    async fn forms_and_json_give_the_same_fields() {
        let form = read_with(
            "application/x-www-form-urlencoded",
            b"user_code=+ACME-001+&password=a%26b+c&x=1",
        )
        .await
        .unwrap();
        assert_eq!(form.get("user_code"), Some(" ACME-001 "));
        assert_eq!(form.get("password"), Some("a&b c"));
        let json = read_with(
            "application/json; charset=utf-8",
            br#"{"user_code":"ACME-001","password":"a&b c"}"#,
        )
        .await
        .unwrap();
        assert_eq!(json.get("password"), Some("a&b c"));
    }

    #[tokio::test]
    async fn bad_bodies_are_refused_clearly() {
        let form = "application/x-www-form-urlencoded";
        assert_eq!(
            read_with(form, b"user_code=%FF%FE").await.unwrap_err(),
            Refusal::MalformedBody("invalid UTF-8")
        );
        assert_eq!(
            read_with(form, b"user_code=a&user_code=b")
                .await
                .unwrap_err(),
            Refusal::MalformedBody("repeated field")
        );
        assert_eq!(
            read_with("application/json", b"{\"user_code\":")
                .await
                .unwrap_err(),
            Refusal::MalformedBody("invalid JSON")
        );
        assert_eq!(
            read_with("application/json", br#"{"user_code":"a","user_code":"b"}"#)
                .await
                .unwrap_err(),
            Refusal::MalformedBody("repeated field")
        );
        assert_eq!(
            read_with("application/json", br#"{"x":{"a":1,"a":2}}"#)
                .await
                .unwrap_err(),
            Refusal::MalformedBody("repeated field")
        );
        assert!(matches!(
            read_with("application/json", b"{\"user_code\":3}").await,
            Err(Refusal::InvalidField { .. })
        ));
        assert_eq!(
            read_with("text/plain", b"x").await.unwrap_err(),
            Refusal::UnsupportedMediaType
        );
        let big: &'static [u8] = Box::leak(vec![b'a'; MAX_BODY + 1].into_boxed_slice());
        assert_eq!(
            read_with(form, big).await.unwrap_err(),
            Refusal::BodyTooLarge
        );
    }

    #[test]
    fn missing_and_empty_fields_are_named() {
        let fields = parse_form(b"user_code=", WANTED).unwrap();
        assert_eq!(
            fields.require("user_code"),
            Err(Refusal::MissingField("user_code"))
        );
        assert_eq!(
            fields.require("password"),
            Err(Refusal::MissingField("password"))
        );
    }
}
