"""Fault tests: a crash during fulfilment, the database going away under
load, and SQLite's concurrent writers.

    python3 hardening/faults.py kill --engine sqlite
    python3 hardening/faults.py kill --engine postgres
    python3 hardening/faults.py outage          # PostgreSQL only
    python3 hardening/faults.py writers         # SQLite only
    python3 hardening/faults.py retries --engine sqlite|postgres

kill     Fulfils an order of 99 990 codes once to time it, then starts the
         same fulfilment on a second order and SIGKILLs the server halfway
         (and again at other fractions, one order each). After a restart,
         each killed order has all its codes or none, its status agrees
         (FULFILLED exactly when the codes are there), every code has its
         ISSUE event, and fulfilling it again completes it.
outage   Runs the server on a private PostgreSQL cluster (initdb in a
         scratch directory, its own port) under a steady load, stops the
         cluster, starts it again. While it is down every answer is a clean
         503 with extensions.code SERVICE_UNAVAILABLE (or /readyz 503), never
         a hang, a 500 or a dropped connection; once it is back the same
         server process answers 200 again, with no restart.
writers  Checks the SQLite file is in WAL mode, then sends bursts of 32
         concurrent assignments: every one succeeds (writers wait on the
         busy timeout instead of failing with "database is locked").
retries  Idempotency-Key through a crash: a burst of placeOrder requests,
         each with its own key, is cut by SIGKILL; after a restart and the
         keys' lease, every key is retried with its body. Each key ends with
         exactly one order (its retry runs it, replays its answer, or says
         IDEMPOTENCY_ANSWER_LOST when it took effect but its answer died
         with the process): orders placed == keys. Then 32 concurrent
         retries of one new key place one order.
"""

import argparse
import collections
import http.client
import json
import os
import shutil
import subprocess
import threading
import time

import lg

CODES_PER_PACK = 30
PACKS = 3333  # 99 990 codes: just under the 100 000 per order limit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test", choices=["kill", "outage", "writers", "retries"])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        lg.build()
    {"kill": kill, "outage": outage, "writers": writers, "retries": retries}[args.test](args)


def count_codes(database, order):
    oid = lg.row_id(order)
    codes = database.scalar(f"SELECT COUNT(*) FROM codes WHERE order_id = {oid}")
    events = database.scalar(
        "SELECT COUNT(*) FROM code_events e JOIN codes c ON c.id = e.code_id "
        f"WHERE c.order_id = {oid} AND e.action = 'ISSUE'")
    status = database.query(f"SELECT status FROM orders WHERE id = {oid}")[0][0]
    return codes, events, status


def kill(args):
    work, cleanup = lg.workdir()
    database = lg.Database(args.engine, work)
    secret = "faults-" + "k" * 40
    server = lg.Server(database.url, work, secret)
    expected = PACKS * CODES_PER_PACK
    results = []
    try:
        server.start()
        admin = lg.Client(server.port, server.token("desk@hardening.example", "admin"), timeout=600)
        _, agreement = lg.customer(admin, "Crash Academy")
        timing = lg.invoiced_order(admin, agreement, PACKS)
        started = time.monotonic()
        admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": timing}})
        took = time.monotonic() - started
        assert count_codes(database, timing)[0] == expected
        lg.log(f"[{args.engine}] fulfilling {expected} codes takes {took:.2f} s; killing at fractions of that")

        for fraction in (0.25, 0.5, 0.75):
            order = lg.invoiced_order(admin, agreement, PACKS)
            outcome = {}

            def fulfil():
                try:
                    outcome["answer"] = lg.Client(server.port, admin.token, timeout=600).post(
                        lg.STEP % "fulfillOrder", {"input": {"id": order}})
                except OSError as error:
                    outcome["answer"] = f"connection lost: {type(error).__name__}"

            thread = threading.Thread(target=fulfil)
            thread.start()
            time.sleep(took * fraction)
            server.kill()
            thread.join()
            codes, events, status = count_codes(database, order)
            server.start()
            admin = lg.Client(server.port, admin.token, timeout=600)
            whole = codes == expected and status == "FULFILLED"
            nothing = codes == 0 and status != "FULFILLED"
            if not (whole or nothing) or events != codes:
                lg.fail(f"killed at {fraction:.0%}: {codes} codes, {events} ISSUE events, status {status}")
            retried = admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}}) if nothing else None
            after = count_codes(database, order)
            if after[0] != expected or after[1] != expected or after[2] != "FULFILLED":
                lg.fail(f"after the retry: {after}")
            results.append({
                "killed_at": f"{fraction:.0%} ({took * fraction:.2f} s)",
                "found_after_restart": "all" if whole else "none",
                "codes": codes, "issue_events": events, "status": status,
                "retried": retried is not None, "after_retry": {"codes": after[0], "status": after[2]},
            })
        if server.panicked():
            lg.fail("the server log has a panic")
    finally:
        server.stop()
        database.close()
        cleanup()
    lg.log(json.dumps({"engine": args.engine, "codes_per_order": expected, "fulfil_seconds": round(took, 2),
                       "kills": results}, indent=2))
    lg.log(f"[{args.engine}] kill during fulfilment: all-or-none held {len(results)} times")


