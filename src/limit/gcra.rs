//! The generic cell rate algorithm (GCRA), as governor uses it, on one stored instant per key.
//!
//! Each key keeps a *theoretical arrival time* (TAT). An event is allowed when the TAT is no
//! further ahead of now than the burst allows; allowing it pushes the TAT one interval later.
//! A key whose TAT lies in the past is in the same state as a key never seen, so stores may
//! forget it: that is what keeps their memory bounded.
//!
//! A check is [`peek`] (does the key still have an allowance?) then, only if it does,
//! [`spend`], in one atomic step: a refusal spends nothing, so hammering a refused key never
//! pushes its wait further than one period after the last admitted event.

use std::time::Duration;

use super::Rate;

/// How long until the key may try again, or `None` when an allowance is left.
///
/// `tat` and `now` are in any common unit of time since a fixed origin.
pub(crate) fn peek(tat: Option<Duration>, now: Duration, rate: Rate) -> Option<Duration> {
    let tat = tat?;
    let tolerance = rate.interval() * (rate.count() - 1);
    let ahead = tat.checked_sub(now)?;
    ahead.checked_sub(tolerance).filter(|wait| !wait.is_zero())
}

/// The new TAT after spending one allowance.
pub(crate) fn spend(tat: Option<Duration>, now: Duration, rate: Rate) -> Duration {
    tat.map_or(now, |tat| tat.max(now)) + rate.interval()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_burst_of_count_then_one_per_interval() {
        let rate = Rate::per_hour(3);
        let now = Duration::from_secs(1_000_000);
        let mut tat = None;
        for _ in 0..3 {
            assert_eq!(peek(tat, now, rate), None);
            tat = Some(spend(tat, now, rate));
        }
        assert_eq!(peek(tat, now, rate), Some(Duration::from_secs(1200)));
        let later = now + Duration::from_secs(1200);
        assert_eq!(peek(tat, later, rate), None);
    }

    proptest! {
        /// Against a model: within any window shorter than one interval, at most `count` spends
        /// are admitted starting from a fresh key.
        #[test]
        fn never_admits_more_than_the_burst_at_once(count in 1u32..20, tries in 1usize..60) {
            let rate = Rate::per_minute(count);
            let now = Duration::from_secs(10_000);
            let mut tat = None;
            let mut admitted = 0;
            for _ in 0..tries {
                if peek(tat, now, rate).is_none() {
                    tat = Some(spend(tat, now, rate));
                    admitted += 1;
                }
            }
            prop_assert_eq!(admitted, (count as usize).min(tries));
        }

        #[test]
        fn the_wait_is_never_longer_than_one_interval_after_a_full_burst(count in 1u32..20) {
            let rate = Rate::per_hour(count);
            let now = Duration::from_secs(10_000);
            let mut tat = None;
            for _ in 0..count { tat = Some(spend(tat, now, rate)); }
            let wait = peek(tat, now, rate).unwrap();
            prop_assert!(wait <= rate.interval());
        }
    }
}
