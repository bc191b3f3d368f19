//! Runs `examples/poll` (and `examples/receive`) as an operator would: a clean environment,
//! pipes, a time limit.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// `cargo test` builds the examples next to the test binaries: target/<profile>/examples/poll.
pub fn poll_binary() -> PathBuf {
    example_binary("poll")
}

/// The example `name` as `cargo test` built it.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} not built (run through cargo test)",
        path.display()
    );
    path
}

/// A metadata-service URL where nothing listens.
pub const NO_METADATA: &str = "http://127.0.0.1:1/";

/// A command with a clean environment: no real credentials, no real home directory.
pub fn poll(args: &[&str]) -> Command {
    example("poll", args)
}

/// `examples/<name>` with a clean environment, stdin closed, stdout and stderr piped.
pub fn example(name: &str, args: &[&str]) -> Command {
    let home = std::env::temp_dir().join(format!("vod-events-poll-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(example_binary(name));
    cmd.args(args)
        .env_clear()
        .env("HOME", &home)
        .env("RUST_LOG", "warn")
        // Nothing listens on port 1: the instance-role providers find no metadata service at
        // once, and never probe the real addresses (169.254.x, 100.100.100.200).
        .env("VOD_EVENTS_TENCENT_METADATA_URL", NO_METADATA)
        .env("VOD_EVENTS_ALIBABA_METADATA_URL", NO_METADATA)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub async fn run(cmd: &mut Command) -> Run {
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("poll finished in time")
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

pub fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// Starts `cmd`, reads `before` event lines, sends SIGTERM, reads the rest, and checks that
/// poll exits 0. Returns how many events it printed in all.
#[cfg(unix)]
pub async fn printed_before_and_after_sigterm(cmd: &mut Command, before: u64) -> u64 {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = 0u64;
    while printed < before {
        stdout
            .next_line()
            .await
            .unwrap()
            .expect("poll printed events");
        printed += 1;
    }
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    while let Some(line) = stdout.next_line().await.unwrap() {
        serde_json::from_str::<serde_json::Value>(&line).unwrap();
        printed += 1;
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    printed
}

/// Checks that poll exited 0 having printed exactly `total` events, each once.
pub fn assert_each_printed_once(out: &Run, total: u64) {
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let printed = lines(&out.stdout);
    let distinct: std::collections::BTreeSet<String> =
        printed.iter().map(|e| e.to_string()).collect();
    assert_eq!(printed.len() as u64, total, "{}", out.stderr);
    assert_eq!(distinct.len() as u64, total, "no event printed twice");
}
