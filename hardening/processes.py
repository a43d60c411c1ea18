"""Several licensegraph processes on one PostgreSQL database, behind HAProxy
(Debian `haproxy`, round robin, health-checked on /readyz).

    python3 hardening/processes.py [--seconds 40] [--pgbouncer PATH] [--no-build]

With --pgbouncer (the binary hardening/tools.sh prints), the processes'
pools go through PgBouncer in transaction pooling mode, and their sessions
(the start's advisory lock, migrations, LISTEN) go to PostgreSQL directly
(LICENSEGRAPH_DATABASE_DIRECT_URL).

1. start: ten processes started at once on an empty database, each in a
   working directory of its own, no JWT secret configured: all come up, the
   database holds one migrated, seeded catalog (as one process makes it) and
   one generated secret, and a token minted through one is accepted by all.
2. budget: three of them behind HAProxy with a budget of 50 code attempts a
   minute: one subject's 150 attempts, spread over the three, get exactly 50
   through (one budget in the database, not three).
3. soak: three processes (budget lifted) behind HAProxy under the soak's
   load (hardening/soak.py: every invariant, from the database); one is
   stopped with SIGTERM mid-load (it answers 503 on /readyz at once, HAProxy
   moves away, no request fails) and started again; another is killed with
   SIGKILL and started again (the requests it held are the only ones that
   may fail, and their outcome is counted as unknown).

Prints its figures as JSON and exits non-zero on any failure.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

import dispatch
import lg
import soak

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CHECK_MS = 300


class HAProxy:
    """HAProxy in the foreground, round robin over `servers`."""

    def __init__(self, work, servers, name="haproxy"):
        self.port = lg.free_port()
        self.path = os.path.join(work, f"{name}.cfg")
        lines = [
            "global", "    maxconn 4096",
            "defaults", "    mode http", "    timeout connect 2s", "    timeout client 60s",
            "    timeout server 60s", "    timeout check 2s", "    retries 3", "    option redispatch",
            "    option http-keep-alive",
            "frontend api", f"    bind 127.0.0.1:{self.port}", "    default_backend licensegraph",
            "backend licensegraph", "    balance roundrobin",
            "    option httpchk GET /readyz", "    http-check expect status 200",
            # /readyz pings the database through the pool: under a load that
            # holds every connection it may take a while, which is not a
            # reason to take the process out (a short `timeout check` with
            # `fall 1` took the only process out under the bench's load).
            f"    default-server inter {CHECK_MS}ms fall 2 rise 2",
        ]
        lines += [f"    server s{i} 127.0.0.1:{s.port} check" for i, s in enumerate(servers)]
        with open(self.path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(work, f"{name}.log")
        self.process = None

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([HAPROXY, "-db", "-f", self.path], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if lg.get(self.port, "/healthz")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        lg.fail("HAProxy did not come up: " + open(self.log_path).read()[-2000:])

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class PgBouncer:
    """PgBouncer in transaction pooling mode in front of the local
    PostgreSQL, as the postgres user (it refuses to run as root)."""

    def __init__(self, binary, pool_size=20):
        self.binary = binary
        self.port = lg.free_port()
        self.dir = tempfile.mkdtemp(prefix="lg-pgbouncer-")
        os.chmod(self.dir, 0o755)
        admin = urllib.parse.urlsplit(lg.PG_ADMIN_URL)
        self.config = os.path.join(self.dir, "pgbouncer.ini")
        with open(os.path.join(self.dir, "userlist.txt"), "w") as f:
            f.write('"postgres" ""\n')
        with open(self.config, "w") as f:
            f.write("\n".join([
                "[databases]",
                f"* = host={admin.hostname} port={admin.port or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1", f"listen_port = {self.port}", "unix_socket_dir =",
                "auth_type = trust", f"auth_file = {self.dir}/userlist.txt",
                "pool_mode = transaction", f"default_pool_size = {pool_size}", "max_client_conn = 1000",
                "max_prepared_statements = 200", "ignore_startup_parameters = extra_float_digits",
                "admin_users = postgres",
                f"logfile = {self.dir}/pgbouncer.log", "",
            ]))
        self.process = None

    def url(self, database_url):
        """`database_url` through PgBouncer."""
        parts = urllib.parse.urlsplit(database_url)
        return urllib.parse.urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{self.port}"))

    def start(self):
        for name in os.listdir(self.dir):
            shutil.chown(os.path.join(self.dir, name), "postgres")
        shutil.chown(self.dir, "postgres")
        cmd = [self.binary, self.config]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                lg.psql(self.url(lg.PG_ADMIN_URL), "SELECT 1")
                return self
            except RuntimeError:
                time.sleep(0.1)
        lg.fail("PgBouncer did not come up: " + self.log()[-2000:])

    def transactions(self, database):
        """Transactions PgBouncer pooled for `database` (its SHOW STATS)."""
        console = urllib.parse.urlunsplit(urllib.parse.urlsplit(self.url(lg.PG_ADMIN_URL))._replace(path="/pgbouncer"))
        out = subprocess.run(["psql", "-X", "-At", "-F", "|", console, "-c", "SHOW STATS"],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            fields = line.split("|")
            if fields[0] == database:
                return int(fields[1])
        return 0

    def log(self):
        try:
            with open(os.path.join(self.dir, "pgbouncer.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def code_events(db):
    return db.scalar("SELECT COUNT(*) FROM events WHERE type IN ('code.assigned', 'code.redeemed')")


def wait_for_webhooks(db, hooks, seconds=90):
    """Until every code.* event has arrived (a killed process's claim comes
    back after its lease, 16 times the 2 s timeout)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(dispatch.Receiver.seen()) < code_events(db):
        time.sleep(0.5)


