//! `push_load`: a load generator for push receivers (`examples/receive`, or any server that
//! takes Alibaba VOD HTTP callbacks), used by `bench/push_e2e.py`.
//!
//! ```sh
//! cargo run --release --example push_load -- --url http://127.0.0.1:8080/ \
//!     --key KEY --requests 20000 --rate 2000 --connections 50
//! ```
//!
//! Sends `--requests` POSTs over `--connections` keep-alive HTTP/1.1 connections. Each is an
//! Alibaba VOD `FileUploadComplete` callback with its own `VideoId` (so a receiver's
//! de-duplication never drops one), `X-VOD-TIMESTAMP` (now) and `X-VOD-SIGNATURE`
//! (`md5(URL|timestamp|KEY)`, lower-case hex; `--callback-url` if the signed URL differs from
//! the one connected to).
//!
//! Open loop (`--rate R`, requests/s): request `i` is due at `start + i / R` whatever happened
//! to the others, and its latency is measured from that slot, not from when it could be sent,
//! so a slow answer that holds a connection shows up in the latency of the requests queued
//! behind it (no coordinated omission). Each connection takes the next request whose slot
//! has come, sends it and reads the answer. `--rate 0`: unpaced, every connection sends its
//! next request as soon as the answer to the last one is in; latency from the send.
//!
//! Prints one JSON line: `sent`, `status` (counts per HTTP status), `errors` (transport),
//! `elapsed_s`, `rate` (answers/s achieved), `latency_ms` (from the slot: p50, p90, p99,
//! max), `service_ms` (from the send) and `lag_ms` (send minus slot: the generator's own
//! lateness). The slots come from a thread of their own (nanosleep), not tokio's
//! millisecond-grained timer. Exit 0 when every request was sent
//! and answered (whatever the status), 1 otherwise.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use vod_events::push::verify::alibaba_signature;
use vod_events::push::Secret;

const HELP: &str = "\
push_load: open-loop load of signed Alibaba VOD callbacks over keep-alive connections

USAGE:
    cargo run --release --example push_load -- --url URL --key KEY [OPTIONS]

OPTIONS:
    --url URL            where to POST (http://IP:PORT/PATH)
    --key KEY            the Alibaba auth key to sign with
    --callback-url URL   the URL to sign [default: --url]
    --requests N         how many requests [default: 20000]
    --rate R             requests/s, open loop; 0 = as fast as the connections go [default: 2000]
    --connections C      keep-alive connections [default: 50]
    --threads T          runtime worker threads [default: 1]
    --run-id TEXT        part of every VideoId, so runs never repeat an event [default: the time]
";

struct Args {
    url: String,
    key: String,
    callback_url: Option<String>,
    requests: u64,
    rate: f64,
    connections: usize,
    threads: usize,
    run_id: String,
}

fn parse_args() -> Result<Args, String> {
    use lexopt::Arg::{Long, Value};
    let mut args = Args {
        url: String::new(),
        key: String::new(),
        callback_url: None,
        requests: 20_000,
        rate: 2_000.0,
        connections: 50,
        threads: 1,
        run_id: format!("{}", now_unix().as_nanos()),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let name = match arg {
            Long("help") => {
                print!("{HELP}");
                std::process::exit(0);
            }
            Long(name) => name.to_owned(),
            Value(v) => return Err(format!("unexpected argument {v:?}")),
            other => return Err(other.unexpected().to_string()),
        };
        let value = parser
            .value()
            .map_err(|e| e.to_string())?
            .into_string()
            .map_err(|_| format!("--{name} takes UTF-8 text"))?;
        let number = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("--{name} takes a number"))
        };
        match name.as_str() {
            "url" => args.url = value,
            "key" => args.key = value,
            "callback-url" => args.callback_url = Some(value),
            "requests" => args.requests = number(&value)? as u64,
            "rate" => args.rate = number(&value)?,
            "connections" => args.connections = (number(&value)? as usize).max(1),
            "threads" => args.threads = (number(&value)? as usize).max(1),
            "run-id" => args.run_id = value,
            _ => return Err(format!("unknown option --{name}")),
        }
    }
    if args.url.is_empty() || args.key.is_empty() {
        return Err("--url and --key are required (see --help)".into());
    }
    Ok(args)
}

fn now_unix() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// What one connection saw: microseconds from slot, from send, and send minus slot.
#[derive(Default)]
struct Seen {
    latency: Vec<u32>,
    service: Vec<u32>,
    lag: Vec<u32>,
    status: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
}

struct Plan {
    uri: hyper::Uri,
    /// The path and query of `uri`, sent as the request target.
    path: String,
    host: String,
    callback_url: String,
    key: Secret,
    requests: u64,
    /// Time between slots; zero when unpaced.
    interval: Duration,
    run_id: String,
    /// Unpaced: the next request to send.
    next: AtomicU64,
    /// Paced: the requests whose slot has come, from the pacer thread.
    due: Option<tokio::sync::Mutex<mpsc::UnboundedReceiver<u64>>>,
    start: Instant,
}

