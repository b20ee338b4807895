//! The built-in pages' look: the two colour schemes (light, and dark when the system asks for
//! it), the stylesheet written from them, the favicon and the Caps Lock script.
//!
//! The colours live here, in Rust, rather than only in the stylesheet: the same numbers make
//! `guichet.css` and check a configured accent against the button text it sits under, in
//! both schemes, so the check cannot drift from what the browser shows.

use std::sync::LazyLock;

use askama::Template;

use super::color::Rgb;

/// The colours of one scheme. Every text colour is readable (WCAG AA, 4.5:1) on the
/// background it is used on; the unit tests below hold the palette to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scheme {
    /// `light` or `dark`, for messages.
    pub(crate) name: &'static str,
    /// The page's background.
    pub(crate) page: Rgb,
    /// Text on the page, in fields and in alerts.
    pub(crate) text: Rgb,
    /// Links and the keyboard focus ring.
    pub(crate) link: Rgb,
    /// The background of fields.
    pub(crate) field: Rgb,
    /// The borders of fields and the header's rule (3:1 against the page: WCAG's non-text
    /// contrast).
    pub(crate) border: Rgb,
    /// The buttons' background (replaced by `pages.brand.accent`).
    pub(crate) accent: Rgb,
    /// The buttons' text, on the accent.
    pub(crate) on_accent: Rgb,
    /// The background of error messages and warnings.
    pub(crate) alert: Rgb,
    /// The mark beside alerts, and the Caps Lock warning's text on the page.
    pub(crate) alert_mark: Rgb,
}

const fn rgb(hex: u32) -> Rgb {
    Rgb([(hex >> 16) as u8, (hex >> 8) as u8, hex as u8])
}

/// The default scheme.
pub(crate) const LIGHT: Scheme = Scheme {
    name: "light",
    page: rgb(0xffffff),
    text: rgb(0x1f1f1f),
    link: rgb(0x0b57d0),
    field: rgb(0xffffff),
    border: rgb(0x747775),
    accent: rgb(0x0b57d0),
    on_accent: rgb(0xffffff),
    alert: rgb(0xfdecea),
    alert_mark: rgb(0xb3261e),
};

/// The scheme of systems set to dark (`prefers-color-scheme: dark`).
pub(crate) const DARK: Scheme = Scheme {
    name: "dark",
    page: rgb(0x131314),
    text: rgb(0xe3e3e3),
    link: rgb(0xa8c7fa),
    field: rgb(0x1e1f20),
    border: rgb(0x8e918f),
    accent: rgb(0x0b57d0),
    on_accent: rgb(0xffffff),
    alert: rgb(0x3c1618),
    alert_mark: rgb(0xf2b8b5),
};

/// Both schemes, for checks that must hold in each.
pub(crate) const SCHEMES: [Scheme; 2] = [LIGHT, DARK];

#[derive(Template)]
#[template(path = "guichet.css", escape = "none")]
struct Stylesheet {
    light: Scheme,
    dark: Scheme,
}

/// The stylesheet served at `{prefix}/assets/guichet.css`.
pub(crate) static STYLE: LazyLock<String> = LazyLock::new(|| {
    Stylesheet {
        light: LIGHT,
        dark: DARK,
    }
    .render()
    .unwrap_or_default()
});

/// Served at `{prefix}/assets/guichet.js`: shows the Caps Lock warning while typing in any
/// password field of the page.
pub(crate) const SCRIPT: &str = include_str!("../../assets/guichet.js");

/// Served at `{prefix}/assets/favicon.svg`, so browsers find an icon without asking for
/// `/favicon.ico` (and logging its `404`).
pub(crate) const FAVICON: &str = include_str!("../../assets/favicon.svg");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::color::AA;

    #[test]
    fn every_text_is_readable_in_both_schemes() {
        for s in SCHEMES {
            for (what, fg, bg, least) in [
                ("text", s.text, s.page, AA),
                ("links", s.link, s.page, AA),
                ("field text", s.text, s.field, AA),
                ("buttons", s.on_accent, s.accent, AA),
                ("alerts", s.text, s.alert, AA),
                ("Caps Lock warning", s.alert_mark, s.page, AA),
                ("focus ring", s.link, s.page, 3.0),
                ("field borders", s.border, s.page, 3.0),
            ] {
                let contrast = fg.contrast(bg);
                assert!(
                    contrast >= least,
                    "{what} in the {} scheme: {fg} on {bg} is {contrast:.2}:1",
                    s.name
                );
            }
        }
    }

    #[test]
    fn the_stylesheet_follows_the_system_s_scheme() {
        assert!(STYLE.contains("@media (prefers-color-scheme: dark)"));
        assert!(STYLE.contains("--page: #131314"), "{}", *STYLE);
        assert!(STYLE.contains("--accent: #0b57d0"));
        assert!(!STYLE.contains("{{"));
    }
}
