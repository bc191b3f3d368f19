//! `examples/receive` run as an operator would, with real HTTP on 127.0.0.1.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::poll_cli::{example, run};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout};
use vod_events::push::verify::alibaba_signature;
use vod_events::push::Secret;

const KEY: &str = "receive-test-auth-key";
const CALLBACK: &str = "https://hooks.example.com/vod/cb";

fn hex(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn vod_body(video: &str) -> String {
    serde_json::json!({"EventTime": "2026-01-01T00:00:00Z", "EventType": "FileUploadComplete",
        "VideoId": video, "Status": "success", "Size": 18446744073709551615_u64})
    .to_string()
}

struct Running {
    child: Child,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    base: String,
    client: reqwest::Client,
}

/// Starts `receive` on a free port and reads the address from its start line.
async fn start() -> Running {
    let mut child = example(
        "receive",
        &[
            "--listen",
            "127.0.0.1:0",
            "--alibaba-auth-key",
            KEY,
            "--callback-url",
            CALLBACK,
        ],
    )
    .spawn()
    .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
        .await
        .expect("a start line")
        .unwrap()
        .expect("a start line");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    // Keep draining stderr so the child never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    Running {
        stdout: BufReader::new(child.stdout.take().unwrap()).lines(),
        child,
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
    }
}

/// A POST of `body` signed as Alibaba VOD does (or with `signature` instead).
fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: String,
    signature: Option<String>,
) -> reqwest::RequestBuilder {
    let ts = now().to_string();
    let sig = signature.unwrap_or_else(|| hex(alibaba_signature(&Secret::new(KEY), CALLBACK, &ts)));
    client
        .post(format!("{base}{path}"))
        .header("x-vod-timestamp", ts)
        .header("x-vod-signature", sig)
        .body(body)
}

impl Running {
    fn post(&self, path: &str, body: String, signature: Option<String>) -> reqwest::RequestBuilder {
        post(&self.client, &self.base, path, body, signature)
    }

    async fn status(&self, request: reqwest::RequestBuilder) -> u16 {
        request.send().await.unwrap().status().as_u16()
    }

    async fn stop(mut self) -> (Option<i32>, Vec<String>) {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let mut rest = Vec::new();
        while let Some(line) = self.stdout.next_line().await.unwrap() {
            rest.push(line);
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        (status.code(), rest)
    }
}

#[tokio::test]
async fn demo_receives_every_type_of_all_three_producers_and_needs_nothing() {
    let out = run(&mut example("receive", &["--demo"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("every one answered 200"),
        "{}",
        out.stderr
    );
    let mut tencent_types = BTreeSet::new();
    let (mut vod, mut ims) = (0, 0);
    for line in out.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.get("Sign").is_none() && v.get("T").is_none(), "{line}");
        if v.get("MessageBody").is_some() {
            ims += 1;
        } else if v.get("EventTime").is_some() || v.get("VideoId").is_some() {
            vod += 1;
        } else {
            tencent_types.insert(v["EventType"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        tencent_types.len(),
        38,
        "every Tencent type and an unknown one"
    );
    assert!(vod > 0 && ims > 0, "VOD {vod}, IMS {ims}");
}

#[tokio::test]
async fn an_event_is_printed_before_its_200_and_refusals_print_nothing() {
    let mut r = start().await;
    let body = vod_body("v-1");
    assert_eq!(r.status(r.post("/vod/cb", body.clone(), None)).await, 200);
    // The line is on stdout by the time the 200 came back (flushed first).
    let line = tokio::time::timeout(Duration::from_secs(5), r.stdout.next_line())
        .await
        .expect("printed before the 200")
        .unwrap()
        .unwrap();
    assert_eq!(line, body, "the body as received, huge number kept");
    let refusals = [
        (
            r.post("/vod/cb", vod_body("v-2"), Some("0".repeat(32))),
            401,
        ),
        (r.post("/vod/cb", "{not json".into(), None), 400),
        (r.post("/elsewhere", vod_body("v-3"), None), 404),
        (r.client.get(format!("{}/vod/cb", r.base)), 405),
    ];
    for (request, expected) in refusals {
        assert_eq!(r.status(request).await, expected);
    }
    // Over the 1 MiB cap: 413, though the server may close before the client has written
    // the whole body, which the client then reports as a broken connection instead.
    let fresh = reqwest::Client::new();
    match post(&fresh, &r.base, "/vod/cb", "x".repeat(2 << 20), None)
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    // A repeat of the acknowledged event: 200, not printed again.
    let fresh = reqwest::Client::new();
    assert_eq!(
        r.status(post(&fresh, &r.base, "/vod/cb", body, None)).await,
        200
    );
    let (code, rest) = r.stop().await;
    assert_eq!(code, Some(0));
    assert!(rest.is_empty(), "nothing else printed: {rest:?}");
}

/// SIGTERM while producers post: every request answered 200 was printed, and the process
/// exits 0 (a restart between a producer's attempts loses nothing acknowledged).
#[cfg(unix)]
#[tokio::test]
async fn sigterm_mid_traffic_prints_everything_it_answered_200() {
    let Running {
        mut child,
        mut stdout,
        base,
        client,
    } = start().await;
    // Read stdout all along, as a pipe reader would: receive must never wait on it.
    let printed = tokio::spawn(async move {
        let mut lines = BTreeSet::new();
        while let Ok(Some(line)) = stdout.next_line().await {
            lines.insert(line);
        }
        lines
    });
    let (tx, mut answered) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..400 {
        let body = vod_body(&format!("t-{i}"));
        let request = post(&client, &base, "/vod/cb", body.clone(), None);
        let tx = tx.clone();
        tokio::spawn(async move {
            let status = match request.send().await {
                Ok(response) => response.status().as_u16(),
                Err(_) => 0,
            };
            let _ = tx.send((status, body));
        });
    }
    drop(tx);
    // Stop once a part is answered.
    let mut ok = BTreeSet::new();
    for _ in 0..50 {
        let (status, body) = answered.recv().await.unwrap();
        if status == 200 {
            ok.insert(body);
        }
    }
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    while let Some((status, body)) = answered.recv().await {
        if status == 200 {
            ok.insert(body);
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("receive exits after SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let printed = printed.await.unwrap();
    assert!(!ok.is_empty());
    let missing: Vec<_> = ok.difference(&printed).collect();
    assert!(
        missing.is_empty(),
        "answered 200 but not printed: {missing:?}"
    );
}

/// A client that sends its headers one byte at a time and then stalls is cut off (the
/// header read timeout, 5 s), so slow clients cannot hold connections for ever.
#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let r = start().await;
    let addr = r.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    for byte in b"POST /vod/cb HTTP/1.1\r\nHost: x\r\n" {
        socket.write_all(&[*byte]).await.unwrap();
    }
    // Never finish the headers: the server must close the connection by itself.
    let mut rest = Vec::new();
    // An orderly close or a reset: either way the server let go (no timeout here).
    let _closed_or_reset =
        tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut rest))
            .await
            .expect("the server closed the stalled connection");
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    let (code, printed) = r.stop().await;
    assert_eq!(code, Some(0));
    assert!(printed.is_empty());
}
