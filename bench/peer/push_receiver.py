#!/usr/bin/env python3
"""A minimal Alibaba VOD callback receiver on the standard library, the peer of
`examples/receive` in `bench/push_e2e.py`. Not run by CI.

    python3 bench/peer/push_receiver.py --listen 127.0.0.1:8080 --alibaba-auth-key KEY \
        --callback-url http://127.0.0.1:8080/ > events.jsonl

The same checks as `receive` makes of an Alibaba VOD callback, written the way a small
service would: `http.server.ThreadingHTTPServer` (a thread per connection, HTTP/1.1
keep-alive); X-VOD-TIMESTAMP within 300 s of now either way; X-VOD-SIGNATURE equal to
md5(CallbackURL|timestamp|key) in hex, compared with hmac.compare_digest; the body parsed as
JSON and required to be an object. An accepted event is printed as one line on stdout (the
body as received, as `receive` does) and flushed, then answered 200; a failed signature or timestamp 401, a bad body 400, another
path 404. SIGTERM: stop, exit 0.
"""

import argparse
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

WINDOW = 300
MAX_BODY = 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:8080")
    ap.add_argument("--alibaba-auth-key", required=True)
    ap.add_argument("--callback-url")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    callback_url = args.callback_url or f"http://{args.listen}/"
    path = urlsplit(callback_url).path or "/"
    key = args.alibaba_auth_key
    out = sys.stdout.buffer
    out_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                return self.answer(413)
            body = self.rfile.read(length)
            if self.path != path:
                return self.answer(404)
            ts = self.headers.get("X-VOD-TIMESTAMP")
            sig = self.headers.get("X-VOD-SIGNATURE")
            if not ts or not sig or not ts.isdigit() or abs(time.time() - int(ts)) > WINDOW:
                return self.answer(401)
            expected = hashlib.md5(f"{callback_url}|{ts}|{key}".encode()).hexdigest()
            if not hmac.compare_digest(expected, sig.lower()):
                return self.answer(401)
            try:
                event = json.loads(body)
            except ValueError:
                return self.answer(400)
            if not isinstance(event, dict):
                return self.answer(400)
            # As received, like `receive`; re-encoded only if it spans lines.
            line = body if b"\n" not in body else json.dumps(event).encode()
            with out_lock:
                out.write(line + b"\n")
                out.flush()
            self.answer(200)

    ThreadingHTTPServer.request_queue_size = 1024  # the default backlog of 5 drops SYNs
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    print(f"push_receiver: listening on http://{args.listen}, callback URL {callback_url}",
          file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
