"""Benchmarks, reported as ratios measured in one run (docs/performance.md).

    python3 bench/run.py                          # everything, both engines
    python3 bench/run.py --workloads cheap,start  # some of it
    python3 bench/run.py --engines sqlite --rounds 5 --seconds 10
    python3 bench/run.py --binary /tmp/old/licensegraph  # another build

Builds and starts the release binary (logs at info, as in production), loads
the realistic data set (bench/dataset.py: 200 organizations, 2 000 orders,
1 000 000 codes, 5 000 memberships) into a scratch SQLite file and a scratch
PostgreSQL database, and runs, each against its reference, in rounds that
alternate the systems compared (after a warm-up):

- cheap:   `{ __typename }` with a valid bearer token vs GET /healthz, a bare
           axum route in the same process (SQLite).
- start:   cold start to the first successful query, memory at rest (SQLite).
- page:    the nested page bench/orders_page.graphql (50 orders x 20 codes,
           package, program) vs PostGraphile v4 serving the same tables
           (PostgreSQL) and vs pgbench running our SQL for that page. The
           server logs the statements each request ran; every page must
           have run at most 4.
- redeem:  `redeemCode` of distinct vouchers by 64 clients for --seconds
           vs pgbench (and the sqlite3 CLI) running the same conditional
           UPDATE on --redeem-per-round other vouchers. Afterwards, each
           success is a redeemed code with one REDEEM event (plus at most
           one unread answer per connection when a round ends), and no code
           has two REDEEM events.
- fulfil:  `fulfillOrder` of 100 000 codes vs a raw INSERT ... SELECT of the
           same rows (codes and ISSUE events) in psql / the sqlite3 CLI.

Load comes from `wrk -t1 -c64` with bench/check.lua, which counts any
answer that is not a 200, mentions "errors", or lacks what the workload
expects as bad. Medians with min..max of requests/s, p50/p99, CPU seconds
per 10 000 requests (from /proc), VmRSS/VmHWM.

Needs wrk, pgbench, psql and sqlite3 (Debian: wrk postgresql-client
sqlite3) and, for the PostGraphile reference, Node.js with npm (postgraphile
4 is installed under target/bench-node on first use). PostgreSQL from
LICENSEGRAPH_BENCH_PG (default postgres://postgres@127.0.0.1:5432/postgres).
"""

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH), "hardening"))
sys.path.insert(0, BENCH)
import dataset  # noqa: E402
import lg  # noqa: E402

RELEASE = os.path.join(lg.ROOT, "target", "release", "licensegraph")
CHECK = os.path.join(BENCH, "check.lua")
NODE_DIR = os.path.join(lg.ROOT, "target", "bench-node")
TICKS = os.sysconf("SC_CLK_TCK")
SECRET = "bench-" + "b" * 40
PG_ADMIN = os.environ.get("LICENSEGRAPH_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
# A busy server must not throttle its own benchmark (the limit is tested in tests/api/codes.rs).
SERVER_ENV = {"LICENSEGRAPH_LOG": "info", "LICENSEGRAPH_CODE_ATTEMPTS_PER_MINUTE": "100000000"}
MAX_PAGE_STATEMENTS = 4


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def memory_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0])
    return out


def wrk(port, path, seconds, connections, env):
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", "-s", CHECK, f"http://127.0.0.1:{port}{path}"],
        env={**os.environ, **env}, capture_output=True, text=True, check=True)
    line = [l for l in result.stdout.splitlines() if l.startswith("{")][-1]
    report = json.loads(line)
    report["rps"] = report["requests"] / report["seconds"]
    return report


def spread(values, digits=1):
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def summary(reports):
    out = {"rps": spread([r["rps"] for r in reports]), "bad_answers": sum(r.get("bad", 0) for r in reports)}
    for key in ["p50_ms", "p99_ms", "latency_avg_ms"]:  # pgbench and the CLI report no percentiles
        if all(key in r for r in reports):
            out[key] = spread([r[key] for r in reports], 2)
    if all("cpu_s_per_10k" in r for r in reports):
        out["cpu_s_per_10k"] = spread([r["cpu_s_per_10k"] for r in reports], 3)
    return out


def ratio(ours, theirs):
    per_round = [a["rps"] / b["rps"] for a, b in zip(ours, theirs)]
    return {"per_round": [round(r, 3) for r in per_round], "median": round(statistics.median(per_round), 3)}


