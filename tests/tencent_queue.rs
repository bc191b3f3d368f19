//! The Tencent queue as a source of the engine, against the fake VOD server: the defects
//! found by reading the engine before it was split out, each asserted on facts that do not
//! depend on how fast the machine is (recorded instants, timeout values, request counts).

use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use vod_events::consumer::{ConsumerOptions, ErrorClass, Source, SourceError};
use vod_events::tencent::fake::{Action, ConfirmPolicy, FakeConfig, FakeVod, Fault};
use vod_events::tencent::{ConfirmEvents, Credentials, Error, RetryPolicy, HANDLE_LIFETIME};

mod common;
use common::{builder, client, stream_options, ID, KEY};

async fn fake() -> FakeVod {
    FakeVod::start(FakeConfig::fast()).await.unwrap()
}

#[tokio::test]
async fn the_lease_starts_when_the_answering_attempt_was_sent() {
    let fake = fake().await;
    fake.push_samples(None, 1);
    // The first two attempts hang until their 300 ms timeout; the third answers.
    fake.fail_next(Some(Action::PullEvents), Fault::Hang, 2);
    let client = builder(&fake)
        .long_poll_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let queue = client.queue();
    let called = Instant::now();
    let batch = queue.receive().await.unwrap();
    assert_eq!(batch.len(), 1);
    let lease_start = batch[0].lease_until - HANDLE_LIFETIME;
    assert!(
        lease_start >= called + Duration::from_millis(600),
        "the 30 s began after the two timed-out attempts, not when the call began: {:?}",
        lease_start - called
    );
}

#[tokio::test]
async fn pull_events_reports_when_the_answering_attempt_was_sent() {
    let fake = fake().await;
    fake.fail_next(Some(Action::PullEvents), Fault::HttpStatus(503), 1);
    let client = client(&fake);
    let called = Instant::now();
    let pulled = client.pull_events().await.unwrap();
    let sent_at = pulled.sent_at.expect("set by the client");
    assert!(sent_at > called, "the retry, not the first attempt");
    assert!(sent_at <= Instant::now());
}

#[tokio::test]
async fn a_confirm_attempt_is_cut_at_the_handles_deadline() {
    let fake = fake().await;
    fake.fail_next(Some(Action::ConfirmEvents), Fault::Hang, 1);
    let client = builder(&fake)
        .request_timeout(Duration::from_secs(8))
        .build()
        .unwrap();
    let request = ConfirmEvents {
        event_handles: vec!["h".into()],
        sub_app_id: None,
    };
    let deadline = Instant::now() + Duration::from_millis(300);
    let error = client
        .call_with_deadline(request, Some(deadline))
        .await
        .unwrap_err();
    match error {
        Error::Timeout { after, .. } => assert!(
            after <= Duration::from_millis(300),
            "the attempt's timeout is clipped to the deadline, not the 8 s default: {after:?}"
        ),
        other => panic!("expected a timeout, got {other}"),
    }
}

#[tokio::test]
async fn long_poll_timeouts_cannot_drain_the_confirm_budget() {
    let fake = fake().await;
    // Two hung PullEvents attempts: the first retry costs the whole 10-token pull budget,
    // the second finds it empty and gives up.
    fake.fail_next(Some(Action::PullEvents), Fault::Hang, 2);
    let client = builder(&fake)
        .long_poll_timeout(Duration::from_millis(200))
        .retry_budget(10)
        .build()
        .unwrap();
    let pulled = client.pull_events().await;
    assert!(matches!(pulled, Err(Error::Timeout { .. })), "{pulled:?}");
    assert_eq!(fake.stats().requests_for(Action::PullEvents), 2);
    // A confirm hit by a transient error is still retried: its budget is its own.
    fake.fail_next(
        Some(Action::ConfirmEvents),
        Fault::api_error("InternalError"),
        1,
    );
    let _ = client.confirm_events(vec!["dead-handle".into()]).await;
    assert_eq!(
        fake.stats().requests_for(Action::ConfirmEvents),
        2,
        "retried once after InternalError"
    );
}

