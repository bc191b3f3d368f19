//! The MNS client and queue source against the fake MNS on 127.0.0.1: receive and delete,
//! expiry and redelivery, extension and stale handles, clock skew, STS tokens, base64
//! bodies, unknown types, partly failed deletes and each fault the fake injects.

use std::time::Duration;

use futures::StreamExt;
use vod_events::alibaba::credentials::Credentials;
use vod_events::alibaba::mns::fake::{samples, FakeMns, FakeMnsConfig, Fault};
use vod_events::alibaba::mns::{BodyEncoding, Error, MnsClient, MnsQueue};
use vod_events::consumer::{ConsumerOptions, ErrorClass, Source, SourceError};
use vod_events::transport::RetryPolicy;

const Q: &str = "vod-callback";

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        min_rate_limited_delay: Duration::from_millis(5),
    }
}

fn client_for(fake: &FakeMns, credentials: Credentials) -> MnsClient {
    MnsClient::builder(fake.queue_url(Q))
        .credentials(credentials)
        .wait(Duration::from_secs(1))
        .retry_policy(quick_retries())
        .jitter_seed(7)
        .build()
        .expect("client")
}

fn queue(fake: &FakeMns) -> MnsQueue {
    MnsQueue::new(client_for(fake, FakeMns::credentials()))
}

async fn fake(visibility: Duration) -> FakeMns {
    FakeMns::start(FakeMnsConfig {
        visibility_timeout: visibility,
        ..FakeMnsConfig::fast()
    })
    .await
    .expect("fake starts")
}

fn far() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn every_sample_is_delivered_decoded_and_deleted_and_unknown_types_are_kept() {
    let fake = fake(Duration::from_secs(30)).await;
    let bodies = samples::all_with_unknown();
    let ids = fake.push_samples(Q, bodies.len());
    let options = ConsumerOptions {
        expiry_margin: Duration::from_millis(200),
        ..ConsumerOptions::default()
    };
    let mut stream = queue(&fake).deliveries(options);
    let mut seen = Vec::new();
    while seen.len() < ids.len() {
        let delivery = stream.next().await.expect("runs").expect("no error");
        let m = delivery.message();
        assert_eq!(m.body_encoding, BodyEncoding::Raw);
        assert_eq!(m.dequeue_count, Some(1));
        assert_eq!(delivery.acker().attempt(), Some(1));
        if m.event.event_type() == Some("FutureEventFromTheFuture") {
            assert!(m.event.raw().get().contains("BrandNewField"), "kept whole");
            assert!(!m.event.event().expect("decodes").is_known());
        } else {
            assert!(
                m.event.event().expect("decodes").is_known(),
                "{}",
                m.event.raw()
            );
        }
        assert_eq!(delivery.raw().get(), m.event.raw().get());
        seen.push(delivery.message_id().to_owned());
        delivery.ack().expect("queued");
    }
    let stats = stream.shutdown().await;
    assert_eq!(stats.acked, ids.len() as u64, "{stats:?}");
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(fake.stats().deleted, ids.len() as u64);
    assert_eq!(fake.stats().queued, 0);
}

#[tokio::test]
async fn an_empty_queue_is_an_empty_receive_not_an_error() {
    let fake = fake(Duration::from_secs(30)).await;
    let got = queue(&fake)
        .receive()
        .await
        .expect("404 MessageNotExist is empty");
    assert!(got.is_empty());
}

