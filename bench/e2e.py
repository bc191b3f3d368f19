#!/usr/bin/env python3
"""End-to-end loopback benchmark of `examples/poll` against the fake VOD server, side by side
with the official Tencent Cloud Python SDK (`bench/peer/sdk_poll.py`). Not run by CI.

    CARGO_TARGET_DIR=/work/target-perf python3 bench/e2e.py --events 100000 --repeat 3 \
        --lock /work/heavy.lock

(--lock takes flock(2) on that file around each measurement, so runs never overlap another
agent's heavy jobs.)

Each measurement starts a fresh `fake_server` process holding N sample events, runs one client
process against it (stdout to /dev/null) under `/usr/bin/time`, then closes the fake's stdin
and reads its counters (every event must be confirmed exactly once, nothing rate limited).

Scenarios, in this order in every round (so the ratios compare runs of the same round). At
the service's operating point, 98 requests/s per action (poll's default pace; 1,568 events/s):
  ours-c1       poll --concurrency 1
  ours-c4       poll --concurrency 4
  ceiling       poll --concurrency 4, fake limiting each action to 100 requests/s
  sdk-paced     the Python SDK loop, paced like poll (sdk_poll.py --rate 98)
  floor-paced   examples/io_floor --rate 98: two bare HTTP exchanges per batch, nothing else
Unpaced, as fast as client and fake go:
  ours-unpaced  poll --concurrency 1 --rate 0
  sdk           the Python SDK loop (one puller), unpaced
  floor         examples/io_floor, unpaced
Then, unless --no-latency: `examples/latency` (push -> stream.next() with a long poll held).

Reported per scenario (median over rounds): events/s, client CPU seconds (user+sys) per 10,000
events, peak RSS; and per round, the SDK's CPU/event divided by the scenario's, against the SDK
run at the same pace (sdk-paced for paced scenarios, sdk for unpaced ones) and against the
unpaced SDK. The floors bound what any client could reach.
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

SECRET_ID = "AKIDFAKEVOD0000000000000000000000000"
SECRET_KEY = "FakeVodSecretKey0000000000000000"
CEILING = 1600.0


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--example", "poll", "--example", "fake_server",
         "--example", "latency", "--example", "io_floor"],
        cwd=ROOT, check=True)


def run_client(name, events, rate_limit, command):
    """One fake + one client; returns a result dict."""
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = os.path.join(tmp, "fake.json")
        time_path = os.path.join(tmp, "time.txt")
        fake = subprocess.Popen(
            [example("fake_server"), "--events", str(events), "--rate-limit", str(rate_limit),
             "--stats-file", stats_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            endpoint = fake.stdout.readline().strip()
            if not endpoint.startswith("http://127.0.0.1:"):
                raise RuntimeError(f"fake_server printed {endpoint!r}")
            env = dict(os.environ, TENCENTCLOUD_SECRET_ID=SECRET_ID,
                       TENCENTCLOUD_SECRET_KEY=SECRET_KEY, RUST_LOG="warn")
            argv = ["/usr/bin/time", "-f", "%U %S %M %e", "-o", time_path,
                    *[a.replace("{endpoint}", endpoint) for a in command]]
            started = time.monotonic()
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            wall = time.monotonic() - started
        finally:
            fake.stdin.close()
            fake.wait(timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"{name}: exit {proc.returncode}: {proc.stderr[-2000:]}")
        user, sys_, rss_kib, elapsed = open(time_path).read().split()[-4:]
        stats = json.load(open(stats_path))
    cpu = float(user) + float(sys_)
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
        "confirmed": stats["confirmed"],
        "redeliveries": stats["redeliveries"],
        "rate_limited": stats["rate_limited"],
        "requests": stats["requests"],
        "ok": stats["confirmed"] == events and stats["rate_limited"] == 0
        and stats["redeliveries"] == 0 and stats["queued"] == 0,
        "client_tail": proc.stderr.strip().splitlines()[-1:],
        "harness_wall_s": wall,
    }


PACE = "98"


def scenarios(events, sdk_python, baseline=None):
    """(name, fake rate limit, command, SDK scenario run at the same pace). With `baseline`
    (another build's `poll`), each of our poll scenarios is followed by the same run of the
    baseline, so before/after ratios come from back-to-back runs of one round."""
    poll = example("poll")
    common = [poll, "--endpoint", "{endpoint}", "--max-events", str(events)]
    if baseline:
        before = [baseline, "--endpoint", "{endpoint}", "--max-events", str(events)]
        return [
            ("ours-c1", 0, common + ["--concurrency", "1"], None),
            ("before-c1", 0, before + ["--concurrency", "1"], None),
            ("ceiling", 100, common + ["--concurrency", "4"], None),
            ("before-ceiling", 100, before + ["--concurrency", "4"], None),
            ("ours-unpaced", 0, common + ["--concurrency", "1", "--rate", "0"], None),
            ("before-unpaced", 0, before + ["--concurrency", "1", "--rate", "0"], None),
        ]
    sdk = [sdk_python, os.path.join(ROOT, "bench", "peer", "sdk_poll.py"),
           "--endpoint", "{endpoint}", "--max-events", str(events)]
    floor = [example("io_floor"), "--endpoint", "{endpoint}", "--max-events", str(events)]
    return [
        ("ours-c1", 0, common + ["--concurrency", "1"], "sdk-paced"),
        ("ours-c4", 0, common + ["--concurrency", "4"], "sdk-paced"),
        ("ceiling", 100, common + ["--concurrency", "4"], "sdk-paced"),
        ("sdk-paced", 0, sdk + ["--rate", PACE], None),
        ("floor-paced", 0, floor + ["--rate", PACE], "sdk-paced"),
        ("ours-unpaced", 0, common + ["--concurrency", "1", "--rate", "0"], "sdk"),
        ("sdk", 0, sdk, None),
        ("floor", 0, floor, "sdk"),
    ]


def median(results, key):
    return statistics.median(r[key] for r in results)


def main():
    ap = argparse.ArgumentParser(description="end-to-end loopback benchmark")
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lock", help="flock this file around each measurement")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-sdk", action="store_true")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--json", help="write all raw results to this file")
    ap.add_argument("--baseline-poll",
                    help="another build's poll binary: compare before/after instead of the SDK")
    args = ap.parse_args()

    if not args.no_build:
        build()
    sdk_python = None
    if not args.no_sdk:
        try:
            sdk_python = subprocess.run(
                [sys.executable, os.path.join(ROOT, "bench", "peer", "sdk_poll.py"),
                 "--setup-only"], check=True, capture_output=True, text=True
            ).stdout.strip().splitlines()[-1]
        except subprocess.CalledProcessError as e:
            print(f"e2e: SDK setup failed, skipping the peer: {e.stderr[-500:]}", file=sys.stderr)
    todo = [s for s in scenarios(args.events, sdk_python or "", args.baseline_poll)
            if not (s[0].startswith("sdk") and sdk_python is None)
            and (not args.only or s[0] in args.only.split(","))]
    reference = {name: ref for name, _, _, ref in todo}

    results = {name: [] for name, _, _, _ in todo}
    ratios = []
    for round_ in range(1, args.repeat + 1):
        for name, limit, command, _ in todo:
            with Lock(args.lock):
                r = run_client(name, args.events, limit, command)
            results[name].append(r)
            print(f"round {round_} {name}: {r['events_per_s']:.0f} ev/s, "
                  f"{r['cpu_per_10k']:.3f} CPU s/10k ({r['user_s']:.2f} u + {r['sys_s']:.2f} s), "
                  f"{r['rss_mib']:.1f} MiB, confirmed {r['confirmed']}, "
                  f"rate_limited {r['rate_limited']}, ok={r['ok']}", file=sys.stderr, flush=True)
        # Per round: SDK CPU/event ÷ this scenario's, against the same-pace SDK and the unpaced one.
        this_round = {}
        for name, ref in reference.items():
            if ref is None:
                continue
            cpu = results[name][-1]["cpu_us_per_event"]
            for label, sdk_name in (("same pace", ref), ("unpaced SDK", "sdk")):
                if results.get(sdk_name):
                    this_round[(name, label)] = results[sdk_name][-1]["cpu_us_per_event"] / cpu
        for name in list(results):
            if name.startswith("before-") and results[name]:
                ours = {"before-c1": "ours-c1", "before-ceiling": "ceiling",
                        "before-unpaced": "ours-unpaced"}[name]
                this_round[(ours, "before ÷ after")] = (
                    results[name][-1]["cpu_us_per_event"] / results[ours][-1]["cpu_us_per_event"])
        ratios.append(this_round)

    print(f"\nN = {args.events} events per run, {args.repeat} rounds; medians\n")
    def ratio(name, label):
        values = [r[(name, label)] for r in ratios if (name, label) in r]
        return f"{statistics.median(values):.1f}×" if values else "—"

    print("| scenario | events/s | % of 1,600/s | CPU s / 10k events | CPU µs / event "
          "| user / sys µs | peak RSS MiB | SDK same pace ÷ this | SDK unpaced ÷ this "
          "| all confirmed, 0 rate-limited |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, runs in results.items():
        user = statistics.median(r["user_s"] / r["events"] * 1e6 for r in runs)
        sys_ = statistics.median(r["sys_s"] / r["events"] * 1e6 for r in runs)
        print(f"| {name} | {median(runs, 'events_per_s'):.0f} "
              f"| {median(runs, 'events_per_s') / CEILING * 100:.1f}% "
              f"| {median(runs, 'cpu_per_10k'):.3f} | {median(runs, 'cpu_us_per_event'):.1f} "
              f"| {user:.1f} / {sys_:.1f} | {median(runs, 'rss_mib'):.1f} "
              f"| {ratio(name, 'same pace')} | {ratio(name, 'unpaced SDK')} "
              f"| {'yes' if all(r['ok'] for r in runs) else 'NO'} |")
    if args.baseline_poll:
        print("\nper round, before ÷ after CPU/event: " + "; ".join(
            ", ".join(f"{n} {v:.3f}" for (n, label), v in r.items() if label == "before ÷ after")
            for r in ratios))
    elif any(ratios):
        print("\nper round, SDK ÷ this (same pace): " + "; ".join(
            ", ".join(f"{n} {v:.1f}×" for (n, label), v in r.items() if label == "same pace")
            for r in ratios))
    for name, runs in results.items():
        print(f"{name} rate_limited per round: {[r['rate_limited'] for r in runs]}")

    if not args.no_latency:
        with Lock(args.lock):
            out = subprocess.run([example("latency"), "--samples", "1000"], check=True,
                                 capture_output=True, text=True)
        print("\n" + out.stdout.strip())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results,
                       "ratios": [{f"{n} / {label}": v for (n, label), v in r.items()}
                                  for r in ratios]}, f, indent=1)


if __name__ == "__main__":
    main()
