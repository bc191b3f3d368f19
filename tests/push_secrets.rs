//! No push key, and no signature the receiver expected for a refused request, shows in logs
//! at TRACE (every target: the library, axum, hyper, reqwest), in answers, errors or `Debug`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde_json::json;
use vod_events::push::verify::{alibaba_signature, tencent_sign};
use vod_events::push::{Keys, Receiver, Secret};
use vod_events::transport::Clock;

mod common;
use common::log_capture::capture;

const TENCENT: &str = "PushTencentKey0123456789";
const TENCENT_OLD: &str = "PushTencentOldKey98765";
const ALIBABA: &str = "PushAlibabaKey0123456789";
const ALIBABA_OLD: &str = "PushAlibabaOldKey98765";
const URL: &str = "https://hooks.example.com/vod";
const NOW: i64 = 1_700_000_000;

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW as u64)
    }
}

fn hex(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn keys_and_expected_signatures_never_reach_logs_answers_or_debug() {
    let log = capture();
    let builder = Receiver::builder()
        .tencent_sign_key(Keys::new(TENCENT).with_previous(TENCENT_OLD))
        .alibaba_auth_key(Keys::new(ALIBABA).with_previous(ALIBABA_OLD))
        .callback_url(URL)
        .clock(Arc::new(FixedClock));
    let builder_debug = format!("{builder:?}");
    let (router, mut deliveries) = builder.build().expect("receiver");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = reqwest::Client::new();
    let endpoint = format!("http://{addr}/vod");

    // What the receiver would have expected for each refused request.
    let mut expected = Vec::new();
    let mut answers = Vec::new();
    let t = NOW + 60;
    for key in [TENCENT, TENCENT_OLD] {
        expected.push(hex(tencent_sign(&Secret::new(key), &t.to_string())));
    }
    let ts = NOW.to_string();
    for key in [ALIBABA, ALIBABA_OLD] {
        expected.push(hex(alibaba_signature(&Secret::new(key), URL, &ts)));
    }
    let forged = "0123456789abcdef0123456789abcdef";
    let tencent_forged =
        json!({"EventType": "NewFileUpload", "FileUploadEvent": {}, "Sign": forged, "T": t});
    let answer = client
        .post(&endpoint)
        .body(tencent_forged.to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 401);
    answers.push(answer.text().await.expect("text"));
    for prefix in ["vod", "ice"] {
        let answer = client
            .post(&endpoint)
            .header(format!("x-{prefix}-timestamp"), &ts)
            .header(format!("x-{prefix}-signature"), forged)
            .body(r#"{"EventType":"FileUploadComplete","EventTime":"t","VideoId":"v"}"#)
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status(), 401);
        answers.push(answer.text().await.expect("text"));
    }

    // One accepted push, delivered, with its Debug forms.
    // Another T than the refused one's, so its (valid, sent) Sign is not one of `expected`.
    let t2 = t + 1;
    let sign = hex(tencent_sign(&Secret::new(TENCENT_OLD), &t2.to_string()));
    let good = json!({"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": "1"}, "Sign": sign, "T": t2});
    let request = client.post(&endpoint).body(good.to_string()).send();
    let request = tokio::spawn(request);
    let delivery = tokio::time::timeout(Duration::from_secs(20), deliveries.next())
        .await
        .expect("in time")
        .expect("stream")
        .expect("delivery");
    let delivery_debug = format!("{delivery:?} {:?}", deliveries.source());
    delivery.ack().expect("acked");
    let answer = request.await.expect("task").expect("answer");
    assert_eq!(answer.status(), 200);
    answers.push(answer.text().await.expect("text"));

    let everything = format!(
        "{}\n{builder_debug}\n{delivery_debug}\n{}",
        log.text(),
        answers.join("\n")
    );
    for secret in [TENCENT, TENCENT_OLD, ALIBABA, ALIBABA_OLD] {
        assert!(!everything.contains(secret), "a key leaked: {secret}");
    }
    for signature in &expected {
        assert!(
            !everything.to_lowercase().contains(signature),
            "an expected signature leaked: {signature}"
        );
    }
    assert!(
        log.text().contains("push refused"),
        "the refusals are logged"
    );
}
