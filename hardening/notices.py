"""Notices and webhooks as outsiders see them: a real SMTP server
(aiosmtpd) receives the server's e-mail, and a receiver verifies every
webhook with the Standard Webhooks reference library (standardwebhooks),
both pinned in hardening/requirements.txt.

    target/hardening-venv/bin/python hardening/notices.py --engine sqlite

- fulfilling an order puts the delivery e-mail, with every one of its
  codes, in the mailbox of the agreement's notice contact, and nowhere
  else; a site pack's notice follows;
- an organization's endpoint receives its organization's events, each
  verified by the reference library, and none of another's;
- a receiver failing (500) gets the event again about 5 s later, with the
  same webhook-id;
- after a secret rotation, a delivery verifies with the old secret and the
  new one alike.
"""

import argparse
import email
import email.policy
import http.server
import json
import threading
import time

from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import lg

SECRET = "hardening-notices-secret-0123456789abcdef"


class Mailbox:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address):
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]

    def all(self):
        with self.lock:
            return list(self.messages)


class Hooks(http.server.BaseHTTPRequestHandler):
    got = []
    fail_next = {"a": 0}
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        path = self.path.strip("/")
        with Hooks.lock:
            Hooks.got.append((path, dict((k.lower(), v) for k, v in self.headers.items()), body))
            failing = Hooks.fail_next.get(path, 0) > 0
            if failing:
                Hooks.fail_next[path] -= 1
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args):
        pass

    @classmethod
    def on(cls, path):
        with cls.lock:
            return [(h, b) for p, h, b in cls.got if p == path]


