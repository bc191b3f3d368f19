#!/usr/bin/env python3
"""Peer for the end-to-end benchmark: the official Tencent Cloud Python SDK draining a VOD
event queue with the same PullEvents / ConfirmEvents loop as `examples/poll.rs`.

    bench/peer/sdk_poll.py --endpoint http://127.0.0.1:PORT/ --max-events 100000

On first use it creates a virtualenv next to this file (``bench/peer/.venv``, or ``$SDK_VENV``)
and installs ``tencentcloud-sdk-python-vod`` and ``tencentcloud-sdk-python-common`` from PyPI
(pinned below: the versions the spec was checked against), then re-runs itself inside it.
``--setup-only`` just does that and prints the virtualenv's python (for ``bench/e2e.py``,
which then runs this script with that python so pip never runs under the timer).

Loop: PullEvents (the SDK deserialises the response into its model objects), collect the
``EventHandle`` of every event, ConfirmEvents with those handles (at most 16 per call), repeat
until ``--max-events`` events were confirmed; ``--rate N`` paces each action to N requests
per second the way ``poll`` does (default: unpaced). Credentials: TENCENTCLOUD_SECRET_ID /
TENCENTCLOUD_SECRET_KEY. One summary line goes to stderr.
"""

import argparse
import os
import subprocess
import sys
import time
import venv
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("SDK_VENV") or os.path.join(HERE, ".venv")
PACKAGES = ["tencentcloud-sdk-python-common==3.1.195", "tencentcloud-sdk-python-vod==3.1.194"]
MAX_HANDLES = 16


def ensure_venv():
    """Re-executes this script inside the SDK virtualenv, creating it if needed."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    python = os.path.join(VENV, "bin", "python")
    marker = os.path.join(VENV, ".sdk-installed")
    if not os.path.exists(marker):
        print(f"sdk_poll: creating {VENV} and installing {' '.join(PACKAGES)}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        subprocess.run([python, "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
        with open(marker, "w") as f:
            f.write("\n".join(PACKAGES) + "\n")
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT/")
    parser.add_argument("--max-events", type=int, required=True)
    parser.add_argument("--sub-app-id", type=int)
    parser.add_argument(
        "--rate", type=float, default=0.0,
        help="most PullEvents and most ConfirmEvents per second, each, as poll's --rate "
             "(default 0: as fast as it goes)")
    args = parser.parse_args()

    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vod.v20180717 import models, vod_client

    url = urlparse(args.endpoint)
    http = HttpProfile(protocol=url.scheme, endpoint=url.netloc, reqTimeout=10, keepAlive=True)
    profile = ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http)
    cred = credential.Credential(
        os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"]
    )
    client = vod_client.VodClient(cred, "", profile)

    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    next_slot = {"pull": 0.0, "confirm": 0.0}

    def pace(action):
        """Waits for the action's next slot (one per `interval`), like poll's pacer."""
        if interval:
            now = time.monotonic()
            slot = max(now, next_slot[action])
            next_slot[action] = slot + interval
            if slot > now:
                time.sleep(slot - now)

    confirmed = pulls = empty = 0
    started = time.monotonic()
    while confirmed < args.max_events:
        pace("pull")
        req = models.PullEventsRequest()
        if args.sub_app_id is not None:
            req.SubAppId = args.sub_app_id
        resp = client.PullEvents(req)
        pulls += 1
        handles = [e.EventHandle for e in (resp.EventSet or []) if e.EventHandle]
        if not handles:
            empty += 1
            continue
        for i in range(0, len(handles), MAX_HANDLES):
            conf = models.ConfirmEventsRequest()
            conf.EventHandles = handles[i : i + MAX_HANDLES]
            if args.sub_app_id is not None:
                conf.SubAppId = args.sub_app_id
            pace("confirm")
            client.ConfirmEvents(conf)
            confirmed += len(conf.EventHandles)
    elapsed = time.monotonic() - started
    print(
        f"sdk_poll: done: {confirmed} events confirmed, {pulls} pulls ({empty} empty), "
        f"{elapsed:.1f} s, {confirmed / max(elapsed, 1e-9):.0f} events/s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    ensure_venv()
    if sys.argv[1:] == ["--setup-only"]:
        print(sys.executable)
    else:
        main()
