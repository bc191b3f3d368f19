//! The push receiver over real HTTP on 127.0.0.1: every producer accepted and delivered
//! typed, 200 only after `ack()`, 503 on `nack()`, drop and a missed deadline, every
//! refusal with its status, repeats answered without a second delivery, and the router
//! mounted inside another axum app.
//!
//! No assertion depends on timing: waits have generous timeouts, and the deadline test
//! asserts the status, not how long it took.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use futures::StreamExt;
use http::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vod_events::push::verify::{alibaba_signature, tencent_sign};
use vod_events::push::{PushDelivery, PushStream, PushedEvent, Receiver, ReceiverBuilder, Secret};
use vod_events::transport::Clock;
use vod_events::{Provider, VodEvent};

const URL: &str = "https://www.example.com/your/callback";
const PATH: &str = "/your/callback";
const TENCENT_KEY: &str = "mysignkey";
const ALIBABA_KEY: &str = "test123";
/// The receiver's clock: the Alibaba doc vector's second (2018-02-23).
const NOW: i64 = 1_519_375_990;
/// Tencent's documented `T` (2025-01-01), in the future of [`NOW`].
const T: i64 = 1_735_689_600;
/// How long a test waits for something that should come at once.
const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug)]
struct FixedClock(i64);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.unsigned_abs())
    }
}

