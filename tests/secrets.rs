//! Secret hygiene: a full session (pulls, confirms, config calls with a `SignKey`, a wrong
//! key, a clock-skew recovery, faults, both streams, shutdown, credentials from the
//! environment and from a profile file) with every `TRACE` event captured, then a search for
//! the secret key, the session token and the callback `SignKey` in everything a person could
//! see: the log, every error's `Display` and `Debug`, the `Debug` of every public value that
//! holds them, and panic messages.
//!
//! `the_check_catches_a_deliberately_logged_key` runs the same session with the key logged
//! once on purpose and requires the check to find it, so the check is known to be able to fail.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use vod_events::tencent::credentials::{Env, EnvProvider, ProfileProvider, StaticProvider};
use vod_events::tencent::fake::{Action, FakeConfig, FakeCredential, FakeVod, Fault, FaultMix};
use vod_events::tencent::{
    Client, Credentials, DefaultChain, ModifyEventConfig, ProvideCredentials, RetryPolicy,
};

mod common;
use common::log_capture::capture;
use common::{quick_retries, stream_options};

/// The secrets of one session; each test uses its own, so they can share the log.
struct Secrets {
    id: String,
    key: String,
    wrong_key: String,
    token: String,
    sign_key: String,
}

impl Secrets {
    fn new(tag: &str) -> Self {
        Secrets {
            id: format!("AKID{tag}0000000000000000000000000000"),
            key: format!("Key{tag}DoNotLog7f3a9c1e5b2d"),
            wrong_key: format!("Wrong{tag}DoNotLog0c4e8a"),
            token: format!("Token{tag}DoNotLog4e8b0a6c2f1d"),
            sign_key: format!("Sign{tag}DoNotLog9b1d"),
        }
    }

    fn all(&self) -> [&str; 4] {
        [&self.key, &self.wrong_key, &self.token, &self.sign_key]
    }
}

