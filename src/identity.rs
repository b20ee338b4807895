//! Who is who: [`UserCode`], [`Email`], [`Account`], [`Client`], and the request's [`Identity`].
//!
//! User codes are normalised the way Kratos and Devise treat identifiers, because the FAQ's
//! login trouble is exactly this: spaces before or after the code, letter case, and digits
//! typed from an IME or the numeric keypad. A code is trimmed, NFKC-normalised (which also folds
//! full-width digits and letters to ASCII), case-folded unless the configuration says codes are
//! case-sensitive, and refused if it holds control, invisible or bidi characters: such a code can
//! only be a mistake or a spoofing attempt, never something printed on a welcome letter.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// How user codes compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CasePolicy {
    /// `acme-0042` and `ACME-0042` are the same code (stored upper-case). The default.
    #[default]
    Insensitive,
    /// Letter case is significant.
    Sensitive,
}

/// Why a typed user code was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserCodeError {
    /// Nothing left after trimming.
    #[error("the user code is empty")]
    Empty,
    /// Longer than [`UserCode::MAX_CHARS`].
    #[error("the user code is too long")]
    TooLong,
    /// Holds a control, invisible or bidi character.
    #[error("the user code holds a forbidden character")]
    ForbiddenCharacter,
}

/// The login identifier printed on the customer's welcome letter, e.g. `ACME-0042`; normalised.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserCode(Arc<str>);

impl UserCode {
    /// The longest accepted code, in characters after normalisation.
    pub const MAX_CHARS: usize = 64;

    /// Normalises what a person typed. Input longer than a few times the limit is refused before
    /// any Unicode work, so a 100 kB "code" costs nothing.
    pub fn parse(typed: &str, case: CasePolicy) -> Result<Self, UserCodeError> {
        if typed.len() > Self::MAX_CHARS * 8 {
            return Err(UserCodeError::TooLong);
        }
        let trimmed = typed.trim();
        if trimmed.is_empty() {
            return Err(UserCodeError::Empty);
        }
        if trimmed.is_ascii() {
            // The usual case, on every request that carries a session cookie: NFKC leaves
            // ASCII unchanged, so only the checks and the case folding remain.
            if trimmed.bytes().any(|b| b.is_ascii_control()) {
                return Err(UserCodeError::ForbiddenCharacter);
            }
            if trimmed.len() > Self::MAX_CHARS {
                return Err(UserCodeError::TooLong);
            }
            return Ok(Self(Arc::from(match case {
                CasePolicy::Insensitive => trimmed.to_ascii_uppercase(),
                CasePolicy::Sensitive => trimmed.to_owned(),
            })));
        }
        let mut code = String::with_capacity(trimmed.len());
        for c in trimmed.nfkc() {
            if is_forbidden(c) {
                return Err(UserCodeError::ForbiddenCharacter);
            }
            match case {
                CasePolicy::Insensitive => code.extend(c.to_uppercase()),
                CasePolicy::Sensitive => code.push(c),
            }
        }
        // Case mapping can leave text that is no longer in NFKC; normalise once more so that
        // parsing a normalised code gives it back unchanged.
        let code: String = code.nfkc().collect();
        // NFKC may expose new surrounding spaces (e.g. U+3000 ideographic space).
        let code = code.trim();
        if code.is_empty() {
            return Err(UserCodeError::Empty);
        }
        if code.chars().count() > Self::MAX_CHARS {
            return Err(UserCodeError::TooLong);
        }
        Ok(Self(Arc::from(code)))
    }

    /// A code as a directory stores it, already normalised (for example read back from your
    /// database): checked, but its letter case is kept, whatever the [`CasePolicy`].
    pub fn from_stored(stored: &str) -> Result<Self, UserCodeError> {
        Self::parse(stored, CasePolicy::Sensitive)
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Deserialising re-checks the code without changing its case, so an already normalised code
/// (from a store) comes back unchanged and a forged one is still refused.
impl<'de> Deserialize<'de> for UserCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_stored(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserCode({})", self.0)
    }
}

/// The longest name an account may have, in characters.
pub(crate) const MAX_ACCOUNT_NAME: usize = 200;

/// Whether `name` (trimmed) can be shown as a name: something on one line, with no control or
/// invisible character, at most `max` characters. The zero-width joiner and non-joiner are
/// allowed in names (some Persian and Indic names need them), not in codes or addresses.
pub(crate) fn is_plain_name(name: &str, max: usize) -> bool {
    let name = name.trim();
    !name.is_empty()
        && name.chars().count() <= max
        && !name
            .chars()
            .any(|c| is_forbidden(c) && !matches!(c, '\u{200C}' | '\u{200D}'))
}

/// Control characters (Cc), line and paragraph separators, and the format characters (Cf)
/// that are invisible or reorder text: zero-width spaces and joiners, soft hyphen, word joiner,
/// BOM, and every bidi control.
pub(crate) fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}' | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E0FFF}')
}

