use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A rate: `count` events per `period`, allowed as a burst of `count` that refills evenly over
/// the period. Written `"10/hour"` in configuration files.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    count: NonZeroU32,
    period: Duration,
}

/// A rate could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid rate {0:?}: expected `N/second`, `N/minute`, `N/hour` or `N/day` with N >= 1")]
pub struct RateError(String);

impl Rate {
    fn new(count: u32, period: Duration) -> Self {
        Self {
            count: NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN),
            period,
        }
    }

    /// `n` per second (0 is read as 1).
    pub fn per_second(n: u32) -> Self {
        Self::new(n, Duration::from_secs(1))
    }

    /// `n` per minute (0 is read as 1).
    pub fn per_minute(n: u32) -> Self {
        Self::new(n, Duration::from_secs(60))
    }

    /// `n` per hour (0 is read as 1).
    pub fn per_hour(n: u32) -> Self {
        Self::new(n, Duration::from_secs(3600))
    }

    /// `n` per day (0 is read as 1).
    pub fn per_day(n: u32) -> Self {
        Self::new(n, Duration::from_secs(86_400))
    }

    /// How many events a burst may hold.
    pub fn count(&self) -> u32 {
        self.count.get()
    }

    /// Over how long the burst refills.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Time for one event's allowance to come back.
    pub fn interval(&self) -> Duration {
        self.period / self.count.get()
    }

    pub(crate) fn quota(&self) -> governor::Quota {
        governor::Quota::with_period(self.interval().max(Duration::from_nanos(1)))
            .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.count)
    }
}

impl FromStr for Rate {
    type Err = RateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RateError(s.to_owned());
        let (n, unit) = s.split_once('/').ok_or_else(err)?;
        let n: u32 = n.trim().parse().map_err(|_| err())?;
        if n == 0 {
            return Err(err());
        }
        match unit.trim() {
            "second" | "s" => Ok(Self::per_second(n)),
            "minute" | "min" => Ok(Self::per_minute(n)),
            "hour" | "h" => Ok(Self::per_hour(n)),
            "day" | "d" => Ok(Self::per_day(n)),
            _ => Err(err()),
        }
    }
}

impl TryFrom<String> for Rate {
    type Error = RateError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Rate> for String {
    fn from(rate: Rate) -> Self {
        rate.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "second",
            60 => "minute",
            3600 => "hour",
            86_400 => "day",
            other => return write!(f, "{}/{other}s", self.count),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_right() {
        let r = Rate::per_hour(3);
        assert_eq!(r.count(), 3);
        assert_eq!(r.interval(), Duration::from_secs(1200));
        assert_eq!(r.to_string(), "3/hour");
        assert_eq!("3/hour".parse::<Rate>().unwrap(), r);
    }

    #[test]
    fn bad_rates_are_refused() {
        for bad in ["", "3", "0/hour", "3/fortnight", "x/hour", "-1/hour"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }
}