def measured(pid, run):
    """Runs a load and adds the CPU the process `pid` spent per 10k requests."""
    before = cpu_seconds(pid) if pid else 0
    report = run()
    if pid:
        report["cpu_s_per_10k"] = (cpu_seconds(pid) - before) / max(1, report["requests"]) * 10_000
    if report.get("bad") or report.get("socket_errors"):
        lg.fail(f"{report.get('bad')} bad answers, {report.get('socket_errors')} socket errors: {report}")
    return report


def global_id(kind, row):
    return base64.urlsafe_b64encode(f"{kind}:{row}".encode()).decode().rstrip("=")


def gql_body(query, variables=None):
    return json.dumps({"query": query, "variables": variables or {}})


# --- cheap query and cold start -------------------------------------------

def cheap(args, server):
    token = server.token("bench@licensegraph.example", "admin")
    systems = {
        "healthz": ("/healthz", {"BENCH_METHOD": "GET"}),
        "typename": ("/graphql", {"BENCH_METHOD": "POST", "BENCH_BODY": gql_body("{ __typename }"),
                                  "BENCH_TOKEN": token}),
    }
    pid = server.process.pid
    for path, env in systems.values():
        wrk(server.port, path, args.warmup, args.connections, env)
    runs = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, (path, env) in systems.items():
            runs[name].append(measured(pid, lambda: wrk(server.port, path, args.seconds, args.connections, env)))
    out = {name: summary(reports) for name, reports in runs.items()}
    out["ratio_typename_to_healthz"] = ratio(runs["typename"], runs["healthz"])
    return out


def first_query_seconds(database_url, work, name):
    server = lg.Server(database_url, work, SECRET, extra_env=SERVER_ENV, name=name, bin=RELEASE)
    started = time.monotonic()
    server.start(wait=False)
    try:
        while True:
            try:
                status, body = lg.Client(server.port, timeout=5).post("{ __typename }")
                if status == 200 and not body.get("errors"):
                    took = time.monotonic() - started
                    break
            except OSError:
                pass
            if server.process.poll() is not None or time.monotonic() - started > 30:
                lg.fail(f"{name}: no answer: {server.read_log()[-1000:]}")
            time.sleep(0.001)
        time.sleep(1)
        return took, memory_kib(server.process.pid)
    finally:
        server.stop()


def start(work):
    path = os.path.join(work, "cold.db")
    fresh, _ = first_query_seconds(f"sqlite://{path}", work, "cold-fresh")
    existing, rest = first_query_seconds(f"sqlite://{path}", work, "cold-existing")
    return {"first_query_ms_fresh_database": round(fresh * 1000, 1),
            "first_query_ms_existing_database": round(existing * 1000, 1),
            "resting_rss_mib": round(rest["VmRSS"] / 1024, 1)}


# --- the realistic data set, per engine -----------------------------------

class Engine:
    """A scratch database of one engine with the data set, and our server on it."""

    def __init__(self, engine, work):
        self.engine = engine
        self.work = os.path.join(work, engine)
        os.makedirs(self.work, exist_ok=True)
        self.db = lg.Database(engine, self.work, pg_admin_url=PG_ADMIN)
        subprocess.run([RELEASE, "migrate"], env={**os.environ, "LICENSEGRAPH_DATABASE_URL": self.db.url,
                                                  "LICENSEGRAPH_LOG": "warn"}, check=True)
        began = time.monotonic()
        self.info = dataset.load(self.db, self.work)
        self.info["load_seconds"] = round(time.monotonic() - began, 1)
        lg.log(f"{engine}: data set loaded in {self.info['load_seconds']} s: {self.info['counts']}")
        self.server = lg.Server(self.db.url, self.work, SECRET, extra_env=SERVER_ENV, name="bench", bin=RELEASE)
        self.server.start()
        self.admin_token = self.server.token("bench@licensegraph.example", "admin")

    def log_size(self):
        return os.path.getsize(self.server.log_path)

    def statements_since(self, offset):
        """Statements per /graphql request logged after byte `offset`."""
        with open(self.server.log_path, errors="replace") as f:
            f.seek(offset)
            return [int(m.group(1)) for m in re.finditer(r"path=/graphql statements=(\d+)", f.read())]

    def close(self):
        self.server.stop()
        self.db.close()


# --- the nested page ------------------------------------------------------

POSTGRAPHILE_PAGE = """query OrdersPage { allOrders(first: 50, orderBy: ID_ASC) { nodes { id status quantity
  packageByPackageId { sku name } agreementByAgreementId { programByProgramId { code name } }
  codesByOrderId(first: 20, orderBy: ID_ASC) { nodes { id value status validUntil } } } } }"""


