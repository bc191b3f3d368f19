//! The least CPU a PullEvents/ConfirmEvents client can spend on loopback: a yardstick for
//! `bench/e2e.py`, not a client anyone should use.
//!
//! ```text
//! TENCENTCLOUD_SECRET_ID=… TENCENTCLOUD_SECRET_KEY=… \
//!   target/release/examples/io_floor --endpoint http://127.0.0.1:PORT/ --max-events 100000 \
//!   [--rate 98]
//! ```
//!
//! It does the same exchanges per batch as `poll` and the SDK loop (one signed PullEvents, one
//! signed ConfirmEvents with that batch's handles) over one blocking keep-alive socket, with a
//! hand-written HTTP/1.1 request, the signature from this crate's `sign`, and no JSON parsing
//! beyond finding the `"EventHandle":"…"` strings: no runtime, no retries, no output, nothing
//! checked that the fake does not force; with `--rate N` it sleeps until its next slot before
//! each PullEvents (N per second). What it spends is roughly what the kernel charges for two
//! loopback HTTP exchanges per batch (and, paced, for the sleeps), which no client can avoid,
//! so `SDK CPU ÷ this` bounds the ratio any client could reach against the SDK here.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vod_events::tencent::client::{CONTENT_TYPE_JSON, SERVICE};
use vod_events::tencent::sign::{sign, SigningInput};

fn main() -> ExitCode {
    match run() {
        Ok(confirmed) => {
            eprintln!("io_floor: {confirmed} events confirmed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("io_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Connection {
    host: String,
    secret_id: String,
    secret_key: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    request: Vec<u8>,
    body: Vec<u8>,
}

impl Connection {
    /// Sends one signed action and returns the response body.
    fn call(&mut self, action: &str, payload: &[u8]) -> io::Result<&[u8]> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let signed = sign(&SigningInput {
            secret_id: &self.secret_id,
            secret_key: &self.secret_key,
            service: SERVICE,
            host: &self.host,
            content_type: CONTENT_TYPE_JSON,
            timestamp,
            payload,
        });
        self.request.clear();
        write!(
            self.request,
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {CONTENT_TYPE_JSON}\r\n\
             X-TC-Action: {action}\r\nX-TC-Version: 2018-07-17\r\nX-TC-Timestamp: {timestamp}\r\n\
             Authorization: {}\r\nContent-Length: {}\r\n\r\n",
            self.host,
            signed.authorization,
            payload.len()
        )?;
        self.request.extend_from_slice(payload);
        self.writer.write_all(&self.request)?;

        let mut length = None;
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let length = length.ok_or_else(|| io::Error::other("no Content-Length"))?;
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body)?;
        Ok(&self.body)
    }
}

/// The `"EventHandle":"…"` values of a PullEvents body (the fake's handles need no escaping).
fn handles(body: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"\"EventHandle\":\"";
    let mut out = Vec::with_capacity(16);
    let mut rest = body;
    while let Some(at) = memchr::memmem::find(rest, KEY) {
        rest = &rest[at + KEY.len()..];
        let Some(end) = memchr::memchr(b'"', rest) else {
            break;
        };
        out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = &rest[end..];
    }
    out
}

fn run() -> Result<u64, Box<dyn std::error::Error>> {
    let mut endpoint = None;
    let mut max_events: u64 = 100_000;
    let mut interval = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--endpoint" => endpoint = args.next(),
            "--max-events" => max_events = args.next().ok_or("--max-events N")?.parse()?,
            "--rate" => {
                let rate: f64 = args.next().ok_or("--rate N")?.parse()?;
                interval = (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
            }
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    let endpoint = endpoint.ok_or("--endpoint http://127.0.0.1:PORT/ is required")?;
    let host = endpoint
        .strip_prefix("http://")
        .ok_or("the endpoint must be http://127.0.0.1:PORT/")?
        .trim_end_matches('/')
        .to_owned();
    if !host.starts_with("127.0.0.1:") {
        return Err("io_floor only talks to 127.0.0.1".into());
    }
    let stream = TcpStream::connect(&host)?;
    stream.set_nodelay(true)?;
    let mut conn = Connection {
        secret_id: std::env::var("TENCENTCLOUD_SECRET_ID")?,
        secret_key: std::env::var("TENCENTCLOUD_SECRET_KEY")?,
        host,
        reader: BufReader::with_capacity(64 * 1024, stream.try_clone()?),
        writer: stream,
        request: Vec::with_capacity(1024),
        body: Vec::new(),
    };
    let mut confirmed = 0;
    let mut next_slot = Instant::now();
    while confirmed < max_events {
        // One PullEvents (and so one ConfirmEvents) per slot, as poll's pacer does.
        if let Some(interval) = interval {
            let now = Instant::now();
            let slot = next_slot.max(now);
            next_slot = slot + interval;
            std::thread::sleep(slot - now);
        }
        let batch = handles(conn.call("PullEvents", b"{}")?);
        if batch.is_empty() {
            continue;
        }
        let payload = serde_json::to_vec(&serde_json::json!({ "EventHandles": batch }))?;
        let answer = conn.call("ConfirmEvents", &payload)?;
        if memchr::memmem::find(answer, b"\"Error\"").is_some() {
            return Err(
                format!("ConfirmEvents failed: {}", String::from_utf8_lossy(answer)).into(),
            );
        }
        confirmed += batch.len() as u64;
    }
    Ok(confirmed)
}
