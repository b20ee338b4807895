use std::fmt;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64ct::{Base64UrlUnpadded, Encoding};
use blake2::{Blake2b, Digest};

/// A session id: 256 bits from the OS RNG, sent to the browser as 43 base64url characters.
/// Only the client ever holds it; stores see its [`SessionKey`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionId([u8; 32]);

impl SessionId {
    /// A fresh random id.
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads a cookie value; anything but exactly 43 base64url characters is not an id.
    pub(crate) fn from_cookie(value: &str) -> Option<Self> {
        if value.len() != 43 {
            return None;
        }
        let mut bytes = [0u8; 32];
        let decoded = Base64UrlUnpadded::decode(value, &mut bytes).ok()?;
        (decoded.len() == 32).then_some(Self(bytes))
    }

    /// The cookie value.
    pub(crate) fn to_cookie(&self) -> String {
        Base64UrlUnpadded::encode_string(&self.0)
    }

    /// The key stores file the session under: BLAKE2b-256 of the id, so a leaked store
    /// (a Redis dump, a memory snapshot) yields no usable cookie.
    pub(crate) fn key(&self) -> SessionKey {
        let digest = Blake2b::<blake2::digest::consts::U32>::digest(self.0);
        SessionKey(digest.into())
    }
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
/// record names the same code. Reading one allocates nothing: the code stays in a buffer here
/// until a store that needs it as a [`UserCode`] asks.
#[derive(Clone)]
pub(crate) struct SessionCookie {
    /// The session id.
    pub(crate) id: SessionId,
    code: [u8; CODE_BYTES],
    code_len: usize,
}

/// The longest user code in bytes (64 characters of at most 4 bytes).
const CODE_BYTES: usize = 4 * crate::identity::UserCode::MAX_CHARS;

impl SessionCookie {
    /// The cookie of a new session.
    pub(crate) fn new(id: SessionId, code: &crate::identity::UserCode) -> Self {
        let bytes = code.as_str().as_bytes();
        let mut buffer = [0u8; CODE_BYTES];
        let code_len = bytes.len().min(CODE_BYTES);
        buffer[..code_len].copy_from_slice(&bytes[..code_len]);
        Self {
            id,
            code: buffer,
            code_len,
        }
    }

    /// Reads a cookie value; anything malformed is no session.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let (id, code) = value.split_once('.')?;
        if code.len() > CODE_BYTES * 4 / 3 + 4 {
            return None;
        }
        let mut buffer = [0u8; CODE_BYTES];
        let code_len = Base64UrlUnpadded::decode(code, &mut buffer).ok()?.len();
        let cookie = Self {
            id: SessionId::from_cookie(id)?,
            code: buffer,
            code_len,
        };
        let code = cookie.code();
        let plausible = !code.is_empty() && !code.chars().any(crate::identity::is_forbidden);
        plausible.then_some(cookie)
    }

    /// The user code the cookie claims, as sent (a session only counts if its record names
    /// the same one).
    pub(crate) fn code(&self) -> &str {
        std::str::from_utf8(&self.code[..self.code_len]).unwrap_or("")
    }

    /// The claimed user code as a [`UserCode`], for stores asked before the record is read.
    pub(crate) fn user_code(&self) -> Option<crate::identity::UserCode> {
        crate::identity::UserCode::parse(self.code(), crate::identity::CasePolicy::Sensitive)
            .ok()
            .filter(|code| code.as_str() == self.code())
    }

    /// The cookie value.
    pub(crate) fn to_value(&self) -> String {
        format!(
            "{}.{}",
            self.id.to_cookie(),
            Base64UrlUnpadded::encode_string(self.code().as_bytes())
        )
    }
}

impl fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookie")
            .field("user_code", &self.code())
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
    }

    #[test]
    fn malformed_cookie_values_are_not_ids() {
        for bad in [
            "",
            "abc",
            &"A".repeat(44),
            &"!".repeat(43),
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
        let cookie = SessionCookie::new(SessionId::generate(), &code);
        let back = SessionCookie::parse(&cookie.to_value()).unwrap();
        assert_eq!(
            (back.id.clone(), back.code()),
            (cookie.id.clone(), "ACME-001")
        );
        assert_eq!(back.user_code(), Some(code));
        let id_only = cookie.id.to_cookie();
        for bad in [
            id_only.as_str(),
            "x.y",
            "",
            ".",
            &format!("{id_only}.%%%"),
            &format!("{id_only}.{}", "A".repeat(10_000)),
        ] {
            assert!(SessionCookie::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_store_key_is_not_the_id() {
        let id = SessionId::generate();
        assert_ne!(id.key().as_bytes(), &id.0);
        assert_eq!(id.key(), id.key());
    }
}
