use serde::{Deserialize, Serialize};

use crate::identity::UserCode;
use crate::pages::Language;

/// What to send, and to whom: never the message itself. The temporary password is generated
/// when the letter is delivered, so no queue (in memory or in Redis) ever holds a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Letter {
    /// Which email.
    #[serde(rename = "k")]
    pub kind: LetterKind,
    /// For which account (its stored address is looked up at delivery).
    #[serde(rename = "u")]
    pub user_code: UserCode,
    /// In which language.
    #[serde(rename = "l")]
    pub language: Language,
    /// The contact person's request the letter is about, if any.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

impl Letter {
    /// A letter of `kind` for the account `user_code`, in `language`.
    pub fn new(kind: LetterKind, user_code: UserCode, language: Language) -> Self {
        Self {
            kind,
            user_code,
            language,
            request: None,
        }
    }

    /// The same letter, about the contact person's request `id`.
    pub fn about_request(mut self, id: impl Into<String>) -> Self {
        self.request = Some(id.into());
        self
    }
}

/// The emails guichet sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LetterKind {
    /// A fresh temporary password (issued at delivery, replacing any pending one).
    TemporaryPassword,
    /// The shared-inbox notice: no credential, call customer service.
    SharedInboxNotice,
    /// The account's user code, re-sent by customer service (never a password).
    UserCode,
    /// Every user code whose account uses the account's mailbox, re-sent by customer service.
    UserCodes,
    /// Welcome to a new employee: their user code, and how to get a password by email.
    Welcome,
    /// To customer service: a contact person's request for user codes (the letter's account
    /// is the contact person).
    CodeRequest,
    /// To the contact person: their request was approved, with the new user codes.
    RequestApproved,
    /// To the contact person: their request was rejected, and why.
    RequestRejected,
}
