//! The Tencent queue on the engine, against the fake VOD server: at-least-once delivery,
//! confirm after hand-over, expiry, faults, concurrency under the rate limit, shutdown
//! accounting. The engine's own behaviour (bounds, backoff, expiry, shutdown) is tested
//! under paused time in `tests/consumer.rs`; these tests only assert what real time
//! cannot make flaky.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use vod_events::consumer::{AckError, AckOutcome, ConsumerOptions};
use vod_events::tencent::fake::{
    samples::UNKNOWN_EVENT_TYPE, Action, FakeConfig, Fault, RateLimit,
};
use vod_events::tencent::{Client, Credentials, Error, Event};

mod common;
use common::{client, fake_with_window, stream_options, wait_until};

fn options() -> ConsumerOptions {
    stream_options()
}

fn task_or_file_id(event: &Event) -> String {
    event.idempotency_key()
}

#[tokio::test]
async fn events_are_confirmed_only_after_the_consumer_comes_back() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    fake.push_samples(None, 3);
    let mut stream = client(&fake).sequential_events_with(options());

    let first = stream.next().await.unwrap().unwrap();
    assert!(first.is_known());
    // Taken but not come back from: nothing confirmed yet.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.stats().confirmed, 0);

    stream.next().await.unwrap().unwrap();
    stream.next().await.unwrap().unwrap();
    // Coming back after the batch's last event confirms the batch at once.
    let next = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
    assert!(next.is_err(), "the queue is empty: the stream waits");
    wait_until("the batch confirmed", || fake.stats().confirmed == 3).await;
    let stats = stream.shutdown().await;
    assert_eq!(stats.confirmed, 3);
    assert_eq!(
        fake.stats().max_handles_per_confirm,
        3,
        "one ConfirmEvents for the batch"
    );
}

#[tokio::test]
async fn a_consumer_that_stops_mid_batch_loses_nothing() {
    let fake = fake_with_window(Duration::from_millis(400)).await;
    let ids = fake.push_samples(None, 10);
    let total = ids.end - ids.start;

    let mut seen = HashSet::new();
    {
        let mut stream = client(&fake).sequential_events_with(options());
        for _ in 0..4 {
            seen.insert(task_or_file_id(&stream.next().await.unwrap().unwrap()));
        }
        // Crash: the stream is dropped without coming back after the 4th event.
    }
    // Three were confirmed (the consumer came back after them); the 4th and the 6 never
    // handed over return after the visibility window.
    wait_until("three confirmed", || fake.stats().confirmed == 3).await;

    let mut stream = client(&fake).sequential_events_with(options());
    let mut again = 0;
    while fake.stats().confirmed < total {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("redelivery")
            .unwrap()
            .unwrap();
        if !seen.insert(task_or_file_id(&event)) {
            again += 1;
        }
        if seen.len() as u64 == total {
            // Come back once so the last one is confirmed.
            let _ = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        }
    }
    assert_eq!(seen.len() as u64, total, "every event handed over");
    assert_eq!(
        again, 1,
        "only the 4th, taken but never come back from, came twice"
    );
    stream.shutdown().await;
    assert_eq!(fake.stats().queued + fake.stats().in_flight, 0);
}

#[tokio::test]
async fn a_handler_slower_than_the_window_sees_a_typed_expiry_and_the_event_returns() {
    let fake = fake_with_window(Duration::from_millis(300)).await;
    fake.push_samples(None, 1);
    let mut stream = client(&fake)
        .queue()
        .handle_lifetime(Duration::from_millis(300))
        .deliveries(options());
    let slow = stream.next().await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(slow.acker().is_expired());
    assert!(matches!(slow.ack(), Err(AckError::Expired { .. })));
    // Acknowledging twice is harmless and says so.
    assert_eq!(slow.ack(), Ok(AckOutcome::AlreadyAcked));

    let again = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        again.event().unwrap().idempotency_key(),
        slow.event().unwrap().idempotency_key()
    );
    assert_ne!(
        again.handle(),
        slow.handle(),
        "a redelivery has a new handle"
    );
    assert_eq!(again.ack(), Ok(AckOutcome::Queued));
    let stats = stream.shutdown().await;
    assert_eq!(stats.expired, 1);
    assert_eq!(stats.confirmed, 1);
    assert_eq!(fake.stats().confirmed, 1);
    assert_eq!(
        fake.stats().confirm_handle_rejections,
        0,
        "the expired handle was never sent"
    );
}

