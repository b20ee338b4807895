//! "Email me my password", off the request path.
//!
//! The request itself (`flows::password`) only checks limits and answers; everything that
//! depends on whether the code exists happens here, in a background task, so the answer and its
//! timing are the same for every code. In order:
//!
//! 1. Unknown code, disabled account, or no stored address: nothing is sent.
//! 2. More than `per_email` requests for the address: nothing is sent.
//! 3. Shared inbox ([`inbox::detect`]): never a credential; a notice telling the person to call
//!    customer service, unless the policy is to withhold.
//! 4. Otherwise a temporary-password [`Letter`] is queued; [`letters::write`] makes the
//!    password when the letter leaves.
//!
//! Each outcome is an audit event.

use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};

use crate::audit::{AuditEvent, WithheldReason};
use crate::config::SharedInboxPolicy;
use crate::context::Context;
use crate::identity::UserCode;
use crate::inbox;
use crate::letters::{self, LetterError, Recipient};
use crate::limit::Limit;
use crate::mail::{Letter, LetterKind};
use crate::pages::Language;

/// Handles one credential request in the background; failures are logged, never shown.
///
/// It starts after a random pause (50 to 250 ms): by then the answer has left, so the work a
/// known code causes (lookups, a letter, an SMTP conversation) cannot slow the answer down,
/// and an attacker timing the requests that follow cannot tell which request caused it.
pub(crate) async fn handle(ctx: Arc<Context>, code: UserCode, language: Language) {
    tokio::time::sleep(pause()).await;
    if let Err(error) = decide(&ctx, &code, language).await {
        tracing::error!(target: "guichet", user_code = %code, %error, "credential request could not be handled");
    }
}

/// Steps 1 to 3, and queuing the letter of step 4.
async fn decide(ctx: &Context, code: &UserCode, language: Language) -> Result<(), LetterError> {
    let withhold = |reason| {
        ctx.audit.emit(&AuditEvent::CredentialWithheld {
            user_code: code.clone(),
            reason,
        });
        Ok(())
    };
    let Recipient { account, email, .. } = match letters::recipient(ctx, code).await? {
        Ok(recipient) => recipient,
        Err(reason) => return withhold(reason),
    };
    if ctx
        .limit(Limit::RequestPerEmail, &email.normalised())
        .await?
        .is_err()
    {
        return withhold(WithheldReason::EmailLimit);
    }
    let letter = |kind| Letter::new(kind, code.clone(), language);
    if let Some(rule) =
        inbox::detect(&account, &email, &*ctx.directory, &ctx.config.shared_inbox).await?
    {
        let notice_sent = match ctx.config.shared_inbox.policy {
            SharedInboxPolicy::Withhold => false,
            SharedInboxPolicy::Notice => {
                letters::post(ctx, &letter(LetterKind::SharedInboxNotice)).await?
            }
        };
        return withhold(WithheldReason::SharedInbox { rule, notice_sent });
    }
    if !letters::post(ctx, &letter(LetterKind::TemporaryPassword)).await? {
        return withhold(WithheldReason::QueueFull);
    }
    Ok(())
}

/// 50 to 250 ms, uniformly, from the OS RNG.
fn pause() -> std::time::Duration {
    let mut bytes = [0u8; 2];
    OsRng.fill_bytes(&mut bytes);
    let jitter = u64::from(u16::from_le_bytes(bytes)) * 200 / u64::from(u16::MAX);
    std::time::Duration::from_millis(50 + jitter)
}
