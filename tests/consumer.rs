//! The consumer engine against the in-memory source, under paused tokio time: every bound,
//! backoff, expiry, flush and shutdown rule, with no real waiting and nothing that a loaded
//! machine can make flaky. (The Tencent queue on the same engine is in `tests/stream.rs`.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use vod_events::consumer::memory::{MemoryConfig, MemoryError, MemorySource};
use vod_events::consumer::{
    AckError, AckOutcome, AckResult, AutoAckStream, ConsumerOptions, DeliveryStream, ErrorClass,
    ExtendError, Metrics,
};
use vod_events::transport::RetryPolicy;

type Stream = DeliveryStream<MemorySource>;

fn source(config: MemoryConfig, messages: usize) -> MemorySource {
    let source = MemorySource::new(config);
    for i in 0..messages {
        source.push(format!("m{i}"));
    }
    source
}

fn start(source: &MemorySource, options: ConsumerOptions) -> Stream {
    DeliveryStream::new(source.clone(), options)
}

/// The next item, or `None` if nothing comes within `within` (of paused time: instant).
async fn next_within(
    stream: &mut Stream,
    within: Duration,
) -> Option<Result<vod_events::consumer::Delivery<MemorySource>, MemoryError>> {
    tokio::time::timeout(within, stream.next())
        .await
        .ok()
        .flatten()
}

async fn next(stream: &mut Stream) -> vod_events::consumer::Delivery<MemorySource> {
    next_within(stream, Duration::from_secs(120))
        .await
        .expect("a delivery")
        .expect("no error")
}

