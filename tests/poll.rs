//! `examples/poll` run as an operator would, against the fake VOD server on 127.0.0.1.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

#[cfg(unix)]
use common::poll_cli::printed_before_and_after_sigterm;
use common::poll_cli::{assert_each_printed_once, lines, poll, run};
use tokio::process::Command;
use vod_events::tencent::fake::{samples, FakeConfig, FakeVod, RateLimit};

fn with_fake_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env("TENCENTCLOUD_SECRET_ID", FakeConfig::DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", FakeConfig::DEFAULT_SECRET_KEY)
}

async fn fake() -> FakeVod {
    FakeVod::start(FakeConfig {
        pull_hold: Duration::from_millis(100),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn max_events_prints_and_confirms_exactly_that_many() {
    let fake = fake().await;
    fake.push_samples(None, 25);
    let out = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--max-events",
        "10",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let events = lines(&out.stdout);
    assert_eq!(events.len(), 10);
    for e in &events {
        assert!(e.get("EventHandle").is_none(), "EventHandle is not printed");
        assert!(e["EventType"].is_string());
    }
    assert_eq!(fake.stats().confirmed, 10);
    assert!(
        out.stderr.contains("poll: endpoint"),
        "start line on stderr: {}",
        out.stderr
    );
}

/// `--rate` is what keeps several processes sharing one application under its limit: at a
/// rate below the fake's limit nothing is refused, while the same run unpaced is refused.
#[tokio::test]
async fn rate_keeps_the_process_under_a_lower_limit() {
    let mut refused = Vec::new();
    for rate in ["8", "0"] {
        let fake = fake().await;
        fake.set_rate_limit(Some(RateLimit::per_second(10)));
        fake.push_samples(None, 200);
        let out = run(with_fake_credentials(&mut poll(&[
            "--endpoint",
            &fake.endpoint(),
            "--max-events",
            "200",
            "--rate",
            rate,
        ])))
        .await;
        assert_eq!(out.code, Some(0), "--rate {rate}: {}", out.stderr);
        assert_eq!(lines(&out.stdout).len(), 200);
        assert_eq!(fake.stats().confirmed, 200);
        refused.push(fake.stats().rate_limited);
    }
    assert_eq!(refused[0], 0, "--rate 8 under a limit of 10/s");
    assert!(refused[1] > 0, "unpaced, 13+ pulls in well under a second");
}

#[tokio::test]
async fn idle_exit_drains_the_queue_then_stops() {
    let fake = fake().await;
    fake.push_samples(Some(7), 3);
    let out = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--sub-app-id",
        "7",
        "--idle-exit",
        "0.5",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 3);
    assert_eq!(fake.stats().confirmed, 3);
    assert!(out.stderr.contains("idle"), "{}", out.stderr);
}

#[tokio::test]
async fn demo_shows_every_event_type_and_needs_nothing() {
    let out = run(&mut poll(&["--demo"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let printed: BTreeSet<String> = lines(&out.stdout)
        .iter()
        .map(|e| e["EventType"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: BTreeSet<String> = samples::event_types()
        .iter()
        .map(|t| t.event_type.clone())
        .collect();
    assert_eq!(expected.len(), 37);
    expected.insert(samples::UNKNOWN_EVENT_TYPE.to_owned());
    assert_eq!(printed, expected);
}

#[tokio::test]
async fn text_format_is_one_readable_line_per_event() {
    let out = run(&mut poll(&["--demo", "--format", "text"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(text.len(), 38);
    assert!(
        text.iter()
            .any(|l| l.starts_with("PullComplete ") && l.contains("task=")),
        "{}",
        out.stdout
    );
    assert!(text.iter().any(|l| l.contains("(unknown type)")));
}

#[tokio::test]
async fn no_credentials_is_a_usage_error_that_says_how_to_fix_it() {
    let out = run(&mut poll(&[
        "--endpoint",
        "http://127.0.0.1:9",
        "--max-events",
        "1",
    ]))
    .await;
    assert_eq!(out.code, Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("TENCENTCLOUD_SECRET_ID")
            && out.stderr.contains("TENCENTCLOUD_SECRET_KEY")
            && out.stderr.contains(".tencentcloud/credentials"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    for args in [
        &["--format", "xml"][..],
        &["--max-events", "many"],
        &["--bogus"],
        &["--concurrency", "0"],
        &["--rate", "-1"],
        &["--rate", "fast"],
        // A value given to a switch is refused, never read as the switch: a hand-written
        // parser once took `--no-confirm=false` for `--no-confirm` and stopped confirming.
        &["--no-confirm=false"],
        &["--demo=no"],
        &["--max-events"],
        &["stray"],
    ] {
        let out = run(&mut poll(args)).await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "one line: {:?}",
            out.stderr
        );
        assert!(out.stderr.starts_with("poll: "), "{:?}", out.stderr);
    }
    let help = run(&mut poll(&["--help"])).await;
    assert_eq!(help.code, Some(0));
    for flag in [
        "--endpoint",
        "--sub-app-id",
        "--max-events",
        "--idle-exit",
        "--no-confirm",
        "--concurrency",
        "--rate",
        "--format",
        "--demo",
        "--mns",
    ] {
        assert!(help.stdout.contains(flag), "--help mentions {flag}");
    }
}

#[tokio::test]
async fn a_wrong_key_exits_1_with_code_and_request_id() {
    let fake = fake().await;
    let out = run(poll(&["--endpoint", &fake.endpoint(), "--idle-exit", "30"])
        .env("TENCENTCLOUD_SECRET_ID", FakeConfig::DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", "wrong-key"))
    .await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("AuthFailure.SignatureFailure"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("RequestId "), "{}", out.stderr);
    assert!(
        !out.stderr.contains("wrong-key"),
        "the key is never printed"
    );
}

#[tokio::test]
async fn no_confirm_leaves_everything_for_redelivery() {
    let fake = fake().await;
    fake.push_samples(None, 5);
    let out = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--max-events",
        "5",
        "--no-confirm",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 5);
    assert_eq!(fake.stats().confirmed, 0);
    assert_eq!(fake.stats().in_flight, 5);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_confirms_exactly_what_was_printed() {
    let fake = fake().await;
    fake.push_samples(None, 200_000);
    let printed = printed_before_and_after_sigterm(
        with_fake_credentials(&mut poll(&[
            "--endpoint",
            &fake.endpoint(),
            "--concurrency",
            "2",
        ])),
        500,
    )
    .await;
    assert!(printed < 200_000, "stopped mid-run");
    assert_eq!(
        fake.stats().confirmed,
        printed,
        "confirmed exactly what was printed"
    );
}

#[tokio::test]
async fn a_closed_stderr_does_not_take_the_process_down() {
    let mut cmd = poll(&["--demo"]);
    let mut child = cmd.spawn().unwrap();
    // Close the read end of stderr before poll writes its start line.
    drop(child.stderr.take());
    let mut stdout = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout)
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "not 101, a panic on a failed stderr write"
    );
    assert_eq!(
        lines(&stdout).len(),
        samples::all_sample_events(1).len() + 1
    );
}

#[tokio::test]
async fn a_permanent_pull_error_exits_1_with_its_code_and_request_id() {
    let fake = fake().await;
    fake.fail_next(
        Some(vod_events::tencent::fake::Action::PullEvents),
        vod_events::tencent::fake::Fault::api_error("InvalidParameterValue"),
        1,
    );
    let out = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--idle-exit",
        "30",
    ])))
    .await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("InvalidParameterValue"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("RequestId "), "{}", out.stderr);
}

/// Confirmations refused (as for handles that went stale): the events come back with new
/// handles. `--max-events` counts distinct events printed and confirmed, so poll confirms the
/// redeliveries without printing them again and exits once every event is confirmed.
#[tokio::test]
async fn redeliveries_of_printed_events_are_confirmed_without_printing_them_twice() {
    let fake = FakeVod::start(FakeConfig {
        pull_hold: Duration::from_millis(50),
        visibility_timeout: Duration::from_millis(700),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let total = 40u64;
    fake.push_samples(None, total);
    fake.fail_next(
        Some(vod_events::tencent::fake::Action::ConfirmEvents),
        vod_events::tencent::fake::Fault::api_error("InvalidParameterValue"),
        6,
    );
    let out = run(with_fake_credentials(&mut poll(&[
        "--endpoint",
        &fake.endpoint(),
        "--max-events",
        &total.to_string(),
        "--rate",
        "0",
    ])))
    .await;
    assert_each_printed_once(&out, total);
    let f = fake.stats();
    assert!(f.redeliveries > 0, "the refused ones came back: {f:?}");
    assert_eq!(
        f.confirmed, total,
        "every event confirmed in the end: {f:?}"
    );
    assert!(
        out.stderr.contains("repeats confirmed again"),
        "{}",
        out.stderr
    );
}
