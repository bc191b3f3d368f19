//! `fake_mns`: the in-crate fake MNS as a process of its own, for benchmarks next to the
//! official Python SDK and for trying `poll --mns` by hand.
//!
//! ```text
//! cargo run --release --example fake_mns -- --messages 100000 [--faults 0.05]
//! ```
//!
//! Prints the queue URL (`http://127.0.0.1:PORT/queues/vod-callback`) as the only line on
//! stdout, then serves until stdin is closed (or Ctrl-C), and finally writes its statistics
//! as one JSON object to stderr. Accepts `FakeMnsConfig::DEFAULT_ACCESS_KEY_ID` /
//! `FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET`.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use vod_events::alibaba::mns::fake::{samples, FakeMns, FakeMnsConfig, FaultMix};

const HELP: &str = "\
fake_mns: a fake Alibaba Cloud MNS queue on 127.0.0.1, for benchmarks and demos

OPTIONS:
    --messages N        sample messages (every VOD and IMS type, and an unknown one) sent at
                        start [default: 0]
    --queue NAME        the queue [default: vod-callback]
    --visibility-ms MS  how long a received message stays hidden [default: 30000]
    --hold-ms MS        longest long-poll hold, whatever waitseconds asks [default: 30000]
    --base64            send the messages base64-encoded (as the Python SDK does by default)
    --faults P          inject every fault of the fake into a share P of requests (0 to 1)
    --seed N            seed of the fault draws and handles [default: 1]
    -h, --help          print this help
";

struct Args {
    messages: usize,
    queue: String,
    visibility: Duration,
    hold: Duration,
    base64: bool,
    faults: f64,
    seed: u64,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        messages: 0,
        queue: "vod-callback".into(),
        visibility: Duration::from_secs(30),
        hold: Duration::from_secs(30),
        base64: false,
        faults: 0.0,
        seed: 1,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("{flag}: {text:?} is not a whole number"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--messages" => args.messages = number(value()?)? as usize,
            "--queue" => args.queue = value()?,
            "--visibility-ms" => args.visibility = Duration::from_millis(number(value()?)?),
            "--hold-ms" => args.hold = Duration::from_millis(number(value()?)?),
            "--base64" => args.base64 = true,
            "--faults" => {
                let text = value()?;
                args.faults = text
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| format!("--faults: {text:?} is not between 0 and 1"))?;
            }
            "--seed" => args.seed = number(value()?)?,
            other => return Err(format!("unknown option {other}; see --help")),
        }
    }
    Ok(Some(args))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fake_mns: {e}");
            return ExitCode::from(2);
        }
    };
    let config = FakeMnsConfig {
        queues: vec![args.queue.clone()],
        visibility_timeout: args.visibility,
        max_hold: args.hold,
        seed: args.seed,
        ..FakeMnsConfig::default()
    };
    let fake = match FakeMns::start(config).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("fake_mns: cannot listen on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bodies = samples::all_with_unknown();
    for i in 0..args.messages {
        let body = samples::numbered(&bodies, i);
        if args.base64 {
            fake.send_base64(&args.queue, &body);
        } else {
            fake.send(&args.queue, body);
        }
    }
    if args.faults > 0.0 {
        fake.set_fault_mix(Some(FaultMix::everything(args.faults, args.seed)));
    }
    println!("{}", fake.queue_url(&args.queue));
    // Serve until stdin closes (the benchmark's way to stop us) or Ctrl-C.
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
    tokio::select! {
        _ = stdin_closed => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let s = fake.shutdown().await.stats();
    eprintln!(
        "{}",
        json!({
            "queued": s.queued, "sent": s.sent, "delivered": s.delivered,
            "redelivered": s.redelivered, "deleted": s.deleted,
            "visibility_changes": s.visibility_changes, "requests": s.requests,
            "requests_with_token": s.requests_with_token, "auth_failures": s.auth_failures,
            "stale_handles": s.stale_handles, "faults": s.faults,
        })
    );
    ExitCode::SUCCESS
}