/// An email address as the directory stores it. Mail always goes to this stored address, never
/// to anything typed in a form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(Arc<str>);

/// Why an email address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an email address")]
pub struct EmailError;

impl Email {
    /// Checks the address is one mail can be sent to (lettre's rules: a dot-atom or quoted
    /// local part, a domain name, IDN included, or an address literal), with no whitespace or
    /// control character.
    pub fn parse(address: &str) -> Result<Self, EmailError> {
        let address = address.trim();
        let well_formed = address.len() <= 254
            && !address
                .chars()
                .any(|c| c.is_whitespace() || is_forbidden(c))
            && address.parse::<lettre::Address>().is_ok();
        if well_formed {
            Ok(Self(Arc::from(address)))
        } else {
            Err(EmailError)
        }
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form under which two addresses reach the same mailbox: the local part unquoted,
    /// in Unicode NFC and lower-cased, without any `+tag` sub-address, and the domain in its
    /// ASCII (IDNA) form, so `"Marie+portal"@Acmé.example` and `marie@xn--acm-dma.example` are
    /// one mailbox.
    pub fn normalised(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        // NFC again after lower-casing: lower-casing can leave text that is not in NFC (`İ`
        // becomes `i` and a combining dot above, out of canonical order before some marks),
        // and a normalised address must normalise to itself.
        let lowered = unquote(local).nfc().collect::<String>().to_lowercase();
        let local: String = lowered.nfc().collect();
        let local = local
            .split_once('+')
            .map_or(local.as_str(), |(base, _)| base);
        let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_lowercase());
        format!("{local}@{domain}")
    }

    /// The local part of the normalised address (`info` for `"Info+x"@acme.example`).
    pub fn local_part(&self) -> String {
        let normalised = self.normalised();
        normalised
            .rsplit_once('@')
            .map_or(normalised.clone(), |(l, _)| l.to_owned())
    }
}

/// A quoted local part without its quotes and backslash escapes (`"in\fo"` is `info`).
fn unquote(local: &str) -> std::borrow::Cow<'_, str> {
    let Some(inner) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return std::borrow::Cow::Borrowed(local);
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0.to_string()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// The name of a service a client subscribes to, such as `collection` or `orders`; routes can
/// require one ([`RequireService`](crate::RequireService)). (Named so as not to be mistaken for
/// tower's `Service`.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceName(Arc<str>);

impl ServiceName {
    /// Names a service.
    pub fn new(name: impl AsRef<str>) -> Self {
        Self(Arc::from(name.as_ref()))
    }

    /// The service name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AccountStatus {
    /// The account may sign in.
    #[default]
    Active,
    /// Every sign-in fails (with the same answer as a wrong password) and sessions end.
    Disabled,
}

/// One person's record in the [`Directory`](crate::store::Directory).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// The login identifier, normalised.
    pub code: UserCode,
    /// The person's display name.
    pub name: String,
    /// Where credentials are mailed; `None` means "call customer service".
    pub email: Option<Email>,
    /// The client (dossier-client) this person belongs to.
    pub client: String,
    /// Services this person may use: a subset of the client's.
    pub services: Vec<ServiceName>,
    /// The argon2 PHC string provisioned by an operator, if any. A hash set at run time (a
    /// rehash, a chosen password) lives in the credential store and takes precedence.
    pub password_hash: Option<String>,
    /// Active or disabled.
    pub status: AccountStatus,
    /// The operator flagged the address as read by several people.
    pub shared_inbox: bool,
}

impl Account {
    /// An active account of `client` with no address, no service and no password yet; add
    /// what it has with the `with_*` methods. (Fields stay readable; building through here is
    /// what keeps a directory written outside this crate compiling when fields are added.)
    ///
    /// ```
    /// use guichet::{Account, Email, UserCode};
    ///
    /// let account = Account::new(UserCode::from_stored("ACME-0042")?, "Marie Tremblay", "acme")
    ///     .with_email(Email::parse("marie@acme.example")?)
    ///     .with_services(["collection", "orders"])
    ///     .with_password_hash("$argon2id$v=19$m=19456,t=2,p=1$...");
    /// assert!(account.email.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(code: UserCode, name: impl Into<String>, client: impl Into<String>) -> Self {
        Self {
            code,
            name: name.into(),
            email: None,
            client: client.into(),
            services: Vec::new(),
            password_hash: None,
            status: AccountStatus::Active,
            shared_inbox: false,
        }
    }

    /// Where credentials are mailed.
    pub fn with_email(mut self, email: Email) -> Self {
        self.email = Some(email);
        self
    }

    /// The services this person may use.
    pub fn with_services<S: AsRef<str>>(mut self, services: impl IntoIterator<Item = S>) -> Self {
        self.services = services.into_iter().map(ServiceName::new).collect();
        self
    }

    /// The argon2 PHC string of the password, as stored.
    pub fn with_password_hash(mut self, hash: impl Into<String>) -> Self {
        self.password_hash = Some(hash.into());
        self
    }

    /// Active or disabled.
    pub fn with_status(mut self, status: AccountStatus) -> Self {
        self.status = status;
        self
    }

    /// The operator flagged the address as read by several people.
    pub fn with_shared_inbox(mut self, shared: bool) -> Self {
        self.shared_inbox = shared;
        self
    }
}

