use async_trait::async_trait;

use super::scripts::SAVE_CREDENTIALS;
use super::{unavailable, RedisStore};
use crate::error::{StoreError, StoreErrorKind};
use crate::identity::UserCode;
use crate::store::{CredentialStore, Credentials, Versioned};

impl RedisStore {
    /// `P:c:<code>`: a hash with the state (`s`, JSON) and its version (`v`).
    pub(super) fn credentials_key(&self, code: &UserCode) -> String {
        self.key("c", code.as_str())
    }
}

/// A stored state and its version; nothing stored is the default state at version 0. An
/// unreadable state is an error (failing closed), never a silent reset.
pub(super) fn decode(
    code: &UserCode,
    version: Option<u64>,
    state: Option<Vec<u8>>,
) -> Result<Versioned<Credentials>, StoreError> {
    let value = match state {
        None => Credentials::default(),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::with_kind(
                StoreErrorKind::Corrupt,
                format!("redis: unreadable credential state of {code}: {e}"),
            )
        })?,
    };
    Ok(Versioned {
        value,
        version: version.unwrap_or(0),
    })
}

#[async_trait]
impl CredentialStore for RedisStore {
    async fn credentials(&self, code: &UserCode) -> Result<Versioned<Credentials>, StoreError> {
        let read = self.begin_read();
        let (version, state): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(self.credentials_key(code))
            .arg("v")
            .arg("s")
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let state = decode(code, version, state)?;
        if let Some(read) = &read {
            read.keep_credentials(code, &state);
        }
        Ok(state)
    }

    fn credentials_now(
        &self,
        code: &UserCode,
    ) -> Option<Result<Versioned<Credentials>, StoreError>> {
        Some(Ok(self.tracking.as_ref()?.credentials(code)?))
    }

    async fn save_credentials(
        &self,
        code: &UserCode,
        version: u64,
        state: &Credentials,
    ) -> Result<bool, StoreError> {
        let state = serde_json::to_vec(state).map_err(StoreError::new)?;
        let saved: Result<i64, _> = SAVE_CREDENTIALS
            .key(self.credentials_key(code))
            .arg(version)
            .arg(state)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable);
        if let Some(t) = &self.tracking {
            t.forget_credentials(code);
        }
        Ok(saved? == 1)
    }
}