/// Runs the session; returns the texts a person could see besides the log.
async fn session(s: &Secrets, leak_on_purpose: bool) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut show = |what: &str, text: String| seen.push(format!("{what}: {text}"));

    let fake = FakeVod::start(FakeConfig {
        credentials: vec![FakeCredential::new(&s.id, &s.key)],
        required_token: Some(s.token.clone()),
        visibility_timeout: Duration::from_millis(500),
        ..FakeConfig::fast()
    })
    .await
    .unwrap();
    show("FakeConfig", format!("{:?}", fake.config()));
    let creds = Credentials::new(&s.id, &s.key).with_token(&s.token);
    show("Credentials", format!("{creds:?}"));
    show(
        "Secret",
        format!("{:?} {}", creds.secret_key(), creds.secret_key()),
    );
    let builder = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(creds.clone())
        .retry_policy(quick_retries());
    show("ClientBuilder", format!("{builder:?}"));
    let client = builder.build().unwrap();
    show("Client", format!("{client:?}"));

    if leak_on_purpose {
        tracing::info!(key = %s.key, "deliberate leak");
    }

    // Plain calls, a SignKey, faults on the way.
    fake.push_samples(None, 40);
    fake.fail_next(None, Fault::HttpStatus(500), 1);
    fake.fail_next(None, Fault::GarbageBody, 1);
    let pulled = client.pull_events().await.unwrap();
    show("PullEventsResponse", format!("{pulled:?}"));
    let handles: Vec<String> = pulled
        .event_set
        .iter()
        .filter_map(|raw| {
            serde_json::from_str::<serde_json::Value>(raw.get()).ok()?["EventHandle"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    show(
        "ConfirmEventsResponse",
        format!("{:?}", client.confirm_events(handles).await.unwrap()),
    );
    let modify = ModifyEventConfig {
        mode: Some("PULL".into()),
        sign_key: Some(s.sign_key.clone().into()),
        ..Default::default()
    };
    show("ModifyEventConfig", format!("{modify:?}"));
    client.modify_event_config(modify).await.unwrap();
    show(
        "DescribeEventConfigResponse",
        format!("{:?}", client.describe_event_config().await.unwrap()),
    );

    // The server's clock 10 minutes ahead: one SignatureExpire, recovered through Date.
    fake.set_clock_offset(600);
    client.describe_events_state().await.unwrap();
    assert_eq!(fake.stats().errors_with("AuthFailure.SignatureExpire"), 1);

    // Every error a person could be shown: Display, Debug, and the panic of an unwrap.
    let mut errors = Vec::new();
    let wrong = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new(&s.id, &s.wrong_key).with_token(&s.token))
        .build()
        .unwrap();
    errors.push(wrong.pull_events().await.unwrap_err());
    let no_token = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::new(&s.id, &s.key))
        .build()
        .unwrap();
    errors.push(no_token.pull_events().await.unwrap_err());
    fake.fail_next(None, Fault::Hang, 1);
    let impatient = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(creds.clone())
        .long_poll_timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    errors.push(impatient.pull_events().await.unwrap_err());
    fake.fail_next(None, Fault::Disconnect, 1);
    errors.push(impatient.describe_events_state().await.unwrap_err());
    fake.fail_next(None, Fault::OversizeBody(100_000), 1);
    errors.push(
        Client::builder()
            .endpoint(fake.endpoint())
            .credentials(creds.clone())
            .max_response_bytes(1_000)
            .build()
            .unwrap()
            .describe_events_state()
            .await
            .unwrap_err(),
    );
    errors.push(
        client
            .confirm_events(vec![String::new()])
            .await
            .unwrap_err(),
    );
    // Credentials pasted into the endpoint by mistake, in every way the builder refuses.
    for endpoint in [
        format!("https://{}:{}@vod.tencentcloudapi.com", s.id, s.key),
        format!("http://{}:{}@vod.example.com", s.id, s.key),
        format!("https://vod.tencentcloudapi.com/?token={}", s.token),
        format!("not a url {}", s.key),
    ] {
        let builder = Client::builder()
            .endpoint(endpoint)
            .credentials(creds.clone());
        show("ClientBuilder", format!("{builder:?}"));
        errors.push(builder.build().unwrap_err());
    }
    for e in errors {
        show("error Display", e.to_string());
        show("error Debug", format!("{e:?}"));
        // What a consumer's `.unwrap()` on this error would print.
        let result: Result<(), vod_events::tencent::Error> = Err(e);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            #[allow(clippy::unnecessary_literal_unwrap)]
            result.unwrap()
        }));
        assert!(panicked.is_err());
    }

    // Credential sources.
    let dir = std::env::temp_dir().join(format!("vod-events-secrets-{}", s.id));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        format!("[default]\nsecret_id = {}\nsecret_key = {}\n", s.id, s.key),
    )
    .unwrap();
    // Every chain gets a metadata URL where nothing listens: no test probes the real one.
    let env = Env::from_pairs([
        ("TENCENTCLOUD_SECRET_ID", s.id.as_str()),
        ("TENCENTCLOUD_SECRET_KEY", s.key.as_str()),
        ("TENCENTCLOUD_SESSION_TOKEN", s.token.as_str()),
        ("VOD_EVENTS_TENCENT_METADATA_URL", "http://127.0.0.1:1/"),
    ]);
    let file_env = Env::from_pairs([
        (
            "TENCENTCLOUD_CREDENTIALS_FILE",
            file.to_string_lossy().as_ref(),
        ),
        ("VOD_EVENTS_TENCENT_METADATA_URL", "http://127.0.0.1:1/"),
    ]);
    let providers: Vec<Arc<dyn ProvideCredentials>> = vec![
        Arc::new(StaticProvider::new(creds.clone())),
        Arc::new(EnvProvider::new(env.clone())),
        Arc::new(ProfileProvider::new(file_env.clone())),
        Arc::new(DefaultChain::with_env(env.clone())),
        Arc::new(DefaultChain::with_env(file_env)),
    ];
    for p in &providers {
        show("provider", format!("{p:?}"));
        let got = p.provide().await.unwrap();
        assert_eq!(got.secret_key().expose(), s.key);
        show("provided", format!("{got:?}"));
    }
    show("Env", format!("{env:?}"));
    // A malformed profile file that holds the key: the error names the line, not the value.
    std::fs::write(&file, format!("[default]\nsecret_key {}\n", s.key)).unwrap();
    let bad = Env::from_pairs([(
        "TENCENTCLOUD_CREDENTIALS_FILE",
        file.to_string_lossy().as_ref(),
    )]);
    let e = ProfileProvider::new(bad).provide().await.unwrap_err();
    show("credentials error", format!("{e} {e:?}"));
    let _ = std::fs::remove_dir_all(&dir);

    // Both streams, with faults, then shutdown.
    fake.push_samples(None, 60);
    fake.set_fault_mix(Some(FaultMix {
        probability: 0.2,
        faults: common::every_transient_fault(),
        seed: 5,
        action: None,
    }));
    let mut events = client.sequential_events_with(stream_options());
    for _ in 0..20 {
        let e = events.next().await.unwrap().unwrap();
        show("Event", format!("{e:?}"));
    }
    show("SequentialEvents", format!("{events:?}"));
    show("StreamStats", format!("{:?}", events.shutdown().await));
    let mut deliveries = client.deliveries_with(stream_options());
    for _ in 0..20 {
        let d = deliveries.next().await.unwrap().unwrap();
        show("Delivery", format!("{d:?}"));
        show("Acker", format!("{:?}", d.acker()));
        d.ack().unwrap();
    }
    show("DeliveryStream", format!("{deliveries:?}"));
    show("StreamStats", format!("{:?}", deliveries.shutdown().await));
    let stats = fake.stats();
    assert!(stats.requests_with_token > 0);
    assert!(stats.requests_for(Action::ConfirmEvents) > 0);
    show("FakeStats", format!("{stats:?}"));
    show("FakeState", format!("{:?}", fake.state()));
    show("FakeVod", format!("{fake:?}"));
    show("EventConfig", format!("{:?}", fake.event_config(None)));
    fake.shutdown().await;
    seen
}

/// Every place a secret of `s` shows up, as `(where, secret)`.
fn leaks(s: &Secrets, log: &str, seen: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for secret in s.all() {
        if log.contains(secret) {
            let line = log.lines().find(|l| l.contains(secret)).unwrap_or("");
            found.push(format!("log: {line}"));
        }
        for text in seen {
            if text.contains(secret) {
                found.push(text.clone());
            }
        }
    }
    found
}

#[tokio::test]
async fn no_secret_appears_in_logs_errors_debug_or_panics() {
    let captured = capture();
    let s = Secrets::new("Clean");
    let seen = session(&s, false).await;
    let log = captured.text();
    assert!(
        log.contains("vod_call") && log.contains("TRACE"),
        "the log was captured at TRACE"
    );
    assert!(log.contains("PANIC:"), "panic messages were captured");
    let found = leaks(&s, &log, &seen);
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

#[tokio::test]
async fn the_check_catches_a_deliberately_logged_key() {
    let captured = capture();
    let s = Secrets::new("Leaky");
    let seen = session(&s, true).await;
    let found = leaks(&s, &captured.text(), &seen);
    assert!(
        found.iter().any(|f| f.contains("deliberate leak")),
        "the check missed a logged key: {found:?}"
    );
}
