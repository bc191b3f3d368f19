//! `latency`: how long an event takes from being pushed into an idle queue to reaching the
//! consumer while a long poll is waiting (the loopback benchmark of `BENCHMARKS.md`).
//!
//! ```text
//! cargo run --release --example latency -- [--samples 1000] [--concurrency 1]
//! ```
//!
//! One process: a fake VOD server (5 s long-poll hold, as the service) and a
//! [`Client::deliveries_with`] stream on the same runtime. For each sample the program waits
//! until a PullEvents call has reached the fake after the previous event (so a long poll is
//! held with the queue empty), lets it settle for 5 ms, pushes one sample event and measures
//! until `stream.next()` yields it, then acknowledges it. Prints p50, p90, p99 and max on
//! stdout; the fake's counters on stderr.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use vod_events::tencent::fake::{samples, Action, FakeConfig, FakeVod};
use vod_events::tencent::{Client, Credentials};

fn arg(name: &str, default: u64) -> Result<u64, String> {
    let argv: Vec<String> = std::env::args().collect();
    match argv.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => argv
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} takes a whole number")),
    }
}

/// The `q`-quantile (0..=1) of sorted samples, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (samples_n, concurrency) = match (arg("--samples", 1000), arg("--concurrency", 1)) {
        (Ok(n), Ok(c)) if n > 0 && (1..=64).contains(&c) => (n, c as usize),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("latency: {e}");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("latency: --samples must be positive, --concurrency 1 to 64");
            return ExitCode::from(2);
        }
    };
    let fake = FakeVod::start(FakeConfig::default())
        .await
        .expect("fake server on 127.0.0.1");
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new(
            FakeConfig::DEFAULT_SECRET_ID,
            FakeConfig::DEFAULT_SECRET_KEY,
        ))
        .build()
        .expect("client");
    let mut stream = client.deliveries_with(vod_events::tencent::ConsumerOptions {
        concurrency,
        ..Default::default()
    });

    let mut latencies = Vec::with_capacity(samples_n as usize);
    let mut pulls_seen = 0;
    for i in 0..samples_n {
        // Wait for a PullEvents sent after the previous delivery, then give it time to be held.
        while fake.stats().requests_for(Action::PullEvents) <= pulls_seen {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let event = samples::cycling_sample(i).expect("sample event");
        let pushed = Instant::now();
        fake.push_event(None, event);
        let delivery = match stream.next().await {
            Some(Ok(d)) => d,
            other => {
                eprintln!("latency: stream ended or failed: {other:?}");
                return ExitCode::from(1);
            }
        };
        latencies.push(pushed.elapsed());
        pulls_seen = fake.stats().requests_for(Action::PullEvents);
        let _ = delivery.ack();
    }
    let stats = stream.shutdown().await;
    latencies.sort_unstable();
    println!(
        "latency push -> stream.next() over {} events (concurrency {concurrency}): p50 {} p90 {} p99 {} max {}",
        latencies.len(),
        ms(quantile(&latencies, 0.50)),
        ms(quantile(&latencies, 0.90)),
        ms(quantile(&latencies, 0.99)),
        ms(quantile(&latencies, 1.0)),
    );
    let fs = fake.stats();
    eprintln!(
        "latency: stream confirmed {} of {}; fake: {} pulls ({} empty), {} confirmed, {} rate limited",
        stats.confirmed,
        latencies.len(),
        fs.requests_for(Action::PullEvents),
        fs.empty_pulls,
        fs.confirmed,
        fs.rate_limited,
    );
    ExitCode::SUCCESS
}
