//! Same time for known and unknown user codes, with the real (OWASP) argon2 parameters.
//!
//! Not a precise timing test (the load script measures the 1.00 ± 0.05 figure): medians of
//! interleaved attempts, with a bound loose enough that CI noise cannot fail it, and tight
//! enough that skipping the password check for unknown codes (a ratio near 0) always would.

mod common;

use std::time::{Duration, Instant};

use common::*;
use guichet::config::PasswordConfig;
use guichet::limit::Rate;
use http::StatusCode;

async fn timed(portal: &Portal, user_code: &str, password: &str) -> Duration {
    let started = Instant::now();
    let reply = portal
        .post("/auth/login")
        .accept_json()
        .form(&[("user_code", user_code), ("password", password)])
        .send()
        .await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{user_code}");
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_code_takes_as_long_as_a_wrong_password() {
    let portal = Portal::with(
        |config| {
            config.passwords = PasswordConfig::default();
            config.sign_in.failures_per_code = Rate::per_hour(1000);
            config.sign_in.attempts_per_ip = Rate::per_minute(1000);
        },
        |b| b,
    )
    .await;
    assert_eq!(
        (
            portal.guichet.config().passwords.memory_kib,
            portal.guichet.config().passwords.iterations
        ),
        (19 * 1024, 2),
        "the real parameters"
    );

    let cases: [(&str, &str); 3] = [
        (NOBODY, "Bonjour-Nobody-2026"),
        (MARIE, "Bonjour-Marie-2025"),
        (RECEPTION, "Bonjour-Reception-2026"),
    ];
    for (user_code, password) in cases {
        timed(&portal, user_code, password).await; // warm up
    }
    // Skipping the password check for unknown codes gives a ratio near 0 in every attempt; a
    // loaded machine may spoil one attempt, not three.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut samples: [Vec<Duration>; 3] = Default::default();
        for round in 0..10 {
            // Rotate the order so slow drift (other processes, CPU frequency) hits all alike.
            for i in 0..cases.len() {
                let which = (i + round) % cases.len();
                let (user_code, password) = cases[which];
                samples[which].push(timed(&portal, user_code, password).await);
            }
        }
        let [unknown, wrong, no_password] = samples.map(median);
        // The bound means something only if a password check is a good part of the answer.
        assert!(
            wrong > Duration::from_millis(5),
            "an OWASP argon2 verification takes milliseconds: {wrong:?}"
        );
        let ratios = (
            unknown.as_secs_f64() / wrong.as_secs_f64(),
            no_password.as_secs_f64() / wrong.as_secs_f64(),
        );
        eprintln!(
            "medians: unknown {unknown:?}, wrong password {wrong:?}, no password {no_password:?}"
        );
        if (0.7..=1.4).contains(&ratios.0) && (0.7..=1.4).contains(&ratios.1) {
            return;
        }
        seen.push(ratios);
    }
    panic!("unknown code and no-password ratios to a wrong password, per attempt: {seen:?}");
}
