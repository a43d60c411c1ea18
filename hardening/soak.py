"""A bounded soak test on loopback: many concurrent clients assigning,
redeeming and querying one school's vouchers for a fixed time, then every
invariant checked against the database itself.

    python3 hardening/soak.py --engine sqlite --seconds 60
    python3 hardening/soak.py --engine postgres --seconds 60 --clients 24

Clients (threads, one keep-alive connection each):
- assigners (customer_admin) assign random issued codes to random learners;
  they pick from one shared pool, so two often race for the same code;
- redeemers (learners) redeem the codes assigned to them, two threads per
  learner on one queue, and now and then retry a code already redeemed or
  try someone else's;
- readers page through the order's codes, look up codes and the order by
  id, and validate code values.

Invariants (the run fails on any):
- no 5xx and no transport error; no panic in the server log;
- no code redeemed twice: at most one REDEEM event per code, and each
  REDEEMED code has exactly one;
- every redemption has its event and every event its redemption;
- the counts add up: successful assigns == assigned codes == ASSIGN events,
  successful redeems == redeemed codes == REDEEM events, and the order
  still has exactly the codes it was fulfilled with.
"""

import argparse
import collections
import json
import random
import threading
import time

import lg

ASSIGN = """mutation($input: AssignCodeInput!) {
  assignCode(input: $input) { code { id status } userErrors { code field message } } }"""
REDEEM = """mutation($input: RedeemCodeInput!) {
  redeemCode(input: $input) { code { id status } userErrors { code field message } } }"""
PAGE = """query($order: ID!, $after: String) {
  codes(orderId: $order, first: 50, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { id status assignee } } }"""
LOOKUP = """query($id: ID!, $order: ID!) { code(id: $id) { id status } order(id: $order) { id status } }"""
VALIDATE = """query($value: String!) { validateCode(value: $value) { usable problem status } }"""


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.kinds = collections.Counter()
        self.by_op = collections.Counter()
        self.assigned = 0
        self.redeemed = 0
        self.requests = 0
        self.latencies = []
        # Requests whose outcome is unknown (a 502 when a process was
        # killed with them in hand), by operation, with when they ended.
        self.uncertain = collections.Counter()
        self.uncertain_at = []

    def add(self, op, kind, seconds, resent=False):
        """`resent`: the client sent it again on a new connection after the
        first was cut, so the first may have taken effect: its outcome is
        unknown too (a second assign answers ALREADY_ASSIGNED)."""
        with self.lock:
            self.requests += 1
            self.kinds[kind] += 1
            self.by_op[f"{op}:{kind}"] += 1
            self.latencies.append(seconds)
            if resent or kind.startswith("http-502") or kind.startswith("transport-"):
                self.uncertain[op] += 1
                self.uncertain_at.append(time.time())


def timed(client, tally, op, query, variables):
    start = time.monotonic()
    try:
        status, body = client.post(query, variables)
    except OSError as error:
        tally.add(op, f"transport-{type(error).__name__}", time.monotonic() - start)
        return None, None
    kind = lg.error_kind(status, body)
    tally.add(op, kind, time.monotonic() - start, resent=client.retried)
    return kind, body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16, help="threads in all (at least 8)")
    parser.add_argument("--packs", type=int, default=300, help="30 vouchers per pack")
    parser.add_argument("--learners", type=int, default=6)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    if not args.no_build:
        lg.build()
    work, cleanup = lg.workdir()
    database = lg.Database(args.engine, work)
    server = lg.Server(database.url, work, secret="soak-" + "s" * 40,
                       extra_env={"LICENSEGRAPH_CODE_ATTEMPTS_PER_MINUTE": "1000000"})
    try:
        server.start()
        run(args, server, database)
    finally:
        server.stop()
        database.close()
        cleanup()


