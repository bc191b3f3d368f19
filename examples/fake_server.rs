//! `fake_server`: the in-crate fake VOD server as a process of its own, for the end-to-end and
//! peer benchmarks under `bench/` (so a client's CPU and memory can be measured alone).
//!
//! ```text
//! cargo run --release --example fake_server -- --events 100000 [--rate-limit 100]
//! ```
//!
//! Prints its endpoint (`http://127.0.0.1:PORT/`) as the only line on stdout, then serves
//! until stdin is closed (or SIGTERM / Ctrl-C), and finally writes its statistics as one
//! JSON object to stderr (and to `--stats-file` if given). Accepts
//! `FakeConfig::DEFAULT_SECRET_ID` / `FakeConfig::DEFAULT_SECRET_KEY`.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use vod_events::tencent::fake::{FakeConfig, FakeStats, FakeVod, RateLimit};

const HELP: &str = "\
fake_server: the fake VOD event API on 127.0.0.1, for benchmarks

OPTIONS:
    --events N          sample events queued at start (default application) [default: 0]
    --rate-limit R      per-action limit, requests per second (0: none) [default: 0]
    --hold-ms MS        PullEvents long-poll hold [default: 5000]
    --stats-file PATH   also write the final statistics (JSON) to PATH
    -h, --help          print this help

Prints the endpoint on stdout; serves until stdin closes, SIGTERM or Ctrl-C; then prints its
statistics as JSON on stderr.
";

struct Args {
    events: u64,
    rate_limit: usize,
    hold: Duration,
    stats_file: Option<String>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        events: 0,
        rate_limit: 0,
        hold: Duration::from_secs(5),
        stats_file: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |text: String| -> Result<u64, String> {
            text.parse()
                .map_err(|_| format!("{flag} takes a whole number, not {text:?}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--events" => args.events = number(value()?)?,
            "--rate-limit" => args.rate_limit = number(value()?)? as usize,
            "--hold-ms" => args.hold = Duration::from_millis(number(value()?)?),
            "--stats-file" => args.stats_file = Some(value()?),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Some(args))
}

/// The counters the benchmark scripts check, as JSON.
fn stats_json(stats: &FakeStats) -> serde_json::Value {
    json!({
        "requests": stats.requests,
        "events_pushed": stats.events_pushed,
        "deliveries": stats.deliveries,
        "redeliveries": stats.redeliveries,
        "confirmed": stats.confirmed,
        "queued": stats.queued,
        "in_flight": stats.in_flight,
        "confirm_handle_rejections": stats.confirm_handle_rejections,
        "violations": stats.violations.total(),
        "max_handles_per_confirm": stats.max_handles_per_confirm,
        "rate_limited": stats.rate_limited,
        "auth_failures": stats.auth_failures,
        "signature_failures": stats.signature_failures,
        "errors": stats.errors,
        "empty_pulls": stats.empty_pulls,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fake_server: {e} (see --help)");
            return ExitCode::from(2);
        }
    };
    let fake = match FakeVod::start(FakeConfig {
        pull_hold: args.hold,
        rate_limit: (args.rate_limit > 0).then(|| RateLimit::per_second(args.rate_limit)),
        ..FakeConfig::default()
    })
    .await
    {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("fake_server: cannot listen on 127.0.0.1: {e}");
            return ExitCode::from(1);
        }
    };
    fake.push_samples(None, args.events);
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", fake.endpoint());
        let _ = out.flush();
    }

    // stdin is read on a plain thread (tokio's `io-std` feature is not enabled).
    let (closed_tx, stdin_closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = closed_tx.send(());
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = stdin_closed => {},
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }

    let state = fake.shutdown().await;
    let text = stats_json(&state.stats()).to_string();
    eprintln!("{text}");
    if let Some(path) = &args.stats_file {
        if let Err(e) = std::fs::write(path, format!("{text}\n")) {
            eprintln!("fake_server: cannot write {path}: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
