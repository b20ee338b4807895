//! What guichet counts, through the [`metrics`](https://docs.rs/metrics) facade: nothing is
//! exported by the library itself; install a recorder (the `guichet` binary and the portal
//! example install a Prometheus one when `GUICHET_METRICS_ADDR` is set) **before** building
//! the [`Guichet`](crate::Guichet), which takes its handles for the hot paths then.
//!
//! | name | type | labels | what |
//! | --- | --- | --- | --- |
//! | `guichet_sign_ins_total` | counter | `outcome`: `signed_in`, `temporary` (a temporary password opened a restricted session), `failed`, `throttled` | sign-in attempts |
//! | `guichet_limited_total` | counter | `limit`: `sign-in-ip`, `sign-in-code`, `temporary-code`, `request-ip`, `request-code`, `request-email`, `request-all`, `cancel-ip`, `team-contact` | requests refused by a limit or throttle (`429`) |
//! | `guichet_credential_requests_total` | counter | `outcome`: `sent` (counted when a mail server took the letter), `withheld`, `limited`; `reason` (withheld only): `unknown_code`, `no_email`, `disabled`, `shared_inbox`, `email_limit`, `queue_full` | "email me my password" requests |
//! | `guichet_letters_total` | counter | `event`: `queued`, `sent`, `failed` (an attempt failed; it is retried), `dropped` (refused for good or out of attempts) | letters |
//! | `guichet_letter_queue_depth` | gauge | | letters waiting in the durable queue (read at each postman round) |
//! | `guichet_hashing_queue_depth` | gauge | | argon2 jobs waiting for a hashing thread |
//! | `guichet_hashing_wait_seconds` | histogram | | how long an argon2 job waited for a thread |
//! | `guichet_store_errors_total` | counter | `store`: `sessions`, `limits`, `mail_queue`, `accounts` (directory, credentials, requests) | store failures guichet answered with `503` or a retry |
//! | `guichet_request_duration_seconds` | histogram | `route`: `guard`, `verify`, `login`, `logout`, `password`, `password_set`, `password_change`, `password_cancel`, `team`, `asset`, `other` | time guichet spent on a request: a flow's whole answer; a guard's decision (not the route behind it) |
//!
//! A sign-in flood shows as `guichet_sign_ins_total{outcome="failed"}` and
//! `guichet_limited_total{limit="sign-in-ip"}` rising together; a stuck SMTP relay as
//! `guichet_letter_queue_depth` growing with `guichet_letters_total{event="failed"}`.

use std::time::Instant;

use ::metrics::{counter, gauge, histogram, Histogram};

use crate::audit::{AuditEvent, WithheldReason};
use crate::error::StoreError;
use crate::limit::Limit;

/// The name of the request latency histogram.
const DURATION: &str = "guichet_request_duration_seconds";

/// The handles a request's hot path records into, taken once when the guichet is built (so a
/// guarded request pays no registry lookup).
pub(crate) struct Meters {
    guard: Histogram,
    verify: Histogram,
}

impl Meters {
    pub(crate) fn new() -> Self {
        Self {
            guard: histogram!(DURATION, "route" => "guard"),
            verify: histogram!(DURATION, "route" => "verify"),
        }
    }

    /// A guard decided, `since` it was called.
    pub(crate) fn guard(&self, since: Instant) {
        self.guard.record(since.elapsed());
    }

    /// A flow answered, `since` it was called.
    pub(crate) fn flow(&self, route: &'static str, since: Instant) {
        match route {
            "verify" => self.verify.record(since.elapsed()),
            _ => histogram!(DURATION, "route" => route).record(since.elapsed()),
        }
    }
}

/// Counts what an audit event says about sign-ins and credential requests.
pub(crate) fn audited(event: &AuditEvent) {
    let sign_in = |outcome: &'static str| {
        counter!("guichet_sign_ins_total", "outcome" => outcome).increment(1)
    };
    let request = |outcome: &'static str| {
        counter!("guichet_credential_requests_total", "outcome" => outcome).increment(1)
    };
    match event {
        AuditEvent::SignedIn { .. } => sign_in("signed_in"),
        AuditEvent::SignedInWithTemporaryPassword { .. } => sign_in("temporary"),
        AuditEvent::SignInFailed { .. } => sign_in("failed"),
        AuditEvent::SignInThrottled { .. } => sign_in("throttled"),
        AuditEvent::TemporaryPasswordSent { .. } => request("sent"),
        AuditEvent::CredentialRequestThrottled { .. } => request("limited"),
        AuditEvent::CredentialWithheld { reason, .. } => {
            counter!(
                "guichet_credential_requests_total",
                "outcome" => "withheld",
                "reason" => withheld(reason)
            )
            .increment(1);
        }
        _ => {}
    }
}

fn withheld(reason: &WithheldReason) -> &'static str {
    match reason {
        WithheldReason::UnknownCode => "unknown_code",
        WithheldReason::NoEmail => "no_email",
        WithheldReason::Disabled => "disabled",
        WithheldReason::SharedInbox { .. } => "shared_inbox",
        WithheldReason::EmailLimit => "email_limit",
        WithheldReason::QueueFull => "queue_full",
    }
}

/// A request refused by `limit`.
pub(crate) fn limited(limit: Limit) {
    counter!("guichet_limited_total", "limit" => limit.name()).increment(1);
}

/// A store failure guichet answered (with `503`, a retry, or a log).
pub(crate) fn store_error(store: &'static str, _error: &StoreError) {
    counter!("guichet_store_errors_total", "store" => store).increment(1);
}

/// A letter `event`: `queued`, `sent`, `failed`, `dropped`.
pub(crate) fn letter(event: &'static str) {
    counter!("guichet_letters_total", "event" => event).increment(1);
}

/// Letters waiting in the durable queue.
pub(crate) fn letter_queue_depth(waiting: usize) {
    gauge!("guichet_letter_queue_depth").set(waiting as f64);
}

/// The hashing threads' queue: its depth gauge and wait histogram, held by the hasher.
#[derive(Clone)]
pub(crate) struct HashingMeters {
    depth: ::metrics::Gauge,
    wait: Histogram,
}

impl HashingMeters {
    pub(crate) fn new() -> Self {
        Self {
            depth: gauge!("guichet_hashing_queue_depth"),
            wait: histogram!("guichet_hashing_wait_seconds"),
        }
    }

    /// A job joined the queue.
    pub(crate) fn queued(&self) {
        self.depth.increment(1.0);
    }

    /// A job was refused by the full queue: it never waited.
    pub(crate) fn refused(&self) {
        self.depth.decrement(1.0);
    }

    /// A job left the queue for a thread, `since` it joined.
    pub(crate) fn started(&self, since: Instant) {
        self.depth.decrement(1.0);
        self.wait.record(since.elapsed());
    }
}
