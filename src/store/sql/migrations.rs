//! The schema, embedded in the binary and brought up to date at `connect`.
//!
//! Each migration runs once, in order, inside one transaction that also records it in
//! `guichet_migrations`; that transaction first takes a lock that only one process at a time
//! can hold (SQLite: `BEGIN IMMEDIATE`, the file's write lock; PostgreSQL:
//! `pg_advisory_xact_lock`), so two processes starting at once never both create a table, and
//! a migration that fails leaves nothing half done. A database migrated by a newer guichet is
//! refused rather than used with a schema this one does not know.

use super::pool::{failed, Pools, Sql};
use crate::error::StoreError;

/// One step of the schema.
struct Migration {
    version: i64,
    name: &'static str,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    sqlite: &'static str,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    postgres: &'static str,
}

/// Every migration, oldest first. Never edit one that was released: add the next.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial",
    sqlite: include_str!("migrations/sqlite/0001_initial.sql"),
    postgres: include_str!("migrations/postgres/0001_initial.sql"),
}];

/// The version table, created under the lock if missing.
const VERSIONS: &str = "CREATE TABLE IF NOT EXISTS guichet_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

static APPLIED: Sql = Sql::new("SELECT version FROM guichet_migrations ORDER BY version");
static RECORD: Sql =
    Sql::new("INSERT INTO guichet_migrations (version, name, applied_at) VALUES ($1, $2, {now})");

/// The key of PostgreSQL's advisory lock for migrations (any constant: `guichet` in ASCII).
#[cfg(feature = "postgres")]
const LOCK: i64 = 0x0067_7569_6368_6574;

/// Brings the schema up to date; a no-op when it is.
pub(super) async fn migrate(pools: &Pools) -> Result<(), StoreError> {
    super::pool::on!(pools, write, |pool, dialect| {
        let mut tx = pool
            .begin_with(dialect.begin_write())
            .await
            .map_err(failed)?;
        #[cfg(feature = "postgres")]
        if dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(LOCK)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        sqlx::raw_sql(VERSIONS)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        let applied: Vec<i64> = sqlx::query_scalar(APPLIED.get(dialect))
            .fetch_all(&mut *tx)
            .await
            .map_err(failed)?;
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        if let Some(newest) = applied.iter().copied().find(|v| *v > known) {
            return Err(StoreError::new(format!(
                "the database schema is at version {newest}, newer than this guichet knows \
                 ({known}): upgrade guichet"
            )));
        }
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let script = match dialect {
                #[cfg(feature = "sqlite")]
                Dialect::Sqlite => migration.sqlite,
                #[cfg(feature = "postgres")]
                Dialect::Postgres => migration.postgres,
            };
            sqlx::raw_sql(script).execute(&mut *tx).await.map_err(|e| {
                let error = failed(e);
                StoreError::with_kind(
                    error.kind(),
                    format!(
                        "migration {} ({}) failed: {error}",
                        migration.version, migration.name
                    ),
                )
            })?;
            sqlx::query(RECORD.get(dialect))
                .bind(migration.version)
                .bind(migration.name)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    })
}