/// The receiver of most tests; deadlines far longer than any test needs, so that a slow
/// machine cannot turn an acknowledgement into a 503.
fn builder() -> ReceiverBuilder {
    Receiver::builder()
        .tencent_sign_key(TENCENT_KEY)
        .alibaba_auth_key(ALIBABA_KEY)
        .callback_url(URL)
        .clock(Arc::new(FixedClock(NOW)))
        .ack_deadline(Provider::Tencent, WAIT)
        .ack_deadline(Provider::AlibabaVod, WAIT)
        .ack_deadline(Provider::AlibabaIms, WAIT)
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// Extra request headers, name and value.
type Headers = Vec<(String, String)>;

/// The receiver's address and a client to post to it.
#[derive(Clone)]
struct Http {
    addr: SocketAddr,
    client: reqwest::Client,
}

struct Harness {
    http: Http,
    deliveries: PushStream,
}

async fn start(builder: ReceiverBuilder) -> Harness {
    let (router, deliveries) = builder.build().expect("receiver");
    Harness {
        http: Http {
            addr: serve(router).await,
            client: reqwest::Client::new(),
        },
        deliveries,
    }
}

fn hex(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tencent_body(event: Value, t: i64) -> String {
    let mut event = event;
    event["T"] = json!(t);
    event["Sign"] = json!(hex(tencent_sign(&Secret::new(TENCENT_KEY), &t.to_string())));
    event.to_string()
}

fn signed_tencent() -> String {
    tencent_body(
        json!({"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": "5285890781763144364", "MediaBasicInfo": {"Name": "a"}}}),
        T,
    )
}

fn alibaba_headers(prefix: &str) -> Vec<(String, String)> {
    let sig = hex(alibaba_signature(
        &Secret::new(ALIBABA_KEY),
        URL,
        &NOW.to_string(),
    ));
    vec![
        (format!("x-{prefix}-timestamp"), NOW.to_string()),
        (format!("x-{prefix}-signature"), sig),
    ]
}

fn vod_body(video: &str) -> String {
    json!({"EventTime": "2018-02-23T08:53:10Z", "EventType": "FileUploadComplete", "VideoId": video,
           "Status": "success", "Size": 1024, "FileUrl": "http://example.com/a.mp4"})
    .to_string()
}

fn ims_body(media: &str) -> String {
    json!({"EventType": "FileUploadComplete", "UserId": 1833220977560000_u64, "EventTime": "2022-07-27T08:13:36Z",
           "MessageBody": {"MediaId": media, "FileInfo": {"FileName": "a.mp4"}, "Status": "Success"}})
    .to_string()
}

impl Http {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a POST in the background; the test consumes the delivery meanwhile.
    fn post(
        &self,
        headers: Vec<(String, String)>,
        body: impl Into<reqwest::Body>,
    ) -> tokio::task::JoinHandle<StatusCode> {
        self.post_to(PATH, headers, body)
    }

    fn post_to(
        &self,
        path: &str,
        headers: Vec<(String, String)>,
        body: impl Into<reqwest::Body>,
    ) -> tokio::task::JoinHandle<StatusCode> {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        tokio::spawn(async move {
            tokio::time::timeout(WAIT * 2, request.send())
                .await
                .expect("an answer in time")
                .expect("an HTTP answer")
                .status()
        })
    }
}

impl Harness {
    fn post(
        &self,
        headers: Vec<(String, String)>,
        body: impl Into<reqwest::Body>,
    ) -> tokio::task::JoinHandle<StatusCode> {
        self.http.post(headers, body)
    }

    fn post_to(
        &self,
        path: &str,
        headers: Vec<(String, String)>,
        body: impl Into<reqwest::Body>,
    ) -> tokio::task::JoinHandle<StatusCode> {
        self.http.post_to(path, headers, body)
    }

    async fn next(&mut self) -> PushDelivery {
        tokio::time::timeout(WAIT, self.deliveries.next())
            .await
            .expect("a delivery in time")
            .expect("the stream goes on")
            .expect("no stream error")
    }
}

async fn status(request: tokio::task::JoinHandle<StatusCode>) -> StatusCode {
    request.await.expect("request task")
}

#[tokio::test]
async fn a_signed_tencent_push_is_delivered_typed_and_answered_200_on_ack() {
    let mut h = start(builder()).await;
    let body = signed_tencent();
    let request = h.post(vec![], body.clone());
    let delivery = h.next().await;
    let push = delivery.message();
    assert_eq!(push.provider(), Provider::Tencent);
    assert_eq!(push.body().as_ref(), body.as_bytes(), "raw body kept");
    let event = push.tencent().expect("tencent").event().expect("typed");
    assert_eq!(event.event_type(), "NewFileUpload");
    assert_eq!(event.file_id(), Some("5285890781763144364"));
    let json: Value = serde_json::from_str(&push.json()).expect("json");
    assert!(
        json.get("Sign").is_none() && json.get("T").is_none(),
        "{json}"
    );
    delivery.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
    assert_eq!(h.deliveries.source().stats().accepted, 1);
}

#[tokio::test]
async fn signed_alibaba_vod_and_ims_callbacks_are_delivered_typed() {
    let mut h = start(builder()).await;
    for (prefix, body, provider) in [
        ("vod", vod_body("v1"), Provider::AlibabaVod),
        ("ice", ims_body("m1"), Provider::AlibabaIms),
    ] {
        let request = h.post(alibaba_headers(prefix), body.clone());
        let delivery = h.next().await;
        let push = delivery.message();
        assert_eq!(push.provider(), provider);
        assert_eq!(push.json(), body);
        let received = push.alibaba().expect("alibaba");
        assert_eq!(
            received.event().expect("typed").event_type(),
            "FileUploadComplete"
        );
        assert_eq!(received.provider(), provider);
        delivery.ack().expect("acked");
        assert_eq!(status(request).await, StatusCode::OK, "{prefix}");
    }
}

#[tokio::test]
async fn a_nack_or_a_dropped_delivery_answers_503() {
    let mut h = start(builder()).await;
    let request = h.post(alibaba_headers("vod"), vod_body("nacked"));
    h.next().await.nack();
    assert_eq!(status(request).await, StatusCode::SERVICE_UNAVAILABLE);

    let request = h.post(alibaba_headers("vod"), vod_body("dropped"));
    drop(h.next().await);
    assert_eq!(status(request).await, StatusCode::SERVICE_UNAVAILABLE);

    // Neither was acknowledged, so the producer's retry is delivered again.
    let request = h.post(alibaba_headers("vod"), vod_body("nacked"));
    let again = h.next().await;
    assert_eq!(
        again
            .message()
            .alibaba()
            .and_then(|e| e.event().ok())
            .map(|e| e.event_type().to_owned())
            .as_deref(),
        Some("FileUploadComplete")
    );
    again.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
    let stats = h.deliveries.source().stats();
    assert_eq!((stats.accepted, stats.released), (1, 2));
}

#[tokio::test]
async fn a_handler_slower_than_the_deadline_gets_503_and_its_late_ack_is_refused() {
    let mut h = start(builder().ack_deadline(Provider::AlibabaIms, Duration::from_secs(1))).await;
    let request = h.post(alibaba_headers("ice"), ims_body("slow"));
    let delivery = h.next().await;
    // Hold the delivery past the deadline: the request is answered without us.
    assert_eq!(status(request).await, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        delivery.ack().is_err(),
        "an ack after the answer is refused"
    );
    assert_eq!(h.deliveries.source().stats().late, 1);
}

#[tokio::test]
async fn a_repeat_of_an_acknowledged_event_is_answered_200_without_a_second_delivery() {
    let mut h = start(builder()).await;
    let request = h.post(alibaba_headers("vod"), vod_body("once"));
    h.next().await.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
    // The same event again (a retry whose 200 was lost, or a replayed signature).
    assert_eq!(
        status(h.post(alibaba_headers("vod"), vod_body("once"))).await,
        StatusCode::OK
    );
    // Another event next: it is the next delivery, so the repeat was never delivered.
    let request = h.post(alibaba_headers("vod"), vod_body("other"));
    let next = h.next().await;
    assert!(
        next.message().json().contains("\"other\""),
        "{}",
        next.message().json()
    );
    next.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
    let stats = h.deliveries.source().stats();
    assert_eq!((stats.accepted, stats.duplicates), (2, 1));
}

#[tokio::test]
async fn unknown_event_types_are_delivered_whole() {
    let mut h = start(builder()).await;
    let sign = hex(tencent_sign(&Secret::new(TENCENT_KEY), &T.to_string()));
    let tencent = format!(
        r#"{{"EventType":"BrandNewThing","BrandNewThingEvent":{{"Huge":123456789012345678901234567890,"X":[1,2]}},"Sign":"{sign}","T":{T}}}"#
    );
    let request = h.post(vec![], tencent);
    let delivery = h.next().await;
    let push = delivery.message();
    assert_eq!(push.provider(), Provider::Tencent);
    assert_eq!(push.event_type(), Some("BrandNewThing"));
    assert!(
        push.json().contains("123456789012345678901234567890"),
        "{}",
        push.json()
    );
    delivery.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);

    let ali = json!({"EventTime": "2026-01-01T00:00:00Z", "EventType": "SomethingNew", "NewField": {"a": 1}}).to_string();
    let request = h.post(alibaba_headers("vod"), ali.clone());
    let delivery = h.next().await;
    assert_eq!(delivery.message().json(), ali);
    let PushedEvent::Alibaba(received) = delivery.message().event() else {
        panic!("alibaba");
    };
    assert_eq!(received.event_type(), Some("SomethingNew"));
    delivery.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
}

