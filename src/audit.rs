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
    /// Signed in with a temporary password: a restricted session, whose only door is choosing
    /// a password.
    SignedInWithTemporaryPassword {
        /// Whose.
        user_code: UserCode,
        /// From where.
        ip: IpAddr,
    },
    /// "Email me my password" was asked for this code (known or not).
    CredentialRequested {
        /// The code as typed (normalised).
        user_code: UserCode,
        /// From where.
        ip: IpAddr,
    },
    /// A credential request was refused by a limit (`429`).
    CredentialRequestThrottled {
        /// The code as typed (normalised).
        user_code: UserCode,
        /// From where.
        ip: IpAddr,
        /// Which limit.
        limit: ThrottleLimit,
    },
    /// A temporary password was sent to the account's stored address: a mail server (or the
    /// outbox folder) took the letter. Once per delivery, however many attempts failed before
    /// it. Each attempt makes a new password, so the letter delivered last holds the one that
    /// works; a letter delivered twice (its process died between sending it and marking it
    /// done) is audited twice. A letter dropped after its last failed attempt is logged at
    /// error level (target `guichet`), not audited.
    TemporaryPasswordSent {
        /// Whose.
        user_code: UserCode,
    },
    /// A credential request was answered as usual but nothing with a credential was sent.
    CredentialWithheld {
        /// The code asked for.
        user_code: UserCode,
        /// Why.
        reason: WithheldReason,
    },
    /// The "this wasn't me" link undid what a temporary password opened.
    TemporaryPasswordCancelled {
        /// Whose.
        user_code: UserCode,
        /// How far the temporary password had gone.
        cancelled: Cancellation,
    },
    /// A person chose a password (after a temporary one); every other session ended.
    PasswordChosen {
        /// Whose.
        user_code: UserCode,
    },
    /// A session was ended by its owner.
    SignedOut {
        /// Whose, when the session was still alive.
        user_code: Option<UserCode>,
    },
    /// Customer service acted on an account, a client's request or an address.
    CustomerService {
        /// Who (the operator's name, as the command line or back office gave it).
        operator: String,
        /// What, and on which account.
        action: ServiceAction,
    },
    /// A client's contact person asked for user codes for new employees.
    CodesRequested {
        /// The contact person.
        user_code: UserCode,
        /// The request's identifier.
        request: String,
        /// How many people.
        people: usize,
    },
    /// A person changed their password online (`passwords.online_change`); every other
    /// session ended.
    PasswordChanged {
        /// Whose.
        user_code: UserCode,
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
#[non_exhaustive]
pub enum FailureReason {
    /// No account has this user code.
    UnknownCode,
    /// The account has no password yet (it must be requested).
    NoPassword,
    /// The password does not match.
    WrongPassword,
    /// The account is disabled.
    Disabled,
    /// A temporary password was typed, but none is pending (never sent, expired, already used,
    /// cancelled, or voided by a moved epoch) or it does not match.
    TemporaryPasswordInvalid,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThrottleLimit {
    /// Too many failures (sign-in) or requests (credential requests) for this user code.
    UserCode,
    /// Too many attempts from this client IP.
    ClientIp,
    /// The global ceiling on credential requests, protecting the SMTP relay.
    Global,
}

/// Why a credential request sent no credential.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WithheldReason {
    /// No account has this code.
    UnknownCode,
    /// The account has no email address (customer service gives passwords verbally).
    NoEmail,
    /// The account is disabled.
    Disabled,
    /// The address is a shared inbox; `notice_sent` says whether the credential-free notice went.
    SharedInbox {
        /// The rule that found it shared.
        rule: crate::inbox::SharedInboxRule,
        /// A notice telling the person to call customer service was queued.
        notice_sent: bool,
    },
    /// The per-address limit was reached.
    EmailLimit,
    /// The delivery queue was full.
    QueueFull,
}

/// What an operator did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAction {
    /// Added an account.
    AccountAdded {
        /// Its code.
        user_code: UserCode,
    },
    /// Disabled an account.
    AccountDisabled {
        /// Its code.
        user_code: UserCode,
    },
    /// Enabled an account again.
    AccountEnabled {
        /// Its code.
        user_code: UserCode,
    },
    /// Imported an accounts file.
    AccountsImported {
        /// Accounts created.
        created: usize,
        /// Accounts changed.
        updated: usize,
    },
    /// Issued a temporary password to read out on the phone (the password is not logged).
    TemporaryPasswordIssued {
        /// Whose.
        user_code: UserCode,
    },
    /// Emailed user codes (never a password).
    UserCodesSent {
        /// Which.
        user_codes: Vec<UserCode>,
        /// To a shared inbox, with `--force`.
        forced: bool,
    },
    /// Ended every session of an account.
    SessionsRevoked {
        /// Whose.
        user_code: UserCode,
    },
    /// Cleared an account's sign-in throttle.
    ThrottleCleared {
        /// Whose.
        user_code: UserCode,
    },
    /// Marked an address as a shared inbox.
    InboxMarked {
        /// The address.
        email: String,
    },
    /// Took the mark off an address.
    InboxUnmarked {
        /// The address.
        email: String,
    },
    /// Approved a contact person's request.
    RequestApproved {
        /// The request.
        request: String,
        /// The accounts created.
        user_codes: Vec<UserCode>,
    },
    /// Rejected a contact person's request.
    RequestRejected {
        /// The request.
        request: String,
    },
}

