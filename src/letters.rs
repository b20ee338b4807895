//! Letters: queuing them, and writing them when the postman delivers them.
//!
//! A queue holds [`Letter`]s (what to send, to which account, in which language), never a
//! message: what a letter says is written at delivery, by [`write`], from the account as it is
//! then. For a temporary password, that is when it is generated from the OS RNG and its digest
//! stored with its expiry (replacing any earlier one), so no queue ever holds the password, and
//! no hashing thread is used (see [`temporary`]). Mail goes to the *stored* address only.

use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64ct::{Base64UrlUnpadded, Encoding};
use blake2::{Blake2b, Digest};
use lettre::Message;

use crate::audit::{AuditEvent, WithheldReason};
use crate::context::Context;
use crate::error::StoreError;
use crate::identity::{Account, AccountStatus, Email, UserCode};
use crate::links::urlencode;
use crate::mail::templates::{self, RequestLetter, TemporaryPasswordEmail};
use crate::mail::{Letter, LetterKind};
use crate::password::temporary;
use crate::session::unix_now;
use crate::store::{self, Change, CodeRequest, RequestStatus};

/// Someone mail can go to: an active account with a stored address.
pub(crate) struct Recipient {
    pub(crate) account: Arc<Account>,
    pub(crate) email: Email,
}

/// The account behind `code` if it can receive mail, or why not. Asked when a request is
/// decided and again when its letter is delivered, since the account may change in between.
pub(crate) async fn recipient(
    ctx: &Context,
    code: &UserCode,
) -> Result<Result<Recipient, WithheldReason>, StoreError> {
    match ctx.directory.account(code).await? {
        Some(account) => reach(ctx, account).await,
        None => Ok(Err(WithheldReason::UnknownCode)),
    }
}

/// Whether `account`, as just read, can receive mail: active, with an address.
async fn reach(
    ctx: &Context,
    account: Arc<Account>,
) -> Result<Result<Recipient, WithheldReason>, StoreError> {
    let credentials = ctx.store.credentials(&account.code).await?.value;
    if account.status == AccountStatus::Disabled || credentials.is_disabled() {
        return Ok(Err(WithheldReason::Disabled));
    }
    let Some(email) = account.email.clone() else {
        return Ok(Err(WithheldReason::NoEmail));
    };
    Ok(Ok(Recipient { account, email }))
}

/// The accounts among `accounts` (just read) that may receive mail now, in their order.
pub(crate) async fn reachable(
    ctx: &Context,
    accounts: Vec<Arc<Account>>,
) -> Result<Vec<Arc<Account>>, StoreError> {
    let mut kept = Vec::with_capacity(accounts.len());
    for account in accounts {
        if let Ok(recipient) = reach(ctx, account).await? {
            kept.push(recipient.account);
        }
    }
    Ok(kept)
}

/// Queues a letter and rings this process's postman; `false` if the queue is full.
pub(crate) async fn post(ctx: &Context, letter: &Letter) -> Result<bool, StoreError> {
    let accepted = ctx
        .store
        .push(letter, ctx.config.mail.queue_capacity)
        .await
        .inspect_err(|e| crate::metrics::store_error("mail_queue", e))?;
    if accepted {
        crate::metrics::letter("queued");
        (ctx.letter_queued)();
    } else {
        tracing::error!(target: "guichet", user_code = %letter.user_code, "mail queue full; letter not sent");
    }
    Ok(accepted)
}

/// A letter's message, and the audit event that holds once the mail server has taken it.
pub(crate) struct Written {
    pub(crate) message: Message,
    pub(crate) once_sent: Option<AuditEvent>,
}

impl From<Message> for Written {
    fn from(message: Message) -> Self {
        Self {
            message,
            once_sent: None,
        }
    }
}

