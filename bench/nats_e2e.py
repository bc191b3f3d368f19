#!/usr/bin/env python3
"""End-to-end loopback benchmark of `poll --to nats://…` (relaying into NATS JetStream, issue 15
item 6) next to `poll` printing to stdout (/dev/null), against the fake VOD server
(`examples/fake_server`) and the fake MNS (`examples/fake_mns`). Not run by CI. Needs
`nats-server` (2.9 or later) on PATH or in --nats-server.

    CARGO_TARGET_DIR=/work/target-perf python3 bench/nats_e2e.py --repeat 3 --lock /work/heavy.lock

(--lock takes flock(2) on that file around each measurement and around the build, so runs
never overlap another agent's heavy jobs.)

Each measurement starts a fresh fake (holding N sample events) and, for a relay run, a fresh
`nats-server -js -a 127.0.0.1 -p -1 -m -1 -sd TMPDIR --ports_file_dir TMPDIR` (ports read from
its `nats-server_<pid>.ports` file), runs one `poll --max-events N` process under
`/usr/bin/time` (stdout to /dev/null), then checks that the fake saw every event acknowledged
exactly once, none redelivered and none left, and, for a relay run, that the stream holds
exactly N messages (the server's monitoring endpoint `/jsz?streams=true`, read with urllib).
The CPU of the fake and of nats-server (wait4 after their stdin closes / SIGTERM, start-up
included) is reported apart from poll's.

Scenarios, in this order in every round (each relay run right after its stdout twin, so the
relay ÷ stdout ratio compares runs of one round):
  stdout-paced    poll                                (98 req/s per action: 1,568 events/s)
  relay-paced     poll --to nats://127.0.0.1:PORT/vod --nats-stream VOD
  stdout-unpaced  poll --rate 0
  relay-unpaced   poll --rate 0 --to … --nats-stream VOD
  relay-unpaced-c4  the same with --concurrency 4 (4 receivers, so 4 batches in flight)
  mns-stdout      poll --mns URL                      (MNS has no pace)
  mns-relay       poll --mns URL --to … --nats-stream VOD

N: 50,000 paced (32 s at 1,568 events/s, under a minute, and long enough that start-up, the
stream's creation and the last long poll weigh under 1 %), 100,000 unpaced (as in e2e.py and
mns_e2e.py, about 8-15 s a run).

Reported per scenario (median over rounds): events/s, poll's CPU per event (user+sys), peak
RSS, the fake's and nats-server's CPU per event; and per round the relay's CPU/event ÷ the
stdout twin's. Targets (issue 15): paced, relay ≤ 1.5× stdout's CPU/event; unpaced, the relay
sustains ≥ 10,000 events/s.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, Lock, example  # noqa: E402
from e2e import SECRET_ID, SECRET_KEY  # noqa: E402
from mns_e2e import ACCESS_KEY_ID, ACCESS_KEY_SECRET  # noqa: E402

STREAM = "VOD"
PREFIX = "vod"
TARGET_PACED_RATIO = 1.5
TARGET_UNPACED_RATE = 10_000.0


def build(lock):
    with Lock(lock):
        subprocess.run(
            ["cargo", "build", "--release", "--example", "poll", "--example", "fake_server",
             "--example", "fake_mns"],
            cwd=ROOT, check=True)


def reap(proc, timeout=30):
    """wait4 on a child: its resource usage (CPU, peak RSS)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return rusage
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{proc.args[0]} did not stop within {timeout} s")
        time.sleep(0.02)


class NatsServer:
    """A fresh nats-server with JetStream in its own directory; `.url`, `.monitor`."""

    def __init__(self, binary, tmp):
        self.dir = os.path.join(tmp, "nats")
        os.mkdir(self.dir)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-sd", self.dir,
             "--ports_file_dir", self.dir],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        ports_file = os.path.join(self.dir, f"nats-server_{self.proc.pid}.ports")
        deadline = time.monotonic() + 10
        ports = None
        while ports is None:
            try:
                ports = json.load(open(ports_file))
            except (FileNotFoundError, json.JSONDecodeError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nats-server wrote no ports file: "
                                       f"{open(self.log.name).read()[-2000:]}")
                time.sleep(0.02)
        self.url = ports["nats"][0]
        self.monitor = ports["monitoring"][0]

    def stream_messages(self, name):
        with urllib.request.urlopen(f"{self.monitor}/jsz?streams=true", timeout=10) as r:
            jsz = json.load(r)
        for account in jsz.get("account_details") or []:
            for stream in account.get("stream_detail") or []:
                if stream["name"] == name:
                    return stream["state"]["messages"]
        return None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rusage = reap(self.proc)
        self.log.close()
        return rusage


