//! Shared inboxes: addresses more than one person reads, where a credential must never go.
//!
//! The FAQ asks people with a shared address not to request their password by email and to
//! call customer service instead. guichet enforces it: before anything is mailed, it
//! says whether the stored address is shared and which rule says so. The policy
//! ([`SharedInboxPolicy`](crate::config::SharedInboxPolicy)) then sends a notice without any
//! credential (default) or nothing; an audit event records the account and the rule either way.

use unicode_normalization::UnicodeNormalization;

use std::sync::Arc;

use crate::config::SharedInboxConfig;
use crate::error::StoreError;
use crate::identity::{Account, Email};
use crate::store::Directory;

/// Which rule found the address shared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SharedInboxRule {
    /// An operator flagged the account (`shared_inbox = true`).
    OperatorFlag,
    /// The same mailbox (case and `+tag` ignored) is on this many accounts.
    SharedAddress {
        /// How many accounts use it (two or more).
        accounts: usize,
    },
    /// The local part names a role, not a person (`info@`, `comptabilite@`, ...).
    RoleAddress {
        /// The local part that matched.
        local_part: String,
    },
}

impl SharedInboxRule {
    /// `operator`, `shared-address` or `role-address`: the stable name in JSON and logs.
    pub fn name(&self) -> &'static str {
        match self {
            SharedInboxRule::OperatorFlag => "operator",
            SharedInboxRule::SharedAddress { .. } => "shared-address",
            SharedInboxRule::RoleAddress { .. } => "role-address",
        }
    }
}

/// Whether `email`, the stored address of `account`, is a shared inbox.
pub(crate) async fn detect(
    account: &Account,
    email: &Email,
    directory: &dyn Directory,
    config: &SharedInboxConfig,
) -> Result<Option<SharedInboxRule>, StoreError> {
    if account.shared_inbox {
        return Ok(Some(SharedInboxRule::OperatorFlag));
    }
    let found = directory.accounts_with_email(email).await?;
    Ok(rule(email, &found, config))
}

/// Whether `email` is a shared inbox, given the accounts that use it.
pub(crate) fn rule(
    email: &Email,
    accounts: &[Arc<Account>],
    config: &SharedInboxConfig,
) -> Option<SharedInboxRule> {
    if accounts.iter().any(|a| a.shared_inbox) {
        return Some(SharedInboxRule::OperatorFlag);
    }
    let local_part = email.local_part();
    if config.role_addresses.iter().any(|role| {
        role.nfc()
            .collect::<String>()
            .to_lowercase()
            .nfc()
            .eq(local_part.chars())
    }) {
        return Some(SharedInboxRule::RoleAddress { local_part });
    }
    (accounts.len() >= 2).then_some(SharedInboxRule::SharedAddress {
        accounts: accounts.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::CasePolicy;
    use crate::store::memory::AccountsFile;

    const FILE: &str = r#"
        [[client]]
        id = "acme"
        name = "Acme"
        contact = "A-1"
        [[account]]
        code = "A-1"
        name = "Marie"
        email = "marie@acme.example"
        client = "acme"
        [[account]]
        code = "A-2"
        name = "Luc"
        email = "Luc+portal@acme.example"
        client = "acme"
        [[account]]
        code = "A-3"
        name = "Lucie"
        email = "LUC@acme.example"
        client = "acme"
        [[account]]
        code = "A-4"
        name = "Réception"
        email = "Comptabilite+factures@acme.example"
        client = "acme"
        [[account]]
        code = "A-6"
        name = "Sécurité"
        email = "se\u0301curite\u0301@acme.example"
        client = "acme"
        [[account]]
        code = "A-5"
        name = "Paul"
        email = "paul@acme.example"
        client = "acme"
        shared_inbox = true
    "#;

    async fn rule(code: &str) -> Option<SharedInboxRule> {
        let dir = AccountsFile::from_toml(FILE, CasePolicy::Insensitive).unwrap();
        let code = crate::identity::UserCode::parse(code, CasePolicy::Insensitive).unwrap();
        let account = dir.account(&code).await.unwrap().unwrap();
        let email = account.email.clone().unwrap();
        detect(&account, &email, &dir, &SharedInboxConfig::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_personal_address_is_not_shared() {
        assert_eq!(rule("A-1").await, None);
    }

    #[tokio::test]
    async fn one_mailbox_on_two_accounts_is_shared_whatever_the_case_and_tags() {
        assert_eq!(
            rule("A-2").await,
            Some(SharedInboxRule::SharedAddress { accounts: 2 })
        );
        assert_eq!(
            rule("A-3").await,
            Some(SharedInboxRule::SharedAddress { accounts: 2 })
        );
    }

    #[tokio::test]
    async fn role_addresses_are_shared() {
        assert_eq!(
            rule("A-4").await,
            Some(SharedInboxRule::RoleAddress {
                local_part: "comptabilite".into()
            })
        );
    }

    #[tokio::test]
    async fn a_decomposed_role_address_is_still_a_role_address() {
        assert_eq!(
            rule("A-6").await,
            Some(SharedInboxRule::RoleAddress {
                local_part: "sécurité".into()
            })
        );
    }

    #[tokio::test]
    async fn the_operator_flag_is_enough() {
        assert_eq!(rule("A-5").await, Some(SharedInboxRule::OperatorFlag));
    }

    #[test]
    fn a_role_address_is_normalised_like_the_address() {
        // Lower-casing `İ` leaves a combining dot above that NFC must move after the Hebrew
        // point: the role and the address's local part must both end in NFC to be compared.
        let config = SharedInboxConfig {
            role_addresses: vec!["x\u{130}\u{5b3}".into()],
            ..Default::default()
        };
        let email = Email::parse("xi\u{307}\u{5b3}@acme.example").unwrap();
        assert!(matches!(
            super::rule(&email, &[], &config),
            Some(SharedInboxRule::RoleAddress { .. })
        ));
    }
}
