//! Issuing credentials: what happens, off the request path, after "email me my password".
//!
//! The request itself (`flows::password`) only checks limits and answers; everything that
//! depends on whether the code exists happens here, in a background task, so the answer and its
//! timing are the same for every code. In order:
//!
//! 1. Unknown code, disabled account, or no stored address: nothing is sent.
//! 2. More than `per_email` requests for the address: nothing is sent.
//! 3. Shared inbox ([`inbox::detect`]): never a credential; a notice telling the person to call
//!    customer service, unless the policy is to withhold.
//! 4. Otherwise a temporary-password [`Letter`] is queued. When the postman delivers it,
//!    [`render`] generates the password from the OS RNG, stores only its digest with its
//!    expiry and the account's epoch (replacing any earlier one), and mails it to the *stored*
//!    address with a "this wasn't me" link. No queue ever holds the password, and no hashing
//!    thread is used (see [`temporary`]), so nothing here delays the next sign-in.
//!
//! Each outcome is an audit event.

use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64ct::{Base64UrlUnpadded, Encoding};
use blake2::{Blake2b, Digest};
use lettre::Message;

use crate::audit::{AuditEvent, WithheldReason};
use crate::config::SharedInboxPolicy;
use crate::desk::Desk;
use crate::error::StoreError;
use crate::identity::{Account, AccountStatus, Email, UserCode};
use crate::inbox;
use crate::limit::Limit;
use crate::mail::templates::{self, TemporaryPasswordEmail};
use crate::mail::{Letter, LetterKind};
use crate::pages::Language;
use crate::password::temporary;
use crate::session::unix_now;
use crate::store::{self, Change};

/// Handles one credential request in the background; failures are logged, never shown.
///
/// It starts after a random pause (50 to 250 ms): by then the answer has left, so the work a
/// known code causes (lookups, a letter, an SMTP conversation) cannot slow the answer down,
/// and an attacker timing the requests that follow cannot tell which request caused it.
pub(crate) async fn issue(desk: Arc<Desk>, code: UserCode, language: Language) {
    tokio::time::sleep(pause()).await;
    if let Err(error) = decide(&desk, &code, language).await {
        tracing::error!(target: "guichet", user_code = %code, %error, "credential request could not be handled");
    }
}

/// Steps 1 to 3, and queuing the letter of step 4.
async fn decide(desk: &Arc<Desk>, code: &UserCode, language: Language) -> Result<(), IssueError> {
    let withhold = |reason| {
        desk.audit.emit(&AuditEvent::CredentialWithheld {
            user_code: code.clone(),
            reason,
        });
        Ok(())
    };
    let Recipient { account, email, .. } = match recipient(desk, code).await? {
        Ok(recipient) => recipient,
        Err(reason) => return withhold(reason),
    };
    if desk
        .limit(Limit::RequestPerEmail, &email.normalised())
        .await?
        .is_err()
    {
        return withhold(WithheldReason::EmailLimit);
    }
    let letter = |kind| Letter {
        kind,
        user_code: code.clone(),
        language,
    };
    if let Some(rule) = inbox::detect(
        &account,
        &email,
        &*desk.directory,
        &desk.config.shared_inbox,
    )
    .await?
    {
        let notice_sent = match desk.config.shared_inbox.policy {
            SharedInboxPolicy::Withhold => false,
            SharedInboxPolicy::Notice => post(desk, &letter(LetterKind::SharedInboxNotice)).await?,
        };
        return withhold(WithheldReason::SharedInbox { rule, notice_sent });
    }
    if !post(desk, &letter(LetterKind::TemporaryPassword)).await? {
        return withhold(WithheldReason::QueueFull);
    }
    Ok(())
}

/// Someone mail can go to: an active account with a stored address.
struct Recipient {
    account: Arc<Account>,
    email: Email,
}

/// The account behind `code` if it can receive mail, or why not. Asked when a request is
/// decided and again when its letter is delivered, since the account may change in between.
async fn recipient(
    desk: &Desk,
    code: &UserCode,
) -> Result<Result<Recipient, WithheldReason>, StoreError> {
    let Some(account) = desk.directory.account(code).await? else {
        return Ok(Err(WithheldReason::UnknownCode));
    };
    let credentials = desk.credentials.load(code).await?.value;
    if account.status == AccountStatus::Disabled || credentials.is_disabled() {
        return Ok(Err(WithheldReason::Disabled));
    }
    let Some(email) = account.email.clone() else {
        return Ok(Err(WithheldReason::NoEmail));
    };
    Ok(Ok(Recipient { account, email }))
}

/// Queues a letter and wakes this process's postman; `false` if the queue is full.
async fn post(desk: &Arc<Desk>, letter: &Letter) -> Result<bool, StoreError> {
    let accepted = desk
        .mail_queue
        .push(letter, desk.config.mail.queue_capacity)
        .await?;
    if accepted {
        desk.postman.ensure_started(desk);
        desk.postman.wake();
    } else {
        tracing::error!(target: "guichet", user_code = %letter.user_code, "mail queue full; letter not sent");
    }
    Ok(accepted)
}

/// Turns a letter into the message to send, at delivery time. For a temporary password this
/// is when it is generated and its hash stored (replacing any pending one), so it never waits
/// in a queue. `None` when there is nothing to send any more (the account is gone, disabled,
/// or has no address).
pub(crate) async fn render(desk: &Desk, letter: &Letter) -> Result<Option<Message>, IssueError> {
    let code = &letter.user_code;
    let Ok(Recipient { account, email }) = recipient(desk, code).await? else {
        return Ok(None);
    };
    let mail = &desk.config.mail;
    if letter.kind == LetterKind::SharedInboxNotice {
        return Ok(Some(templates::shared_inbox_notice(
            mail,
            &account,
            &email,
            letter.language,
        )?));
    }

    let password = temporary::generate();
    let digest = temporary::digest(&password.replace('-', ""));
    let token = cancel_token();
    let expires_at = unix_now() + desk.config.credential_requests.validity.as_secs();
    let key = cancel_key(&token);
    store::update(&*desk.credentials, code, |credentials| {
        credentials.issue_temporary(&digest, expires_at, &key);
        Change::Save(())
    })
    .await?;
    let cancel_url = format!(
        "{}{}/password/cancel?code={}&token={}",
        mail.base_url.trim_end_matches('/'),
        desk.config.prefix,
        crate::flows::urlencode(code.as_str()),
        token
    );
    let message = templates::temporary_password(
        mail,
        &TemporaryPasswordEmail {
            account: &account,
            to: &email,
            password: &password,
            expires_at,
            cancel_url: &cancel_url,
            language: letter.language,
        },
    )?;
    desk.audit.emit(&AuditEvent::TemporaryPasswordSent {
        user_code: code.clone(),
    });
    Ok(Some(message))
}

/// 50 to 250 ms, uniformly, from the OS RNG.
fn pause() -> std::time::Duration {
    let mut bytes = [0u8; 2];
    OsRng.fill_bytes(&mut bytes);
    let jitter = u64::from(u16::from_le_bytes(bytes)) * 200 / u64::from(u16::MAX);
    std::time::Duration::from_millis(50 + jitter)
}

/// A random token for the "this wasn't me" link (256 bits, URL-safe).
fn cancel_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    Base64UrlUnpadded::encode_string(&bytes)
}

/// What the store keeps of a cancel token: its BLAKE2b-256, in hex.
pub(crate) fn cancel_key(token: &str) -> String {
    Blake2b::<blake2::digest::consts::U32>::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a letter could not be handled (logged; the letter is retried).
#[derive(Debug, thiserror::Error)]
pub(crate) enum IssueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
}
