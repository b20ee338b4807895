use serde::{Deserialize, Serialize};

use crate::identity::UserCode;

/// What a store keeps for one session: small on purpose (about 100 bytes in memory), no
/// profile data (that is read from the directory, so a change there is seen at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Whose session.
    #[serde(rename = "u")]
    pub user_code: UserCode,
    /// The account's credential epoch at sign-in; a different epoch now means the session died.
    #[serde(rename = "e")]
    pub epoch: u64,
    /// Sign-in time, unix seconds (for the absolute timeout).
    #[serde(rename = "c")]
    pub created_at: u64,
    /// Last recorded use, unix seconds (for the idle timeout).
    #[serde(rename = "s")]
    pub last_seen: u64,
    /// Opened with a temporary password: only choosing a password is allowed. It names that
    /// temporary password (by the hash of its cancel token), so that "this wasn't me", or a
    /// sign-in with the account's own password, can end it.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<std::sync::Arc<str>>,
}

impl SessionRecord {
    /// A normal session of `user_code`, opened at `at` (unix seconds) under `epoch`.
    pub fn new(user_code: UserCode, epoch: u64, at: u64) -> Self {
        Self {
            user_code,
            epoch,
            created_at: at,
            last_seen: at,
            restricted: None,
        }
    }
}
