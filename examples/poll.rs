//! `poll`: drain or watch a VOD app's reliable-callback event queue.
//!
//! Prints each event on stdout (one JSON object per line by default: the event exactly as the
//! service sent it, minus `EventHandle`) and confirms it after it was printed. Progress,
//! warnings and the summary go to stderr. See `poll --help`.
//!
//! Exit status: 0 done; 2 usage or configuration problem; 1 fatal API error.

use std::collections::hash_map::{Entry, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use vod_events::consumer::{AckReceipt, AckResult, ConsumerOptions, ErrorClass, Metrics, Stats};
use vod_events::tencent::credentials::{
    DefaultChain, ENV_CREDENTIALS_FILE, ENV_SECRET_ID, ENV_SECRET_KEY,
};
use vod_events::tencent::fake::{samples, FakeConfig, FakeVod};
use vod_events::tencent::{
    Client, Credentials, CredentialsError, Delivery, Error, ProvideCredentials, ReceivedEvent,
};

const HELP: &str = "\
poll: drain or watch a Tencent Cloud VOD app's event queue (reliable callback, PullEvents)

USAGE:
    cargo run --release --example poll -- [OPTIONS]

Each event is printed on stdout, then confirmed with ConfirmEvents. Events not confirmed
(--no-confirm, or a crash) come back from the service after 30 s. An event the service
delivers again after it was printed is confirmed without being printed twice.

OPTIONS:
    --endpoint URL        API endpoint [default: https://vod.tencentcloudapi.com]
                          (http:// is allowed for loopback addresses)
    --sub-app-id N        VOD sub-application id (required for accounts opened after 2023-12-25)
    --max-events N        exit 0 once N distinct events have been printed and confirmed (a
                          refused confirmation is waited for up to 35 s: the event comes
                          back, or was confirmed after all)
    --idle-exit SECS      exit 0 after SECS without any event
    --no-confirm          print events but never confirm them (they come back after 30 s
                          and are printed again)
    --concurrency N       pullers working at once [default: 1]
    --rate N              most PullEvents and most ConfirmEvents requests per second, each
                          [default: 98]; the service allows 100 per application, so
                          processes sharing an application should split it (e.g. 49 each);
                          0 turns pacing off (only for benchmarks against a fake server)
    --format jsonl|text   jsonl [default]: one event per line, as the service sent it minus
                          EventHandle; text: one readable line per event
    --demo                run against an embedded fake server holding a sample of every
                          event type; needs no account and no network
    -h, --help            print this help

CREDENTIALS:
    TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for
    temporary keys), else the profile file ~/.tencentcloud/credentials:
        [default]
        secret_id = AKID...
        secret_key = ...

OUTPUT:
    stdout carries events only; progress, warnings and the summary go to stderr.
    Logging: RUST_LOG=vod_events=debug for details.

EXIT STATUS:
    0 done (--max-events reached, --idle-exit elapsed, demo drained, Ctrl-C or SIGTERM)
    1 fatal API error (e.g. wrong key, a SubAppId the account does not have), printed with
      its code, message and RequestId
    2 usage or configuration problem (e.g. no credentials)
";

/// Writes a line to stderr, ignoring failure: a closed stderr must not take the process down
/// (`eprintln!` panics then), and there is nowhere left to report it.
macro_rules! say {
    ($($arg:tt)*) => {
        let _ = writeln!(io::stderr(), $($arg)*);
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    Text,
}

#[derive(Debug)]
struct Args {
    endpoint: Option<String>,
    sub_app_id: Option<u64>,
    max_events: Option<u64>,
    idle_exit: Option<Duration>,
    no_confirm: bool,
    concurrency: usize,
    rate: Option<f64>,
    format: Format,
    demo: bool,
}

/// Parses the command line; `Ok(None)` for `--help`. lexopt rather than clap: the flags are
/// few and plain, and it costs no build time; it refuses a value given to a switch
/// (`--no-confirm=false`), which a hand-written parser had read as `--no-confirm`.
fn parse_args(argv: impl IntoIterator<Item = OsString>) -> Result<Option<Args>, String> {
    use lexopt::Arg::{Long, Short, Value};
    let mut args = Args {
        endpoint: None,
        sub_app_id: None,
        max_events: None,
        idle_exit: None,
        no_confirm: false,
        concurrency: 1,
        rate: None,
        format: Format::Jsonl,
        demo: false,
    };
    let mut parser = lexopt::Parser::from_args(argv);
    let text = |value: OsString, flag: &str| -> Result<String, String> {
        value
            .into_string()
            .map_err(|_| format!("{flag} takes UTF-8 text"))
    };
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let flag = match arg {
            Long(name) => format!("--{name}"),
            Short(c) => format!("-{c}"),
            Value(v) => return Err(format!("unexpected argument {v:?}")),
        };
        let mut value = || -> Result<String, String> {
            let v = parser.value().map_err(|e| e.to_string())?;
            text(v, &flag)
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--endpoint" => args.endpoint = Some(value()?),
            "--sub-app-id" => args.sub_app_id = Some(number(&flag, &value()?)?),
            "--max-events" => args.max_events = Some(number(&flag, &value()?)?),
            "--idle-exit" => {
                let secs = non_negative(&flag, &value()?, "seconds")?;
                args.idle_exit = Some(Duration::from_secs_f64(secs));
            }
            "--no-confirm" => args.no_confirm = true,
            "--concurrency" => {
                let n: u64 = number(&flag, &value()?)?;
                if !(1..=64).contains(&n) {
                    return Err(format!("{flag} must be between 1 and 64"));
                }
                args.concurrency = n as usize;
            }
            "--rate" => {
                args.rate = Some(non_negative(&flag, &value()?, "requests per second")?);
            }
            "--format" => {
                args.format = match value()?.as_str() {
                    "jsonl" => Format::Jsonl,
                    "text" => Format::Text,
                    other => return Err(format!("--format must be jsonl or text, not {other:?}")),
                }
            }
            "--demo" => args.demo = true,
            "--mns" | "--to" => return Err(format!("{flag} is not available in this version")),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Some(args))
}

/// A finite number ≥ 0, e.g. seconds or requests per second.
fn non_negative(name: &str, text: &str, unit: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!(
            "{name} takes a non-negative number of {unit}, not {text:?}"
        )),
    }
}

fn number(name: &str, text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("{name} takes a whole number, not {text:?}"))
}

