//! `GET /auth/language?to=en&next=/auth/login%3Fnext%3D%252Faccount`: the pages' language
//! switch, a plain link (no script needed). It remembers the choice in the `guichet-lang`
//! cookie, which outranks `Accept-Language` on every later page and in the letters a page
//! asks for, and sends the browser back (`303`) to `next`: the page it came from, query
//! included. `next` is checked as everywhere else (a path on this site), so the switch is no
//! open redirect; without one, the sign-in page.

use http::header::SET_COOKIE;
use http::request::Parts;
use http::{HeaderValue, Response};
use tower_cookies::cookie::time::Duration;
use tower_cookies::cookie::SameSite;
use tower_cookies::Cookie;

use crate::context::Context;
use crate::error::Refusal;
use crate::pages::{Language, LANGUAGE_COOKIE};
use crate::respond::{self, Body};

use super::form;

/// How long the choice is remembered: a year, renewed at each switch.
const REMEMBERED: Duration = Duration::days(365);

/// Sets the cookie and goes back.
pub(crate) fn switch(ctx: &Context, parts: &Parts) -> Result<Response<Body>, Refusal> {
    let fields = form::query(&parts.uri, &["to", "next"])?;
    let language = fields
        .require("to")
        .map(Language::from_tag)?
        .ok_or(Refusal::InvalidField {
            field: "to",
            reason: "not a language of the pages",
        })?;
    let next = fields.next(&ctx.respond.links)?;
    let cookie = Cookie::build((LANGUAGE_COOKIE, language.tag()))
        .path("/")
        .same_site(SameSite::Lax)
        .secure(ctx.config.cookies.secure)
        .http_only(true)
        .max_age(REMEMBERED)
        .build();
    let mut response = respond::redirect(next.as_deref().unwrap_or(ctx.respond.links.login()));
    // The name and the value are fixed words: always a valid header.
    if let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}