# The columns our server reads for a page whose codes show only brief fields
# (src/service/code_rows.rs, Columns::Brief), as the bench page's do.
BRIEF_CODE_COLUMNS = "id, organization_id, order_id, membership_id, kind, value, status, valid_until, assignee"


def our_page_sql(engine):
    """The statements our server runs for the page (admin: no scope filter),
    as pgbench runs them: the ids are those of the first page."""
    ids = [r[0] for r in engine.db.query("SELECT id FROM orders ORDER BY id LIMIT 50")]
    packages = sorted({r[0] for r in engine.db.query(
        f"SELECT DISTINCT package_id FROM orders WHERE id IN ({', '.join(ids)})")})
    agreements = sorted({r[0] for r in engine.db.query(
        f"SELECT DISTINCT agreement_id FROM orders WHERE id IN ({', '.join(ids)})")})
    return "\n".join([
        "SELECT * FROM orders ORDER BY id ASC LIMIT 51;",
        f"SELECT * FROM packages WHERE id IN ({', '.join(packages)});",
        "SELECT agreements.*, programs.* FROM agreements LEFT JOIN programs ON agreements.program_id = programs.id"
        f" WHERE agreements.id IN ({', '.join(agreements)});",
        " UNION ALL ".join(f"SELECT * FROM (SELECT {BRIEF_CODE_COLUMNS} FROM codes WHERE order_id = {i} ORDER BY id LIMIT 21)"
                           f" AS page{n}" for n, i in enumerate(ids, 1)) + " ORDER BY order_id, id;",
    ]) + "\n"


def pgbench(url, script_path, args, seconds=None, transactions=None):
    # Prepared, as our server's statements are (sqlx caches them per connection).
    command = ["pgbench", "-n", "-M", "prepared", "-j1", f"-c{args.connections}", "-f", script_path]
    command += [f"-T{seconds}"] if seconds else [f"-t{transactions}"]
    began = time.monotonic()
    result = subprocess.run(command + [url], capture_output=True, text=True)
    took = time.monotonic() - began
    if result.returncode != 0:
        lg.fail(f"pgbench failed: {result.stderr[-2000:]}")
    out = result.stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if failed and int(failed.group(1)):
        lg.fail(f"pgbench: {failed.group(1)} failed transactions")
    return {"rps": tps, "requests": done, "seconds": took, "latency_avg_ms": latency}


def ensure_postgraphile():
    binary = os.path.join(NODE_DIR, "node_modules", ".bin", "postgraphile")
    if not os.path.exists(binary):
        if not shutil.which("npm"):
            lg.fail("npm is needed for the PostGraphile reference")
        os.makedirs(NODE_DIR, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", NODE_DIR, "postgraphile@4"],
                       check=True, capture_output=True)
    return binary


