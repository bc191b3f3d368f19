//! The JetStream relay against a real `nats-server` on 127.0.0.1 (see `common::nats`): the
//! library sink, and `poll --to nats://…` end to end.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use common::nats::NatsServer;
use common::poll_cli::{poll, run};
use futures::StreamExt;
use tokio::process::Command;
use vod_events::alibaba::mns::fake::{FakeMns, FakeMnsConfig};
use vod_events::relay::jetstream::{self, JetStreamSink};
use vod_events::relay::{Outgoing, Sink, Stored};
use vod_events::tencent::events::decode_event_json;
use vod_events::tencent::fake::{FakeConfig, FakeVod};

fn with_fake_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env("TENCENTCLOUD_SECRET_ID", FakeConfig::DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", FakeConfig::DEFAULT_SECRET_KEY)
}

async fn fake_vod() -> FakeVod {
    FakeVod::start(FakeConfig {
        pull_hold: Duration::from_millis(100),
        visibility_timeout: Duration::from_millis(1500),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

/// Every message of `stream`: subject, headers (name → value) and payload.
async fn read_all(
    js: &async_nats::jetstream::Context,
    stream: &str,
) -> Vec<(String, BTreeMap<String, String>, String)> {
    let stream = js.get_stream(stream).await.unwrap();
    let count = stream.get_info().await.unwrap().state.messages as usize;
    let consumer = stream.create_consumer(PullConfig::default()).await.unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("the stream's messages come")
            .unwrap()
            .unwrap();
        let headers = m
            .headers
            .iter()
            .flat_map(|h| h.iter())
            .map(|(name, values)| (name.to_string(), values[0].to_string()))
            .collect();
        out.push((
            m.subject.to_string(),
            headers,
            String::from_utf8(m.payload.to_vec()).unwrap(),
        ));
    }
    out
}

/// A sink on `vod.>` that creates the stream `VOD`.
async fn sink_creating_vod(server: &NatsServer) -> JetStreamSink {
    JetStreamSink::builder(&server.to("vod"))
        .create_stream("VOD")
        .connect()
        .await
        .unwrap()
}

async fn stored(js: &async_nats::jetstream::Context, stream: &str) -> u64 {
    js.get_stream(stream)
        .await
        .unwrap()
        .get_info()
        .await
        .unwrap()
        .state
        .messages
}

#[tokio::test]
async fn a_redelivery_is_stored_once_and_answered_as_a_duplicate() {
    let Some(server) = NatsServer::start("dedupe") else {
        return;
    };
    let sink = sink_creating_vod(&server).await;
    let first = decode_event_json(
        r#"{"EventHandle":"h1","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"1"}}"#,
    )
    .unwrap();
    let redelivered = decode_event_json(
        r#"{"EventHandle":"h2","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"1"}}"#,
    )
    .unwrap();
    let other = decode_event_json(
        r#"{"EventHandle":"h3","EventType":"NewFileUpload","FileUploadEvent":{"FileId":"2"}}"#,
    )
    .unwrap();
    let results = sink
        .send_batch(&[
            Outgoing::new(&first),
            Outgoing::new(&redelivered),
            Outgoing::new(&other),
        ])
        .await;
    let results: Vec<Stored> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results, [Stored::New, Stored::Duplicate, Stored::New]);
    assert_eq!(stored(sink.context(), "VOD").await, 2);
    let messages = read_all(sink.context(), "VOD").await;
    let (subject, headers, payload) = &messages[0];
    assert_eq!(subject, "vod.tencent.NewFileUpload");
    assert_eq!(
        payload,
        r#"{"EventType":"NewFileUpload","FileUploadEvent":{"FileId":"1"}}"#
    );
    assert_eq!(headers["Vod-Provider"], "tencent");
    assert_eq!(headers["Vod-Event-Type"], "NewFileUpload");
    assert_eq!(headers["Nats-Expected-Stream"], "VOD");
    assert!(headers["Nats-Msg-Id"].starts_with("tencent:"));
    assert!(!headers["Vod-Idempotency-Key"].is_empty());
    assert_ne!(headers["Nats-Msg-Id"], messages[1].1["Nats-Msg-Id"]);
}

#[tokio::test]
async fn a_line_break_in_an_event_type_is_an_error_for_that_event_not_a_panic() {
    let Some(server) = NatsServer::start("crlf") else {
        return;
    };
    let sink = sink_creating_vod(&server).await;
    let bad =
        decode_event_json(r#"{"EventHandle":"h","EventType":"Evil\r\nNats-Msg-Id: x"}"#).unwrap();
    let good = decode_event_json(r#"{"EventHandle":"h","EventType":"NewFileUpload"}"#).unwrap();
    let results = sink
        .send_batch(&[Outgoing::new(&bad), Outgoing::new(&good)])
        .await;
    assert!(
        matches!(
            &results[0],
            Err(vod_events::relay::SinkError::JetStream(
                jetstream::Error::Header { .. }
            ))
        ),
        "{:?}",
        results[0]
    );
    assert!(matches!(results[1], Ok(Stored::New)));
    assert_eq!(stored(sink.context(), "VOD").await, 1);
}

#[tokio::test]
async fn a_missing_stream_is_a_configuration_error_and_nothing_is_confirmed() {
    let Some(server) = NatsServer::start("missing") else {
        return;
    };
    let e = JetStreamSink::builder(&server.to("vod"))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, jetstream::Error::StreamMissing { .. }), "{e}");
    let fake = fake_vod().await;
    fake.push_samples(None, 10);
    let out = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--to",
        &server.to("vod"),
    ])))
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--nats-stream"), "{}", out.stderr);
    assert_eq!(fake.stats().confirmed, 0);
}

