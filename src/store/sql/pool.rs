//! Which database, its connection pools, the SQL each dialect speaks, and what its errors mean.

use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{StoreError, StoreErrorKind};

/// The two SQL dialects; chosen by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// A SQLite file.
    #[cfg(feature = "sqlite")]
    Sqlite,
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgres,
}

impl Dialect {
    /// The current time in microseconds since the Unix epoch, as an SQL expression that gives
    /// one value for the whole statement. PostgreSQL reads the server's clock, so replicas with
    /// skewed clocks agree on limits, leases and expiries; SQLite reads this machine's clock
    /// (milliseconds, in microseconds), which is every process's clock.
    fn now(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => "(CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) * 1000)",
            #[cfg(feature = "postgres")]
            Dialect::Postgres => "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000000)::BIGINT",
        }
    }

    /// The larger of two values.
    fn max(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => "MAX",
            #[cfg(feature = "postgres")]
            Dialect::Postgres => "GREATEST",
        }
    }

    /// How a transaction that reads then writes begins: SQLite takes the file's write lock at
    /// once (a deferred transaction that read first could not write after another process
    /// did); PostgreSQL locks rows as it reads them ([`for_update`](Self::for_update)).
    pub(super) fn begin_write(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            #[cfg(feature = "postgres")]
            Dialect::Postgres => "BEGIN",
        }
    }

    /// Row locking for a read-modify-write transaction (SQLite's `BEGIN IMMEDIATE` already holds
    /// the whole file).
    fn for_update(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => "",
            #[cfg(feature = "postgres")]
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Row locking for a queue: a taker skips rows another taker holds (SQLite has one writer
    /// at a time, so nothing to skip).
    fn skip_locked(self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => "",
            #[cfg(feature = "postgres")]
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// One statement, written once with `$1`-style parameters (both dialects read them) and the
/// few words the dialects spell differently: `{now}`, `{max}`, `{for_update}` and
/// `{skip_locked}`. Expanded once per
/// dialect, on first use; the text is then `'static`, so the drivers' statement caches keep
/// each statement prepared.
pub(super) struct Sql {
    template: &'static str,
    #[cfg(feature = "sqlite")]
    sqlite: OnceLock<String>,
    #[cfg(feature = "postgres")]
    postgres: OnceLock<String>,
}

impl Sql {
    /// A statement; see [`Sql`] for the words it may use.
    pub(super) const fn new(template: &'static str) -> Self {
        Self {
            template,
            #[cfg(feature = "sqlite")]
            sqlite: OnceLock::new(),
            #[cfg(feature = "postgres")]
            postgres: OnceLock::new(),
        }
    }

    /// The statement in `dialect`.
    pub(super) fn get(&'static self, dialect: Dialect) -> &'static str {
        let cell = match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => &self.sqlite,
            #[cfg(feature = "postgres")]
            Dialect::Postgres => &self.postgres,
        };
        cell.get_or_init(|| {
            self.template
                .replace("{now}", dialect.now())
                .replace("{max}", dialect.max())
                .replace("{skip_locked}", dialect.skip_locked())
                .replace("{for_update}", dialect.for_update())
        })
    }
}

/// The connections. SQLite gets one writer (SQLite takes one write at a time anyway: queueing
/// them here is cheaper than its busy-wait) and a few readers, which WAL lets run alongside the
/// writer and alongside other processes on the same file. PostgreSQL gets one pool.
pub(super) enum Pools {
    #[cfg(feature = "sqlite")]
    Sqlite {
        read: sqlx::SqlitePool,
        write: sqlx::SqlitePool,
    },
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs `$body` (a `Result<_, StoreError>`, in which `?` may be used) once per backend compiled
/// in, with `$pool` the pool for `read` or `write` work and `$dialect` its [`Dialect`], so one
/// piece of code serves both (each arm is compiled with its backend's concrete types). Errors
/// from a pool that could not open any connection become [`StoreErrorKind::Unavailable`].
macro_rules! on {
    ($pools:expr, $role:ident, |$pool:ident, $dialect:ident| $body:expr) => {{
        #[allow(unused_imports)]
        use $crate::store::sql::pool::{Dialect, Pools};
        match $pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite { $role: $pool, .. } => {
                let $dialect = Dialect::Sqlite;
                let result = $crate::store::sql::pool::fallible(async { $body }).await;
                $crate::store::sql::pool::refine(result, $pool.size())
            }
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => {
                let $pool = pool;
                let $dialect = Dialect::Postgres;
                let result = $crate::store::sql::pool::fallible(async { $body }).await;
                $crate::store::sql::pool::refine(result, $pool.size())
            }
        }
    }};
}
pub(super) use on;

/// Names the output of an [`on!`] body, so that `?` inside it knows its error type.
pub(super) fn fallible<T, F: std::future::Future<Output = Result<T, StoreError>>>(body: F) -> F {
    body
}

/// How many reading connections a SQLite store keeps.
#[cfg(feature = "sqlite")]
const SQLITE_READERS: u32 = 4;

/// How long SQLite waits for another process's write before giving up (`busy_timeout`), and how
/// long a write waits for this process's writer connection.
#[cfg(feature = "sqlite")]
const SQLITE_WAIT: Duration = Duration::from_secs(5);

/// How many connections a PostgreSQL store opens at most.
#[cfg(feature = "postgres")]
const POSTGRES_CONNECTIONS: u32 = 10;

/// How long to wait for a PostgreSQL connection (from the pool, or a new one) before failing
/// closed: a database that is down fails requests within this, not after a TCP timeout.
#[cfg(feature = "postgres")]
const POSTGRES_ACQUIRE: Duration = Duration::from_secs(1);

/// PostgreSQL's `statement_timeout` for guichet's connections, in milliseconds.
#[cfg(feature = "postgres")]
const POSTGRES_STATEMENT_TIMEOUT_MS: &str = "3000";

/// Opens the pools for `url`; the scheme picks the dialect.
pub(super) async fn open(url: &str) -> Result<Pools, StoreError> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme {
        "sqlite" => sqlite(url).await,
        "postgres" | "postgresql" => postgres(url).await,
        _ => Err(StoreError::new(format!(
            "unknown database URL scheme {scheme:?}: expected sqlite:// or postgres://"
        ))),
    }
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite(_: &str) -> Result<Pools, StoreError> {
    Err(StoreError::new(
        "sqlite:// URLs need guichet's `sqlite` feature, which this build does not have",
    ))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: &str) -> Result<Pools, StoreError> {
    Err(StoreError::new(
        "postgres:// URLs need guichet's `postgres` feature, which this build does not have",
    ))
}

/// Creates a missing database file readable by its owner only: it holds password hashes and
/// session digests (SQLite gives its `-wal` and `-shm` files the database file's mode). A
/// link to a missing file is refused (SQLite would create its target with the default mode);
/// an existing file that others may read is used, with a warning.
#[cfg(feature = "sqlite")]
fn create_private(file: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            match std::fs::metadata(file) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    Err(std::io::Error::other(
                        "it is a link to a missing file: create the file itself, or name its target",
                    ))
                }
                Err(error) => Err(error),
                Ok(_) => {
                    #[cfg(unix)]
                    warn_if_shared(file);
                    Ok(())
                }
            }
        }
        Err(error) => Err(error),
    }
}