/// Counts the stream's retries and confirm outcomes for the progress line.
#[derive(Debug, Default)]
struct Progress {
    pull_failures: AtomicU64,
    confirm_failures: AtomicU64,
}

impl Metrics for Progress {
    fn receive_failed(&self, _error: &(dyn std::error::Error + 'static), _class: ErrorClass) {
        self.pull_failures.fetch_add(1, Ordering::Relaxed);
    }
    fn ack_failed(&self, tokens: usize, _error: &(dyn std::error::Error + 'static)) {
        self.confirm_failures
            .fetch_add(tokens as u64, Ordering::Relaxed);
    }
}

/// Most events printed between two flushes (and confirmed together after the flush).
const PRINT_BATCH: usize = 64;

/// Printed events remembered before their receipts are read.
const SETTLE_AT: usize = 128;

/// How often poll looks whether the last confirmations landed, once `--max-events` were printed.
const CONFIRMATION_CHECK: Duration = Duration::from_millis(10);

// One thread is plenty for a few long polls and 100 requests/s per action, and it spares the
// cross-thread wake-ups (futex, eventfd) that dominated a multi-threaded runtime's profile.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            let _ = io::stdout().write_all(HELP.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            say!("poll: {e} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            say!("poll: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Api(e)) => {
            match &e {
                Error::Api {
                    code,
                    message,
                    request_id,
                    ..
                } => {
                    say!("poll: fatal API error {code}: {message} (RequestId {request_id})");
                }
                other => {
                    say!("poll: fatal error: {other}");
                }
            }
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Api(Error),
}

/// What became of the events printed: `--max-events` counts an event once it was printed
/// *and* confirmed, and a redelivery of a printed event is confirmed again without being
/// printed or counted again.
///
/// Only printed events whose confirmation has not been accepted can come back, so only those
/// are remembered, with their exact content: a redelivery is recognised by comparing bytes
/// (the handle is left out of the content, and a redelivery has a new one), so two different
/// events are never taken for one, and no digest of every event is needed.
struct Ledger {
    /// Printed events not known to be confirmed, by a quick hash of their content.
    pending: HashMap<u64, Pending>,
    /// The rare ones whose hash another pending event has already.
    collided: Vec<(u64, Pending)>,
    /// How many pending events wait for a receipt.
    awaiting: usize,
    /// Refused confirmations whose events did not come back in time.
    presumed: u64,
    distinct: u64,
    repeats: u64,
}

/// A printed event whose confirmation has not been accepted yet: the event itself (it owns
/// its text, so nothing is copied) and how its confirmation stands.
struct Pending {
    event: ReceivedEvent,
    state: Confirmation,
}

enum Confirmation {
    /// Sent; the receipt says how it ended.
    Sent(AckReceipt),
    /// Refused (or too late): the event comes back, or, when the refusal came from a retry of
    /// a confirmation whose answer was lost, it was confirmed and never comes back. Waited
    /// for until then.
    Refused { give_up: Instant },
}

/// How long after a refused confirmation its event is waited for: its handle's lease is
/// over by then, so an event the service still holds has been pulled again.
const COME_BACK_WITHIN: Duration = Duration::from_secs(35);

/// How much of each end of an event [`quick_hash`] reads.
const HASHED_ENDS: usize = 192;

/// A quick hash of an event's content (given in two pieces, read one after the other), to
/// find the remembered event it may repeat: its length and its first and last
/// [`HASHED_ENDS`] bytes, where the ids sit. Equal hashes are then compared byte for byte,
/// so the hash only has to make that rare, not impossible. Written out because std's keyed
/// SipHash over a whole event costs as much as the rest of poll's own work per event, and no
/// hashing crate is a dependency here.
fn quick_hash(content: (&[u8], &[u8])) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let len = content.0.len() + content.1.len();
    let mut ends = [0u8; 2 * HASHED_ENDS];
    let mut n = 0;
    let mut take = |from: usize, to: usize| {
        for (piece, offset) in [(content.0, 0), (content.1, content.0.len())] {
            let lo = from.max(offset).min(offset + piece.len()) - offset;
            let hi = to.max(offset).min(offset + piece.len()) - offset;
            ends[n..n + hi - lo].copy_from_slice(&piece[lo..hi]);
            n += hi - lo;
        }
    };
    take(0, len.min(HASHED_ENDS));
    take(
        len.saturating_sub(HASHED_ENDS).max(len.min(HASHED_ENDS)),
        len,
    );
    let mut h = len as u64;
    let mut chunks = ends[..n].chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h
}

