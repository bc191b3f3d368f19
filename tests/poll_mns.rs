//! `examples/poll --mns` run as an operator would, against the fake MNS on 127.0.0.1.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

#[cfg(unix)]
use common::poll_cli::printed_before_and_after_sigterm;
use common::poll_cli::{assert_each_printed_once, lines, poll, run};
use tokio::process::Command;
use vod_events::alibaba::events::{decode_json, EVENT_TYPES};
use vod_events::alibaba::mns::fake::{samples, FakeMns, FakeMnsConfig, FaultMix};

fn with_fake_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
    )
    .env(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET,
    )
}

async fn fake(config: FakeMnsConfig) -> (FakeMns, String) {
    let fake = FakeMns::start(config).await.unwrap();
    let url = fake.queue_url("vod-callback");
    (fake, url)
}

/// The fake with short holds and the given visibility timeout.
fn quick(visibility: Duration) -> FakeMnsConfig {
    FakeMnsConfig {
        max_hold: Duration::from_millis(100),
        visibility_timeout: visibility,
        ..FakeMnsConfig::default()
    }
}

#[tokio::test]
async fn demo_prints_every_vod_and_ims_sample_as_sent_and_needs_nothing() {
    let out = run(&mut poll(&["--demo", "--mns"])).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let sent: BTreeSet<String> = samples::all_with_unknown().into_iter().collect();
    let printed: BTreeSet<String> = out.stdout.lines().map(str::to_owned).collect();
    assert_eq!(
        out.stdout.lines().count(),
        sent.len(),
        "each sample printed once"
    );
    assert_eq!(printed, sent, "message bodies printed exactly as sent");
    let mut types = BTreeSet::new();
    let mut unknown = 0;
    for line in out.stdout.lines() {
        let received = decode_json(line).unwrap();
        match received.event().unwrap().info() {
            Some(info) => {
                types.insert((info.product.as_str(), info.event_type));
            }
            None => unknown += 1,
        }
    }
    assert_eq!(types.len(), EVENT_TYPES.len(), "every VOD and IMS type");
    assert_eq!(unknown, 1, "the unknown type is printed too");
    assert!(out.stderr.contains("embedded fake MNS"), "{}", out.stderr);
}

