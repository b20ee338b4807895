//! Opening, resolving and closing sessions: every rule about when a session is alive.

use std::time::Duration;

use crate::audit::{AuditEvent, ExpiryReason};
use crate::desk::Desk;
use crate::error::StoreError;
use crate::identity::{Account, AccountStatus, Identity};
use crate::session::{unix_now, SessionCookie, SessionId, SessionRecord, SessionState};
use crate::store::Credentials;

/// Opens a new session for `account` under its current `epoch` and returns the id to send
/// in the cookie; `restricted` names the temporary password of a restricted session. A key
/// collision (never expected with 256 bits) is retried with a new id.
pub(crate) async fn open(
    desk: &Desk,
    account: &Account,
    epoch: u64,
    restricted: Option<std::sync::Arc<str>>,
) -> Result<SessionId, StoreError> {
    let now = unix_now();
    let record = SessionRecord {
        user_code: account.code.clone(),
        epoch,
        created_at: now,
        last_seen: now,
        restricted,
    };
    let ttl = desk.config.sessions.idle_timeout;
    for _ in 0..3 {
        let id = SessionId::generate();
        if desk.sessions.create(&id.key(), &record, ttl).await? {
            return Ok(id);
        }
    }
    Err(StoreError::new(
        "could not create a session with a fresh id",
    ))
}

/// Destroys the session server-side.
pub(crate) async fn close(desk: &Desk, id: &SessionId) -> Result<(), StoreError> {
    desk.sessions.destroy(&id.key()).await
}

/// Who holds this session, if it is alive. A dead session is destroyed and audited.
///
/// The three questions (the session, the account, its credential state) are asked at once,
/// since the cookie names the user code: on a multiplexed Redis connection they share one
/// round trip. The session only counts if its record names the cookie's user code.
pub(crate) async fn resolve(
    desk: &Desk,
    cookie: &SessionCookie,
) -> Result<SessionState, StoreError> {
    let key = cookie.id.key();
    let code = &cookie.user_code;
    let (record, account, credentials) = tokio::join!(
        desk.sessions.load(&key),
        desk.directory.account(code),
        desk.credentials.load(code)
    );
    let Some(record) = record?.filter(|r| r.user_code == *code) else {
        return Ok(SessionState::Anonymous);
    };
    let (account, credentials) = (account?, credentials?.value);
    let now = unix_now();
    let outcome = match account {
        None => Err(ExpiryReason::AccountGone),
        Some(account) => judge(&desk.config.sessions, &record, now, &account, &credentials)
            .map(|touch| (account, touch)),
    };
    match outcome {
        Ok((account, touch)) => {
            if let Some(ttl) = touch {
                let used = SessionRecord {
                    last_seen: now,
                    ..record.clone()
                };
                // Off the request path: the request already has its answer, and a lost touch
                // only shortens the session by what the next request writes back.
                let sessions = std::sync::Arc::clone(&desk.sessions);
                tokio::spawn(async move {
                    if let Err(error) = sessions.touch(&key, &used, ttl).await {
                        tracing::warn!(target: "guichet", %error, "could not record a session's last use");
                    }
                });
            }
            let restricted = record.restricted.is_some();
            let identity = Identity::new(account, record.restricted);
            Ok(if restricted {
                SessionState::MustChoosePassword(identity)
            } else {
                SessionState::SignedIn(identity)
            })
        }
        Err(reason) => {
            desk.sessions.destroy(&key).await?;
            desk.audit.emit(&AuditEvent::SessionExpired {
                user_code: record.user_code,
                reason,
            });
            Ok(SessionState::Anonymous)
        }
    }
}