def start_fake(kind, events, tmp):
    """(process, endpoint or queue URL, a function reading its final statistics)."""
    if kind == "tencent":
        stats_path = os.path.join(tmp, "fake.json")
        fake = subprocess.Popen(
            [example("fake_server"), "--events", str(events), "--stats-file", stats_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        read = lambda: json.load(open(stats_path))  # noqa: E731
    else:
        stats_path = os.path.join(tmp, "fake.stderr")
        with open(stats_path, "w") as stats_file:
            fake = subprocess.Popen(
                [example("fake_mns"), "--messages", str(events)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stats_file, text=True)
        read = lambda: json.loads(open(stats_path).read().strip().splitlines()[-1])  # noqa: E731
    url = fake.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        fake.kill()
        raise RuntimeError(f"the fake printed {url!r}")
    return fake, url, read


def fake_ok(kind, stats, events):
    if kind == "tencent":
        return (stats["confirmed"] == events and stats["rate_limited"] == 0
                and stats["redeliveries"] == 0 and stats["queued"] == 0)
    return (stats["sent"] == events and stats["delivered"] == events
            and stats["deleted"] == events and stats["redelivered"] == 0
            and stats["queued"] == 0 and stats["auth_failures"] == 0
            and stats["stale_handles"] == 0 and stats["faults"] == 0)


def run(name, kind, events, poll_args, relay, nats_binary):
    """One fake (+ one nats-server if `relay`) + one poll; returns a result dict."""
    with tempfile.TemporaryDirectory() as tmp:
        time_path = os.path.join(tmp, "time.txt")
        nats = NatsServer(nats_binary, tmp) if relay else None
        fake = None
        fake_rusage = nats_rusage = None
        stored = None
        try:
            fake, url, read_stats = start_fake(kind, events, tmp)
            source = ["--endpoint", url] if kind == "tencent" else ["--mns", url]
            to = ["--to", f"{nats.url}/{PREFIX}", "--nats-stream", STREAM] if relay else []
            env = dict(os.environ, TENCENTCLOUD_SECRET_ID=SECRET_ID,
                       TENCENTCLOUD_SECRET_KEY=SECRET_KEY, ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
                       ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET, RUST_LOG="warn")
            argv = ["/usr/bin/time", "-f", "%U %S %M %e", "-o", time_path, example("poll"),
                    *source, "--max-events", str(events), *poll_args, *to]
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            if relay:
                stored = nats.stream_messages(STREAM)
        finally:
            if fake is not None:
                fake.stdin.close()
                fake_rusage = reap(fake)
            if nats is not None:
                nats_rusage = nats.stop()
        if proc.returncode != 0:
            raise RuntimeError(f"{name}: exit {proc.returncode}: {proc.stderr[-2000:]}")
        user, sys_, rss_kib, elapsed = open(time_path).read().split()[-4:]
        stats = read_stats()
    cpu = float(user) + float(sys_)
    fake_cpu = fake_rusage.ru_utime + fake_rusage.ru_stime
    nats_cpu = nats_rusage.ru_utime + nats_rusage.ru_stime if nats_rusage else None
    ok = fake_ok(kind, stats, events) and (not relay or stored == events)
    return {
        "name": name,
        "events": events,
        "wall_s": float(elapsed),
        "events_per_s": events / float(elapsed),
        "user_s": float(user),
        "sys_s": float(sys_),
        "cpu_us_per_event": cpu / events * 1e6,
        "user_us_per_event": float(user) / events * 1e6,
        "sys_us_per_event": float(sys_) / events * 1e6,
        "rss_mib": int(rss_kib) / 1024,
        "fake_cpu_us_per_event": fake_cpu / events * 1e6,
        "nats_cpu_us_per_event": nats_cpu / events * 1e6 if nats_cpu is not None else None,
        "nats_rss_mib": nats_rusage.ru_maxrss / 1024 if nats_rusage else None,
        "stream_messages": stored,
        "fake": stats,
        "ok": ok,
        "client_tail": proc.stderr.strip().splitlines()[-1:],
    }


def scenarios(paced_events, unpaced_events):
    """(name, fake kind, N, poll arguments, relay?, the stdout twin of a relay run)."""
    return [
        ("stdout-paced", "tencent", paced_events, [], False, None),
        ("relay-paced", "tencent", paced_events, [], True, "stdout-paced"),
        ("stdout-unpaced", "tencent", unpaced_events, ["--rate", "0"], False, None),
        ("relay-unpaced", "tencent", unpaced_events, ["--rate", "0"], True, "stdout-unpaced"),
        ("relay-unpaced-c4", "tencent", unpaced_events, ["--rate", "0", "--concurrency", "4"],
         True, "stdout-unpaced"),
        ("mns-stdout", "mns", unpaced_events, [], False, None),
        ("mns-relay", "mns", unpaced_events, [], True, "mns-stdout"),
    ]


def main():
    ap = argparse.ArgumentParser(description="poll --to nats:// vs poll to stdout, loopback")
    ap.add_argument("--paced-events", type=int, default=50_000)
    ap.add_argument("--unpaced-events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lock", help="flock this file around each measurement and the build")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--nats-server", default="nats-server", help="the nats-server binary")
    ap.add_argument("--json", help="write all raw results to this file")
    args = ap.parse_args()

    if not args.no_build:
        build(args.lock)
    chosen = args.only.split(",") if args.only else None
    todo = [s for s in scenarios(args.paced_events, args.unpaced_events)
            if not chosen or s[0] in chosen]
    if not todo:
        ap.error(f"--only {args.only}: no such scenario")

    results = {s[0]: [] for s in todo}
    ratios = []  # per round: {relay name: relay CPU/event ÷ stdout CPU/event}
    for round_ in range(1, args.repeat + 1):
        for name, kind, events, poll_args, relay, _ in todo:
            with Lock(args.lock):
                r = run(name, kind, events, poll_args, relay, args.nats_server)
            results[name].append(r)
            extra = (f", nats {r['nats_cpu_us_per_event']:.1f} µs/ev "
                     f"({r['nats_rss_mib']:.0f} MiB), stream {r['stream_messages']}"
                     if relay else "")
            print(f"round {round_} {name}: N {events}, {r['events_per_s']:.0f} ev/s, "
                  f"{r['cpu_us_per_event']:.1f} µs/ev ({r['user_s']:.2f} u + {r['sys_s']:.2f} s), "
                  f"{r['rss_mib']:.1f} MiB, fake {r['fake_cpu_us_per_event']:.1f} µs/ev{extra}, "
                  f"ok={r['ok']} | {' '.join(r['client_tail'])}", file=sys.stderr, flush=True)
        this_round = {}
        for name, _, _, _, _, twin in todo:
            if twin and results.get(twin) and len(results[twin]) == round_:
                this_round[name] = (results[name][-1]["cpu_us_per_event"]
                                    / results[twin][-1]["cpu_us_per_event"])
        ratios.append(this_round)

    print(f"\nN = {args.paced_events} paced, {args.unpaced_events} unpaced; "
          f"{args.repeat} rounds; medians\n")
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    print("| scenario | N | events/s | poll CPU µs / event | user / sys µs | peak RSS MiB "
          "| fake CPU µs / event | nats-server CPU µs / event | relay ÷ stdout CPU "
          "| all acked once (and N in the stream) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, runs in results.items():
        nats = (f"{med(runs, 'nats_cpu_us_per_event'):.1f}"
                if runs[0]["nats_cpu_us_per_event"] is not None else "—")
        values = [r[name] for r in ratios if name in r]
        ratio = f"{statistics.median(values):.2f}×" if values else "—"
        print(f"| {name} | {runs[0]['events']} | {med(runs, 'events_per_s'):.0f} "
              f"| {med(runs, 'cpu_us_per_event'):.1f} "
              f"| {med(runs, 'user_us_per_event'):.1f} / {med(runs, 'sys_us_per_event'):.1f} "
              f"| {med(runs, 'rss_mib'):.1f} | {med(runs, 'fake_cpu_us_per_event'):.1f} "
              f"| {nats} | {ratio} | {'yes' if all(r['ok'] for r in runs) else 'NO'} |")
    print("\nper round, relay ÷ stdout CPU/event: " + "; ".join(
        ", ".join(f"{n} {v:.2f}×" for n, v in r.items()) for r in ratios))
    if "relay-paced" in results:
        values = [r["relay-paced"] for r in ratios if "relay-paced" in r]
        if values:
            m = statistics.median(values)
            print(f"target: paced, relay ≤ {TARGET_PACED_RATIO}× stdout CPU/event: "
                  f"{'met' if m <= TARGET_PACED_RATIO else 'NOT met'} (median {m:.2f}×)")
    for name in ("relay-unpaced", "relay-unpaced-c4", "mns-relay"):
        if name in results:
            rate = med(results[name], "events_per_s")
            print(f"target: {name} ≥ {TARGET_UNPACED_RATE:,.0f} events/s: "
                  f"{'met' if rate >= TARGET_UNPACED_RATE else 'NOT met'} ({rate:,.0f}/s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "ratios": ratios}, f, indent=1)
    if not all(r["ok"] for runs in results.values() for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