#[tokio::test]
async fn every_refusal_has_its_status_and_nothing_is_delivered() {
    let mut h = start(builder()).await;
    let expired = tencent_body(
        json!({"EventType": "NewFileUpload", "FileUploadEvent": {}}),
        NOW - 1,
    );
    let mut bad_sig = alibaba_headers("vod");
    bad_sig[1].1 = "00000000000000000000000000000000".into();
    let mut stale = alibaba_headers("ice");
    stale[0].1 = (NOW - 301).to_string();
    let cases: Vec<(&str, Headers, String, StatusCode)> = vec![
        (
            "bad signature",
            bad_sig,
            vod_body("x"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "stale timestamp",
            stale,
            ims_body("x"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no signature headers",
            vec![],
            vod_body("x"),
            StatusCode::UNAUTHORIZED,
        ),
        ("expired T", vec![], expired, StatusCode::UNAUTHORIZED),
        (
            "unsigned Tencent",
            vec![],
            json!({"EventType": "NewFileUpload", "FileUploadEvent": {}}).to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "malformed JSON",
            vec![],
            "{\"EventType\":".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not an object",
            vec![],
            "[1,2]".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "two objects",
            vec![],
            "{} {}".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown producer",
            vec![],
            "{\"a\":1}".into(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, headers, body, expected) in cases {
        assert_eq!(status(h.post(headers, body)).await, expected, "{name}");
    }
    let other_path = h.post_to("/elsewhere", vec![], signed_tencent());
    assert_eq!(status(other_path).await, StatusCode::NOT_FOUND);
    let get = h
        .http
        .client
        .get(h.http.url(PATH))
        .send()
        .await
        .expect("answer");
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let put = h
        .http
        .client
        .put(h.http.url(PATH))
        .body(signed_tencent())
        .send()
        .await
        .expect("answer");
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);

    // None of them was delivered: the next delivery is the next valid push.
    let request = h.post(vec![], signed_tencent());
    let delivery = h.next().await;
    assert_eq!(delivery.message().provider(), Provider::Tencent);
    delivery.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
    let refused = h.deliveries.source().stats().refused;
    assert_eq!(refused.get("signature"), Some(&3), "{refused:?}");
    assert_eq!(refused.get("expired"), Some(&2), "{refused:?}");
    assert_eq!(refused.get("unsigned"), None, "{refused:?}");
    assert_eq!(refused.get("bad_json"), Some(&3), "{refused:?}");
    assert_eq!(refused.get("unknown_producer"), Some(&1), "{refused:?}");
}

#[tokio::test]
async fn a_producer_without_a_key_is_refused_unless_unsigned_pushes_are_allowed() {
    let h = start(Receiver::builder().tencent_sign_key(TENCENT_KEY)).await;
    let refused = h.post_to("/", vec![], vod_body("u"));
    assert_eq!(status(refused).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.deliveries.source().stats().refused.get("unsigned"),
        Some(&1)
    );

    let mut open = start(Receiver::builder().allow_unsigned(true)).await;
    let request = open.post_to("/", vec![], ims_body("u"));
    let delivery = open.next().await;
    assert_eq!(delivery.message().provider(), Provider::AlibabaIms);
    assert_eq!(delivery.message().key_used(), None);
    delivery.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
}

fn big_vod_body(bytes: usize) -> String {
    let padding = "x".repeat(bytes);
    json!({"EventTime": "2018-02-23T08:53:10Z", "EventType": "FileUploadComplete", "VideoId": "big", "Padding": padding}).to_string()
}

#[tokio::test]
async fn a_2_mib_body_is_refused_413_by_default_and_accepted_under_a_raised_cap() {
    let h = start(builder()).await;
    let big = big_vod_body(2 * 1024 * 1024);
    assert_eq!(
        status(h.post(alibaba_headers("vod"), big.clone())).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Without a Content-Length (chunked), the cap is enforced while reading.
    let chunks = futures::stream::iter(
        big.clone()
            .into_bytes()
            .chunks(64 * 1024)
            .map(|c| {
                Ok::<_, std::io::Error>(hyper::body::Frame::data(bytes::Bytes::copy_from_slice(c)))
            })
            .collect::<Vec<_>>(),
    );
    let chunked = h.post(
        alibaba_headers("vod"),
        reqwest::Body::wrap(http_body_util::StreamBody::new(chunks)),
    );
    assert_eq!(status(chunked).await, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        h.deliveries.source().stats().refused.get("too_large"),
        Some(&2)
    );

    let mut raised = start(builder().body_limit(3 * 1024 * 1024)).await;
    let request = raised.post(alibaba_headers("vod"), big.clone());
    let delivery = raised.next().await;
    assert_eq!(delivery.message().body().len(), big.len());
    delivery.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_with_408() {
    let h = start(builder().body_timeout(Duration::from_millis(300))).await;
    let mut stream = tokio::net::TcpStream::connect(h.http.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        h.http.addr
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    // One more byte now and then, never the whole body; the answer comes meanwhile.
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            tokio::select! {
                n = stream.read(&mut buf) => {
                    let n = n.expect("read");
                    answer.extend_from_slice(&buf[..n]);
                    if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    let _ = stream.write_all(b" ").await;
                }
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("an answer in time");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[tokio::test]
async fn requests_past_the_in_flight_bound_are_answered_503() {
    let mut h = start(builder().max_in_flight(1)).await;
    let first = h.post(alibaba_headers("vod"), vod_body("first"));
    let delivery = h.next().await; // the first is now in flight, waiting for its ack
    let second = h.post(alibaba_headers("vod"), vod_body("second"));
    assert_eq!(status(second).await, StatusCode::SERVICE_UNAVAILABLE);
    delivery.ack().expect("acked");
    assert_eq!(status(first).await, StatusCode::OK);
    assert_eq!(
        h.deliveries.source().stats().refused.get("overloaded"),
        Some(&1)
    );
}

#[tokio::test]
async fn the_same_event_twice_at_once_gets_503_for_the_second() {
    let mut h = start(builder()).await;
    let first = h.post(alibaba_headers("vod"), vod_body("twice"));
    let delivery = h.next().await;
    let second = h.post(alibaba_headers("vod"), vod_body("twice"));
    assert_eq!(status(second).await, StatusCode::SERVICE_UNAVAILABLE);
    delivery.ack().expect("acked");
    assert_eq!(status(first).await, StatusCode::OK);
}

#[tokio::test]
async fn the_router_works_nested_inside_another_app() {
    let (receiver, mut deliveries) = builder().path("/").build().expect("receiver");
    let app = Router::new()
        .route("/health", axum::routing::get(|| async { "up" }))
        .nest("/hooks/vod", receiver);
    let addr = serve(app).await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .expect("answer");
    assert_eq!(health.status(), StatusCode::OK);

    let post = {
        let request = client
            .post(format!("http://{addr}/hooks/vod"))
            .header("x-vod-timestamp", NOW.to_string())
            .header(
                "x-vod-signature",
                hex(alibaba_signature(
                    &Secret::new(ALIBABA_KEY),
                    URL,
                    &NOW.to_string(),
                )),
            )
            .body(vod_body("nested"));
        tokio::spawn(async move { request.send().await.expect("answer").status() })
    };
    let delivery = tokio::time::timeout(WAIT, deliveries.next())
        .await
        .expect("in time")
        .expect("stream")
        .expect("delivery");
    assert!(delivery.message().json().contains("nested"));
    delivery.ack().expect("acked");
    assert_eq!(post.await.expect("task"), StatusCode::OK);

    let elsewhere = client
        .post(format!("http://{addr}/your/callback"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_alibaba_key_without_a_callback_url_is_a_configuration_error() {
    let error = Receiver::builder()
        .alibaba_auth_key(ALIBABA_KEY)
        .build()
        .map(|_| ())
        .expect_err("refused");
    assert!(matches!(
        error,
        vod_events::push::ConfigError::MissingCallbackUrl
    ));
    for path in ["no-slash", "", "/a/{id}", "/a/{", "/}"] {
        let error = Receiver::builder()
            .path(path)
            .build()
            .map(|_| ())
            .expect_err("refused");
        assert!(
            matches!(error, vod_events::push::ConfigError::InvalidPath),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_callback_url_path_is_served_literally() {
    // Braces are percent-encoded in a URL's path; `:x` and `*x` are plain segments.
    let url = "https://h.example.com/a/{id}/:x/*y?q=1";
    let (router, mut deliveries) = Receiver::builder()
        .alibaba_auth_key(ALIBABA_KEY)
        .callback_url(url)
        .clock(Arc::new(FixedClock(NOW)))
        .build()
        .expect("receiver");
    let addr = serve(router).await;
    let sig = hex(alibaba_signature(
        &Secret::new(ALIBABA_KEY),
        url,
        &NOW.to_string(),
    ));
    let client = reqwest::Client::new();
    let post = |path: &'static str| {
        client
            .post(format!("http://{addr}{path}"))
            .header("x-vod-timestamp", NOW.to_string())
            .header("x-vod-signature", sig.clone())
            .body(vod_body("literal"))
            .send()
    };
    let other = post("/a/%7Bid%7D/:x/other").await.expect("answer");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let request = tokio::spawn(post("/a/%7Bid%7D/:x/*y"));
    let delivery = tokio::time::timeout(WAIT, deliveries.next())
        .await
        .expect("in time")
        .expect("stream")
        .expect("delivery");
    delivery.ack().expect("acked");
    let answer = request.await.expect("task").expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_tracked_ack_reports_that_the_200_went_out() {
    let mut h = start(builder()).await;
    let request = h.post(alibaba_headers("vod"), vod_body("tracked"));
    let delivery = h.next().await;
    let receipt = delivery.acker().ack_tracked().expect("queued");
    assert_eq!(
        tokio::time::timeout(WAIT, receipt.result())
            .await
            .expect("in time"),
        vod_events::consumer::AckResult::Accepted
    );
    assert_eq!(status(request).await, StatusCode::OK);
}

#[tokio::test]
async fn the_stream_ends_once_the_router_is_gone() {
    let (router, mut deliveries) = builder().build().expect("receiver");
    drop(router);
    // A clean end: no error item, the stream just ends.
    let end = tokio::time::timeout(WAIT, deliveries.next())
        .await
        .expect("in time");
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test]
async fn huge_settings_saturate_instead_of_panicking() {
    let mut h = start(
        builder()
            .max_in_flight(usize::MAX)
            .dedup(Duration::MAX, usize::MAX)
            .ack_deadline(Provider::AlibabaVod, Duration::MAX)
            .body_timeout(Duration::MAX),
    )
    .await;
    let request = h.post(alibaba_headers("vod"), vod_body("huge"));
    h.next().await.ack().expect("acked");
    assert_eq!(status(request).await, StatusCode::OK);
    assert_eq!(
        status(h.post(alibaba_headers("vod"), vod_body("huge"))).await,
        StatusCode::OK
    );
    assert_eq!(h.deliveries.source().stats().duplicates, 1);
}

#[tokio::test]
async fn after_shutdown_requests_are_answered_503_at_once_and_acks_in_grace_still_land() {
    let mut h = start(builder()).await;
    let request = h.post(alibaba_headers("vod"), vod_body("in hand"));
    let delivery = h.next().await;
    let Harness {
        http: Http { addr, client },
        deliveries,
    } = h;
    let shutdown = tokio::spawn(deliveries.shutdown());
    // The delivery in hand is acknowledged during the grace period: its request gets 200.
    let acked = tokio::spawn(async move {
        // Gives the shutdown the chance to start first; correctness does not depend on it.
        tokio::task::yield_now().await;
        delivery.ack()
    });
    assert_eq!(status(request).await, StatusCode::OK);
    assert!(acked.await.expect("task").is_ok());
    let stats = tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shut down in time")
        .expect("task");
    assert_eq!(stats.outstanding, 0);
    // Nothing receives any more: a new request is refused as shutting down, not left to
    // wait for its deadline.
    let late = client
        .post(format!("http://{addr}{PATH}"))
        .header("x-vod-timestamp", NOW.to_string())
        .header(
            "x-vod-signature",
            hex(alibaba_signature(
                &Secret::new(ALIBABA_KEY),
                URL,
                &NOW.to_string(),
            )),
        )
        .body(vod_body("late"))
        .send()
        .await
        .expect("answer");
    assert_eq!(late.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        late.text().await.expect("text"),
        "the receiver is shutting down"
    );
}

#[tokio::test]
async fn the_auto_ack_stream_answers_200_when_the_next_event_is_asked_for() {
    let Harness {
        http: h,
        deliveries,
    } = start(builder()).await;
    let mut events = vod_events::consumer::AutoAckStream::new(deliveries);
    let first = h.post(alibaba_headers("vod"), vod_body("one"));
    let event = tokio::time::timeout(WAIT, events.next())
        .await
        .expect("in time")
        .expect("stream")
        .expect("event");
    assert!(event.json().contains("\"one\""));
    // Not answered yet: asking for the next item is what acknowledges it.
    let second = h.post(alibaba_headers("vod"), vod_body("two"));
    let next = tokio::time::timeout(WAIT, events.next())
        .await
        .expect("in time")
        .expect("stream")
        .expect("event");
    assert!(next.json().contains("\"two\""));
    assert_eq!(status(first).await, StatusCode::OK);
    drop(events); // the second was never acknowledged
    assert_eq!(status(second).await, StatusCode::SERVICE_UNAVAILABLE);
}
