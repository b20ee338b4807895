//! Customer service: what the staff behind the counter do, from Rust. The `guichet` command
//! line is a thin shell over it, and an application's own back office can call it too.
//!
//! ```no_run
//! # async fn run(guichet: guichet::Guichet) -> Result<(), Box<dyn std::error::Error>> {
//! let service = guichet.customer_service("marc.lefebvre");
//! let code = guichet.user_code("ACME-002")?;
//! // Someone on the phone whose address is a shared inbox: read a temporary password out.
//! let issued = service.issue_password(&code, std::time::Duration::from_secs(24 * 3600)).await?;
//! println!("{}", issued.password);
//! # Ok(()) }
//! ```
//!
//! Every action is an audit event naming the operator, the action and the account
//! ([`AuditEvent::CustomerService`]). Writing accounts needs a directory guichet can write (an
//! [`AccountStore`], given with [`GuichetBuilder::accounts`](crate::GuichetBuilder::accounts));
//! with a read-only directory those actions answer [`ServiceError::ReadOnly`].

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use serde::Serialize;

use crate::audit::{AuditEvent, ServiceAction, WithheldReason};
use crate::context::Context;
use crate::error::StoreError;
use crate::identity::{Account, AccountStatus, Email, ServiceName, UserCode};
use crate::inbox::{self, SharedInboxRule};
use crate::letters::{self, Recipient};
use crate::limit::Limit;
use crate::mail::{Letter, LetterKind};
use crate::password::temporary;
use crate::session::{lifecycle, unix_now};
use crate::store::memory::AccountsImport;
use crate::store::{self, AccountStore, Change, CodeRequest, RequestStatus};

/// The longest a temporary password may last, read out on the phone or emailed (its
/// `credential_requests.validity`): 24 hours.
pub const MAX_ISSUED_VALIDITY: Duration = crate::config::MAX_TEMPORARY_VALIDITY;

/// What an operator's action could not do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// No such account, client, address or request.
    #[error("not found: {0}")]
    NotFound(String),
    /// The action was refused, and why (a shared inbox without `--force`, a request already
    /// decided, a service the client does not subscribe to, ...).
    #[error("refused: {0}")]
    Refused(String),
    /// The directory is read-only (the application's own), so accounts cannot be written here.
    #[error("the directory is read-only: accounts are written where the application keeps them")]
    ReadOnly,
    /// A store could not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything an operator sees about one account (`guichet accounts show`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AccountReport {
    /// The user code.
    pub code: UserCode,
    /// The display name.
    pub name: String,
    /// The stored address.
    pub email: Option<String>,
    /// The client.
    pub client: String,
    /// The services.
    pub services: Vec<ServiceName>,
    /// `active` or `disabled` (in the directory, or at run time).
    pub status: AccountStatus,
    /// Whether its address is a shared inbox, and why.
    pub shared_inbox: InboxReport,
    /// Live sessions.
    pub sessions: usize,
    /// A temporary password is waiting, or a restricted session is open with one.
    pub temporary_password_pending: bool,
    /// The sign-in throttle refuses attempts now.
    pub throttled: bool,
}

/// Whether an address is a shared inbox (`guichet inbox check`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct InboxReport {
    /// Shared: no credential is ever mailed there.
    pub shared: bool,
    /// Why: `operator`, `shared-address`, `role-address`, or nothing.
    pub reason: Option<&'static str>,
    /// The accounts that use the address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<UserCode>,
}

/// A temporary password issued by an operator, shown once.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct IssuedPassword {
    /// Whose.
    pub code: UserCode,
    /// The password, grouped for reading out (`7KQM-3XTA-...`).
    pub password: String,
    /// When it stops working, unix seconds.
    pub expires_at: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// Clients created or changed.
    pub clients: usize,
    /// Accounts created.
    pub created: usize,
    /// Accounts changed.
    pub updated: usize,
    /// Accounts as they were.
    pub unchanged: usize,
    /// Accounts whose password the file changed: their sessions ended.
    pub signed_out: usize,
}

