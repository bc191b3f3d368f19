//! Fault soak: many events through the explicit-ack stream against the fake VOD server with
//! every fault on at once, the server restarted on the same port and its clock jumping
//! ±10 minutes mid-run, a visibility window shorter than the client believes, deliveries held
//! past it or dropped without ack, partially rejected confirms, unknown types and fields.
//!
//! It must end with every event confirmed, every confirmed handle one the consumer had been
//! handed and had acknowledged, and duplicates only where the service redelivered.
//!
//! - `cargo test --test soak`: the short version (2,000 events, a few seconds).
//! - `cargo test --release --test soak -- --ignored --nocapture`: the long one (25,000
//!   events; `SOAK_EVENTS=100000` for more), which prints its figures.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;
use vod_events::tencent::fake::{
    samples, ConfirmPolicy, FakeConfig, FakeState, FakeVod, FaultKind, FaultMix,
};
use vod_events::tencent::{Delivery, RetryPolicy};

mod common;
use common::{builder, every_transient_fault, stream_options};

/// What a soak run does.
struct Plan {
    events: u64,
    concurrency: usize,
    fault_probability: f64,
    /// The fake's visibility window.
    window: Duration,
    /// What the client believes a handle lives: longer than `window`, so late acks are sent
    /// and refused, in batches mixed with valid handles.
    client_handle_lifetime: Duration,
    /// Every `restart_every`, the server restarts on the same port (queue kept).
    restart_every: Duration,
    /// Every `clock_every`, the server clock jumps to +10 min or -10 min from the client's,
    /// and the confirm policy toggles between applying the valid handles of a mixed batch
    /// and rejecting the whole batch.
    clock_every: Duration,
    /// Every `hold_every`-th delivery is acknowledged only after the window passed.
    hold_every: u64,
    /// Every `drop_every`-th delivery is dropped without acknowledgement.
    drop_every: u64,
    /// Fails the run if not done by then.
    deadline: Duration,
    seed: u64,
}

/// What a soak run saw (printed; some fields are only read through `Debug`).
#[derive(Debug)]
#[allow(dead_code)]
struct Figures {
    events: u64,
    elapsed: Duration,
    faults_injected: BTreeMap<FaultKind, u64>,
    faults_total: u64,
    restarts: u64,
    clock_jumps: u64,
    signature_expired_answers: u64,
    deliveries: u64,
    redeliveries: u64,
    handed_over: u64,
    duplicates_handed_over: u64,
    dropped_without_ack: u64,
    acked_late: u64,
    confirm_requests: u64,
    partially_rejected_confirms: u64,
    confirm_handle_rejections: u64,
}

const TEN_MINUTES: i64 = 600;

/// Queues `n` events: mostly model samples, one in ten of an unknown EventType, one in ten
/// with unknown fields at the top level and inside the payload, one in 500 not matching the
/// model (a string where a number belongs).
fn push_events(state: &FakeState, n: u64) {
    let plain = n - n / 10 * 2 - n / 500;
    state.push_samples(None, plain);
    let odd = (0..n / 10).flat_map(|i| {
        let mut extra = samples::cycling_sample(1_000_000_000 + i).unwrap_or_default();
        if let Some(payload) = extra
            .as_object_mut()
            .and_then(|o| o.values_mut().find(|v| v.is_object()))
        {
            payload["BrandNewField"] = json!({"Nested": [i, "x"]});
        }
        extra["TopLevelNew"] = json!(i);
        [samples::unknown_event_sample(2_000_000_000 + i), extra]
    });
    state.push_events(None, odd);
    for i in 0..n / 500 {
        state
            .push_event_json(
                None,
                &format!(
                    r#"{{"EventType":"PullComplete","PullCompleteEvent":{{"TaskId":"bad-{i}","ErrCode":"not a number"}}}}"#
                ),
            )
            .unwrap();
    }
}

