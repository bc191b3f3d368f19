#!/usr/bin/env python3
"""Loopback benchmark of the push receiver `examples/receive` under signed Alibaba VOD
callbacks, side by side with a minimal Python `http.server` receiver making the same checks
(`bench/peer/push_receiver.py`). Not run by CI.

    CARGO_TARGET_DIR=/work/target-perf python3 bench/push_e2e.py --repeat 3 \
        --lock /work/heavy.lock

(--lock takes flock(2) on that file around each measurement, and around the build.)

Each measurement starts a fresh receiver (stdout to a file, to count what it printed), waits
for its port, runs `examples/push_load` against it under `/usr/bin/time`, then sends the
receiver SIGTERM and reaps it with wait4(2) for its CPU (user + sys, start-up included) and
peak RSS. Every request carries its own VideoId, so de-duplication never answers one without
printing it: the receiver must print exactly as many lines as it answered 200.

Scenarios, in this order in every round (so the ratios compare runs of the same round):
  ours-paced     receive, push_load --rate 2000 (open loop, latency from each slot)
  python-paced   push_receiver.py, the same load
  ours-unpaced   receive, push_load --rate 0 (as fast as the connections go)
  python-unpaced push_receiver.py, the same
Both with --connections 50 keep-alive connections. The load generator shares the machine's
cores with the receiver; its own CPU is reported separately.

Reported per scenario (median over rounds): answers/s, receiver CPU µs per request, peak
RSS, time to the answer p50/p90/p99/max (ms, from the slot when paced; service = from the
send; generator lag = send minus slot, the generator's own lateness), the generator's CPU;
and per round python ÷ ours CPU per request at the same load.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, Lock, example, target_dir  # noqa: E402,F401

KEY = "bench-alibaba-auth-key"
TARGET_CPU_RATIO = 20.0
TARGET_RSS_MIB = 30.0
TARGET_P99_MS = 5.0


def build():
    subprocess.run(["cargo", "build", "--release", "--example", "receive",
                    "--example", "push_load"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"receiver exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"receiver not listening on {port} after {timeout} s")


def receiver_command(kind, port, receive):
    listen = f"127.0.0.1:{port}"
    url = f"http://{listen}/"
    if kind == "ours":
        return [receive, "--listen", listen, "--alibaba-auth-key", KEY,
                "--callback-url", url]
    return [sys.executable, os.path.join(ROOT, "bench", "peer", "push_receiver.py"),
            "--listen", listen, "--alibaba-auth-key", KEY, "--callback-url", url]


def measure(name, kind, requests, rate, connections, threads, round_, receive):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "events.jsonl")
        err_path = os.path.join(tmp, "receiver.err")
        time_path = os.path.join(tmp, "time.txt")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            receiver = subprocess.Popen(receiver_command(kind, port, receive), stdout=out, stderr=err,
                                        env=dict(os.environ, RUST_LOG="warn"))
        try:
            wait_for_port(port, receiver)
            load = subprocess.run(
                ["/usr/bin/time", "-f", "%U %S %M %e", "-o", time_path, example("push_load"),
                 "--url", url, "--key", KEY, "--requests", str(requests), "--rate", str(rate),
                 "--connections", str(connections), "--threads", str(threads),
                 "--run-id", f"{name}-{round_}-{time.time_ns()}"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        finally:
            receiver.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(receiver.pid, 0)
            receiver.returncode = os.waitstatus_to_exitcode(status)
        if not load.stdout.strip():
            raise RuntimeError(f"{name}: push_load printed nothing: {load.stderr[-2000:]}")
        result = json.loads(load.stdout.strip().splitlines()[-1])
        with open(out_path, "rb") as f:
            printed = sum(1 for _ in f)
        receiver_err = open(err_path, errors="replace").read().strip().splitlines()
        lg_user, lg_sys, lg_rss, _ = open(time_path).read().split()[-4:]
    answered = result["answered"]
    ok200 = result["status"].get("200", 0)
    cpu = usage.ru_utime + usage.ru_stime
    summary = next((l for l in reversed(receiver_err) if "done:" in l), "")
    return {
        "name": name,
        "kind": kind,
        "round": round_,
        "requests": requests,
        "target_rate": rate,
        "answered": answered,
        "status": result["status"],
        "errors": result["errors"],
        "rate": result["rate"],
        "elapsed_s": result["elapsed_s"],
        "latency_ms": result["latency_ms"],
        "service_ms": result["service_ms"],
        "lag_ms": result["lag_ms"],
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "cpu_us_per_request": cpu / max(answered, 1) * 1e6,
        "rss_mib": usage.ru_maxrss / 1024,
        "receiver_exit": receiver.returncode,
        "printed": printed,
        "load_cpu_us_per_request": (float(lg_user) + float(lg_sys)) / max(answered, 1) * 1e6,
        "load_rss_mib": int(lg_rss) / 1024,
        "receiver_summary": summary,
        "ok": answered == requests and ok200 == requests and printed == ok200
        and receiver.returncode == 0,
    }


def scenarios(args):
    return [
        ("ours-paced", "ours", args.requests, args.rate),
        ("python-paced", "python", args.requests, args.rate),
        ("ours-unpaced", "ours", args.unpaced_requests, 0),
        ("python-unpaced", "python", args.unpaced_requests, 0),
    ]


def main():
    ap = argparse.ArgumentParser(description="push receiver loopback benchmark")
    ap.add_argument("--requests", type=int, default=20_000, help="paced requests per run")
    ap.add_argument("--rate", type=float, default=2_000, help="paced requests/s")
    ap.add_argument("--unpaced-requests", type=int, default=40_000)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1, help="push_load runtime threads")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lock", help="flock this file around each measurement and the build")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--json", help="write all raw results to this file")
    ap.add_argument("--receive", help="another build's receive binary to measure as ours")
    args = ap.parse_args()

    if not args.no_build:
        with Lock(args.lock):
            build()
    todo = [s for s in scenarios(args) if not args.only or s[0] in args.only.split(",")]
    results = {name: [] for name, _, _, _ in todo}
    ratios = []
    for round_ in range(1, args.repeat + 1):
        for name, kind, requests, rate in todo:
            with Lock(args.lock):
                r = measure(name, kind, requests, rate, args.connections, args.threads, round_,
                            args.receive or example("receive"))
            results[name].append(r)
            lat = r["latency_ms"]
            print(f"round {round_} {name}: {r['rate']:.0f} req/s, status {r['status']}, "
                  f"errors {r['errors']}, printed {r['printed']}, "
                  f"{r['cpu_us_per_request']:.1f} CPU µs/req ({r['user_s']:.2f} u + "
                  f"{r['sys_s']:.2f} s), {r['rss_mib']:.1f} MiB, p50/p90/p99/max "
                  f"{lat['p50']:.2f}/{lat['p90']:.2f}/{lat['p99']:.2f}/{lat['max']:.2f} ms "
                  f"(service p50/p99 {r['service_ms']['p50']:.2f}/{r['service_ms']['p99']:.2f}, "
                  f"generator lag p99 {r['lag_ms']['p99']:.2f}), "
                  f"load gen {r['load_cpu_us_per_request']:.1f} µs/req, ok={r['ok']}"
                  + (f"\n    {r['receiver_summary']}" if r["receiver_summary"] else ""),
                  file=sys.stderr, flush=True)
        this_round = {}
        for mode in ("paced", "unpaced"):
            ours, py = results.get(f"ours-{mode}"), results.get(f"python-{mode}")
            if ours and py and len(ours) == round_ and len(py) == round_:
                this_round[mode] = py[-1]["cpu_us_per_request"] / ours[-1]["cpu_us_per_request"]
        ratios.append(this_round)

    med = lambda runs, f: statistics.median(f(r) for r in runs)
    print(f"\n{args.requests} requests at {args.rate:.0f}/s (paced), {args.unpaced_requests} "
          f"unpaced, {args.connections} connections, {args.repeat} rounds; medians\n")
    print("| scenario | answers/s | CPU µs / request | user / sys µs | peak RSS MiB "
          "| p50 / p90 / p99 / max ms | service p50 / p99 ms | generator lag p99 ms "
          "| load gen CPU µs / req | all 200, printed = 200s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, runs in results.items():
        if not runs:
            continue
        lat = {p: med(runs, lambda r: r["latency_ms"][p]) for p in ("p50", "p90", "p99", "max")}
        print(f"| {name} | {med(runs, lambda r: r['rate']):.0f} "
              f"| {med(runs, lambda r: r['cpu_us_per_request']):.1f} "
              f"| {med(runs, lambda r: r['user_s'] / r['answered'] * 1e6):.1f} / "
              f"{med(runs, lambda r: r['sys_s'] / r['answered'] * 1e6):.1f} "
              f"| {med(runs, lambda r: r['rss_mib']):.1f} "
              f"| {lat['p50']:.2f} / {lat['p90']:.2f} / {lat['p99']:.2f} / {lat['max']:.2f} "
              f"| {med(runs, lambda r: r['service_ms']['p50']):.2f} / "
              f"{med(runs, lambda r: r['service_ms']['p99']):.2f} "
              f"| {med(runs, lambda r: r['lag_ms']['p99']):.2f} "
              f"| {med(runs, lambda r: r['load_cpu_us_per_request']):.1f} "
              f"| {'yes' if all(r['ok'] for r in runs) else 'NO'} |")
    for mode in ("paced", "unpaced"):
        values = [r[mode] for r in ratios if mode in r]
        if values:
            print(f"\npython ÷ ours CPU per request, {mode}: per round "
                  + ", ".join(f"{v:.1f}×" for v in values)
                  + f"; median {statistics.median(values):.1f}×")
    if results.get("ours-paced"):
        runs = results["ours-paced"]
        ratio = [r["paced"] for r in ratios if "paced" in r]
        checks = [
            (f"CPU per request ≤ 1/{TARGET_CPU_RATIO:.0f} of python's (paced)",
             bool(ratio) and statistics.median(ratio) >= TARGET_CPU_RATIO),
            (f"peak RSS ≤ {TARGET_RSS_MIB:.0f} MiB (every run of ours)",
             all(r["rss_mib"] <= TARGET_RSS_MIB for n in results if n.startswith("ours")
                 for r in results[n])),
            (f"p99 ≤ {TARGET_P99_MS:.0f} ms at {args.rate:.0f}/s (median)",
             med(runs, lambda r: r["latency_ms"]["p99"]) <= TARGET_P99_MS),
        ]
        print("\ntargets: " + "; ".join(f"{text}: {'met' if ok else 'MISSED'}"
                                         for text, ok in checks))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "ratios": ratios}, f, indent=1)


if __name__ == "__main__":
    main()