/// Warns about a database file, or its `-wal` or `-shm` file, that other users may read.
#[cfg(all(feature = "sqlite", unix))]
fn warn_if_shared(file: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut paths = vec![file.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        paths.push(path.into());
    }
    for path in paths {
        if let Ok(metadata) = std::fs::metadata(&path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(target: "guichet", path = %path.display(), mode = format!("{mode:o}"),
                    "the database holds password hashes and session digests, and other users may read this file: chmod 600");
            }
        }
    }
}

/// `sqlite://path` (relative to the working directory), `sqlite:///absolute/path`; the file is
/// created if missing, its folder is not.
#[cfg(feature = "sqlite")]
async fn sqlite(url: &str) -> Result<Pools, StoreError> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    use std::str::FromStr;

    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (file, params) = rest.split_once('?').unwrap_or((rest, ""));
    if file.is_empty() || file == ":memory:" || params.contains("mode=memory") {
        return Err(StoreError::new(format!(
            "{url}: an in-memory SQLite database is not supported (each pooled connection \
             would see a database of its own); use a file, such as a temporary one in tests"
        )));
    }
    let base = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::new(format!("{url}: {e}")))?
        .busy_timeout(SQLITE_WAIT)
        .synchronous(SqliteSynchronous::Normal);
    create_private(base.get_filename())
        .map_err(|e| StoreError::new(format!("{url}: cannot create the database file: {e}")))?;
    let writer = base
        .clone()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let write_pool = || {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(SQLITE_WAIT)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer.clone())
    };
    // Switching a new file to WAL takes a lock that `busy_timeout` does not wait for: a second
    // process starting at that very moment retries.
    let mut attempts = 0;
    let write = loop {
        match write_pool().await {
            Ok(pool) => break pool,
            Err(error) if attempts < 50 && is_busy(&error) => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => return Err(failed(error)),
        }
    };
    let read = SqlitePoolOptions::new()
        .max_connections(SQLITE_READERS)
        .min_connections(0)
        .acquire_timeout(SQLITE_WAIT)
        .test_before_acquire(false)
        .idle_timeout(Duration::from_secs(600))
        .max_lifetime(None)
        .connect_lazy_with(base.read_only(true));
    Ok(Pools::Sqlite { read, write })
}