/// Whether two contents, each given in two pieces, are the same bytes.
fn same_content(a: (&[u8], &[u8]), b: (&[u8], &[u8])) -> bool {
    if a.0.len() + a.1.len() != b.0.len() + b.1.len() {
        return false;
    }
    let (mut a, mut b) = ([a.0, a.1], [b.0, b.1]);
    let (mut i, mut j) = (0, 0);
    while i < 2 && j < 2 {
        let n = a[i].len().min(b[j].len());
        if a[i][..n] != b[j][..n] {
            return false;
        }
        a[i] = &a[i][n..];
        b[j] = &b[j][n..];
        if a[i].is_empty() {
            i += 1;
        }
        if b[j].is_empty() {
            j += 1;
        }
    }
    true
}

/// An event's content in two pieces, as bytes.
fn pieces<'a>(parts: &'a (std::borrow::Cow<'a, str>, &'a str)) -> (&'a [u8], &'a [u8]) {
    (parts.0.as_bytes(), parts.1.as_bytes())
}

impl Ledger {
    fn new() -> Self {
        Ledger {
            pending: HashMap::new(),
            collided: Vec::new(),
            awaiting: 0,
            presumed: 0,
            distinct: 0,
            repeats: 0,
        }
    }

    /// The remembered printed event with exactly this content.
    fn find(&mut self, hash: u64, content: (&[u8], &[u8])) -> Option<&mut Pending> {
        let matches =
            |p: &Pending| same_content(pieces(&p.event.json_without_handle_parts()), content);
        if let Some(p) = self.pending.get_mut(&hash) {
            if matches(p) {
                return Some(p);
            }
        }
        self.collided
            .iter_mut()
            .find(|(h, p)| *h == hash && matches(p))
            .map(|(_, p)| p)
    }