def webhooks(db, hooks, report):
    seen = dispatch.Receiver.seen()
    written = code_events(db)
    twice = sum(n - 1 for n in seen.values() if n > 1)
    report["webhooks (three dispatchers)"] = {"events written": written, "ids received": len(seen),
                                              "received more than once": twice}
    if len(seen) != written:
        lg.fail(f"webhooks: {len(seen)} distinct ids received, {written} code.* events written")


def served(server):
    """GraphQL requests a process answered, from its /metrics."""
    status, body = lg.get(server.port, "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("licensegraph_requests_total"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def start_phase(db, work, report, route):
    """Ten processes at once on an empty database."""
    servers = []
    for i in range(10):
        cwd = os.path.join(work, f"p{i}")
        os.makedirs(cwd)
        url, env = route(db)
        servers.append(lg.Server(url, work, None, name=f"start{i}", cwd=cwd, extra_env={
            **env, "LICENSEGRAPH_CODE_ATTEMPTS_PER_MINUTE": "50", "LICENSEGRAPH_DRAIN_GRACE_SECS": "1"}))
    started = time.monotonic()
    for s in servers:
        s.start(wait=False)
    deadline = time.monotonic() + 90
    for s in servers:
        while True:
            if s.process.poll() is not None:
                lg.fail(f"a process exited while ten started at once: {s.read_log()[-2000:]}")
            try:
                if lg.get(s.port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                lg.fail("ten processes did not all come up in 90 s")
            time.sleep(0.1)
    report["ten starts (s)"] = round(time.monotonic() - started, 1)

    # One catalog, as one process makes it alone.
    alone = lg.Database("postgres", work)
    try:
        subprocess.run([lg.BIN, "migrate"], env={**os.environ, "LICENSEGRAPH_DATABASE_URL": alone.url,
                                                 "LICENSEGRAPH_LOG": "warn"}, check=True)
        tables = ["seaql_migrations", "programs", "packages", "package_programs", "discount_tiers", "exams"]
        counts = {t: (db.scalar(f"SELECT COUNT(*) FROM {t}"), alone.scalar(f"SELECT COUNT(*) FROM {t}")) for t in tables}
    finally:
        alone.close()
    report["catalog rows (ten at once / one alone)"] = {t: f"{a}/{b}" for t, (a, b) in counts.items()}
    if any(a != b for a, b in counts.values()):
        lg.fail(f"ten processes starting at once did not leave one catalog: {counts}")
    secrets = db.scalar("SELECT COUNT(*) FROM instance_settings WHERE name = 'jwt_secret'")
    if secrets != 1:
        lg.fail(f"{secrets} generated secrets in the database")
    stray = [d for d in os.listdir(work) if d.startswith("p") and os.path.exists(os.path.join(work, d, "licensegraph.jwt-secret"))]
    if stray:
        lg.fail(f"secret files written in working directories: {stray}")

    # A token minted through one process (from the database's secret) is
    # accepted by every other.
    token = servers[3].token("desk@processes.example", "admin")
    for s in servers:
        status, body = lg.Client(s.port, token).post("{ organizations(first: 1) { totalCount } }")
        if status != 200 or (body or {}).get("errors"):
            lg.fail(f"process on {s.port} refused a token minted through another: {status} {body}")
    report["token accepted by"] = f"{len(servers)}/{len(servers)} processes"
    for s in servers[3:]:
        s.process.terminate()
    for s in servers[3:]:
        s.process.wait(timeout=60)
        if s.process.returncode != 0:
            lg.fail(f"a process stopped with SIGTERM exited {s.process.returncode}")
    return servers[:3], token


def budget_phase(servers, work, report, admin_token):
    """One subject's 150 attempts over three processes with a budget of 50."""
    proxy = HAProxy(work, servers).start()
    try:
        admin = lg.Client(proxy.port, admin_token)
        org, _ = lg.customer(admin, "Budget School")
        learner = servers[0].token("guesser@processes.example", "learner", org)
        # All 150 within one minute's window.
        if time.time() % 60 > 40:
            time.sleep(61 - time.time() % 60)
        minute = int(time.time() // 60)
        kinds = {}
        lock = threading.Lock()
        before = [served(s) for s in servers]

        def guess(n):
            client = lg.Client(proxy.port, learner)
            for i in range(n):
                status, body = client.post(soak.VALIDATE, {"value": f"GUESS-{threading.get_ident()}-{i}"})
                kind = lg.error_kind(status, body)
                with lock:
                    kinds[kind] = kinds.get(kind, 0) + 1
        threads = [threading.Thread(target=guess, args=(50,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if int(time.time() // 60) != minute:
            lg.fail("the attempts spilled into the next minute: rerun")
        spread = [served(s) - b for s, b in zip(servers, before)]
        report["budget: 150 attempts, budget 50"] = {"answers": kinds, "per process": spread}
        if kinds.get("ok") != 50 or kinds.get("http-429-RATE_LIMITED") != 100:
            lg.fail(f"one budget across three processes lets 50 through, not {kinds}")
        if min(spread) < 30:
            lg.fail(f"HAProxy did not spread the attempts over the three: {spread}")
        idempotency(proxy, admin, org, report)
        subscriptions(proxy, servers[0], report)
    finally:
        proxy.stop()


def idempotency(proxy, admin, org, report):
    """One Idempotency-Key sent six times, round robin over the three: one
    order, and five replays of the first answer."""
    agreement = admin.mutate(lg.CREATE_AGREEMENT, {"input": {
        "organizationId": org, "programCode": "SELECT_PLUS_EDU", "number": "PROC-2026-IDEM",
        "startsOn": "2026-07-01", "endsOn": "2027-06-30", "noticeContact": "idem@processes.example"}})["agreement"]["id"]
    variables = {"input": {"agreementId": agreement, "packageSku": "CLASS-MCP-30", "quantity": 1, "term": "PRORATED"}}
    answers = [admin.post_with_headers(lg.PLACE, variables, {"idempotency-key": "processes-one-key"}) for _ in range(6)]
    bodies = {json.dumps(body, sort_keys=True) for _, body, _ in answers}
    replayed = [headers.get("idempotent-replayed") for _, _, headers in answers]
    orders = lg.Client(proxy.port, admin.token).data(
        "query($a: ID!) { orders(agreementId: $a, first: 10) { totalCount } }", {"a": agreement})
    report["one Idempotency-Key sent 6 times"] = {"orders placed": orders["orders"]["totalCount"],
                                                  "replayed": replayed.count("true")}
    if orders["orders"]["totalCount"] != 1 or len(bodies) != 1 or replayed.count("true") != 5:
        lg.fail(f"an idempotency key across processes: {report['one Idempotency-Key sent 6 times']}, {bodies}")


def subscriptions(proxy, server, report):
    """A graphql-ws subscriber through HAProxy gets an event written
    through HAProxy (most likely another process: round robin)."""
    clients = os.path.join(lg.ROOT, "clients")
    if not os.path.isdir(os.path.join(clients, "node_modules", "graphql-ws")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=clients, check=True)
    url = f"http://127.0.0.1:{proxy.port}/graphql"
    out = subprocess.run(["node", os.path.join(clients, "subscriptions-pair.mjs"), url, url, lg.BIN],
                         env=server.env, cwd=server.cwd, capture_output=True, text=True)
    if out.returncode != 0:
        lg.fail(f"a subscription through HAProxy: {out.stdout[-1000:]} {out.stderr[-1000:]}")
    report["subscription through HAProxy"] = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "ok"


def soak_phase(db, work, report, seconds, route):
    """The soak through HAProxy, one process drained and one killed."""
    url, env = route(db)
    env = {**env, "LICENSEGRAPH_CODE_ATTEMPTS_PER_MINUTE": "1000000", "LICENSEGRAPH_DRAIN_GRACE_SECS": "2",
           "LICENSEGRAPH_WEBHOOK_TIMEOUT_SECS": "2"}
    servers = [lg.Server(url, work, None, name=f"soak{i}", cwd=os.path.join(work, f"p{i}"), extra_env=env)
               for i in range(3)]
    for s in servers:
        s.start()
    proxy = HAProxy(work, servers).start()
    events = {"kills": [], "drain": {}}
    # Every code.* event goes to a desk endpoint: the three dispatch it.
    hooks = dispatch.Server(("127.0.0.1", 0), dispatch.Receiver)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    desk = lg.Client(proxy.port, servers[0].token("desk@processes.example", "admin"))
    desk.mutate(dispatch.HOOK, {"input": {"url": f"http://127.0.0.1:{hooks.server_address[1]}/",
                                          "eventTypes": ["code.assigned", "code.redeemed"]}})

    def during(stop):
        # A third of the way in: SIGTERM, watch /readyz say 503, restart.
        if stop.wait(seconds / 3):
            return
        drained = servers[1]
        began = time.monotonic()
        drained.process.send_signal(signal.SIGTERM)
        not_ready = None
        while drained.process.poll() is None:
            try:
                status, _ = lg.get(drained.port, "/readyz")
                if status == 503 and not_ready is None:
                    not_ready = round(time.monotonic() - began, 2)
            except OSError:
                pass
            time.sleep(0.05)
        events["drain"] = {"readyz 503 after (s)": not_ready, "exited after (s)": round(time.monotonic() - began, 1),
                           "exit status": drained.process.returncode}
        drained.start()
        # Two thirds of the way in: SIGKILL, restart.
        if stop.wait(seconds / 3):
            return
        events["kills"].append(time.time())
        servers[2].kill()
        servers[2].start()

    class Front:
        port = proxy.port

        @staticmethod
        def token(sub, role, org=None, ttl="2h"):
            return servers[0].token(sub, role, org, ttl)

        @staticmethod
        def panicked():
            return any(s.panicked() for s in servers)

    args = argparse.Namespace(engine="postgres, 3 processes behind HAProxy", seconds=seconds, clients=16,
                              packs=300, learners=6)
    try:
        soak.run(args, Front, db, during=during, killed_at=lambda: events["kills"])
        wait_for_webhooks(db, hooks)
    finally:
        proxy.stop()
        for s in servers:
            s.stop()
        hooks.shutdown()
    webhooks(db, hooks, report)
    report["drain (SIGTERM mid-load)"] = events["drain"]
    if events["drain"].get("exit status") != 0 or events["drain"].get("readyz 503 after (s)") is None:
        lg.fail(f"the drained process did not say not-ready and exit cleanly: {events['drain']}")
    if not events["kills"]:
        lg.fail("no process was killed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--pgbouncer", help="the PgBouncer binary (hardening/tools.sh prints it)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        lg.build()
    work, cleanup = lg.workdir()
    db = lg.Database("postgres", work)
    bouncer = PgBouncer(args.pgbouncer).start() if args.pgbouncer else None

    def route(database):
        """The URL processes use, and their environment for it."""
        if bouncer is None:
            return database.url, {}
        return bouncer.url(database.url), {"LICENSEGRAPH_DATABASE_DIRECT_URL": database.url}

    report = {"through": "PgBouncer (transaction pooling)" if bouncer else "PostgreSQL directly"}
    servers = []
    try:
        servers, token = start_phase(db, work, report, route)
        budget_phase(servers, work, report, token)
        for s in servers:
            s.stop()
        soak_phase(db, work, report, args.seconds, route)
        if bouncer:
            pooled = bouncer.transactions(db.name)
            report["transactions PgBouncer pooled"] = pooled
            if pooled < 1000:
                lg.fail(f"the load did not go through PgBouncer: {pooled} transactions")
        lg.log(json.dumps(report, indent=2))
        lg.log("processes passed")
    finally:
        for s in servers:
            s.stop()
        if bouncer:
            bouncer.stop()
        db.close()
        cleanup()


if __name__ == "__main__":
    main()
