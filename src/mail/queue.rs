use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use tokio::sync::{mpsc, Mutex, Semaphore};
use tokio::task::JoinSet;

use super::{MailError, Mailer};

/// Deliveries in flight at once.
const CONCURRENCY: usize = 4;
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The queue refused a message because it is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the delivery queue is full")]
pub struct QueueFull;

struct Job {
    message: Message,
    /// What the message is, for logs (never its body).
    label: String,
}

/// A bounded queue of messages and the task that delivers them, with retries and backoff.
///
/// Each message is retried on its own, so one failing recipient does not hold up the others.
/// The delivery task starts with the first message, on the runtime that enqueues it, so a
/// queue can be made before any runtime exists.
#[derive(Clone)]
pub struct DeliveryQueue {
    inner: Arc<Inner>,
}

/// What the delivery task needs, until the first message starts it.
type Idle = (mpsc::Receiver<Job>, Arc<dyn Mailer>);

struct Inner {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    idle: std::sync::Mutex<Option<Idle>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    max_attempts: u32,
}

impl DeliveryQueue {
    /// A queue of at most `capacity` messages, each tried at most `max_attempts` times.
    pub fn new(mailer: Arc<dyn Mailer>, capacity: usize, max_attempts: u32) -> Self {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        Self {
            inner: Arc::new(Inner {
                sender: Mutex::new(Some(sender)),
                idle: std::sync::Mutex::new(Some((receiver, mailer))),
                worker: Mutex::new(None),
                max_attempts: max_attempts.max(1),
            }),
        }
    }

    /// Accepts a message for delivery. `label` says what it is in logs (never the body).
    pub async fn enqueue(&self, message: Message, label: String) -> Result<(), QueueFull> {
        let sender = self.inner.sender.lock().await.clone().ok_or(QueueFull)?;
        self.start_worker().await;
        sender
            .try_send(Job { message, label })
            .map_err(|_| QueueFull)
    }

    async fn start_worker(&self) {
        let idle = self.inner.idle.lock().ok().and_then(|mut idle| idle.take());
        if let Some((receiver, mailer)) = idle {
            let worker = tokio::spawn(deliver_all(mailer, receiver, self.inner.max_attempts));
            *self.inner.worker.lock().await = Some(worker);
        }
    }

    /// Stops accepting messages and waits, at most `deadline`, for every accepted one to be
    /// delivered or given up. Returns whether the queue drained in time.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        self.inner.sender.lock().await.take();
        let Some(worker) = self.inner.worker.lock().await.take() else {
            return true;
        };
        tokio::time::timeout(deadline, worker).await.is_ok()
    }
}

impl std::fmt::Debug for DeliveryQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryQueue").finish_non_exhaustive()
    }
}

async fn deliver_all(
    mailer: Arc<dyn Mailer>,
    mut receiver: mpsc::Receiver<Job>,
    max_attempts: u32,
) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_flight = JoinSet::new();
    while let Some(job) = receiver.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let mailer = Arc::clone(&mailer);
        in_flight.spawn(async move {
            deliver(&*mailer, job, max_attempts).await;
            drop(permit);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

async fn deliver(mailer: &dyn Mailer, job: Job, max_attempts: u32) {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=max_attempts {
        match mailer.send(&job.message).await {
            Ok(()) => {
                tracing::info!(target: "guichet", label = %job.label, attempt, "email delivered");
                return;
            }
            Err(MailError::Permanent(error)) => {
                tracing::error!(target: "guichet", label = %job.label, %error, "email refused for good; dropped");
                return;
            }
            Err(MailError::Transient(error)) if attempt < max_attempts => {
                tracing::warn!(target: "guichet", label = %job.label, attempt, %error, retry_in = ?backoff, "email delivery failed; will retry");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(MailError::Transient(error)) => {
                tracing::error!(target: "guichet", label = %job.label, attempt, %error, "email delivery failed too many times; dropped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Fails transiently `failures` times, then accepts.
    struct Flaky {
        failures: AtomicU32,
        delivered: AtomicU32,
    }

    #[async_trait::async_trait]
    impl Mailer for Flaky {
        async fn send(&self, _: &Message) -> Result<(), MailError> {
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(MailError::Transient("421 try later".into()));
            }
            self.delivered.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn message() -> Message {
        Message::builder()
            .from("a@example.com".parse().unwrap())
            .to("b@example.com".parse().unwrap())
            .body(String::from("hello"))
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_and_shutdown_drains() {
        let mailer = Arc::new(Flaky {
            failures: AtomicU32::new(3),
            delivered: AtomicU32::new(0),
        });
        let queue = DeliveryQueue::new(mailer.clone(), 8, 10);
        queue.enqueue(message(), "test".into()).await.unwrap();
        queue.enqueue(message(), "test".into()).await.unwrap();
        assert!(queue.shutdown(Duration::from_secs(3600)).await);
        assert_eq!(mailer.delivered.load(Ordering::SeqCst), 2);
        assert_eq!(
            queue.enqueue(message(), "late".into()).await,
            Err(QueueFull)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_instead_of_growing() {
        let mailer = Arc::new(Flaky {
            failures: AtomicU32::new(u32::MAX),
            delivered: AtomicU32::new(0),
        });
        let queue = DeliveryQueue::new(mailer, 1, 2);
        let mut refused = 0;
        for _ in 0..(CONCURRENCY + 4) {
            if queue.enqueue(message(), "x".into()).await.is_err() {
                refused += 1;
            }
            tokio::task::yield_now().await;
        }
        assert!(refused > 0);
    }
}