/// Lets the engine's tasks run until they are all waiting on something.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn acks_are_sent_in_full_batches_and_the_rest_after_the_flush_interval() {
    let source = source(MemoryConfig::default(), 40);
    let mut stream = start(&source, ConsumerOptions::default());
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(next(&mut stream).await);
    }
    let t0 = Instant::now();
    // Out of order, from the last: batching does not care.
    for d in held.iter().rev() {
        assert_eq!(d.ack(), Ok(AckOutcome::Queued));
        assert_eq!(d.ack(), Ok(AckOutcome::AlreadyAcked), "twice is harmless");
    }
    settle().await;
    // Two full batches go at once (acks were not flagged as the end of a received batch).
    assert_eq!(source.stats().ack_calls, vec![16, 16]);
    tokio::time::sleep_until(t0 + Duration::from_millis(99)).await;
    settle().await;
    assert_eq!(source.stats().ack_calls.len(), 2, "not before the interval");
    tokio::time::sleep_until(t0 + Duration::from_millis(101)).await;
    settle().await;
    assert_eq!(source.stats().ack_calls, vec![16, 16, 8]);
    let stats = stream.shutdown().await;
    assert_eq!((stats.acked, stats.confirmed), (40, 40));
    assert_eq!(source.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn prefetch_bounds_what_is_received_ahead_of_a_slow_consumer() {
    let source = source(MemoryConfig::default(), 1_000);
    let mut stream = start(&source, ConsumerOptions::default());
    let first = next(&mut stream).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    // Concurrency 1: one batch in hand plus one ahead, whatever the queue holds.
    assert_eq!(source.stats().deliveries, 32);
    first.ack().unwrap();
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn extras_beyond_a_batch_do_not_widen_the_prefetch_bound() {
    let config = MemoryConfig {
        batch_size: Some(40),
        ..MemoryConfig::default()
    };
    let source = source(config, 1_000);
    let mut stream = start(&source, ConsumerOptions::default());
    let mut held = Vec::new();
    for _ in 0..45 {
        held.push(next(&mut stream).await);
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    // Two 40-message batches hold 16 units of room each; taking 45 frees 21 units, enough
    // for exactly one more receive. Counting the 24 extras as room would allow two more.
    assert_eq!(source.stats().deliveries, 120);
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn max_outstanding_holds_back_hand_over_and_receiving_until_a_delivery_is_settled() {
    let source = source(MemoryConfig::default(), 200);
    let mut stream = start(
        &source,
        ConsumerOptions {
            max_outstanding: 5,
            ..ConsumerOptions::default()
        },
    );
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(next(&mut stream).await);
    }
    assert!(
        next_within(&mut stream, Duration::from_secs(10))
            .await
            .is_none(),
        "a sixth waits while five are in hand"
    );
    assert_eq!(stream.stats().outstanding, 5);
    // Receiving stopped too: the prefetch room is not given back until hand-over.
    assert_eq!(source.stats().deliveries, 32);
    held.pop().unwrap().ack().unwrap();
    let sixth = next(&mut stream).await;
    drop(held.pop()); // dropping settles too (the message comes back after its lease)
    let seventh = next(&mut stream).await;
    assert_ne!(sixth.message().id, seventh.message().id);
    assert!(next_within(&mut stream, Duration::from_secs(1))
        .await
        .is_none());
    drop((sixth, seventh, held));
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_message_whose_lease_ended_before_hand_over_is_dropped_counted_and_comes_back() {
    let config = MemoryConfig {
        lease: Duration::from_secs(3),
        ..MemoryConfig::default()
    };
    let source = source(config, 4);
    let metrics = Arc::new(Counting::default());
    let mut stream = start(
        &source,
        ConsumerOptions {
            expiry_margin: Duration::from_secs(1),
            metrics: metrics.clone(),
            ..ConsumerOptions::default()
        },
    );
    let first = next(&mut stream).await;
    // A slow handler: the other three wait in the buffer past their usable lease (2 s).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    first.ack().unwrap_err(); // too late for it as well
    let again = next(&mut stream).await;
    let stats = stream.stats();
    assert_eq!(stats.expired_before_handover, 3, "{stats:?}");
    assert_eq!(metrics.expired_before_handover.load(Ordering::Relaxed), 3);
    assert_eq!(
        again.acker().attempt(),
        Some(2),
        "what is handed over now is a redelivery, with a fresh lease"
    );
    assert!(!again.acker().is_expired());
    again.ack().unwrap();
    stream.shutdown().await;
}

/// A lease shorter than the expiry margin (an MNS queue may hide a message for just 1 s)
/// keeps three quarters of itself usable instead of being dropped on arrival.
#[tokio::test(start_paused = true)]
async fn leases_shorter_than_the_margin_are_still_handed_over_and_acknowledged() {
    let config = MemoryConfig {
        lease: Duration::from_secs(1),
        ..MemoryConfig::default()
    };
    let source = source(config, 3);
    let mut stream = start(&source, ConsumerOptions::default());
    for _ in 0..3 {
        let delivery = next(&mut stream).await;
        let left = delivery
            .acker()
            .usable_until()
            .saturating_duration_since(tokio::time::Instant::now());
        assert!(
            left >= Duration::from_millis(700) && left <= Duration::from_millis(750),
            "a quarter of the 1 s lease is kept back, not the 2 s margin: {left:?}"
        );
        delivery.ack().unwrap();
    }
    let stats = stream.shutdown().await;
    assert_eq!(stats.expired_before_handover, 0, "{stats:?}");
    let mut acked = source.stats().acked;
    acked.sort();
    assert_eq!(acked.len(), 3, "{:?}", source.stats());
}

#[tokio::test(start_paused = true)]
async fn a_permanent_receive_error_is_yielded_and_receiving_goes_on() {
    let source = source(MemoryConfig::default(), 1);
    source.fail_receives([MemoryError::new(
        ErrorClass::Permanent,
        "InvalidParameterValue: SubAppId",
    )]);
    let mut stream = start(&source, ConsumerOptions::default());
    let error = next_within(&mut stream, Duration::from_secs(60))
        .await
        .expect("an item")
        .expect_err("the permanent error is yielded, not retried in silence");
    assert!(error.message.contains("SubAppId"));
    let delivery = next(&mut stream).await;
    assert_eq!(delivery.message().body, "m0");
    delivery.ack().unwrap();
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_with_growing_backoff_and_never_yielded() {
    let source = source(MemoryConfig::default(), 1);
    source.fail_receives(
        (0..4).map(|i| MemoryError::new(ErrorClass::Transient, format!("reset {i}"))),
    );
    let backoff = RetryPolicy {
        max_attempts: u32::MAX,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        min_rate_limited_delay: Duration::from_millis(200),
    };
    let t0 = Instant::now();
    let mut stream = start(
        &source,
        ConsumerOptions {
            receive_backoff: backoff,
            ..ConsumerOptions::default()
        },
    );
    let delivery = next(&mut stream).await;
    let waited = t0.elapsed();
    // Full jitter below 1 + 2 + 4 + 8 s: never more, and (seeded draws) some.
    assert!(
        waited > Duration::ZERO && waited < Duration::from_secs(15),
        "{waited:?}"
    );
    delivery.ack().unwrap();
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_receive_waits_at_least_the_floor() {
    let source = source(MemoryConfig::default(), 1);
    source.fail_receives([MemoryError::new(ErrorClass::RateLimited, "throttled")]);
    let t0 = Instant::now();
    let mut stream = start(&source, ConsumerOptions::default());
    next(&mut stream).await.ack().unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t0.elapsed()
    );
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_is_yielded_once_and_ends_the_stream() {
    let source = source(MemoryConfig::default(), 3);
    source.fail_receives([MemoryError::new(ErrorClass::Fatal, "AuthFailure")]);
    let mut stream = start(&source, ConsumerOptions::default());
    let error = stream.next().await.unwrap().unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(stream.next().await.is_none());
    assert_eq!(source.stats().receives, 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_deliveries_in_hand_then_refuses_later_acks() {
    let source = source(MemoryConfig::default(), 3);
    let mut stream = start(&source, ConsumerOptions::default());
    let a = next(&mut stream).await;
    let b = next(&mut stream).await;
    let c = next(&mut stream).await;
    a.ack().unwrap();
    // A handler still working on b finishes 1 s into the shutdown's 5 s grace.
    let worker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        b.ack()
    });
    // c is held past the grace.
    let t0 = Instant::now();
    let stats = stream.shutdown().await;
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(5),
        "waited the whole grace for c"
    );
    assert_eq!(worker.await.unwrap(), Ok(AckOutcome::Queued));
    assert_eq!(
        stats.confirmed, 2,
        "a and b, acknowledged in the grace: {stats:?}"
    );
    assert_eq!(stats.outstanding, 1);
    assert_eq!(
        c.ack(),
        Err(AckError::Closed),
        "after shutdown, an ack says so"
    );
    settle().await;
    assert_eq!(source.stats().acked.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn shutdown_returns_at_once_when_nothing_is_in_hand() {
    let source = source(MemoryConfig::default(), 2);
    let mut stream = start(&source, ConsumerOptions::default());
    next(&mut stream).await.ack().unwrap();
    let t0 = Instant::now();
    let stats = stream.shutdown().await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert_eq!((stats.confirmed, stats.outstanding), (1, 0));
    assert_eq!(stats.left_for_redelivery, stats.received - 1);
}

#[tokio::test(start_paused = true)]
async fn an_ack_that_waited_for_a_call_slot_is_checked_again_for_expiry() {
    // One acknowledge call at a time, each taking 3.5 s; leases of 4 s, usable for 3 s.
    let config = MemoryConfig {
        lease: Duration::from_secs(4),
        ack_latency: Duration::from_millis(3_500),
        ..MemoryConfig::default()
    };
    let source = source(config, 32);
    let mut stream = start(
        &source,
        ConsumerOptions {
            ack_concurrency: 1,
            expiry_margin: Duration::from_secs(1),
            ..ConsumerOptions::default()
        },
    );
    let mut held = Vec::new();
    for _ in 0..32 {
        held.push(next(&mut stream).await);
    }
    for d in &held {
        d.ack().unwrap();
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let stats = stream.stats();
    // The second batch got its slot at 3.5 s, past its usable 3 s: not sent, counted.
    assert_eq!(source.stats().ack_calls, vec![16], "{stats:?}");
    assert_eq!(source.stats().stale_acks, 0, "no dead token was sent");
    assert_eq!((stats.confirmed, stats.expired), (16, 16));
    drop(held);
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_ack_after_the_lease_is_typed_and_never_sent() {
    let config = MemoryConfig {
        lease: Duration::from_secs(5),
        ..MemoryConfig::default()
    };
    let source = source(config, 1);
    let mut stream = start(&source, ConsumerOptions::default());
    let late = next(&mut stream).await;
    tokio::time::sleep(Duration::from_secs(4)).await; // past 5 s less the 2 s margin
    assert!(late.acker().is_expired());
    assert!(matches!(late.ack(), Err(AckError::Expired { .. })));
    let stats = stream.shutdown().await;
    assert_eq!((stats.expired, stats.confirmed), (1, 0));
    assert!(source.stats().ack_calls.is_empty());
}

#[tokio::test(start_paused = true)]
async fn nack_gives_the_message_back_at_once_where_the_source_can() {
    let source = source(MemoryConfig::default(), 1);
    let mut stream = start(&source, ConsumerOptions::default());
    let first = next(&mut stream).await;
    let t0 = Instant::now();
    first.nack();
    let again = next(&mut stream).await;
    assert!(
        t0.elapsed() < Duration::from_secs(6),
        "back before the 30 s lease: {:?}",
        t0.elapsed()
    );
    assert_eq!(again.message().id, first.message().id);
    assert_eq!(again.acker().attempt(), Some(2));
    assert_eq!(
        first.ack(),
        Ok(AckOutcome::AlreadyAcked),
        "settled by the nack"
    );
    again.ack().unwrap();
    let stats = stream.shutdown().await;
    assert_eq!((stats.released, stats.confirmed), (1, 1));
    assert_eq!(source.stats().released, 1);
}

#[tokio::test(start_paused = true)]
async fn extend_swaps_in_the_new_token_and_the_ack_uses_it() {
    let config = MemoryConfig {
        lease: Duration::from_secs(10),
        ..MemoryConfig::default()
    };
    let source = source(config, 1);
    let mut stream = start(&source, ConsumerOptions::default());
    let long_job = next(&mut stream).await;
    let old = long_job.acker().token().unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let until = long_job
        .acker()
        .extend(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(until, Instant::now() + Duration::from_secs(60));
    assert_ne!(long_job.acker().token().unwrap(), old);
    tokio::time::sleep(Duration::from_secs(30)).await; // past the first lease
    assert!(!long_job.acker().is_expired());
    long_job.ack().unwrap();
    let stats = stream.shutdown().await;
    assert_eq!(stats.confirmed, 1);
    assert_eq!(source.stats().stale_acks, 0);
    assert_eq!(source.stats().deliveries, 1, "never redelivered");
}

#[tokio::test(start_paused = true)]
async fn extend_says_so_when_the_source_cannot() {
    let config = MemoryConfig {
        leases_adjustable: false,
        ..MemoryConfig::default()
    };
    let source = source(config, 1);
    let mut stream = start(&source, ConsumerOptions::default());
    let d = next(&mut stream).await;
    assert!(matches!(
        d.acker().extend(Duration::from_secs(60)).await,
        Err(ExtendError::Unsupported)
    ));
    d.ack().unwrap();
    assert!(matches!(
        d.acker().extend(Duration::from_secs(60)).await,
        Err(ExtendError::Settled)
    ));
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn receipts_tell_accepted_refused_and_expired() {
    let config = MemoryConfig {
        lease: Duration::from_secs(5),
        ..MemoryConfig::default()
    };
    let source = source(config, 3);
    let mut stream = start(&source, ConsumerOptions::default());
    let ok = next(&mut stream).await;
    let refused = next(&mut stream).await;
    let late = next(&mut stream).await;
    let receipt = ok.acker().ack_tracked().unwrap();
    assert_eq!(receipt.result().await, AckResult::Accepted);
    source.fail_acks([MemoryError::new(ErrorClass::Permanent, "refused")]);
    let receipt = refused.acker().ack_tracked().unwrap();
    assert_eq!(receipt.result().await, AckResult::Refused);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(late.acker().ack_tracked().is_err());
    let stats = stream.shutdown().await;
    assert_eq!(
        (stats.confirmed, stats.confirm_failed, stats.expired),
        (1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn the_auto_ack_stream_acks_each_message_when_the_next_is_asked_for() {
    let source = source(MemoryConfig::default(), 3);
    let mut stream = AutoAckStream::new(start(&source, ConsumerOptions::default()));
    let first = stream.next().await.unwrap().unwrap();
    settle().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(source.stats().acked.is_empty(), "taken, not yet done with");
    let _second = stream.next().await.unwrap().unwrap();
    let _third = stream.next().await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(source.stats().acked, vec![first.id, first.id + 1]);
    // Shutdown acknowledges the last one yielded: asking to stop means done with it.
    let stats = stream.shutdown().await;
    assert_eq!(stats.confirmed, 3);
    assert_eq!(source.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_last_message_of_a_received_batch_flushes_its_acks_at_once() {
    let source = source(MemoryConfig::default(), 3);
    let mut stream = AutoAckStream::new(start(&source, ConsumerOptions::default()));
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    let t0 = Instant::now();
    // Coming back after the batch's last message: no 100 ms wait for more.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), stream.next())
            .await
            .is_err(),
        "the queue is empty: the stream waits"
    );
    assert_eq!(source.stats().ack_calls, vec![3]);
    assert!(t0.elapsed() <= Duration::from_millis(50));
    stream.shutdown().await;
}

#[derive(Debug, Default)]
struct Counting {
    received: AtomicU64,
    empty: AtomicU64,
    acknowledged: AtomicU64,
    expired_before_handover: AtomicU64,
}

impl Metrics for Counting {
    fn received(&self, messages: usize) {
        self.received.fetch_add(messages as u64, Ordering::Relaxed);
        if messages == 0 {
            self.empty.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn acknowledged(&self, tokens: usize) {
        self.acknowledged
            .fetch_add(tokens as u64, Ordering::Relaxed);
    }
    fn expired_before_handover(&self, messages: usize) {
        self.expired_before_handover
            .fetch_add(messages as u64, Ordering::Relaxed);
    }
}

#[tokio::test(start_paused = true)]
async fn the_metrics_hook_sees_receives_empty_polls_and_acks() {
    let source = source(MemoryConfig::default(), 5);
    let metrics = Arc::new(Counting::default());
    let mut stream = start(
        &source,
        ConsumerOptions {
            metrics: metrics.clone(),
            ..ConsumerOptions::default()
        },
    );
    for _ in 0..5 {
        next(&mut stream).await.ack().unwrap();
    }
    // The queue is empty: the next long poll holds 5 s and answers empty.
    assert!(next_within(&mut stream, Duration::from_secs(6))
        .await
        .is_none());
    stream.shutdown().await;
    assert_eq!(metrics.received.load(Ordering::Relaxed), 5);
    assert!(metrics.empty.load(Ordering::Relaxed) >= 1);
    assert_eq!(metrics.acknowledged.load(Ordering::Relaxed), 5);
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_stops_mid_batch_loses_nothing() {
    let config = MemoryConfig {
        lease: Duration::from_secs(5),
        ..MemoryConfig::default()
    };
    let source = source(config, 10);
    {
        let mut stream = AutoAckStream::new(start(&source, ConsumerOptions::default()));
        for _ in 0..4 {
            stream.next().await.unwrap().unwrap();
        }
        // Crash: dropped without coming back after the 4th.
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        source.stats().acked,
        vec![0, 1, 2],
        "the three come back from"
    );
    let mut stream = AutoAckStream::new(start(&source, ConsumerOptions::default()));
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(stream.next().await.unwrap().unwrap().id);
    }
    ids.sort_unstable();
    assert_eq!(
        ids,
        (3..10).collect::<Vec<_>>(),
        "the 4th and the 6 never handed over"
    );
    stream.shutdown().await;
    assert_eq!(source.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_ack_whose_lease_ends_before_the_next_flush_is_sent_at_once() {
    // Usable for 90 ms after hand-over (a quarter of the lease kept back, the lease being
    // shorter than four margins): less than the 100 ms flush interval.
    let config = MemoryConfig {
        lease: Duration::from_millis(120),
        ..MemoryConfig::default()
    };
    let source = source(config, 2);
    let mut stream = start(&source, ConsumerOptions::default());
    let d = next(&mut stream).await;
    d.ack().unwrap();
    settle().await;
    assert_eq!(
        source.stats().ack_calls,
        vec![1],
        "not left to expire in the queue"
    );
    assert_eq!(stream.stats().expired, 0);
    drop(d);
    stream.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unbounded_option_values_are_taken_as_the_largest_bound_not_a_panic() {
    let source = source(MemoryConfig::default(), 3);
    let mut stream = start(
        &source,
        ConsumerOptions {
            concurrency: usize::MAX >> 60,
            prefetch: Some(usize::MAX),
            max_outstanding: usize::MAX,
            ack_concurrency: usize::MAX,
            ack_flush_interval: Duration::MAX,
            shutdown_grace: Duration::MAX,
            ..ConsumerOptions::default()
        },
    );
    for _ in 0..3 {
        next(&mut stream).await.ack().unwrap();
    }
    let stats = stream.shutdown().await;
    assert_eq!(stats.confirmed, 3);
}

/// A consumer loop, its shutdown included, can run in a spawned task.
#[test]
fn the_streams_and_their_shutdown_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let source = source(MemoryConfig::default(), 0);
        let stream = start(&source, ConsumerOptions::default());
        send(&stream);
        let flush = stream.flush();
        send(&flush);
        let shutdown = stream.shutdown();
        send(&shutdown);
        drop(flush);
        shutdown.await;
        let auto = AutoAckStream::new(start(&source, ConsumerOptions::default()));
        let shutdown = auto.shutdown();
        send(&shutdown);
        shutdown.await;
    });
}
