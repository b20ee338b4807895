//! The reaper: deletes what has expired, so that no table grows with traffic alone.
//!
//! Expired sessions and limits whose allowance is full again (a TAT in the past is the state of
//! a key never seen) are deleted every [`EVERY`], in batches of [`BATCH`] rows, each batch its
//! own short statement so that no sign-in waits long behind it. The task holds the store
//! weakly: it stops when the last clone of the store is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::pool::{failed, on, Pools, Sql};
use super::Inner;
use crate::error::StoreError;

/// How often the reaper runs.
pub(super) const EVERY: Duration = Duration::from_secs(60);

/// Rows deleted per statement.
const BATCH: i64 = 1000;

/// Batches per table and per run, at most (a million rows a minute); the rest waits for the
/// next run.
const MAX_BATCHES: usize = 1000;

/// Expired sessions. The outer condition is checked again on each row, so a session touched
/// meanwhile (PostgreSQL re-reads a row changed while it waited) is kept.
static SESSIONS: Sql = Sql::new(
    "DELETE FROM guichet_sessions
     WHERE session_key IN (SELECT session_key FROM guichet_sessions
                           WHERE expires_at <= {now} LIMIT $1)
       AND expires_at <= {now}",
);

/// Limits and throttles whose allowance is full again.
static LIMITS: Sql = Sql::new(
    "DELETE FROM guichet_limits
     WHERE (limit_name, limit_key) IN (SELECT limit_name, limit_key FROM guichet_limits
                                       WHERE tat <= {now} LIMIT $1)
       AND tat <= {now}",
);

/// Deletes what has expired; returns how many rows went.
pub(super) async fn reap(pools: &Pools) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for statement in [&SESSIONS, &LIMITS] {
        for _ in 0..MAX_BATCHES {
            let batch = on!(pools, write, |pool, dialect| {
                let done = sqlx::query(statement.get(dialect))
                    .bind(BATCH)
                    .execute(pool)
                    .await
                    .map_err(failed)?;
                Ok(done.rows_affected())
            })?;
            deleted += batch;
            if batch < BATCH.unsigned_abs() {
                break;
            }
            // Let the requests waiting for the writer go first.
            tokio::task::yield_now().await;
        }
    }
    Ok(deleted)
}

/// Starts the reaper for `inner` if a tokio runtime is running (otherwise expired rows wait
/// for [`SqlStore::reap_now`](super::SqlStore::reap_now)). `stop` is notified when `inner` is
/// dropped.
pub(super) fn spawn(inner: &Arc<Inner>, stop: Arc<Notify>) -> Option<JoinHandle<()>> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let weak: Weak<Inner> = Arc::downgrade(inner);
    Some(runtime.spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                () = stop.notified() => return,
            }
            let Some(inner) = weak.upgrade() else { return };
            match reap(&inner.pools).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::debug!(target: "guichet", deleted, "expired sessions and limits deleted")
                }
                Err(error) => {
                    tracing::warn!(target: "guichet", %error, "could not delete expired sessions and limits")
                }
            }
        }
    }))
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::super::SqlStore;

    #[tokio::test]
    async fn the_reaper_stops_with_the_last_clone_of_the_store() {
        let path = std::env::temp_dir().join(format!("guichet-reaper-{}.db", std::process::id()));
        let url = format!("sqlite://{}", path.display());
        let (store, reaper) = SqlStore::open(&url).await.unwrap();
        let reaper = reaper.expect("started inside a runtime");
        let clone = store.clone();
        drop(store);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!reaper.is_finished(), "a clone keeps it");
        drop(clone);
        tokio::time::timeout(std::time::Duration::from_secs(5), reaper)
            .await
            .expect("the reaper stops when the last clone goes")
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