/// poll → JetStream → a consumer of the stream: every event stored once under its subject,
/// with its headers, and confirmed at the queue. A first run publishes 100 events without
/// confirming them, so the queue redelivers them to the second run, whose republishes
/// JetStream answers as duplicates.
#[tokio::test]
async fn poll_relays_every_event_once_and_confirms_only_what_was_stored() {
    let Some(server) = NatsServer::start("poll") else {
        return;
    };
    let fake = fake_vod().await;
    let total = 300u64;
    fake.push_samples(None, total);
    let to = server.to("vod.events");
    let relay = |extra: &[&str]| {
        let mut args = vec![
            "--endpoint".to_owned(),
            fake.endpoint(),
            "--rate".into(),
            "0".into(),
            "--to".into(),
            to.clone(),
            "--nats-stream".into(),
            "VODEVENTS".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let first = relay(&["--max-events", "100", "--no-confirm"]);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let out = run(with_fake_credentials(&mut poll(&first))).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(fake.stats().confirmed, 0);
    let second = relay(&["--max-events", &total.to_string()]);
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    let out = run(with_fake_credentials(&mut poll(&second))).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "events go to NATS, not stdout");
    let f = fake.stats();
    assert_eq!(f.confirmed, total, "{f:?}");
    assert!(f.redeliveries >= 100, "the unconfirmed came back: {f:?}");

    let client = async_nats::connect(server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    assert_eq!(
        stored(&js, "VODEVENTS").await,
        total,
        "each event stored once"
    );
    let messages = read_all(&js, "VODEVENTS").await;
    let mut payloads = BTreeSet::new();
    for (subject, headers, payload) in &messages {
        let event: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert!(event.get("EventHandle").is_none(), "{payload}");
        let event_type = event["EventType"].as_str().unwrap();
        assert_eq!(subject, &format!("vod.events.tencent.{event_type}"));
        assert_eq!(headers["Vod-Event-Type"], event_type);
        payloads.insert(payload.clone());
    }
    assert_eq!(payloads.len() as u64, total, "distinct payloads");
}

#[tokio::test]
async fn poll_mns_relays_vod_and_ims_events_under_their_providers() {
    let Some(server) = NatsServer::start("mns") else {
        return;
    };
    let fake = FakeMns::start(FakeMnsConfig {
        max_hold: Duration::from_millis(100),
        ..FakeMnsConfig::default()
    })
    .await
    .unwrap();
    let total = 120usize;
    fake.push_samples("vod-callback", total);
    let out = run(poll(&[
        "--mns",
        &fake.queue_url("vod-callback"),
        "--max-events",
        &total.to_string(),
        "--to",
        &server.to("vod"),
        "--nats-stream",
        "VOD",
    ])
    .env(
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
    )
    .env(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET,
    ))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(fake.stats().deleted, total as u64);
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let messages = read_all(&js, "VOD").await;
    assert_eq!(messages.len(), total);
    let providers: BTreeSet<&str> = messages
        .iter()
        .map(|(subject, _, _)| subject.split('.').nth(1).unwrap())
        .collect();
    assert_eq!(
        providers,
        BTreeSet::from(["alibaba-ims", "alibaba-vod"]),
        "both products"
    );
}

#[tokio::test]
async fn a_token_from_the_environment_authenticates_and_never_shows() {
    let Some(server) = NatsServer::start_with("token", &["--auth", "s3cret-nats-token"]) else {
        return;
    };
    let fake = fake_vod().await;
    fake.push_samples(None, 5);
    let args = [
        "--endpoint",
        &fake.endpoint(),
        "--max-events",
        "5",
        "--to",
        &server.to("vod"),
        "--nats-stream",
        "VOD",
    ];
    let out =
        run(with_fake_credentials(&mut poll(&args))
            .env("VOD_EVENTS_NATS_TOKEN", "s3cret-nats-token"))
        .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("s3cret-nats-token"), "{}", out.stderr);
    let wrong =
        run(with_fake_credentials(&mut poll(&args))
            .env("VOD_EVENTS_NATS_TOKEN", "wrong-nats-token"))
        .await;
    assert_eq!(wrong.code, Some(1), "{}", wrong.stderr);
    assert!(
        !wrong.stderr.contains("wrong-nats-token"),
        "{}",
        wrong.stderr
    );
    let in_url = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--to",
        &format!("nats://user:pw-in-url@127.0.0.1:{}/vod", server.port),
    ])))
    .await;
    assert_eq!(in_url.code, Some(2), "{}", in_url.stderr);
    assert!(!in_url.stderr.contains("pw-in-url"), "{}", in_url.stderr);
}

