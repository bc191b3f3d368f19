#!/usr/bin/env python3
"""The operator's soak of `examples/poll`, run from outside as a user would: a fake VOD server
process holding N events, a short visibility window, every fault of a real deployment at once
(HTTP 500, RequestLimitExceeded, InternalError, resets, truncated JSON, 3 s slow answers,
actions applied but answers lost), partially rejected confirm batches, unknown event types
and fields; then `poll --max-events N --concurrency 2`. Not run by CI (about 90 s).

    CARGO_TARGET_DIR=/work/target-perf python3 bench/outside_soak.py --events 20000

Checks: poll exits 0; stdout holds N lines, all distinct, all valid JSON; the fake confirmed
all N, holds none queued or in flight; an unknown field's u64::MAX survived byte for byte.

`--mns` runs the same soak against `examples/fake_mns` (every fault of the fake MNS at once:
HTTP 500, QpsLimitExceeded, resets, truncated XML, slow answers, receives and deletes applied
but answers lost, partially failed batch deletes) with two `poll --mns` processes draining
one queue at once (`--idle-exit`), as two consumers of a deployment would:

    CARGO_TARGET_DIR=/work/target-perf python3 bench/outside_soak.py --mns --events 20000

Checks: both exit 0; every message printed, none twice by one process; the fake deleted all
N and holds none. A message whose delete was refused comes back after its visibility timeout
and may be printed by the other process too (at least once, across consumers): counted.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, Lock, example, target_dir  # noqa: E402,F401

SECRET_ID = "AKIDFAKEVOD0000000000000000000000000"
SECRET_KEY = "FakeVodSecretKey0000000000000000"


def main():
    ap = argparse.ArgumentParser(description="outside soak of examples/poll")
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--faults", default="0.17")
    ap.add_argument("--visibility-ms", default="3000")
    ap.add_argument("--seed", default="7")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--mns", action="store_true", help="soak poll --mns against fake_mns")
    args = ap.parse_args()
    if args.mns:
        soak_mns(args)
        return
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--example", "poll", "--example",
                        "fake_server"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = os.path.join(tmp, "fake.json")
        out_path = os.path.join(tmp, "events.jsonl")
        fake = subprocess.Popen(
            [example("fake_server"), "--events", str(args.events), "--hold-ms", "1000",
             "--visibility-ms", args.visibility_ms, "--faults", args.faults, "--seed", args.seed,
             "--unknown-every", "50", "--stats-file", stats_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            endpoint = fake.stdout.readline().strip()
            env = dict(os.environ, TENCENTCLOUD_SECRET_ID=SECRET_ID,
                       TENCENTCLOUD_SECRET_KEY=SECRET_KEY, RUST_LOG="error")
            with open(out_path, "w") as out:
                poll = subprocess.run(
                    [example("poll"), "--endpoint", endpoint, "--concurrency", "2",
                     "--max-events", str(args.events)],
                    env=env, stdout=out, stderr=subprocess.PIPE, text=True, timeout=900)
        finally:
            fake.stdin.close()
            fake.wait(timeout=30)
        stats = json.load(open(stats_path))
        lines = open(out_path).read().splitlines()
    events = [json.loads(line) for line in lines]
    summary = poll.stderr.strip().splitlines()[-1] if poll.stderr.strip() else ""
    checks = {
        "poll exited 0": poll.returncode == 0,
        f"{args.events} lines printed": len(lines) == args.events,
        "no line printed twice": len(set(lines)) == len(lines),
        f"fake confirmed {args.events}": stats["confirmed"] == args.events,
        "nothing queued or in flight": stats["queued"] == 0 and stats["in_flight"] == 0,
        "u64::MAX in an unknown field kept exactly":
            all('"Big":18446744073709551615' in line
                for line in lines if "FieldNobodyKnows" in line)
            and any("FieldNobodyKnows" in line for line in lines),
    }
    print(summary)
    print(json.dumps({k: stats[k] for k in ("confirmed", "deliveries", "redeliveries",
                                              "confirm_handle_rejections", "errors", "requests")}))
    print(f"{len(events)} events of {len({e['EventType'] for e in events})} types")
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    sys.exit(0 if all(checks.values()) else 1)


def soak_mns(args):
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--example", "poll", "--example",
                        "fake_mns"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        fake = subprocess.Popen(
            [example("fake_mns"), "--messages", str(args.events), "--hold-ms", "1000",
             "--visibility-ms", args.visibility_ms, "--faults", args.faults, "--seed", args.seed],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = fake.stdout.readline().strip()
            env = dict(os.environ, ALIBABA_CLOUD_ACCESS_KEY_ID="LTAIFakeMnsAccessKeyId",
                       ALIBABA_CLOUD_ACCESS_KEY_SECRET="FakeMnsAccessKeySecret000000000",
                       RUST_LOG="error")
            outs = [os.path.join(tmp, f"consumer{i}.jsonl") for i in range(2)]
            errs = [os.path.join(tmp, f"consumer{i}.err") for i in range(2)]
            polls = [subprocess.Popen(
                [example("poll"), "--mns", url, "--concurrency", "2", "--idle-exit", "12"],
                env=env, stdout=open(outs[i], "w"), stderr=open(errs[i], "w"))
                for i in range(2)]
            codes = [p.wait(timeout=900) for p in polls]
        finally:
            # communicate() closes the fake's stdin, which stops it; it then prints its stats.
            _, fake_err = fake.communicate(timeout=30)
        stats = json.loads(fake_err.strip().splitlines()[-1])
        printed = [open(o).read().splitlines() for o in outs]
        summaries = [open(e).read().strip().splitlines()[-1:] for e in errs]
    union = set(printed[0]) | set(printed[1])
    checks = {
        "both consumers exited 0": codes == [0, 0],
        f"all {args.events} messages printed": len(union) == args.events,
        "none printed twice by one consumer": all(len(set(p)) == len(p) for p in printed),
        "all valid JSON": all(json.loads(line) is not None for p in printed for line in p),
        f"fake deleted {args.events}": stats["deleted"] == args.events,
        "nothing left in the queue": stats["queued"] == 0,
    }
    for summary in summaries:
        print(*summary)
    print(json.dumps(stats))
    print(f"printed {len(printed[0])} + {len(printed[1])} lines, {len(union)} distinct; "
          f"{len(printed[0]) + len(printed[1]) - len(union)} printed by both consumers")
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