    /// Takes in the receipts that came back, and forgets events confirmed, or refused long
    /// enough ago that they are not coming back.
    fn settle(&mut self) {
        let now = Instant::now();
        let (mut awaiting, mut presumed) = (0, 0);
        let mut keep = |p: &mut Pending| match &mut p.state {
            Confirmation::Sent(receipt) => match receipt.try_result() {
                None => {
                    awaiting += 1;
                    true
                }
                // Accepted, or nothing to send (another event of its answer carries the
                // handle): nothing more this process can do for it.
                Some(AckResult::Accepted | AckResult::NoToken) => false,
                Some(_) => {
                    p.state = Confirmation::Refused {
                        give_up: now + COME_BACK_WITHIN,
                    };
                    true
                }
            },
            Confirmation::Refused { give_up } if now >= *give_up => {
                presumed += 1;
                false
            }
            Confirmation::Refused { .. } => true,
        };
        self.pending.retain(|_, p| keep(p));
        self.collided.retain_mut(|(_, p)| keep(p));
        self.awaiting = awaiting;
        self.presumed += presumed;
    }

    /// Printed events not known to be confirmed.
    fn unconfirmed(&self) -> usize {
        self.pending.len() + self.collided.len()
    }

    fn is_done(&self) -> bool {
        self.pending.is_empty() && self.collided.is_empty()
    }

    /// Confirms `delivery` and remembers it until the confirmation is accepted; a
    /// confirmation of a redelivery supersedes the earlier one of the same event.
    fn confirm(&mut self, hash: u64, delivery: Delivery) {
        let (event, acker) = delivery.split();
        let state = match acker.ack_tracked() {
            Ok(receipt) => Confirmation::Sent(receipt),
            Err(e) => {
                tracing::warn!(error = %e, "event not confirmed; it will come back");
                Confirmation::Refused {
                    give_up: Instant::now() + COME_BACK_WITHIN,
                }
            }
        };
        let parts = event.json_without_handle_parts();
        if let Some(earlier) = self.find(hash, pieces(&parts)) {
            earlier.state = state;
            return;
        }
        drop(parts);
        let pending = Pending { event, state };
        match self.pending.entry(hash) {
            Entry::Occupied(_) => self.collided.push((hash, pending)),
            Entry::Vacant(slot) => {
                slot.insert(pending);
            }
        }
    }
}

