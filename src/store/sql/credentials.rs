//! Credential state (`guichet_credentials`): one versioned JSON value per account, replaced by
//! compare-and-swap in one statement.

use std::time::Instant;

use async_trait::async_trait;

use super::pool::{corrupt, failed, on, signed, unsigned, Columns, Sql};
use super::SqlStore;
use crate::error::StoreError;
use crate::identity::UserCode;
use crate::store::{CredentialStore, Credentials, Versioned};

/// The version and the state, as every read selects them (two columns).
macro_rules! credential_columns {
    () => {
        "c.version, c.state"
    };
}
pub(super) use credential_columns;

static READ: Sql = Sql::new(concat!(
    "SELECT ",
    credential_columns!(),
    " FROM guichet_credentials c WHERE c.user_code = $1"
));

/// The first save of an account: a conflict means another writer saved first.
static INSERT: Sql = Sql::new(
    "INSERT INTO guichet_credentials (user_code, version, state) VALUES ($1, 1, $2)
     ON CONFLICT (user_code) DO NOTHING",
);

/// Every later save: only over the version the writer read.
static REPLACE: Sql = Sql::new(
    "UPDATE guichet_credentials SET version = version + 1, state = $3
     WHERE user_code = $1 AND version = $2",
);

/// The state in the two [`credential_columns`] at `from`: the default state at version 0 when
/// they are `NULL`. An unreadable state is an error (failing closed), never a silent reset.
pub(super) fn decode(
    code: &UserCode,
    row: &impl Columns,
    from: usize,
) -> Result<Versioned<Credentials>, StoreError> {
    let Some(version) = row.opt_int(from)? else {
        return Ok(Versioned {
            value: Credentials::default(),
            version: 0,
        });
    };
    let value = serde_json::from_str(row.text(from + 1)?)
        .map_err(|e| corrupt(format!("unreadable credential state of {code}: {e}")))?;
    Ok(Versioned {
        value,
        version: unsigned(version, "credential version")?,
    })
}

impl SqlStore {
    /// Keeps a state read at `read_at`, unless a newer version is cached.
    pub(super) fn cache_credentials(
        &self,
        code: &UserCode,
        state: &Versioned<Credentials>,
        read_at: Instant,
    ) {
        let until = self.cache().until(read_at);
        self.cache().credentials.fill_unless_newer(
            code.clone(),
            state.clone(),
            until,
            |old, new| new.version >= old.version,
        );
    }
}

#[async_trait]
impl CredentialStore for SqlStore {
    /// Always from the database, never from the cache: this is the read a compare-and-swap
    /// starts from.
    async fn credentials(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError> {
        let read_at = Instant::now();
        let state = on!(self.pools(), read, |pool, dialect| {
            match sqlx::query(READ.get(dialect))
                .bind(code.as_str())
                .fetch_optional(pool)
                .await
                .map_err(failed)?
            {
                Some(row) => decode(code, &row, 0),
                None => Ok(Versioned {
                    value: Credentials::default(),
                    version: 0,
                }),
            }
        })?;
        self.cache_credentials(code, &state, read_at);
        Ok(state)
    }

    fn credentials_now(
        &self,
        code: &UserCode,
    ) -> Option<Result<Versioned<Credentials>, StoreError>> {
        self.cache().credentials.get(code).map(Ok)
    }

    async fn save_credentials(
        &self,
        code: &UserCode,
        version: u64,
        state: &Credentials,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(state).map_err(StoreError::new)?;
        let expected = signed(version, "credential version")?;
        let written_at = Instant::now();
        let saved = on!(self.pools(), write, |pool, dialect| {
            let done = if version == 0 {
                sqlx::query(INSERT.get(dialect))
                    .bind(code.as_str())
                    .bind(&json)
                    .execute(pool)
                    .await
            } else {
                sqlx::query(REPLACE.get(dialect))
                    .bind(code.as_str())
                    .bind(expected)
                    .bind(&json)
                    .execute(pool)
                    .await
            };
            Ok(done.map_err(failed)?.rows_affected() == 1)
        })?;
        if saved {
            // The version this write made is this state's, in every process: caching it can
            // only replace an older one.
            let saved = Versioned {
                value: state.clone(),
                version: version + 1,
            };
            self.cache_credentials(code, &saved, written_at);
        } else {
            // Another writer moved the version: whatever is cached is older than that.
            self.cache().credentials.forget(code);
        }
        Ok(saved)
    }
}