/// Restarts the server and moves its clock until told to stop; returns the server.
async fn chaos(
    mut fake: FakeVod,
    plan_restart: Duration,
    plan_clock: Duration,
    mut stop: watch::Receiver<bool>,
) -> (FakeVod, u64, u64) {
    let (mut restarts, mut jumps) = (0u64, 0u64);
    let mut next_restart = Instant::now() + plan_restart;
    let mut next_jump = Instant::now() + plan_clock;
    loop {
        let at = next_restart.min(next_jump);
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = stop.changed() => return (fake, restarts, jumps),
        }
        if Instant::now() >= next_restart {
            fake = fake.restart().await.expect("restart on the same port");
            restarts += 1;
            next_restart = Instant::now() + plan_restart;
        }
        if Instant::now() >= next_jump {
            jumps += 1;
            let ahead = jumps % 2 == 0;
            fake.set_clock_offset(if ahead { TEN_MINUTES } else { -TEN_MINUTES });
            fake.set_confirm_policy(if ahead {
                ConfirmPolicy::ApplyValidThenError
            } else {
                ConfirmPolicy::RejectAll
            });
            next_jump = Instant::now() + plan_clock;
        }
    }
}

async fn soak(plan: Plan) -> Figures {
    let started = Instant::now();
    let fake = FakeVod::start(FakeConfig {
        visibility_timeout: plan.window,
        pull_hold: Duration::from_millis(50),
        // The server starts 10 minutes ahead of the client.
        clock_offset_secs: TEN_MINUTES,
        confirm_log_capacity: usize::MAX,
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let state = fake.state().clone();
    push_events(&state, plan.events);
    let total = state.stats().events_pushed;
    assert_eq!(total, plan.events);
    state.set_fault_mix(Some(FaultMix {
        probability: plan.fault_probability,
        faults: every_transient_fault(),
        seed: plan.seed,
        action: None,
    }));

    let client = builder(&fake)
        .long_poll_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(1))
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
            min_rate_limited_delay: Duration::from_millis(20),
        })
        .jitter_seed(plan.seed)
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = watch::channel(false);
    let chaos = tokio::spawn(chaos(fake, plan.restart_every, plan.clock_every, stop_rx));

    let mut stream = client
        .queue()
        .handle_lifetime(plan.client_handle_lifetime)
        .deliveries(vod_events::tencent::ConsumerOptions {
            concurrency: plan.concurrency,
            ..stream_options()
        });
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut acked_handles: HashSet<String> = HashSet::new();
    let mut held: Vec<(Instant, Delivery)> = Vec::new();
    let (mut handed, mut dropped, mut late) = (0u64, 0u64, 0u64);
    let deadline = started + plan.deadline;
    while state.stats().confirmed < total {
        assert!(
            Instant::now() < deadline,
            "stuck after {:?}: {:?}\n{:?}",
            plan.deadline,
            state.stats(),
            stream.stats()
        );
        let now = Instant::now();
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut held)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        held = waiting;
        for (_, d) in due {
            late += 1;
            if let Some(h) = d.handle() {
                acked_handles.insert(h);
            }
            let _ = d.ack(); // an expiry error here is expected: the event comes back
        }
        let next = match tokio::time::timeout(Duration::from_millis(100), stream.next()).await {
            Err(_) => continue, // idle: waiting for redeliveries or held acks
            Ok(None) => panic!("the stream ended"),
            Ok(Some(Err(e))) => panic!("transient errors must not reach the consumer: {e}"),
            Ok(Some(Ok(d))) => d,
        };
        handed += 1;
        *seen.entry(next.received().idempotency_key()).or_default() += 1;
        if handed % plan.drop_every == 0 {
            dropped += 1;
            drop(next);
        } else if handed % plan.hold_every == 0 {
            held.push((Instant::now() + plan.window + plan.window / 4, next));
        } else {
            if let Some(h) = next.handle() {
                acked_handles.insert(h);
            }
            next.ack().expect("a prompt ack is queued");
        }
    }
    let stream_stats = stream.shutdown().await;
    let _ = stop_tx.send(true);
    let (fake, restarts, clock_jumps) = chaos.await.unwrap();
    let f = fake.stats();
    let log = fake.confirm_log();
    fake.shutdown().await;

    // Nothing lost: everything confirmed, the queue empty, every event handed over.
    assert_eq!(f.confirmed, total, "{f:?}");
    assert_eq!(f.queued + f.in_flight, 0, "{f:?}");
    assert_eq!(seen.len() as u64, total, "every event handed over");
    // Confirmed only after hand-over: every handle ever sent in a ConfirmEvents was one the
    // consumer had been handed and had acknowledged.
    for record in &log {
        for h in &record.handles {
            assert!(acked_handles.contains(h), "confirmed but never acked: {h}");
        }
    }
    // Duplicates only where the service redelivered.
    let duplicates: u64 = seen.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= f.redeliveries,
        "{duplicates} duplicates, {} redeliveries",
        f.redeliveries
    );
    assert_eq!(handed, stream_stats.handed_over);
    // The service's rules held throughout.
    assert_eq!(f.violations.total(), 0, "{f:?}");
    assert!(f.max_handles_per_confirm <= 16);
    // Clock jumps are recovered through Date, once per call that met one: no loop.
    let expired = f.errors_with("AuthFailure.SignatureExpire");
    let calls_in_flight_bound = (plan.concurrency as u64 + 8 + 2) * 2;
    assert!(
        expired <= (clock_jumps + 1) * calls_in_flight_bound,
        "{expired} SignatureExpire answers for {clock_jumps} clock jumps"
    );
    let partial = log
        .iter()
        .filter(|r| r.accepted > 0 && r.rejected > 0)
        .count() as u64;
    let figures = Figures {
        events: total,
        elapsed: started.elapsed(),
        faults_total: f.faults_injected.values().sum(),
        faults_injected: f.faults_injected.clone(),
        restarts,
        clock_jumps,
        signature_expired_answers: expired,
        deliveries: f.deliveries,
        redeliveries: f.redeliveries,
        handed_over: handed,
        duplicates_handed_over: duplicates,
        dropped_without_ack: dropped,
        acked_late: late,
        confirm_requests: log.len() as u64,
        partially_rejected_confirms: partial,
        confirm_handle_rejections: f.confirm_handle_rejections,
    };
    println!("soak figures: {figures:#?}");
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_restarts_and_clock_jumps_lose_nothing() {
    let f = soak(Plan {
        events: 2_000,
        concurrency: 2,
        fault_probability: 0.25,
        window: Duration::from_millis(500),
        client_handle_lifetime: Duration::from_millis(1_500),
        restart_every: Duration::from_millis(1_500),
        clock_every: Duration::from_millis(1_000),
        hold_every: 97,
        drop_every: 131,
        deadline: Duration::from_secs(60),
        seed: 11,
    })
    .await;
    assert!(f.restarts >= 1 && f.clock_jumps >= 1, "{f:?}");
    assert!(f.signature_expired_answers >= 1, "{f:?}");
    assert!(f.faults_total >= 40, "{f:?}");
    assert!(f.redeliveries > 0 && f.acked_late > 0, "{f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long soak: cargo test --release --test soak -- --ignored --nocapture"]
async fn long_soak() {
    let events = std::env::var("SOAK_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    let f = soak(Plan {
        events,
        concurrency: 4,
        fault_probability: 0.2,
        window: Duration::from_secs(1),
        client_handle_lifetime: Duration::from_secs(3),
        restart_every: Duration::from_secs(5),
        clock_every: Duration::from_secs(7),
        hold_every: 251,
        drop_every: 307,
        deadline: Duration::from_secs(30 * 60),
        seed: 20_240_611,
    })
    .await;
    for kind in [
        FaultKind::HttpStatus,
        FaultKind::ApiError,
        FaultKind::Disconnect,
        FaultKind::Slow,
        FaultKind::TruncatedBody,
        FaultKind::GarbageBody,
        FaultKind::AppliedButLost,
        FaultKind::DuplicateEvents,
    ] {
        assert!(
            f.faults_injected.get(&kind).copied().unwrap_or(0) > 0,
            "{kind:?}: {f:?}"
        );
    }
    assert!(f.partially_rejected_confirms > 0, "{f:?}");
    assert!(f.restarts >= 2 && f.clock_jumps >= 2, "{f:?}");
}