def run(args, server, database, during=None, killed_at=None):
    """The soak against `server` (anything with `port`, `token()` and
    `panicked()`: one process, or a load balancer in front of several).
    `during(stop_event)` runs in a thread beside the load; `killed_at()`
    gives the instants a process was killed with requests in hand: a 502 or
    transport error within 3 s after one is an unknown outcome (counted as
    a range in the invariants), any other fails the run."""
    admin = lg.Client(server.port, server.token("desk@hardening.example", "admin"))
    org, agreement = lg.customer(admin, "Soak Academy")
    order = lg.invoiced_order(admin, agreement, args.packs)
    admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}})
    codes = lg.codes_of(admin, order)
    issued = len(codes)
    lg.log(f"[{args.engine}] order fulfilled with {issued} codes; {args.clients} clients for {args.seconds:.0f} s")

    learners = [f"learner{i}@soak.example" for i in range(args.learners)]
    tokens = {who: server.token(who, "learner", org) for who in learners}
    school = server.token("boss@soak.example", "customer_admin", org)
    pool = list(codes)
    random.shuffle(pool)
    pool_lock = threading.Lock()
    queues = {who: collections.deque() for who in learners}
    redeemed_values = collections.deque(maxlen=200)
    tally = Tally()
    stop = threading.Event()

    def assigner():
        client = lg.Client(server.port, school)
        while not stop.is_set():
            with pool_lock:
                # Mostly the next code; sometimes one another assigner may hold
                # too, and once all are out, only such races remain.
                code = pool.pop() if pool and random.random() < 0.8 else random.choice(codes)
            learner = random.choice(learners)
            kind, body = timed(client, tally, "assign", ASSIGN, {"input": {"codeId": code["id"], "assignee": learner}})
            if kind == "ok":
                with tally.lock:
                    tally.assigned += 1
                queues[learner].append(code["value"])

    def redeemer(who):
        client = lg.Client(server.port, tokens[who])
        mine = queues[who]
        while not stop.is_set():
            roll = random.random()
            if roll < 0.05 and redeemed_values:
                value = random.choice(list(redeemed_values))  # again, or someone else's
            elif roll < 0.08:
                value = random.choice(codes)["value"]  # maybe not assigned, maybe not to me
            else:
                try:
                    value = mine.popleft()
                except IndexError:
                    time.sleep(0.01)
                    continue
                if random.random() < 0.3:
                    mine.append(value)  # leave it for the twin thread too: a race
            kind, body = timed(client, tally, "redeem", REDEEM, {"input": {"value": value, "exam": "70-740"}})
            if kind == "ok":
                with tally.lock:
                    tally.redeemed += 1
                redeemed_values.append(value)

    def reader():
        client = lg.Client(server.port, school)
        learner_client = lg.Client(server.port, tokens[random.choice(learners)])
        after = None
        while not stop.is_set():
            roll = random.random()
            if roll < 0.5:
                kind, body = timed(client, tally, "page", PAGE, {"order": order, "after": after})
                page = (body or {}).get("data", {}).get("codes") if kind == "ok" else None
                after = page["pageInfo"]["endCursor"] if page and page["pageInfo"]["hasNextPage"] else None
            elif roll < 0.8:
                code = random.choice(codes)
                timed(client, tally, "lookup", LOOKUP, {"id": code["id"], "order": order})
            else:
                timed(learner_client, tally, "validate", VALIDATE, {"value": random.choice(codes)["value"]})

    n = max(args.clients, 8)
    assigners = max(2, n // 4)
    readers = max(2, n // 4)
    threads = [threading.Thread(target=assigner) for _ in range(assigners)]
    threads += [threading.Thread(target=reader) for _ in range(readers)]
    redeemer_threads = n - assigners - readers
    threads += [threading.Thread(target=redeemer, args=(learners[i % len(learners)],)) for i in range(redeemer_threads)]
    started = time.monotonic()
    for t in threads:
        t.start()
    side = threading.Thread(target=during, args=(stop,)) if during else None
    if side:
        side.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    if side:
        side.join()
    elapsed = time.monotonic() - started

    # The invariants, from the database itself.
    oid = lg.row_id(order)
    q = database.scalar
    checks = collections.OrderedDict()
    checks["codes of the order unchanged"] = (q(f"SELECT COUNT(*) FROM codes WHERE order_id = {oid}"), issued)
    checks["codes redeemed twice (REDEEM events per code > 1)"] = (q(
        "SELECT COUNT(*) FROM (SELECT code_id FROM code_events WHERE action = 'REDEEM' "
        "GROUP BY code_id HAVING COUNT(*) > 1) AS twice"), 0)
    checks["REDEEMED codes without their REDEEM event"] = (q(
        "SELECT COUNT(*) FROM codes c WHERE c.status = 'REDEEMED' AND NOT EXISTS "
        "(SELECT 1 FROM code_events e WHERE e.code_id = c.id AND e.action = 'REDEEM')"), 0)
    checks["REDEEM events on codes not REDEEMED"] = (q(
        "SELECT COUNT(*) FROM code_events e JOIN codes c ON c.id = e.code_id "
        "WHERE e.action = 'REDEEM' AND c.status <> 'REDEEMED'"), 0)
    # A request whose answer was lost may or may not have taken effect.
    kills = killed_at() if killed_at else []
    explained = [t for t in tally.uncertain_at if any(k <= t <= k + 3 for k in kills)]
    def within(found, done, op):
        lost = tally.uncertain[op] if kills else 0
        return (found, done) if not done <= found <= done + lost else (found, found)
    checks["redeemed codes == successful redeems"] = within(q(
        f"SELECT COUNT(*) FROM codes WHERE order_id = {oid} AND status = 'REDEEMED'"), tally.redeemed, "redeem")
    checks["REDEEM events == successful redeems"] = within(q(
        "SELECT COUNT(*) FROM code_events WHERE action = 'REDEEM'"), tally.redeemed, "redeem")
    checks["assigned codes == successful assigns"] = within(q(
        f"SELECT COUNT(*) FROM codes WHERE order_id = {oid} AND assignee IS NOT NULL"), tally.assigned, "assign")
    checks["ASSIGN events == successful assigns"] = within(q(
        "SELECT COUNT(*) FROM code_events WHERE action = 'ASSIGN'"), tally.assigned, "assign")
    checks["code.* outbox events == code events of a transition"] = (q(
        "SELECT COUNT(*) FROM events WHERE type IN ('code.assigned', 'code.redeemed')"), q(
        "SELECT COUNT(*) FROM code_events WHERE action IN ('ASSIGN', 'REDEEM')"))
    checks["redeemed codes whose assignee did not redeem"] = (q(
        "SELECT COUNT(*) FROM codes c JOIN code_events e ON e.code_id = c.id AND e.action = 'REDEEM' "
        "WHERE e.actor <> c.assignee"), 0)

    latencies = sorted(tally.latencies)
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
    # Anything but success and the refusals this load provokes on purpose.
    expected_kinds = {"ok", "user-ALREADY_ASSIGNED", "user-ALREADY_REDEEMED", "user-NOT_ASSIGNED",
                      "user-NOT_ASSIGNED_TO_YOU"}
    bad = {k: v for k, v in tally.kinds.items() if k not in expected_kinds}
    if kills and len(explained) == sum(tally.uncertain.values()):
        # Every lost answer came within 3 s of a kill: those are the kill's.
        bad = {k: v for k, v in bad.items() if not (k.startswith("http-502") or k.startswith("transport-"))}
    report = {
        "engine": args.engine, "seconds": round(elapsed, 1), "clients": len(threads),
        "requests": tally.requests, "requests_per_second": round(tally.requests / elapsed, 1),
        "latency_ms": {"p50": round(pct(0.5), 1), "p95": round(pct(0.95), 1), "p99": round(pct(0.99), 1)},
        "answers": dict(sorted(tally.kinds.items())),
        "by_operation": dict(sorted(tally.by_op.items())),
        "codes": issued, "assigned": tally.assigned, "redeemed": tally.redeemed,
        "answers lost to a kill": dict(tally.uncertain),
        "invariants (found/expected)": {name: f"{found}/{expected}" for name, (found, expected) in checks.items()},
    }
    lg.log(json.dumps(report, indent=2))
    failures = [f"{name}: found {found}, expected {expected}" for name, (found, expected) in checks.items()
                if found != expected]
    if bad:
        failures.append(f"unexpected answers (5xx, transport, errors): {bad}")
    if server.panicked():
        failures.append("the server log has a panic")
    if tally.redeemed == 0 or tally.assigned == 0:
        failures.append("the load did nothing: no assignment or no redemption succeeded")
    if failures:
        lg.fail("; ".join(failures))
    lg.log(f"[{args.engine}] soak passed: {tally.requests} requests, {len(checks)} invariants hold")


if __name__ == "__main__":
    main()
