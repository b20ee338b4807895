//! Run-time credential state of one account, and every rule that changes it.
//!
//! Stores keep [`Credentials`] as an opaque value with a version number and replace it only if
//! the version did not move since it was read ([`CredentialStore`](super::CredentialStore)).
//! Every rule (a temporary password works once, cancelling undoes what it opened, a chosen
//! password moves the epoch, ...) is written here once, as a change to that value, so memory,
//! Redis, SQL and an application's own store all behave alike: a store only has to compare
//! and swap.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::audit::Cancellation;
use crate::error::{StoreError, StoreErrorKind};
use crate::identity::UserCode;

/// Run-time credential state of one account: what changes after the directory was written.
/// Stores persist it with serde (any format) and a version; its fields are guichet's business.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Moves on every password change, disable and "sign out everywhere"; a session opened
    /// under another epoch is dead.
    #[serde(default, rename = "e", skip_serializing_if = "is_zero")]
    pub(crate) epoch: u64,
    /// A password set at run time (rehash, chosen password), with the directory hash it replaced.
    #[serde(default, rename = "p", skip_serializing_if = "Option::is_none")]
    pub(crate) password: Option<RuntimePassword>,
    /// Disabled at run time (the directory's status counts too).
    #[serde(default, rename = "d", skip_serializing_if = "std::ops::Not::not")]
    pub(crate) disabled: bool,
    /// The last temporary password issued ("email me my password", or an operator), if any.
    #[serde(default, rename = "t", skip_serializing_if = "Option::is_none")]
    pub(crate) temporary: Option<TemporaryCredential>,
    /// What "this wasn't me" restores if the last password chosen with a temporary one was not
    /// the owner's. Kept apart from the temporary password, so that neither a newer request nor
    /// an operator's "sign out everywhere" can erase it.
    #[serde(default, rename = "u", skip_serializing_if = "Option::is_none")]
    pub(crate) undo: Option<Undo>,
}

/// A password hash set at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RuntimePassword {
    /// argon2id PHC string.
    #[serde(rename = "h")]
    pub(crate) hash: Arc<str>,
    /// The directory's hash when this one was set. If the directory's hash is no longer this
    /// one, an operator gave the account a new password since, and it wins.
    #[serde(default, rename = "s", skip_serializing_if = "Option::is_none")]
    pub(crate) supersedes: Option<Arc<str>>,
}

/// A temporary password: only a digest of it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TemporaryCredential {
    /// [`temporary::digest`](crate::password::temporary::digest) of the password.
    #[serde(rename = "h")]
    pub(crate) digest: Arc<str>,
    /// When it stops working, unix seconds; once used to sign in, when the restricted session
    /// it opened stops.
    #[serde(rename = "x")]
    pub(crate) expires_at: u64,
    /// The account's epoch when it was issued (or used); if the epoch moves, it is void.
    #[serde(rename = "e")]
    pub(crate) epoch: u64,
    /// Hex BLAKE2b-256 of the cancel token of the "this wasn't me" link. It also names the
    /// restricted sessions opened with this password.
    #[serde(rename = "c")]
    pub(crate) cancel_key: Arc<str>,
    /// Used to sign in: restricted sessions named by its cancel key are alive.
    #[serde(default, rename = "r", skip_serializing_if = "std::ops::Not::not")]
    pub(crate) redeemed: bool,
}

