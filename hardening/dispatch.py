"""Exactly once in effect (issue 21, item 5): webhooks are delivered at
least once, with a stable id, through a process killed mid-dispatch; and
two processes on one PostgreSQL database never send the same message twice.

    python3 hardening/dispatch.py kill --engine sqlite     # or postgres
    python3 hardening/dispatch.py pair                     # PostgreSQL

kill: 1 000 `code.assigned` events (one bulk assignment) go to a receiver
      that answers slowly; the server is killed (SIGKILL) once a few hundred
      have arrived, and started again. Every event arrives; a duplicate only
      ever repeats an id; the ids are exactly the events in the database.
pair: two processes dispatch from one database at once: every event
      arrives, no more often than it was attempted (each attempt is sent
      by one process), and each delivery e-mail is written once.
"""

import argparse
import base64
import collections
import glob
import http.server
import json
import os
import threading
import time

import lg

SECRET = "hardening-dispatch-secret-0123456789abcdef"
EVENTS = 1000


class Receiver(http.server.BaseHTTPRequestHandler):
    ids = collections.Counter()
    lock = threading.Lock()
    delay = 0.0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        time.sleep(Receiver.delay)
        with Receiver.lock:
            Receiver.ids[self.headers.get("webhook-id")] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

    @classmethod
    def seen(cls):
        with cls.lock:
            return collections.Counter(cls.ids)


HOOK = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  endpoint { id } secret userErrors { code field message } } }"""
ASSIGN = """mutation($input: AssignCodesInput!) { assignCodes(input: $input) { assigned userErrors { code message } } }"""


def burst(admin, agreement, receiver_url):
    """A desk endpoint for code.assigned, then 1 000 assignments in one go."""
    admin.mutate(HOOK, {"input": {"url": receiver_url, "eventTypes": ["code.assigned"]}})
    order = lg.invoiced_order(admin, agreement, 34)  # 1 020 vouchers
    admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}})
    people = [f"learner{i}@dispatch.example" for i in range(EVENTS)]
    assigned = admin.mutate(ASSIGN, {"input": {"orderId": order, "assignees": people}})["assigned"]
    if assigned != EVENTS:
        lg.fail(f"assigned {assigned}")
    return order


def wait_all(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(Receiver.seen()) >= EVENTS:
            return Receiver.seen()
        time.sleep(0.2)
    lg.fail(f"after {seconds} s the receiver has {len(Receiver.seen())} of {EVENTS} events")


def global_event_id(row):
    return base64.urlsafe_b64encode(f"Event:{row}".encode()).decode().rstrip("=")


def event_ids(db):
    return {global_event_id(r[0]) for r in db.query("SELECT id FROM events WHERE type = 'code.assigned'")}


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024  # two processes x 64 requests in flight
    daemon_threads = True


def start_receiver():
    server = Server(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


def kill(engine):
    work, cleanup = lg.workdir()
    db = lg.Database(engine, work)
    receiver, url = start_receiver()
    Receiver.delay = 0.004
    # A 2 s timeout makes a claim's lease 16 s: the restarted process takes
    # over the dead one's claims after that.
    env = {"LICENSEGRAPH_DISPATCH_INTERVAL_MS": "100", "LICENSEGRAPH_MAIL_DIR": os.path.join(work, "mail"),
           "LICENSEGRAPH_WEBHOOK_TIMEOUT_SECS": "2"}
    server = lg.Server(db.url, work, SECRET, extra_env=env)
    try:
        server.start()
        admin = lg.Client(server.port, server.token("desk@dispatch.example", "admin"))
        _, agreement = lg.customer(admin, "Dispatch School")
        started = time.monotonic()
        burst(admin, agreement, url)
        while len(Receiver.seen()) < 200:
            if time.monotonic() - started > 60:
                lg.fail("no deliveries within 60 s")
            time.sleep(0.02)
        before = len(Receiver.seen())
        server.kill()
        lg.log(f"killed with {before} of {EVENTS} delivered")
        server.start()
        seen = wait_all(300)
        elapsed = time.monotonic() - started
        if set(seen) != event_ids(db):
            lg.fail("the ids received are not the events written")
        duplicates = sum(n - 1 for n in seen.values())
        if server.panicked():
            lg.fail("the server panicked")
        print(f"dispatch kill ({engine}): {EVENTS} events all delivered through a SIGKILL at {before}, "
              f"{duplicates} duplicates (each a repeated id), {elapsed:.1f} s")
    finally:
        server.stop()
        receiver.shutdown()
        db.close()
        cleanup()


def pair():
    work, cleanup = lg.workdir()
    db = lg.Database("postgres", work)
    receiver, url = start_receiver()
    Receiver.delay = 0.001
    servers = [
        lg.Server(db.url, work, SECRET, name=f"server{i}", extra_env={
            "LICENSEGRAPH_DISPATCH_INTERVAL_MS": "50",
            "LICENSEGRAPH_MAIL_DIR": os.path.join(work, f"mail{i}"),
        })
        for i in (1, 2)
    ]
    try:
        for s in servers:
            s.start()
        admin = lg.Client(servers[0].port, servers[0].token("desk@dispatch.example", "admin"))
        _, agreement = lg.customer(admin, "Paired School")
        started = time.monotonic()
        burst(admin, agreement, url)
        seen = wait_all(300)
        elapsed = time.monotonic() - started
        time.sleep(2)  # anything sent twice would have arrived by now
        seen = Receiver.seen()
        # Each arrival is one recorded attempt: a second arrival of an id
        # is a retry the log shows (an attempt that timed out after the
        # receiver counted it), never two processes sending one attempt.
        attempts = {gid: int(n) for gid, n in (
            (global_event_id(r[0]), r[1]) for r in db.query(
                "SELECT d.event_id, count(a.id) FROM webhook_deliveries d "
                "JOIN webhook_attempts a ON a.delivery_id = d.id GROUP BY d.event_id"))}
        doubled = [i for i, n in seen.items() if n > attempts.get(i, 0)]
        if doubled:
            lg.fail(f"{len(doubled)} events arrived more often than they were attempted: sent twice by two processes")
        retried = sum(n - 1 for n in seen.values())
        mails = glob.glob(os.path.join(work, "mail*", "*.eml"))
        if len(mails) != 1:
            lg.fail(f"the delivery e-mail was written {len(mails)} times")
        for s in servers:
            if s.panicked():
                lg.fail("a server panicked")
        print(f"dispatch pair (postgres): {EVENTS} events, each attempt sent by one of two processes "
              f"({retried} retried after a failed attempt); one delivery e-mail; {elapsed:.1f} s")
    finally:
        for s in servers:
            s.stop()
        receiver.shutdown()
        db.close()
        cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["kill", "pair"])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        lg.build()
    if args.scenario == "kill":
        kill(args.engine)
    else:
        pair()


if __name__ == "__main__":
    main()