def start_postgraphile(engine):
    # PostGraphile v4 names both ends of the self-reference codes.replaces_id
    # the same and refuses to start; a smart comment renames one (scratch
    # database only).
    lg.psql(engine.db.url, "COMMENT ON CONSTRAINT codes_replaces_id_fkey ON codes IS "
                           "E'@foreignSingleFieldName replacedBy'")
    port = lg.free_port()
    log = open(os.path.join(engine.work, "postgraphile.log"), "ab")
    process = subprocess.Popen(
        [ensure_postgraphile(), "-c", engine.db.url, "--schema", "public", "--host", "127.0.0.1", "--port", str(port),
         "--disable-query-log", "--max-pool-size", "16"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NODE_ENV": "production"})
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, body = lg.Client(port).post(POSTGRAPHILE_PAGE)
            if status == 200 and body.get("data"):
                return process, port
        except OSError:
            pass
        if process.poll() is not None:
            lg.fail("PostGraphile exited; see postgraphile.log")
        time.sleep(0.2)
    lg.fail("PostGraphile did not come up in 60 s")


def page(args, engine):
    query = open(os.path.join(BENCH, "orders_page.graphql")).read()
    ours = ("/graphql", {"BENCH_METHOD": "POST", "BENCH_BODY": gql_body(query), "BENCH_TOKEN": engine.admin_token,
                         "BENCH_EXPECT": '"expiresOn"'})
    first = lg.Client(engine.server.port, engine.admin_token).data(query)["orders"]["nodes"]
    if len(first) != 50 or any(len(o["codes"]["nodes"]) != 20 for o in first):
        lg.fail("the page is not 50 orders of 20 codes")
    script = os.path.join(engine.work, "page.sql")
    with open(script, "w") as f:
        f.write(our_page_sql(engine))
    systems = {"licensegraph": lambda seconds: measured(
        engine.server.process.pid, lambda: wrk(engine.server.port, ours[0], seconds, args.connections, ours[1]))}
    graphile = None
    if engine.engine == "postgres":
        graphile, graphile_port = start_postgraphile(engine)
        env = {"BENCH_METHOD": "POST", "BENCH_BODY": gql_body(POSTGRAPHILE_PAGE), "BENCH_EXPECT": '"validUntil"'}
        systems["postgraphile"] = lambda seconds: measured(
            graphile.pid, lambda: wrk(graphile_port, "/graphql", seconds, args.connections, env))
        systems["pgbench_our_sql"] = lambda seconds: pgbench(engine.db.url, script, args, seconds=seconds)
    try:
        for run in systems.values():
            run(args.warmup)
        offset = engine.log_size()
        runs = {name: [] for name in systems}
        for _ in range(args.rounds):
            for name, run in systems.items():
                runs[name].append(run(args.seconds))
        statements = engine.statements_since(offset)
        out = {name: summary(reports) for name, reports in runs.items()}
        # The page's children are loaded ahead for the whole page, so no
        # batch can split under load: every page runs at most 4 statements
        # (tests/api/orders.rs asserts it with a zero batching delay).
        over = sum(1 for n in statements if n > MAX_PAGE_STATEMENTS)
        out["statements_per_request"] = {"min": min(statements), "median": statistics.median(statements),
                                         "max": max(statements), "requests_logged": len(statements),
                                         f"requests_over_{MAX_PAGE_STATEMENTS}": over}
        if over:
            lg.fail(f"{over} of {len(statements)} pages ran more than {MAX_PAGE_STATEMENTS} statements")
        if graphile:
            out["ratio_to_postgraphile"] = ratio(runs["licensegraph"], runs["postgraphile"])
            out["ratio_to_pgbench_our_sql"] = ratio(runs["licensegraph"], runs["pgbench_our_sql"])
        return out
    finally:
        if graphile:
            graphile.terminate()
            graphile.wait()


# --- redemption -----------------------------------------------------------

REDEEM = ("mutation Redeem($v: String!) { redeemCode(input: {value: $v, exam: \"" + dataset.EXAM + "\"}) "
          "{ code { status } userErrors { code } } }")


def redeem_update(today_sql):
    return ("UPDATE codes SET status = 'REDEEMED', redeemed_at = {now}, exam = '" + dataset.EXAM + "' "
            "WHERE id = {id} AND status = 'ASSIGNED' AND assignee = '" + dataset.POOL_LEARNER + "' "
            f"AND valid_until >= {today_sql}")


def redeem(args, engine):
    lo, hi = engine.info["pool_code_ids"]
    # The reference runs a fixed number of updates; our timed rounds get
    # the rest of the pool, so a faster server never runs out.
    per_round = args.redeem_per_round
    ours_per_round = (hi - lo + 1 - per_round * (args.rounds + 1)) // (args.rounds + 1)
    if ours_per_round < per_round:
        lg.fail("the redemption pool is too small for these rounds")
    org = global_id("Organization", engine.info["pool_school_id"])
    token = engine.server.token(dataset.POOL_LEARNER, "learner", org)
    pid = engine.server.process.pid
    taken = [lo]

    def take(count):
        first = taken[0]
        taken[0] += count
        return first

    def ours(count, seconds):
        first = take(count)
        values = [r[0] for r in engine.db.query(
            f"SELECT value FROM codes WHERE id >= {first} AND id < {first + count} ORDER BY id")]
        path = os.path.join(engine.work, "values.txt")
        with open(path, "w") as f:
            f.write("\n".join(values) + "\n")
        env = {"BENCH_METHOD": "POST", "BENCH_BODY": gql_body(REDEEM, {"v": "%VALUE%"}), "BENCH_TOKEN": token,
               "BENCH_VALUES": path, "BENCH_EXPECT": '"userErrors":[]'}
        report = measured(pid, lambda: wrk(engine.server.port, "/graphql", seconds, args.connections, env))
        if report["checked"] >= count - 1:
            lg.fail(f"redemption ran out of its {count} vouchers in {seconds} s: the pool is too small: load more pool orders (dataset.load) or shorten --seconds")
        report["rps"] = report["checked"] / report["seconds"]
        report["range"] = (first, first + count)
        report["successes"] = report["checked"] - report["bad"]
        return report

    def reference(count):
        first = take(count)
        if engine.engine == "postgres":
            script = os.path.join(engine.work, "redeem.sql")
            with open(script, "w") as f:
                f.write(redeem_update("CURRENT_DATE").format(now="now()", id="(SELECT nextval('bench_redeem'))")
                        + ";\n")
            lg.psql(engine.db.url, "CREATE SEQUENCE IF NOT EXISTS bench_redeem; "
                                   f"SELECT setval('bench_redeem', {first}, false)")
            report = pgbench(engine.db.url, script, args, transactions=count // args.connections)
            count = report["requests"]
        else:
            script = os.path.join(engine.work, "redeem.sql")
            update = redeem_update("date('now')").format(now="strftime('%Y-%m-%dT%H:%M:%f+00:00')",
                                                                   id="{id}")
            with open(script, "w") as f:
                f.write("PRAGMA synchronous=NORMAL;\nPRAGMA busy_timeout=10000;\n")
                for code in range(first, first + count):
                    f.write(update.replace("{id}", str(code)) + ";\n")
            began = time.monotonic()
            subprocess.run(["sqlite3", engine.db.path], stdin=open(script), check=True, capture_output=True)
            took = time.monotonic() - began
            report = {"rps": count / took, "requests": count, "seconds": took}
        report["range"] = (first, first + count)
        return report

    name = "pgbench" if engine.engine == "postgres" else "sqlite3_cli"
    ours(ours_per_round, args.warmup)
    reference(per_round)
    runs = {"licensegraph": [], name: []}
    for _ in range(args.rounds):
        runs["licensegraph"].append(ours(ours_per_round, args.seconds))
        runs[name].append(reference(per_round))
    # Correctness: every success is one redeemed code with one REDEEM event.
    successes = sum(r["successes"] for r in runs["licensegraph"])
    where = " OR ".join(f"(c.id >= {a} AND c.id < {b})" for a, b in (r["range"] for r in runs["licensegraph"]))
    redeemed = engine.db.scalar(f"SELECT count(*) FROM codes c WHERE ({where}) AND c.status = 'REDEEMED'")
    events = engine.db.scalar(
        f"SELECT count(*) FROM code_events e JOIN codes c ON c.id = e.code_id WHERE ({where}) AND e.action = 'REDEEM'")
    doubles = engine.db.scalar("SELECT count(*) FROM (SELECT code_id FROM code_events WHERE action = 'REDEEM' "
                               "GROUP BY code_id HAVING count(*) > 1) d")
    # A timed run ends with up to one request per connection sent but its
    # answer not read: those vouchers are redeemed without being counted.
    in_flight = args.connections * len(runs["licensegraph"])
    if not (successes <= redeemed <= successes + in_flight) or redeemed != events or doubles:
        lg.fail(f"redemption: {successes} successes, {redeemed} redeemed, {events} events, {doubles} doubles")
    reference_done = sum(r["requests"] for r in runs[name])
    out = {"licensegraph": summary(runs["licensegraph"]), name: summary(runs[name]),
           "ratio": ratio(runs["licensegraph"], runs[name]),
           "correctness": {"successes": successes, "redeemed": redeemed, "redeem_events": events,
                           "codes_redeemed_twice": doubles, "reference_updates": reference_done}}
    return out


# --- fulfilment -----------------------------------------------------------

def fulfil(args, engine):
    admin = lg.Client(engine.server.port, engine.admin_token)
    org, agreement = lg.customer(admin, f"Fulfilment bench {engine.engine}")
    org_row = lg.row_id(org)

    def ours():
        order = lg.invoiced_order(admin, agreement, 200, sku="SITE-MOS-MTA-MCE-500")
        began = time.monotonic()
        admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}})
        took = time.monotonic() - began
        n = engine.db.scalar(f"SELECT count(*) FROM codes WHERE order_id = {lg.row_id(order)}")
        if n != 100_000:
            lg.fail(f"fulfilment made {n} codes")
        return took

    def raw():
        order = lg.row_id(lg.invoiced_order(admin, agreement, 200, sku="SITE-MOS-MTA-MCE-500"))
        if engine.engine == "postgres":
            sql = ("BEGIN;"
                   "INSERT INTO codes (organization_id, order_id, kind, value, status, valid_until, created_at) "
                   f"SELECT {org_row}, {order}, 'EXAM_VOUCHER', upper(substr(md5(random()::text || g), 1, 25)), "
                   "'ISSUED', DATE '2027-06-30', now() FROM generate_series(1, 100000) g;"
                   "INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail) "
                   f"SELECT id, now(), 'bench', 'ISSUE', NULL, 'ISSUED', 'raw' FROM codes WHERE order_id = {order} "
                   "ORDER BY id; COMMIT;")
            began = time.monotonic()
            lg.psql(engine.db.url, sql)
        else:
            sql = ("PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE;"
                   "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000) "
                   "INSERT INTO codes (organization_id, order_id, kind, value, status, valid_until, created_at) "
                   f"SELECT {org_row}, {order}, 'EXAM_VOUCHER', hex(randomblob(13)), 'ISSUED', '2027-06-30', "
                   "strftime('%Y-%m-%dT%H:%M:%f+00:00') FROM g;"
                   "INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail) "
                   f"SELECT id, strftime('%Y-%m-%dT%H:%M:%f+00:00'), 'bench', 'ISSUE', NULL, 'ISSUED', 'raw' "
                   f"FROM codes WHERE order_id = {order} ORDER BY id; COMMIT;")
            began = time.monotonic()
            subprocess.run(["sqlite3", engine.db.path, sql], check=True, capture_output=True)
        took = time.monotonic() - began
        n = engine.db.scalar(f"SELECT count(*) FROM codes WHERE order_id = {order}")
        if n != 100_000:
            lg.fail(f"the raw insert made {n} codes")
        return took

    name = "raw_psql" if engine.engine == "postgres" else "raw_sqlite3_cli"
    runs = {"licensegraph": [], name: []}
    for _ in range(args.fulfil_rounds):
        runs["licensegraph"].append(ours())
        runs[name].append(raw())
    times = {k: spread(v, 3) for k, v in runs.items()}
    per_round = [a / b for a, b in zip(runs["licensegraph"], runs[name])]
    return {"seconds": times, "ratio_time_to_raw": {"per_round": [round(r, 3) for r in per_round],
                                                    "median": round(statistics.median(per_round), 3)}}


