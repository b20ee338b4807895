//! `toml::from_str::<Config>` then `validate()`: anything is refused or gives a configuration
//! whose derived values can be computed, and which saves and loads back the same.
#![no_main]

use guichet::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = toml::from_str::<Config>(text) else {
        return;
    };
    if config.validate().is_err() {
        return;
    }
    let _ = config.sessions.touch_after();
    assert!(config.passwords.permits() >= 1);
    let _ = config.cookies.name();
    for rate in [
        config.sign_in.failures_per_code,
        config.sign_in.attempts_per_ip,
        config.credential_requests.per_user_code,
        config.credential_requests.per_email,
        config.credential_requests.per_ip,
        config.credential_requests.global,
    ] {
        assert!(rate.count() >= 1);
        let _ = rate.interval();
    }
    let saved = toml::to_string(&config)
        .unwrap_or_else(|e| panic!("a valid configuration does not save: {e}\n{text}"));
    let loaded = toml::from_str::<Config>(&saved)
        .unwrap_or_else(|e| panic!("a saved configuration does not load: {e}\n{saved}"));
    loaded
        .validate()
        .unwrap_or_else(|e| panic!("a saved configuration is not valid: {e}\n{saved}"));
    assert_eq!(
        toml::to_string(&loaded).expect("saves"),
        saved,
        "saving, loading and saving again changed the configuration"
    );
});
