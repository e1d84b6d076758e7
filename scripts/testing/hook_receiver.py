#!/usr/bin/env python3
"""A publish/play hook receiver for CueCast: checks the signature, logs each event, and decides.

Usage: hook_receiver.py --secret SECRET [--log events.jsonl] [--port 0] [--demo]

Prints the port it listens on, then serves until killed. Each POST is checked against `X-CueCast-Signature`
(sha256= and the hex HMAC-SHA256 of the raw body under SECRET, compared in constant time) and appended to the
log as one JSON line: {"event": <the body>, "signatureValid": true|false}.

Decisions, for `publish` and `play`, are made from the stream name, so one receiver can play every part a test
needs (a bad signature always gets 401):
  deny…     403 {"reason": "merchant suspended"}
  slow…     answers 200 after 10 s
  badjson…  200 with a body that is not JSON
  rename…   200 {"stream": "renamed"}
  flaky…    allowed; its first `_done` event gets 503 (CueCast retries)
  anything else: 200 with an empty body
With --demo every stream is allowed: a starting point for a real receiver. Shares no code with CueCast.
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    lock = threading.Lock()
    failed_once = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, self.headers.get("X-CueCast-Signature", ""))
            try:
                event = json.loads(body)
            except ValueError:
                event = {"unparsed": body.decode("utf-8", "replace")}
            if args.log:
                with lock, open(args.log, "a") as log:
                    log.write(json.dumps({"event": event, "signatureValid": valid}) + "\n")
            if not valid:
                return self.answer(401, b'{"reason": "bad signature"}')
            name = str(event.get("stream", ""))
            action = event.get("action")
            if not args.demo and name.startswith("flaky") and action in ("publish_done", "play_done"):
                with lock:
                    first = (action, event.get("sessionID")) not in failed_once
                    failed_once.add((action, event.get("sessionID")))
                if first:
                    return self.answer(503, b'{"reason": "try again"}')
            if args.demo or action not in ("publish", "play"):
                return self.answer(200, b"")
            if name.startswith("deny"):
                return self.answer(403, b'{"reason": "merchant suspended"}')
            if name.startswith("slow"):
                time.sleep(10)
                return self.answer(200, b"")
            if name.startswith("badjson"):
                return self.answer(200, b"{not json")
            if name.startswith("rename"):
                return self.answer(200, b'{"stream": "renamed"}')
            return self.answer(200, b"")

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
