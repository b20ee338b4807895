//! Temporary passwords: what "email me my password" sends, and what an operator reads out on
//! the phone.
//!
//! They are made for the FAQ's login trouble: no symbols, no letters that look like digits
//! (no `0 O 1 I L`), upper case only but accepted in any case, grouped by four for reading,
//! and spaces or dashes typed around or inside the groups are ignored. Twenty characters from a
//! 31-letter alphabet carry 99 bits from the OS RNG, above the 80 the design asks for.
//!
//! Because the shape is unmistakable, a sign-in knows from the typed text alone whether to check
//! it against the account's temporary password or its ordinary one, so each attempt does the
//! same work whatever the account holds. A password of that shape is refused when a person
//! chooses one.
//!
//! Being 99 random bits, a temporary password is stored as a BLAKE2b digest (as a session id is
//! stored as a SHA-256 digest), not with argon2: stretching adds nothing against guessing at
//! that strength. This matters for more than speed: issuing one then costs microseconds and no
//! hashing thread, so a sign-in sent right after "email me my password" takes the same time
//! whether the code asked for was an account with its own mailbox (which gets a temporary
//! password) or not.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use blake2::{Blake2b, Digest};
use subtle::ConstantTimeEq;

/// The alphabet: digits 2-9 and capitals without I, L, O.
const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LENGTH: usize = 20;
const GROUP: usize = 4;

/// A freshly generated temporary password, as it is written in the email (`7KQM-3XTA-...`).
pub(crate) fn generate() -> String {
    let mut out = String::with_capacity(LENGTH + LENGTH / GROUP);
    let mut produced = 0;
    while produced < LENGTH {
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        // Rejection sampling keeps every letter equally likely (248 = 8 × 31).
        if byte[0] >= 248 {
            continue;
        }
        if produced > 0 && produced % GROUP == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        produced += 1;
    }
    out
}

/// The canonical form (20 capitals, no separators) if `typed` has the shape of a temporary
/// password, whatever its case, spaces and dashes; `None` for anything else.
pub(crate) fn canonical(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(LENGTH);
    for c in typed.chars() {
        match c {
            ' ' | '-' => continue,
            c if c.is_ascii_alphanumeric() => {
                let upper = c.to_ascii_uppercase();
                if !ALPHABET.contains(&(upper as u8)) || out.len() == LENGTH {
                    return None;
                }
                out.push(upper);
            }
            _ => return None,
        }
    }
    (out.len() == LENGTH).then_some(out)
}

/// What stores keep of a temporary password: hex BLAKE2b-256 of its canonical form.
pub(crate) fn digest(canonical: &str) -> String {
    let mut hasher = Blake2b::<blake2::digest::consts::U32>::new();
    hasher.update(b"guichet temporary password\0");
    hasher.update(canonical.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `digest` (of what was typed) is the stored one, in constant time. With nothing
/// stored, a comparison against a value that matches nothing takes the same time.
pub(crate) fn matches(digest: &str, stored: Option<&str>) -> bool {
    const NOTHING: &str = "-nothing-stored-nothing-stored-nothing-stored-nothing-stored-xx";
    let (stored, real) = match stored {
        Some(stored) => (stored, true),
        None => (NOTHING, false),
    };
    bool::from(digest.as_bytes().ct_eq(stored.as_bytes())) && real
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_passwords_are_grouped_unambiguous_and_unique() {
        let a = generate();
        assert_eq!(a.len(), 24);
        assert_eq!(a.split('-').count(), 5);
        assert!(a.split('-').all(|g| g.len() == 4));
        assert!(!a.contains(['0', 'O', '1', 'I', 'L']));
        assert_ne!(a, generate());
    }

    #[test]
    fn case_spaces_and_dashes_do_not_matter_when_typing_one() {
        let a = generate();
        let canon = canonical(&a).unwrap();
        assert_eq!(canonical(&a.to_lowercase()), Some(canon.clone()));
        assert_eq!(
            canonical(&format!("  {}  ", a.replace('-', " "))),
            Some(canon.clone())
        );
        assert_eq!(canonical(&canon), Some(canon));
    }

    #[test]
    fn ordinary_passwords_do_not_have_the_shape() {
        for p in [
            "Bonjour-Marie-2026",
            "correct horse battery staple",
            "ABCD-EFGH",
            "0000-0000-0000-0000-0000",
        ] {
            assert_eq!(canonical(p), None, "{p}");
        }
    }

    #[test]
    fn a_digest_matches_only_its_own_password() {
        let a = canonical(&generate()).unwrap();
        let b = canonical(&generate()).unwrap();
        assert!(matches(&digest(&a), Some(&digest(&a))));
        assert!(!matches(&digest(&a), Some(&digest(&b))));
        assert!(!matches(&digest(&a), None));
        assert_eq!(digest(&a).len(), 64);
    }

    proptest! {
        #[test]
        fn every_generated_password_is_recognised(_ in 0..200u32) {
            let p = generate();
            prop_assert!(canonical(&p).is_some());
        }
    }
}