# --- main -----------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="cheap,start,page,redeem,fulfil")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--redeem-per-round", type=int, default=12_800)
    parser.add_argument("--fulfil-rounds", type=int, default=3)
    parser.add_argument("--output", help="also write the results here (JSON)")
    parser.add_argument("--binary", help="measure this licensegraph binary (say, a copy of an older build) "
                                         "instead of building target/release")
    args = parser.parse_args()
    global RELEASE
    workloads = args.workloads.split(",")
    for tool in ["wrk", "sqlite3", "psql", "pgbench"]:
        if not shutil.which(tool):
            lg.fail(f"{tool} is not installed (Debian: wrk sqlite3 postgresql-client)")
    if args.binary:
        RELEASE = os.path.abspath(args.binary)
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "licensegraph"], cwd=lg.ROOT, check=True)
    work, cleanup = lg.workdir()
    results = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release}, "args": vars(args)}
    try:
        if "start" in workloads:
            results["start"] = start(work)
        if "cheap" in workloads:
            server = lg.Server(f"sqlite://{os.path.join(work, 'cheap.db')}", work, SECRET, extra_env=SERVER_ENV,
                               name="cheap", bin=RELEASE).start()
            try:
                results["cheap"] = cheap(args, server)
                peak = memory_kib(server.process.pid)
                results["cheap"]["memory_after_load_mib"] = {"rss": round(peak["VmRSS"] / 1024, 1),
                                                             "peak_hwm": round(peak["VmHWM"] / 1024, 1)}
            finally:
                server.stop()
        for name in args.engines.split(","):
            if not {"page", "redeem", "fulfil"} & set(workloads):
                break
            engine = Engine(name, work)
            try:
                results[name] = {"data_set": engine.info}
                for workload, run in [("page", page), ("redeem", redeem), ("fulfil", fulfil)]:
                    if workload in workloads:
                        lg.log(f"{name}: {workload}")
                        results[name][workload] = run(args, engine)
                mem = memory_kib(engine.server.process.pid)
                results[name]["server_memory_mib"] = {"rss": round(mem["VmRSS"] / 1024, 1),
                                                      "peak_hwm": round(mem["VmHWM"] / 1024, 1)}
                if engine.server.panicked():
                    lg.fail("the server panicked")
            finally:
                engine.close()
        text = json.dumps(results, indent=2)
        print(text)
        if args.output:
            with open(args.output, "w") as f:
                f.write(text + "\n")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
