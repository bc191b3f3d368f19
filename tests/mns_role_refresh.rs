//! The MNS client signing with an ECS RAM role's temporary credentials, end to end against
//! the fake MNS and a fake metadata service: refreshed ahead of their expiry, one fetch for
//! many requests, a refused token dropped and fetched again, a failed refresh survived.
//!
//! Time moves by an injected client clock, never by sleeping: the cache reads the client's
//! clock, which stands still but for the steps the test makes, so stepping it a few minutes
//! makes credentials "near their expiry" at once. Steps stay well inside MNS's 15-minute
//! Date window, so the fake MNS accepts every request.

#[path = "common/alibaba_metadata.rs"]
mod alibaba_metadata;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use alibaba_metadata::{served, Fail, FakeEcsMetadata};
use vod_events::alibaba::credentials::{EcsRamRoleProvider, Env, ENV_METADATA_URL};
use vod_events::alibaba::mns::fake::{FakeMns, FakeMnsConfig};
use vod_events::alibaba::mns::{Error, MnsClient};
use vod_events::transport::{Clock, RetryPolicy};

const ROLE: &str = "vod-events-role";

/// A clock that stands still at its start plus the step the test sets, so the cache's
/// decisions do not depend on how long the test takes.
#[derive(Debug)]
struct SteppedClock {
    start: SystemTime,
    ahead_secs: AtomicU64,
}

impl SteppedClock {
    fn new() -> Self {
        SteppedClock {
            start: SystemTime::now(),
            ahead_secs: AtomicU64::new(0),
        }
    }

    fn set_ahead(&self, d: Duration) {
        self.ahead_secs.store(d.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> SystemTime {
        self.start + Duration::from_secs(self.ahead_secs.load(Ordering::SeqCst))
    }
}

fn creds(token: &str, lifetime_secs: u64) -> alibaba_metadata::Served {
    served(
        FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
        FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET,
        token,
        lifetime_secs,
    )
}

struct Setup {
    mns: FakeMns,
    meta: FakeEcsMetadata,
    clock: Arc<SteppedClock>,
    client: MnsClient,
}

impl Setup {
    /// Moves time on for the client and for MNS alike: the client compares expiries on the
    /// server's clock, learned from MNS's `Date`, so moving only its own clock would read as
    /// a skewed local clock, not as time passing.
    fn set_ahead(&self, d: Duration) {
        self.clock.set_ahead(d);
        self.mns.set_clock_offset_secs(d.as_secs() as i64);
    }
}

/// The fake MNS requiring `token`, the metadata serving it for `lifetime_secs`, and a client
/// on the role provider with a stepped clock.
async fn setup(token: &str, lifetime_secs: u64) -> Setup {
    let mns = FakeMns::start(FakeMnsConfig {
        required_token: Some(token.into()),
        ..FakeMnsConfig::fast()
    })
    .await
    .unwrap();
    let meta = FakeEcsMetadata::start(Some(ROLE), creds(token, lifetime_secs)).await;
    let clock = Arc::new(SteppedClock::new());
    let env = Env::from_pairs([(ENV_METADATA_URL, meta.base_url())]);
    let client = MnsClient::builder(mns.queue_url("vod-callback"))
        .credentials(EcsRamRoleProvider::new(env))
        .clock(clock.clone())
        .wait(Duration::ZERO)
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            min_rate_limited_delay: Duration::from_millis(10),
        })
        .jitter_seed(5)
        .build()
        .unwrap();
    Setup {
        mns,
        meta,
        clock,
        client,
    }
}

/// One receive and delete round trip; panics on an error.
async fn round_trip(s: &Setup) {
    s.mns.push_samples("vod-callback", 1);
    let received = s.client.batch_receive(16).await.unwrap();
    let handles: Vec<&str> = received
        .messages
        .iter()
        .map(|m| m.receipt_handle.as_str())
        .collect();
    assert!(!handles.is_empty());
    for result in s.client.batch_delete(&handles, None).await.unwrap() {
        result.unwrap();
    }
}