#[tokio::test]
async fn max_events_prints_and_deletes_exactly_that_many() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    fake.push_samples("vod-callback", 100);
    let out = run(with_fake_credentials(&mut poll(&[
        "--mns",
        &url,
        "--max-events",
        "30",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let printed = lines(&out.stdout);
    assert_eq!(printed.len(), 30);
    let distinct: BTreeSet<String> = printed.iter().map(|e| e.to_string()).collect();
    assert_eq!(distinct.len(), 30);
    assert_eq!(fake.stats().deleted, 30, "{:?}", fake.stats());
    assert!(
        out.stderr.contains(&format!(
            "poll: MNS queue http://{}/queues/vod-callback",
            fake.addr()
        )),
        "start line: {}",
        out.stderr
    );
}

#[tokio::test]
async fn idle_exit_drains_the_queue_and_text_lines_name_each_event() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    fake.push_samples("vod-callback", 120);
    let out = run(with_fake_credentials(&mut poll(&[
        "--mns",
        &url,
        "--idle-exit",
        "1",
        "--concurrency",
        "3",
        "--format",
        "text",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 120, "{}", out.stderr);
    for line in out.stdout.lines() {
        assert!(line.contains(" product="), "{line}");
        assert!(line.contains(" message="), "{line}");
    }
    let stats = fake.stats();
    assert_eq!((stats.deleted, stats.queued), (120, 0), "{stats:?}");
    assert!(out.stderr.contains("idle"), "{}", out.stderr);
}

#[tokio::test]
async fn no_credentials_is_a_usage_error_that_says_how_to_fix_it() {
    let (_fake, url) = fake(quick(Duration::from_secs(30))).await;
    let out = run(&mut poll(&["--mns", &url])).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    for needed in [
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        ".alibabacloud/credentials",
    ] {
        assert!(out.stderr.contains(needed), "{needed}: {}", out.stderr);
    }
}

#[tokio::test]
async fn the_profile_file_is_read_when_the_environment_has_no_key() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    fake.push_samples("vod-callback", 3);
    let dir = std::env::temp_dir().join(format!("vod-events-poll-mns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        format!(
            "[default]\ntype = access_key\naccess_key_id = {}\naccess_key_secret = {}\n",
            FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
            FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET
        ),
    )
    .unwrap();
    let out =
        run(poll(&["--mns", &url, "--max-events", "3"])
            .env("ALIBABA_CLOUD_CREDENTIALS_FILE", &file))
        .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 3);
}

#[tokio::test]
async fn flags_of_the_other_queue_and_a_missing_url_are_usage_errors() {
    let url = "http://127.0.0.1:9/queues/q";
    for args in [
        &["--mns", url, "--rate", "10"][..],
        &["--mns", url, "--endpoint", "http://127.0.0.1:9"],
        &["--mns", url, "--sub-app-id", "1"],
        &["--mns"],
        &["--mns", "--max-events", "3"],
        &["--demo", "--mns", url],
        &["--mns", "ftp://example.com/queues/q"],
        &["--mns", "http://example.com/queues/q"],
    ] {
        let out = run(with_fake_credentials(&mut poll(args))).await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line: {:?}",
            out.stderr
        );
        assert!(out.stderr.starts_with("poll: "), "{:?}", out.stderr);
    }
}

#[tokio::test]
async fn a_wrong_key_exits_1_with_code_and_request_id_and_no_secret() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    fake.push_samples("vod-callback", 3);
    let out = run(poll(&["--mns", &url])
        .env(
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            FakeMnsConfig::DEFAULT_ACCESS_KEY_ID,
        )
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret-value"))
    .await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("fatal API error "), "{}", out.stderr);
    assert!(out.stderr.contains("RequestId "), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong-secret-value"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_eq!(fake.stats().deleted, 0);
}

#[tokio::test]
async fn a_queue_that_does_not_exist_exits_1() {
    let (fake, _) = fake(quick(Duration::from_secs(30))).await;
    let url = fake.queue_url("no-such-queue");
    let out = run(with_fake_credentials(&mut poll(&["--mns", &url]))).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("QueueNotExist"), "{}", out.stderr);
}

#[tokio::test]
async fn sts_keys_and_a_server_clock_20_minutes_off_work() {
    for offset in [20 * 60, -20 * 60] {
        let (fake, url) = fake(FakeMnsConfig {
            required_token: Some("sts-token-value".into()),
            clock_offset_secs: offset,
            ..quick(Duration::from_secs(30))
        })
        .await;
        fake.push_samples("vod-callback", 20);
        let out = run(
            with_fake_credentials(&mut poll(&["--mns", &url, "--max-events", "20"]))
                .env("ALIBABA_CLOUD_SECURITY_TOKEN", "sts-token-value"),
        )
        .await;
        assert_eq!(out.code, Some(0), "offset {offset}: {}", out.stderr);
        assert_eq!(lines(&out.stdout).len(), 20);
        let stats = fake.stats();
        assert_eq!(stats.deleted, 20, "{stats:?}");
        assert_eq!(stats.requests_with_token, stats.requests, "{stats:?}");
        assert!(!out.stderr.contains("sts-token-value"), "{}", out.stderr);
    }
}

#[tokio::test]
async fn base64_bodies_are_printed_decoded() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    let body = samples::all()[0].clone();
    fake.send_base64("vod-callback", &body);
    let out = run(with_fake_credentials(&mut poll(&[
        "--mns",
        &url,
        "--max-events",
        "1",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{body}\n"));
}

#[tokio::test]
async fn no_confirm_leaves_everything_for_redelivery() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    fake.push_samples("vod-callback", 5);
    let out = run(with_fake_credentials(&mut poll(&[
        "--mns",
        &url,
        "--max-events",
        "5",
        "--no-confirm",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out.stdout).len(), 5);
    let stats = fake.stats();
    assert_eq!((stats.deleted, stats.queued), (0, 5), "{stats:?}");
}

/// Every fault of the fake at once (500s, QpsLimitExceeded, resets, truncated XML, slow
/// answers, receives and deletes applied with the answer lost, partially failed deletes) on a
/// short visibility window: every message is printed once and deleted in the end.
#[tokio::test]
async fn every_fault_at_once_still_prints_each_message_once_and_deletes_it() {
    let (fake, url) = fake(quick(Duration::from_millis(1500))).await;
    let total = 300u64;
    fake.push_samples("vod-callback", total as usize);
    fake.set_fault_mix(Some(FaultMix::everything(0.15, 7)));
    let out = run(with_fake_credentials(&mut poll(&[
        "--mns",
        &url,
        "--max-events",
        &total.to_string(),
        "--concurrency",
        "2",
    ])))
    .await;
    assert_each_printed_once(&out, total);
    fake.set_fault_mix(None);
    let stats = fake.stats();
    assert!(stats.faults > 0, "{stats:?}");
    assert_eq!(stats.deleted, total, "every message deleted: {stats:?}");
    assert_eq!(stats.queued, 0, "{stats:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_deletes_exactly_what_was_printed() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    fake.push_samples("vod-callback", 20_000);
    let printed = printed_before_and_after_sigterm(
        with_fake_credentials(&mut poll(&["--mns", &url, "--concurrency", "2"])),
        300,
    )
    .await;
    assert!(printed < 20_000, "stopped mid-run");
    assert_eq!(
        fake.stats().deleted,
        printed,
        "deleted exactly what was printed"
    );
}

/// Two messages with the same body (a producer that sent one event twice) arrive in one
/// receive: printed once, both deleted, and poll goes on.
#[tokio::test]
async fn the_same_event_twice_in_one_batch_is_printed_once_and_both_are_deleted() {
    let (fake, url) = fake(quick(Duration::from_secs(30))).await;
    let body = samples::all()[0].clone();
    fake.send("vod-callback", body.clone());
    fake.send("vod-callback", body.clone());
    fake.push_samples("vod-callback", 5);
    let out = run(with_fake_credentials(&mut poll(&[
        "--mns",
        &url,
        "--idle-exit",
        "1",
    ])))
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("cannot write"), "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().filter(|l| *l == body).count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 6);
    assert_eq!(fake.stats().deleted, 7, "{:?}", fake.stats());
}