/// A password chosen with a temporary one, and what it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Undo {
    /// The temporary password's cancel key: the link that may undo the choice.
    #[serde(rename = "c")]
    pub(crate) cancel_key: Arc<str>,
    /// The hash chosen; the choice is undone only while it is still the password.
    #[serde(rename = "h")]
    pub(crate) chosen: Arc<str>,
    /// What it replaced (`None`: the directory's password).
    #[serde(default, rename = "p", skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<RuntimePassword>,
    /// Until when the link may undo it, unix seconds.
    #[serde(rename = "x")]
    pub(crate) until: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Credentials {
    /// The epoch: sessions opened under another one are dead.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Disabled at run time.
    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The hash a password is checked against, given the directory's (`directory`): the
    /// run-time one, unless the directory moved on since it was set.
    pub(crate) fn password_hash<'a>(&'a self, directory: Option<&'a str>) -> Option<&'a str> {
        match &self.password {
            Some(runtime) if runtime.supersedes.as_deref() == directory => Some(&runtime.hash),
            _ => directory,
        }
    }

    /// A run-time password exists but the directory has a newer one: sessions opened under
    /// the old one must end.
    /// A directory that holds the run-time hash itself (written back through
    /// [`Directory::save_password_hash`](super::Directory::save_password_hash)) did not move on.
    pub(crate) fn is_superseded(&self, directory: Option<&str>) -> bool {
        self.password.as_ref().is_some_and(|runtime| {
            runtime.supersedes.as_deref() != directory && directory != Some(&*runtime.hash)
        })
    }

    /// The pending temporary password's digest, if one can be used at `now`.
    pub(crate) fn pending_digest(&self, now: u64) -> Option<&str> {
        self.temporary
            .as_ref()
            .filter(|t| !t.redeemed && t.expires_at > now && t.epoch == self.epoch)
            .map(|t| &*t.digest)
    }

    /// Whether a restricted session opened with the temporary password `cancel_key` may go on
    /// at `now`.
    pub(crate) fn allows_restricted(&self, cancel_key: &str, now: u64) -> bool {
        self.temporary.as_ref().is_some_and(|t| {
            t.redeemed
                && t.epoch == self.epoch
                && t.expires_at > now
                && same(&t.cancel_key, cancel_key)
        })
    }

    /// A temporary password is waiting, or a restricted session is open with one (for
    /// operators).
    pub(crate) fn temporary_in_use(&self, now: u64) -> bool {
        self.temporary
            .as_ref()
            .is_some_and(|t| t.epoch == self.epoch && t.expires_at > now)
    }

    // The changes. Each returns whether anything changed, so that nothing is written when
    // nothing did.

    /// Ends every session and pending credential ("sign out everywhere"). The undo of a
    /// password chosen by someone else stays: the owner may still need it.
    pub(crate) fn move_epoch(&mut self) -> bool {
        self.epoch += 1;
        self.temporary = None;
        true
    }

    /// Disables (moving the epoch) or re-enables the account.
    pub(crate) fn set_disabled(&mut self, disabled: bool) -> bool {
        if self.disabled == disabled {
            return false;
        }
        self.disabled = disabled;
        if disabled {
            self.move_epoch();
        }
        true
    }

    /// Replaces the hash `verified` (the one a sign-in just matched) with `new`, a hash of the
    /// same password with the current parameters. Nobody is signed out.
    pub(crate) fn rehash(&mut self, directory: Option<&str>, verified: &str, new: &str) -> bool {
        if self.password_hash(directory) != Some(verified) {
            return false;
        }
        self.password = Some(RuntimePassword {
            hash: Arc::from(new),
            supersedes: directory.map(Arc::from),
        });
        true
    }

    /// Stores a new temporary password, replacing any earlier one (a newer request wins, and
    /// the restricted sessions of an earlier one end).
    pub(crate) fn issue_temporary(&mut self, digest: &str, expires_at: u64, cancel_key: &str) {
        self.temporary = Some(TemporaryCredential {
            digest: Arc::from(digest),
            expires_at,
            epoch: self.epoch,
            cancel_key: Arc::from(cancel_key),
            redeemed: false,
        });
    }

    /// Uses the pending temporary password with `digest` to sign in, once: returns the cancel
    /// key naming the restricted session, which may choose a password until `until`; `None` if
    /// it is not pending (any more). A run-time password the directory replaced since is
    /// dropped first (moving the epoch), so that recovering by email always works.
    pub(crate) fn redeem(
        &mut self,
        digest: &str,
        now: u64,
        until: u64,
        directory: Option<&str>,
    ) -> Option<Arc<str>> {
        let pending = self.pending_digest(now)?;
        if !same(pending, digest) {
            return None;
        }
        if self.is_superseded(directory) {
            self.password = None;
            self.epoch += 1;
        }
        let epoch = self.epoch;
        let temporary = self.temporary.as_mut()?;
        temporary.redeemed = true;
        temporary.epoch = epoch;
        temporary.expires_at = until;
        Some(Arc::clone(&temporary.cancel_key))
    }

    /// A sign-in with the account's own password: restricted sessions end (someone who knows
    /// the password needs no temporary one), and a run-time password the directory superseded
    /// is dropped, moving the epoch.
    pub(crate) fn signed_in(&mut self, directory: Option<&str>) -> bool {
        let mut changed = false;
        if self.temporary.as_ref().is_some_and(|t| t.redeemed) {
            self.temporary = None;
            changed = true;
        }
        if self.is_superseded(directory) {
            self.password = None;
            self.move_epoch();
            changed = true;
        }
        changed
    }

    /// A password chosen by the person: the run-time hash becomes `hash`, the epoch moves (every
    /// other session ends) and any temporary password is void. From a restricted session
    /// (`cancel_key`), what it replaced is kept until `undo_until`, so that "this wasn't me"
    /// can undo it.
    pub(crate) fn choose(
        &mut self,
        directory: Option<&str>,
        hash: &str,
        cancel_key: Option<&str>,
        undo_until: u64,
    ) {
        let previous = self.password.take();
        self.password = Some(RuntimePassword {
            hash: Arc::from(hash),
            supersedes: directory.map(Arc::from),
        });
        let redeemed = self
            .temporary
            .take()
            .filter(|t| t.redeemed && cancel_key.is_some_and(|key| same(&t.cancel_key, key)));
        if let Some(temporary) = redeemed {
            self.undo = Some(Undo {
                cancel_key: temporary.cancel_key,
                chosen: Arc::from(hash),
                previous,
                until: undo_until,
            });
        }
        self.epoch += 1;
    }

    /// "This wasn't me": undoes whatever the temporary password with `cancel_key` opened, if
    /// the link is still valid at `now`; `None` when nothing matched (no temporary password,
    /// another one, or the wrong token).
    /// `directory` is the directory's hash now.
    pub(crate) fn cancel(
        &mut self,
        cancel_key: &str,
        now: u64,
        directory: Option<&str>,
    ) -> Option<Cancellation> {
        if let Some(undo) = self.undo.take() {
            let chosen_is_current = self
                .password
                .as_ref()
                .is_some_and(|p| same(&p.hash, &undo.chosen));
            if same(&undo.cancel_key, cancel_key) && undo.until > now && chosen_is_current {
                // Back to what the choice replaced. A directory that was written the chosen
                // hash (it keeps passwords) must not keep it in force: what is restored then
                // supersedes it.
                let written_back = directory.is_some_and(|d| same(d, &undo.chosen));
                let replaced = self.password.take().and_then(|chosen| chosen.supersedes);
                self.password = if written_back {
                    undo.previous
                        .map(|previous| previous.hash)
                        .or(replaced)
                        .map(|hash| RuntimePassword {
                            hash,
                            supersedes: Some(Arc::clone(&undo.chosen)),
                        })
                } else {
                    undo.previous
                };
                self.temporary = None;
                self.epoch += 1;
                return Some(Cancellation::Undone);
            }
            // Kept while it can still serve; dropped once spent or outdated.
            if undo.until > now && chosen_is_current {
                self.undo = Some(undo);
            }
        }
        let temporary = self.temporary.as_ref()?;
        if !same(&temporary.cancel_key, cancel_key) || temporary.epoch != self.epoch {
            return None;
        }
        let outcome = match (temporary.redeemed, temporary.expires_at > now) {
            (true, _) => Cancellation::Used,
            (false, true) => Cancellation::Pending,
            (false, false) => return None,
        };
        self.temporary = None;
        Some(outcome)
    }
}

