//! `AccountsFile::from_toml` under both case policies: anything is refused or gives a
//! directory whose every account names a known client, uses only that client's services,
//! has a normalised code, and whose contact people are normalised codes.
#![no_main]

use guichet::identity::CasePolicy;
use guichet::store::memory::AccountsFile;
use guichet::UserCode;
use libfuzzer_sys::fuzz_target;

fn check(text: &str, case: CasePolicy) {
    let Ok(file) = AccountsFile::from_toml(text, case) else {
        return;
    };
    for account in file.accounts() {
        let client = file
            .client(&account.client)
            .unwrap_or_else(|| panic!("{:?} names an unknown client", account.code));
        for service in &account.services {
            assert!(client.services.contains(service), "{:?}", account.code);
        }
        let code = account.code.as_str();
        assert_eq!(
            UserCode::parse(code, case).as_ref().map(UserCode::as_str),
            Ok(code)
        );
        if let Some(email) = &account.email {
            assert!(guichet::Email::parse(email.as_str()).is_ok());
        }
        let contact = client.contact.as_str();
        assert_eq!(
            UserCode::parse(contact, case)
                .as_ref()
                .map(UserCode::as_str),
            Ok(contact)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(text, CasePolicy::Insensitive);
    check(text, CasePolicy::Sensitive);
});
