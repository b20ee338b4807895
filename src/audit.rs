//! Security events: every sign-in, failure, throttle, sign-out and session end.
//!
//! Each event is emitted as a `tracing` event under the target `guichet::audit` (so one filter,
//! `guichet::audit=info`, routes them to a security log) and handed to every hook the
//! application registered with [`GuichetBuilder::on_audit`](crate::GuichetBuilder::on_audit).
//! Events never carry a password or a session id.

use std::net::IpAddr;
use std::sync::Arc;

use crate::identity::UserCode;

/// A security event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditEvent {
    /// A sign-in succeeded.
    SignedIn {
        /// Whose.
        user_code: UserCode,
        /// From where.
        ip: IpAddr,
    },
    /// A sign-in failed. The HTTP answer is the same whatever the reason; only this event tells.
    SignInFailed {
        /// The code as typed (normalised); it may not exist.
        user_code: UserCode,
        /// From where.
        ip: IpAddr,
        /// Why.
        reason: FailureReason,
    },
    /// A sign-in was refused by a limit before any password check.
    SignInThrottled {
        /// The code as typed (normalised).
        user_code: UserCode,
        /// From where.
        ip: IpAddr,
        /// Which limit.
        limit: ThrottleLimit,
    },
    /// A session was ended by its owner.
    SignedOut {
        /// Whose, when the session was still alive.
        user_code: Option<UserCode>,
    },
    /// A session was found dead and destroyed.
    SessionExpired {
        /// Whose.
        user_code: UserCode,
        /// Why it died.
        reason: ExpiryReason,
    },
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// No account has this user code.
    UnknownCode,
    /// The account has no password yet (it must be requested).
    NoPassword,
    /// The password does not match.
    WrongPassword,
    /// The account is disabled.
    Disabled,
}

/// Which limit refused a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleLimit {
    /// Too many failures for this user code.
    UserCode,
    /// Too many attempts from this client IP.
    ClientIp,
}

/// Why a session died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryReason {
    /// Unused for longer than the idle timeout.
    Idle,
    /// Older than the absolute timeout.
    Absolute,
    /// The credential epoch moved (password change, "sign out everywhere").
    EpochMoved,
    /// The account was disabled.
    Disabled,
    /// The account is no longer in the directory.
    AccountGone,
}

/// A function called with every audit event.
pub type AuditHook = Arc<dyn Fn(&AuditEvent) + Send + Sync>;

/// Emits audit events to tracing and to the registered hooks.
#[derive(Clone, Default)]
pub(crate) struct Audit {
    hooks: Vec<AuditHook>,
}

impl Audit {
    pub(crate) fn add(&mut self, hook: AuditHook) {
        self.hooks.push(hook);
    }

    pub(crate) fn emit(&self, event: &AuditEvent) {
        match event {
            AuditEvent::SignedIn { user_code, ip } => {
                tracing::info!(target: "guichet::audit", event = "signed_in", %user_code, %ip);
            }
            AuditEvent::SignInFailed {
                user_code,
                ip,
                reason,
            } => {
                tracing::warn!(target: "guichet::audit", event = "sign_in_failed", %user_code, %ip, ?reason);
            }
            AuditEvent::SignInThrottled {
                user_code,
                ip,
                limit,
            } => {
                tracing::warn!(target: "guichet::audit", event = "sign_in_throttled", %user_code, %ip, ?limit);
            }
            AuditEvent::SignedOut { user_code } => {
                tracing::info!(target: "guichet::audit", event = "signed_out", user_code = user_code.as_ref().map(UserCode::as_str));
            }
            AuditEvent::SessionExpired { user_code, reason } => {
                tracing::info!(target: "guichet::audit", event = "session_expired", %user_code, ?reason);
            }
        }
        for hook in &self.hooks {
            hook(event);
        }
    }
}
