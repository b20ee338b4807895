//! Passwords: argon2id hashing and verification, off the async runtime and bounded.
//!
//! * **Off the runtime.** Every hash runs on one of [`PasswordConfig::threads`] dedicated
//!   hashing threads, below normal priority (nice 10): a sign-in flood queues for them instead
//!   of starving the worker threads that serve every other request, and when both want the
//!   same core, the runtime wins.
//! * **Bounded memory.** Each thread reuses one argon2 memory block (19 MiB at OWASP settings)
//!   from a pool, through `hash_password_into_with_memory`. Allocating a fresh block per hash
//!   lets the allocator keep every block it ever handed out, and a flood then costs gigabytes.
//! * **Bounded queue.** At most `queue_per_thread` sign-ins wait per thread; the next one is told
//!   to come back (`503` + `Retry-After`) at once.
//! * **Same time.** Unknown user codes and accounts without a password are verified against a
//!   dummy hash with the current parameters, so they cost exactly what a wrong password costs.
//! * **As typed.** A password is NFKC-normalised (NIST SP 800-63B) and never trimmed; it is
//!   refused above `max_bytes` before any Unicode or hashing work.

pub(crate) mod temporary;

use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use crate::config::PasswordConfig;
use crate::error::ConfigError;

/// A password as the person typed it, NFKC-normalised and size-checked. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

/// Why a typed password was refused before hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Empty.
    #[error("the password is empty")]
    Empty,
    /// Longer than the configured `max_bytes`.
    #[error("the password is too long")]
    TooLong,
    /// Holds a control character (no keyboard types one into a password field).
    #[error("the password holds a control character")]
    ControlCharacter,
}

impl Password {
    /// Normalises a typed password; `max_bytes` is checked before and after normalisation.
    pub fn new(typed: &str, max_bytes: usize) -> Result<Self, PasswordError> {
        if typed.is_empty() {
            return Err(PasswordError::Empty);
        }
        if typed.len() > max_bytes {
            return Err(PasswordError::TooLong);
        }
        let normalised: String = typed.nfkc().collect();
        if normalised.len() > max_bytes {
            return Err(PasswordError::TooLong);
        }
        if normalised.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        Ok(Self(normalised))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// The password matches. `needs_rehash` says the stored hash uses other parameters than the
    /// configured ones and should be replaced.
    Match {
        /// The stored hash should be recomputed with the current parameters.
        needs_rehash: bool,
    },
    /// It does not match (or there was nothing to match against).
    Mismatch,
}

/// Hashing could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashingError {
    /// Too many sign-ins are already waiting for a hashing thread.
    #[error("too many password checks waiting")]
    Busy,
    /// The hashing threads are gone (could not be started, or shutting down).
    #[error("password hashing failed")]
    Failed,
}

/// Hashes and verifies passwords. Cheap to clone; clones share threads and memory blocks.
#[derive(Clone)]
pub struct Hasher {
    inner: Arc<HasherInner>,
}

struct HasherInner {
    params: Params,
    jobs: mpsc::SyncSender<Job>,
    blocks: Mutex<Vec<Vec<Block>>>,
    dummy: String,
    max_bytes: usize,
    meters: crate::metrics::HashingMeters,
}

