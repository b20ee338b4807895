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
}

impl Letter {
    /// A letter of `kind` for the account `user_code`, in `language`.
    pub fn new(kind: LetterKind, user_code: UserCode, language: Language) -> Self {
        Self {
            kind,
            user_code,
            language,
        }
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
}
