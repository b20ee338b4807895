//! Opening, resolving and closing sessions: every rule about when a session is alive.

use std::sync::Arc;
use std::time::Duration;

use crate::audit::{AuditEvent, ExpiryReason};
use crate::context::Context;
use crate::error::StoreError;
use crate::identity::{Account, AccountStatus, Identity};
use crate::session::{unix_now, SessionCookie, SessionId, SessionKey, SessionRecord, SessionState};
use crate::store::Credentials;

/// Opens a new session for `account` under its current `epoch` and returns the id to send
/// in the cookie; `restricted` names the temporary password of a restricted session. A key
/// collision (never expected with 256 bits) is retried with a new id.
pub(crate) async fn open(
    ctx: &Context,
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
    let ttl = ctx.config.sessions.idle_timeout;
    for _ in 0..3 {
        let id = SessionId::generate();
        if ctx.store.create(&id.key(), &record, ttl).await? {
            return Ok(id);
        }
    }
    Err(StoreError::new(
        "could not create a session with a fresh id",
    ))
}

/// Destroys the session server-side.
pub(crate) async fn close(ctx: &Context, id: &SessionId) -> Result<(), StoreError> {
    ctx.store.destroy(&id.key()).await
}

/// Who holds this session, if it is alive, asked of stores that answer from process memory:
/// `None` when one of them cannot answer now (it will be asked by [`resolve`]), or when the
/// session ended (so [`resolve`] cleans it up and audits it). This is an authenticated
/// request's whole cost with the memory store: one SHA-256 block, three map lookups, no allocation.
pub(crate) fn resolve_now(
    ctx: &Context,
    cookie: &SessionCookie<'_>,
) -> Option<Result<SessionState, StoreError>> {
    let key = cookie.id.key();
    let record = match ctx.store.load_now(&key)? {
        Ok(Some(record)) if cookie.names(&record.user_code) => record,
        Ok(_) => return Some(Ok(SessionState::Anonymous)),
        Err(error) => return Some(Err(error)),
    };
    let code = &record.user_code;
    let account = match ctx.directory.account_now(code)? {
        Ok(Some(account)) => account,
        Ok(None) => return None,
        Err(error) => return Some(Err(error)),
    };
    let credentials = match ctx.store.credentials_now(code)? {
        Ok(credentials) => credentials.value,
        Err(error) => return Some(Err(error)),
    };
    let now = unix_now();
    let touch = judge(&ctx.config.sessions, &record, now, &account, &credentials).ok()?;
    Some(Ok(alive(ctx, key, record, account, touch, now)))
}

/// Who holds this session, if it is alive. An ended session is destroyed and audited.
///
/// The three questions (the session, the account, its credential state) are asked at once,
/// since the cookie names the user code: on a multiplexed Redis connection, or in one SQL
/// statement, they share one round trip. The session only counts if its record names the
/// cookie's user code.
pub(crate) async fn resolve(
    ctx: &Context,
    cookie: &SessionCookie<'_>,
) -> Result<SessionState, StoreError> {
    let Some(code) = cookie.user_code() else {
        return Ok(SessionState::Anonymous);
    };
    let key = cookie.id.key();
    let (session, account) = tokio::join!(
        ctx.store.session_and_credentials(&key, &code),
        ctx.directory.account(&code)
    );
    let (record, credentials) = session?;
    let Some(record) = record.filter(|r| r.user_code == code) else {
        return Ok(SessionState::Anonymous);
    };
    let account = account?;
    let now = unix_now();
    let outcome = match account {
        None => Err(ExpiryReason::AccountGone),
        Some(account) => judge(
            &ctx.config.sessions,
            &record,
            now,
            &account,
            &credentials.value,
        )
        .map(|touch| (account, touch)),
    };
    match outcome {
        Ok((account, touch)) => Ok(alive(ctx, key, record, account, touch, now)),
        Err(reason) => {
            ctx.store.destroy(&key).await?;
            ctx.audit.emit(&AuditEvent::SessionExpired {
                user_code: record.user_code,
                reason,
            });
            Ok(SessionState::Anonymous)
        }
    }
}

/// A live session: its last use is written back if due (off the request path: the request
/// already has its answer, and a lost touch only shortens the session by what the next
/// request writes back).
fn alive(
    ctx: &Context,
    key: SessionKey,
    record: SessionRecord,
    account: Arc<Account>,
    touch: Option<Duration>,
    now: u64,
) -> SessionState {
    if let Some(ttl) = touch {
        let used = SessionRecord {
            last_seen: now,
            ..record.clone()
        };
        let store = Arc::clone(&ctx.store);
        tokio::spawn(async move {
            if let Err(error) = store.touch(&key, &used, ttl).await {
                tracing::warn!(target: "guichet", %error, "could not record a session's last use");
            }
        });
    }
    match record.restricted {
        Some(temporary) => {
            SessionState::MustChoosePassword(Identity::new(account, Some(temporary)))
        }
        None => SessionState::SignedIn(Identity::new(account, None)),
    }
}

/// Whether a stored session is alive at `now` (for operators counting sessions).
pub(crate) fn is_alive(
    ctx: &Context,
    record: &SessionRecord,
    account: &Account,
    credentials: &Credentials,
    now: u64,
) -> bool {
    judge(&ctx.config.sessions, record, now, account, credentials).is_ok()
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
        if !credentials.allows_restricted(key, now) {
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
        chosen.choose(Some("older directory hash"), "chosen", None, 0);
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
        c.redeem("digest", T0, T0 + 3600, Some("directory"));
        assert_eq!(judge(&config, &r, T0, &active, &c), Ok(None));
        c.cancel("key", T0, None);
        assert_eq!(
            judge(&config, &r, T0, &active, &c),
            Err(ExpiryReason::TemporaryPasswordEnded)
        );
    }
}