#[tokio::test]
async fn a_user_and_password_from_the_environment_authenticate() {
    let Some(server) =
        NatsServer::start_with("userpass", &["--user", "relay", "--pass", "pw-7c1e"])
    else {
        return;
    };
    let fake = fake_vod().await;
    fake.push_samples(None, 3);
    let out = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--max-events",
        "3",
        "--to",
        &server.to("vod"),
        "--nats-stream",
        "VOD",
    ]))
    .env("VOD_EVENTS_NATS_USER", "relay")
    .env("VOD_EVENTS_NATS_PASSWORD", "pw-7c1e"))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("pw-7c1e"), "{}", out.stderr);
    assert_eq!(fake.stats().confirmed, 3);
}

/// `receive --to`: a push is answered 200 only once JetStream holds it.
#[tokio::test]
async fn receive_relays_a_push_and_answers_200_after_the_publish_ack() {
    use tokio::io::AsyncBufReadExt;
    let Some(server) = NatsServer::start("receive") else {
        return;
    };
    let to = server.to("vod");
    let mut child = common::poll_cli::example(
        "receive",
        &[
            "--listen",
            "127.0.0.1:0",
            "--allow-unsigned",
            "--to",
            &to,
            "--nats-stream",
            "VOD",
        ],
    )
    .spawn()
    .unwrap();
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = stderr.next_line().await.unwrap().expect("a start line");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .unwrap()
        .to_owned();
    let body = r#"{"EventType":"FileUploadComplete","EventTime":"2026-01-01T00:00:00Z","VideoId":"nats-1"}"#;
    let status = reqwest::Client::new()
        .post(format!("http://{addr}/"))
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let messages = read_all(&js, "VOD").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0, "vod.alibaba-vod.FileUploadComplete");
    assert_eq!(messages[0].2, body);
    let _ = child.kill().await;
}

/// A stream that refuses new messages past 50 (discard policy `new`): poll confirms exactly
/// the 50 that JetStream acknowledged, never one it refused, however often they come back.
#[cfg(unix)]
#[tokio::test]
async fn refused_publishes_are_never_confirmed() {
    use async_nats::jetstream::stream::{Config, DiscardPolicy, StorageType};
    let Some(server) = NatsServer::start("refused") else {
        return;
    };
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    js.create_stream(Config {
        name: "VOD".into(),
        subjects: vec!["vod.>".into()],
        max_messages: 50,
        discard: DiscardPolicy::New,
        storage: StorageType::File,
        ..Config::default()
    })
    .await
    .unwrap();
    let fake = fake_vod().await;
    fake.push_samples(None, 200);
    let mut child = with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--rate",
        "0",
        "--to",
        &server.to("vod"),
    ]))
    .spawn()
    .unwrap();
    common::wait_until("50 stored and confirmed", || fake.stats().confirmed >= 50).await;
    // The refused ones come back (1.5 s window), to be refused again.
    common::wait_until("redeliveries of the refused", || {
        fake.stats().redeliveries > 0
    })
    .await;
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stored(&js, "VOD").await, 50);
    assert_eq!(fake.stats().confirmed, 50, "{:?}", fake.stats());
}

/// The server is SIGKILLed while poll publishes, and started again on the same port and
/// store: poll rides through (publishes fail, their events are not confirmed and come back,
/// the republishes carry the same Nats-Msg-Id), and in the end every event is stored exactly
/// once and confirmed.
#[tokio::test]
async fn a_killed_and_restarted_server_loses_nothing_and_stores_nothing_twice() {
    let Some(mut server) = NatsServer::start("kill") else {
        return;
    };
    let fake = fake_vod().await;
    let total = 20_000u64;
    fake.push_samples(None, total);
    let mut child = with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--rate",
        "0",
        "--concurrency",
        "2",
        "--max-events",
        &total.to_string(),
        "--to",
        &server.to("vod"),
        "--nats-stream",
        "VOD",
    ]))
    .spawn()
    .unwrap();
    // Kill once a part is stored, mid-run.
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let n = match js.get_stream("VOD").await {
            Ok(stream) => stream.get_info().await.map_or(0, |i| i.state.messages),
            Err(_) => 0,
        };
        if n >= 2_000 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "poll publishes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(js);
    server.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.restart();
    let status = tokio::time::timeout(Duration::from_secs(300), child.wait())
        .await
        .expect("poll finished")
        .unwrap();
    let stderr = {
        let mut text = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut e, &mut text).await;
        }
        text
    };
    assert_eq!(status.code(), Some(0), "{stderr}");
    // Whether publishes failed depends on what was in flight at the kill (the client holds
    // what it could not send and sends it after reconnecting); either way nothing is lost or
    // doubled. `refused_publishes_are_never_confirmed` covers the failure path for certain.
    eprintln!(
        "publishes failed during the outage: {}",
        stderr.contains("publishing again")
    );
    assert_eq!(fake.stats().confirmed, total, "{stderr}");
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    assert_eq!(
        stored(&js, "VOD").await,
        total,
        "every event stored exactly once: {stderr}"
    );
}
