//! The built-in HTML pages and their words, in French (the default) and English.
//!
//! Replace them without forking by implementing [`Pages`] and passing it to
//! [`GuichetBuilder::pages`](crate::GuichetBuilder::pages). Whatever renders the page, guichet
//! adds the security headers: a CSP that allows styles and scripts from the site only (no inline
//! code, so the pages stay byte-for-byte deterministic), `frame-ancestors 'none'`, `no-store`,
//! `Referrer-Policy: same-origin`. The built-in stylesheet and the Caps Lock script are served under
//! `{prefix}/assets/`.

mod builtin;
mod language;
mod messages;

pub use builtin::BuiltinPages;
pub(crate) use builtin::{SCRIPT, STYLE};
pub use language::Language;
pub use messages::Messages;

use http::StatusCode;

/// Renders guichet's pages. Every string handed to it is raw: escape what you interpolate.
pub trait Pages: Send + Sync + 'static {
    /// The sign-in page (also shown again, with `failed`, after a failed attempt).
    fn sign_in(&self, page: &SignInPage<'_>) -> String;

    /// A page explaining why a request was refused (400, 403, 413, 429, 503, ...).
    fn refusal(&self, page: &RefusalPage<'_>) -> String;

    /// "Email me my password": the user code form, with the shared-inbox warning.
    fn password_request(&self, page: &FormPage<'_>) -> String;

    /// Choosing a password after signing in with a temporary one.
    fn choose_password(&self, page: &FormPage<'_>) -> String;

    /// "This wasn't me": the button that cancels a pending temporary password.
    fn cancel(&self, page: &CancelPage<'_>) -> String;

    /// A short confirmation (request received, request cancelled).
    fn notice(&self, page: &NoticePage<'_>) -> String;

    /// The contact person's form: user codes for new employees (`/auth/team`).
    fn team(&self, page: &TeamPage<'_>) -> String;

    /// Changing one's password online (`/auth/password/change`, when allowed).
    fn change_password(&self, page: &FormPage<'_>) -> String;
}

/// The contact person's form.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TeamPage<'a> {
    /// The page's language.
    pub language: Language,
    /// The form's `action`.
    pub action: &'a str,
    /// The client's name.
    pub client: &'a str,
    /// The rows to show, filled with what was sent, each with its problem if any.
    pub rows: &'a [TeamRow<'a>],
    /// What was wrong with the request as a whole, already in `language`.
    pub error: Option<&'a str>,
    /// A link to the same form with more rows, while a request may hold more.
    pub more_rows: Option<&'a str>,
    /// Where `guichet.css` and `guichet.js` are served.
    pub assets: &'a str,
}

/// One row of the contact person's form.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TeamRow<'a> {
    /// The full name sent.
    pub name: &'a str,
    /// The address sent.
    pub email: &'a str,
    /// What is wrong with the row, already in the page's language.
    pub error: Option<&'a str>,
}

impl<'a> TeamRow<'a> {
    /// A row.
    pub fn new(name: &'a str, email: &'a str, error: Option<&'a str>) -> Self {
        Self { name, email, error }
    }
}

/// A page with one form: where it posts, what went wrong last time, where to go next.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FormPage<'a> {
    /// The page's language.
    pub language: Language,
    /// The form's `action`.
    pub action: &'a str,
    /// Where to go afterwards, for a hidden `next` field.
    pub next: Option<&'a str>,
    /// What was wrong with the previous submission, already in `language`.
    pub error: Option<&'a str>,
    /// The sign-in page, for a link back.
    pub sign_in: &'a str,
    /// Where `guichet.css` and `guichet.js` are served.
    pub assets: &'a str,
    /// Whose password it is, when known, for password managers (a hidden username field).
    pub user_code: Option<&'a str>,
}

/// The "this wasn't me" page.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CancelPage<'a> {
    /// The page's language.
    pub language: Language,
    /// The form's `action`.
    pub action: &'a str,
    /// The user code from the link, for a hidden field.
    pub user_code: &'a str,
    /// The cancel token from the link, for a hidden field.
    pub token: &'a str,
    /// Where `guichet.css` and `guichet.js` are served.
    pub assets: &'a str,
}

/// A confirmation page.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NoticePage<'a> {
    /// The page's language.
    pub language: Language,
    /// The heading.
    pub title: &'a str,
    /// The message.
    pub message: &'a str,
    /// The sign-in page, for a link back.
    pub sign_in: &'a str,
    /// Where `guichet.css` and `guichet.js` are served.
    pub assets: &'a str,
}

/// What the sign-in page shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignInPage<'a> {
    /// The page's language.
    pub language: Language,
    /// The form's `action` (e.g. `/auth/login`).
    pub action: &'a str,
    /// Where to go after signing in, for a hidden `next` field.
    pub next: Option<&'a str>,
    /// The user code typed in the failed attempt, to fill the field again.
    pub user_code: Option<&'a str>,
    /// The previous attempt failed: show the message and the troubleshooting tips prominently.
    pub failed: bool,
    /// "Email me my password", for a link.
    pub password_request: &'a str,
    /// Where the built-in `guichet.css` and `guichet.js` are served (e.g. `/auth/assets`).
    pub assets: &'a str,
}

/// What a refusal page shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefusalPage<'a> {
    /// The page's language.
    pub language: Language,
    /// The HTTP status being answered.
    pub status: StatusCode,
    /// The explanation, already in `language`.
    pub message: &'a str,
    /// A link back to the sign-in page.
    pub sign_in: &'a str,
    /// Where the built-in `guichet.css` and `guichet.js` are served (e.g. `/auth/assets`).
    pub assets: &'a str,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