/// Writes the message of a letter, at delivery time. `None` when there is nothing to send any
/// more (the account is gone, disabled, or has no address; the request is gone).
pub(crate) async fn write(ctx: &Context, letter: &Letter) -> Result<Option<Written>, LetterError> {
    if letter.kind == LetterKind::CodeRequest {
        return Ok(to_customer_service(ctx, letter).await?.map(Written::from));
    }
    let Ok(Recipient { account, email }) = recipient(ctx, &letter.user_code).await? else {
        return Ok(None);
    };
    let mail = &ctx.config.mail;
    let language = letter.language;
    let password_request = ctx
        .respond
        .links
        .absolute(ctx.respond.links.password_request());
    let message = match letter.kind {
        LetterKind::TemporaryPassword => {
            // Each attempt makes a new password (none is kept in clear to send again), so
            // the letter is audited as sent only once a server has taken it.
            return Ok(Some(Written {
                message: temporary_password(ctx, &account, &email, language).await?,
                once_sent: Some(AuditEvent::TemporaryPasswordSent {
                    user_code: account.code.clone(),
                }),
            }));
        }
        LetterKind::SharedInboxNotice => {
            templates::shared_inbox_notice(mail, &account, &email, language)?
        }
        LetterKind::UserCode => {
            templates::user_codes(mail, &email, &[&account], &password_request, language)?
        }
        LetterKind::UserCodes => {
            let mut all = ctx.directory.accounts_with_email(&email).await?;
            all.sort_by(|a, b| a.code.cmp(&b.code));
            let all = reachable(ctx, all).await?;
            let all: Vec<&Account> = all.iter().map(|a| &**a).collect();
            templates::user_codes(mail, &email, &all, &password_request, language)?
        }
        LetterKind::Welcome => {
            let client = ctx.directory.client(&account.client).await?;
            let client = client.as_ref().map_or(account.client.as_str(), |c| &c.name);
            templates::welcome(mail, &account, &email, client, &password_request, language)?
        }
        LetterKind::RequestApproved | LetterKind::RequestRejected => {
            let Some(request) = request_of(ctx, letter).await? else {
                return Ok(None);
            };
            let client = client_name(ctx, &request.client).await?;
            let about = RequestLetter {
                request: &request,
                contact: &account,
                client: &client,
                language,
            };
            match &request.status {
                RequestStatus::Approved { accounts } => {
                    let mut created = Vec::new();
                    for (code, person) in accounts.iter().zip(&request.people) {
                        created.push((code.as_str(), person.name.as_str()));
                    }
                    templates::request_approved(mail, &email, &about, &created)?
                }
                RequestStatus::Rejected { reason } => {
                    templates::request_rejected(mail, &email, &about, reason)?
                }
                _ => return Ok(None),
            }
        }
        LetterKind::CodeRequest => return Ok(None),
    };
    Ok(Some(message.into()))
}

/// A temporary password: made now, its digest stored (replacing any earlier one).
async fn temporary_password(
    ctx: &Context,
    account: &Account,
    email: &Email,
    language: crate::pages::Language,
) -> Result<Message, LetterError> {
    let code = &account.code;
    let password = temporary::generate();
    let digest = temporary::digest(&password.replace('-', ""));
    let token = cancel_token();
    let expires_at = unix_now() + ctx.config.credential_requests.validity.as_secs();
    let key = cancel_key(&token);
    store::update(&*ctx.store, code, |credentials| {
        credentials.issue_temporary(&digest, expires_at, &key);
        Change::Save(())
    })
    .await?;
    let cancel_url = ctx.respond.links.absolute(&format!(
        "{}?code={}&token={token}",
        ctx.respond.links.cancel(),
        urlencode(code.as_str()),
    ));
    let message = templates::temporary_password(
        &ctx.config.mail,
        &TemporaryPasswordEmail {
            account,
            to: email,
            password: &password,
            valid_until: &ctx.respond.clock.minute(expires_at),
            cancel_url: &cancel_url,
            language,
        },
    )?;
    Ok(message)
}

/// A contact person's request, mailed to customer service's own address (if there is one).
async fn to_customer_service(
    ctx: &Context,
    letter: &Letter,
) -> Result<Option<Message>, LetterError> {
    let Some(to) = &ctx.config.mail.customer_service_email else {
        return Ok(None);
    };
    let (Some(request), Some(contact)) = (
        request_of(ctx, letter).await?,
        ctx.directory.account(&letter.user_code).await?,
    ) else {
        return Ok(None);
    };
    let client = client_name(ctx, &request.client).await?;
    let about = RequestLetter {
        request: &request,
        contact: &contact,
        client: &client,
        language: letter.language,
    };
    Ok(Some(templates::code_request(&ctx.config.mail, to, &about)?))
}

async fn request_of(ctx: &Context, letter: &Letter) -> Result<Option<CodeRequest>, StoreError> {
    match &letter.request {
        Some(id) => ctx.store.request(id).await,
        None => Ok(None),
    }
}

async fn client_name(ctx: &Context, id: &str) -> Result<String, StoreError> {
    Ok(ctx
        .directory
        .client(id)
        .await?
        .map_or_else(|| id.to_owned(), |c| c.name.clone()))
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

/// Why a letter could not be written (logged; the letter is retried).
#[derive(Debug, thiserror::Error)]
pub(crate) enum LetterError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
}