#[tokio::test]
async fn explicit_acks_in_any_order_are_batched_by_sixteen() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    fake.push_samples(None, 40);
    let mut stream = client(&fake).deliveries_with(options());
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(stream.next().await.unwrap().unwrap());
    }
    held.reverse();
    for d in &held {
        assert_eq!(d.ack(), Ok(AckOutcome::Queued));
    }
    stream.flush().await;
    let fstats = fake.stats();
    assert_eq!(fstats.confirmed, 40);
    assert!(fstats.max_handles_per_confirm <= 16);
    assert_eq!(fstats.violations.total(), 0);
    assert_eq!(stream.shutdown().await.confirmed, 40);
}

#[tokio::test]
async fn a_delivery_dropped_without_ack_is_redelivered() {
    let fake = fake_with_window(Duration::from_millis(300)).await;
    fake.push_samples(None, 1);
    let mut stream = client(&fake).deliveries_with(options());
    let first = stream.next().await.unwrap().unwrap();
    let key = first.event().unwrap().idempotency_key();
    drop(first);
    let again = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(again.event().unwrap().idempotency_key(), key);
    again.ack().unwrap();
    stream.shutdown().await;
    assert!(fake.stats().redeliveries >= 1);
    assert_eq!(fake.stats().confirmed, 1);
}

#[tokio::test]
async fn four_pullers_stay_under_the_rate_limit() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    fake.set_rate_limit(Some(RateLimit::per_second(100)));
    let total = 2_000u64;
    fake.push_samples(None, total);
    // Paced at 60/s, well under the limit: on a loaded machine the server may process a few
    // requests late and together, and that jitter must not fail the test. Four pullers with
    // a pacer each would still send 240/s.
    let client = common::builder(&fake)
        .event_action_rate(60.0)
        .build()
        .unwrap();
    let mut stream = client.sequential_events_with(ConsumerOptions {
        concurrency: 4,
        ..options()
    });
    let mut n = 0u64;
    while n < total {
        stream.next().await.unwrap().unwrap();
        n += 1;
    }
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.next()).await;
    let stats = stream.shutdown().await;
    let fstats = fake.stats();
    assert_eq!(fstats.rate_limited, 0, "{fstats:?}");
    assert_eq!(fstats.errors_with("RequestLimitExceeded"), 0);
    assert_eq!(fstats.confirmed, total);
    assert_eq!(stats.confirmed, total);
}

#[tokio::test]
async fn shutdown_mid_stream_reports_what_the_fake_saw() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    fake.push_samples(None, 50);
    let mut stream = client(&fake).sequential_events_with(options());
    for _ in 0..20 {
        stream.next().await.unwrap().unwrap();
    }
    let stats = stream.shutdown().await;
    let fstats = fake.stats();
    assert_eq!(
        stats.confirmed, 20,
        "everything yielded is confirmed on shutdown"
    );
    assert_eq!(fstats.confirmed, stats.confirmed);
    assert_eq!(stats.handed_over, 20);
    assert_eq!(stats.left_for_redelivery, stats.received - 20);
    assert_eq!(fstats.in_flight, stats.left_for_redelivery);
}

#[tokio::test]
async fn unknown_types_and_extra_fields_flow_through_with_their_raw_json() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    let mut known = vod_events::tencent::fake::samples::sample_event("PullComplete", 1).unwrap();
    known["PullCompleteEvent"]["BrandNewField"] = json!({"Nested": [1, 2, 3]});
    known["TopLevelNew"] = json!("x");
    fake.push_event(None, known.clone());
    fake.push_event(
        None,
        vod_events::tencent::fake::samples::unknown_event_sample(1),
    );

    let mut stream = client(&fake).deliveries_with(options());
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(stream.next().await.unwrap().unwrap());
    }
    got.sort_by_key(|d| d.received().event_type().map(str::to_owned));
    let by_type: HashMap<_, _> = got
        .iter()
        .map(|d| (d.received().event_type().unwrap().to_owned(), d))
        .collect();

    let pull = by_type["PullComplete"];
    assert!(matches!(pull.event().unwrap(), Event::PullComplete(_)));
    let raw: serde_json::Value =
        serde_json::from_str(&pull.received().json_without_handle()).unwrap();
    assert_eq!(
        raw, known,
        "raw JSON kept byte for byte, unknown fields included"
    );

    let unknown = by_type[UNKNOWN_EVENT_TYPE];
    assert!(!unknown.event().unwrap().is_known());
    assert_eq!(unknown.event().unwrap().event_type(), UNKNOWN_EVENT_TYPE);
    for d in &got {
        d.ack().unwrap();
    }
    stream.shutdown().await;
    assert_eq!(fake.stats().confirmed, 2);
}