#[cfg(feature = "sqlite")]
fn is_busy(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().is_some_and(|c| sqlite_primary(&c) == Some(5)))
}

/// `postgres://user@host:port/db` or `postgresql://...`. No connection is made here beyond
/// the migrations: the pool opens connections as requests need them, and again after the
/// database comes back.
#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<Pools, StoreError> {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use std::str::FromStr;

    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::new(format!("{}: {e}", redact(url))))?
        .application_name("guichet")
        .options([
            ("statement_timeout", POSTGRES_STATEMENT_TIMEOUT_MS),
            ("lock_timeout", POSTGRES_STATEMENT_TIMEOUT_MS),
            ("idle_in_transaction_session_timeout", "10000"),
        ]);
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(POSTGRES_ACQUIRE)
        .idle_timeout(Duration::from_secs(300))
        .max_lifetime(Duration::from_secs(1800))
        .connect_lazy_with(options);
    Ok(Pools::Postgres(pool))
}

/// The URL without its password, for error messages.
#[cfg(feature = "postgres")]
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let credentials = &url[start + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// SQLite's primary result code, from the extended one sqlx reports.
#[cfg(feature = "sqlite")]
fn sqlite_primary(code: &str) -> Option<i64> {
    code.parse::<i64>().ok().map(|c| c & 0xff)
}

/// A driver error as a store error, with its kind: the connection (or the file) cannot be had,
/// the database did not answer in time, a row could not be read, or anything else.
pub(super) fn failed(error: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    let kind = match &error {
        E::Io(_) | E::Tls(_) | E::PoolClosed | E::WorkerCrashed => StoreErrorKind::Unavailable,
        E::PoolTimedOut => StoreErrorKind::Timeout,
        E::ColumnDecode { .. }
        | E::Decode(_)
        | E::ColumnNotFound(_)
        | E::ColumnIndexOutOfBounds { .. }
        | E::TypeNotFound { .. } => StoreErrorKind::Corrupt,
        E::Database(e) => database_kind(&**e),
        _ => StoreErrorKind::Other,
    };
    StoreError::with_kind(kind, error)
}

/// The kind of an error the database itself returned.
fn database_kind(error: &dyn sqlx::error::DatabaseError) -> StoreErrorKind {
    let code = error.code();
    let code = code.as_deref().unwrap_or("");
    #[cfg(feature = "sqlite")]
    if error
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        return sqlite_kind(code);
    }
    postgres_kind(code)
}

/// SQLite's extended result code (a number) as a kind.
#[cfg(feature = "sqlite")]
fn sqlite_kind(code: &str) -> StoreErrorKind {
    match sqlite_primary(code) {
        // SQLITE_BUSY, SQLITE_LOCKED: another process held the file past busy_timeout.
        Some(5 | 6) => StoreErrorKind::Timeout,
        // SQLITE_CORRUPT, SQLITE_NOTADB.
        Some(11 | 26) => StoreErrorKind::Corrupt,
        // SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN.
        Some(8 | 10 | 13 | 14) => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Other,
    }
}

/// PostgreSQL's SQLSTATE as a kind.
fn postgres_kind(code: &str) -> StoreErrorKind {
    match code {
        // statement_timeout, lock_timeout.
        "57014" | "55P03" => StoreErrorKind::Timeout,
        // Shutting down, starting up.
        "57P01" | "57P02" | "57P03" => StoreErrorKind::Unavailable,
        // Connection exceptions; too many connections and other missing resources.
        c if c.starts_with("08") || c.starts_with("53") => StoreErrorKind::Unavailable,
        // Serialisation failure, deadlock.
        c if c.starts_with("40") => StoreErrorKind::Contention,
        _ => StoreErrorKind::Other,
    }
}

