//! The postman: takes due letters from the [`MailQueue`](crate::store::MailQueue), renders
//! them, hands them to the [`Mailer`](super::Mailer), and reschedules what failed.
//!
//! Each claimed letter is leased: if this process dies before it is delivered or rescheduled,
//! the lease runs out and another process (sharing a Redis queue) delivers it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, Semaphore};
use tokio::task::JoinSet;

use crate::credential;
use crate::desk::Desk;
use crate::store::Claimed;

use super::MailError;

/// Deliveries in flight at once, per process.
const CONCURRENCY: usize = 4;
/// How long a claimed letter stays reserved for this process.
const LEASE: Duration = Duration::from_secs(120);
/// How often an idle postman looks for due letters (a push in this process wakes it at once).
const POLL: Duration = Duration::from_millis(500);
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Runs the delivery loop of one process.
#[derive(Default)]
pub(crate) struct Postman {
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    started: AtomicBool,
    stopping: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Postman {
    /// Starts the loop on the current runtime, once.
    pub(crate) fn ensure_started(&self, desk: &Arc<Desk>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let worker = tokio::spawn(run(
            Arc::downgrade(desk),
            Arc::clone(&self.stopping),
            Arc::clone(&self.wake),
        ));
        if let Ok(mut slot) = self.worker.try_lock() {
            *slot = Some(worker);
        }
    }

    /// A letter was queued here: look now rather than at the next poll.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops once nothing is due, waiting at most `deadline`.
    pub(crate) async fn stop(&self, deadline: Duration) -> bool {
        self.stopping.store(true, Ordering::Release);
        self.wake.notify_one();
        let Some(worker) = self.worker.lock().await.take() else {
            return true;
        };
        tokio::time::timeout(deadline, worker).await.is_ok()
    }
}

async fn run(desk: Weak<Desk>, stopping: Arc<AtomicBool>, wake: Arc<Notify>) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.try_join_next().is_some() {}
        let Some(strong) = desk.upgrade() else {
            break;
        };
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        match strong.mail_queue.claim(LEASE).await {
            Ok(Some(claimed)) => {
                in_flight.spawn(async move {
                    deliver(&strong, claimed).await;
                    drop(permit);
                });
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(target: "guichet", %error, "mail queue unavailable; will retry")
            }
        }
        drop((permit, strong));
        if stopping.load(Ordering::Acquire) {
            break;
        }
        let _ = tokio::time::timeout(POLL, wake.notified()).await;
    }
    while in_flight.join_next().await.is_some() {}
}

async fn deliver(desk: &Desk, claimed: Claimed) {
    let letter = &claimed.letter;
    let label = format!("{:?} for {}", letter.kind, letter.user_code);
    let outcome = match credential::render(desk, letter).await {
        Ok(Some(message)) => desk.mailer.send(&message).await,
        Ok(None) => Ok(()), // nothing to send any more (the account changed meanwhile)
        Err(error) => Err(MailError::Transient(error.to_string())),
    };
    let attempt = claimed.attempts + 1;
    let result = match outcome {
        Ok(()) => {
            tracing::info!(target: "guichet", %label, attempt, "email delivered");
            desk.mail_queue.complete(&claimed.id).await
        }
        Err(MailError::Permanent(error)) => {
            tracing::error!(target: "guichet", %label, %error, "email refused for good; dropped");
            desk.mail_queue.complete(&claimed.id).await
        }
        Err(MailError::Transient(error)) if attempt >= desk.config.mail.max_attempts => {
            tracing::error!(target: "guichet", %label, attempt, %error, "email delivery failed too many times; dropped");
            desk.mail_queue.complete(&claimed.id).await
        }
        Err(MailError::Transient(error)) => {
            let backoff = backoff(attempt);
            tracing::warn!(target: "guichet", %label, attempt, %error, retry_in = ?backoff, "email delivery failed; will retry");
            desk.mail_queue.retry(&claimed.id, backoff).await
        }
    };
    if let Err(error) = result {
        tracing::warn!(target: "guichet", %label, %error, "mail queue unavailable; the lease will hand the letter out again");
    }
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
