#!/usr/bin/env python3
"""End-to-end loopback benchmark of `poll --mns` against the fake MNS (`examples/fake_mns`),
side by side with the official Alibaba Cloud MNS Python SDK, `aliyun-mns-sdk`
(`bench/peer/sdk_mns.py`, in a virtualenv it creates). Issue 13 item 8. Not run by CI.

    CARGO_TARGET_DIR=/work/target-perf python3 bench/mns_e2e.py --events 100000 --repeat 3 \
        --lock /work/heavy.lock

(--lock takes flock(2) on that file around each measurement and around the build, so runs
never overlap another agent's heavy jobs. `--only sdk,sdk-c4` runs the SDK side alone.)

Each measurement starts a fresh `fake_mns` process holding N sample messages (raw JSON bodies,
every VOD and IMS event type), runs one client process against it (stdout to /dev/null) under
`/usr/bin/time`, then closes the fake's stdin and reads the statistics it prints: every message
must have been delivered once and deleted once, none redelivered, none left, no signature
refused, no stale handle. The fake's own CPU (from wait4) is shown too: on a small machine it
shares the cores with the client, so it bounds the throughput.

Scenarios, in this order in every round (so the ratios compare runs of the same round). MNS has
no per-application request ceiling like VOD's 100/s, so nothing is paced:
  ours-c1   poll --mns URL --concurrency 1
  ours-c4   poll --mns URL --concurrency 4
  sdk       the SDK loop, one consumer: batch_receive_message(16, wait_seconds=30), then
            batch_delete_message of the handles; raw bodies (set_encoding(False))
  sdk-c4    the same loop in 4 threads, each with its own Account

N defaults to 100,000: the SDK loop takes about 25 s for it on two cores, so its interpreter's
start (about 0.45 s of CPU) is 3 % of its CPU, and a round of the four scenarios about 75 s.

Reported per scenario (median over rounds): events/s, client CPU seconds (user+sys) per 10,000
events, peak RSS, the fake's CPU per 10,000 events; and per round, the one-consumer SDK's
CPU/event divided by the scenario's, and the SDK's at the same concurrency divided by the
scenario's. Targets (issue 13): our CPU/event at most 1/30 of the SDK loop's, peak RSS at most
20 MiB.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, Lock, example, target_dir  # noqa: E402,F401

ACCESS_KEY_ID = "LTAIFakeMnsAccessKeyId"  # FakeMnsConfig::DEFAULT_ACCESS_KEY_ID
ACCESS_KEY_SECRET = "FakeMnsAccessKeySecret000000000"  # FakeMnsConfig::DEFAULT_ACCESS_KEY_SECRET
PEER = os.path.join(ROOT, "bench", "peer", "sdk_mns.py")
TARGET_RATIO = 30.0
TARGET_RSS_MIB = 20.0


def build(lock):
    with Lock(lock):
        subprocess.run(
            ["cargo", "build", "--release", "--example", "poll", "--example", "fake_mns"],
            cwd=ROOT, check=True)


def run_client(name, events, command):
    """One fake + one client; returns a result dict."""
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = os.path.join(tmp, "fake.json")
        time_path = os.path.join(tmp, "time.txt")
        with open(stats_path, "w") as stats_file:
            fake = subprocess.Popen(
                [example("fake_mns"), "--messages", str(events)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stats_file, text=True)
        fake_rusage = None
        try:
            queue_url = fake.stdout.readline().strip()
            if not queue_url.startswith("http://127.0.0.1:"):
                raise RuntimeError(f"fake_mns printed {queue_url!r}")
            env = dict(os.environ, ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
                       ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET, RUST_LOG="warn")
            argv = ["/usr/bin/time", "-f", "%U %S %M %e", "-o", time_path,
                    *[a.replace("{queue_url}", queue_url) for a in command]]
            started = time.monotonic()
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            wall = time.monotonic() - started
        finally:
            fake.stdin.close()
            deadline = time.monotonic() + 30
            while fake_rusage is None:
                pid, status, rusage = os.wait4(fake.pid, os.WNOHANG)
                if pid:
                    fake_rusage = rusage
                    fake.returncode = os.waitstatus_to_exitcode(status)
                elif time.monotonic() > deadline:
                    fake.kill()
                    raise RuntimeError("fake_mns did not stop within 30 s of its stdin closing")
                else:
                    time.sleep(0.02)
        if proc.returncode != 0:
            raise RuntimeError(f"{name}: exit {proc.returncode}: {proc.stderr[-2000:]}")
        user, sys_, rss_kib, elapsed = open(time_path).read().split()[-4:]
        stats = json.loads(open(stats_path).read().strip().splitlines()[-1])
    cpu = float(user) + float(sys_)
    fake_cpu = fake_rusage.ru_utime + fake_rusage.ru_stime
    return {
        "name": name,
        "events": events,
        "wall_s": float(elapsed),
        "events_per_s": events / float(elapsed),
        "user_s": float(user),
        "sys_s": float(sys_),
        "cpu_per_10k": cpu / events * 10_000,
        "cpu_us_per_event": cpu / events * 1e6,
        "rss_mib": int(rss_kib) / 1024,
        "fake_cpu_per_10k": fake_cpu / events * 10_000,
        "fake": stats,
        "ok": stats["sent"] == events and stats["delivered"] == events
        and stats["deleted"] == events and stats["redelivered"] == 0 and stats["queued"] == 0
        and stats["auth_failures"] == 0 and stats["stale_handles"] == 0 and stats["faults"] == 0,
        "client_tail": proc.stderr.strip().splitlines()[-1:],
        "harness_wall_s": wall,
    }


def scenarios(events, sdk_python, poll_args, wait_seconds):
    """(name, command, the SDK scenario at the same concurrency)."""
    ours = [example("poll"), "--mns", "{queue_url}", "--max-events", str(events), *poll_args]
    sdk = [sdk_python, PEER, "--queue-url", "{queue_url}", "--max-events", str(events),
           "--wait-seconds", str(wait_seconds)]
    return [
        ("ours-c1", ours + ["--concurrency", "1"], "sdk"),
        ("ours-c4", ours + ["--concurrency", "4"], "sdk-c4"),
        ("sdk", sdk + ["--threads", "1"], None),
        ("sdk-c4", sdk + ["--threads", "4"], None),
    ]


def median(results, key):
    return statistics.median(r[key] for r in results)


def main():
    ap = argparse.ArgumentParser(description="MNS end-to-end loopback benchmark")
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lock", help="flock this file around each measurement and the build")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", help="comma-separated scenario names (e.g. sdk,sdk-c4)")
    ap.add_argument("--wait-seconds", type=int, default=30,
                    help="the SDK loop's long-poll wait (default 30)")
    ap.add_argument("--poll-arg", action="append", default=[],
                    help="one more argument for poll (repeatable)")
    ap.add_argument("--json", help="write all raw results to this file")
    args = ap.parse_args()

    if not args.no_build:
        build(args.lock)
    chosen = args.only.split(",") if args.only else None
    sdk_python = ""
    if not chosen or any(n.startswith("sdk") for n in chosen):
        sdk_python = subprocess.run(
            [sys.executable, PEER, "--setup-only"], check=True, capture_output=True, text=True
        ).stdout.strip().splitlines()[-1]
    todo = [s for s in scenarios(args.events, sdk_python, args.poll_arg, args.wait_seconds)
            if not chosen or s[0] in chosen]
    if not todo:
        ap.error(f"--only {args.only}: no such scenario")

    results = {name: [] for name, _, _ in todo}
    ratios = []
    for round_ in range(1, args.repeat + 1):
        for name, command, _ in todo:
            with Lock(args.lock):
                r = run_client(name, args.events, command)
            results[name].append(r)
            f = r["fake"]
            print(f"round {round_} {name}: {r['events_per_s']:.0f} ev/s, "
                  f"{r['cpu_per_10k']:.3f} CPU s/10k ({r['user_s']:.2f} u + {r['sys_s']:.2f} s), "
                  f"{r['rss_mib']:.1f} MiB, fake {r['fake_cpu_per_10k']:.3f} CPU s/10k, "
                  f"deleted {f['deleted']}, requests {f['requests']}, "
                  f"redelivered {f['redelivered']}, queued {f['queued']}, ok={r['ok']} "
                  f"| {' '.join(r['client_tail'])}", file=sys.stderr, flush=True)
        # Per round: SDK CPU/event ÷ this scenario's (one-consumer SDK, and same concurrency).
        this_round = {}
        for name, _, same in todo:
            cpu = results[name][-1]["cpu_us_per_event"]
            for label, sdk_name in (("sdk", "sdk"), ("same", same)):
                if sdk_name and results.get(sdk_name):
                    this_round[(name, label)] = results[sdk_name][-1]["cpu_us_per_event"] / cpu
        ratios.append(this_round)

    print(f"\nN = {args.events} messages per run, {args.repeat} rounds; medians\n")

    def ratio(name, label):
        values = [r[(name, label)] for r in ratios if (name, label) in r]
        return (f"{statistics.median(values):.1f}×" if values else "—"), values

    print("| scenario | events/s | CPU s / 10k events | CPU µs / event | user / sys µs "
          "| peak RSS MiB | fake CPU s / 10k | SDK (1 consumer) ÷ this "
          "| SDK same concurrency ÷ this | all deleted once, none left |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, runs in results.items():
        user = statistics.median(r["user_s"] / r["events"] * 1e6 for r in runs)
        sys_ = statistics.median(r["sys_s"] / r["events"] * 1e6 for r in runs)
        print(f"| {name} | {median(runs, 'events_per_s'):.0f} "
              f"| {median(runs, 'cpu_per_10k'):.3f} | {median(runs, 'cpu_us_per_event'):.1f} "
              f"| {user:.1f} / {sys_:.1f} | {median(runs, 'rss_mib'):.1f} "
              f"| {median(runs, 'fake_cpu_per_10k'):.3f} "
              f"| {ratio(name, 'sdk')[0] if name.startswith('ours') else '—'} "
              f"| {ratio(name, 'same')[0] if name.startswith('ours') else '—'} "
              f"| {'yes' if all(r['ok'] for r in runs) else 'NO'} |")
    if any(n.startswith("ours") for r in ratios for (n, _) in r):
        print("\nper round, SDK (1 consumer) ÷ this CPU/event: " + "; ".join(
            ", ".join(f"{n} {v:.1f}×" for (n, label), v in r.items()
                      if label == "sdk" and n.startswith("ours"))
            for r in ratios))
    for name, runs in results.items():
        if not name.startswith("ours"):
            continue
        values = ratio(name, "sdk")[1]
        rss = median(runs, "rss_mib")
        if values:
            verdict = "met" if statistics.median(values) >= TARGET_RATIO else "NOT met"
            print(f"target {name}: SDK ÷ ours ≥ {TARGET_RATIO:.0f}× {verdict} "
                  f"(median {statistics.median(values):.1f}×)")
        print(f"target {name}: peak RSS ≤ {TARGET_RSS_MIB:.0f} MiB "
              f"{'met' if rss <= TARGET_RSS_MIB else 'NOT met'} ({rss:.1f} MiB)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results,
                       "ratios": [{f"{n} / {label}": v for (n, label), v in r.items()}
                                  for r in ratios]}, f, indent=1)
    if not all(r["ok"] for runs in results.values() for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