#[tokio::test]
async fn an_unacknowledged_message_comes_back_with_a_new_handle_and_the_old_is_never_sent() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
    let q = queue(&fake);
    let first = q.receive().await.expect("receive").remove(0);
    let old = first.token.clone().expect("token");
    assert!(
        q.receive().await.expect("receive").is_empty(),
        "hidden while leased"
    );
    // Move the fake's clock past the visibility timeout instead of waiting for it.
    fake.set_clock_offset_secs(31);
    let second = q.receive().await.expect("receive").remove(0);
    let new = second.token.clone().expect("token");
    assert_eq!(second.attempt, Some(2));
    assert_eq!(second.message.message_id, first.message.message_id);
    assert_ne!(old.handle(), new.handle());
    let stale_before = fake.stats().stale_handles;
    let results = q.acknowledge(vec![old.clone(), new.clone()], far()).await;
    let e = results[0].as_ref().expect_err("stale");
    assert!(
        matches!(**e, Error::StaleHandle { .. }) && e.is_stale_handle(),
        "{e}"
    );
    assert!(results[1].is_ok(), "{:?}", results[1]);
    assert_eq!(
        fake.stats().stale_handles,
        stale_before,
        "the stale handle was never sent"
    );
    assert_eq!(fake.stats().deleted, 1);
}

#[tokio::test]
async fn extend_swaps_the_handle_and_the_old_one_is_dead() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
    let q = queue(&fake);
    let leased = q.receive().await.expect("receive").remove(0);
    let old = leased.token.expect("token");
    let lease = q
        .extend(&old, Duration::from_secs(600))
        .await
        .expect("extends");
    assert_ne!(lease.token.handle(), old.handle());
    assert!(lease.lease_until > leased.lease_until + Duration::from_secs(500));
    // Sent directly, the old handle is refused by the fake, as by MNS.
    let e = q
        .client()
        .delete(old.handle(), None)
        .await
        .expect_err("old handle dead");
    assert_eq!(e.code(), Some("MessageNotExist"), "{e}");
    assert!(q.acknowledge(vec![lease.token], far()).await[0].is_ok());
    assert_eq!(fake.stats().deleted, 1);
}

#[tokio::test]
async fn delivery_extend_and_nack_through_the_engine() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
    let mut stream = queue(&fake).deliveries(ConsumerOptions::default());
    let d = stream.next().await.expect("runs").expect("ok");
    let before = d.acker().token().expect("token");
    d.acker()
        .extend(Duration::from_secs(120))
        .await
        .expect("extends");
    let after = d.acker().token().expect("token");
    assert_ne!(before.handle(), after.handle());
    d.nack(); // visibility 0: back at once, with a new handle
    let again = stream.next().await.expect("runs").expect("ok");
    assert_eq!(again.acker().attempt(), Some(2));
    again.ack().expect("queued");
    stream.shutdown().await;
    assert_eq!(fake.stats().deleted, 1);
    assert!(fake.stats().visibility_changes >= 2);
}

#[tokio::test]
async fn keep_lease_extends_long_work_up_to_its_maximum() {
    use vod_events::alibaba::mns::{keep_lease, KeepLease};
    let fake = fake(Duration::from_secs(2)).await;
    fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
    let options = ConsumerOptions {
        expiry_margin: Duration::from_millis(100),
        ..ConsumerOptions::default()
    };
    let mut stream = MnsQueue::new(client_for(&fake, FakeMns::credentials()))
        .lease_margin(Duration::ZERO)
        .deliveries(options);
    let d = stream.next().await.expect("runs").expect("ok");
    let keep = KeepLease {
        visible_for: Duration::from_secs(2),
        renew_before: Duration::from_millis(1500),
        max_total: Duration::from_secs(30),
    };
    // Work that outlives the 2 s visibility: the lease is kept, nothing is redelivered.
    keep_lease(
        d.acker(),
        keep,
        tokio::time::sleep(Duration::from_millis(2500)),
    )
    .await;
    assert!(!d.acker().is_expired());
    d.ack().expect("queued");
    stream.shutdown().await;
    let stats = fake.stats();
    assert!(stats.visibility_changes >= 1, "{stats:?}");
    assert_eq!((stats.redelivered, stats.deleted), (0, 1), "{stats:?}");
}

