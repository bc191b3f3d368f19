//! The fake VOD server, exercised over real HTTP on 127.0.0.1 with a tiny signing client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::time::Instant;
use vod_events::tencent::fake::{
    Action, ConfirmPolicy, EmptyPullShape, FakeConfig, FakeCredential, FakeVod, Fault, FaultKind,
    FaultMix, RateLimit,
};
use vod_events::tencent::sign::{sign, SigningInput};

// ---------------------------------------------------------------------------------------
// A minimal signing client.

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    url: String,
    host: String,
    id: String,
    key: String,
    token: Option<String>,
    /// Added to the client's timestamp.
    skew: i64,
}

#[derive(Debug)]
struct Reply {
    status: u16,
    date: Option<String>,
    body: bytes::Bytes,
    json: Option<Value>,
}

impl Reply {
    fn response(&self) -> &Value {
        &self.json.as_ref().expect("JSON body")["Response"]
    }
    fn code(&self) -> Option<&str> {
        self.response()["Error"]["Code"].as_str()
    }
    fn ok(&self) -> &Value {
        assert_eq!(self.status, 200);
        assert!(self.code().is_none(), "unexpected error: {:?}", self.json);
        assert!(self.response()["RequestId"].is_string());
        self.response()
    }
    fn events(&self) -> Vec<Value> {
        self.ok()["EventSet"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
    fn handles(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["EventHandle"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Api {
    fn new(fake: &FakeVod) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            url: fake.endpoint(),
            host: fake.host(),
            id: FakeConfig::DEFAULT_SECRET_ID.into(),
            key: FakeConfig::DEFAULT_SECRET_KEY.into(),
            token: None,
            skew: 0,
        }
    }

    fn request(&self, action: &str, body: &[u8]) -> reqwest::RequestBuilder {
        let ts = unix_now() + self.skew;
        let signed = sign(&SigningInput {
            secret_id: &self.id,
            secret_key: &self.key,
            service: "vod",
            host: &self.host,
            content_type: "application/json",
            timestamp: ts,
            payload: body,
        });
        let mut rb = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-TC-Action", action)
            .header("X-TC-Version", "2018-07-17")
            .header("X-TC-Timestamp", ts.to_string())
            .header("Authorization", signed.authorization)
            .body(body.to_vec());
        if let Some(t) = &self.token {
            rb = rb.header("X-TC-Token", t);
        }
        rb
    }

    async fn send(rb: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        Api::send_response(rb.send().await?).await
    }

    async fn send_response(resp: reqwest::Response) -> Result<Reply, reqwest::Error> {
        let status = resp.status().as_u16();
        let date = resp
            .headers()
            .get("date")
            .map(|d| d.to_str().unwrap().to_owned());
        let body = resp.bytes().await?;
        let json = serde_json::from_slice(&body).ok();
        Ok(Reply {
            status,
            date,
            body,
            json,
        })
    }

    /// Sends a signed request with one header replaced.
    async fn send_replacing(
        &self,
        rb: reqwest::RequestBuilder,
        name: &'static str,
        value: reqwest::header::HeaderValue,
    ) -> Reply {
        let mut req = rb.build().unwrap();
        req.headers_mut().insert(name, value);
        let resp = self.http.execute(req);
        Api::send_response(resp.await.unwrap()).await.unwrap()
    }

    async fn try_call(&self, action: &str, body: Value) -> Result<Reply, reqwest::Error> {
        Api::send(self.request(action, body.to_string().as_bytes())).await
    }

    async fn call(&self, action: &str, body: Value) -> Reply {
        self.try_call(action, body).await.unwrap()
    }

    async fn pull(&self, sub_app_id: Option<u64>) -> Reply {
        let body = match sub_app_id {
            Some(id) => json!({ "SubAppId": id }),
            None => json!({}),
        };
        self.call("PullEvents", body).await
    }

    async fn confirm(&self, sub_app_id: Option<u64>, handles: &[String]) -> Reply {
        let mut body = json!({ "EventHandles": handles });
        if let Some(id) = sub_app_id {
            body["SubAppId"] = json!(id);
        }
        self.call("ConfirmEvents", body).await
    }
}

fn event(task: &str) -> Value {
    json!({"EventType": "ProcedureStateChanged", "ProcedureStateChangeEvent": {"TaskId": task, "Status": "FINISH"}})
}

fn task_id(ev: &Value) -> &str {
    ev["ProcedureStateChangeEvent"]["TaskId"].as_str().unwrap()
}

async fn start_fast() -> (FakeVod, Api) {
    let fake = FakeVod::start(FakeConfig::fast()).await.unwrap();
    let api = Api::new(&fake);
    (fake, api)
}

// ---------------------------------------------------------------------------------------
// Authentication and envelope.

#[tokio::test]
async fn signed_request_is_accepted_with_envelope_and_date() {
    let (fake, api) = start_fast().await;
    let reply = api.call("DescribeEventsState", json!({})).await;
    let resp = reply.ok();
    assert_eq!(resp["CountOfEventsToPull"], 0);
    let id = resp["RequestId"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.matches('-').count(), 4, "{id}");
    let date = httpdate::parse_http_date(reply.date.as_deref().unwrap()).unwrap();
    let diff = date
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .abs_diff(unix_now() as u64);
    assert!(diff <= 2, "Date header off by {diff} s");
    assert_eq!(fake.stats().requests_for(Action::DescribeEventsState), 1);
    assert_eq!(fake.stats().auth_failures, 0);
}

#[tokio::test]
async fn authentication_failures_use_the_service_codes() {
    let (fake, api) = start_fast().await;

    let wrong_key = Api {
        key: "not-the-key".into(),
        ..api.clone()
    };
    let r = wrong_key.call("PullEvents", json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.code(), Some("AuthFailure.SignatureFailure"));

    let unknown_id = Api {
        id: "AKIDunknown".into(),
        ..api.clone()
    };
    let r = unknown_id.call("PullEvents", json!({})).await;
    assert_eq!(r.code(), Some("AuthFailure.SecretIdNotFound"));

    // Malformed and non-UTF-8 Authorization headers.
    for bad in [
        &b"Bearer abc"[..],
        &b"TC3-HMAC-SHA256 Credential=\xff\xfe"[..],
    ] {
        let value = reqwest::header::HeaderValue::from_bytes(bad).unwrap();
        let r = api
            .send_replacing(api.request("PullEvents", b"{}"), "authorization", value)
            .await;
        assert_eq!(r.code(), Some("AuthFailure.InvalidAuthorization"));
    }

    // Body changed after signing.
    let rb = api.request("PullEvents", b"{}").body("{ }");
    let r = Api::send(rb).await.unwrap();
    assert_eq!(r.code(), Some("AuthFailure.SignatureFailure"));

    // Token required.
    fake.set_required_token(Some("sts-token".into()));
    let r = api.call("DescribeEventsState", json!({})).await;
    assert_eq!(r.code(), Some("AuthFailure.TokenFailure"));
    let with_token = Api {
        token: Some("sts-token".into()),
        ..api.clone()
    };
    with_token.call("DescribeEventsState", json!({})).await.ok();
    fake.set_required_token(None);

    // A second key pair is accepted once added.
    let other = Api {
        id: "AKIDsecond".into(),
        key: "second-key".into(),
        ..api.clone()
    };
    assert_eq!(
        other.call("DescribeEventsState", json!({})).await.code(),
        Some("AuthFailure.SecretIdNotFound")
    );
    fake.add_credential(FakeCredential::new("AKIDsecond", "second-key"));
    other.call("DescribeEventsState", json!({})).await.ok();

    // Action and body problems, after a valid signature.
    assert_eq!(
        api.call("PullEvent", json!({})).await.code(),
        Some("InvalidAction")
    );
    let r = Api::send(api.request("PullEvents", b"not json"))
        .await
        .unwrap();
    assert_eq!(r.code(), Some("InvalidParameter"));
    let r = Api::send(api.request("PullEvents", b"[1]")).await.unwrap();
    assert_eq!(r.code(), Some("InvalidParameter"));
    let r = api.call("PullEvents", json!({"SubAppId": "12"})).await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    let version = reqwest::header::HeaderValue::from_static("2017-01-01");
    let r = api
        .send_replacing(api.request("PullEvents", b"{}"), "x-tc-version", version)
        .await;
    assert_eq!(r.code(), Some("NoSuchVersion"));

    let stats = fake.stats();
    assert_eq!(stats.signature_failures, 2);
    assert_eq!(stats.auth_failures, 7);
    assert_eq!(stats.errors_with("AuthFailure.InvalidAuthorization"), 2);
    assert_eq!(stats.requests.get("PullEvent"), Some(&1));
}

#[tokio::test]
async fn skewed_timestamp_expires_and_date_follows_the_offset() {
    let (fake, api) = start_fast().await;
    fake.set_clock_offset(1_000);
    let r = api.call("PullEvents", json!({})).await;
    assert_eq!(r.code(), Some("AuthFailure.SignatureExpire"));
    let date = httpdate::parse_http_date(r.date.as_deref().unwrap()).unwrap();
    let date = date.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(
        (date - (unix_now() + 1_000)).abs() <= 2,
        "Date {date} does not reflect the offset"
    );
    // A client that adopts the server's clock is accepted again.
    let synced = Api {
        skew: 1_000,
        ..api.clone()
    };
    synced.pull(None).await.ok();
    // 299 s off is still inside the window, 301 s is not.
    fake.set_clock_offset(0);
    let near = Api {
        skew: -299,
        ..api.clone()
    };
    near.pull(None).await.ok();
    let far = Api { skew: 301, ..api };
    assert_eq!(
        far.pull(None).await.code(),
        Some("AuthFailure.SignatureExpire")
    );
}

// ---------------------------------------------------------------------------------------
// PullEvents, ConfirmEvents and the queue.

#[tokio::test]
async fn long_poll_returns_as_soon_as_an_event_is_pushed() {
    let (fake, api) = start_fast().await;
    fake.set_pull_hold(Duration::from_secs(5));
    let puller = {
        let api = api.clone();
        tokio::spawn(async move {
            let r = api.pull(None).await;
            (Instant::now(), r)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !puller.is_finished(),
        "the pull must hold while the queue is empty"
    );
    let pushed_at = Instant::now();
    fake.push_event(None, event("t-1"));
    let (done_at, r) = puller.await.unwrap();
    let events = r.events();
    assert_eq!(events.len(), 1);
    assert_eq!(task_id(&events[0]), "t-1");
    let latency = done_at - pushed_at;
    assert!(
        latency < Duration::from_millis(500),
        "woke after {latency:?}"
    );
}

#[tokio::test]
async fn empty_long_poll_returns_after_the_hold_in_each_shape() {
    let (fake, api) = start_fast().await;
    fake.set_pull_hold(Duration::from_millis(150));
    let t = Instant::now();
    let r = api.pull(None).await;
    let held = t.elapsed();
    assert!(held >= Duration::from_millis(150), "held only {held:?}");
    assert!(held < Duration::from_secs(2), "held {held:?}");
    assert_eq!(r.ok()["EventSet"], json!([]));

    fake.set_pull_hold(Duration::from_millis(20));
    fake.set_empty_pull(EmptyPullShape::Null);
    let r = api.pull(None).await;
    assert!(r.ok()["EventSet"].is_null());
    assert!(r.ok().as_object().unwrap().contains_key("EventSet"));
    fake.set_empty_pull(EmptyPullShape::Absent);
    let r = api.pull(None).await;
    assert!(!r.ok().as_object().unwrap().contains_key("EventSet"));
    fake.set_empty_pull(EmptyPullShape::ResourceNotFound);
    assert_eq!(api.pull(None).await.code(), Some("ResourceNotFound"));
    assert_eq!(fake.stats().empty_pulls, 4);
}

#[tokio::test]
async fn unconfirmed_events_are_redelivered_with_a_new_handle() {
    let (fake, api) = start_fast().await;
    fake.set_visibility_timeout(Duration::from_millis(200));
    fake.set_pull_hold(Duration::from_millis(20));
    fake.push_event(None, event("t-redeliver"));
    let first = api.pull(None).await;
    let h1 = first.handles();
    assert_eq!(h1.len(), 1);
    assert!(!h1[0].is_empty());
    // Invisible while in flight.
    assert!(api.pull(None).await.events().is_empty());
    assert_eq!(fake.stats().in_flight, 1);
    // A long-poll started now wakes up when the event becomes visible again.
    fake.set_pull_hold(Duration::from_secs(3));
    let t = Instant::now();
    let second = api.pull(None).await;
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let h2 = second.handles();
    assert_eq!(h2.len(), 1);
    assert_ne!(h1, h2);
    assert_eq!(task_id(&second.events()[0]), "t-redeliver");
    // The old handle is dead, the new one works.
    let r = api.confirm(None, &h1).await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    assert!(r.response()["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("1 of 1"));
    api.confirm(None, &h2).await.ok();
    let s = fake.stats();
    assert_eq!((s.deliveries, s.redeliveries, s.confirmed), (2, 1, 1));
    assert_eq!(s.confirm_handle_rejections, 1);
    assert_eq!((s.queued, s.in_flight), (0, 0));
    // Confirming again is rejected too.
    assert_eq!(
        api.confirm(None, &h2).await.code(),
        Some("InvalidParameterValue")
    );
}

#[tokio::test]
async fn confirm_deletes_and_pull_hands_out_at_most_sixteen() {
    let (fake, api) = start_fast().await;
    fake.push_events(None, (0..20).map(|i| event(&format!("t-{i}"))));
    assert_eq!(
        api.call("DescribeEventsState", json!({})).await.ok()["CountOfEventsToPull"],
        20
    );
    let r = api.pull(None).await;
    let events = r.events();
    assert_eq!(events.len(), 16);
    // FIFO order, the stored content plus EventHandle.
    assert_eq!(task_id(&events[0]), "t-0");
    assert_eq!(events[0]["EventType"], "ProcedureStateChanged");
    assert_eq!(events[0].as_object().unwrap().len(), 3);
    let handles = r.handles();
    let unique: std::collections::HashSet<_> = handles.iter().collect();
    assert_eq!(unique.len(), 16);
    api.confirm(None, &handles).await.ok();
    // In-flight events still count for DescribeEventsState.
    let r2 = api.pull(None).await;
    assert_eq!(r2.events().len(), 4);
    assert_eq!(
        api.call("DescribeEventsState", json!({})).await.ok()["CountOfEventsToPull"],
        4
    );
    api.confirm(None, &r2.handles()).await.ok();
    let s = fake.stats();
    assert_eq!((s.events_pushed, s.deliveries, s.confirmed), (20, 20, 20));
    assert_eq!((s.queued, s.in_flight), (0, 0));
    assert_eq!(s.max_handles_per_confirm, 16);
    assert_eq!(s.violations.total(), 0);
    let log = fake.confirm_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].handles, handles);
    assert_eq!((log[0].accepted, log[0].rejected), (16, 0));

    fake.set_max_events_per_pull(3);
    fake.push_events(None, (0..5).map(|i| event(&format!("u-{i}"))));
    assert_eq!(api.pull(None).await.events().len(), 3);
}

#[tokio::test]
async fn confirm_rule_violations_are_rejected_and_counted() {
    let (fake, api) = start_fast().await;
    fake.push_events(None, (0..17).map(|i| event(&format!("t-{i}"))));
    let mut handles = api.pull(None).await.handles();
    handles.extend(api.pull(None).await.handles());
    assert_eq!(handles.len(), 17);

    let r = api.confirm(None, &handles).await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    let r = api.confirm(None, &[]).await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    let r = api
        .confirm(None, &[handles[0].clone(), String::new()])
        .await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    let r = api.call("ConfirmEvents", json!({})).await;
    assert_eq!(r.code(), Some("MissingParameter"));
    let r = api
        .call("ConfirmEvents", json!({"EventHandles": [1, 2]}))
        .await;
    assert_eq!(r.code(), Some("InvalidParameter"));

    let s = fake.stats();
    assert_eq!(s.violations.too_many_handles, 1);
    assert_eq!(s.violations.empty_list, 2);
    assert_eq!(s.violations.empty_handle, 1);
    assert_eq!(s.violations.malformed, 1);
    assert_eq!(s.max_handles_per_confirm, 17);
    // Nothing was confirmed by the rejected requests.
    assert_eq!((s.confirmed, s.in_flight), (0, 17));
    assert_eq!(fake.confirm_log().len(), 5);
}

#[tokio::test]
async fn mixed_confirm_batches_follow_the_policy() {
    let (fake, api) = start_fast().await;
    fake.push_events(None, (0..4).map(|i| event(&format!("t-{i}"))));
    let h = api.pull(None).await.handles();

    // Default: the valid handles are applied, then the error is reported.
    let r = api.confirm(None, &[h[0].clone(), "bogus".into()]).await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    assert_eq!(fake.stats().confirmed, 1);

    fake.set_confirm_policy(ConfirmPolicy::RejectAll);
    let r = api.confirm(None, &[h[1].clone(), "bogus".into()]).await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    assert_eq!(fake.stats().confirmed, 1);
    // A duplicate in one batch is an already-used handle.
    let r = api.confirm(None, &[h[2].clone(), h[2].clone()]).await;
    assert_eq!(r.code(), Some("InvalidParameterValue"));
    api.confirm(None, &h[1..]).await.ok();
    let s = fake.stats();
    assert_eq!(
        (s.confirmed, s.in_flight, s.confirm_handle_rejections),
        (4, 0, 3)
    );
}

#[tokio::test]
async fn sub_app_ids_have_separate_queues() {
    let (fake, api) = start_fast().await;
    fake.push_event(Some(1_500_000_001), event("app-1"));
    fake.push_event(None, event("default"));
    fake.push_event(Some(1_500_000_002), event("app-2"));

    let r1 = api.pull(Some(1_500_000_001)).await;
    assert_eq!(r1.events().len(), 1);
    assert_eq!(task_id(&r1.events()[0]), "app-1");
    let r0 = api.pull(None).await;
    assert_eq!(task_id(&r0.events()[0]), "default");
    assert!(api.pull(Some(1_500_000_001)).await.events().is_empty());
    assert_eq!(
        api.call("DescribeEventsState", json!({"SubAppId": 1_500_000_002u64}))
            .await
            .ok()["CountOfEventsToPull"],
        1
    );
    // A handle is only valid in its own application.
    assert_eq!(
        api.confirm(None, &r1.handles()).await.code(),
        Some("InvalidParameterValue")
    );
    api.confirm(Some(1_500_000_001), &r1.handles()).await.ok();
    assert_eq!(fake.queued(Some(1_500_000_002)), 1);
    assert_eq!(fake.in_flight(None), 1);
    assert_eq!(fake.in_flight(Some(1_500_000_001)), 0);
}

#[tokio::test]
async fn concurrent_pullers_never_share_an_event() {
    let (fake, api) = start_fast().await;
    fake.set_pull_hold(Duration::from_millis(300));
    let pullers: Vec<_> = (0..4)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.pull(None).await.events().len() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    fake.push_event(None, event("only-one"));
    let mut got = 0;
    for p in pullers {
        got += p.await.unwrap();
    }
    assert_eq!(got, 1);
    assert_eq!(fake.stats().deliveries, 1);
}

#[tokio::test]
async fn event_config_is_stored_and_sign_key_never_returned() {
    let (fake, api) = start_fast().await;
    let c = api.call("DescribeEventConfig", json!({})).await;
    let c = c.ok();
    assert_eq!(c["Mode"], "PULL");
    assert_eq!(c["NotificationUrl"], "");
    assert_eq!(c["UploadMediaCompleteEventSwitch"], "OFF");
    api.call(
        "ModifyEventConfig",
        json!({"Mode": "PUSH", "NotificationUrl": "https://example.com/cb",
               "UploadMediaCompleteEventSwitch": "ON", "SignKey": "mysignkey", "SubAppId": 7}),
    )
    .await
    .ok();
    let c = api
        .call("DescribeEventConfig", json!({"SubAppId": 7}))
        .await;
    let c = c.ok();
    assert_eq!(c["Mode"], "PUSH");
    assert_eq!(c["NotificationUrl"], "https://example.com/cb");
    assert_eq!(c["UploadMediaCompleteEventSwitch"], "ON");
    assert_eq!(c["DeleteMediaCompleteEventSwitch"], "OFF");
    assert!(c.get("SignKey").is_none());
    assert_eq!(
        fake.event_config(Some(7))
            .sign_key
            .as_ref()
            .map(|k| k.expose()),
        Some("mysignkey")
    );
    // The default application is untouched; invalid values are refused.
    assert_eq!(
        api.call("DescribeEventConfig", json!({})).await.ok()["Mode"],
        "PULL"
    );
    for bad in [
        json!({"Mode": "POLL"}),
        json!({"PersistenceCompleteEventSwitch": "yes"}),
        json!({"SignKey": "not valid!"}),
    ] {
        assert_eq!(
            api.call("ModifyEventConfig", bad).await.code(),
            Some("InvalidParameterValue")
        );
    }
    // Clearing the URL with an empty string.
    api.call(
        "ModifyEventConfig",
        json!({"NotificationUrl": "", "SubAppId": 7}),
    )
    .await
    .ok();
    assert_eq!(fake.event_config(Some(7)).notification_url, "");
    assert_eq!(fake.event_config(Some(7)).mode, "PUSH");
}

#[tokio::test]
async fn rate_limit_rejects_requests_over_the_window() {
    let (fake, api) = start_fast().await;
    fake.set_rate_limit(Some(RateLimit {
        max_requests: 5,
        window: Duration::from_millis(1500),
    }));
    let mut limited = 0;
    for _ in 0..8 {
        match api.call("DescribeEventsState", json!({})).await.code() {
            None => {}
            Some("RequestLimitExceeded") => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(limited, 3);
    // Limits are per action.
    api.call("DescribeEventConfig", json!({})).await.ok();
    // And the window slides.
    tokio::time::sleep(Duration::from_millis(1550)).await;
    api.call("DescribeEventsState", json!({})).await.ok();
    let s = fake.stats();
    assert_eq!(s.rate_limited, 3);
    assert_eq!(s.errors_with("RequestLimitExceeded"), 3);
    fake.set_rate_limit(None);
    for _ in 0..10 {
        api.call("DescribeEventsState", json!({})).await.ok();
    }
}

#[tokio::test]
async fn oversized_request_bodies_are_refused() {
    let config = FakeConfig {
        max_request_bytes: 1024,
        ..FakeConfig::fast()
    };
    let fake = FakeVod::start(config).await.unwrap();
    let api = Api::new(&fake);
    let big = json!({ "ExtInfo": "x".repeat(2048) });
    let r = api.call("PullEvents", big).await;
    assert_eq!(r.code(), Some("RequestSizeLimitExceeded"));
    // The server keeps serving.
    api.pull(None).await.ok();
}

// ---------------------------------------------------------------------------------------
// Faults.

#[tokio::test]
async fn every_fault_kind_is_observable() {
    let (fake, api) = start_fast().await;
    fake.set_pull_hold(Duration::from_millis(20));

    // HTTP status.
    fake.fail_next(Some(Action::PullEvents), Fault::HttpStatus(503), 1);
    let r = api.pull(None).await;
    assert_eq!(r.status, 503);
    assert!(r.json.is_none());
    assert!(r.date.is_some());

    // API error; an action filter leaves other actions alone.
    fake.fail_next(
        Some(Action::ConfirmEvents),
        Fault::api_error("InternalError"),
        1,
    );
    api.pull(None).await.ok();
    assert_eq!(fake.pending_faults(), 1);
    let r = api.confirm(None, &["x".into()]).await;
    assert_eq!(r.code(), Some("InternalError"));

    // Disconnect.
    fake.fail_next(None, Fault::Disconnect, 1);
    assert!(api
        .try_call("DescribeEventsState", json!({}))
        .await
        .is_err());

    // Slow.
    fake.fail_next(None, Fault::Slow(Duration::from_millis(250)), 1);
    let t = Instant::now();
    api.call("DescribeEventsState", json!({})).await.ok();
    assert!(t.elapsed() >= Duration::from_millis(250));

    // Hang: the client has to time out.
    fake.fail_next(None, Fault::Hang, 1);
    let hang = api
        .request("DescribeEventsState", b"{}")
        .timeout(Duration::from_millis(300));
    let err = Api::send(hang).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    // Garbage and oversize bodies.
    fake.fail_next(None, Fault::GarbageBody, 1);
    let r = api.call("DescribeEventsState", json!({})).await;
    assert_eq!(r.status, 200);
    assert!(r.json.is_none());
    fake.fail_next(None, Fault::OversizeBody(200_000), 1);
    let r = api.call("DescribeEventsState", json!({})).await;
    assert_eq!(r.body.len(), 200_000);
    assert!(r.json.is_some());

    // Truncated body: the pull still took effect.
    fake.push_event(None, event("truncated"));
    fake.fail_next(Some(Action::PullEvents), Fault::TruncatedBody, 1);
    let r = api.pull(None).await;
    assert_eq!(r.status, 200);
    assert!(r.json.is_none());
    assert!(String::from_utf8_lossy(&r.body).starts_with("{\"Response\":{\"EventSet\":[{"));
    assert_eq!(fake.stats().in_flight, 1);

    // Applied but lost: the pull hands out events, the confirm deletes them.
    fake.push_event(None, event("lost"));
    fake.fail_next(Some(Action::PullEvents), Fault::AppliedButLost, 1);
    assert!(api.try_call("PullEvents", json!({})).await.is_err());
    assert_eq!(fake.stats().in_flight, 2);
    fake.push_event(None, event("confirm-lost"));
    let h = api.pull(None).await.handles();
    assert_eq!(h.len(), 1);
    fake.fail_next(Some(Action::ConfirmEvents), Fault::AppliedButLost, 1);
    let body = json!({ "EventHandles": h });
    assert!(api.try_call("ConfirmEvents", body).await.is_err());
    assert_eq!(fake.stats().confirmed, 1);

    let s = fake.stats();
    for kind in [
        FaultKind::HttpStatus,
        FaultKind::ApiError,
        FaultKind::Disconnect,
        FaultKind::Slow,
        FaultKind::Hang,
        FaultKind::GarbageBody,
        FaultKind::OversizeBody,
        FaultKind::TruncatedBody,
    ] {
        assert_eq!(s.faults_of(kind), 1, "{kind:?}");
    }
    assert_eq!(s.faults_of(FaultKind::AppliedButLost), 2);
    assert_eq!(fake.pending_faults(), 0);
    // Faults are not used up by requests that fail authentication.
    fake.fail_next(None, Fault::HttpStatus(500), 1);
    let bad = Api {
        key: "wrong".into(),
        ..api.clone()
    };
    assert_eq!(
        bad.pull(None).await.code(),
        Some("AuthFailure.SignatureFailure")
    );
    assert_eq!(fake.pending_faults(), 1);
    fake.clear_faults();
    api.pull(None).await.ok();
}

/// Outcome signature of one request under a fault mix.
async fn outcome(api: &Api) -> String {
    match api.try_call("DescribeEventsState", json!({})).await {
        Err(_) => "dropped".into(),
        Ok(r) if r.status != 200 => format!("http {}", r.status),
        Ok(r) => r.code().unwrap_or("ok").to_owned(),
    }
}

#[tokio::test]
async fn random_fault_mix_is_deterministic_for_a_seed() {
    let mix = FaultMix {
        probability: 0.5,
        faults: vec![
            Fault::HttpStatus(502),
            Fault::api_error("ServiceUnavailable"),
            Fault::Disconnect,
        ],
        seed: 42,
        action: None,
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (fake, api) = start_fast().await;
        fake.set_fault_mix(Some(mix.clone()));
        let mut seq = Vec::new();
        for _ in 0..30 {
            seq.push(outcome(&api).await);
        }
        let injected: u64 = fake.stats().faults_injected.values().sum();
        assert_eq!(injected as usize, seq.iter().filter(|s| *s != "ok").count());
        runs.push(seq);
    }
    assert_eq!(runs[0], runs[1]);
    let ok = runs[0].iter().filter(|s| *s == "ok").count();
    assert!((5..=25).contains(&ok), "{:?}", runs[0]);
    assert!(runs[0].iter().any(|s| s == "dropped"));
    assert!(runs[0].iter().any(|s| s == "http 502"));
    assert!(runs[0].iter().any(|s| s == "ServiceUnavailable"));
}

// ---------------------------------------------------------------------------------------
// Lifecycle.

#[tokio::test]
async fn restart_on_the_same_port_keeps_the_queue() {
    let (fake, api) = start_fast().await;
    fake.set_visibility_timeout(Duration::from_secs(10));
    fake.push_events(None, (0..3).map(|i| event(&format!("t-{i}"))));
    fake.set_max_events_per_pull(1);
    let h = api.pull(None).await.handles();
    let addr = fake.addr();

    let fake = fake.restart().await.unwrap();
    assert_eq!(fake.addr(), addr);
    let s = fake.stats();
    assert_eq!((s.queued, s.in_flight, s.deliveries), (2, 1, 1));
    // The same client (same Host) keeps working, and handles survive.
    api.confirm(None, &h).await.ok();
    fake.set_max_events_per_pull(16);
    assert_eq!(api.pull(None).await.events().len(), 2);

    // Explicit shutdown / start_with_state works too.
    let state = fake.shutdown().await;
    assert!(api.try_call("PullEvents", json!({})).await.is_err());
    state.push_event(None, event("while-down"));
    let fake = FakeVod::start_with_state(state, addr).await.unwrap();
    let r = api.pull(None).await;
    assert_eq!(task_id(&r.events()[0]), "while-down");
    assert_eq!(fake.stats().events_pushed, 4);
}

#[tokio::test]
async fn shutdown_is_prompt_with_hanging_and_long_polling_requests() {
    let (fake, api) = start_fast().await;
    fake.set_pull_hold(Duration::from_secs(30));
    let long_poll = {
        let api = api.clone();
        tokio::spawn(async move { api.try_call("PullEvents", json!({})).await })
    };
    fake.fail_next(Some(Action::DescribeEventsState), Fault::Hang, 1);
    let hang = {
        let api = api.clone();
        tokio::spawn(async move { api.try_call("DescribeEventsState", json!({})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    fake.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // The long-poll got an empty answer, the hanging request a closed connection.
    let r = long_poll.await.unwrap().unwrap();
    assert!(r.events().is_empty());
    assert!(hang.await.unwrap().is_err());
}

#[tokio::test]
async fn malformed_http_and_bodies_do_not_break_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (fake, api) = start_fast().await;
    // Not HTTP at all: hyper answers 400 or closes; either way nothing panics.
    let mut raw = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    raw.write_all(b"\x00\xffGARBAGE \r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end(&mut buf)).await;
    // A chunked body over the cap, without Content-Length.
    let mut raw = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-TC-Action: PullEvents\r\n\r\n";
    raw.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..11 {
        if raw.write_all(b"100000\r\n").await.is_err()
            || raw.write_all(&chunk).await.is_err()
            || raw.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), raw.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.contains("RequestSizeLimitExceeded"), "{text}");
    // A signed, non-UTF-8 body.
    let r = Api::send(api.request("PullEvents", b"\xff\xfe{"))
        .await
        .unwrap();
    assert_eq!(r.code(), Some("InvalidParameter"));
    // Still serving.
    api.pull(None).await.ok();
    assert_eq!(fake.stats().errors_with("RequestSizeLimitExceeded"), 1);
}

#[tokio::test]
async fn raw_json_events_are_delivered_verbatim() {
    let (fake, api) = start_fast().await;
    let raw = r#"{"EventType":"NewFileUpload","FileUploadEvent":{"FileId":"1","MetaData":{"Size":1.0e3,"Duration":60}},"Extra":"\u00e9"}"#;
    fake.push_event_json(None, raw).unwrap();
    assert!(fake.push_event_json(None, "[1]").is_err());
    assert!(fake
        .push_event_json(None, r#"{"EventHandle":"x"}"#)
        .is_err());
    let r = api.pull(None).await;
    let body = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(body.contains(&raw[1..]), "{body}");
    let h = r.handles();
    assert!(body.contains(&format!("{{\"EventHandle\":\"{}\",{}", h[0], &raw[1..])));
    // push_event drops a stray EventHandle and wraps non-objects.
    fake.push_event(None, json!({"EventHandle": "stale", "EventType": "X"}));
    fake.push_event(None, json!(42));
    let events = api.pull(None).await.events();
    assert_eq!(events[0]["EventType"], "X");
    assert_ne!(events[0]["EventHandle"], "stale");
    assert_eq!(events[1]["RawEvent"], 42);
}
