"""Webhook dispatch throughput (issue 21: at least 500 a second): 5 000
`code.assigned` events (one bulk assignment) delivered to a loopback
receiver that verifies nothing and answers 204 at once, measured from the
first arrival to the last, on each engine, with the release build.

    python3 bench/webhooks.py [--events 5000] [--engines sqlite,postgres]

The receiver is Python's threading HTTP server with keep-alive; it runs on
the same two cores as the server, so the figure is a lower bound.
"""

import argparse
import collections
import http.server
import json
import os
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import run  # noqa: E402
from run import lg  # noqa: E402


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    arrivals = []
    ids = collections.Counter()
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        with Receiver.lock:
            Receiver.arrivals.append(time.monotonic())
            Receiver.ids[self.headers.get("webhook-id")] += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # 64 requests in flight: the default backlog of 5 drops connections,
    # and a dropped one costs its claim a timeout (measured: 233/s).
    request_queue_size = 1024
    daemon_threads = True


HOOK = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  endpoint { id } userErrors { code } } }"""
ASSIGN = """mutation($input: AssignCodesInput!) { assignCodes(input: $input) { assigned userErrors { code } } }"""


def one(engine, events, work):
    with Receiver.lock:
        Receiver.arrivals.clear()
        Receiver.ids.clear()
    receiver = Server(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    where = os.path.join(work, engine)
    os.makedirs(where, exist_ok=True)
    db = lg.Database(engine, where, pg_admin_url=run.PG_ADMIN)
    server = lg.Server(db.url, where, run.SECRET, bin=run.RELEASE, extra_env={
        "LICENSEGRAPH_LOG": "warn", "LICENSEGRAPH_DISPATCH_INTERVAL_MS": "100",
        "LICENSEGRAPH_MAIL_DIR": os.path.join(where, "mail")})
    try:
        server.start()
        admin = lg.Client(server.port, server.token("bench@licensegraph.example", "admin"))
        _, agreement = lg.customer(admin, f"Webhook Bench {engine}")
        admin.mutate(HOOK, {"input": {"url": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
                                      "eventTypes": ["code.assigned"]}})
        order = lg.invoiced_order(admin, agreement, -(-events // 30))
        admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}})
        people = [f"p{i}@bench.example" for i in range(events)]
        admin.mutate(ASSIGN, {"input": {"orderId": order, "assignees": people}})
        deadline = time.monotonic() + 300
        while len(Receiver.ids) < events and time.monotonic() < deadline:
            time.sleep(0.1)
        if len(Receiver.ids) < events:
            lg.fail(f"{engine}: {len(Receiver.ids)} of {events} delivered in 300 s")
        with Receiver.lock:
            span = Receiver.arrivals[events - 1] - Receiver.arrivals[0]
            twice = sum(1 for n in Receiver.ids.values() if n > 1)
        failed = db.scalar("SELECT count(*) FROM webhook_attempts WHERE error IS NOT NULL")
        return {"failed_attempts": failed, "events": events, "seconds": round(span, 2), "per_second": round((events - 1) / span),
                "sent_twice": twice}
    finally:
        server.stop()
        receiver.shutdown()
        db.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "licensegraph"], cwd=lg.ROOT, check=True)
    work, cleanup = lg.workdir()
    try:
        results = {engine: one(engine, args.events, work) for engine in args.engines.split(",")}
    finally:
        cleanup()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
