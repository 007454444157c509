"""A webhook receiver that verifies LiquidCompute's signatures with the Standard Webhooks
reference library (`pip install standardwebhooks`).

    LC_WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8765

Then subscribe it: POST /api/v1/webhooks {"url": "http://127.0.0.1:8765/", "eventTypes":
["service.*"]}. Each verified event is printed as one JSON line; a request whose signature
does not verify is answered 400 and printed nowhere. Deliveries are at least once: keep
the `webhook-id`s you have handled and skip repeats. Answer 2xx quickly (within 15 s);
do slow work after answering.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

seen: set[str] = set()
seen_lock = threading.Lock()


def make_handler(webhook: Webhook) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                event = webhook.verify(body.decode(), dict(self.headers.items()))
            except WebhookVerificationError:
                self.send_response(400)
                self.end_headers()
                return
            msg_id = self.headers["webhook-id"]
            with seen_lock:
                repeat = msg_id in seen
                seen.add(msg_id)
            if not repeat:
                print(json.dumps({"webhookId": msg_id, **event}), flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    secret = os.environ.get("LC_WEBHOOK_SECRET")
    if not secret:
        sys.exit("set LC_WEBHOOK_SECRET to the whsec_ secret the subscription was created with")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(Webhook(secret)))
    print(json.dumps({"listening": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
