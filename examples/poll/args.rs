//! The command line of `poll`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// How events are written on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line, as the service sent it.
    Jsonl,
    /// One readable line per event.
    Text,
}

/// Which queue to drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queue {
    /// A Tencent VOD application's reliable-callback queue.
    Tencent,
    /// An Alibaba MNS queue; `None` only with `--demo` (the embedded fake).
    Mns(Option<String>),
}

/// What the command line asked for.
#[derive(Debug)]
pub struct Args {
    pub queue: Queue,
    pub endpoint: Option<String>,
    pub sub_app_id: Option<u64>,
    pub max_events: Option<u64>,
    pub idle_exit: Option<Duration>,
    pub no_confirm: bool,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub format: Format,
    pub demo: bool,
    /// `--to nats://HOST:PORT/PREFIX`: publish into JetStream instead of printing.
    pub to: Option<String>,
    /// `--nats-stream NAME`: create the stream if it is missing.
    pub nats_stream: Option<String>,
    /// `--nats-creds FILE`: a NATS `.creds` file.
    pub nats_creds: Option<PathBuf>,
    /// `--nats-ca FILE`: PEM roots to trust for the NATS server's TLS.
    pub nats_ca: Option<PathBuf>,
    /// `--ca-file FILE` (repeatable): PEM roots to trust for the queue's https endpoint.
    pub ca_files: Vec<PathBuf>,
}

/// Parses the command line; `Ok(None)` for `--help`. lexopt rather than clap: the flags are
/// few and plain, and it costs no build time; it refuses a value given to a switch
/// (`--no-confirm=false`), which a hand-written parser had read as `--no-confirm`.
pub fn parse_args(argv: impl IntoIterator<Item = OsString>) -> Result<Option<Args>, String> {
    use lexopt::Arg::{Long, Short, Value};
    let mut args = Args {
        queue: Queue::Tencent,
        endpoint: None,
        sub_app_id: None,
        max_events: None,
        idle_exit: None,
        no_confirm: false,
        concurrency: 1,
        rate: None,
        format: Format::Jsonl,
        demo: false,
        to: None,
        nats_stream: None,
        nats_creds: None,
        nats_ca: None,
        ca_files: Vec::new(),
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
        if flag == "--mns" {
            // The URL is optional (`--demo --mns` has none): take the next argument only when
            // it is not an option. `values()` consumes nothing until iterated.
            let url = match parser.values() {
                Ok(mut values) => values.next().map(|v| text(v, &flag)).transpose()?,
                Err(_) => None,
            };
            args.queue = Queue::Mns(url);
            continue;
        }
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
            "--to" => args.to = Some(value()?),
            "--nats-stream" => args.nats_stream = Some(value()?),
            "--nats-creds" => args.nats_creds = Some(PathBuf::from(value()?)),
            "--nats-ca" => args.nats_ca = Some(PathBuf::from(value()?)),
            "--ca-file" => args.ca_files.push(PathBuf::from(value()?)),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    check_combination(&args)?;
    Ok(Some(args))
}

/// Refuses flags that mean nothing for the queue chosen, rather than ignoring them.
fn check_combination(args: &Args) -> Result<(), String> {
    if args.to.is_none() {
        for (given, flag) in [
            (args.nats_stream.is_some(), "--nats-stream"),
            (args.nats_creds.is_some(), "--nats-creds"),
            (args.nats_ca.is_some(), "--nats-ca"),
        ] {
            if given {
                return Err(format!("{flag} goes with --to nats://HOST:PORT/PREFIX"));
            }
        }
    } else if args.format == Format::Text {
        return Err("--format text is for reading on a terminal; --to publishes the JSON".into());
    }
    if args.demo && !args.ca_files.is_empty() {
        return Err(
            "--ca-file is for an https endpoint; --demo talks plain http to its embedded fake"
                .into(),
        );
    }
    let Queue::Mns(url) = &args.queue else {
        return Ok(());
    };
    for (given, flag) in [
        (args.endpoint.is_some(), "--endpoint"),
        (args.sub_app_id.is_some(), "--sub-app-id"),
        (args.rate.is_some(), "--rate"),
    ] {
        if given {
            return Err(format!(
                "{flag} is for Tencent queues; an MNS queue is named by its URL (--mns URL) and has no request-rate limit to share"
            ));
        }
    }
    match (url, args.demo) {
        (None, false) => Err(
            "--mns takes the queue URL, https://<account-id>.mns.<region>.aliyuncs.com/queues/<name> (only --demo --mns goes without one)".into(),
        ),
        (Some(_), true) => {
            Err("--demo --mns drains the embedded fake MNS and takes no URL".into())
        }
        _ => Ok(()),
    }
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