/// A customer organisation (dossier-client).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Client {
    /// Short identifier, e.g. `acme`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The contact person: the account allowed to ask for user codes for new employees.
    pub contact: UserCode,
    /// The services the client subscribes to.
    pub services: Vec<ServiceName>,
}

impl Client {
    /// A client whose contact person is `contact`, with no service yet.
    pub fn new(id: impl Into<String>, name: impl Into<String>, contact: UserCode) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            contact,
            services: Vec::new(),
        }
    }

    /// The services the client subscribes to.
    pub fn with_services<S: AsRef<str>>(mut self, services: impl IntoIterator<Item = S>) -> Self {
        self.services = services.into_iter().map(ServiceName::new).collect();
        self
    }

    /// The first of `services` the client does not subscribe to: an account of the client
    /// may not have it.
    pub(crate) fn unsubscribed<'a>(&self, services: &'a [ServiceName]) -> Option<&'a ServiceName> {
        services.iter().find(|s| !self.services.contains(s))
    }
}

/// The signed-in person, as handlers see it: put in the request extensions by the guards and
/// available as an axum extractor. Cheap to clone (it shares the directory's [`Account`]).
#[derive(Clone)]
pub struct Identity {
    account: Arc<Account>,
    /// For a restricted session: the cancel key of the temporary password that opened it.
    restricted: Option<Arc<str>>,
}

impl Identity {
    pub(crate) fn new(account: Arc<Account>, restricted: Option<Arc<str>>) -> Self {
        Self {
            account,
            restricted,
        }
    }

    /// The temporary password a restricted session was opened with (its cancel key).
    pub(crate) fn temporary_password(&self) -> Option<&str> {
        self.restricted.as_deref()
    }

    /// The user code.
    pub fn user_code(&self) -> &UserCode {
        &self.account.code
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.account.name
    }

    /// The client identifier.
    pub fn client(&self) -> &str {
        &self.account.client
    }

    /// The services this person may use.
    pub fn services(&self) -> &[ServiceName] {
        &self.account.services
    }

    /// Whether this person subscribes to `service`.
    pub fn has_service(&self, service: &str) -> bool {
        self.account.services.iter().any(|s| s.as_str() == service)
    }

    /// A restricted session was opened with a temporary password: its only door is choosing a
    /// password. Only [`SessionState::MustChoosePassword`](crate::session::SessionState) holds
    /// one; guards, extractors and [`Session::identity`](crate::Session::identity) never give one.
    pub fn is_restricted(&self) -> bool {
        self.restricted.is_some()
    }

