//! `poll`: drain or watch a VOD event queue: a Tencent VOD app's reliable-callback queue
//! (PullEvents / ConfirmEvents), or an Alibaba MNS queue that VOD and IMS write their events
//! into (`--mns`: BatchReceiveMessage / BatchDeleteMessage).
//!
//! Prints each event on stdout (one JSON object per line by default: the event exactly as the
//! service sent it, minus `EventHandle`; for MNS the message body) and acknowledges it after it
//! was printed. Progress, warnings and the summary go to stderr. See `poll --help`.
//!
//! Exit status: 0 done; 2 usage or configuration problem; 1 fatal API or TLS error.

mod args;
mod cli;
mod ledger;
mod queues;
mod signals;

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use vod_events::alibaba;
use vod_events::alibaba::mns::fake::{FakeMns, FakeMnsConfig};
use vod_events::alibaba::mns::{MnsClient, MnsQueue};
use vod_events::consumer::{ConsumerOptions, Delivery, DeliveryStream, ErrorClass, Metrics, Stats};
use vod_events::relay::jetstream::{self, JetStreamSink, NatsAuth};
use vod_events::relay::{LinesSink, Outgoing, Sink, SinkError, Stored};
use vod_events::tencent::credentials::{
    DefaultChain, ENV_CREDENTIALS_FILE, ENV_SECRET_ID, ENV_SECRET_KEY, ENV_TKE_PROVIDER_ID,
    ENV_TKE_REGION, ENV_TKE_ROLE_ARN, ENV_TKE_WEB_IDENTITY_TOKEN_FILE,
};
use vod_events::tencent::fake::{samples, FakeConfig, FakeVod};
use vod_events::tencent::{Client, Credentials, CredentialsError};
use vod_events::ErrorChain;

use args::{parse_args, Args, Format, Queue};
use ledger::{pieces, quick_hash, same_content, Ledger};
use queues::{PollQueue, TextLine, Words};
use signals::Signals;

const HELP: &str = "\
poll: drain or watch a VOD event queue: a Tencent Cloud VOD app's reliable-callback queue
(PullEvents), or an Alibaba Cloud MNS queue that VOD and IMS write their events into (--mns)

USAGE:
    cargo run --release --example poll -- [OPTIONS]
    cargo run --release --example poll -- --mns QUEUE_URL [OPTIONS]