/// A new account an operator adds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewAccount {
    /// The client.
    pub client: String,
    /// Full name.
    pub name: String,
    /// Where mail goes.
    pub email: Email,
    /// Services (the client's if empty).
    pub services: Vec<ServiceName>,
    /// A code of the operator's choice; the next free one in the client's pattern otherwise.
    pub code: Option<UserCode>,
}

impl NewAccount {
    /// A new account of `client`, with the client's services and the next free code.
    pub fn new(client: impl Into<String>, name: impl Into<String>, email: Email) -> Self {
        Self {
            client: client.into(),
            name: name.into(),
            email,
            services: Vec::new(),
            code: None,
        }
    }
}

/// A request approved: the accounts made, one per person.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Approved {
    /// The request.
    pub id: String,
    /// The accounts created.
    pub accounts: Vec<CreatedAccount>,
}

/// One account made by an approval.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CreatedAccount {
    /// Its user code.
    pub code: UserCode,
    /// The person's name.
    pub name: String,
    /// The person's address.
    pub email: String,
}

/// Customer service's actions on one [`Guichet`](crate::Guichet), in the name of an operator.
#[derive(Clone)]
pub struct CustomerService {
    ctx: Arc<Context>,
    operator: String,
}

impl std::fmt::Debug for CustomerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerService")
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

impl CustomerService {
    pub(crate) fn new(ctx: Arc<Context>, operator: impl Into<String>) -> Self {
        Self {
            ctx,
            operator: operator.into(),
        }
    }

    fn audit(&self, action: ServiceAction) {
        self.ctx.audit.emit(&AuditEvent::CustomerService {
            operator: self.operator.clone(),
            action,
        });
    }

    fn writable(&self) -> Result<&Arc<dyn AccountStore>, ServiceError> {
        self.ctx.accounts.as_ref().ok_or(ServiceError::ReadOnly)
    }

