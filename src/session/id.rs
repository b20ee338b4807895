use std::fmt;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

/// Characters of a session id in the cookie: 256 bits in unpadded base64url.
const ID_CHARS: usize = 43;

/// A session id: 256 bits from the OS RNG, held as the 43 base64url characters the browser
/// sends back. Only the client ever holds it; stores see its [`SessionKey`].
///
/// The id stays in its text form: reading a cookie checks 43 characters of the alphabet and
/// hashes them, with no decoding on the request path. A text that is not the canonical
/// spelling of 256 bits (the last character carries 2 spare bits) is just another id that no
/// store knows.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionId([u8; ID_CHARS]);

impl SessionId {
    /// A fresh random id.
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let mut text = [0u8; ID_CHARS];
        // 32 bytes always encode to exactly 43 characters.
        let _ = Base64UrlUnpadded::encode(&bytes, &mut text);
        Self(text)
    }

    /// Reads a cookie value; anything but exactly 43 base64url characters is not an id. Every
    /// character is looked at, valid or not, with no branch on its value: the time taken says
    /// nothing about the id.
    pub(crate) fn from_cookie(value: &str) -> Option<Self> {
        let text: [u8; ID_CHARS] = value.as_bytes().try_into().ok()?;
        let valid = text.iter().fold(true, |all, &c| all & is_base64url(c));
        valid.then_some(Self(text))
    }

    /// The cookie value.
    pub(crate) fn to_cookie(&self) -> String {
        // Only base64url characters ever get here (`generate`, `from_cookie`).
        String::from_utf8_lossy(&self.0).into_owned()
    }

    /// The key stores file the session under: SHA-256 of the id's text, so a leaked store
    /// (a Redis dump, a memory snapshot) yields no usable cookie. (SHA-256 rather than the
    /// BLAKE2b used elsewhere in guichet: one block, with the CPU's SHA instructions where it
    /// has them, on every authenticated request.)
    pub(crate) fn key(&self) -> SessionKey {
        SessionKey(Sha256::digest(self.0).into())
    }
}

/// `c` is in the base64url alphabet (`A-Z a-z 0-9 - _`), worked out without branching on `c`.
fn is_base64url(c: u8) -> bool {
    let upper = c.wrapping_sub(b'A') < 26;
    let lower = c.wrapping_sub(b'a') < 26;
    let digit = c.wrapping_sub(b'0') < 10;
    upper | lower | digit | (c == b'-') | (c == b'_')
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// The session cookie's value: the id, then `.`, then the user code (base64url).
///
/// Carrying the user code lets a request ask the session store and the credential store at
/// the same time: with Redis, both questions travel together on the multiplexed connection, so
/// an authenticated request costs one round trip. The code is no secret (it is printed on the
/// welcome letter); the cookie is `HttpOnly`, and a session is only accepted if the stored
/// record names the same code. Reading one allocates and decodes nothing: the code stays as
/// sent, borrowed from the request, until a store that needs it as a [`UserCode`] asks
/// ([`user_code`](Self::user_code)); a stored record is checked against it by encoding the
/// record's code ([`names`](Self::names)).
///
/// [`UserCode`]: crate::identity::UserCode
#[derive(Clone)]
pub(crate) struct SessionCookie<'a> {
    /// The session id.
    pub(crate) id: SessionId,
    /// The user code, base64url as sent.
    code: &'a str,
}

/// The longest user code in bytes (64 characters of at most 4 bytes).
const CODE_BYTES: usize = 4 * crate::identity::UserCode::MAX_CHARS;

/// The longest user code in the cookie: `CODE_BYTES` in unpadded base64url.
const CODE_CHARS: usize = CODE_BYTES.div_ceil(3) * 4;

impl<'a> SessionCookie<'a> {
    /// Reads a cookie value; anything malformed is no session. (A code part that is not the
    /// base64url of a user code is found out when the code is needed: such a cookie names no
    /// session.)
    pub(crate) fn parse(value: &'a str) -> Option<Self> {
        // The id has a fixed length and no `.` in its alphabet: the `.` can only be there.
        let id = value.get(..ID_CHARS)?;
        let code = value.get(ID_CHARS..)?.strip_prefix('.')?;
        if code.is_empty() || code.len() > CODE_CHARS {
            return None;
        }
        Some(Self {
            id: SessionId::from_cookie(id)?,
            code,
        })
    }

    /// Whether a stored record's user code is the one this cookie claims: the code encoded as
    /// the cookie writes it, compared with what was sent.
    pub(crate) fn names(&self, code: &crate::identity::UserCode) -> bool {
        let mut buffer = [0u8; CODE_CHARS];
        Base64UrlUnpadded::encode(code.as_str().as_bytes(), &mut buffer)
            .is_ok_and(|encoded| encoded == self.code)
    }

