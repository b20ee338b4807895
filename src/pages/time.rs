//! The time zone that dates are written in (`pages.time_zone`): a customer in Toronto reads
//! that her temporary password works "until 2026-11-28 12:05 (EST)", not a UTC time to
//! convert. (Letters are where dates appear today; a page that shows one uses the same clock.)
//!
//! Zones come from the system's time zone database (`/usr/share/zoneinfo`, or `TZDIR`), kept
//! current by the operating system's updates; where there is none (a container built from
//! scratch), from the copy of the IANA database that guichet carries (jiff's bundled one), so
//! a missing database never stops the portal and never silently falls back to UTC.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::error::ConfigError;

/// Writes times in the configured zone.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    zone: TimeZone,
}

impl Clock {
    /// The clock of the IANA zone `name` (`America/Toronto`, `Europe/Paris`, `UTC`).
    pub(crate) fn new(name: &str) -> Result<Self, ConfigError> {
        let zone = TimeZone::get(name.trim()).map_err(|_| {
            ConfigError::invalid(
                "pages.time_zone",
                format!(
                    "`{name}` is not a time zone of the IANA database; use a name such as \
                     `America/Toronto`, `Europe/Paris` or `UTC`"
                ),
            )
        })?;
        Ok(Self { zone })
    }

    /// `2026-11-28 12:05 (EST)`: a unix time to the minute, in this zone, with the zone's
    /// abbreviation (or its offset, `-03`, where the zone has none).
    pub(crate) fn minute(&self, unix: u64) -> String {
        let Ok(at) = i64::try_from(unix)
            .map_err(drop)
            .and_then(|s| Timestamp::from_second(s).map_err(drop))
        else {
            return unix.to_string();
        };
        at.to_zoned_datetime(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M (%Z)")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_the_zone_with_its_abbreviation() {
        let utc = Clock::new("UTC").unwrap();
        assert_eq!(utc.minute(0), "1970-01-01 00:00 (UTC)");
        assert_eq!(utc.minute(1_795_885_500), "2026-11-28 17:05 (UTC)");
        assert_eq!(utc.minute(951_782_400), "2000-02-29 00:00 (UTC)");
        let toronto = Clock::new("America/Toronto").unwrap();
        assert_eq!(toronto.minute(1_795_885_500), "2026-11-28 12:05 (EST)");
        // Summer time, and a zone whose abbreviation is its offset.
        assert_eq!(toronto.minute(1_783_000_000), "2026-07-02 09:46 (EDT)");
        let sao_paulo = Clock::new("America/Sao_Paulo").unwrap();
        assert_eq!(sao_paulo.minute(1_795_885_500), "2026-11-28 14:05 (-03)");
    }

    #[test]
    fn an_unknown_zone_is_refused_with_examples() {
        for bad in [
            "",
            "Toronto",
            "America/Nowhere",
            "EST5EDT,M3.2.0",
            "../../etc/passwd",
        ] {
            let error = Clock::new(bad).unwrap_err().to_string();
            assert!(error.contains("pages.time_zone"), "{error}");
            assert!(error.contains("America/Toronto"), "{error}");
        }
    }
}
