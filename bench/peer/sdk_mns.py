#!/usr/bin/env python3
"""Peer for the MNS end-to-end benchmark: the official Alibaba Cloud MNS Python SDK
(``aliyun-mns-sdk``) draining a queue with the plain consumer loop its documentation shows.

    bench/peer/sdk_mns.py --queue-url http://127.0.0.1:PORT/queues/vod-callback --max-events 100000

On first use it creates a virtualenv (``$MNS_SDK_VENV``, else
``${XDG_CACHE_HOME:-~/.cache}/vod-events/mns-sdk-venv``) and installs ``aliyun-mns-sdk``
from PyPI (pinned below), then re-runs itself inside it. ``--setup-only`` just does that and
prints the virtualenv's python (for ``bench/mns_e2e.py``, which then runs this script with that
python so pip never runs under the timer). Nothing of the SDK is kept in this repository.

Loop, per consumer: ``batch_receive_message(16, wait_seconds=W)`` (a long poll; the SDK parses
the XML into its message objects; ``MessageNotExist`` after an empty hold is caught and the
loop goes on), then ``batch_delete_message`` with the receipt handles of everything received,
until ``--max-events`` messages were deleted in all. Bodies are raw: ``set_encoding(False)``
turns the SDK's base64 decoding off (the fake sends plain bodies, as VOD's MNS notifications
are). ``--threads K`` runs K consumers, each with its own ``Account`` (the SDK keeps one HTTP
connection per client, not safe to share). Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID /
ALIBABA_CLOUD_ACCESS_KEY_SECRET, as ``poll --mns``. One summary line goes to stderr; exit 0 once
``--max-events`` were deleted, 1 on any SDK error.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
import venv
from urllib.parse import urlparse

PACKAGES = ["aliyun-mns-sdk==1.3.0"]
BATCH = 16  # MNS's most messages per BatchReceiveMessage and handles per BatchDeleteMessage


def venv_dir():
    if os.environ.get("MNS_SDK_VENV"):
        return os.environ["MNS_SDK_VENV"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "vod-events", "mns-sdk-venv")


def ensure_venv():
    """Re-executes this script inside the SDK virtualenv, creating it if needed."""
    where = venv_dir()
    if os.path.realpath(sys.prefix) == os.path.realpath(where):
        return
    python = os.path.join(where, "bin", "python")
    marker = os.path.join(where, ".sdk-installed")
    wanted = "\n".join(PACKAGES) + "\n"
    if not os.path.exists(marker) or open(marker).read() != wanted:
        print(f"sdk_mns: creating {where} and installing {' '.join(PACKAGES)}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
        subprocess.run([python, "-m", "pip", "install", "--quiet", *PACKAGES], check=True,
                       stdout=sys.stderr)
        with open(marker, "w") as f:
            f.write(wanted)
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-url", required=True,
                        help="http://HOST:PORT/queues/NAME, as fake_mns prints it")
    parser.add_argument("--max-events", type=int, required=True)
    parser.add_argument("--wait-seconds", type=int, default=30,
                        help="long-poll wait of each batch_receive_message (default 30, MNS's most)")
    parser.add_argument("--threads", type=int, default=1, help="consumers (default 1)")
    args = parser.parse_args()

    from mns.account import Account
    from mns.mns_exception import MNSExceptionBase

    url = urlparse(args.queue_url)
    parts = url.path.strip("/").split("/")
    if len(parts) != 2 or parts[0] != "queues":
        parser.error(f"--queue-url {args.queue_url!r}: expected http://HOST:PORT/queues/NAME")
    endpoint = f"{url.scheme}://{url.netloc}"  # the SDK adds /queues/NAME/messages itself
    access_id = os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"]
    access_key = os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]

    lock = threading.Lock()
    done = threading.Event()
    totals = {"deleted": 0, "receives": 0, "empty": 0}
    failures = []

    def consume():
        queue = Account(endpoint, access_id, access_key).get_queue(parts[1])
        queue.set_encoding(False)  # raw bodies: no base64 decoding
        try:
            while not done.is_set():
                try:
                    messages = queue.batch_receive_message(BATCH, wait_seconds=args.wait_seconds)
                except MNSExceptionBase as e:
                    if e.type != "MessageNotExist":
                        raise
                    with lock:  # the hold ended with nothing to give
                        totals["receives"] += 1
                        totals["empty"] += 1
                    continue
                handles = [m.receipt_handle for m in messages]
                queue.batch_delete_message(handles)
                with lock:
                    totals["receives"] += 1
                    totals["deleted"] += len(handles)
                    if totals["deleted"] >= args.max_events:
                        done.set()
        except Exception as e:  # noqa: BLE001 - report any SDK failure and stop everyone
            failures.append(f"{type(e).__name__}: {e}")
            done.set()

    started = time.monotonic()
    # Daemon threads: once the count is reached, consumers still in a long poll on the empty
    # queue are not waited for (their hold would only add wall time).
    threads = [threading.Thread(target=consume, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    done.wait()
    elapsed = time.monotonic() - started
    with lock:
        deleted, receives, empty = totals["deleted"], totals["receives"], totals["empty"]
    if failures:
        print(f"sdk_mns: failed: {failures[0]}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)
    print(
        f"sdk_mns: done: {deleted} messages deleted by {args.threads} consumer(s), "
        f"{receives} receives ({empty} empty), {elapsed:.1f} s, "
        f"{deleted / max(elapsed, 1e-9):.0f} events/s",
        file=sys.stderr,
    )
    sys.stderr.flush()
    os._exit(0)  # do not join consumers still holding a long poll


if __name__ == "__main__":
    ensure_venv()
    if sys.argv[1:] == ["--setup-only"]:
        print(sys.executable)
    else:
        main()