Each event is printed on stdout, then acknowledged (Tencent: ConfirmEvents; MNS:
BatchDeleteMessage). Events not acknowledged (--no-confirm, or a crash) come back from the
service once their lease ends (Tencent: 30 s; MNS: the queue's visibility timeout). An event
the service delivers again after it was printed is acknowledged without being printed twice.

OPTIONS:
    --endpoint URL        Tencent API endpoint [default: https://vod.tencentcloudapi.com]
                          (http:// is allowed for loopback addresses)
    --ca-file FILE        also trust the CA certificates (PEM) in FILE for the endpoint's or
                          the MNS queue's https: a private CA, or a TLS-inspecting proxy's
                          root; may be given more than once
    --sub-app-id N        Tencent VOD sub-application id (required for accounts opened after
                          2023-12-25)
    --mns QUEUE_URL       drain an Alibaba MNS queue instead:
                          https://<account-id>.mns.<region>.aliyuncs.com/queues/<name>
    --max-events N        exit 0 once N distinct events have been printed and acknowledged
                          (a refused acknowledgement is waited for until the event's lease
                          has ended, at most about two minutes: the event comes back, or was
                          acknowledged after all)
    --idle-exit SECS      exit 0 after SECS without any event
    --no-confirm          print events but never acknowledge them (they come back and are
                          printed again)
    --concurrency N       receivers working at once [default: 1]
    --rate N              Tencent: most PullEvents and most ConfirmEvents requests per
                          second, each [default: 98]; the service allows 100 per application,
                          so processes sharing an application should split it (e.g. 49
                          each); 0 turns pacing off (only for benchmarks against a fake
                          server). MNS has no such limit and takes no --rate.
    --format jsonl|text   jsonl [default]: one event per line, as the service sent it (Tencent:
                          minus EventHandle; MNS: the message body); text: one readable line
                          per event
    --demo                run against an embedded fake server holding a sample of every
                          event type; needs no account and no network. With --mns (and no
                          URL): an embedded fake MNS queue holding every VOD and IMS type
    --to nats://HOST:PORT/PREFIX
                          publish each event into NATS JetStream (subject
                          PREFIX.<provider>.<EventType>) instead of printing it; an event is
                          acknowledged at the queue only after JetStream acknowledged it
                          (tls://HOST:PORT/PREFIX for TLS)
    --nats-stream NAME    with --to: create the stream NAME (subjects PREFIX.>, file storage,
                          2 h duplicate window) if it is missing; without it a missing stream
                          is a configuration error
    --nats-creds FILE     with --to: a NATS .creds file (or set VOD_EVENTS_NATS_TOKEN, or
                          VOD_EVENTS_NATS_USER and VOD_EVENTS_NATS_PASSWORD)
    --nats-ca FILE        with --to: PEM certificates to trust for the server's TLS
    -h, --help            print this help

CREDENTIALS:
    Tencent: TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN
    for temporary keys), else the profile file ~/.tencentcloud/credentials:
        [default]
        secret_id = AKID...
        secret_key = ...
    else a TKE pod's OIDC token (TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE,
    TKE_ROLE_ARN), else the CAM role bound to the CVM instance (metadata service).
    Alibaba (--mns), the first source configured: ALIBABA_CLOUD_ACCESS_KEY_ID,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS keys); an OIDC
    role (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
    ALIBABA_CLOUD_OIDC_TOKEN_FILE); the profile file ~/.alibabacloud/credentials (or the
    file named by ALIBABA_CLOUD_CREDENTIALS_FILE; type = access_key, sts, ecs_ram_role or
    oidc_role_arn):
        [default]
        type = access_key
        access_key_id = LTAI...
        access_key_secret = ...
    else the ECS instance's RAM role (ALIBABA_CLOUD_ECS_METADATA_DISABLED=true skips it).

TLS AND PROXIES:
    Certificates are checked against the built-in Mozilla roots (and those of --ca-file; a
    build with --features native-roots also trusts the system's store). A refused
    certificate (self-signed or unknown issuer, expired, issued for another name) is fatal,
    named in the error. HTTPS_PROXY (or ALL_PROXY) sends the https requests through that
    proxy with CONNECT; NO_PROXY lists hosts reached directly (comma separated: a name
    matches its subdomains, an IP or a CIDR range matches addresses).

OUTPUT:
    stdout carries events only; progress, warnings and the summary go to stderr.
    Logging: RUST_LOG=vod_events=debug for details.

EXIT STATUS:
    0 done (--max-events reached, --idle-exit elapsed, demo drained, Ctrl-C or SIGTERM)
    1 fatal API error (e.g. wrong key, a SubAppId the account does not have, a queue that
      does not exist), printed with its code, message and RequestId; or a refused TLS
      certificate
    2 usage or configuration problem (e.g. no credentials, a --ca-file that cannot be read)
";

/// Writes a line to stderr, ignoring failure: a closed stderr must not take the process down
/// (`eprintln!` panics then), and there is nowhere left to report it.
macro_rules! say {
    ($($arg:tt)*) => {
        let _ = writeln!(io::stderr(), $($arg)*);
    };
}

/// Counts the stream's retries and acknowledgement failures for the progress line.
#[derive(Debug, Default)]
struct Progress {
    receive_failures: AtomicU64,
    ack_failures: AtomicU64,
}

impl Metrics for Progress {
    fn receive_failed(&self, _error: &(dyn std::error::Error + 'static), _class: ErrorClass) {
        self.receive_failures.fetch_add(1, Ordering::Relaxed);
    }
    fn ack_failed(&self, tokens: usize, _error: &(dyn std::error::Error + 'static)) {
        self.ack_failures
            .fetch_add(tokens as u64, Ordering::Relaxed);
    }
}

/// Most events printed between two flushes (and acknowledged together after the flush).
const PRINT_BATCH: usize = 64;

/// Printed events remembered before their receipts are read.
const SETTLE_AT: usize = 128;

/// How often poll looks whether the last acknowledgements landed, once `--max-events` were
/// printed.
const CONFIRMATION_CHECK: Duration = Duration::from_millis(10);

/// A NATS token for `--to` (kept out of the URL and the command line).
const ENV_NATS_TOKEN: &str = "VOD_EVENTS_NATS_TOKEN";
/// A NATS user for `--to`, with [`ENV_NATS_PASSWORD`].
const ENV_NATS_USER: &str = "VOD_EVENTS_NATS_USER";
/// The NATS user's password.
const ENV_NATS_PASSWORD: &str = "VOD_EVENTS_NATS_PASSWORD";

/// The longest long poll asked of MNS (its maximum).
const MNS_WAIT: Duration = Duration::from_secs(30);

// One thread is plenty for a few long polls and 100 requests/s per action, and it spares the
// cross-thread wake-ups (futex, eventfd) that dominated a multi-threaded runtime's profile.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    cli::init_logging();
    let args = match cli::args_or_exit("poll", HELP, parse_args(std::env::args_os().skip(1))) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let outcome = match &args.queue {
        Queue::Tencent => run_tencent(&args).await,
        Queue::Mns(url) => run_mns(&args, url.clone()).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            say!("poll: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Api(line)) => {
            say!("poll: {line}");
            ExitCode::from(1)
        }
    }
}

/// An error with its causes, for a one-line message.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    ErrorChain(error).to_string()
}

enum Failure {
    /// A usage or configuration problem (exit 2): one line saying how to fix it.
    Usage(String),
    /// A fatal error of the service or its TLS (exit 1), as [`PollQueue::fatal_line`] reads
    /// it.
    Api(String),
}

/// What exit a credentials problem at start-up gets: none configured is a usage error with
/// `none_found` saying how to configure them (exit 2), so is a broken source; a source that
/// did not answer (a metadata service or STS failing) is fatal (exit 1).
fn credentials_failure(e: CredentialsError, none_found: impl FnOnce() -> String) -> Failure {
    if let CredentialsError::NoneFound { tried, .. } = &e {
        Failure::Usage(format!("{} (tried: {tried})", none_found()))
    } else if e.is_not_configured() {
        Failure::Usage(format!("{} ({e})", none_found()))
    } else if e.is_retryable() {
        Failure::Api(format!("credentials: {e}"))
    } else {
        Failure::Usage(format!("credentials: {e}"))
    }
}

async fn run_tencent(args: &Args) -> Result<(), Failure> {
    // The demo server must outlive the stream; it is dropped at the end of this function.
    let mut demo = None;
    let mut max_events = args.max_events;
    let mut builder = Client::builder();
    if args.demo {
        let fake = FakeVod::start(FakeConfig {
            pull_hold: Duration::from_millis(200),
            ..FakeConfig::default()
        })
        .await
        .map_err(|e| Failure::Usage(format!("cannot start the demo server on 127.0.0.1: {e}")))?;
        let mut events = samples::all_sample_events(1);
        events.push(samples::unknown_event_sample(1));
        let count = events.len() as u64;
        for event in events {
            fake.push_event(args.sub_app_id, event);
        }
        max_events = Some(max_events.map_or(count, |m| m.min(count)));
        builder = builder
            .endpoint(fake.endpoint())
            .credentials(Credentials::new(
                FakeConfig::DEFAULT_SECRET_ID,
                FakeConfig::DEFAULT_SECRET_KEY,
            ));
        demo = Some(fake);
    } else {
        builder = builder.credentials(DefaultChain::new());
        if let Some(endpoint) = &args.endpoint {
            builder = builder.endpoint(endpoint.clone());
        }
    }
    if let Some(id) = args.sub_app_id {
        builder = builder.sub_app_id(id);
    }
    if let Some(rate) = args.rate {
        builder = builder.event_action_rate(rate);
    }
    for ca in &args.ca_files {
        builder = builder.ca_file(ca);
    }
    let client = builder.build().map_err(|e| Failure::Usage(chain(&e)))?;
    // Resolved up front so a missing key is a one-line usage error, not a fatal API error
    // after the first request. The client keeps them and refreshes temporary ones.
    client.load_credentials().await.map_err(|e| {
        credentials_failure(e, || {
            format!(
                "no credentials: set {ENV_SECRET_ID} and {ENV_SECRET_KEY}, or put secret_id and secret_key under [default] in ~/.tencentcloud/credentials (or the file named by {ENV_CREDENTIALS_FILE}), or run in a TKE pod with {ENV_TKE_REGION}, {ENV_TKE_PROVIDER_ID}, {ENV_TKE_WEB_IDENTITY_TOKEN_FILE} and {ENV_TKE_ROLE_ARN} set, or on a CVM instance with a CAM role bound"
            )
        })
    })?;
    say!(
        "poll: endpoint {} sub-app {} concurrency {}{}{}",
        client.endpoint(),
        args.sub_app_id
            .map_or("(default)".to_owned(), |id| id.to_string()),
        args.concurrency,
        not_confirming(args),
        if demo.is_some() {
            " (demo: embedded fake server)"
        } else {
            ""
        },
    );
    let sink = make_sink(args).await?;
    let progress = Arc::new(Progress::default());
    let stream = client.deliveries_with(options(args, &progress));
    let result = drain(stream, args, max_events, &progress, sink.as_ref()).await;
    drop(demo);
    result
}

async fn run_mns(args: &Args, url: Option<String>) -> Result<(), Failure> {
    // The demo queue must outlive the stream; it is dropped at the end of this function.
    let mut demo = None;
    let mut max_events = args.max_events;
    let (url, credentials) = match url {
        Some(url) => (url, alibaba::credentials::DefaultChain::new()),
        None => {
            // Short holds so the demo ends promptly once the queue is empty.
            let fake = FakeMns::start(FakeMnsConfig {
                max_hold: Duration::from_millis(200),
                ..FakeMnsConfig::default()
            })
            .await
            .map_err(|e| Failure::Usage(format!("cannot start the demo MNS on 127.0.0.1: {e}")))?;
            let queue = "vod-callback";
            // The documented samples as they are (they are distinct already), unlike
            // `push_samples`, which numbers each body to make many of them.
            let bodies = alibaba::mns::fake::samples::all_with_unknown();
            let count = bodies.len();
            for body in bodies {
                fake.send(queue, body);
            }
            max_events = Some(max_events.map_or(count as u64, |m| m.min(count as u64)));
            let url = fake.queue_url(queue);
            demo = Some(fake);
            (
                url,
                alibaba::credentials::DefaultChain::from_providers(vec![Arc::new(
                    FakeMns::credentials(),
                )]),
            )
        }
    };
    let mut builder = MnsClient::builder(url)
        .credentials(credentials)
        .wait(MNS_WAIT);
    for ca in &args.ca_files {
        builder = builder.ca_file(ca);
    }
    let client = builder.build().map_err(|e| Failure::Usage(chain(&e)))?;
    client
        .load_credentials()
        .await
        .map_err(|e| credentials_failure(e, || alibaba::credentials::NONE_FOUND_HINT.to_owned()))?;
    say!(
        "poll: MNS queue {} concurrency {}{}{}",
        client.queue_url_for_display(),
        args.concurrency,
        not_confirming(args),
        if demo.is_some() {
            " (demo: embedded fake MNS)"
        } else {
            ""
        },
    );
    let sink = make_sink(args).await?;
    let progress = Arc::new(Progress::default());
    let stream = MnsQueue::new(client).deliveries(options(args, &progress));
    let result = drain(stream, args, max_events, &progress, sink.as_ref()).await;
    drop(demo);
    result
}

fn options(args: &Args, progress: &Arc<Progress>) -> ConsumerOptions {
    ConsumerOptions {
        concurrency: args.concurrency,
        // A relay waits a round trip for each batch's publish acknowledgements: room for two
        // print batches lets the receivers keep pulling meanwhile, so the next batch is full.
        prefetch: args.to.as_ref().map(|_| 2 * PRINT_BATCH),
        metrics: progress.clone(),
        ..ConsumerOptions::default()
    }
}

fn not_confirming(args: &Args) -> &'static str {
    if args.no_confirm {
        " (not acknowledging)"
    } else {
        ""
    }
}

/// Where `poll` puts events: stdout, or JetStream with `--to`.
async fn make_sink(args: &Args) -> Result<Box<dyn Sink>, Failure> {
    let Some(url) = &args.to else {
        return Ok(Box::new(LinesSink::new(io::BufWriter::with_capacity(
            64 * 1024,
            io::stdout(),
        ))));
    };
    let auth = match (
        std::env::var(ENV_NATS_TOKEN).ok(),
        std::env::var(ENV_NATS_USER).ok(),
        std::env::var(ENV_NATS_PASSWORD).ok(),
        &args.nats_creds,
    ) {
        (None, None, None, None) => NatsAuth::None,
        (Some(token), None, None, None) => NatsAuth::Token(token.into()),
        (None, Some(user), Some(password), None) => NatsAuth::UserPassword {
            user,
            password: password.into(),
        },
        (None, None, None, Some(file)) => NatsAuth::CredsFile(file.clone()),
        _ => {
            return Err(Failure::Usage(format!(
                "NATS credentials: give one of {ENV_NATS_TOKEN}, {ENV_NATS_USER} with {ENV_NATS_PASSWORD}, or --nats-creds FILE"
            )))
        }
    };
    let mut builder = JetStreamSink::builder(url).auth(auth);
    if let Some(name) = &args.nats_stream {
        builder = builder.create_stream(name.clone());
    }
    if let Some(ca) = &args.nats_ca {
        builder = builder.ca_file(ca.clone());
    }
    let sink = builder.connect().await.map_err(|e| match e {
        jetstream::Error::Connect { .. } => Failure::Api(chain(&e)),
        other => Failure::Usage(chain(&other)),
    })?;
    say!(
        "poll: publishing to JetStream stream {} under {}.>",
        sink.stream(),
        sink.prefix()
    );
    Ok(Box::new(sink))
}

/// Prints (or publishes) and acknowledges the deliveries of `stream` until `--max-events`,
/// `--idle-exit`, a signal, a closed stdout or a fatal error, then shuts the stream down and
/// reports.
async fn drain<Q: PollQueue>(
    mut stream: DeliveryStream<Q>,
    args: &Args,
    max_events: Option<u64>,
    progress: &Progress,
    sink: &dyn Sink,
) -> Result<(), Failure> {
    let words = Q::WORDS;
    let mut signals = Signals::new();
    let started = Instant::now();
    let mut ledger = Ledger::<Q>::new();
    let mut last_event = Instant::now();
    let mut progress_tick = tokio::time::interval(Duration::from_secs(5));
    progress_tick.tick().await;
    let mut fatal = None;
    let mut sink_failures = 0u64;
    let mut backoff = SinkBackoff::default();
    // Events of the batch being printed: handed to the sink together, then acknowledged for
    // those it took.
    let mut batch: Vec<Batched<Q>> = Vec::with_capacity(PRINT_BATCH);
    let reason = loop {
        // Receipts are read when they matter: to know whether the run is done, and before the
        // remembered events pile up (finding a repeat does not need them).
        if ledger.unconfirmed() >= SETTLE_AT || max_events.is_some_and(|max| ledger.distinct >= max)
        {
            ledger.settle();
        }
        let enough = max_events.is_some_and(|max| ledger.distinct >= max);
        if enough && ledger.is_done() {
            break "max events reached";
        }
        let idle_deadline = args
            .idle_exit
            .map(|idle| tokio::time::Instant::from_std(last_event + idle));
        let paused = backoff
            .until
            .is_some_and(|t| t > tokio::time::Instant::now());
        tokio::select! {
            item = stream.next(), if !paused => {
                // Take this event and those already waiting (up to a batch and --max-events),
                // hand them to the sink at once (stdout: one write and one flush), then
                // acknowledge those it took: printed means flushed before acknowledging.
                let room = max_events.map_or(PRINT_BATCH as u64, |max| max.saturating_sub(ledger.distinct).min(PRINT_BATCH as u64));
                let mut next = Some(item);
                let mut stop = None;
                while let Some(item) = next.take() {
                    match item {
                        Some(Ok(delivery)) => {
                            let parts = Q::content(delivery.message());
                            let content = pieces(&parts);
                            let hash = quick_hash(content);
                            let first = batch.iter().position(|b| {
                                b.repeat_of.is_none()
                                    && b.hash == hash
                                    && same_content(pieces(&Q::content(b.delivery.message())), content)
                            });
                            if let Some(first) = first {
                                // The same event twice in one drain (under two handles):
                                // printed once, both acknowledged once the first is taken.
                                ledger.repeats += 1;
                                drop(parts);
                                if !args.no_confirm {
                                    batch.push(Batched { hash, delivery, repeat_of: Some(first) });
                                }
                            } else if !args.no_confirm && ledger.find(hash, content).is_some() {
                                // Printed already: acknowledge it again (its first
                                // acknowledgement failed or came late), but do not print or
                                // count it twice.
                                ledger.repeats += 1;
                                drop(parts);
                                ledger.confirm(hash, delivery);
                            } else if (batch.len() as u64) < room {
                                drop(parts);
                                batch.push(Batched { hash, delivery, repeat_of: None });
                            } else {
                                // Over --max-events: not printed, so not acknowledged.
                                drop(parts);
                                delivery.nack();
                            }
                            if (batch.len() as u64) < room {
                                next = stream.next().now_or_never();
                            }
                        }
                        Some(Err(e)) => {
                            fatal = Some(Q::fatal_line(&e));
                            stop = Some("fatal error");
                        }
                        None => stop = Some("stream ended"),
                    }
                }
                if !batch.is_empty() {
                    last_event = Instant::now();
                    let mut results = hand_over::<Q>(sink, &batch, args.format).await;
                    let mut failed = None;
                    // A repeat stands or falls with its first copy.
                    let ok: Vec<bool> = (0..batch.len())
                        .map(|i| {
                            let first = batch[i].repeat_of.unwrap_or(i);
                            matches!(results[first], Some(Ok(_)))
                        })
                        .collect();
                    for (i, b) in batch.drain(..).enumerate() {
                        if ok[i] {
                            if b.repeat_of.is_none() {
                                ledger.distinct += 1;
                            }
                            if !args.no_confirm {
                                ledger.confirm(b.hash, b.delivery);
                            }
                        } else {
                            // Not taken: not acknowledged, so the source offers it again.
                            sink_failures += 1;
                            if let Some(Err(e)) = results[i].take() {
                                failed.get_or_insert(e);
                            }
                        }
                    }
                    match failed {
                        Some(e) if !e.is_retryable() => {
                            say!("poll: cannot write to stdout: {}", ErrorChain(&e));
                            stop = Some("stdout closed");
                        }
                        Some(e) => {
                            let wait = backoff.failed();
                            say!("poll: {}; the events come back from the queue, publishing again in {wait:?}", ErrorChain(&e));
                        }
                        None => backoff.succeeded(),
                    }
                }
                if let Some(why) = stop {
                    break why;
                }
            },
            _ = sleep_until_opt(backoff.until), if paused => {}
            _ = sleep_until_opt(idle_deadline) => break "idle",
            // Enough printed: look at the acknowledgements often, not only when events come.
            _ = tokio::time::sleep(CONFIRMATION_CHECK), if enough => {}
            _ = progress_tick.tick() => {
                ledger.settle();
                report_progress(&stream.stats(), progress, &ledger, started.elapsed());
            }
            _ = signals.recv() => break "signal",
        }
    };
    let stats = stream.shutdown().await;
    ledger.settle();
    say!(
        "poll: done ({reason}): {} events printed, {} of them not {acked} (they come back), {} repeats {acked} again without printing, {} refused {ack}s presumed applied (the event never came back), {} {acked}, {} {receive} retries, {} {ack} failures, {} expired, {}{:.1} s",
        ledger.distinct,
        ledger.unconfirmed(),
        ledger.repeats,
        ledger.presumed,
        stats.confirmed,
        progress.receive_failures.load(Ordering::Relaxed),
        stats.confirm_failed,
        stats.expired + stats.expired_before_handover,
        if args.to.is_some() {
            format!("{sink_failures} not published (offered again), ")
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64(),
        ack = words.ack,
        acked = words.acked,
        receive = words.receive,
    );
    match fatal {
        Some(line) => Err(Failure::Api(line)),
        None => Ok(()),
    }
}

/// An event of the batch being printed: its content's hash, and, for a repeat of an event
/// earlier in the same batch, where that first copy is.
struct Batched<Q: PollQueue> {
    hash: u64,
    delivery: Delivery<Q>,
    repeat_of: Option<usize>,
}

/// Hands the batch's first copies to the sink; answers in batch order, `None` for a repeat
/// (it was not sent: its first copy's result is its own).
async fn hand_over<Q: PollQueue>(
    sink: &dyn Sink,
    batch: &[Batched<Q>],
    format: Format,
) -> Vec<Option<Result<Stored, SinkError>>> {
    let firsts: Vec<&Batched<Q>> = batch.iter().filter(|b| b.repeat_of.is_none()).collect();
    let outgoing: Vec<Outgoing<'_>> = firsts
        .iter()
        .map(|b| {
            let message = b.delivery.message();
            match format {
                Format::Jsonl => Outgoing::new(Q::event(message)),
                Format::Text => Outgoing::with_payload(
                    Q::event(message),
                    TextLine::<Q>(message).to_string().into(),
                ),
            }
        })
        .collect();
    let mut sent = sink.send_batch(&outgoing).await.into_iter();
    batch
        .iter()
        .map(|b| match b.repeat_of {
            None => Some(sent.next().unwrap_or_else(|| {
                // A sink that answers fewer results than events: what it did not answer for
                // was not taken.
                Err(SinkError::Write(io::Error::other(
                    "the sink gave no result",
                )))
            })),
            Some(_) => None,
        })
        .collect()
}

/// Pauses receiving after the sink failed, doubling from 0.5 s to 30 s, so a log that is down
/// is not hammered by the same events coming back.
#[derive(Default)]
struct SinkBackoff {
    until: Option<tokio::time::Instant>,
    failures: u32,
}

impl SinkBackoff {
    fn failed(&mut self) -> Duration {
        let wait = Duration::from_millis(500)
            .saturating_mul(1 << self.failures.min(6))
            .min(Duration::from_secs(30));
        self.failures += 1;
        self.until = Some(tokio::time::Instant::now() + wait);
        wait
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.until = None;
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}

fn report_progress<Q: PollQueue>(
    stats: &Stats,
    progress: &Progress,
    ledger: &Ledger<Q>,
    elapsed: Duration,
) {
    let Words {
        ack,
        acked,
        receive,
    } = Q::WORDS;
    let printed = ledger.distinct;
    let rate = printed as f64 / elapsed.as_secs_f64().max(0.001);
    say!(
        "poll: {printed} events ({rate:.0}/s), {} {acked}, {} awaiting {ack}, {} to be {acked} again when they come back, {} {receive} retries, {} {ack} failures",
        stats.confirmed,
        ledger.awaiting,
        ledger.unconfirmed() - ledger.awaiting,
        progress.receive_failures.load(Ordering::Relaxed),
        progress.ack_failures.load(Ordering::Relaxed),
    );
}