async fn run(args: Args) -> Result<(), Failure> {
    // The demo server must outlive the stream; it is dropped at the end of `run`.
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
        // Resolve credentials up front so a missing key is a one-line usage error, not a
        // fatal API error after the first request.
        let chain = DefaultChain::new();
        let creds = chain.provide().await.map_err(|e| {
            Failure::Usage(if e.is_not_configured() || matches!(e, CredentialsError::NoneFound { .. }) {
                format!(
                    "no credentials: set {ENV_SECRET_ID} and {ENV_SECRET_KEY}, or put secret_id and secret_key under [default] in ~/.tencentcloud/credentials (or the file named by {ENV_CREDENTIALS_FILE})"
                )
            } else {
                format!("credentials: {e}")
            })
        })?;
        builder = builder.credentials(creds);
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
    let client = builder.build().map_err(|e| Failure::Usage(e.to_string()))?;

    say!(
        "poll: endpoint {} sub-app {} concurrency {}{}{}",
        client.endpoint(),
        args.sub_app_id
            .map_or("(default)".to_owned(), |id| id.to_string()),
        args.concurrency,
        if args.no_confirm {
            " (not confirming)"
        } else {
            ""
        },
        if demo.is_some() {
            " (demo: embedded fake server)"
        } else {
            ""
        },
    );

    let progress = Arc::new(Progress::default());
    let mut stream = client.deliveries_with(ConsumerOptions {
        concurrency: args.concurrency,
        metrics: progress.clone(),
        ..ConsumerOptions::default()
    });

    let mut signals = Signals::new();
    let started = Instant::now();
    let mut ledger = Ledger::new();
    let mut last_event = Instant::now();
    let mut progress_tick = tokio::time::interval(Duration::from_secs(5));
    progress_tick.tick().await;
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut fatal = None;
    // Events of the batch being printed, with their content's hash: to confirm once the
    // batch is flushed.
    let mut batch: Vec<(u64, Delivery)> = Vec::with_capacity(PRINT_BATCH);
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
        tokio::select! {
            item = stream.next() => {
                // Print this event and those already waiting (up to a batch and --max-events),
                // flush once, then confirm them: printed means flushed before confirming, with
                // one write per batch instead of one per event.
                let room = max_events.map_or(PRINT_BATCH as u64, |max| max.saturating_sub(ledger.distinct).min(PRINT_BATCH as u64));
                let mut next = Some(item);
                let mut stop = None;
                while let Some(item) = next.take() {
                    match item {
                        Some(Ok(delivery)) => {
                            let parts = delivery.received().json_without_handle_parts();
                            let content = pieces(&parts);
                            let hash = quick_hash(content);
                            let in_batch = batch.iter().any(|(h, d)| {
                                *h == hash
                                    && same_content(pieces(&d.received().json_without_handle_parts()), content)
                            });
                            if in_batch {
                                // The same event twice in one drain (under two handles):
                                // printed once, both confirmed.
                                ledger.repeats += 1;
                                if !args.no_confirm {
                                    let _ = delivery.ack();
                                }
                            } else if !args.no_confirm && ledger.find(hash, content).is_some() {
                                // Printed already: confirm it again (its first confirmation
                                // failed or came late), but do not print or count it twice.
                                ledger.repeats += 1;
                                drop(parts);
                                ledger.confirm(hash, delivery);
                            } else if (batch.len() as u64) < room {
                                if let Err(e) = write_event(&mut out, content, &delivery, args.format) {
                                    // stdout is gone (closed pipe): stop without confirming what was not printed.
                                    say!("poll: cannot write to stdout: {e}");
                                    batch.clear();
                                    stop = Some("stdout closed");
                                    break;
                                }
                                drop(parts);
                                batch.push((hash, delivery));
                            } else {
                                // Over --max-events: not printed, so not confirmed.
                                drop(parts);
                                delivery.nack();
                            }
                            if (batch.len() as u64) < room {
                                next = stream.next().now_or_never();
                            }
                        }
                        Some(Err(e)) => {
                            fatal = Some(e);
                            stop = Some("fatal error");
                        }
                        None => stop = Some("stream ended"),
                    }
                }
                if !batch.is_empty() {
                    last_event = Instant::now();
                    if let Err(e) = out.flush() {
                        say!("poll: cannot write to stdout: {e}");
                        batch.clear();
                        stop = Some("stdout closed");
                    }
                }
                ledger.distinct += batch.len() as u64;
                for (hash, delivery) in batch.drain(..) {
                    if !args.no_confirm {
                        ledger.confirm(hash, delivery);
                    }
                }
                if let Some(why) = stop {
                    break why;
                }
            },
            _ = sleep_until_opt(idle_deadline) => break "idle",
            // Enough printed: look at the confirmations often, not only when events come.
            _ = tokio::time::sleep(CONFIRMATION_CHECK), if enough => {}
            _ = progress_tick.tick() => {
                ledger.settle();
                report_progress(&stream.stats(), &progress, &ledger, started.elapsed());
            }
            _ = signals.recv() => break "signal",
        }
    };
    let _ = out.flush();
    drop(out);
    let stats = stream.shutdown().await;
    ledger.settle();
    say!(
        "poll: done ({reason}): {} events printed, {} of them not confirmed (they come back), {} repeats confirmed again without printing, {} refused confirmations presumed applied (the event never came back), {} confirmed, {} pull retries, {} confirm failures, {} expired, {:.1} s",
        ledger.distinct,
        ledger.unconfirmed(),
        ledger.repeats,
        ledger.presumed,
        stats.confirmed,
        progress.pull_failures.load(Ordering::Relaxed),
        stats.confirm_failed,
        stats.expired + stats.expired_before_handover,
        started.elapsed().as_secs_f64(),
    );
    drop(demo);
    match fatal {
        Some(e) => Err(Failure::Api(e)),
        None => Ok(()),
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}

