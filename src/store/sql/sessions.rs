//! Sessions (`guichet_sessions`), and the signed-in request's one statement.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::credentials::{self, credential_columns};
use super::pool::{failed, micros, on, signed, unsigned, Columns, Sql};
use super::SqlStore;
use crate::error::StoreError;
use crate::identity::UserCode;
use crate::session::{SessionKey, SessionRecord};
use crate::store::{Credentials, SessionStore, Store, Versioned};

/// The columns of a session, then how long it has left (µs), as every read selects them
/// (six columns, from 0).
macro_rules! session_columns {
    () => {
        "s.user_code, s.epoch, s.created_at, s.last_seen, s.restricted, s.expires_at - {now}"
    };
}

static CREATE: Sql = Sql::new(
    "INSERT INTO guichet_sessions
        (session_key, user_code, epoch, created_at, last_seen, restricted, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, {now} + $7)
     ON CONFLICT (session_key) DO UPDATE SET
        user_code = excluded.user_code, epoch = excluded.epoch,
        created_at = excluded.created_at, last_seen = excluded.last_seen,
        restricted = excluded.restricted, expires_at = excluded.expires_at
     WHERE guichet_sessions.expires_at <= {now}",
);

static LOAD: Sql = Sql::new(concat!(
    "SELECT ",
    session_columns!(),
    " FROM guichet_sessions s WHERE s.session_key = $1 AND s.expires_at > {now}"
));

static TOUCH: Sql = Sql::new(
    "UPDATE guichet_sessions
     SET user_code = $2, epoch = $3, created_at = $4, last_seen = $5, restricted = $6,
         expires_at = {now} + $7
     WHERE session_key = $1 AND expires_at > {now}",
);

static DESTROY: Sql = Sql::new("DELETE FROM guichet_sessions WHERE session_key = $1");

static OF_ACCOUNT: Sql = Sql::new(concat!(
    "SELECT ",
    session_columns!(),
    " FROM guichet_sessions s WHERE s.user_code = $1 AND s.expires_at > {now} \
     ORDER BY s.created_at, s.session_key"
));

/// The signed-in request's question in one statement: the session by key (if alive) and the
/// credential state of the code the cookie names, each all `NULL` when absent.
static SESSION_AND_CREDENTIALS: Sql = Sql::new(concat!(
    "SELECT ",
    session_columns!(),
    ", ",
    credential_columns!(),
    " FROM (SELECT 1 AS one) AS o
     LEFT JOIN guichet_sessions s ON s.session_key = $1 AND s.expires_at > {now}
     LEFT JOIN guichet_credentials c ON c.user_code = $2"
));

/// A session read from the six [`session_columns`] at `from`, and how long it has left; `None`
/// when they are `NULL` (no such session).
fn decode(
    row: &impl Columns,
    from: usize,
) -> Result<Option<(SessionRecord, Duration)>, StoreError> {
    let Some(code) = row.opt_text(from)? else {
        return Ok(None);
    };
    let user_code = UserCode::from_stored(code)
        .map_err(|e| super::pool::corrupt(format!("a session's user code {code:?}: {e}")))?;
    let record = SessionRecord {
        user_code,
        epoch: unsigned(row.int(from + 1)?, "session epoch")?,
        created_at: unsigned(row.int(from + 2)?, "session start")?,
        last_seen: unsigned(row.int(from + 3)?, "session use")?,
        restricted: row.opt_text(from + 4)?.map(Into::into),
    };
    let left = Duration::from_micros(u64::try_from(row.int(from + 5)?).unwrap_or(0));
    Ok(Some((record, left)))
}

impl SqlStore {
    /// Keeps a session read at `read_at` (with `left` to live) in the cache.
    fn cache_session(
        &self,
        key: &SessionKey,
        found: Option<&(SessionRecord, Duration)>,
        read_at: Instant,
        generation: u64,
    ) {
        if let Some((record, left)) = found {
            let until = self
                .cache()
                .until(read_at)
                .map(|until| until.min(read_at + *left));
            self.cache()
                .sessions
                .fill(*key, record.clone(), until, generation);
        }
    }

