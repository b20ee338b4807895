//! The cost of one rate-limit check through the in-process store: what every sign-in and
//! credential request pays per limit before anything else happens.
//!
//! `cargo bench --bench limits`

use criterion::{criterion_group, criterion_main, Criterion};
use guichet::limit::{Limit, Rate};
use guichet::store::memory::MemoryStore;
use guichet::store::{RateLimitStore, ThrottleStore};

fn check(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let store = MemoryStore::new();
    let mut group = c.benchmark_group("limit_check");
    // A generous rate, so the measured path is the usual "admitted" one.
    let generous = Rate::per_second(1_000_000_000);
    group.bench_function("per_ip_admitted", |b| {
        b.iter(|| {
            runtime.block_on(store.check(
                Limit::SignInPerIp,
                std::hint::black_box("192.0.2.7"),
                generous,
            ))
        })
    });

    let three = Rate::per_hour(3);
    for _ in 0..3 {
        let _ = runtime.block_on(store.check(Limit::RequestPerUserCode, "ACME-0042", three));
    }
    group.bench_function("per_code_refused", |b| {
        b.iter(|| {
            runtime.block_on(store.check(
                Limit::RequestPerUserCode,
                std::hint::black_box("ACME-0042"),
                three,
            ))
        })
    });

    let mut key = 0u32;
    let keys: Vec<String> = (0..10_000).map(|k| format!("ACME-{k:05}")).collect();
    let hundred = Rate::per_hour(100);
    group.bench_function("throttle_reserve_10k_keys", |b| {
        b.iter(|| {
            key = (key + 1) % 10_000;
            runtime.block_on(store.reserve(
                Limit::SignInPerUserCode,
                std::hint::black_box(&keys[key as usize]),
                hundred,
            ))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = check
}
criterion_main!(benches);
