//! The postman: takes due letters from the [`MailQueue`](crate::store::MailQueue), has them
//! written, hands them to the [`Mailer`](super::Mailer), and reschedules what failed.
//!
//! Each claimed letter is leased: if this process dies before it is delivered or rescheduled,
//! the lease runs out and another process (sharing a durable queue) delivers it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::Message;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::store::{Claimed, MailQueue};

use super::{Letter, MailError, Mailer};

/// Deliveries in flight at once, per process.
const CONCURRENCY: usize = 4;
/// How long a claimed letter stays reserved for this process.
const LEASE: Duration = Duration::from_secs(120);
/// How long writing a letter, and then sending it, may each take: together well within
/// [`LEASE`]. Longer counts as a failed attempt.
const ATTEMPT: Duration = Duration::from_secs(45);
/// How often an idle postman looks for due letters (a push in this process wakes it at once).
const POLL: Duration = Duration::from_millis(500);
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a letter says, written at delivery: `Ok(None)` when there is nothing to send any more
/// (the account changed meanwhile), `Err` for a failure worth retrying. `None` from the outer
/// call means the guichet the postman works for is gone.
pub(crate) type Writer = Arc<
    dyn Fn(Letter) -> Option<Pin<Box<dyn Future<Output = Result<Option<Outgoing>, String>> + Send>>>
        + Send
        + Sync,
>;

/// A written letter: its message, and what to do once the mail server has taken it (and only
/// then: an attempt that fails is not a letter sent).
pub(crate) struct Outgoing {
    pub(crate) message: Message,
    pub(crate) once_sent: Option<Box<dyn FnOnce() + Send>>,
}

/// What the postman needs.
pub(crate) struct Round {
    pub(crate) queue: Arc<dyn MailQueue>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) writer: Writer,
    pub(crate) max_attempts: u32,
}

/// Runs the delivery loop of one process.
pub(crate) struct Postman {
    round: Mutex<Option<Round>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stopping: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Postman {
    pub(crate) fn new(round: Round) -> Self {
        Self {
            round: Mutex::new(Some(round)),
            worker: Mutex::new(None),
            stopping: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Starts the loop on the current runtime, once; nothing without a runtime.
    pub(crate) fn ensure_started(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let Some(round) = self.round.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        let worker = tokio::spawn(run(
            round,
            Arc::clone(&self.stopping),
            Arc::clone(&self.wake),
        ));
        if let Ok(mut slot) = self.worker.lock() {
            *slot = Some(worker);
        }
    }

    /// A letter was queued here: look now rather than at the next poll.
    pub(crate) fn wake(&self) {
        self.ensure_started();
        self.wake.notify_one();
    }

    /// Stops once nothing is due, waiting at most `deadline`.
    pub(crate) async fn stop(&self, deadline: Duration) -> bool {
        self.stopping.store(true, Ordering::Release);
        self.wake.notify_one();
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        let Some(worker) = worker else {
            return true;
        };
        tokio::time::timeout(deadline, worker).await.is_ok()
    }
}

async fn run(round: Round, stopping: Arc<AtomicBool>, wake: Arc<Notify>) {
    let round = Arc::new(round);
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_flight = JoinSet::new();
    loop {
        while let Some(done) = in_flight.try_join_next() {
            if let Err(error) = done {
                tracing::error!(target: "guichet", %error, "a delivery stopped short; its lease hands the letter out again");
            }
        }
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        match round.queue.claim(LEASE).await {
            Ok(Some(claimed)) => {
                let (round, stopping) = (Arc::clone(&round), Arc::clone(&stopping));
                in_flight.spawn(async move {
                    deliver(&round, claimed, &stopping).await;
                    drop(permit);
                });
                continue;
            }
            Ok(None) => {
                if let Ok(waiting) = round.queue.waiting().await {
                    crate::metrics::letter_queue_depth(waiting);
                }
            }
            Err(error) => {
                crate::metrics::store_error("mail_queue", &error);
                tracing::warn!(target: "guichet", %error, "mail queue unavailable; will retry")
            }
        }
        drop(permit);
        if stopping.load(Ordering::Acquire) {
            break;
        }
        let _ = tokio::time::timeout(POLL, wake.notified()).await;
    }
    while in_flight.join_next().await.is_some() {}
}

async fn deliver(round: &Round, claimed: Claimed, stopping: &AtomicBool) {
    let letter = &claimed.letter;
    let label = format!("{:?} for {}", letter.kind, letter.user_code);
    let Some(written) = (round.writer)(letter.clone()) else {
        // The guichet is gone: stop; the lease hands the letter to another process.
        stopping.store(true, Ordering::Release);
        return;
    };
    // Bounded well within the lease: a delivery still running when the lease ends would be
    // claimed again and sent twice.
    let writing = tokio::time::timeout(ATTEMPT, written);
    let outcome = match writing.await.unwrap_or_else(|_| Err(too_long())) {
        Ok(Some(outgoing)) => {
            let sent = tokio::time::timeout(ATTEMPT, round.mailer.send(&outgoing.message))
                .await
                .unwrap_or_else(|_| Err(MailError::Transient(too_long())));
            if let (Ok(()), Some(once_sent)) = (&sent, outgoing.once_sent) {
                once_sent();
            }
            sent
        }
        Ok(None) => Ok(()),
        Err(error) => Err(MailError::Transient(error)),
    };
    let attempt = claimed.attempts + 1;
    let result = match outcome {
        Ok(()) => {
            crate::metrics::letter("sent");
            tracing::info!(target: "guichet", %label, attempt, "email delivered");
            round.queue.complete(&claimed.id).await
        }
        Err(MailError::Permanent(error)) => {
            crate::metrics::letter("dropped");
            tracing::error!(target: "guichet", %label, %error, "email refused for good; dropped");
            round.queue.complete(&claimed.id).await
        }
        Err(MailError::Transient(error)) if attempt >= round.max_attempts => {
            crate::metrics::letter("dropped");
            tracing::error!(target: "guichet", %label, attempt, %error, "email delivery failed too many times; dropped");
            round.queue.complete(&claimed.id).await
        }
        Err(MailError::Transient(error)) => {
            let backoff = backoff(attempt);
            crate::metrics::letter("failed");
            tracing::warn!(target: "guichet", %label, attempt, %error, retry_in = ?backoff, "email delivery failed; will retry");
            round.queue.retry(&claimed.id, backoff).await
        }
    };
    if let Err(error) = result {
        crate::metrics::store_error("mail_queue", &error);
        tracing::warn!(target: "guichet", %label, %error, "mail queue unavailable; the lease will hand the letter out again");
    }
}

fn too_long() -> String {
    format!("took longer than {} s", ATTEMPT.as_secs())
}

/// 1 s, 2 s, 4 s, ... up to 5 minutes.
fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(30), Duration::from_secs(300));
    }
}
