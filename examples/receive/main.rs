//! `receive`: take VOD event pushes (Tencent v3.0 normal callbacks, Alibaba VOD and IMS HTTP
//! callbacks) over HTTP, verify them, print each accepted event as one JSON line on stdout
//! (or publish it into NATS JetStream with `--to`), and answer 200 only after that.
//!
//! Exit status: 0 done (SIGTERM / Ctrl-C, demo finished); 2 usage or configuration problem;
//! 1 a fatal error (the port cannot be bound, the output is gone).

#[path = "../poll/cli.rs"]
mod cli;
#[path = "../poll/signals.rs"]
mod signals;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{FutureExt, StreamExt};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use vod_events::push::verify::{alibaba_signature, tencent_sign};
use vod_events::push::{PushDelivery, Receiver, Secret};
use vod_events::relay::jetstream::JetStreamSink;
use vod_events::relay::{LinesSink, Outgoing, Sink};
use vod_events::ErrorChain;

use signals::Signals;

const HELP: &str = "\
receive: take VOD event pushes over HTTP (Tencent v3.0 normal callbacks, Alibaba VOD and IMS
HTTP callbacks), verify them, print each accepted event, then answer 200

USAGE:
    cargo run --release --example receive -- [OPTIONS]

Each accepted event is printed on stdout as one JSON line (the event object as received;
Tencent's Sign and T removed) and flushed, and only then answered with HTTP 200. A request
not printed in time (Tencent and Alibaba VOD 4 s, IMS 2 s) is answered 503, so the producer
retries it.

OPTIONS:
    --listen ADDR            address to listen on [default: 127.0.0.1:8080]
    --callback-url URL       the callback URL as configured at the producer (Alibaba signs
                             it); requests are served on its path [default: http://LISTEN/]
    --tencent-sign-key KEY   verify Tencent v3.0 pushes (Sign = md5(KEY + T), T not past)
                             (or set VOD_EVENTS_TENCENT_SIGN_KEY, kept out of `ps`)
    --alibaba-auth-key KEY   verify Alibaba VOD (X-VOD-*) and IMS (X-ICE-*) callbacks
                             (or set VOD_EVENTS_ALIBABA_AUTH_KEY)
    --max-age SECS           Alibaba timestamp window, both directions [default: 300]
    --allow-unsigned         accept pushes from a producer with no key configured
    --to nats://HOST:PORT/PREFIX
                             publish each event into NATS JetStream instead (see poll --help;
                             --nats-stream NAME creates the stream)
    --nats-stream NAME       with --to: create the stream if it is missing
    --demo                   start, send itself signed samples of every event type of all
                             three producers, print them, exit 0
    -h, --help               print this help

REFUSED (nothing printed):
    401 bad or missing signature, expired T, timestamp outside the window, a producer with no
        key and no --allow-unsigned; 400 malformed JSON or not one JSON object; 413 a body
        over 1 MiB; 408 a body too slow to arrive; 404 another path; 405 another method;
    503 too many requests at once, or not printed in time

OUTPUT:
    stdout carries events only; a start line, a rate line every 10 s and a summary go to
    stderr. SIGTERM or Ctrl-C: stop accepting, finish the requests in flight (print, flush,
    answer), exit 0.
";

macro_rules! say {
    ($($arg:tt)*) => {
        let _ = writeln!(io::stderr(), $($arg)*);
    };
}

const ENV_TENCENT_KEY: &str = "VOD_EVENTS_TENCENT_SIGN_KEY";
const ENV_ALIBABA_KEY: &str = "VOD_EVENTS_ALIBABA_AUTH_KEY";

/// How long a client may take to send its request headers (a slow client must not hold a
/// connection forever); the body has the receiver's own timeout.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long SIGTERM waits for the requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Events printed together at most.
const BATCH: usize = 64;

#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    callback_url: Option<String>,
    /// Kept as secrets so that printing the arguments never shows them.
    tencent_key: Option<Secret>,
    alibaba_key: Option<Secret>,
    max_age: Duration,
    allow_unsigned: bool,
    to: Option<String>,
    nats_stream: Option<String>,
    demo: bool,
}

fn parse_args(argv: impl IntoIterator<Item = OsString>) -> Result<Option<Args>, String> {
    use lexopt::Arg::{Long, Short, Value};
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        callback_url: None,
        tencent_key: std::env::var(ENV_TENCENT_KEY).ok().map(Secret::from),
        alibaba_key: std::env::var(ENV_ALIBABA_KEY).ok().map(Secret::from),
        max_age: Duration::from_secs(300),
        allow_unsigned: false,
        to: None,
        nats_stream: None,
        demo: false,
    };
    let mut parser = lexopt::Parser::from_args(argv);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let flag = match arg {
            Long(name) => format!("--{name}"),
            Short(c) => format!("-{c}"),
            Value(v) => return Err(format!("unexpected argument {v:?}")),
        };
        let mut value = || -> Result<String, String> {
            parser
                .value()
                .map_err(|e| e.to_string())?
                .into_string()
                .map_err(|_| format!("{flag} takes UTF-8 text"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => {
                let text = value()?;
                args.listen = text
                    .parse()
                    .map_err(|_| format!("--listen takes IP:PORT, not {text:?}"))?;
            }
            "--callback-url" => args.callback_url = Some(value()?),
            "--tencent-sign-key" => args.tencent_key = Some(value()?.into()),
            "--alibaba-auth-key" => args.alibaba_key = Some(value()?.into()),
            "--max-age" => {
                let text = value()?;
                let secs: u64 = text
                    .parse()
                    .map_err(|_| format!("--max-age takes whole seconds, not {text:?}"))?;
                args.max_age = Duration::from_secs(secs);
            }
            "--allow-unsigned" => args.allow_unsigned = true,
            "--to" => args.to = Some(value()?),
            "--nats-stream" => args.nats_stream = Some(value()?),
            "--demo" => args.demo = true,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if args.nats_stream.is_some() && args.to.is_none() {
        return Err("--nats-stream goes with --to nats://HOST:PORT/PREFIX".into());
    }
    if !args.demo
        && args.tencent_key.is_none()
        && args.alibaba_key.is_none()
        && !args.allow_unsigned
    {
        return Err(format!(
            "no key: give --tencent-sign-key and/or --alibaba-auth-key (or {ENV_TENCENT_KEY} / {ENV_ALIBABA_KEY}), or --allow-unsigned to accept unsigned pushes"
        ));
    }
    Ok(Some(args))
}

enum Failure {
    Usage(String),
    Fatal(String),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    cli::init_logging();
    let args = match cli::args_or_exit("receive", HELP, parse_args(std::env::args_os().skip(1))) {
        Ok(args) => args,
        Err(code) => return code,
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            say!("receive: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Fatal(e)) => {
            say!("receive: {e}");
            ExitCode::from(1)
        }
    }
}

/// Keys of the demo, made up for it.
const DEMO_TENCENT_KEY: &str = "demo-tencent-sign-key";
const DEMO_ALIBABA_KEY: &str = "demo-alibaba-auth-key";

async fn run(mut args: Args) -> Result<(), Failure> {
    if args.demo {
        args.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        args.tencent_key = Some(DEMO_TENCENT_KEY.into());
        args.alibaba_key = Some(DEMO_ALIBABA_KEY.into());
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::Fatal(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Fatal(e.to_string()))?;
    let callback_url = args
        .callback_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}/"));
    let mut builder = Receiver::builder()
        .callback_url(callback_url.clone())
        .window(args.max_age)
        .allow_unsigned(args.allow_unsigned);
    if let Some(key) = &args.tencent_key {
        builder = builder.tencent_sign_key(key.clone());
    }
    if let Some(key) = &args.alibaba_key {
        builder = builder.alibaba_auth_key(key.clone());
    }
    let (router, mut deliveries) = builder
        .build()
        .map_err(|e| Failure::Usage(ErrorChain(&e).to_string()))?;
    let sink = make_sink(&args).await?;
    say!(
        "receive: listening on http://{addr}, callback URL {callback_url}{}{}",
        if args.tencent_key.is_some() {
            ", Tencent signed"
        } else {
            ""
        },
        if args.alibaba_key.is_some() {
            ", Alibaba signed"
        } else {
            ""
        },
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let server = tokio::spawn(serve(listener, router, stop_rx));
    let demo = args
        .demo
        .then(|| tokio::spawn(send_demo(addr, callback_url.clone())));

    let started = Instant::now();
    let mut printed = 0u64;
    let mut not_taken = 0u64;
    let mut signals = Signals::new();
    let mut rate_tick = tokio::time::interval(Duration::from_secs(10));
    rate_tick.tick().await;
    let mut stopping = false;
    let mut demo = demo;
    let mut batch: Vec<PushDelivery> = Vec::with_capacity(BATCH);
    let mut fatal = None;
    loop {
        tokio::select! {
            item = deliveries.next() => {
                let mut next = Some(item);
                let mut ended = false;
                while let Some(item) = next.take() {
                    match item {
                        Some(Ok(delivery)) => batch.push(delivery),
                        // The router is gone: every request has been answered.
                        Some(Err(_)) | None => ended = true,
                    }
                    if !ended && batch.len() < BATCH {
                        next = deliveries.next().now_or_never();
                    }
                }
                if !batch.is_empty() {
                    let outgoing: Vec<Outgoing<'_>> =
                        batch.iter().map(|d| Outgoing::new(d.message())).collect();
                    let taken = sink.send_batch(&outgoing).await;
                    drop(outgoing);
                    for (delivery, result) in batch.drain(..).zip(taken) {
                        match result {
                            Ok(_) => {
                                printed += 1;
                                // Answers 200 now; a refusal means the deadline passed and
                                // the producer got 503 (it retries).
                                let _ = delivery.ack();
                            }
                            // Dropped: answered 503, the producer retries.
                            Err(e) => {
                                not_taken += 1;
                                if !e.is_retryable() && fatal.is_none() {
                                    fatal = Some(format!("cannot write to stdout: {}", ErrorChain(&e)));
                                }
                            }
                        }
                    }
                    if fatal.is_some() && !stopping {
                        stopping = true;
                        let _ = stop_tx.send(true);
                    }
                }
                if ended {
                    break;
                }
            }
            done = async { demo.as_mut().expect("guarded").await }, if demo.is_some() => {
                demo = None;
                match done {
                    Ok(Ok(sent)) => {
                        say!("receive: demo sent {sent} signed pushes, every one answered 200");
                    }
                    Ok(Err(e)) => fatal = Some(format!("demo: {e}")),
                    Err(e) => fatal = Some(format!("demo: {e}")),
                }
                stopping = true;
                let _ = stop_tx.send(true);
            }
            _ = rate_tick.tick() => report(&deliveries.source().stats(), printed, started.elapsed()),
            _ = signals.recv(), if !stopping => {
                say!("receive: stopping: no new connections, finishing the requests in flight");
                stopping = true;
                let _ = stop_tx.send(true);
            }
        }
    }
    let _ = server.await;
    let push = deliveries.source().stats();
    deliveries.shutdown().await;
    say!(
        "receive: done: {printed} events printed and answered 200, {} repeats answered 200 without printing, {} answered 503 (released or late), {not_taken} not printed, refused: {}, {:.1} s",
        push.duplicates,
        push.released + push.late,
        refused_line(&push.refused),
        started.elapsed().as_secs_f64(),
    );
    match fatal {
        Some(e) => Err(Failure::Fatal(e)),
        None => Ok(()),
    }
}

fn refused_line(refused: &BTreeMap<&'static str, u64>) -> String {
    if refused.is_empty() {
        return "none".into();
    }
    refused
        .iter()
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn report(push: &vod_events::push::PushStats, printed: u64, elapsed: Duration) {
    let rate = printed as f64 / elapsed.as_secs_f64().max(0.001);
    say!(
        "receive: {printed} accepted ({rate:.0}/s), {} repeats, {} answered 503, refused: {}",
        push.duplicates,
        push.released + push.late,
        refused_line(&push.refused)
    );
}

async fn make_sink(args: &Args) -> Result<Box<dyn Sink>, Failure> {
    let Some(url) = &args.to else {
        return Ok(Box::new(LinesSink::new(io::BufWriter::with_capacity(
            64 * 1024,
            io::stdout(),
        ))));
    };
    let mut builder = JetStreamSink::builder(url);
    if let Some(name) = &args.nats_stream {
        builder = builder.create_stream(name.clone());
    }
    let sink = builder.connect().await.map_err(|e| match e {
        vod_events::relay::jetstream::Error::Connect { .. } => {
            Failure::Fatal(ErrorChain(&e).to_string())
        }
        other => Failure::Usage(ErrorChain(&other).to_string()),
    })?;
    Ok(Box::new(sink))
}

/// Serves `router` on `listener` with hyper (HTTP/1.1, a header read timeout) until `stop`
/// turns true; then stops accepting and lets every connection finish its request in flight
/// (at most [`DRAIN_TIMEOUT`]). Dropping the router at the end ends the delivery stream.
async fn serve(listener: TcpListener, router: axum::Router, mut stop: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let mut router = router.clone();
                        tower_service::Service::call(&mut router, request)
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    let stopped = async move {
                        let _ = stop.wait_for(|s| *s).await;
                    };
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stopped => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            _ = stop.changed() => {
                if *stop.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
    drop(router);
}

fn hex(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The demo's producers: every Tencent sample (Sign and T added), every Alibaba VOD and IMS
/// sample (X-VOD-* or X-ICE-* headers), posted to ourselves. Returns how many were sent.
async fn send_demo(addr: SocketAddr, callback_url: String) -> Result<usize, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let mut requests: Vec<(Vec<(String, String)>, String)> = Vec::new();
    let tencent_key = Secret::new(DEMO_TENCENT_KEY);
    let t = (now + 300).to_string();
    let sign = hex(tencent_sign(&tencent_key, &t));
    let mut tencent = vod_events::tencent::fake::samples::all_sample_events(1);
    tencent.push(vod_events::tencent::fake::samples::unknown_event_sample(1));
    for mut event in tencent {
        event["T"] = serde_json::json!(now + 300);
        event["Sign"] = serde_json::json!(sign);
        requests.push((Vec::new(), event.to_string()));
    }
    let alibaba_key = Secret::new(DEMO_ALIBABA_KEY);
    let ts = now.to_string();
    let signature = hex(alibaba_signature(&alibaba_key, &callback_url, &ts));
    for body in vod_events::alibaba::mns::fake::samples::all_with_unknown() {
        let ims = vod_events::alibaba::events::decode_json(&body)
            .map(|e| e.product() == vod_events::alibaba::events::Product::Ims)
            .unwrap_or(false);
        let prefix = if ims { "x-ice" } else { "x-vod" };
        requests.push((
            vec![
                (format!("{prefix}-timestamp"), ts.clone()),
                (format!("{prefix}-signature"), signature.clone()),
            ],
            body,
        ));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let sent = requests.len();
    // One after the other, as a producer retries: some samples are the same event (the same
    // ids), and a repeat of an acknowledged event is answered 200 without printing it again,
    // while one in flight at the same time would be answered 503.
    let mut answers = Vec::with_capacity(sent);
    for (headers, body) in requests {
        let mut request = client
            .post(format!("http://{addr}/"))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        answers.push(request.send().await.map(|r| r.status().as_u16()));
    }
    let refused: Vec<String> = answers
        .into_iter()
        .filter_map(|a| match a {
            Ok(200) => None,
            Ok(status) => Some(status.to_string()),
            Err(e) => Some(ErrorChain(&e).to_string()),
        })
        .collect();
    if refused.is_empty() {
        Ok(sent)
    } else {
        Err(format!(
            "{} of {sent} pushes not answered 200: {refused:?}",
            refused.len()
        ))
    }
}