    /// The whole directory record.
    pub fn account(&self) -> &Account {
        &self.account
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("user_code", &self.account.code)
            .field("client", &self.account.client)
            .field("restricted", &self.restricted.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> Result<String, UserCodeError> {
        UserCode::parse(s, CasePolicy::Insensitive).map(|c| c.as_str().to_owned())
    }

    #[test]
    fn spaces_around_the_code_and_letter_case_do_not_matter() {
        assert_eq!(code("  acme-0042\t").unwrap(), "ACME-0042");
    }

    #[test]
    fn full_width_digits_from_an_ime_fold_to_ascii() {
        assert_eq!(code("ＡＣＭＥ－００４２").unwrap(), "ACME-0042");
    }

    #[test]
    fn case_sensitive_policy_keeps_case() {
        let c = UserCode::parse(" Acme-1 ", CasePolicy::Sensitive).unwrap();
        assert_eq!(c.as_str(), "Acme-1");
    }

    #[test]
    fn invisible_bidi_and_control_characters_are_refused() {
        for bad in [
            "AC\u{200B}ME",
            "ACME\u{202E}1",
            "A\u{0007}",
            "A\u{FEFF}B",
            "A\nB",
        ] {
            assert_eq!(code(bad), Err(UserCodeError::ForbiddenCharacter), "{bad:?}");
        }
    }

    #[test]
    fn empty_and_overlong_codes_are_refused() {
        assert_eq!(code("   "), Err(UserCodeError::Empty));
        assert_eq!(code(&"A".repeat(65)), Err(UserCodeError::TooLong));
        assert_eq!(code(&"A".repeat(100_000)), Err(UserCodeError::TooLong));
    }

    #[test]
    fn sub_addresses_and_case_reach_the_same_mailbox() {
        let a = Email::parse("Marie+portal@Acme.Example").unwrap();
        assert_eq!(a.normalised(), "marie@acme.example");
        assert_eq!(a.local_part(), "marie");
    }

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        assert!(Email::parse("marie@acme.example").is_ok());
        for bad in [
            "",
            "marie",
            "@acme",
            "marie@",
            "ma rie@acme.example",
            "bob@beta@example",
            "bob..x@acme.example",
            "bob@-acme.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_idn_domain_and_its_punycode_are_one_mailbox() {
        let unicode = Email::parse("Bob@Acmé.example").unwrap();
        let ascii = Email::parse("bob@xn--acm-dma.example").unwrap();
        assert_eq!(unicode.normalised(), ascii.normalised());
        assert_eq!(ascii.normalised(), "bob@xn--acm-dma.example");
    }

    #[test]
    fn composed_and_decomposed_spellings_of_a_local_part_are_one_mailbox() {
        let composed = Email::parse("jos\u{e9}@acme.example").unwrap();
        let decomposed = Email::parse("jose\u{301}@acme.example").unwrap();
        assert_eq!(composed.normalised(), decomposed.normalised());
    }

    #[test]
    fn normalising_a_normalised_address_changes_nothing() {
        // Lower-casing `İ` gives `i` and a combining dot above (class 230), which must then
        // be put in canonical order after the Hebrew point (class 23) that follows it: an
        // address normalised only before lower-casing is not normalised, and its spellings
        // would count as two mailboxes (found by the `email` fuzz target).
        let typed = Email::parse("x\u{130}\u{5b3}@acme.example").unwrap();
        let key = typed.normalised();
        assert_eq!(key, "xi\u{5b3}\u{307}@acme.example");
        let again = Email::parse(&key).unwrap();
        assert_eq!(again.normalised(), key);
        let lowered = Email::parse("xi\u{307}\u{5b3}@acme.example").unwrap();
        assert_eq!(lowered.normalised(), key);
    }

    #[test]
    fn a_quoted_local_part_is_read_without_its_quotes() {
        let quoted = Email::parse("\"Info+x\"@beta.example").unwrap();
        assert_eq!(quoted.local_part(), "info");
        let escaped = Email::parse("\"in\\fo\"@beta.example").unwrap();
        assert_eq!(escaped.local_part(), "info");
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(s in "\\PC{0,80}") {
            if let Ok(once) = UserCode::parse(&s, CasePolicy::Insensitive) {
                let twice = UserCode::parse(once.as_str(), CasePolicy::Insensitive).unwrap();
                prop_assert_eq!(once, twice);
            }
        }

        #[test]
        fn email_normalisation_is_idempotent(local in "[A-Za-z0-9.+_-]{1,20}", domain in "[A-Za-z0-9-]{1,10}\\.[a-z]{2,4}") {
            if let Ok(e) = Email::parse(&format!("{local}@{domain}")) {
                if let Ok(again) = Email::parse(&e.normalised()) {
                    prop_assert_eq!(again.normalised(), e.normalised());
                }
            }
        }

        #[test]
        fn the_ascii_fast_path_agrees_with_the_unicode_path(s in "[ -~]{0,70}") {
            // Prefixing a non-ASCII character that NFKC keeps (é) forces the Unicode path.
            let fast = UserCode::parse(&s, CasePolicy::Insensitive).map(|c| c.as_str().to_owned());
            let slow = UserCode::parse(&format!("é{}", s.trim_start()), CasePolicy::Insensitive)
                .map(|c| c.as_str().trim_start_matches('É').to_owned());
            if let (Ok(fast), Ok(slow)) = (&fast, &slow) {
                prop_assert_eq!(fast, slow);
            }
        }

        #[test]
        fn surrounding_whitespace_never_changes_the_code(s in "[A-Za-z0-9-]{1,20}", l in "[ \t]{0,3}", r in "[ \t]{0,3}") {
            let bare = UserCode::parse(&s, CasePolicy::Insensitive).unwrap();
            let padded = UserCode::parse(&format!("{l}{s}{r}"), CasePolicy::Insensitive).unwrap();
            prop_assert_eq!(bare, padded);
        }

        #[test]
        fn a_normalised_code_never_holds_a_forbidden_character(s in any::<String>()) {
            if let Ok(c) = UserCode::parse(&s, CasePolicy::Insensitive) {
                prop_assert!(!c.as_str().chars().any(is_forbidden));
                prop_assert!(c.as_str().chars().count() <= UserCode::MAX_CHARS);
            }
        }
    }
}