def retries(args):
    keys = 60
    work, cleanup = lg.workdir()
    database = lg.Database(args.engine, work)
    # A short request limit makes a short lease (the limit + 5 s).
    server = lg.Server(database.url, work, "faults-" + "r" * 40, {"LICENSEGRAPH_REQUEST_TIMEOUT_SECS": "2"})
    try:
        server.start()
        token = server.token("desk@hardening.example", "admin")
        admin = lg.Client(server.port, token)
        _, agreement = lg.customer(admin, "Retry Academy")
        oid = lg.row_id(agreement)
        variables = {"input": {"agreementId": agreement, "packageSku": "CLASS-MCP-30", "quantity": 1,
                               "term": "PRORATED"}}

        def place(client, key):
            return client.post_with_headers(lg.PLACE, variables, {"idempotency-key": key})

        answered = collections.Counter()
        lock = threading.Lock()

        def burst(worker):
            client = lg.Client(server.port, token, timeout=30)
            for n in range(worker, keys, 6):
                try:
                    status, body, _ = place(client, f"burst-{n}")
                    kind = lg.error_kind(status, body)
                except (OSError, http.client.HTTPException):
                    with lock:
                        answered["connection lost"] += 1
                    return  # the server is gone
                with lock:
                    answered[kind] += 1

        threads = [threading.Thread(target=burst, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        while sum(answered.values()) < keys // 3:
            time.sleep(0.005)
        server.kill()
        for thread in threads:
            thread.join()
        before = database.scalar(f"SELECT COUNT(*) FROM orders WHERE agreement_id = {oid}")
        lg.log(f"[{args.engine}] killed after {dict(answered)}; {before} orders in the database")
        server.start()
        time.sleep(7.5)  # the keys' lease: 2 s + 5 s
        client = lg.Client(server.port, token)
        outcomes = collections.Counter()
        for n in range(keys):
            status, body, headers = place(client, f"burst-{n}")
            kind = lg.error_kind(status, body)
            if kind == "ok":
                kind = "replayed" if headers.get("idempotent-replayed") == "true" else "ran now"
            outcomes[kind] += 1
            if kind not in ("replayed", "ran now", "http-409-IDEMPOTENCY_ANSWER_LOST"):
                lg.fail(f"burst-{n} after the restart: {status} {json.dumps(body)[:300]}")
        # A second round: every key is settled now.
        for n in range(keys):
            status, body, headers = place(client, f"burst-{n}")
            settled = headers.get("idempotent-replayed") == "true" or \
                lg.error_kind(status, body) == "http-409-IDEMPOTENCY_ANSWER_LOST"
            if not settled:
                lg.fail(f"burst-{n} ran again: {status} {json.dumps(body)[:300]}")
        placed = database.scalar(f"SELECT COUNT(*) FROM orders WHERE agreement_id = {oid}")
        if placed != keys:
            lg.fail(f"{placed} orders for {keys} keys")

        # 32 concurrent retries of one key, over real connections.
        answers = []

        def retry():
            status, body, headers = place(lg.Client(server.port, token), "together")
            with lock:
                answers.append((lg.error_kind(status, body), headers.get("idempotent-replayed")))

        threads = [threading.Thread(target=retry) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ran = sum(1 for kind, replayed in answers if kind == "ok" and replayed is None)
        others = collections.Counter(kind if replayed is None else "replayed" for kind, replayed in answers)
        together = database.scalar(f"SELECT COUNT(*) FROM orders WHERE agreement_id = {oid}") - keys
        if ran != 1 or together != 1 or set(others) - {"ok", "replayed", "http-409-IDEMPOTENCY_KEY_IN_USE"}:
            lg.fail(f"32 retries of one key: {dict(others)}, {together} orders")
        if server.panicked():
            lg.fail("the server log has a panic")
    finally:
        server.stop()
        database.close()
        cleanup()
    lg.log(json.dumps({"engine": args.engine, "keys": keys, "killed_after": dict(answered),
                       "orders_before_restart": before, "after_restart": dict(outcomes),
                       "thirty_two_retries": dict(others)}, indent=2))
    lg.log(f"[{args.engine}] idempotency through a kill: {keys} keys, {keys} orders; 32 retries, 1 order")


class PrivateCluster:
    """A PostgreSQL cluster of our own, so that stopping it disturbs nothing
    else. Runs as the `postgres` user when we are root (PostgreSQL refuses
    to run as root)."""

    def __init__(self, work):
        binaries = sorted(os.listdir("/usr/lib/postgresql"))
        if not binaries:
            lg.fail("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = f"/usr/lib/postgresql/{binaries[-1]}/bin"
        self.dir = os.path.join(work, "pgdata")
        self.sock = os.path.join(work, "pgsock")
        self.port = lg.free_port()
        os.makedirs(self.sock)
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(work, "postgres")
            shutil.chown(self.sock, "postgres")
        self.run(f"{self.bin}/initdb", "-D", self.dir, "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *cmd):
        if self.as_postgres:
            cmd = ("runuser", "-u", "postgres", "--") + cmd
        subprocess.run(cmd, check=True, capture_output=True)

    def start(self):
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(f"{self.bin}/pg_ctl", "-D", self.dir, "-o", opts, "-w", "-l", os.path.join(self.dir, "log"), "start")

    def stop(self):
        self.run(f"{self.bin}/pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")


def outage(args):
    work, cleanup = lg.workdir()
    os.chmod(work, 0o755)
    cluster = PrivateCluster(work)
    cluster.start()
    server = lg.Server(cluster.url, work, "faults-" + "o" * 40,
                       extra_env={"LICENSEGRAPH_CODE_ATTEMPTS_PER_MINUTE": "1000000"})
    phases = collections.defaultdict(collections.Counter)
    phase = ["before"]
    stop = threading.Event()
    lock = threading.Lock()
    slowest = [0.0]
    try:
        server.start()
        pid = server.process.pid
        admin = lg.Client(server.port, server.token("desk@hardening.example", "admin"))
        _, agreement = lg.customer(admin, "Outage Academy")
        order = lg.invoiced_order(admin, agreement, 2)

        def load(n):
            client = lg.Client(server.port, admin.token, timeout=30)
            while not stop.is_set():
                if n % 2:
                    query, variables = "query($id: ID!) { order(id: $id) { id status } }", {"id": order}
                else:
                    query, variables = "{ organizations(first: 5) { nodes { id name } } }", {}
                started = time.monotonic()
                try:
                    status, body = client.post(query, variables)
                    kind = lg.error_kind(status, body)
                except OSError as error:
                    kind = f"transport-{type(error).__name__}"
                with lock:
                    phases[phase[0]][kind] += 1
                    slowest[0] = max(slowest[0], time.monotonic() - started)
                time.sleep(0.01)

        threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        time.sleep(3)
        phase[0] = "down"
        cluster.stop()
        down_at = time.monotonic()
        time.sleep(5)
        ready_down, _ = lg.get(server.port, "/readyz")
        phase[0] = "restarting"
        cluster.start()
        up_at = time.monotonic()
        # Recovered once an answer after the restart is 200 again.
        recovered = None
        probe = lg.Client(server.port, admin.token, timeout=30)
        while time.monotonic() - up_at < 30:
            status, body = probe.post("{ organizations(first: 1) { nodes { id } } }")
            if status == 200 and not body.get("errors"):
                recovered = time.monotonic() - up_at
                break
            time.sleep(0.1)
        phase[0] = "after"
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join()
        ready_after, _ = lg.get(server.port, "/readyz")
        same_process = server.process.poll() is None and server.process.pid == pid
        report = {
            "answers_by_phase": {k: dict(v) for k, v in phases.items()},
            "readyz_while_down": ready_down, "readyz_after": ready_after,
            "seconds_down": round(up_at - down_at, 1),
            "seconds_to_recover_after_start": None if recovered is None else round(recovered, 2),
            "slowest_answer_seconds": round(slowest[0], 2),
            "same_process": same_process,
        }
        lg.log(json.dumps(report, indent=2))
        failures = []
        down = phases["down"]
        if down.get("http-503-SERVICE_UNAVAILABLE", 0) == 0:
            failures.append("no 503 SERVICE_UNAVAILABLE while the database was down")
        allowed_down = {"ok", "http-503-SERVICE_UNAVAILABLE"}  # "ok": answered before the stop took hold
        for name in ("down", "restarting"):
            odd = {k: v for k, v in phases[name].items() if k not in allowed_down}
            if odd:
                failures.append(f"{name}: answers other than 200 or a clean 503: {odd}")
        odd_after = {k: v for k, v in phases["after"].items() if k != "ok"}
        if odd_after or not phases["after"]:
            failures.append(f"after recovery: {odd_after or 'no answers'}")
        if odd_before := {k: v for k, v in phases["before"].items() if k != "ok"}:
            failures.append(f"before the outage: {odd_before}")
        if ready_down != 503 or ready_after != 200:
            failures.append(f"/readyz answered {ready_down} while down and {ready_after} after")
        if recovered is None:
            failures.append("not recovered 30 s after the database came back")
        if not same_process:
            failures.append("the server process did not survive")
        if server.panicked():
            failures.append("the server log has a panic")
        if failures:
            lg.log("server log (tail):\n" + server.read_log()[-3000:])
            lg.fail("; ".join(failures))
        lg.log(f"outage: clean 503s while down, recovered {recovered:.2f} s after the database returned")
    finally:
        stop.set()
        server.stop()
        try:
            cluster.stop()
        except subprocess.CalledProcessError:
            pass
        cleanup()


def writers(args):
    work, cleanup = lg.workdir()
    database = lg.Database("sqlite", work)
    server = lg.Server(database.url, work, "faults-" + "w" * 40)
    try:
        server.start()
        mode = database.query("PRAGMA journal_mode")[0][0]
        if mode.lower() != "wal":
            lg.fail(f"the SQLite file is in {mode} mode, not WAL")
        admin = lg.Client(server.port, server.token("desk@hardening.example", "admin"))
        org, agreement = lg.customer(admin, "Writers Academy")
        order = lg.invoiced_order(admin, agreement, 12)
        admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}})
        school = server.token("boss@writers.example", "customer_admin", org)
        codes = [code["id"] for code in lg.codes_of(admin, order)]
        answers = collections.Counter()
        slowest = 0.0
        lock = threading.Lock()
        barrier = threading.Barrier(32)

        def write(code):
            nonlocal slowest
            client = lg.Client(server.port, school)
            barrier.wait()
            started = time.monotonic()
            status, body = client.post("""mutation($i: AssignCodeInput!) { assignCode(input: $i) {
                code { id } userErrors { code } } }""", {"i": {"codeId": code, "assignee": "w@writers.example"}})
            with lock:
                answers[lg.error_kind(status, body)] += 1
                slowest = max(slowest, time.monotonic() - started)

        for burst in range(len(codes) // 32):
            threads = [threading.Thread(target=write, args=(c,)) for c in codes[burst * 32:(burst + 1) * 32]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        total = sum(answers.values())
        lg.log(json.dumps({"journal_mode": mode, "concurrent_writes": total, "answers": dict(answers),
                           "slowest_seconds": round(slowest, 3)}, indent=2))
        if answers["ok"] != total or total == 0:
            lg.fail(f"concurrent writers failed: {dict(answers)}")
        if server.panicked():
            lg.fail("the server log has a panic")
        lg.log(f"writers: {total} concurrent writes in bursts of 32, all succeeded (WAL, busy timeout)")
    finally:
        server.stop()
        database.close()
        cleanup()


if __name__ == "__main__":
    main()
