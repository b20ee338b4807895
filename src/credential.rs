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
//! 4. Otherwise a temporary password: generated from the OS RNG, stored only as an argon2id
//!    hash with its expiry and the account's epoch (replacing any pending one), and mailed to
//!    the *stored* address with a "this wasn't me" link.
//!
//! Each outcome is an audit event.

use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64ct::{Base64UrlUnpadded, Encoding};
use blake2::{Blake2b, Digest};

use crate::audit::{AuditEvent, WithheldReason};
use crate::config::SharedInboxPolicy;
use crate::desk::Desk;
use crate::error::StoreError;
use crate::identity::{AccountStatus, UserCode};
use crate::inbox;
use crate::mail::templates::{self, TemporaryPasswordEmail};
use crate::pages::Language;
use crate::password::temporary;
use crate::session::unix_now;
use crate::store::TemporaryCredential;

/// Handles one credential request in the background; failures are logged, never shown.
pub(crate) async fn issue(desk: Arc<Desk>, code: UserCode, language: Language) {
    if let Err(error) = try_issue(&desk, &code, language).await {
        tracing::error!(target: "guichet", user_code = %code, %error, "credential request could not be handled");
    }
}

async fn try_issue(desk: &Desk, code: &UserCode, language: Language) -> Result<(), IssueError> {
    let withhold = |reason| {
        desk.audit.emit(&AuditEvent::CredentialWithheld {
            user_code: code.clone(),
            reason,
        });
        Ok(())
    };
    let Some(account) = desk.directory.account(code).await? else {
        return withhold(WithheldReason::UnknownCode);
    };
    let credentials = desk.credentials.credentials(code).await?;
    if account.status == AccountStatus::Disabled || credentials.disabled {
        return withhold(WithheldReason::Disabled);
    }
    let Some(email) = account.email.clone() else {
        return withhold(WithheldReason::NoEmail);
    };
    if desk.requests.per_email.check(&email.normalised()).is_err() {
        return withhold(WithheldReason::EmailLimit);
    }
    let mail = &desk.config.mail;
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
            SharedInboxPolicy::Notice => {
                let message = templates::shared_inbox_notice(mail, &account, &email, language)?;
                let label = format!("shared-inbox notice for {code}");
                desk.queue.enqueue(message, label).await.is_ok()
            }
        };
        return withhold(WithheldReason::SharedInbox { rule, notice_sent });
    }

    let password = temporary::generate();
    let canonical =
        temporary::canonical(&password).ok_or(IssueError::Internal("temporary password shape"))?;
    let hash = desk
        .hasher
        .hash(
            &desk
                .hasher
                .password(&canonical)
                .map_err(|_| IssueError::Internal("temporary password size"))?,
        )
        .await
        .map_err(|_| IssueError::Internal("hashing"))?;
    let token = cancel_token();
    let expires_at = unix_now() + desk.config.credential_requests.validity.as_secs();
    let pending = TemporaryCredential {
        hash: Arc::from(hash),
        expires_at,
        epoch: credentials.epoch,
        cancel_key: cancel_key(&token),
    };
    desk.credentials.issue_temporary(code, &pending).await?;
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
            language,
        },
    )?;
    if desk
        .queue
        .enqueue(message, format!("temporary password for {code}"))
        .await
        .is_err()
    {
        tracing::error!(target: "guichet", user_code = %code, "delivery queue full; temporary password not sent");
        return withhold(WithheldReason::QueueFull);
    }
    desk.audit.emit(&AuditEvent::TemporaryPasswordSent {
        user_code: code.clone(),
    });
    Ok(())
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

#[derive(Debug, thiserror::Error)]
enum IssueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    #[error("internal: {0}")]
    Internal(&'static str),
}
