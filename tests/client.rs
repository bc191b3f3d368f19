//! The signed client against the fake VOD server on 127.0.0.1: signing accepted, errors
//! typed, transient failures retried, clock skew recovered, bodies capped, timeouts honoured.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use vod_events::tencent::fake::{
    Action, EmptyPullShape, FakeConfig, FakeVod, Fault, FaultKind, RateLimit,
};
use vod_events::tencent::{Client, Credentials, Error, PullEvents, RetryPolicy};

mod common;
use common::{builder, quick_retries, ID, KEY};

async fn fake() -> FakeVod {
    FakeVod::start(FakeConfig::fast()).await.unwrap()
}

fn handles(resp: &vod_events::tencent::PullEventsResponse) -> Vec<String> {
    resp.event_set
        .iter()
        .map(|raw| {
            let v: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
            v["EventHandle"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_signed_pull_and_confirm_are_accepted() {
    let fake = fake().await;
    fake.push_samples(None, 20);
    let client = builder(&fake).build().unwrap();

    let pulled = client.pull_events().await.unwrap();
    assert_eq!(pulled.event_set.len(), 16, "at most 16 per pull");
    assert!(!pulled.request_id.is_empty());
    let confirmed = client.confirm_events(handles(&pulled)).await.unwrap();
    assert!(!confirmed.request_id.is_empty());

    let stats = fake.stats();
    assert_eq!(stats.confirmed, 16);
    assert_eq!(stats.auth_failures, 0);
    assert_eq!(stats.queued, 4);
}

#[tokio::test]
async fn every_action_round_trips() {
    let fake = fake().await;
    fake.push_samples(Some(42), 3);
    let client = builder(&fake).sub_app_id(42).build().unwrap();
    assert_eq!(
        client
            .describe_events_state()
            .await
            .unwrap()
            .count_of_events_to_pull,
        3
    );
    client
        .modify_event_config(vod_events::tencent::ModifyEventConfig {
            mode: Some("PULL".into()),
            upload_media_complete_event_switch: Some("ON".into()),
            sign_key: Some("abc123".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let config = client.describe_event_config().await.unwrap();
    assert_eq!(config.mode, "PULL");
    assert_eq!(config.upload_media_complete_event_switch, "ON");
    assert_eq!(
        fake.event_config(Some(42))
            .sign_key
            .as_ref()
            .map(|k| k.expose()),
        Some("abc123")
    );
    // The default SubAppId reached the fake: app 42's queue is the one drained.
    assert_eq!(client.pull_events().await.unwrap().event_set.len(), 3);
    assert_eq!(fake.queued(None), 0);
}

#[tokio::test]
async fn a_wrong_key_is_a_typed_auth_error_and_is_not_retried() {
    let fake = fake().await;
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new(ID, "not-the-key"))
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let err = client.pull_events().await.unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure.SignatureFailure"), "{err}");
    assert!(err.request_id().is_some());
    assert!(err.is_auth() && err.is_fatal() && !err.is_retryable());
    assert!(!err.to_string().contains("not-the-key"));
    assert_eq!(fake.stats().requests_for(Action::PullEvents), 1, "no retry");
}

#[tokio::test]
async fn an_unknown_secret_id_is_reported_as_such() {
    let fake = fake().await;
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new("AKIDunknown", KEY))
        .build()
        .unwrap();
    let err = client.describe_events_state().await.unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure.SecretIdNotFound"));
}

#[tokio::test]
async fn http_500_then_success_is_retried() {
    let fake = fake().await;
    fake.push_samples(None, 1);
    fake.fail_next(Some(Action::PullEvents), Fault::HttpStatus(500), 2);
    let client = builder(&fake).build().unwrap();
    let pulled = client.pull_events().await.unwrap();
    assert_eq!(pulled.event_set.len(), 1);
    assert_eq!(fake.stats().requests_for(Action::PullEvents), 3);
    assert_eq!(fake.stats().faults_of(FaultKind::HttpStatus), 2);
}

#[tokio::test]
async fn request_limit_exceeded_backs_off_then_succeeds() {
    let fake = fake().await;
    fake.fail_next(
        Some(Action::DescribeEventsState),
        Fault::api_error("RequestLimitExceeded"),
        2,
    );
    let client = builder(&fake).build().unwrap();
    let started = Instant::now();
    client.describe_events_state().await.unwrap();
    // Two rate-limited retries each wait at least min_rate_limited_delay: never a spin.
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.stats().requests_for(Action::DescribeEventsState), 3);
}

#[tokio::test]
async fn internal_error_and_service_unavailable_are_retried_but_exhaust() {
    let fake = fake().await;
    fake.fail_next(
        Some(Action::PullEvents),
        Fault::api_error("InternalError"),
        1,
    );
    fake.fail_next(
        Some(Action::PullEvents),
        Fault::api_error("ServiceUnavailable"),
        1,
    );
    let client = builder(&fake).build().unwrap();
    client.pull_events().await.unwrap();

    fake.fail_next(
        Some(Action::PullEvents),
        Fault::api_error("InternalError"),
        10,
    );
    let err = client.pull_events().await.unwrap_err();
    assert_eq!(err.code(), Some("InternalError"));
    assert_eq!(
        fake.stats().requests_for(Action::PullEvents),
        3 + 5,
        "5 attempts, then give up"
    );
}

async fn recovers_from_server_clock_offset(offset: i64) {
    let fake = fake().await;
    fake.set_clock_offset(offset);
    let client = builder(&fake).build().unwrap();
    client.describe_events_state().await.unwrap();
    assert!(
        (client.clock_skew_secs() - offset).abs() <= 2,
        "learned {}",
        client.clock_skew_secs()
    );
    assert_eq!(fake.stats().errors_with("AuthFailure.SignatureExpire"), 1);
    // The offset is kept: later calls are signed right the first time.
    client.describe_events_state().await.unwrap();
    client.pull_events().await.unwrap();
    assert_eq!(fake.stats().errors_with("AuthFailure.SignatureExpire"), 1);
}

#[tokio::test]
async fn server_clock_seven_and_ten_minutes_off_is_recovered_through_date() {
    for offset in [7 * 60, -7 * 60, 10 * 60, -10 * 60] {
        recovers_from_server_clock_offset(offset).await;
    }
}

#[derive(Debug)]
struct FixedClock(std::time::SystemTime);
impl vod_events::tencent::Clock for FixedClock {
    fn now(&self) -> std::time::SystemTime {
        self.0
    }
}

#[tokio::test]
async fn a_local_clock_ten_minutes_slow_is_recovered_once_and_does_not_loop() {
    let fake = fake().await;
    let slow = std::time::SystemTime::now() - Duration::from_secs(600);
    let client = builder(&fake)
        .clock(Arc::new(FixedClock(slow)))
        .build()
        .unwrap();
    client.describe_events_state().await.unwrap();
    assert_eq!(fake.stats().errors_with("AuthFailure.SignatureExpire"), 1);

    // If the server keeps refusing the timestamp, the call fails after one re-sign.
    fake.fail_next(None, Fault::api_error("AuthFailure.SignatureExpire"), 10);
    let err = client.describe_events_state().await.unwrap_err();
    assert!(err.is_signature_expired());
    assert_eq!(
        fake.stats().requests_for(Action::DescribeEventsState),
        2 + 2
    );
}

#[tokio::test]
async fn a_garbage_body_is_a_decode_error_with_a_snippet() {
    let fake = fake().await;
    fake.fail_next(Some(Action::PullEvents), Fault::GarbageBody, 1);
    let client = builder(&fake)
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let err = client.pull_events().await.unwrap_err();
    match &err {
        Error::Decode { body_snippet, .. } => assert!(!body_snippet.is_empty()),
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(
        err.is_retryable(),
        "a mangled body may be a transient network problem"
    );
}

#[tokio::test]
async fn a_truncated_body_is_retried() {
    let fake = fake().await;
    fake.push_samples(None, 2);
    fake.fail_next(Some(Action::PullEvents), Fault::TruncatedBody, 1);
    let client = builder(&fake).build().unwrap();
    // The first (truncated) answer handed out the events server-side; they stay invisible
    // until the visibility window passes, so the retry may be empty: what matters is that
    // the call succeeds and nothing is lost.
    client.pull_events().await.unwrap();
    assert_eq!(fake.stats().requests_for(Action::PullEvents), 2);
}

#[tokio::test]
async fn an_oversize_body_is_refused_at_the_cap() {
    let fake = fake().await;
    fake.fail_next(
        Some(Action::PullEvents),
        Fault::OversizeBody(4 * 1024 * 1024),
        1,
    );
    let client = builder(&fake)
        .max_response_bytes(64 * 1024)
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let err = client.pull_events().await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 65536, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let fake = fake().await;
    fake.fail_next(None, Fault::Hang, 2);
    let client = builder(&fake)
        .long_poll_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let err = client.pull_events().await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{err:?}"
    );
    let err = client.describe_events_state().await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { after, .. } if after == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_dropped_connection_is_a_retryable_transport_error() {
    let fake = fake().await;
    fake.fail_next(None, Fault::Disconnect, 1);
    let client = builder(&fake)
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let err = client.describe_events_state().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    // With retries, the same fault is absorbed.
    fake.fail_next(None, Fault::Disconnect, 1);
    builder(&fake)
        .build()
        .unwrap()
        .describe_events_state()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_dead_endpoint_is_a_transport_error() {
    // Bind and drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .credentials(Credentials::new(ID, KEY))
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let err = client.pull_events().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn a_token_is_sent_as_x_tc_token_and_only_then() {
    let fake = fake().await;
    fake.set_required_token(Some("session-token-1".into()));
    let with_token = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new(ID, KEY).with_token("session-token-1"))
        .build()
        .unwrap();
    with_token.describe_events_state().await.unwrap();
    assert_eq!(fake.stats().requests_with_token, 1);

    let without = builder(&fake).build().unwrap();
    let err = without.describe_events_state().await.unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure.TokenFailure"));
    assert_eq!(
        fake.stats().requests_with_token,
        1,
        "no token header without a token"
    );
}

#[tokio::test]
async fn every_empty_shape_is_no_events() {
    let fake = fake().await;
    let client = builder(&fake).build().unwrap();
    for shape in [
        EmptyPullShape::EmptyList,
        EmptyPullShape::Null,
        EmptyPullShape::Absent,
        EmptyPullShape::ResourceNotFound,
    ] {
        fake.set_empty_pull(shape);
        let pulled = client
            .pull_events()
            .await
            .unwrap_or_else(|e| panic!("{shape:?}: {e}"));
        assert!(pulled.event_set.is_empty(), "{shape:?}");
    }
}

#[tokio::test]
async fn a_long_poll_waits_for_an_event_and_returns_it() {
    let fake = FakeVod::start(FakeConfig {
        pull_hold: Duration::from_secs(5),
        ..FakeConfig::fast()
    })
    .await
    .unwrap();
    let client = builder(&fake).build().unwrap();
    let state = fake.state().clone();
    let pusher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        state.push_samples(None, 1);
    });
    let pulled = client.pull_events().await.unwrap();
    pusher.await.unwrap();
    assert_eq!(pulled.event_set.len(), 1);
}

#[tokio::test]
async fn invalid_confirms_are_refused_before_sending() {
    let fake = fake().await;
    let client = builder(&fake).build().unwrap();
    for handles in [
        vec![],
        vec!["".to_owned()],
        (0..17).map(|i| format!("h{i}")).collect(),
    ] {
        let err = client.confirm_events(handles).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidRequest {
                    action: "ConfirmEvents",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(fake.stats().requests_for(Action::ConfirmEvents), 0);
}

#[tokio::test]
async fn an_expired_handle_is_a_parameter_error_not_retried() {
    let fake = fake().await;
    let client = builder(&fake).build().unwrap();
    let err = client
        .confirm_events(vec!["no-such-handle".into()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    assert!(!err.is_retryable() && !err.is_fatal());
    assert_eq!(fake.stats().requests_for(Action::ConfirmEvents), 1);
}

#[tokio::test]
async fn no_retry_starts_after_the_deadline() {
    let fake = fake().await;
    fake.fail_next(
        Some(Action::ConfirmEvents),
        Fault::api_error("InternalError"),
        100,
    );
    let client = builder(&fake)
        .retry_policy(RetryPolicy {
            max_attempts: 100,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(50),
            min_rate_limited_delay: Duration::ZERO,
        })
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_millis(150);
    let request = vod_events::tencent::ConfirmEvents {
        event_handles: vec!["h".into()],
        sub_app_id: None,
    };
    let err = client
        .call_with_deadline(request, Some(deadline))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InternalError"));
    assert!(Instant::now() < deadline + Duration::from_millis(100));
    assert!(fake.stats().requests_for(Action::ConfirmEvents) < 100);
}

#[tokio::test]
async fn pacing_is_shared_by_all_tasks_of_a_client() {
    let fake = fake().await;
    // 5 per 200 ms is 25/s; the client paces at 12/s across 4 tasks. Unshared pacers would
    // send 48/s and be refused; the margin is wide because on a loaded machine a paced
    // request can be delayed and sent just behind the next.
    fake.set_rate_limit(Some(RateLimit {
        max_requests: 5,
        window: Duration::from_millis(200),
    }));
    let client = builder(&fake)
        .other_action_rate(12.0)
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..6 {
                    client.describe_events_state().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = fake.stats();
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(stats.requests_for(Action::DescribeEventsState), 24);
}

#[tokio::test]
async fn the_generic_call_takes_any_action() {
    let fake = fake().await;
    fake.push_samples(Some(9), 2);
    let client = builder(&fake).build().unwrap();
    let pulled = client
        .call(PullEvents {
            sub_app_id: Some(9),
        })
        .await
        .unwrap();
    assert_eq!(pulled.event_set.len(), 2);
}

#[test]
fn errors_and_debug_never_contain_the_key() {
    let client = Client::builder()
        .credentials(Credentials::new(ID, "TOPSECRET-KEY-VALUE").with_token("TOKEN-VALUE"))
        .build()
        .unwrap();
    let text = format!("{client:?}");
    assert!(
        !text.contains("TOPSECRET") && !text.contains("TOKEN-VALUE"),
        "{text}"
    );
}