/// Whether a stored session is still alive at `now`: `Ok(Some(ttl))` when it is and its last
/// use should be written back (with that new lifetime), `Ok(None)` when it is and nothing needs
/// writing, `Err` with the reason when it is dead.
fn judge(
    config: &crate::config::SessionConfig,
    record: &SessionRecord,
    now: u64,
    account: &Account,
    credentials: &Credentials,
) -> Result<Option<Duration>, ExpiryReason> {
    if account.status == AccountStatus::Disabled || credentials.is_disabled() {
        return Err(ExpiryReason::Disabled);
    }
    if record.epoch != credentials.epoch() {
        return Err(ExpiryReason::EpochMoved);
    }
    if credentials.is_superseded(account.password_hash.as_deref()) {
        return Err(ExpiryReason::PasswordReplaced);
    }
    if let Some(key) = &record.restricted {
        if !credentials.allows_restricted(key) {
            return Err(ExpiryReason::TemporaryPasswordEnded);
        }
    }
    let age = now.saturating_sub(record.created_at);
    let idle = now.saturating_sub(record.last_seen);
    let absolute = config.absolute_timeout.as_secs();
    if age >= absolute {
        return Err(ExpiryReason::Absolute);
    }
    if idle >= config.idle_timeout.as_secs() {
        return Err(ExpiryReason::Idle);
    }
    if idle >= config.touch_after().as_secs() {
        let remaining = Duration::from_secs(absolute - age);
        return Ok(Some(config.idle_timeout.min(remaining)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionConfig;
    use crate::identity::{CasePolicy, UserCode};

    fn record(created_at: u64, last_seen: u64) -> SessionRecord {
        SessionRecord {
            user_code: UserCode::parse("ACME-001", CasePolicy::Insensitive).unwrap(),
            epoch: 3,
            created_at,
            last_seen,
            restricted: None,
        }
    }

    fn account(status: AccountStatus) -> Account {
        Account {
            code: UserCode::parse("ACME-001", CasePolicy::Insensitive).unwrap(),
            name: "Marie".into(),
            email: None,
            client: "acme".into(),
            services: Vec::new(),
            password_hash: Some("directory".into()),
            status,
            shared_inbox: false,
        }
    }

    fn credentials(epoch: u64) -> Credentials {
        Credentials {
            epoch,
            ..Credentials::default()
        }
    }

    const T0: u64 = 1_800_000_000;

    fn at(r: &SessionRecord, now: u64) -> Result<Option<Duration>, ExpiryReason> {
        let active = account(AccountStatus::Active);
        judge(&SessionConfig::default(), r, now, &active, &credentials(3))
    }

    #[test]
    fn a_fresh_session_lives_without_any_write() {
        assert_eq!(at(&record(T0, T0), T0 + 60), Ok(None));
    }

    #[test]
    fn use_after_a_quarter_of_the_idle_timeout_is_written_back() {
        assert_eq!(
            at(&record(T0, T0), T0 + 8 * 60),
            Ok(Some(Duration::from_secs(1800)))
        );
    }

    #[test]
    fn thirty_minutes_idle_ends_the_session() {
        assert_eq!(at(&record(T0, T0), T0 + 30 * 60), Err(ExpiryReason::Idle));
    }

    #[test]
    fn twelve_hours_after_sign_in_the_session_ends_even_if_used() {
        let r = record(T0, T0 + 12 * 3600 - 10);
        assert_eq!(at(&r, T0 + 12 * 3600), Err(ExpiryReason::Absolute));
        // Near the end, a touch never extends past the absolute limit.
        let r = record(T0, T0 + 11 * 3600 + 1800);
        assert_eq!(
            at(&r, T0 + 11 * 3600 + 3000),
            Ok(Some(Duration::from_secs(600)))
        );
    }

    #[test]
    fn a_moved_epoch_or_a_disabled_account_ends_the_session() {
        let r = record(T0, T0);
        let config = SessionConfig::default();
        let active = account(AccountStatus::Active);
        assert_eq!(
            judge(&config, &r, T0, &active, &credentials(4)),
            Err(ExpiryReason::EpochMoved)
        );
        let mut disabled = credentials(3);
        disabled.disabled = true;
        assert_eq!(
            judge(&config, &r, T0, &active, &disabled),
            Err(ExpiryReason::Disabled)
        );
        assert_eq!(
            judge(
                &config,
                &r,
                T0,
                &account(AccountStatus::Disabled),
                &credentials(3)
            ),
            Err(ExpiryReason::Disabled)
        );
    }

    #[test]
    fn a_new_password_from_the_directory_ends_sessions_under_a_chosen_one() {
        let r = record(T0, T0);
        let config = SessionConfig::default();
        let mut chosen = credentials(2);
        chosen.choose(Some("older directory hash"), "chosen", None);
        assert_eq!(chosen.epoch(), 3);
        assert_eq!(
            judge(&config, &r, T0, &account(AccountStatus::Active), &chosen),
            Err(ExpiryReason::PasswordReplaced)
        );
    }

    #[test]
    fn a_restricted_session_lives_only_while_its_temporary_password_is_in_use() {
        let mut r = record(T0, T0);
        r.restricted = Some("key".into());
        let config = SessionConfig::default();
        let active = account(AccountStatus::Active);
        let mut c = credentials(3);
        c.issue_temporary("digest", T0 + 3600, "key");
        c.redeem("digest", T0);
        assert_eq!(judge(&config, &r, T0, &active, &c), Ok(None));
        c.cancel("key", T0);
        assert_eq!(
            judge(&config, &r, T0, &active, &c),
            Err(ExpiryReason::TemporaryPasswordEnded)
        );
    }
}