impl ServiceAction {
    /// A stable name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            ServiceAction::AccountAdded { .. } => "account_added",
            ServiceAction::AccountDisabled { .. } => "account_disabled",
            ServiceAction::AccountEnabled { .. } => "account_enabled",
            ServiceAction::AccountsImported { .. } => "accounts_imported",
            ServiceAction::TemporaryPasswordIssued { .. } => "temporary_password_issued",
            ServiceAction::UserCodesSent { .. } => "user_codes_sent",
            ServiceAction::SessionsRevoked { .. } => "sessions_revoked",
            ServiceAction::ThrottleCleared { .. } => "throttle_cleared",
            ServiceAction::InboxMarked { .. } => "inbox_marked",
            ServiceAction::InboxUnmarked { .. } => "inbox_unmarked",
            ServiceAction::RequestApproved { .. } => "request_approved",
            ServiceAction::RequestRejected { .. } => "request_rejected",
        }
    }
}

/// What "this wasn't me" undid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cancellation {
    /// The temporary password was waiting: it no longer works.
    Pending,
    /// It had been used to sign in: the restricted sessions it opened are ended.
    Used,
    /// A password had been chosen with it: that password is gone, the one before it is back,
    /// and every session of the account is ended.
    Undone,
}

impl Cancellation {
    /// The stable name in JSON answers and logs.
    pub fn name(self) -> &'static str {
        match self {
            Cancellation::Pending => "pending",
            Cancellation::Used => "used",
            Cancellation::Undone => "undone",
        }
    }
}

/// Why a session died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// An operator gave the account a new password in the directory since the one this
    /// session was opened with.
    PasswordReplaced,
    /// A restricted session whose temporary password was cancelled ("this wasn't me"),
    /// replaced by a newer one, or made useless by a sign-in with the account's own password.
    TemporaryPasswordEnded,
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
        crate::metrics::audited(event);
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
            AuditEvent::SignedInWithTemporaryPassword { user_code, ip } => {
                tracing::info!(target: "guichet::audit", event = "signed_in_with_temporary_password", %user_code, %ip);
            }
            AuditEvent::CredentialRequested { user_code, ip } => {
                tracing::info!(target: "guichet::audit", event = "credential_requested", %user_code, %ip);
            }
            AuditEvent::CredentialRequestThrottled {
                user_code,
                ip,
                limit,
            } => {
                tracing::warn!(target: "guichet::audit", event = "credential_request_throttled", %user_code, %ip, ?limit);
            }
            AuditEvent::TemporaryPasswordSent { user_code } => {
                tracing::info!(target: "guichet::audit", event = "temporary_password_sent", %user_code);
            }
            AuditEvent::CredentialWithheld { user_code, reason } => {
                tracing::warn!(target: "guichet::audit", event = "credential_withheld", %user_code, ?reason);
            }
            AuditEvent::TemporaryPasswordCancelled {
                user_code,
                cancelled,
            } => {
                tracing::warn!(target: "guichet::audit", event = "temporary_password_cancelled", %user_code, cancelled = cancelled.name());
            }
            AuditEvent::PasswordChosen { user_code } => {
                tracing::info!(target: "guichet::audit", event = "password_chosen", %user_code);
            }
            AuditEvent::SignedOut { user_code } => {
                tracing::info!(target: "guichet::audit", event = "signed_out", user_code = user_code.as_ref().map(UserCode::as_str));
            }
            AuditEvent::CustomerService { operator, action } => {
                tracing::info!(target: "guichet::audit", event = "customer_service", %operator, action = action.name(), detail = ?action);
            }
            AuditEvent::CodesRequested {
                user_code,
                request,
                people,
            } => {
                tracing::info!(target: "guichet::audit", event = "codes_requested", %user_code, %request, people);
            }
            AuditEvent::PasswordChanged { user_code } => {
                tracing::info!(target: "guichet::audit", event = "password_changed", %user_code);
            }
            AuditEvent::SessionExpired { user_code, reason } => {
                tracing::info!(target: "guichet::audit", event = "session_expired", %user_code, ?reason);
            }
        }
        // An application's hook that panics is its own failure: it must not break the
        // sign-in, sign-out or delivery that emitted the event (a letter already sent would
        // otherwise never be marked done, and be sent again at every lease).
        for hook in &self.hooks {
            let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(event)));
            if called.is_err() {
                tracing::error!(target: "guichet", "an audit hook panicked; guichet carried on");
            }
        }
    }
}
