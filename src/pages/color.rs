//! Colours as the pages' stylesheet writes them, and the contrast WCAG measures between two of
//! them, so that a colour a portal configures can be refused before anyone has to read it.

use std::fmt;

/// An sRGB colour, `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub(crate) [u8; 3]);

impl Rgb {
    /// Reads `#rgb` or `#rrggbb` (either case); `None` for anything else, so that nothing but
    /// a colour ever reaches the generated stylesheet.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
        let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        match hex.len() {
            3 => Some(Self([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17])),
            6 => Some(Self([pair(0)?, pair(2)?, pair(4)?])),
            _ => None,
        }
    }

    /// WCAG 2's relative luminance: 0 for black, 1 for white.
    fn luminance(self) -> f64 {
        let linear = |channel: u8| {
            let c = f64::from(channel) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// WCAG 2's contrast ratio between two colours, from 1 (the same) to 21 (black on white).
    pub(crate) fn contrast(self, other: Self) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

/// WCAG 2.x level AA for normal text.
pub(crate) const AA: f64 = 4.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_read_short_or_long_and_nothing_else() {
        assert_eq!(Rgb::parse("#0B57D0"), Some(Rgb([0x0b, 0x57, 0xd0])));
        assert_eq!(Rgb::parse("#fff"), Some(Rgb([255, 255, 255])));
        assert_eq!(Rgb::parse("#0b57d0").unwrap().to_string(), "#0b57d0");
        for bad in [
            "", "#", "0b57d0", "#12345", "#1234567", "#ggg", "red", "#fff;}", "#+1+2+3",
        ] {
            assert_eq!(Rgb::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn contrast_is_measured_as_wcag_does() {
        let (black, white) = (Rgb([0, 0, 0]), Rgb([255, 255, 255]));
        assert!((black.contrast(white) - 21.0).abs() < 1e-9);
        assert!((white.contrast(white) - 1.0).abs() < 1e-9);
        // #767676 is the lightest grey that passes AA on white (4.54:1).
        let grey = Rgb::parse("#767676").unwrap();
        assert!(grey.contrast(white) >= AA);
        assert!(Rgb::parse("#777777").unwrap().contrast(white) < AA);
    }
}