#[tokio::test]
async fn short_lived_credentials_are_refreshed_ahead_of_their_expiry() {
    // Ten minutes of life: refreshed in the last five.
    let s = setup("tok-1", 600).await;
    round_trip(&s).await;
    round_trip(&s).await;
    assert_eq!(
        s.meta.counts().credential_gets,
        1,
        "cached between requests"
    );
    // Six minutes on, the role has new credentials and MNS accepts only those.
    s.meta.serve(creds("tok-2", 4200));
    s.mns.set_required_token(Some("tok-2".into()));
    s.set_ahead(Duration::from_secs(360));
    round_trip(&s).await;
    assert_eq!(s.meta.counts().credential_gets, 2);
    assert_eq!(
        s.mns.stats().auth_failures,
        0,
        "refreshed before use, not after MNS refused the old token"
    );
    round_trip(&s).await;
    assert_eq!(s.meta.counts().credential_gets, 2, "the new set is cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_share_one_metadata_fetch() {
    let s = setup("tok-1", 3600).await;
    s.mns.push_samples("vod-callback", 32);
    let receives = (0..24).map(|_| s.client.batch_receive(1));
    for result in futures::future::join_all(receives).await {
        result.unwrap();
    }
    let counts = s.meta.counts();
    assert_eq!(
        (counts.token_puts, counts.role_lists, counts.credential_gets),
        (1, 1, 1),
        "{counts:?}"
    );
}

#[tokio::test]
async fn a_refused_token_drops_the_cache_and_the_request_succeeds_with_fresh_credentials() {
    let s = setup("tok-1", 3600).await;
    round_trip(&s).await;
    // The role's token changed early (revoked, rotated): the cached one is still far from
    // its expiry, so only MNS's refusal can tell.
    s.meta.serve(creds("tok-2", 3600));
    s.mns.set_required_token(Some("tok-2".into()));
    round_trip(&s).await;
    assert_eq!(s.meta.counts().credential_gets, 2);
    assert_eq!(
        s.mns.stats().auth_failures,
        1,
        "one refusal, then fresh credentials"
    );
    round_trip(&s).await;
    assert_eq!(s.meta.counts().credential_gets, 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_signing_with_the_valid_credentials() {
    let s = setup("tok-1", 600).await;
    round_trip(&s).await;
    s.meta.set_fail(Some(Fail::Status(500)));
    s.set_ahead(Duration::from_secs(360));
    // The refresh fails; the request goes out with the old set, which MNS still takes.
    round_trip(&s).await;
    assert_eq!(s.meta.counts().credential_gets, 2, "a refresh was tried");
    // Not retried at once: the next try waits RETRY_REFRESH_AFTER on the client's clock.
    round_trip(&s).await;
    assert_eq!(s.meta.counts().credential_gets, 2);
    // Later the metadata service is back, with new credentials: the next refresh takes them.
    s.meta.set_fail(None);
    s.meta.serve(creds("tok-2", 4200));
    s.mns.set_required_token(Some("tok-2".into()));
    s.set_ahead(Duration::from_secs(380));
    round_trip(&s).await;
    assert_eq!(s.meta.counts().credential_gets, 3);
    assert_eq!(s.mns.stats().auth_failures, 0);
}

#[tokio::test]
async fn expired_credentials_and_a_failing_refresh_surface_as_a_retryable_error() {
    let s = setup("tok-1", 600).await;
    round_trip(&s).await;
    s.meta.set_fail(Some(Fail::Status(503)));
    s.set_ahead(Duration::from_secs(599));
    let e = s.client.batch_receive(1).await.unwrap_err();
    let Error::Credentials(inner) = &e else {
        panic!("{e}");
    };
    assert!(inner.is_retryable(), "{e}");
    assert!(e.is_retryable(), "{e}");
    assert!(!e.to_string().contains("SECRET-LOOKING-BODY"), "{e}");
}
