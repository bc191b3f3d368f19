//! TLS that explains itself, on loopback: the fakes behind a TLS front with certificates made
//! here. A refused certificate is fatal at once and named (unknown issuer, name mismatch,
//! expiry), a CA given with `ca_file` / `--ca-file` is trusted, a bad CA file is a
//! configuration error, a plain transport failure shows its cause, and `poll` goes through
//! `HTTPS_PROXY` (and around it for `NO_PROXY`).

mod common;

use std::time::Duration;

use futures::StreamExt;
use tokio::process::Command;
use vod_events::alibaba::mns::fake::{FakeMns, FakeMnsConfig};
use vod_events::alibaba::mns::{self, MnsClient};
use vod_events::tencent::fake::{FakeConfig, FakeVod};
use vod_events::tencent::{self, Client, Credentials, TlsProblem};
use vod_events::ErrorChain;

use common::poll_cli::{lines, poll, run};
use common::tls::{self_signed, write_temp, Ca, ConnectProxy, Leaf, TlsFront};
use common::{quick_retries, ID, KEY};

const Q: &str = "vod-callback";

async fn tencent_fake() -> FakeVod {
    FakeVod::start(FakeConfig {
        pull_hold: Duration::from_millis(100),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

async fn mns_fake() -> FakeMns {
    FakeMns::start(FakeMnsConfig {
        max_hold: Duration::from_millis(100),
        ..FakeMnsConfig::default()
    })
    .await
    .unwrap()
}

/// The Tencent fake behind a TLS front presenting `leaf`.
async fn tencent_behind(leaf: &Leaf) -> (FakeVod, TlsFront) {
    let fake = tencent_fake().await;
    let front = TlsFront::start(fake.addr(), leaf).await;
    (fake, front)
}

/// The MNS fake behind a TLS front presenting `leaf`, and the queue's https URL.
async fn mns_behind(leaf: &Leaf) -> (FakeMns, TlsFront, String) {
    let fake = mns_fake().await;
    let front = TlsFront::start(fake.addr(), leaf).await;
    let url = format!("{}/queues/{Q}", front.origin());
    (fake, front, url)
}

/// A Tencent client for `front`, retrying quickly: a certificate error it retried would show
/// as more than one handshake.
fn tencent_client(front: &TlsFront) -> tencent::ClientBuilder {
    Client::builder()
        .endpoint(front.origin())
        .credentials(Credentials::new(ID, KEY))
        .retry_policy(quick_retries())
        .jitter_seed(5)
}

fn mns_client(url: &str) -> mns::MnsClientBuilder {
    MnsClient::builder(url)
        .credentials(FakeMns::credentials())
        .wait(Duration::from_secs(1))
        .retry_policy(quick_retries())
        .jitter_seed(5)
}

/// Drains `n` events from the Tencent fake through `client`, confirming them.
async fn drain_tencent(client: &Client, fake: &FakeVod, n: u64) {
    let before = fake.stats().confirmed;
    fake.push_samples(None, n);
    let mut events = client.sequential_events();
    for _ in 0..n {
        let next = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("events arrive");
        next.expect("the stream runs").expect("an event");
    }
    let report = events.shutdown().await;
    assert_eq!(report.confirmed, n);
    assert_eq!(fake.stats().confirmed, before + n);
}

/// Receives and deletes `n` messages from the MNS fake through `client`.
async fn drain_mns(client: &MnsClient, fake: &FakeMns, n: usize) {
    let before = fake.stats().deleted;
    fake.push_samples(Q, n);
    let mut handles = Vec::new();
    while handles.len() < n {
        let got = client.batch_receive(16).await.expect("receive over TLS");
        handles.extend(got.messages.into_iter().map(|m| m.receipt_handle));
    }
    let refs: Vec<&str> = handles.iter().map(String::as_str).collect();
    let results = client
        .batch_delete(&refs, None)
        .await
        .expect("delete over TLS");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(fake.stats().deleted, before + n as u64);
}

// ---- the library ----

#[tokio::test]
async fn a_self_signed_certificate_is_fatal_at_once_and_named() {
    let (fake, front) = tencent_behind(&self_signed(&["localhost"])).await;
    let client = tencent_client(&front).build().unwrap();
    let e = client.pull_events().await.unwrap_err();
    assert!(
        matches!(&e, tencent::Error::Tls { problem: TlsProblem::UnknownIssuer, endpoint, .. } if *endpoint == front.origin()),
        "{e:?}"
    );
    assert_eq!(e.tls_problem(), Some(TlsProblem::UnknownIssuer));
    assert!(e.is_fatal() && !e.is_retryable(), "{e}");
    assert_eq!(front.hellos(), 1, "not retried");
    assert_eq!(
        fake.stats().requests_for(tencent::fake::Action::PullEvents),
        0
    );
    let text = e.to_string();
    for words in ["certificate", "issuer", "ca_file", "native-roots"] {
        assert!(text.contains(words), "{words:?} in {text}");
    }
    // The chain adds the TLS library's own words.
    let chain = ErrorChain(&e).to_string();
    assert!(chain.contains("UnknownIssuer"), "{chain}");

    // The stream ends on it instead of retrying forever.
    let mut events = client.sequential_events();
    let first = tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("the stream answers");
    let e = first.expect("an item").unwrap_err();
    assert_eq!(e.tls_problem(), Some(TlsProblem::UnknownIssuer));
    let next = tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("the stream ends");
    assert!(next.is_none(), "the stream ended");
    assert_eq!(front.hellos(), 2, "one attempt for the stream");
}

#[tokio::test]
async fn mns_refuses_a_self_signed_certificate_fatally() {
    let (fake, front, url) = mns_behind(&self_signed(&["localhost"])).await;
    let client = mns_client(&url).build().unwrap();
    let e = client.batch_receive(16).await.unwrap_err();
    assert!(
        matches!(
            &e,
            mns::Error::Tls {
                problem: TlsProblem::UnknownIssuer,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_fatal() && !e.is_retryable(), "{e}");
    assert_eq!(front.hellos(), 1, "not retried");
    assert_eq!(fake.stats().requests, 0);
    assert!(e.to_string().contains("ca_file"), "{e}");
}

#[tokio::test]
async fn a_ca_given_with_ca_file_is_trusted() {
    let ca = Ca::new();
    let (fake, front) = tencent_behind(&ca.issue(&["localhost"])).await;
    // Without the CA the certificate is refused ...
    let e = tencent_client(&front)
        .build()
        .unwrap()
        .pull_events()
        .await
        .unwrap_err();
    assert_eq!(e.tls_problem(), Some(TlsProblem::UnknownIssuer), "{e}");
    // ... with it, events flow.
    let path = ca.write_pem("tencent-ca.pem");
    let client = tencent_client(&front).ca_file(&path).build().unwrap();
    drain_tencent(&client, &fake, 3).await;
}

#[tokio::test]
async fn mns_trusts_a_ca_given_as_pem_or_file() {
    let ca = Ca::new();
    let (fake, _front, url) = mns_behind(&ca.issue(&["localhost"])).await;
    let client = mns_client(&url)
        .add_root_certificate_pem(ca.pem.clone())
        .build()
        .unwrap();
    drain_mns(&client, &fake, 3).await;
    let client = mns_client(&url)
        .ca_file(ca.write_pem("mns-ca.pem"))
        .build()
        .unwrap();
    drain_mns(&client, &fake, 2).await;
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let ca = Ca::new();
    let (_fake, front) = tencent_behind(&ca.issue(&["vod.other.example"])).await;
    let client = tencent_client(&front)
        .add_root_certificate_pem(ca.pem.clone())
        .build()
        .unwrap();
    let e = client.pull_events().await.unwrap_err();
    assert_eq!(e.tls_problem(), Some(TlsProblem::NameMismatch), "{e}");
    assert!(e.is_fatal());
    assert_eq!(front.hellos(), 1, "not retried");
    let chain = ErrorChain(&e).to_string();
    assert!(chain.contains("vod.other.example"), "names it: {chain}");
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let ca = Ca::new();
    let (_fake, front, url) = mns_behind(&ca.issue_expired(&["localhost"])).await;
    let client = mns_client(&url)
        .add_root_certificate_pem(ca.pem.clone())
        .build()
        .unwrap();
    let e = client.batch_receive(16).await.unwrap_err();
    assert_eq!(e.tls_problem(), Some(TlsProblem::Expired), "{e}");
    assert!(e.is_fatal() && e.to_string().contains("expired"), "{e}");
    assert_eq!(front.hellos(), 1, "not retried");
}

#[tokio::test]
async fn a_bad_ca_file_is_a_configuration_error_naming_it() {
    let missing = std::env::temp_dir().join("vod-events-no-such-dir/ca.pem");
    let not_pem = write_temp("not-a-ca.pem", "hello\n");
    for path in [&missing, &not_pem] {
        let e = Client::builder()
            .credentials(Credentials::new(ID, KEY))
            .ca_file(path)
            .build()
            .unwrap_err();
        assert!(matches!(e, tencent::Error::Config(_)), "{e:?}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        let e = MnsClient::builder("https://1.mns.cn-shanghai.aliyuncs.com/queues/q")
            .credentials(FakeMns::credentials())
            .ca_file(path)
            .build()
            .unwrap_err();
        assert!(matches!(e, mns::Error::Config(_)), "{e:?}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}

/// A client the user brings is used as it is: its roots apply, and roots given to the
/// builder as well are refused rather than silently dropped.
#[tokio::test]
async fn a_user_supplied_http_client_is_left_alone() {
    let ca = Ca::new();
    let (fake, front) = tencent_behind(&ca.issue(&["localhost"])).await;
    let own = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let client = tencent_client(&front)
        .http_client(own.clone())
        .build()
        .unwrap();
    drain_tencent(&client, &fake, 2).await;
    let e = tencent_client(&front)
        .http_client(own)
        .ca_file(ca.write_pem("unused-ca.pem"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, tencent::Error::Config(m) if m.contains("http_client")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_shows_its_cause() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .credentials(Credentials::new(ID, KEY))
        .retry_policy(vod_events::tencent::RetryPolicy::no_retries())
        .build()
        .unwrap();
    let e = client.pull_events().await.unwrap_err();
    assert!(matches!(e, tencent::Error::Transport { .. }), "{e:?}");
    assert!(e.is_retryable() && !e.is_fatal() && e.tls_problem().is_none());
    let chain = ErrorChain(&e).to_string().to_lowercase();
    assert!(chain.contains("refused"), "{chain}");
    let once = "error sending request";
    assert_eq!(chain.matches(once).count(), 1, "no text repeated: {chain}");
}

// ---- poll ----

fn tencent_poll(args: &[&str]) -> Command {
    let mut cmd = poll(args);
    cmd.env("TENCENTCLOUD_SECRET_ID", FakeConfig::DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", FakeConfig::DEFAULT_SECRET_KEY);
    cmd
}

fn mns_poll(args: &[&str]) -> Command {
    let mut cmd = poll(args);
    cmd.env(
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
    )
    .env(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET,
    );
    cmd
}

#[tokio::test]
async fn poll_stops_on_a_self_signed_certificate_and_says_so() {
    let (_fake, front) = tencent_behind(&self_signed(&["localhost"])).await;
    let out = run(&mut tencent_poll(&["--endpoint", &front.origin()])).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    for words in ["certificate", "issuer", "--ca-file", "UnknownIssuer"] {
        assert!(out.stderr.contains(words), "{words:?} in {}", out.stderr);
    }
    assert_eq!(front.hellos(), 1, "no retry: {}", out.stderr);
}

#[tokio::test]
async fn poll_mns_stops_on_a_self_signed_certificate_and_says_so() {
    let (_fake, front, url) = mns_behind(&self_signed(&["localhost"])).await;
    let out = run(&mut mns_poll(&["--mns", &url])).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    for words in ["certificate", "issuer", "--ca-file"] {
        assert!(out.stderr.contains(words), "{words:?} in {}", out.stderr);
    }
    assert_eq!(front.hellos(), 1, "no retry: {}", out.stderr);
}

#[tokio::test]
async fn poll_names_an_expired_certificate_and_a_wrong_name() {
    let ca = Ca::new();
    let path = ca.write_pem("poll-refusals-ca.pem");
    let path = path.to_str().unwrap();
    for (leaf, words) in [
        (ca.issue_expired(&["localhost"]), "expired"),
        (ca.issue(&["vod.other.example"]), "another name"),
    ] {
        let (_fake, front) = tencent_behind(&leaf).await;
        let out = run(&mut tencent_poll(&[
            "--endpoint",
            &front.origin(),
            "--ca-file",
            path,
        ]))
        .await;
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(out.stderr.contains(words), "{words:?} in {}", out.stderr);
        assert!(
            !out.stderr.contains("--ca-file"),
            "no CA hint: {}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn poll_drains_through_a_ca_given_with_ca_file() {
    let ca = Ca::new();
    let path = ca.write_pem("poll-ca.pem");
    let (fake, front) = tencent_behind(&ca.issue(&["localhost"])).await;
    fake.push_samples(None, 5);
    let out = run(&mut tencent_poll(&[
        "--endpoint",
        &front.origin(),
        "--ca-file",
        path.to_str().unwrap(),
        "--max-events",
        "5",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 5);
    assert_eq!(fake.stats().confirmed, 5);

    let (fake, _front, url) = mns_behind(&ca.issue(&["localhost"])).await;
    fake.push_samples(Q, 4);
    let out = run(&mut mns_poll(&[
        "--mns",
        &url,
        "--ca-file",
        path.to_str().unwrap(),
        "--max-events",
        "4",
    ]))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 4);
    assert_eq!(fake.stats().deleted, 4);
}

#[tokio::test]
async fn poll_refuses_a_bad_ca_file_as_a_configuration_error() {
    let not_pem = write_temp(
        "poll-not-a-ca.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let missing = std::env::temp_dir().join("vod-events-no-such-dir/ca.pem");
    for path in [&not_pem, &missing] {
        let path = path.to_str().unwrap();
        let out = run(&mut tencent_poll(&[
            "--endpoint",
            "https://localhost:1",
            "--ca-file",
            path,
        ]))
        .await;
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains(path), "{}", out.stderr);
        let out = run(&mut mns_poll(&[
            "--mns",
            "https://localhost:1/queues/q",
            "--ca-file",
            path,
        ]))
        .await;
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains(path), "{}", out.stderr);
    }
    let out = run(&mut poll(&["--demo", "--ca-file", "x.pem"])).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}

#[tokio::test]
async fn poll_goes_through_https_proxy_and_around_it_for_no_proxy() {
    let ca = Ca::new();
    let path = ca.write_pem("poll-proxy-ca.pem");
    let path = path.to_str().unwrap();
    let proxy = ConnectProxy::start().await;
    let (fake, front) = tencent_behind(&ca.issue(&["localhost"])).await;
    fake.push_samples(None, 3);
    let out = run(tencent_poll(&[
        "--endpoint",
        &front.origin(),
        "--ca-file",
        path,
        "--max-events",
        "3",
    ])
    .env("HTTPS_PROXY", proxy.url()))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 3);
    let seen = proxy.requests();
    let tunnel = format!("CONNECT localhost:{} HTTP/1.1", front.port());
    assert!(!seen.is_empty(), "the proxy carried the requests");
    assert!(seen.iter().all(|r| *r == tunnel), "{seen:?}");

    let (fake, front) = tencent_behind(&ca.issue(&["localhost"])).await;
    fake.push_samples(None, 2);
    let out = run(tencent_poll(&[
        "--endpoint",
        &front.origin(),
        "--ca-file",
        path,
        "--max-events",
        "2",
    ])
    .env("HTTPS_PROXY", proxy.url())
    .env("NO_PROXY", "example.com,localhost"))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 2);
    assert_eq!(
        proxy.requests(),
        seen,
        "NO_PROXY: the proxy saw nothing more"
    );
}

#[tokio::test]
async fn poll_mns_goes_through_https_proxy() {
    let ca = Ca::new();
    let path = ca.write_pem("poll-mns-proxy-ca.pem");
    let proxy = ConnectProxy::start().await;
    let (fake, front, url) = mns_behind(&ca.issue(&["localhost"])).await;
    fake.push_samples(Q, 3);
    let out = run(mns_poll(&[
        "--mns",
        &url,
        "--ca-file",
        path.to_str().unwrap(),
        "--max-events",
        "3",
    ])
    .env("https_proxy", proxy.url()))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 3);
    let seen = proxy.requests();
    let tunnel = format!("CONNECT localhost:{} HTTP/1.1", front.port());
    assert!(
        !seen.is_empty() && seen.iter().all(|r| *r == tunnel),
        "{seen:?}"
    );
}