    /// The user code the cookie claims, decoded: `None` unless it is the canonical base64url of
    /// a plausible code (not empty, no forbidden character).
    pub(crate) fn claimed_code(&self) -> Option<String> {
        let mut buffer = [0u8; CODE_BYTES];
        let bytes = Base64UrlUnpadded::decode(self.code, &mut buffer).ok()?;
        let code = std::str::from_utf8(bytes).ok()?;
        let plausible = !code.is_empty() && !code.chars().any(crate::identity::is_forbidden);
        plausible.then(|| code.to_owned())
    }

    /// The claimed user code as a [`UserCode`](crate::identity::UserCode), for stores asked
    /// before the record is read: only a code that reads back unchanged.
    pub(crate) fn user_code(&self) -> Option<crate::identity::UserCode> {
        let claimed = self.claimed_code()?;
        crate::identity::UserCode::parse(&claimed, crate::identity::CasePolicy::Sensitive)
            .ok()
            .filter(|code| code.as_str() == claimed)
    }
}

/// The cookie value of a new session: `<id>.<user code in base64url>`.
pub(crate) fn cookie_value(id: &SessionId, code: &str) -> String {
    format!(
        "{}.{}",
        id.to_cookie(),
        Base64UrlUnpadded::encode_string(code.as_bytes())
    )
}

impl fmt::Debug for SessionCookie<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookie")
            .field("user_code", &self.code)
            .finish_non_exhaustive()
    }
}

/// The hash of a session id (the cookie's secret), under which stores keep the session.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// A key from its 32 bytes, for a store that reads keys back (to reap expired sessions, or
    /// in a tool). A key is a hash: it opens nothing.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes (for stores that need a byte key).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for stores that need a text key.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({}..)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_the_cookie_and_are_unique() {
        let id = SessionId::generate();
        let back = SessionId::from_cookie(&id.to_cookie()).unwrap();
        assert_eq!(id, back);
        assert_ne!(SessionId::generate(), id);
        assert_eq!(id.to_cookie().len(), 43);
        let bytes = Base64UrlUnpadded::decode_vec(&id.to_cookie()).unwrap();
        assert_eq!(bytes.len(), 32, "an id is 256 bits");
    }

    #[test]
    fn the_alphabet_is_exactly_base64url() {
        for c in 0..=255u8 {
            let expected = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
            assert_eq!(is_base64url(c), expected, "{c}");
        }
    }

    #[test]
    fn malformed_cookie_values_are_not_ids() {
        for bad in [
            "",
            "abc",
            &"A".repeat(44),
            &"!".repeat(43),
            &format!("{}=", "A".repeat(42)),
            &format!("{}+", "A".repeat(42)),
            &format!("{}A", "é".repeat(21)),
            &"A".repeat(10_000),
        ] {
            assert!(SessionId::from_cookie(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_session_cookie_round_trips_and_malformed_ones_are_refused() {
        let code =
            crate::identity::UserCode::parse("ACME-001", crate::identity::CasePolicy::Insensitive)
                .unwrap();
        let id = SessionId::generate();
        let value = cookie_value(&id, code.as_str());
        let back = SessionCookie::parse(&value).unwrap();
        assert_eq!(back.id, id);
        assert!(back.names(&code));
        assert_eq!(back.claimed_code().as_deref(), Some("ACME-001"));
        assert_eq!(back.user_code(), Some(code));
        let other =
            crate::identity::UserCode::parse("ACME-002", crate::identity::CasePolicy::Insensitive)
                .unwrap();
        assert!(!back.names(&other));
        let id_only = id.to_cookie();
        for bad in [
            id_only.as_str(),
            "x.y",
            "",
            ".",
            &format!("{id_only}."),
            &format!("{id_only}.{}", "A".repeat(10_000)),
            &format!("{}.QUNNRS0wMDE", &id_only[1..]),
            &format!("A{id_only}.QUNNRS0wMDE"),
            &format!("{}é.QUNNRS0wMDE", &id_only[2..]),
        ] {
            assert!(SessionCookie::parse(bad).is_none(), "{bad:?}");
        }
        // A code part that is no user code names no session and gives stores nothing to ask.
        for odd in ["%%%", "AAAA", "QUNNRS0wMDF"] {
            let value = format!("{id_only}.{odd}");
            let cookie = SessionCookie::parse(&value).unwrap();
            assert!(!cookie.names(&other), "{odd}");
        }
        let not_canonical = format!("{id_only}.QUNNRS0wMDF");
        let cookie = SessionCookie::parse(&not_canonical).unwrap();
        assert!(!cookie.names(&back.user_code().unwrap()));
        assert_eq!(cookie.user_code(), None);
    }

    #[test]
    fn the_store_key_is_not_the_id() {
        let id = SessionId::generate();
        assert_ne!(&id.key().as_bytes()[..], &id.0[..32]);
        assert_eq!(id.key(), id.key());
    }
}
