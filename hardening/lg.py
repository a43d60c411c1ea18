"""Shared pieces of the hardening harnesses (soak.py, faults.py): start and
stop a licensegraph server, mint tokens, send GraphQL, read the database.

Standard library only, so the harnesses run on any Python 3.9+.
"""

import base64
import datetime
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug", "licensegraph")
PG_ADMIN_URL = os.environ.get("LICENSEGRAPH_CI_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def log(*parts):
    print(*parts, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build():
    subprocess.run(["cargo", "build", "--quiet", "--bin", "licensegraph"], cwd=ROOT, check=True)


class Database:
    """A scratch database: a SQLite file or a uniquely named PostgreSQL
    database on the local server (dropped by close())."""

    def __init__(self, engine, workdir, pg_admin_url=PG_ADMIN_URL):
        self.engine = engine
        self.pg_admin_url = pg_admin_url
        if engine == "sqlite":
            self.path = os.path.join(workdir, "hardening.db")
            self.url = f"sqlite://{self.path}"
        else:
            self.name = f"lg_hardening_{os.getpid()}_{secrets.token_hex(4)}"
            psql(pg_admin_url, f'CREATE DATABASE "{self.name}"')
            self.url = with_database(pg_admin_url, self.name)

    def query(self, sql):
        """Rows of a query, as tuples of text (both engines alike)."""
        if self.engine == "sqlite":
            con = sqlite3.connect(self.path, timeout=30)
            try:
                return [tuple(None if v is None else str(v) for v in row) for row in con.execute(sql).fetchall()]
            finally:
                con.close()
        out = psql(self.url, sql)
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def scalar(self, sql):
        rows = self.query(sql)
        return int(rows[0][0])

    def close(self):
        if self.engine == "postgres":
            psql(self.pg_admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def psql(url, sql):
    result = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout


class Server:
    """One licensegraph process on a free loopback port."""

    def __init__(self, database_url, workdir, secret, extra_env=None, name="server", bin=BIN, cwd=None):
        """`secret` None: no LICENSEGRAPH_JWT_SECRET, so development mode
        generates one (in the database, on PostgreSQL). `cwd`: the working
        directory of the process (the harness's by default)."""
        self.bin = bin
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.cwd = cwd
        self.env = dict(os.environ)
        self.env.pop("LICENSEGRAPH_JWT_SECRET", None)
        self.env.update({
            "LICENSEGRAPH_DATABASE_URL": database_url,
            "LICENSEGRAPH_LISTEN": f"127.0.0.1:{self.port}",
            "LICENSEGRAPH_LOG": "warn",
        })
        if secret is not None:
            self.env["LICENSEGRAPH_JWT_SECRET"] = secret
        self.env.update(extra_env or {})
        self.process = None

    def start(self, wait=True):
        log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen([self.bin, "serve"], env=self.env, stdout=log_file, stderr=subprocess.STDOUT,
                                        cwd=self.cwd)
        log_file.close()
        if wait:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited: {self.read_log()[-2000:]}")
                try:
                    status, _ = get(self.port, "/healthz")
                    if status == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.1)
            raise RuntimeError("the server did not come up in 60 s")
        return self

    def kill(self):
        """SIGKILL: no drain, no shutdown hook, like a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def read_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def panicked(self):
        return "panicked" in self.read_log()

    def token(self, sub, role, org=None, ttl="2h"):
        args = [self.bin, "token", "--sub", sub, "--role", role, "--ttl", ttl]
        if org:
            args += ["--org", org]
        out = subprocess.run(args, env=self.env, capture_output=True, text=True, check=True, cwd=self.cwd).stdout
        return out.strip().splitlines()[-1]


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Client:
    """A keep-alive GraphQL client for one thread."""

    def __init__(self, port, token=None, timeout=60):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.conn = None
        self.retried = False

    def post(self, query, variables=None, extra_headers=None):
        """(HTTP status, body as JSON or None). Raises OSError when the
        connection fails (counted by callers as a transport error)."""
        status, body, _ = self.post_with_headers(query, variables, extra_headers)
        return status, body

    def post_with_headers(self, query, variables=None, extra_headers=None):
        """(HTTP status, body as JSON or None, response headers)."""
        body = json.dumps({"query": query, "variables": variables or {}})
        headers = {"content-type": "application/json", "accept": "application/graphql-response+json"}
        headers.update(extra_headers or {})
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        self.retried = False
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", "/graphql", body, headers)
                response = self.conn.getresponse()
                raw = response.read()
                answer = dict((k.lower(), v) for k, v in response.getheaders())
                try:
                    return response.status, json.loads(raw), answer
                except ValueError:
                    return response.status, None, answer
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed: retry once on a
                # new one. (`retried` tells callers: if the connection was cut
                # after the request got through, as when a process behind a
                # load balancer dies mid-answer, it may have taken effect.)
                self.conn.close()
                self.conn = None
                self.retried = True
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def data(self, query, variables=None):
        """The `data` of a request that must succeed."""
        status, body = self.post(query, variables)
        if status != 200 or body is None or body.get("errors"):
            raise RuntimeError(f"{status}: {json.dumps(body)[:800]}")
        return body["data"]

    def mutate(self, query, variables=None):
        """The single payload of a mutation that must succeed without user errors."""
        data = self.data(query, variables)
        payload = next(iter(data.values()))
        if payload.get("userErrors"):
            raise RuntimeError(f"user errors: {payload['userErrors']}")
        return payload


def error_kind(status, body):
    """A short label for an answer: 'ok', 'http-503', 'gql-FORBIDDEN', 'user-ALREADY_REDEEMED'..."""
    if body is None:
        return f"http-{status}-not-json"
    if status != 200:
        code = ((body.get("errors") or [{}])[0].get("extensions") or {}).get("code")
        return f"http-{status}-{code}"
    if body.get("errors"):
        return "gql-" + str(((body["errors"][0].get("extensions")) or {}).get("code"))
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and payload.get("userErrors"):
            return "user-" + payload["userErrors"][0]["code"]
    return "ok"


CREATE_ORG = """mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { organization { id } userErrors { code field message } } }"""
CREATE_AGREEMENT = """mutation($input: CreateAgreementInput!) {
  createAgreement(input: $input) { agreement { id } userErrors { code field message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code field message } } }"""
STEP = """mutation($input: OrderStepInput!) {
  %s(input: $input) { order { id status } userErrors { code field message } } }"""


def customer(admin, name):
    """An accredited academic testing center with a current Select Plus for
    Education agreement (which, unlike EES, brings no Imagine Academy grant,
    R-33, so every order and code under it is the suite's own):
    (organization id, agreement id)."""
    org = admin.mutate(CREATE_ORG, {"input": {
        "name": name, "kind": "ACADEMIC", "accredited": True, "certiportTestingCenter": True}})["organization"]["id"]
    today = datetime.datetime.now(datetime.timezone.utc).date()
    number = "HARD-" + secrets.token_hex(4).upper()
    agreement = admin.mutate(CREATE_AGREEMENT, {"input": {
        "organizationId": org, "programCode": "SELECT_PLUS_EDU", "number": number,
        "startsOn": str(today - datetime.timedelta(days=30)), "endsOn": str(today + datetime.timedelta(days=335)),
        "noticeContact": "licensing@hardening.example"}})["agreement"]["id"]
    return org, agreement


def invoiced_order(admin, agreement, packs, sku="CLASS-MCP-30"):
    """An order placed, confirmed and invoiced (ready to fulfil): its id."""
    order = admin.mutate(PLACE, {"input": {
        "agreementId": agreement, "packageSku": sku, "quantity": packs, "term": "PRORATED"}})["order"]["id"]
    for step in ("confirmOrder", "invoiceOrder"):
        admin.mutate(STEP % step, {"input": {"id": order}})
    return order


CODES_PAGE = """query($order: ID!, $after: String) {
  codes(orderId: $order, first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id value } } }"""


def codes_of(admin, order):
    """Every code of an order, as {id, value}, page after page."""
    codes, after = [], None
    while True:
        page = admin.data(CODES_PAGE, {"order": order, "after": after})["codes"]
        codes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return codes
        after = page["pageInfo"]["endCursor"]


def row_id(global_id):
    """The row behind a global id ("Type:row", base64url without padding)."""
    padded = global_id + "=" * (-len(global_id) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().split(":")[1])


def workdir():
    path = tempfile.mkdtemp(prefix="lg-hardening-")
    return path, lambda: shutil.rmtree(path, ignore_errors=True)


def fail(message):
    log(f"FAILED: {message}")
    sys.exit(1)