    async fn account_or_not_found(&self, code: &UserCode) -> Result<Arc<Account>, ServiceError> {
        self.ctx
            .directory
            .account(code)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("account {code}")))
    }

    /// Accounts ordered by code, of one client or all (`guichet accounts list`).
    pub async fn accounts(&self, client: Option<&str>) -> Result<Vec<Arc<Account>>, ServiceError> {
        let accounts = self.writable()?;
        if let Some(client) = client {
            if self.ctx.directory.client(client).await?.is_none() {
                return Err(ServiceError::NotFound(format!("client {client}")));
            }
        }
        let mut all = Vec::new();
        loop {
            let page = accounts
                .accounts(client, all.last().map(|a: &Arc<Account>| &a.code), 500)
                .await?;
            let done = page.len() < 500;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// Whether the directory holds any account at all.
    pub async fn any_account(&self) -> Result<bool, ServiceError> {
        Ok(!self.writable()?.accounts(None, None, 1).await?.is_empty())
    }

    /// Everything about one account (`guichet accounts show`).
    pub async fn account(&self, code: &UserCode) -> Result<AccountReport, ServiceError> {
        let account = self.account_or_not_found(code).await?;
        let credentials = self.ctx.store.credentials(code).await?.value;
        let now = unix_now();
        let sessions = self
            .ctx
            .store
            .sessions_of(code)
            .await?
            .iter()
            .filter(|record| lifecycle::is_alive(&self.ctx, record, &account, &credentials, now))
            .count();
        let shared_inbox = match &account.email {
            Some(email) => self.inbox_report(email).await?,
            None => InboxReport {
                shared: false,
                reason: None,
                accounts: Vec::new(),
            },
        };
        let limit = Limit::SignInPerUserCode;
        let throttled = self
            .ctx
            .store
            .peek(limit, code.as_str(), self.ctx.config.rate(limit))
            .await?
            .is_some();
        let disabled = account.status == AccountStatus::Disabled || credentials.is_disabled();
        Ok(AccountReport {
            code: account.code.clone(),
            name: account.name.clone(),
            email: account.email.as_ref().map(|e| e.as_str().to_owned()),
            client: account.client.clone(),
            services: account.services.clone(),
            status: if disabled {
                AccountStatus::Disabled
            } else {
                AccountStatus::Active
            },
            shared_inbox,
            sessions,
            temporary_password_pending: credentials.temporary_in_use(now),
            throttled,
        })
    }

    /// Adds an account (`guichet accounts add`): the next free code in the client's pattern
    /// unless one is given; the client's services unless some are.
    pub async fn add_account(&self, new: NewAccount) -> Result<UserCode, ServiceError> {
        let accounts = self.writable()?;
        if !crate::identity::is_plain_name(&new.name, crate::identity::MAX_ACCOUNT_NAME) {
            return Err(ServiceError::Refused(format!(
                "a name is one line of 1 to {} characters",
                crate::identity::MAX_ACCOUNT_NAME
            )));
        }
        let client = self
            .ctx
            .directory
            .client(&new.client)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("client {}", new.client)))?;
        let services = if new.services.is_empty() {
            client.services.clone()
        } else {
            new.services
        };
        if let Some(s) = client.unsubscribed(&services) {
            return Err(ServiceError::Refused(format!(
                "client {} does not subscribe to {s}",
                client.id
            )));
        }
        let account = |code: UserCode| {
            Account::new(code, new.name.trim().to_owned(), client.id.clone())
                .with_email(new.email.clone())
                .with_services(services.iter().map(|s| s.as_str()))
        };
        let code = match new.code {
            Some(code) => {
                if !accounts.create_account(&account(code.clone())).await? {
                    return Err(ServiceError::Refused(format!("user code {code} is taken")));
                }
                code
            }
            None => self.create_with_next_code(&client.id, account).await?,
        };
        self.audit(ServiceAction::AccountAdded {
            user_code: code.clone(),
        });
        Ok(code)
    }

    /// Creates `make(code)` with the next free code of `client`.
    async fn create_with_next_code(
        &self,
        client: &str,
        make: impl Fn(UserCode) -> Account,
    ) -> Result<UserCode, ServiceError> {
        let accounts = self.writable()?;
        let pattern = CodePattern::new(&self.ctx.config.accounts.code_pattern, client);
        let mut next = self
            .accounts(Some(client))
            .await?
            .iter()
            .filter_map(|a| pattern.number(a.code.as_str()))
            .max()
            .map_or(1, |n| n + 1);
        for _ in 0..1000 {
            let code = UserCode::parse(&pattern.code(next), self.ctx.config.user_codes.case)
                .map_err(|e| ServiceError::Refused(format!("the code pattern makes {e}")))?;
            if accounts.create_account(&make(code.clone())).await? {
                return Ok(code);
            }
            next += 1;
        }
        Err(ServiceError::Refused(format!(
            "no free user code for client {client}"
        )))
    }

    /// Disables the account: its sessions end, sign-ins fail (`guichet accounts disable`).
    pub async fn disable(&self, code: &UserCode) -> Result<(), ServiceError> {
        self.set_status(code, AccountStatus::Disabled).await?;
        self.audit(ServiceAction::AccountDisabled {
            user_code: code.clone(),
        });
        Ok(())
    }

    /// Enables the account again (`guichet accounts enable`); ended sessions stay ended.
    pub async fn enable(&self, code: &UserCode) -> Result<(), ServiceError> {
        self.set_status(code, AccountStatus::Active).await?;
        self.audit(ServiceAction::AccountEnabled {
            user_code: code.clone(),
        });
        Ok(())
    }

    async fn set_status(&self, code: &UserCode, status: AccountStatus) -> Result<(), ServiceError> {
        let account = self.account_or_not_found(code).await?;
        if let Some(accounts) = &self.ctx.accounts {
            let changed = (*account).clone().with_status(status);
            accounts.put_account(&changed).await?;
        }
        let disabled = status == AccountStatus::Disabled;
        store::update(&*self.ctx.store, code, |c| {
            if c.set_disabled(disabled) {
                Change::Save(())
            } else {
                Change::Keep(())
            }
        })
        .await?;
        Ok(())
    }

    /// Imports an accounts file (`guichet accounts import`, and `GUICHET_USERS` at every
    /// start): each client and account in it is created or updated by its identifier; those
    /// not in it are kept. The file may name clients and contact persons the store already
    /// holds; every name must be found in the file or the store, and the store's accounts must
    /// stay consistent with the clients the file changes, or nothing is written. An account
    /// whose `password_hash` the file changed is signed out everywhere (its old password stops
    /// working, and so do sessions opened with it).
    pub async fn import(&self, file: &AccountsImport) -> Result<ImportReport, ServiceError> {
        let file = file.file();
        let accounts = self.writable()?;
        let mut report = ImportReport::default();
        let clients = accounts.clients().await?;
        // Compare with what is stored, page by page in code order, so an unchanged file writes
        // nothing; only the changed accounts are written, in one batch.
        let mut stored = std::collections::HashMap::new();
        let mut after: Option<UserCode> = None;
        loop {
            let page = accounts.accounts(None, after.as_ref(), 1000).await?;
            let done = page.len() < 1000;
            after = page.last().map(|a| a.code.clone());
            stored.extend(page.into_iter().map(|a| (a.code.clone(), a)));
            if done {
                break;
            }
        }
        // The file may name clients and contact persons that only the store holds.
        file.check_references(
            |id| clients.iter().find(|c| c.id == id).cloned(),
            |code| stored.get(code).cloned(),
        )
        .and_then(|()| file.check_kept(clients.iter().map(|c| &**c), stored.values().map(|a| &**a)))
        .map_err(|reason| ServiceError::Refused(format!("accounts file: {reason}")))?;
        for client in file.clients() {
            if !clients.iter().any(|c| **c == *client) {
                accounts.put_client(client).await?;
                report.clients += 1;
            }
        }
        let mut changed = Vec::new();
        let mut sign_out = Vec::new();
        for account in file.accounts() {
            match stored.get(&account.code) {
                None => {
                    report.created += 1;
                    changed.push(account.clone());
                }
                Some(before) if **before == *account => report.unchanged += 1,
                Some(before) => {
                    report.updated += 1;
                    if before.password_hash != account.password_hash {
                        sign_out.push(account.code.clone());
                    }
                    changed.push(account.clone());
                }
            }
        }
        drop(stored);
        accounts.put_accounts(&changed).await?;
        for code in &sign_out {
            store::update(&*self.ctx.store, code, |c| Change::Save(c.move_epoch())).await?;
        }
        report.signed_out = sign_out.len();
        if report.clients + report.created + report.updated > 0 {
            self.audit(ServiceAction::AccountsImported {
                created: report.created,
                updated: report.updated,
            });
        }
        Ok(report)
    }

    /// Issues a temporary password to read out on the phone (`guichet password issue`): the
    /// same rules as the emailed one (single use, a restricted session, stored as a digest),
    /// valid `valid` (at most [`MAX_ISSUED_VALIDITY`]). It replaces any pending one.
    pub async fn issue_password(
        &self,
        code: &UserCode,
        valid: Duration,
    ) -> Result<IssuedPassword, ServiceError> {
        if valid.is_zero() || valid > MAX_ISSUED_VALIDITY {
            return Err(ServiceError::Refused(
                "a temporary password lasts between 1 second and 24 hours".into(),
            ));
        }
        let account = self.account_or_not_found(code).await?;
        let credentials = self.ctx.store.credentials(code).await?.value;
        if account.status == AccountStatus::Disabled || credentials.is_disabled() {
            return Err(ServiceError::Refused(format!("account {code} is disabled")));
        }
        let password = temporary::generate();
        let digest = temporary::digest(&password.replace('-', ""));
        // No email, so no "this wasn't me" link: the key only names the restricted session.
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let expires_at = unix_now() + valid.as_secs();
        store::update(&*self.ctx.store, code, |c| {
            c.issue_temporary(&digest, expires_at, &key);
            Change::Save(())
        })
        .await?;
        self.audit(ServiceAction::TemporaryPasswordIssued {
            user_code: code.clone(),
        });
        Ok(IssuedPassword {
            code: code.clone(),
            password,
            expires_at,
        })
    }

    /// Emails the user code(s) of an account, or of every account at an address
    /// (`guichet code send`), never a password; to a shared inbox only when `force`d.
    /// Returns the codes sent.
    pub async fn send_code(
        &self,
        code_or_email: &str,
        force: bool,
    ) -> Result<Vec<UserCode>, ServiceError> {
        let (to, kind, codes) = match Email::parse(code_or_email) {
            Ok(email) if code_or_email.contains('@') => {
                let mut all = self.ctx.directory.accounts_with_email(&email).await?;
                if all.is_empty() {
                    let address = email.as_str();
                    return Err(ServiceError::NotFound(format!("no account uses {address}")));
                }
                all.sort_by(|a, b| a.code.cmp(&b.code));
                // The letter lists, and goes in the name of, the accounts that may receive it.
                let reachable = letters::reachable(&self.ctx, all).await?;
                let first = reachable.first().cloned().ok_or_else(|| {
                    let address = email.as_str();
                    ServiceError::Refused(format!("every account at {address} is disabled"))
                })?;
                let codes = reachable.iter().map(|a| a.code.clone()).collect();
                (
                    Recipient {
                        account: first,
                        email,
                    },
                    LetterKind::UserCodes,
                    codes,
                )
            }
            _ => {
                let code = UserCode::parse(code_or_email, self.ctx.config.user_codes.case)
                    .map_err(|e| {
                        ServiceError::NotFound(format!("account {code_or_email:?}: {e}"))
                    })?;
                // Checked as delivery will check it, so a letter said to be sent is sent.
                let recipient =
                    letters::recipient(&self.ctx, &code)
                        .await?
                        .map_err(|why| match why {
                            WithheldReason::UnknownCode => {
                                ServiceError::NotFound(format!("account {code}"))
                            }
                            WithheldReason::NoEmail => ServiceError::Refused(format!(
                                "account {code} has no address on file"
                            )),
                            _ => ServiceError::Refused(format!("account {code} is disabled")),
                        })?;
                (recipient, LetterKind::UserCode, vec![code])
            }
        };
        let Recipient {
            account: first,
            email,
        } = to;
        let report = self.inbox_report(&email).await?;
        if report.shared && !force {
            return Err(ServiceError::Refused(format!(
                "{} is a shared inbox ({}): send anyway with --force, or read the code out on the phone",
                email.as_str(),
                report.reason.unwrap_or("shared")
            )));
        }
        let letter = Letter::new(
            kind,
            first.code.clone(),
            self.ctx.config.pages.default_language,
        );
        if !letters::post(&self.ctx, &letter).await? {
            return Err(ServiceError::Refused("the mail queue is full".into()));
        }
        self.audit(ServiceAction::UserCodesSent {
            user_codes: codes.clone(),
            forced: force && report.shared,
        });
        Ok(codes)
    }

    /// Ends every session of the account (`guichet sessions revoke`).
    pub async fn revoke_sessions(&self, code: &UserCode) -> Result<(), ServiceError> {
        self.account_or_not_found(code).await?;
        store::update(&*self.ctx.store, code, |c| Change::Save(c.move_epoch())).await?;
        self.audit(ServiceAction::SessionsRevoked {
            user_code: code.clone(),
        });
        Ok(())
    }

    /// Forgets the account's failed sign-ins (`guichet throttle clear`).
    pub async fn clear_throttle(&self, code: &UserCode) -> Result<(), ServiceError> {
        for limit in [
            Limit::SignInPerUserCode,
            Limit::TemporaryPasswordPerUserCode,
        ] {
            self.ctx.store.clear(limit, code.as_str()).await?;
        }
        self.audit(ServiceAction::ThrottleCleared {
            user_code: code.clone(),
        });
        Ok(())
    }

    /// Marks every account at this address as a shared inbox (`guichet inbox mark`).
    pub async fn mark_inbox(&self, email: &Email) -> Result<Vec<UserCode>, ServiceError> {
        self.flag_inbox(email, true).await
    }

    /// Takes the operator's mark off the accounts at this address (`guichet inbox unmark`);
    /// the address may still be shared by the other rules.
    pub async fn unmark_inbox(&self, email: &Email) -> Result<Vec<UserCode>, ServiceError> {
        self.flag_inbox(email, false).await
    }

    async fn flag_inbox(&self, email: &Email, shared: bool) -> Result<Vec<UserCode>, ServiceError> {
        let accounts = self.writable()?;
        let found = self.ctx.directory.accounts_with_email(email).await?;
        if found.is_empty() {
            return Err(ServiceError::NotFound(format!(
                "no account uses {}",
                email.as_str()
            )));
        }
        for account in &found {
            accounts
                .put_account(&(**account).clone().with_shared_inbox(shared))
                .await?;
        }
        let codes: Vec<UserCode> = found.iter().map(|a| a.code.clone()).collect();
        let action = if shared {
            ServiceAction::InboxMarked {
                email: email.as_str().to_owned(),
            }
        } else {
            ServiceAction::InboxUnmarked {
                email: email.as_str().to_owned(),
            }
        };
        self.audit(action);
        Ok(codes)
    }

    /// Whether an address is a shared inbox, and why (`guichet inbox check`).
    pub async fn check_inbox(&self, email: &Email) -> Result<InboxReport, ServiceError> {
        self.inbox_report(email).await
    }

    async fn inbox_report(&self, email: &Email) -> Result<InboxReport, ServiceError> {
        let found = self.ctx.directory.accounts_with_email(email).await?;
        let rule = inbox::rule(email, &found, &self.ctx.config.shared_inbox);
        Ok(InboxReport {
            shared: rule.is_some(),
            reason: rule.as_ref().map(SharedInboxRule::name),
            accounts: found.iter().map(|a| a.code.clone()).collect(),
        })
    }

    /// Contact persons' requests, oldest first; only those waiting unless `all`
    /// (`guichet requests list`).
    pub async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, ServiceError> {
        Ok(self.ctx.store.requests(all).await?)
    }

    /// Approves a request (`guichet requests approve`): one account per person, with a new code
    /// in the client's pattern and the client's services; each person gets a welcome letter
    /// with their code and the "email me my password" link (never a password), and the contact
    /// person is told.
    pub async fn approve(&self, id: &str) -> Result<Approved, ServiceError> {
        let request = self.pending(id).await?;
        let client = self
            .ctx
            .directory
            .client(&request.client)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("client {}", request.client)))?;
        let mut created = Vec::new();
        for person in &request.people {
            let code = self
                .create_with_next_code(&client.id, |code| {
                    Account::new(code, person.name.clone(), client.id.clone())
                        .with_email(person.email.clone())
                        .with_services(client.services.iter().map(|s| s.as_str()))
                })
                .await?;
            created.push(CreatedAccount {
                code,
                name: person.name.clone(),
                email: person.email.as_str().to_owned(),
            });
        }
        let decided = CodeRequest {
            status: RequestStatus::Approved {
                accounts: created.iter().map(|a| a.code.clone()).collect(),
            },
            decided_at: Some(unix_now()),
            ..request.clone()
        };
        if !self.ctx.store.decide_request(&decided).await? {
            // Another operator decided meanwhile: the accounts made here must not be used.
            for made in &created {
                self.set_status(&made.code, AccountStatus::Disabled).await?;
            }
            return Err(ServiceError::Refused(format!(
                "request {id} was decided by someone else meanwhile; the accounts made here are disabled"
            )));
        }
        let language = self.ctx.config.pages.default_language;
        for made in &created {
            letters::post(
                &self.ctx,
                &Letter::new(LetterKind::Welcome, made.code.clone(), language),
            )
            .await?;
        }
        letters::post(
            &self.ctx,
            &Letter::new(
                LetterKind::RequestApproved,
                request.contact.clone(),
                language,
            )
            .about_request(id),
        )
        .await?;
        self.audit(ServiceAction::RequestApproved {
            request: id.to_owned(),
            user_codes: created.iter().map(|a| a.code.clone()).collect(),
        });
        Ok(Approved {
            id: id.to_owned(),
            accounts: created,
        })
    }

    /// Rejects a request, with a reason the contact person is told (`guichet requests reject`).
    pub async fn reject(&self, id: &str, reason: &str) -> Result<(), ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::Refused("a reason is required".into()));
        }
        let request = self.pending(id).await?;
        let decided = CodeRequest {
            status: RequestStatus::Rejected {
                reason: reason.trim().to_owned(),
            },
            decided_at: Some(unix_now()),
            ..request.clone()
        };
        if !self.ctx.store.decide_request(&decided).await? {
            return Err(ServiceError::Refused(format!(
                "request {id} was decided meanwhile"
            )));
        }
        let language = self.ctx.config.pages.default_language;
        letters::post(
            &self.ctx,
            &Letter::new(
                LetterKind::RequestRejected,
                request.contact.clone(),
                language,
            )
            .about_request(id),
        )
        .await?;
        self.audit(ServiceAction::RequestRejected {
            request: id.to_owned(),
        });
        Ok(())
    }

    async fn pending(&self, id: &str) -> Result<CodeRequest, ServiceError> {
        let request = self
            .ctx
            .store
            .request(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("request {id}")))?;
        if request.status != RequestStatus::Pending {
            return Err(ServiceError::Refused(format!(
                "request {id} is already {}",
                request.status.name()
            )));
        }
        Ok(request)
    }
}

