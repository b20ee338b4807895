//! Rate limits and sign-in throttles (`guichet_limits`): the GCRA of `limit::gcra`, one row per
//! limit and key holding its theoretical arrival time (TAT), checked and spent in one UPSERT.

use std::time::Duration;

use async_trait::async_trait;

use super::pool::{failed, micros, on, Columns, Sql};
use super::SqlStore;
use crate::error::StoreError;
use crate::limit::{Limit, Rate};
use crate::store::{RateLimitStore, ThrottleStore};

/// Check and spend: a key never seen gets `now + interval`; a known key is pushed one interval
/// past `max(tat, now)`, but only while `tat - tolerance <= now` (an allowance is left). A
/// refused key matches no row: nothing is written, nothing returned.
/// `$1` limit, `$2` key, `$3` interval (µs), `$4` tolerance, `interval * (count - 1)` (µs).
static SPEND: Sql = Sql::new(
    "INSERT INTO guichet_limits (limit_name, limit_key, tat) VALUES ($1, $2, {now} + $3)
     ON CONFLICT (limit_name, limit_key) DO UPDATE
        SET tat = {max}(guichet_limits.tat, {now}) + $3
        WHERE guichet_limits.tat - $4 <= {now}
     RETURNING tat",
);

/// After a refusal, how long until the next allowance (µs): `tat - tolerance - now`.
/// `$1` limit, `$2` key, `$3` tolerance (µs).
static WAIT: Sql = Sql::new(
    "SELECT tat - $3 - {now} FROM guichet_limits WHERE limit_name = $1 AND limit_key = $2",
);

static CLEAR: Sql = Sql::new("DELETE FROM guichet_limits WHERE limit_name = $1 AND limit_key = $2");

impl SqlStore {
    /// GCRA check-and-spend: `None` when admitted (and spent), or the wait. The spend is one
    /// statement; only a refusal reads the wait in a second one (spending nothing). Should the
    /// allowance come back between the two, the spend is tried again.
    async fn spend(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let interval = micros(rate.interval());
        let tolerance = interval.saturating_mul(i64::from(rate.count() - 1));
        for _ in 0..3 {
            // `None`: spent; `Some(wait)`: refused, next allowance in `wait` µs.
            let refused = on!(self.pools(), write, |pool, dialect| {
                let spent = sqlx::query(SPEND.get(dialect))
                    .bind(limit.name())
                    .bind(key)
                    .bind(interval)
                    .bind(tolerance)
                    .fetch_optional(pool)
                    .await
                    .map_err(failed)?;
                if spent.is_some() {
                    return Ok(None);
                }
                let wait = sqlx::query(WAIT.get(dialect))
                    .bind(limit.name())
                    .bind(key)
                    .bind(tolerance)
                    .fetch_optional(pool)
                    .await
                    .map_err(failed)?;
                Ok(Some(match wait {
                    Some(row) => row.int(0)?,
                    None => 0,
                }))
            })?;
            match refused {
                None => return Ok(None),
                Some(wait) if wait > 0 => {
                    return Ok(Some(Duration::from_micros(wait.unsigned_abs())))
                }
                // Cleared or refilled between the two statements: try again.
                Some(_) => {}
            }
        }
        // The allowance kept coming back between the two statements: refuse for a moment
        // rather than admit without spending.
        Ok(Some(Duration::from_millis(1)))
    }
}

#[async_trait]
impl RateLimitStore for SqlStore {
    async fn check(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.spend(limit, key, rate).await
    }
}

/// Throttles are rate limits that a success clears.
#[async_trait]
impl ThrottleStore for SqlStore {
    async fn reserve(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        self.spend(limit, key, rate).await
    }

    async fn peek(
        &self,
        limit: Limit,
        key: &str,
        rate: Rate,
    ) -> Result<Option<Duration>, StoreError> {
        let tolerance = micros(rate.interval()).saturating_mul(i64::from(rate.count() - 1));
        let wait = on!(self.pools(), read, |pool, dialect| {
            let row = sqlx::query(WAIT.get(dialect))
                .bind(limit.name())
                .bind(key)
                .bind(tolerance)
                .fetch_optional(pool)
                .await
                .map_err(failed)?;
            match row {
                Some(row) => row.int(0),
                None => Ok(0),
            }
        })?;
        Ok((wait > 0).then(|| Duration::from_micros(wait.unsigned_abs())))
    }

    async fn clear(&self, limit: Limit, key: &str) -> Result<(), StoreError> {
        on!(self.pools(), write, |pool, dialect| {
            sqlx::query(CLEAR.get(dialect))
                .bind(limit.name())
                .bind(key)
                .execute(pool)
                .await
                .map_err(failed)?;
            Ok(())
        })
    }
}
