//! Helpers shared by the integration tests that drive the client and the streams against the
//! fake VOD server. Each test crate uses a subset.
#![allow(dead_code)]

pub mod log_capture;
pub mod nats;
pub mod poll_cli;
pub mod tls;

use std::time::Duration;

use vod_events::tencent::client::ClientBuilder;
use vod_events::tencent::fake::{FakeConfig, FakeVod, Fault};
use vod_events::tencent::{Client, ConsumerOptions, Credentials, RetryPolicy};

pub const ID: &str = FakeConfig::DEFAULT_SECRET_ID;
pub const KEY: &str = FakeConfig::DEFAULT_SECRET_KEY;

/// Retries fast enough for tests, with the same shape as the defaults.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        min_rate_limited_delay: Duration::from_millis(20),
    }
}

/// A client builder for `fake` with the default credentials and quick retries.
pub fn builder(fake: &FakeVod) -> ClientBuilder {
    Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new(ID, KEY))
        .retry_policy(quick_retries())
        .jitter_seed(3)
}

/// A built client for `fake`.
pub fn client(fake: &FakeVod) -> Client {
    builder(fake).build().unwrap()
}

/// Stream options scaled to the fake's short windows.
pub fn stream_options() -> ConsumerOptions {
    ConsumerOptions {
        ack_flush_interval: Duration::from_millis(20),
        // The fake's window is 500 ms: keep the margin well inside it.
        expiry_margin: Duration::from_millis(100),
        receive_backoff: RetryPolicy {
            max_attempts: u32::MAX,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            min_rate_limited_delay: Duration::from_millis(20),
        },
        ..ConsumerOptions::default()
    }
}

/// The fake's default 30 s visibility, scaled down so redelivery happens within a test.
pub async fn fake_with_window(window: Duration) -> FakeVod {
    FakeVod::start(FakeConfig {
        visibility_timeout: window,
        ..FakeConfig::fast()
    })
    .await
    .unwrap()
}

/// Polls `done` every 10 ms; panics after 10 s.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every transient fault a consumer must survive, at once: server errors, throttling,
/// resets, slow and truncated answers, garbage, actions applied but answers lost, duplicated
/// events. (`Hang` is left out: it only costs a per-attempt timeout; `OversizeBody` is a
/// configuration error, not a transient one.)
pub fn every_transient_fault() -> Vec<Fault> {
    vec![
        Fault::HttpStatus(500),
        Fault::HttpStatus(503),
        Fault::api_error("RequestLimitExceeded"),
        Fault::api_error("InternalError"),
        Fault::api_error("ServiceUnavailable"),
        Fault::Disconnect,
        Fault::Slow(Duration::from_millis(30)),
        Fault::Slow(Duration::from_millis(200)),
        Fault::TruncatedBody,
        Fault::GarbageBody,
        Fault::AppliedButLost,
        Fault::DuplicateEvents,
    ]
}