impl Hasher {
    /// A hasher with the configured parameters, its threads started; refuses parameters argon2
    /// cannot use.
    pub fn new(config: &PasswordConfig) -> Result<Self, ConfigError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| ConfigError::invalid("passwords", e.to_string()))?;
        let threads = config.threads();
        let mut fake = [0u8; Params::DEFAULT_OUTPUT_LEN];
        OsRng.fill_bytes(&mut fake);
        let dummy = phc_string(&params, &SaltString::generate(&mut OsRng), &fake);
        Ok(Self {
            inner: Arc::new(HasherInner {
                params,
                jobs: start_workers(threads, threads.saturating_mul(config.queue_per_thread)),
                blocks: Mutex::new(Vec::new()),
                dummy,
                max_bytes: config.max_bytes,
                meters: crate::metrics::HashingMeters::new(),
            }),
        })
    }

    /// Normalises a typed password under this hasher's size limit.
    pub fn password(&self, typed: &str) -> Result<Password, PasswordError> {
        Password::new(typed, self.inner.max_bytes)
    }

    /// Hashes a new password into a PHC string (`$argon2id$v=19$m=...`).
    pub async fn hash(&self, password: &Password) -> Result<String, HashingError> {
        let password = password.clone();
        self.run(move |inner| {
            let salt = SaltString::generate(&mut OsRng);
            let mut salt_bytes = [0u8; 64];
            let salt_raw = salt
                .decode_b64(&mut salt_bytes)
                .map_err(|_| HashingError::Failed)?;
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            inner.compute(
                &inner.params,
                Algorithm::Argon2id,
                Version::V0x13,
                &password,
                salt_raw,
                &mut out,
            )?;
            Ok(phc_string(&inner.params, &salt, &out))
        })
        .await
    }

    /// Checks `password` against a stored PHC string, or against the dummy hash when there is
    /// none, so both cost the same. An unreadable stored hash is logged and never matches.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verification, HashingError> {
        let password = password.clone();
        let stored = stored.map(str::to_owned);
        self.run(move |inner| {
            let real = stored.as_deref().and_then(|phc| {
                let target = Target::parse(phc);
                if target.is_none() {
                    tracing::error!(target: "guichet", "stored password hash is not a usable argon2 PHC string");
                }
                target
            });
            let matched = match &real {
                Some(target) => inner.check(&password, target)?,
                None => {
                    let dummy = Target::parse(&inner.dummy).ok_or(HashingError::Failed)?;
                    inner.check(&password, &dummy)?;
                    false
                }
            };
            Ok(match (matched, stored) {
                (true, Some(phc)) => Verification::Match {
                    needs_rehash: !inner.is_current(&phc),
                },
                _ => Verification::Mismatch,
            })
        })
        .await
    }

    /// The dummy PHC string (current parameters, random salt, matches nothing). For tests and
    /// benchmarks that need a realistic stored hash without computing one.
    pub fn dummy_hash(&self) -> &str {
        &self.inner.dummy
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&HasherInner) -> Result<T, HashingError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let shared = Arc::clone(&self.inner);
        let queued = std::time::Instant::now();
        let job: Job = Box::new(move || {
            shared.meters.started(queued);
            let _ = answer.send(work(&shared));
        });
        self.inner.meters.queued();
        self.inner.jobs.try_send(job).map_err(|error| {
            self.inner.meters.refused();
            match error {
                mpsc::TrySendError::Full(_) => HashingError::Busy,
                mpsc::TrySendError::Disconnected(_) => HashingError::Failed,
            }
        })?;
        answered.await.map_err(|_| HashingError::Failed)?
    }
}

/// One hash (or verification) to run on a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Starts `threads` hashing threads fed by a queue of at most `queue` waiting jobs. They run
/// below normal priority (nice 10 on Linux; lowering needs no privilege), so that on a small
/// machine the async runtime's workers win the CPU whenever both want it: a sign-in flood
/// slows sign-ins, not every other request. They stop when the last `Hasher` clone is dropped.
fn start_workers(threads: usize, queue: usize) -> mpsc::SyncSender<Job> {
    let (jobs, waiting) = mpsc::sync_channel::<Job>(queue);
    let waiting = Arc::new(Mutex::new(waiting));
    for n in 0..threads {
        let waiting = Arc::clone(&waiting);
        let spawned = std::thread::Builder::new()
            .name(format!("guichet-argon2-{n}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = match waiting.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(target: "guichet", %error, "could not start a password hashing thread");
        }
    }
    jobs
}

/// Nice 10: a tenth of the CPU against a busy normal-priority thread, never starved.
fn lower_priority() {
    let nice_10 = thread_priority::ThreadPriorityValue::try_from(23u8)
        .map(thread_priority::ThreadPriority::Crossplatform);
    if let Ok(priority) = nice_10 {
        if let Err(error) = thread_priority::set_current_thread_priority(priority) {
            tracing::debug!(target: "guichet", ?error, "hashing thread keeps its priority");
        }
    }
}

impl HasherInner {
    fn check(&self, password: &Password, target: &Target) -> Result<bool, HashingError> {
        let mut out = vec![0u8; target.expected.len()];
        self.compute(
            &target.params,
            target.algorithm,
            target.version,
            password,
            &target.salt,
            &mut out,
        )?;
        Ok(bool::from(out.as_slice().ct_eq(&target.expected)))
    }

    /// One argon2 computation in a pooled memory block. At most one block per thread ever exists,
    /// because this only runs on the hashing threads.
    fn compute(
        &self,
        params: &Params,
        algorithm: Algorithm,
        version: Version,
        password: &Password,
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashingError> {
        let mut blocks = self
            .blocks
            .lock()
            .map(|mut pool| pool.pop())
            .unwrap_or(None)
            .unwrap_or_default();
        if blocks.len() < params.block_count() {
            blocks.resize(params.block_count(), Block::default());
        }
        let result = Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut blocks);
        // A block larger than the configured parameters need (from an old hash) is not kept.
        if blocks.len() <= self.params.block_count() {
            if let Ok(mut pool) = self.blocks.lock() {
                pool.push(blocks);
            }
        }
        result.map_err(|_| HashingError::Failed)
    }

    fn is_current(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        parsed.algorithm.as_str() == "argon2id"
            && parsed.version == Some(Version::V0x13 as u32)
            && Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() == self.params.m_cost()
                    && p.t_cost() == self.params.t_cost()
                    && p.p_cost() == self.params.p_cost()
            })
    }
}