/// A client's code pattern: `{CLIENT}` and a run of `N` digits.
struct CodePattern {
    before: String,
    after: String,
    digits: usize,
}

impl CodePattern {
    /// The pattern for `client` (the configuration was validated: one `{N...}` in it).
    fn new(pattern: &str, client: &str) -> Self {
        let pattern = pattern.replace("{CLIENT}", &client.to_uppercase());
        let start = pattern.find("{N").unwrap_or(pattern.len());
        let end = pattern[start..]
            .find('}')
            .map_or(pattern.len(), |e| start + e + 1);
        Self {
            before: pattern[..start].to_owned(),
            after: pattern[end..].to_owned(),
            digits: end.saturating_sub(start + 2),
        }
    }

    /// The number in a code of this pattern.
    fn number(&self, code: &str) -> Option<u64> {
        let middle = code
            .strip_prefix(self.before.as_str())?
            .strip_suffix(self.after.as_str())?;
        (!middle.is_empty() && middle.bytes().all(|b| b.is_ascii_digit()))
            .then(|| middle.parse().ok())
            .flatten()
    }

    /// The code with this number.
    fn code(&self, number: u64) -> String {
        format!(
            "{}{number:0width$}{}",
            self.before,
            self.after,
            width = self.digits
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_clients_pattern() {
        let pattern = CodePattern::new("{CLIENT}-{NNN}", "acme");
        assert_eq!(pattern.code(4), "ACME-004");
        assert_eq!(pattern.code(1234), "ACME-1234");
        assert_eq!(pattern.number("ACME-042"), Some(42));
        assert_eq!(pattern.number("BETA-042"), None);
        assert_eq!(pattern.number("ACME-04x"), None);
        let pattern = CodePattern::new("C{NNNNN}-{CLIENT}", "beta");
        assert_eq!(pattern.code(7), "C00007-BETA");
        assert_eq!(pattern.number("C00007-BETA"), Some(7));
    }
}