/// A pool that timed out while it had no connection at all could not reach the database (it
/// retried connecting until the deadline): that is unavailability, not a slow answer.
pub(super) fn refine<T>(result: Result<T, StoreError>, open: u32) -> Result<T, StoreError> {
    result.map_err(|error| {
        let timed_out = std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<sqlx::Error>())
            .is_some_and(|cause| matches!(cause, sqlx::Error::PoolTimedOut));
        if timed_out && open == 0 {
            StoreError::with_kind(
                StoreErrorKind::Unavailable,
                "no connection to the database could be opened",
            )
        } else {
            error
        }
    })
}

/// Reading columns the same way from either backend's rows. Anything that does not read as
/// the schema says is a corrupt row ([`StoreErrorKind::Corrupt`]).
pub(super) trait Columns {
    /// An integer column.
    fn int(&self, index: usize) -> Result<i64, StoreError>;
    /// An integer column that may be NULL.
    fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError>;
    /// A text column.
    fn text(&self, index: usize) -> Result<&str, StoreError>;
    /// A text column that may be NULL.
    fn opt_text(&self, index: usize) -> Result<Option<&str>, StoreError>;
    /// A boolean column.
    fn flag(&self, index: usize) -> Result<bool, StoreError>;
}

macro_rules! columns {
    ($row:ty) => {
        impl Columns for $row {
            fn int(&self, index: usize) -> Result<i64, StoreError> {
                sqlx::Row::try_get(self, index).map_err(failed)
            }
            fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
                sqlx::Row::try_get(self, index).map_err(failed)
            }
            fn text(&self, index: usize) -> Result<&str, StoreError> {
                sqlx::Row::try_get(self, index).map_err(failed)
            }
            fn opt_text(&self, index: usize) -> Result<Option<&str>, StoreError> {
                sqlx::Row::try_get(self, index).map_err(failed)
            }
            fn flag(&self, index: usize) -> Result<bool, StoreError> {
                sqlx::Row::try_get(self, index).map_err(failed)
            }
        }
    };
}

#[cfg(feature = "sqlite")]
columns!(sqlx::sqlite::SqliteRow);
#[cfg(feature = "postgres")]
columns!(sqlx::postgres::PgRow);

/// A stored integer that must not be negative (a version, a time, a count).
pub(super) fn unsigned(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(format!("negative {what}: {value}")))
}

/// A value to store as a signed 64-bit integer (the only integer both databases share).
pub(super) fn signed(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::new(format!("{what} too large to store: {value}")))
}

/// A duration in microseconds, as bound to statements (at least 1: nothing lasts no time).
pub(super) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// A corrupt-row error.
pub(super) fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::with_kind(StoreErrorKind::Corrupt, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_spelt_for_each_dialect() {
        static S: Sql = Sql::new("SELECT {max}(a, {now}){skip_locked}");
        #[cfg(feature = "sqlite")]
        assert_eq!(
            S.get(Dialect::Sqlite),
            "SELECT MAX(a, (CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) * 1000))"
        );
        #[cfg(feature = "postgres")]
        assert!(S
            .get(Dialect::Postgres)
            .ends_with("::BIGINT) FOR UPDATE SKIP LOCKED"));
    }

    #[test]
    fn database_errors_have_kinds() {
        #[cfg(feature = "sqlite")]
        {
            assert_eq!(sqlite_kind("5"), StoreErrorKind::Timeout);
            assert_eq!(sqlite_kind("517"), StoreErrorKind::Timeout);
            assert_eq!(sqlite_kind("11"), StoreErrorKind::Corrupt);
            assert_eq!(sqlite_kind("1"), StoreErrorKind::Other);
        }
        assert_eq!(postgres_kind("57014"), StoreErrorKind::Timeout);
        assert_eq!(postgres_kind("08006"), StoreErrorKind::Unavailable);
        assert_eq!(postgres_kind("57P01"), StoreErrorKind::Unavailable);
        assert_eq!(postgres_kind("40P01"), StoreErrorKind::Contention);
        assert_eq!(postgres_kind("23505"), StoreErrorKind::Other);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://guichet:secret@db:5432/portal"),
            "postgres://guichet:***@db:5432/portal"
        );
        assert_eq!(
            redact("postgres://guichet@db/portal"),
            "postgres://guichet@db/portal"
        );
    }
}
