//! The built-in HTML pages and their words, in French (the default) and English.
//!
//! Replace them without forking by implementing [`Pages`] and passing it to
//! [`GuichetBuilder::pages`](crate::GuichetBuilder::pages). The built-in ones are compile-time
//! templates (`templates/pages/`) that escape every value they show, so no text reaching a
//! page (a user code typed, a `next`, a client's name) can become markup.
//!
//! Whatever renders the page, guichet adds the security headers: a CSP that allows styles,
//! scripts and images from the site only, plus the origins of the configured logo and
//! stylesheet (`pages.brand`), with no inline code, so the pages stay byte-for-byte
//! deterministic; `frame-ancestors 'none'`, `no-store`, `Referrer-Policy: same-origin`. The
//! built-in stylesheet (with a dark scheme that follows the system), the brand's accent
//! stylesheet, the favicon and the Caps Lock script are served under `{prefix}/assets/`.
//!
//! Every page carries a [`Layout`]: the [`Brand`] (name, logo, accent, extra stylesheet) and a
//! link to the same page in the other language, which remembers the choice in a cookie
//! (`{prefix}/language`).

mod brand;
mod builtin;
mod color;
mod language;
mod messages;
mod style;
mod time;

pub use brand::Brand;
pub use builtin::BuiltinPages;
pub use language::Language;
pub use messages::Messages;

pub(crate) use language::LANGUAGE_COOKIE;
pub(crate) use style::{FAVICON, SCRIPT, STYLE};
pub(crate) use time::Clock;

use http::StatusCode;

/// Renders guichet's pages. Every string handed to it is raw: escape what you interpolate
/// (templates that escape by default, as the built-in ones, do it for you).
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
    /// What every page shows around its own content: the brand, the language switch.
    pub layout: Layout<'a>,
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
    /// The sign-in page, for a link back (with the same `next`).
    pub sign_in: &'a str,
    /// Where `guichet.css` and `guichet.js` are served.
    pub assets: &'a str,
    /// Whose password it is, when known, for password managers (a hidden username field).
    pub user_code: Option<&'a str>,
    /// What every page shows around its own content: the brand, the language switch.
    pub layout: Layout<'a>,
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
    /// What every page shows around its own content: the brand, the language switch.
    pub layout: Layout<'a>,
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
    /// What every page shows around its own content: the brand, the language switch.
    pub layout: Layout<'a>,
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
    /// "Email me my password", for a link (with the same `next`).
    pub password_request: &'a str,
    /// Where the built-in `guichet.css` and `guichet.js` are served (e.g. `/auth/assets`).
    pub assets: &'a str,
    /// What every page shows around its own content: the brand, the language switch.
    pub layout: Layout<'a>,
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
    /// What every page shows around its own content: the brand, the language switch.
    pub layout: Layout<'a>,
}

/// What every built-in page shows around its own content.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Layout<'a> {
    /// The product's name, logo, accent and stylesheet (`pages.brand`).
    pub brand: &'a Brand,
    /// The link to the same page in the other language.
    pub switch: LanguageSwitch,
}

/// A link to the same page in another language: following it remembers the choice (a
/// cookie) and comes back, query included.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LanguageSwitch {
    /// The language the link leads to.
    pub to: Language,
    /// `{prefix}/language?to=..&next=..`, the page's own path and query as `next`.
    pub href: String,
}

/// Escapes text for HTML element content and quoted attribute values, exactly as the built-in
/// templates do: for applications that write a little HTML of their own around guichet's.
pub fn escape(text: &str) -> String {
    use askama::filters::Escaper as _;
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = askama::filters::Html.write_escaped_str(&mut out, text);
    out
}
