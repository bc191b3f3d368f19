//! Per-request costs on the client side: TC3 signing and request bodies.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-perf cargo bench --bench request
//! ```
//!
//! * `sign/*`: [`sign`] of a PullEvents body (`{"SubAppId":..}`) and of a 16-handle
//!   ConfirmEvents body, with the fake server's key pair and host: everything the client does
//!   per attempt to build the `Authorization` header (key derivation, two SHA-256, one HMAC,
//!   hex and formatting); and [`sign_with_key`], the client's path, which derives the key once
//!   per UTC day.
//! * `confirm_body/*`: serialising a ConfirmEvents request of 16 handles, as the client does
//!   once per call (the handles are already owned strings at that point).
//!
//! Event decoding is in `benches/parse.rs`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vod_events::tencent::api::{ConfirmEvents, PullEvents, MAX_EVENTS_PER_CALL};
use vod_events::tencent::client::{CONTENT_TYPE_JSON, SERVICE};
use vod_events::tencent::fake::FakeConfig;
use vod_events::tencent::sign::{sign, sign_with_key, signing_key, utc_date, SigningInput};

/// 16 handles shaped like the fake's (28 hex digits; the service's are opaque strings).
fn confirm16() -> ConfirmEvents {
    ConfirmEvents {
        event_handles: (0..MAX_EVENTS_PER_CALL as u64)
            .map(|i| format!("{i:012x}{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect(),
        sub_app_id: Some(1_500_000_001),
    }
}

fn input(payload: &[u8]) -> SigningInput<'_> {
    SigningInput {
        secret_id: FakeConfig::DEFAULT_SECRET_ID,
        secret_key: FakeConfig::DEFAULT_SECRET_KEY,
        service: SERVICE,
        host: "127.0.0.1:43210",
        content_type: CONTENT_TYPE_JSON,
        timestamp: 1_767_225_600,
        payload,
    }
}

fn bench(c: &mut Criterion) {
    let pull = serde_json::to_vec(&PullEvents {
        sub_app_id: Some(1_500_000_001),
    })
    .expect("serialise");
    let confirm = confirm16();
    let confirm_bytes = serde_json::to_vec(&confirm).expect("serialise");

    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Elements(1));
    g.bench_function("PullEvents body", |b| {
        b.iter(|| black_box(sign(black_box(&input(&pull)))))
    });
    g.bench_function("ConfirmEvents body (16 handles)", |b| {
        b.iter(|| black_box(sign(black_box(&input(&confirm_bytes)))))
    });
    // What the client does per attempt: the key is derived once per UTC day and cached.
    let key = signing_key(
        FakeConfig::DEFAULT_SECRET_KEY,
        &utc_date(input(&pull).timestamp),
        SERVICE,
    );
    g.bench_function("PullEvents body, cached daily key (client path)", |b| {
        b.iter(|| black_box(sign_with_key(black_box(&input(&pull)), black_box(&key))))
    });
    g.bench_function(
        "ConfirmEvents body (16 handles), cached daily key (client path)",
        |b| {
            b.iter(|| {
                black_box(sign_with_key(
                    black_box(&input(&confirm_bytes)),
                    black_box(&key),
                ))
            })
        },
    );
    g.finish();

    let mut g = c.benchmark_group("confirm_body");
    g.throughput(Throughput::Elements(MAX_EVENTS_PER_CALL as u64));
    g.bench_function("serde_json::to_vec (16 handles)", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&confirm))))
    });
    g.bench_function("collect 16 handles + to_vec", |b| {
        // What the confirmer does per batch: move the queued handles into the request, then
        // serialise (the clone stands in for the move out of the queue).
        b.iter(|| {
            let request = ConfirmEvents {
                event_handles: black_box(&confirm.event_handles).clone(),
                sub_app_id: Some(1_500_000_001),
            };
            black_box(serde_json::to_vec(&request))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