/// A stored value and its version: a store replaces it only if the version did not move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The value (the default one, with version 0, when nothing was ever stored).
    pub value: T,
    /// Moves on every write; 0 means nothing stored yet.
    pub version: u64,
}

/// A change that may leave the state as it was (`Keep`: nothing is written).
pub(crate) enum Change<T> {
    /// Write the changed state, then answer `T`.
    Save(T),
    /// Nothing changed: answer `T` without writing.
    Keep(T),
}

/// Reads the account's state, applies `change`, and writes it back if nobody wrote in
/// between; otherwise reads again and retries. Every credential change goes through here.
pub(crate) async fn update<T>(
    store: &dyn super::CredentialStore,
    code: &UserCode,
    mut change: impl FnMut(&mut Credentials) -> Change<T>,
) -> Result<T, StoreError> {
    const ATTEMPTS: usize = 16;
    for _ in 0..ATTEMPTS {
        let Versioned { mut value, version } = store.credentials(code).await?;
        match change(&mut value) {
            Change::Keep(answer) => return Ok(answer),
            Change::Save(answer) => {
                if store.save_credentials(code, version, &value).await? {
                    return Ok(answer);
                }
            }
        }
    }
    Err(StoreError::with_kind(
        StoreErrorKind::Contention,
        format!("the credential state of {code} kept changing during {ATTEMPTS} attempts"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const LATER: u64 = NOW + 1800;

    fn issued() -> Credentials {
        let mut c = Credentials::default();
        c.issue_temporary("digest", NOW + 3600, "key");
        c
    }

    #[test]
    fn a_temporary_password_signs_in_once_until_it_expires() {
        let mut c = issued();
        assert_eq!(c.pending_digest(NOW), Some("digest"));
        assert!(
            c.clone()
                .redeem("digest", NOW + 3600, LATER, None)
                .is_none(),
            "expired"
        );
        assert!(c.clone().redeem("other", NOW, LATER, None).is_none());
        assert_eq!(c.redeem("digest", NOW, LATER, None).as_deref(), Some("key"));
        assert!(c.redeem("digest", NOW, LATER, None).is_none(), "once");
        assert!(c.allows_restricted("key", NOW));
        assert!(!c.allows_restricted("another key", NOW));
        assert!(
            !c.allows_restricted("key", LATER),
            "the restricted session ends"
        );
    }

    #[test]
    fn cancelling_a_pending_password_voids_it() {
        let mut c = issued();
        assert_eq!(c.cancel("wrong", NOW, None), None);
        assert_eq!(c.cancel("key", NOW, None), Some(Cancellation::Pending));
        assert!(c.pending_digest(NOW).is_none());
        assert_eq!(c.cancel("key", NOW, None), None);
    }

    #[test]
    fn cancelling_a_used_password_ends_its_restricted_sessions_even_after_expiry() {
        let mut c = issued();
        c.redeem("digest", NOW, LATER, None);
        assert_eq!(c.cancel("key", NOW + 7200, None), Some(Cancellation::Used));
        assert!(!c.allows_restricted("key", NOW));
    }

    #[test]
    fn cancelling_after_a_password_was_chosen_brings_the_previous_one_back() {
        let mut c = Credentials::default();
        c.choose(Some("dir"), "first", None, 0);
        let epoch = c.epoch();
        c.issue_temporary("digest", NOW + 3600, "key");
        let key = c.redeem("digest", NOW, LATER, Some("dir")).unwrap();
        c.choose(Some("dir"), "intruder", Some(&key), LATER);
        // Neither a newer request nor signing everyone out erases the undo.
        c.issue_temporary("digest 2", NOW + 3600, "key 2");
        c.move_epoch();
        assert_eq!(c.password_hash(Some("dir")), Some("intruder"));
        assert_eq!(
            c.cancel("key", NOW, Some("dir")),
            Some(Cancellation::Undone)
        );
        assert_eq!(c.password_hash(Some("dir")), Some("first"));
        assert!(c.epoch() > epoch + 1, "every session ends");
        assert_eq!(c.cancel("key", NOW, Some("dir")), None, "once");
    }

    #[test]
    fn a_directory_that_keeps_passwords_is_not_mistaken_for_an_operator_and_an_undo_wins_over_it() {
        // The directory's own password, then one chosen with a temporary password and
        // written back to the directory.
        let mut c = issued();
        let key = c.redeem("digest", NOW, LATER, Some("own")).unwrap();
        c.choose(Some("own"), "intruder", Some(&key), LATER);
        assert!(
            !c.is_superseded(Some("intruder")),
            "the same password, not an operator's"
        );
        assert_eq!(c.password_hash(Some("intruder")), Some("intruder"));
        // "This wasn't me", with the directory still holding the chosen hash.
        assert_eq!(
            c.cancel("key", NOW, Some("intruder")),
            Some(Cancellation::Undone)
        );
        assert_eq!(c.password_hash(Some("intruder")), Some("own"));
        // Once "own" is written back, it is simply the directory's password.
        assert_eq!(c.password_hash(Some("own")), Some("own"));
        assert!(!c.is_superseded(Some("own")));
        // An operator's later password still wins.
        assert!(c.is_superseded(Some("operator")));
        assert_eq!(c.password_hash(Some("operator")), Some("operator"));
    }

    #[test]
    fn a_run_time_password_restored_over_a_kept_directory_one_supersedes_it() {
        let mut c = Credentials::default();
        c.choose(Some("dir"), "first", None, 0);
        c.issue_temporary("digest", NOW + 3600, "key");
        let key = c.redeem("digest", NOW, LATER, Some("first")).unwrap();
        c.choose(Some("first"), "intruder", Some(&key), LATER);
        assert_eq!(
            c.cancel("key", NOW, Some("intruder")),
            Some(Cancellation::Undone)
        );
        assert_eq!(c.password_hash(Some("intruder")), Some("first"));
    }

    #[test]
    fn an_undo_is_refused_once_the_chosen_password_was_replaced_or_its_time_passed() {
        let mut c = issued();
        let key = c.redeem("digest", NOW, LATER, None).unwrap();
        c.choose(None, "chosen", Some(&key), LATER);
        let mut late = c.clone();
        assert_eq!(late.cancel("key", LATER, None), None);
        c.choose(None, "chosen again by the owner", None, 0);
        assert_eq!(c.cancel("key", NOW, None), None);
    }

    #[test]
    fn recovering_by_email_drops_a_chosen_password_the_directory_replaced() {
        let mut c = Credentials::default();
        c.choose(Some("operator-1"), "chosen", None, 0);
        c.issue_temporary("digest", NOW + 3600, "key");
        let epoch = c.epoch();
        let key = c.redeem("digest", NOW, LATER, Some("operator-2")).unwrap();
        assert!(!c.is_superseded(Some("operator-2")));
        assert!(c.epoch() > epoch);
        assert!(c.allows_restricted(&key, NOW));
    }

    #[test]
    fn a_sign_in_with_the_own_password_ends_restricted_sessions() {
        let mut c = issued();
        c.redeem("digest", NOW, LATER, None);
        assert!(c.signed_in(None));
        assert!(!c.allows_restricted("key", NOW));
        assert!(!c.signed_in(None), "nothing more to change");
    }

    #[test]
    fn a_new_directory_hash_wins_over_an_older_runtime_one() {
        let mut c = Credentials::default();
        c.choose(Some("operator-1"), "chosen", None, 0);
        assert_eq!(c.password_hash(Some("operator-1")), Some("chosen"));
        assert!(!c.is_superseded(Some("operator-1")));
        assert_eq!(c.password_hash(Some("operator-2")), Some("operator-2"));
        assert!(c.is_superseded(Some("operator-2")));
        let epoch = c.epoch();
        assert!(c.signed_in(Some("operator-2")));
        assert!(c.epoch() > epoch);
        assert!(!c.is_superseded(Some("operator-2")));
    }

    #[test]
    fn a_moved_epoch_voids_the_temporary_password() {
        let mut c = issued();
        c.move_epoch();
        assert!(c.pending_digest(NOW).is_none());
        let mut c = issued();
        c.redeem("digest", NOW, LATER, None);
        c.set_disabled(true);
        assert!(!c.allows_restricted("key", NOW));
    }

    #[test]
    fn a_rehash_replaces_only_the_hash_that_was_verified() {
        let mut c = Credentials::default();
        assert!(!c.rehash(Some("dir"), "something else", "new"));
        assert!(c.rehash(Some("dir"), "dir", "new"));
        assert_eq!(c.password_hash(Some("dir")), Some("new"));
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let mut c = issued();
        let key = c.redeem("digest", NOW, LATER, None).unwrap();
        c.choose(Some("dir"), "h", Some(&key), LATER);
        c.issue_temporary("d2", NOW, "k2");
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Credentials>(&text).unwrap(), c);
        assert_eq!(
            serde_json::to_string(&Credentials::default()).unwrap(),
            "{}"
        );
    }
}
