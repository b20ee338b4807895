//! `toml::from_str::<Config>` then `validate()`, every section (`[passwords]` with its
//! hashing threads and queue, `[accounts]`, `[pages]`, `[server]`, ...): anything is refused or
//! gives a configuration whose derived values can be computed and stay in their documented
//! bounds, and which saves and loads back the same.
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
    let threads = config.passwords.threads();
    assert!((1..=256).contains(&threads) || config.passwords.hashing_threads.is_none());
    // `Hasher::new` sizes its queue with this product: it must not overflow.
    let queue = threads.checked_mul(config.passwords.queue_per_thread);
    assert!(queue.is_some_and(|q| q >= 1));
    let pattern = &config.accounts.code_pattern;
    assert_eq!(pattern.matches("{N").count(), 1, "{pattern:?}");
    assert!(!config.server.header_read_timeout.is_zero());
    assert!(config.server.max_connections >= 1);
    assert!(config.mail.max_attempts >= 1 && config.mail.queue_capacity >= 1);
    assert!(config.sessions.absolute_timeout >= config.sessions.idle_timeout);
    let _ = config.cookies.name();
    for rate in [
        config.sign_in.failures_per_code,
        config.sign_in.attempts_per_ip,
        config.credential_requests.per_user_code,
        config.credential_requests.per_email,
        config.credential_requests.per_ip,
        config.credential_requests.global,
        config.sign_in.temporary_attempts_per_code,
        config.accounts.requests_per_contact,
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
