//! The mail queue (`guichet_letters`): letters with a due time that doubles as a lease.

use std::time::Duration;

use async_trait::async_trait;

use super::pool::{failed, micros, on, unsigned, Columns, Sql};
use super::SqlStore;
use crate::error::StoreError;
use crate::mail::Letter;
use crate::store::{Claimed, MailQueue};

/// Adds a letter due now, unless `$2` letters wait already. On SQLite the statement is enough
/// (it holds the file's write lock from its start); on PostgreSQL two pushes could both count
/// below capacity, so the push runs in a transaction that first takes `PUSH_LOCK`.
static PUSH: Sql = Sql::new(
    "INSERT INTO guichet_letters (letter, due_at, attempts)
     SELECT $1, {now}, 0 WHERE (SELECT count(*) FROM guichet_letters) < $2",
);

/// Takes the next due letter and leases it for `$1` µs: its due time moves past the lease. On
/// PostgreSQL, concurrent takers skip a letter another one is taking (`SKIP LOCKED`) instead of
/// waiting for it and taking it too.
static CLAIM: Sql = Sql::new(
    "UPDATE guichet_letters SET due_at = {now} + $1
     WHERE id = (SELECT id FROM guichet_letters WHERE due_at <= {now}
                 ORDER BY due_at, id LIMIT 1{skip_locked})
       AND due_at <= {now}
     RETURNING id, letter, attempts",
);

static COMPLETE: Sql = Sql::new("DELETE FROM guichet_letters WHERE id = $1");

static RETRY: Sql = Sql::new(
    "UPDATE guichet_letters SET attempts = attempts + 1, due_at = {now} + $2 WHERE id = $1",
);

static WAITING: Sql = Sql::new("SELECT count(*) FROM guichet_letters");

/// PostgreSQL's advisory lock serialising pushes (any constant: `mail` in ASCII).
#[cfg(feature = "postgres")]
const PUSH_LOCK: i64 = 0x6d61_696c;

fn parse(id: &str) -> Result<i64, StoreError> {
    id.parse()
        .map_err(|_| StoreError::new(format!("unknown letter id {id:?}")))
}

#[async_trait]
impl MailQueue for SqlStore {
    async fn push(&self, letter: &Letter, capacity: usize) -> Result<bool, StoreError> {
        let json = serde_json::to_string(letter).map_err(StoreError::new)?;
        let capacity = i64::try_from(capacity).unwrap_or(i64::MAX);
        on!(self.pools(), write, |pool, dialect| {
            let push = sqlx::query(PUSH.get(dialect)).bind(&json).bind(capacity);
            #[cfg(feature = "sqlite")]
            if dialect == Dialect::Sqlite {
                let pushed = push.execute(pool).await.map_err(failed)?;
                return Ok(pushed.rows_affected() == 1);
            }
            let mut tx = pool.begin().await.map_err(failed)?;
            #[cfg(feature = "postgres")]
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PUSH_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            let pushed = push.execute(&mut *tx).await.map_err(failed)?;
            tx.commit().await.map_err(failed)?;
            Ok(pushed.rows_affected() == 1)
        })
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Claimed>, StoreError> {
        // An unreadable letter is dropped (and logged) so that it cannot block the queue;
        // the next due one is taken instead.
        loop {
            let taken = on!(self.pools(), write, |pool, dialect| {
                let Some(row) = sqlx::query(CLAIM.get(dialect))
                    .bind(micros(lease))
                    .fetch_optional(pool)
                    .await
                    .map_err(failed)?
                else {
                    return Ok(None);
                };
                let attempts = unsigned(row.int(2)?, "attempts")?;
                Ok(Some((
                    row.int(0)?.to_string(),
                    serde_json::from_str::<Letter>(row.text(1)?),
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                )))
            })?;
            let Some((id, letter, attempts)) = taken else {
                return Ok(None);
            };
            match letter {
                Ok(letter) => return Ok(Some(Claimed::new(id, letter, attempts))),
                Err(error) => {
                    tracing::error!(target: "guichet", %id, %error, "unreadable letter in the mail queue; dropped");
                    self.complete(&id).await?;
                }
            }
        }
    }

    async fn complete(&self, id: &str) -> Result<(), StoreError> {
        let id = parse(id)?;
        on!(self.pools(), write, |pool, dialect| {
            sqlx::query(COMPLETE.get(dialect))
                .bind(id)
                .execute(pool)
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    async fn retry(&self, id: &str, after: Duration) -> Result<(), StoreError> {
        let id = parse(id)?;
        on!(self.pools(), write, |pool, dialect| {
            sqlx::query(RETRY.get(dialect))
                .bind(id)
                .bind(micros(after))
                .execute(pool)
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    async fn waiting(&self) -> Result<usize, StoreError> {
        let count = on!(self.pools(), read, |pool, dialect| {
            let row = sqlx::query(WAITING.get(dialect))
                .fetch_one(pool)
                .await
                .map_err(failed)?;
            row.int(0)
        })?;
        Ok(usize::try_from(count).unwrap_or(0))
    }
}