#[tokio::test]
async fn a_batch_refused_for_one_bad_handle_still_confirms_the_good_ones() {
    let fake = fake().await;
    // The service's behaviour for mixed batches is undocumented; the strictest answer
    // applies nothing at all.
    fake.set_confirm_policy(ConfirmPolicy::RejectAll);
    fake.push_samples(None, 7);
    let client = client(&fake);
    let pulled = client.pull_events().await.unwrap();
    let mut handles: Vec<String> = pulled
        .event_set
        .iter()
        .map(|raw| {
            vod_events::tencent::decode_event_content(raw.clone())
                .handle()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(handles.len(), 7);
    handles.insert(3, "expired-or-unknown".into());
    let deadline = Instant::now() + Duration::from_secs(20);
    let results = client.queue().acknowledge(handles, deadline).await;
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(
        ok,
        [true, true, true, false, true, true, true, true],
        "only the bad handle is refused"
    );
    assert_eq!(fake.stats().confirmed, 7);
    let refused = results[3].as_ref().unwrap_err();
    assert_eq!(refused.code(), Some("InvalidParameterValue"));
    assert_eq!(refused.class(), ErrorClass::Permanent);
}

#[tokio::test]
async fn a_batch_whose_handles_are_all_dead_costs_three_calls() {
    let fake = fake().await;
    let client = client(&fake);
    let handles: Vec<String> = (0..16).map(|i| format!("dead-{i}")).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let results = client.queue().acknowledge(handles, deadline).await;
    assert!(results.iter().all(Result::is_err));
    assert_eq!(
        fake.stats().requests_for(Action::ConfirmEvents),
        3,
        "the batch, then both halves: no split all the way down"
    );
}

#[tokio::test]
async fn a_permanent_pull_error_is_yielded_with_its_code_not_retried_in_silence() {
    let fake = fake().await;
    fake.fail_next(
        Some(Action::PullEvents),
        Fault::api_error("InvalidParameterValue"),
        1,
    );
    fake.push_samples(None, 1);
    let mut stream = client(&fake).deliveries_with(stream_options());
    let first = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("an item")
        .expect("the stream goes on");
    let error = first.expect_err("the permanent error comes first");
    assert_eq!(error.code(), Some("InvalidParameterValue"));
    assert_eq!(error.class(), ErrorClass::Permanent);
    let second = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("an item")
        .expect("the stream goes on")
        .expect("then the event");
    second.ack().unwrap();
    stream.shutdown().await;
    assert_eq!(fake.stats().confirmed, 1);
}

#[tokio::test]
async fn an_answer_from_another_origin_is_refused_as_fatal() {
    let fake = fake().await;
    // A redirector on another port; a user-supplied reqwest client follows its 307.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector = format!("http://{}", listener.local_addr().unwrap());
    let target = fake.endpoint();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    let following = reqwest::Client::builder().build().unwrap();
    let client = vod_events::tencent::Client::builder()
        .endpoint(redirector)
        .credentials(Credentials::new(ID, KEY))
        .http_client(following)
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let error = client.pull_events().await.unwrap_err();
    assert!(matches!(error, Error::Redirected { .. }), "{error}");
    assert!(error.is_fatal());
    assert!(error.to_string().contains("Policy::none"), "{error}");
    // The crate's own client never follows: the 307 is an HTTP status error.
    let own = vod_events::tencent::Client::builder()
        .endpoint(client.endpoint().trim_end_matches('/'))
        .credentials(Credentials::new(ID, KEY))
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    assert_eq!(
        own.pull_events().await.unwrap_err().http_status(),
        Some(307)
    );
    assert_eq!(
        fake.stats().requests_for(Action::PullEvents),
        1,
        "only the follower got there"
    );
}

#[tokio::test]
async fn the_sequential_stream_still_confirms_what_it_yields() {
    let fake = fake().await;
    fake.push_samples(None, 3);
    let mut events = client(&fake).sequential_events_with(ConsumerOptions { ..stream_options() });
    for _ in 0..3 {
        events.next().await.unwrap().unwrap();
    }
    let stats = events.shutdown().await;
    assert_eq!(stats.confirmed, 3);
    assert_eq!(fake.stats().confirmed, 3);
}