#[tokio::test]
async fn a_server_clock_20_minutes_off_either_way_is_learned_and_leases_stay_right() {
    for offset in [1200i64, -1200] {
        let fake = fake(Duration::from_secs(30)).await;
        fake.set_clock_offset_secs(offset);
        fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
        let q = queue(&fake);
        let sent = tokio::time::Instant::now();
        let leased = q
            .receive()
            .await
            .expect("re-signed with the server's time")
            .remove(0);
        assert!(
            (q.client().clock_skew_secs() - offset).abs() <= 2,
            "{offset}"
        );
        let left = leased.lease_until.saturating_duration_since(sent);
        assert!(
            left > Duration::from_secs(25) && left <= Duration::from_secs(30),
            "{offset}: lease {left:?} from a 30 s visibility"
        );
        assert!(q
            .acknowledge(vec![leased.token.expect("token")], far())
            .await[0]
            .is_ok());
        assert!(
            fake.stats().auth_failures >= 1,
            "the first request was refused"
        );
    }
}

#[tokio::test]
async fn an_sts_token_is_sent_and_a_missing_one_is_fatal() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.set_required_token(Some("CAIS-token+/=".into()));
    fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
    let without = MnsQueue::new(client_for(&fake, FakeMns::credentials()));
    let e = without.receive().await.expect_err("refused");
    assert_eq!(e.class(), ErrorClass::Fatal, "{e}");
    // A refused token is signed once more with credentials asked for again (the same here),
    // then it is fatal: two refusals, never a retry loop.
    assert_eq!(
        fake.stats().auth_failures,
        2,
        "a refused token is re-signed once, then fatal"
    );
    let creds = FakeMns::credentials().with_security_token("CAIS-token+/=");
    let with = MnsQueue::new(client_for(&fake, creds));
    assert_eq!(with.receive().await.expect("accepted").len(), 1);
    assert!(fake.stats().requests_with_token >= 1);
}

#[tokio::test]
async fn a_wrong_secret_is_fatal_and_not_retried() {
    let fake = fake(Duration::from_secs(30)).await;
    let q = MnsQueue::new(client_for(
        &fake,
        Credentials::new(FakeMnsConfig::DEFAULT_ACCESS_KEY_ID, "wrong"),
    ));
    let e = q.receive().await.expect_err("refused");
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"), "{e}");
    assert!(e.is_fatal() && !e.is_retryable());
    assert_eq!(fake.stats().auth_failures, 1);
}

#[tokio::test]
async fn base64_bodies_are_decoded() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.send_base64(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
    let m = queue(&fake)
        .receive()
        .await
        .expect("receive")
        .remove(0)
        .message;
    assert_eq!(m.body_encoding, BodyEncoding::Base64);
    assert_eq!(m.event.event_type(), Some("FileUploadComplete"));
}