def wait_for(what, check, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    lg.fail(f"waited {seconds} s for {what}")


def text_of(message):
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


CREATE_HOOK = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  endpoint { id } secret userErrors { code field message } } }"""
ROTATE = """mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) {
  secret userErrors { code } } }"""


def verified(secret, headers, body):
    return Webhook(secret).verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        lg.build()
    work, cleanup = lg.workdir()
    db = lg.Database(args.engine, work)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=lg.free_port())
    smtp.start()
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    hook_base = f"http://127.0.0.1:{hooks.server_address[1]}"
    server = lg.Server(db.url, work, SECRET, extra_env={
        "LICENSEGRAPH_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "LICENSEGRAPH_MAIL_FROM": "licensegraph <notices@hardening.example>",
        "LICENSEGRAPH_DESK_EMAIL": "desk@hardening.example",
        "LICENSEGRAPH_DISPATCH_INTERVAL_MS": "200",
    })
    try:
        server.start()
        admin = lg.Client(server.port, server.token("desk@hardening.example", "admin"))
        school, agreement = lg.customer(admin, "Notice School")
        other, other_agreement = lg.customer(admin, "Other Notice School")
        boss = lg.Client(server.port, server.token("boss@notice.example", "customer_admin", school))
        other_boss = lg.Client(server.port, server.token("boss@other.example", "customer_admin", other))
        mine = boss.mutate(CREATE_HOOK, {"input": {"url": f"{hook_base}/a", "eventTypes": []}})
        theirs = other_boss.mutate(CREATE_HOOK, {"input": {"url": f"{hook_base}/b", "eventTypes": []}})
        secret, other_secret = mine["secret"], theirs["secret"]

        # a class pack and a site pack fulfilled; the other school only places an order.
        order = lg.invoiced_order(admin, agreement, 1)
        admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}})
        site = lg.invoiced_order(admin, agreement, 1, sku="SITE-MTA-MOS-MCE-125")
        admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": site}})
        lg.invoiced_order(admin, other_agreement, 1)
        contact = "licensing@hardening.example"
        mails = wait_for("three e-mails to the notice contact", lambda: len(mailbox.to(contact)) >= 3 and mailbox.to(contact))
        codes = [c["value"] for c in lg.codes_of(admin, order)]
        delivery = next(m for m in mails if "30 codes" in m["subject"])
        body = text_of(delivery)
        missing = [c for c in codes if c not in body]
        if missing or len(codes) != 30:
            lg.fail(f"the delivery e-mail lacks {len(missing)} of the order's {len(codes)} codes")
        if not any("site pack" in m["subject"].lower() for m in mails):
            lg.fail("no site-pack notice: " + ", ".join(m["subject"] for m in mails))
        strangers = [r for r, _ in mailbox.all() if r != [contact]]
        if strangers:
            lg.fail(f"e-mail went to others: {strangers}")
        lg.log(f"mail: {len(mails)} messages to the notice contact, all 30 codes in the delivery, none elsewhere")

        # Webhooks: each verified by the reference library, none of another's.
        def my_types():
            return [json.loads(b)["type"] for _, b in Hooks.on("a")]
        wait_for("the fulfilment webhooks", lambda: my_types().count("order.fulfilled") == 2)
        for headers, body in Hooks.on("a"):
            event = verified(secret, headers, body)
            if other in json.dumps(event):
                lg.fail("school A's endpoint received something of school B")
            try:
                verified(other_secret, headers, body)
                lg.fail("a delivery verified with another endpoint's secret")
            except WebhookVerificationError:
                pass
        theirs_got = wait_for("school B's three order events", lambda: len(Hooks.on("b")) >= 3 and Hooks.on("b"))
        time.sleep(1)  # anything more would have come by now
        theirs_got = Hooks.on("b")
        # Deliveries run concurrently: webhooks promise no order (events carry their time).
        if sorted(json.loads(b)["type"] for _, b in theirs_got) != ["order.confirmed", "order.invoiced", "order.placed"]:
            lg.fail(f"school B's endpoint got {[json.loads(b)['type'] for _, b in theirs_got]}")
        for headers, body in theirs_got:
            verified(other_secret, headers, body)
            if order in body.decode():
                lg.fail("school B's endpoint received school A's order")
        lg.log(f"webhooks: {len(Hooks.on('a'))} to A verified by standardwebhooks, {len(theirs_got)} to B, none crossed")

        # A failure, then the retry ~5 s later with the same id.
        with Hooks.lock:
            Hooks.fail_next["a"] = 1
        before = len(Hooks.on("a"))
        failed_at = time.monotonic()
        lg.invoiced_order(admin, agreement, 1)  # placed, confirmed, invoiced: 3 events, the first fails
        got = wait_for("the retry", lambda: len(Hooks.on("a")) >= before + 4 and Hooks.on("a"))
        retry_after = time.monotonic() - failed_at
        ids = [h["webhook-id"] for h, _ in got[before:]]
        if len(ids) != len(set(ids)) + 1:
            lg.fail(f"expected exactly one id twice (the retry): {ids}")
        if retry_after < 4:
            lg.fail(f"retried after {retry_after:.1f} s, sooner than the schedule's 5 s")
        lg.log(f"retry: the failed delivery came again after {retry_after:.1f} s with its webhook-id")

        # Rotation: both secrets verify during it.
        rotated = boss.mutate(ROTATE, {"input": {"id": mine["endpoint"]["id"], "keepPreviousHours": 1}})["secret"]
        before = len(Hooks.on("a"))
        boss.mutate(lg.PLACE, {"input": {"agreementId": agreement, "packageSku": "CLASS-MCP-30", "quantity": 1, "term": "PRORATED"}})
        headers, body = wait_for("a delivery after the rotation", lambda: len(Hooks.on("a")) > before and Hooks.on("a")[before])
        verified(secret, headers, body)
        verified(rotated, headers, body)
        lg.log("rotation: the delivery verified with the old and the new secret")

        notices = admin.data("{ notices(first: 50) { nodes { kind status recipients } } }")["notices"]["nodes"]
        if any(n["status"] != "SENT" for n in notices if n["kind"] in ("CODES_DELIVERED", "SITE_PACK")):
            lg.fail(f"notices not all sent: {notices}")
        if server.panicked():
            lg.fail("the server panicked")
        print("notices: passed")
    finally:
        server.stop()
        smtp.stop()
        hooks.shutdown()
        db.close()
        cleanup()


if __name__ == "__main__":
    main()