/// Releases request `i` at `start + i * interval`. A thread of its own sleeping with
/// nanosleep, since tokio's timer rounds up to the millisecond: the slots stay within tens
/// of microseconds whatever the runtime is doing.
fn pacer(start: Instant, interval: Duration, requests: u64, due: mpsc::UnboundedSender<u64>) {
    for i in 0..requests {
        let slot = start + interval * (i as u32);
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
        if due.send(i).is_err() {
            break;
        }
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// One keep-alive connection: takes the next due request until all are taken.
async fn connection(plan: Arc<Plan>, seen: Arc<Mutex<Seen>>) {
    let mut mine = Seen::default();
    let addr = format!(
        "{}:{}",
        plan.uri.host().unwrap_or("127.0.0.1"),
        plan.uri.port_u16().unwrap_or(80)
    );
    // Opened before the first slot; again after a failure, when the next request is due.
    let mut sender = open(&addr).await.ok();
    loop {
        // The next due request: from the pacer when paced, else the next number.
        let i = match &plan.due {
            Some(due) => match due.lock().await.recv().await {
                Some(i) => i,
                None => break,
            },
            None => plan.next.fetch_add(1, Ordering::Relaxed),
        };
        if i >= plan.requests {
            break;
        }
        let slot = plan.start + plan.interval * (i as u32);
        if sender.is_none() {
            match open(&addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    *mine.errors.entry(format!("connect: {e}")).or_default() += 1;
                    continue;
                }
            }
        }
        let sent_at = Instant::now();
        let slot = if plan.interval.is_zero() {
            sent_at
        } else {
            slot
        };
        let ts = now_unix().as_secs().to_string();
        let signature = hex::encode(alibaba_signature(&plan.key, &plan.callback_url, &ts));
        let body = format!(
            r#"{{"EventTime":"2017-03-20T07:49:17Z","EventType":"FileUploadComplete","VideoId":"load-{}-{i}","Size":1439213,"FileUrl":"http://example-bucket.oss-cn-shanghai.aliyuncs.com/load/{i}.mp4"}}"#,
            plan.run_id
        );
        // Origin form (`POST /path HTTP/1.1` with a Host header), as producers send it.
        let request = hyper::Request::post(plan.path.as_str())
            .header("host", &plan.host)
            .header("content-type", "application/json")
            .header("x-vod-timestamp", ts)
            .header("x-vod-signature", signature)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request");
        let s = sender.as_mut().expect("opened above");
        let answer = async {
            s.ready().await?;
            let response = s.send_request(request).await?;
            let status = response.status().as_u16();
            response.into_body().collect().await?;
            Ok::<u16, hyper::Error>(status)
        }
        .await;
        let done = Instant::now();
        match answer {
            Ok(status) => {
                *mine.status.entry(status).or_default() += 1;
                mine.latency.push(micros(done - slot));
                mine.service.push(micros(done - sent_at));
                mine.lag
                    .push(micros(sent_at.saturating_duration_since(slot)));
            }
            Err(e) => {
                *mine.errors.entry(e.to_string()).or_default() += 1;
                sender = None; // reconnect for the next one
            }
        }
    }
    let mut all = seen.lock().expect("not poisoned");
    all.latency.append(&mut mine.latency);
    all.service.append(&mut mine.service);
    all.lag.append(&mut mine.lag);
    for (k, v) in mine.status {
        *all.status.entry(k).or_default() += v;
    }
    for (k, v) in mine.errors {
        *all.errors.entry(k).or_default() += v;
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn open(addr: &str) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// `p` in 0..=100 of sorted microseconds, as milliseconds.
fn percentiles(sorted: &mut [u32]) -> serde_json::Value {
    sorted.sort_unstable();
    let at = |p: f64| -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
    };
    serde_json::json!({"p50": at(50.0), "p90": at(90.0), "p99": at(99.0), "max": at(100.0)})
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("push_load: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let uri: hyper::Uri = match args.url.parse() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("push_load: --url: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.threads);
        b
    }
    .enable_all()
    .build()
    .expect("a runtime");
    let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    let interval = if args.rate > 0.0 {
        Duration::from_secs_f64(1.0 / args.rate)
    } else {
        Duration::ZERO
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (elapsed, answered) = runtime.block_on(async {
        // A moment to open the connections before the first slot.
        let start = Instant::now() + Duration::from_millis(50);
        let due = (!interval.is_zero()).then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let requests = args.requests;
            std::thread::spawn(move || pacer(start, interval, requests, tx));
            tokio::sync::Mutex::new(rx)
        });
        let plan = Arc::new(Plan {
            callback_url: args
                .callback_url
                .clone()
                .unwrap_or_else(|| args.url.clone()),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            uri,
            host,
            key: Secret::new(args.key.as_str()),
            requests: args.requests,
            interval,
            run_id: args.run_id.clone(),
            next: AtomicU64::new(0),
            due,
            start,
        });
        let tasks: Vec<_> = (0..args.connections)
            .map(|_| tokio::spawn(connection(plan.clone(), seen.clone())))
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = plan.start.elapsed();
        let answered: u64 = seen.lock().expect("not poisoned").status.values().sum();
        (elapsed, answered)
    });
    let mut seen = seen.lock().expect("not poisoned");
    let status: BTreeMap<String, u64> = seen
        .status
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    let line = serde_json::json!({
        "sent": args.requests,
        "answered": answered,
        "status": status,
        "errors": seen.errors,
        "connections": args.connections,
        "target_rate": args.rate,
        "elapsed_s": elapsed.as_secs_f64(),
        "rate": answered as f64 / elapsed.as_secs_f64(),
        "latency_ms": percentiles(&mut seen.latency),
        "service_ms": percentiles(&mut seen.service),
        "lag_ms": percentiles(&mut seen.lag),
    });
    println!("{line}");
    if answered == args.requests {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