#[tokio::test]
async fn a_partly_failed_batch_delete_reports_per_token() {
    let fake = fake(Duration::from_secs(30)).await;
    for i in 0..4 {
        fake.send(
            Q,
            format!(r#"{{"EventType":"FileUploadComplete","VideoId":"v{i}"}}"#),
        );
    }
    let q = queue(&fake);
    let tokens: Vec<_> = q
        .receive()
        .await
        .expect("receive")
        .into_iter()
        .map(|l| l.token.expect("token"))
        .collect();
    assert_eq!(tokens.len(), 4);
    fake.fail_next(Fault::PartialDelete);
    let results = q.acknowledge(tokens, far()).await;
    let failed: Vec<_> = results.iter().map(|r| r.is_err()).collect();
    assert_eq!(failed, [false, true, false, true]);
    let e = results[1].as_ref().expect_err("failed");
    assert_eq!(e.code(), Some("ReceiptHandleError"), "{e}");
    assert_eq!(fake.stats().deleted, 2);
}

#[tokio::test]
async fn each_fault_on_receive_is_retried_and_nothing_is_lost() {
    for fault in [
        Fault::InternalError,
        Fault::QpsLimitExceeded,
        Fault::Reset,
        Fault::TruncatedXml,
        Fault::Slow(Duration::from_millis(20)),
        Fault::AppliedButLost,
    ] {
        let fake = fake(Duration::from_secs(30)).await;
        fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
        let q = queue(&fake);
        fake.fail_next(fault.clone());
        let got = q
            .receive()
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        let lost = matches!(fault, Fault::AppliedButLost | Fault::TruncatedXml);
        if lost {
            // The lost answer's delivery hides the message until its visibility ends.
            assert!(got.is_empty(), "{fault:?}");
            fake.set_clock_offset_secs(31);
            let again = q.receive().await.expect("receive");
            assert_eq!(again[0].attempt, Some(2), "{fault:?}");
        } else {
            assert_eq!(got.len(), 1, "{fault:?}");
        }
        assert_eq!(fake.stats().faults, 1, "{fault:?}");
    }
}

/// An empty queue answers 404 `MessageNotExist`; cut short on the way, that `<Error>` is an
/// unreadable answer to retry, not an error without a code that would end a consumer.
#[tokio::test]
async fn a_truncated_error_answer_is_retried_not_taken_for_a_refusal() {
    let fake = fake(Duration::from_secs(30)).await;
    let q = queue(&fake);
    fake.fail_next(Fault::TruncatedXml);
    let got = q.receive().await.expect("retried, then empty");
    assert!(got.is_empty());
    assert_eq!(fake.stats().faults, 1);
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_counts_as_done_on_the_retry() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.send(Q, r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#);
    let q = queue(&fake);
    let token = q
        .receive()
        .await
        .expect("receive")
        .remove(0)
        .token
        .expect("token");
    fake.fail_next(Fault::AppliedButLost);
    let results = q.acknowledge(vec![token], far()).await;
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert_eq!(fake.stats().deleted, 1);
}

#[tokio::test]
async fn connections_closed_by_the_server_are_survived() {
    let fake = FakeMns::start(FakeMnsConfig {
        max_requests_per_connection: Some(1),
        ..FakeMnsConfig::fast()
    })
    .await
    .expect("fake");
    fake.push_samples(Q, 40);
    let q = queue(&fake);
    let mut deleted = 0;
    while deleted < 40 {
        let tokens: Vec<_> = q
            .receive()
            .await
            .expect("receive")
            .into_iter()
            .filter_map(|l| l.token)
            .collect();
        deleted += q
            .acknowledge(tokens, far())
            .await
            .iter()
            .filter(|r| r.is_ok())
            .count();
    }
    assert_eq!(fake.stats().queued, 0);
}

#[tokio::test]
async fn a_missing_queue_is_fatal() {
    let fake = fake(Duration::from_secs(30)).await;
    let client = MnsClient::builder(fake.queue_url("no-such-queue"))
        .credentials(FakeMns::credentials())
        .wait(Duration::from_secs(1))
        .build()
        .expect("client");
    let e = MnsQueue::new(client).receive().await.expect_err("404");
    assert_eq!(e.code(), Some("QueueNotExist"));
    assert_eq!(e.class(), ErrorClass::Fatal);
}

#[tokio::test]
async fn a_non_ascii_queue_name_is_encoded_and_signed_as_sent() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.send(
        "视频回调",
        r#"{"EventType":"FileUploadComplete","VideoId":"v1"}"#,
    );
    let client = MnsClient::builder(fake.queue_url("视频回调"))
        .credentials(FakeMns::credentials())
        .wait(Duration::from_secs(1))
        .build()
        .expect("client");
    assert_eq!(
        MnsQueue::new(client).receive().await.expect("signed").len(),
        1
    );
}

#[tokio::test]
async fn an_answer_over_the_body_cap_is_refused_unread() {
    let fake = fake(Duration::from_secs(30)).await;
    fake.send(
        Q,
        format!(r#"{{"EventType":"X","Pad":"{}"}}"#, "x".repeat(4096)),
    );
    let client = MnsClient::builder(fake.queue_url(Q))
        .credentials(FakeMns::credentials())
        .wait(Duration::from_secs(1))
        .max_response_bytes(1024)
        .build()
        .expect("client");
    let e = MnsQueue::new(client)
        .receive()
        .await
        .expect_err("over the cap");
    assert!(matches!(e, Error::BodyTooLarge { limit: 1024, .. }), "{e}");
    assert_eq!(e.class(), ErrorClass::Permanent);
}
