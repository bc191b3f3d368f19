//! No AccessKey secret, STS token or signature of the MNS client shows in logs at TRACE
//! (every target: the library, reqwest, hyper), in errors or in `Debug`.

use std::time::Duration;

use vod_events::alibaba::credentials::Credentials;
use vod_events::alibaba::mns::fake::{FakeMns, FakeMnsConfig, FakeMnsCredential, Fault};
use vod_events::alibaba::mns::{MnsClient, MnsQueue};
use vod_events::consumer::Source;
use vod_events::transport::RetryPolicy;

mod common;
use common::log_capture::capture;

#[tokio::test]
async fn secrets_and_tokens_never_reach_trace_logs_errors_or_debug() {
    let log = capture();
    let secret = "MnsSecretValue0123456789abcdef";
    let token = "CAISStsTokenValue9876543210";
    let fake = FakeMns::start(FakeMnsConfig {
        credentials: vec![FakeMnsCredential {
            access_key_id: "LTAIsecrets".into(),
            access_key_secret: secret.into(),
        }],
        required_token: Some(token.into()),
        ..FakeMnsConfig::fast()
    })
    .await
    .expect("fake");
    fake.push_samples("vod-callback", 20);
    let creds = Credentials::new("LTAIsecrets", secret).with_security_token(token);
    let client = MnsClient::builder(fake.queue_url("vod-callback"))
        .credentials(creds.clone())
        .wait(Duration::from_secs(1))
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .build()
        .expect("client");
    let q = MnsQueue::new(client.clone());
    fake.fail_next(Fault::InternalError);
    let got = q.receive().await.expect("receive");
    let tokens: Vec<_> = got.into_iter().filter_map(|l| l.token).collect();
    let extended = q
        .extend(&tokens[0], Duration::from_secs(60))
        .await
        .expect("extend");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut rest = tokens[1..].to_vec();
    rest.push(extended.token);
    let _ = q.acknowledge(rest, deadline).await;
    // A refused request, for its error text.
    let wrong = MnsClient::builder(fake.queue_url("vod-callback"))
        .credentials(Credentials::new("LTAIsecrets", "not-it").with_security_token(token))
        .build()
        .expect("client");
    let refused = MnsQueue::new(wrong).receive().await.expect_err("refused");
    let shown = format!(
        "{}\n{refused}\n{refused:?}\n{creds:?}\n{client:?}\n{q:?}\n{tokens:?}",
        log.text()
    );
    assert!(
        shown.contains("mns_call"),
        "TRACE was captured: {shown:.2000}"
    );
    assert!(
        shown.contains("string_to_sign"),
        "the signing step is traced"
    );
    // The `Authorization` value starts with `MNS <id>:`; the signature follows it.
    for needle in [secret, token, "MNS LTAIsecrets:"] {
        assert!(!shown.contains(needle), "{needle} leaked");
    }
}
