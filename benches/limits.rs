//! The cost of one rate-limit check, in process: what every sign-in and credential request
//! pays per limit before anything else happens.
//!
//! `cargo bench --bench limits`

use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use guichet::limit::{KeyedLimiter, Rate};

fn limiter_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("limiter_check");
    // A generous rate, so the measured path is the usual "admitted" one.
    let per_ip: KeyedLimiter<IpAddr> = KeyedLimiter::new(Rate::per_second(1_000_000_000));
    let ip: IpAddr = "192.0.2.7".parse().expect("an address");
    group.bench_function("per_ip_admitted", |b| {
        b.iter(|| per_ip.check(std::hint::black_box(&ip)))
    });

    let per_code: KeyedLimiter<String> = KeyedLimiter::new(Rate::per_hour(3));
    let code = String::from("ACME-0042");
    for _ in 0..3 {
        let _ = per_code.check(&code);
    }
    group.bench_function("per_code_refused", |b| {
        b.iter(|| per_code.check(std::hint::black_box(&code)))
    });

    let spread: KeyedLimiter<u32> = KeyedLimiter::new(Rate::per_hour(100));
    let mut key = 0u32;
    group.bench_function("per_key_10k_keys", |b| {
        b.iter(|| {
            key = (key + 1) % 10_000;
            spread.check(std::hint::black_box(&key))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = limiter_check
}
criterion_main!(benches);
