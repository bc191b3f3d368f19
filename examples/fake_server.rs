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
use vod_events::tencent::fake::{
    samples, FakeConfig, FakeStats, FakeVod, Fault, FaultMix, RateLimit,
};

const HELP: &str = "\
fake_server: the fake VOD event API on 127.0.0.1, for benchmarks

OPTIONS:
    --events N          sample events queued at start (default application) [default: 0]
    --rate-limit R      per-action limit, requests per second (0: none) [default: 0]
    --hold-ms MS        PullEvents long-poll hold [default: 5000]
    --visibility-ms MS  how long a pulled event stays hidden before redelivery [default: 30000]
    --faults P          inject the mix of faults a real deployment sees into a share P of
                        requests (0 to 1): HTTP 500, RequestLimitExceeded, InternalError,
                        resets, truncated JSON, 3 s slow answers, answers lost after the
                        action was applied, weighted 3:3:2:2:2:1:4 [default: 0]
    --seed N            seed of the fault draws [default: 1]
    --unknown-every N   every Nth event is of a type the model does not know, with fields
                        it does not know [default: 0, none]
    --stats-file PATH   also write the final statistics (JSON) to PATH
    -h, --help          print this help

Prints the endpoint on stdout; serves until stdin closes, SIGTERM or Ctrl-C; then prints its
statistics as JSON on stderr.
";

struct Args {
    events: u64,
    rate_limit: usize,
    hold: Duration,
    visibility: Duration,
    faults: f64,
    seed: u64,
    unknown_every: u64,
    stats_file: Option<String>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        events: 0,
        rate_limit: 0,
        hold: Duration::from_secs(5),
        visibility: Duration::from_secs(30),
        faults: 0.0,
        seed: 1,
        unknown_every: 0,
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
            "--visibility-ms" => args.visibility = Duration::from_millis(number(value()?)?),
            "--faults" => {
                let text = value()?;
                args.faults = match text.parse::<f64>() {
                    Ok(p) if (0.0..=1.0).contains(&p) => p,
                    _ => return Err(format!("--faults takes a share from 0 to 1, not {text:?}")),
                }
            }
            "--seed" => args.seed = number(value()?)?,
            "--unknown-every" => args.unknown_every = number(value()?)?,
            "--stats-file" => args.stats_file = Some(value()?),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Some(args))
}

/// The weighted mix of `--faults`: a fault listed k times is drawn k times as often.
fn deployment_faults(probability: f64, seed: u64) -> FaultMix {
    let weighted = [
        (Fault::HttpStatus(500), 3),
        (Fault::api_error("RequestLimitExceeded"), 3),
        (Fault::api_error("InternalError"), 2),
        (Fault::Disconnect, 2),
        (Fault::TruncatedBody, 2),
        (Fault::Slow(Duration::from_secs(3)), 1),
        (Fault::AppliedButLost, 4),
    ];
    FaultMix {
        probability,
        faults: weighted
            .into_iter()
            .flat_map(|(fault, k)| std::iter::repeat_n(fault, k))
            .collect(),
        seed,
        action: None,
    }
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
        visibility_timeout: args.visibility,
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
    for i in 0..args.events {
        if args.unknown_every > 0 && i % args.unknown_every == args.unknown_every - 1 {
            let mut event = samples::unknown_event_sample(i);
            event["FieldNobodyKnows"] = json!({ "Id": i, "Big": 18_446_744_073_709_551_615u64 });
            fake.push_event(None, event);
        } else {
            fake.push_samples(None, 1);
        }
    }
    if args.faults > 0.0 {
        fake.set_fault_mix(Some(deployment_faults(args.faults, args.seed)));
    }
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