    /// The writes `create` and `touch` share: the record's columns, then the time to live.
    fn session_values(record: &SessionRecord) -> Result<(i64, i64, i64), StoreError> {
        Ok((
            signed(record.epoch, "session epoch")?,
            signed(record.created_at, "session start")?,
            signed(record.last_seen, "session use")?,
        ))
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (epoch, created_at, last_seen) = Self::session_values(record)?;
        let started = Instant::now();
        let created = on!(self.pools(), write, |pool, dialect| {
            sqlx::query(CREATE.get(dialect))
                .bind(key.as_bytes().as_slice())
                .bind(record.user_code.as_str())
                .bind(epoch)
                .bind(created_at)
                .bind(last_seen)
                .bind(record.restricted.as_deref())
                .bind(micros(ttl))
                .execute(pool)
                .await
                .map_err(failed)
                .map(|done| done.rows_affected() == 1)
        })?;
        if created {
            // A new key: no older read of it can be under way.
            let until = self.cache().until(started).map(|u| u.min(started + ttl));
            self.cache().sessions.put(*key, record.clone(), until);
        }
        Ok(created)
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let generation = self.cache().sessions.generation();
        let read_at = Instant::now();
        let found = on!(self.pools(), read, |pool, dialect| {
            match sqlx::query(LOAD.get(dialect))
                .bind(key.as_bytes().as_slice())
                .fetch_optional(pool)
                .await
                .map_err(failed)?
            {
                Some(row) => decode(&row, 0),
                None => Ok(None),
            }
        })?;
        self.cache_session(key, found.as_ref(), read_at, generation);
        Ok(found.map(|(record, _)| record))
    }

    fn load_now(&self, key: &SessionKey) -> Option<Result<Option<SessionRecord>, StoreError>> {
        self.cache()
            .sessions
            .get(key)
            .map(|record| Ok(Some(record)))
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (epoch, created_at, last_seen) = Self::session_values(record)?;
        let touched = on!(self.pools(), write, |pool, dialect| {
            sqlx::query(TOUCH.get(dialect))
                .bind(key.as_bytes().as_slice())
                .bind(record.user_code.as_str())
                .bind(epoch)
                .bind(created_at)
                .bind(last_seen)
                .bind(record.restricted.as_deref())
                .bind(micros(ttl))
                .execute(pool)
                .await
                .map_err(failed)
                .map(|_| ())
        });
        // Dropped, not updated: a sign-out racing this touch must not find it cached again.
        self.cache().sessions.forget(key);
        touched
    }

    async fn destroy(&self, key: &SessionKey) -> Result<(), StoreError> {
        let destroyed = on!(self.pools(), write, |pool, dialect| {
            sqlx::query(DESTROY.get(dialect))
                .bind(key.as_bytes().as_slice())
                .execute(pool)
                .await
                .map_err(failed)
                .map(|_| ())
        });
        self.cache().sessions.forget(key);
        destroyed
    }

    async fn sessions_of(&self, code: &UserCode) -> Result<Vec<SessionRecord>, StoreError> {
        on!(self.pools(), read, |pool, dialect| {
            let rows = sqlx::query(OF_ACCOUNT.get(dialect))
                .bind(code.as_str())
                .fetch_all(pool)
                .await
                .map_err(failed)?;
            let mut records = Vec::with_capacity(rows.len());
            for row in &rows {
                records.extend(decode(row, 0)?.map(|(record, _)| record));
            }
            Ok(records)
        })
    }
}

/// The session and the credential state in one statement, on one connection.
#[async_trait]
impl Store for SqlStore {
    async fn session_and_credentials(
        &self,
        key: &SessionKey,
        code: &UserCode,
    ) -> Result<(Option<SessionRecord>, Versioned<Credentials>), StoreError> {
        let generation = self.cache().sessions.generation();
        let read_at = Instant::now();
        let (session, state) = on!(self.pools(), read, |pool, dialect| {
            let row = sqlx::query(SESSION_AND_CREDENTIALS.get(dialect))
                .bind(key.as_bytes().as_slice())
                .bind(code.as_str())
                .fetch_one(pool)
                .await
                .map_err(failed)?;
            Ok((decode(&row, 0)?, credentials::decode(code, &row, 6)?))
        })?;
        self.cache_session(key, session.as_ref(), read_at, generation);
        // Only beside a live session of that code: forged cookies must not fill the cache.
        if session
            .as_ref()
            .is_some_and(|(record, _)| record.user_code == *code)
        {
            self.cache_credentials(code, &state, read_at);
        }
        Ok((session.map(|(record, _)| record), state))
    }
}