fn report_progress(stats: &Stats, progress: &Progress, ledger: &Ledger, elapsed: Duration) {
    let printed = ledger.distinct;
    let rate = printed as f64 / elapsed.as_secs_f64().max(0.001);
    say!(
        "poll: {printed} events ({rate:.0}/s), {} confirmed, {} awaiting confirmation, {} to be confirmed again when they come back, {} pull retries, {} confirm failures",
        stats.confirmed,
        ledger.awaiting,
        ledger.unconfirmed() - ledger.awaiting,
        progress.pull_failures.load(Ordering::Relaxed),
        progress.confirm_failures.load(Ordering::Relaxed),
    );
}

/// Writes one event to the (buffered) output; the caller flushes before confirming.
/// `content` is the event as the service sent it minus `EventHandle`, in two pieces.
fn write_event(
    out: &mut impl Write,
    content: (&[u8], &[u8]),
    delivery: &Delivery,
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Jsonl => {
            out.write_all(content.0)?;
            out.write_all(content.1)?;
            out.write_all(b"\n")?;
        }
        Format::Text => writeln!(out, "{}", TextLine(delivery))?,
    }
    Ok(())
}

/// One readable line per event for `--format text`.
struct TextLine<'a>(&'a Delivery);

impl fmt::Display for TextLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let received = self.0.received();
        let event_type = received.event_type().unwrap_or("(no EventType)");
        let event = match self.0.event() {
            Ok(event) => event,
            Err(e) => return write!(f, "{event_type} (undecodable: {e})"),
        };
        f.write_str(event_type)?;
        let fields: [(&str, Option<String>); 5] = [
            ("task", event.task_id().map(str::to_owned)),
            ("file", event.file_id().map(str::to_owned)),
            ("status", event.status().map(str::to_owned)),
            (
                "err",
                event.err_code().filter(|c| *c != 0).map(|c| c.to_string()),
            ),
            (
                "message",
                event.message().filter(|m| !m.is_empty()).map(str::to_owned),
            ),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                write!(f, " {name}={value}")?;
            }
        }
        if !event.is_known() {
            f.write_str(" (unknown type)")?;
        }
        Ok(())
    }
}

/// Ctrl-C and SIGTERM as one future. Both handlers are installed once and kept, so a signal
/// that arrives while the loop is busy elsewhere is still seen at the next `recv`.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
async fn next_signal(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => futures::future::pending::<()>().await,
    }
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            #[cfg(unix)]
            term: signal(SignalKind::terminate()).ok(),
            #[cfg(unix)]
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = next_signal(&mut self.interrupt) => {},
                _ = next_signal(&mut self.term) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