/// A stored hash, parsed and ready to be recomputed.
struct Target {
    params: Params,
    algorithm: Algorithm,
    version: Version,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

impl Target {
    /// `None` for anything that is not a complete argon2 PHC string.
    fn parse(phc: &str) -> Option<Self> {
        let parsed = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .ok()?;
        let params = Params::try_from(&parsed).ok()?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?.to_vec();
        let expected = parsed.hash?.as_bytes().to_vec();
        Some(Self {
            params,
            algorithm,
            version,
            salt,
            expected,
        })
    }
}

fn phc_string(params: &Params, salt: &SaltString, out: &[u8]) -> String {
    let output = Output::new(out).map(|o| o.to_string()).unwrap_or_default();
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    fn light() -> Hasher {
        Hasher::new(&PasswordConfig {
            memory_kib: 64,
            iterations: 1,
            ..PasswordConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn owasp_hashes_are_standard_phc_strings_that_the_argon2_crate_accepts() {
        let hasher = Hasher::new(&PasswordConfig::default()).unwrap();
        let pw = hasher.password("Tr0ub4dor&3").unwrap();
        let phc = hasher.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        Argon2::default()
            .verify_password(b"Tr0ub4dor&3", &parsed)
            .unwrap();
        assert_eq!(
            hasher.verify(&pw, Some(&phc)).await.unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn a_hash_made_elsewhere_verifies_and_asks_for_a_rehash_when_parameters_differ() {
        use argon2::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32, 1, 1, None).unwrap(),
        )
        .hash_password(b"secret pw", &salt)
        .unwrap()
        .to_string();
        let hasher = light();
        let pw = hasher.password("secret pw").unwrap();
        assert_eq!(
            hasher.verify(&pw, Some(&old)).await.unwrap(),
            Verification::Match { needs_rehash: true }
        );
        let wrong = hasher.password("secret pw ").unwrap();
        assert_eq!(
            hasher.verify(&wrong, Some(&old)).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn nothing_to_check_against_never_matches() {
        let hasher = light();
        let pw = hasher.password("x").unwrap();
        assert_eq!(
            hasher.verify(&pw, None).await.unwrap(),
            Verification::Mismatch
        );
        assert_eq!(
            hasher.verify(&pw, Some("$garbage")).await.unwrap(),
            Verification::Mismatch
        );
        let dummy = hasher.dummy_hash().to_owned();
        assert_eq!(
            hasher.verify(&pw, Some(&dummy)).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[test]
    fn passwords_are_checked_as_typed_after_nfkc_and_never_trimmed() {
        let a = Password::new(" pass ", 1024).unwrap();
        assert_eq!(a.as_bytes(), b" pass ");
        let fullwidth = Password::new("ｐａｓｓ１", 1024).unwrap();
        assert_eq!(fullwidth.as_bytes(), b"pass1");
    }

    #[test]
    fn oversize_passwords_are_refused_before_any_work() {
        assert_eq!(
            Password::new(&"a".repeat(1_000_000), 1024).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(Password::new("", 1024).unwrap_err(), PasswordError::Empty);
        assert_eq!(
            Password::new("a\u{0}b", 1024).unwrap_err(),
            PasswordError::ControlCharacter
        );
        // U+FDFA expands to 18 characters under NFKC: the limit holds after normalisation too.
        assert_eq!(
            Password::new(&"\u{FDFA}".repeat(60), 1024).unwrap_err(),
            PasswordError::TooLong
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_growing() {
        let hasher = Hasher::new(&PasswordConfig {
            memory_kib: 8192,
            iterations: 4,
            hashing_threads: Some(1),
            queue_per_thread: 1,
            ..PasswordConfig::default()
        })
        .unwrap();
        let pw = hasher.password("x").unwrap();
        let results = futures_join(&hasher, &pw, 8).await;
        assert!(results.contains(&Err(HashingError::Busy)), "{results:?}");
        assert!(results.iter().any(|r| r.is_ok()));
    }

    async fn futures_join(
        hasher: &Hasher,
        pw: &Password,
        n: usize,
    ) -> Vec<Result<Verification, HashingError>> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (h, p) = (hasher.clone(), pw.clone());
            set.spawn(async move { h.verify(&p, None).await });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    }
}