#[tokio::test]
async fn an_undecodable_event_is_an_error_item_with_raw_json_and_the_stream_goes_on() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    fake.push_event_json(
        None,
        r#"{"EventType":"PullComplete","PullCompleteEvent":{"ErrCode":"not a number"}}"#,
    )
    .unwrap();
    fake.push_samples(None, 1);
    let mut stream = client(&fake).sequential_events_with(options());
    let mut errors = 0;
    let mut events = 0;
    for _ in 0..2 {
        match stream.next().await.unwrap() {
            Ok(_) => events += 1,
            Err(Error::UndecodableEvent(bad)) => {
                errors += 1;
                assert!(bad.raw.contains("not a number"));
                assert!(bad.handle.is_some());
                assert!(
                    bad.error.to_string().contains("PullCompleteEvent.ErrCode"),
                    "{}",
                    bad.error
                );
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!((errors, events), (1, 1));
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.next()).await;
    stream.shutdown().await;
    assert_eq!(
        fake.stats().confirmed,
        2,
        "the undecodable one is confirmed once handed over"
    );
}

#[tokio::test]
async fn a_fatal_error_is_yielded_once_and_ends_the_stream() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new(FakeConfig::DEFAULT_SECRET_ID, "wrong"))
        .build()
        .unwrap();
    let mut stream = client.sequential_events();
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure.SignatureFailure"));
    assert!(stream.next().await.is_none());
    assert_eq!(fake.stats().requests_for(Action::PullEvents), 1);
}

#[tokio::test]
async fn more_than_sixteen_events_from_the_server_are_still_confirmed_in_sixteens() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    fake.set_max_events_per_pull(40);
    fake.push_samples(None, 40);
    let mut stream = client(&fake).sequential_events_with(options());
    for _ in 0..40 {
        stream.next().await.unwrap().unwrap();
    }
    stream.shutdown().await;
    let f = fake.stats();
    assert_eq!(f.confirmed, 40);
    assert!(
        f.max_handles_per_confirm <= 16,
        "{}",
        f.max_handles_per_confirm
    );
    assert_eq!(f.violations.total(), 0);
}

#[tokio::test]
async fn a_server_repeating_events_and_handles_does_not_confuse_confirm_batching() {
    let fake = fake_with_window(Duration::from_secs(30)).await;
    fake.set_confirm_policy(vod_events::tencent::fake::ConfirmPolicy::RejectAll);
    fake.set_max_events_per_pull(12);
    let total = 48u64;
    fake.push_samples(None, total);
    // Every answer lists each event twice under one handle: 24 entries per PullEvents.
    fake.fail_next(Some(Action::PullEvents), Fault::DuplicateEvents, 100);
    let mut stream = client(&fake).sequential_events_with(options());
    let mut seen: HashMap<String, u32> = HashMap::new();
    while seen.len() < total as usize {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("events keep coming")
            .unwrap()
            .unwrap();
        *seen.entry(event.idempotency_key()).or_default() += 1;
    }
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.next()).await;
    let stats = stream.shutdown().await;
    let f = fake.stats();
    assert_eq!(f.confirmed, total, "{f:?}");
    assert_eq!(
        f.confirm_handle_rejections, 0,
        "no handle sent twice: {f:?}"
    );
    assert_eq!(f.errors_with("InvalidParameterValue"), 0, "{f:?}");
    assert!(f.max_handles_per_confirm <= 16);
    assert_eq!(f.violations.total(), 0);
    assert!(
        seen.values().all(|n| *n == 1),
        "an exact repeat within one answer is not handed over twice: {seen:?}"
    );
    assert_eq!(stats.confirmed, total);
    assert_eq!(stats.received, total, "{stats:?}");
    assert_eq!(stats.left_for_redelivery, 0);
}
