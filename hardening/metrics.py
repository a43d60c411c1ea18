"""`/metrics` read by a real Prometheus text-format parser (prometheus_client,
pinned in hardening/requirements.txt), and its figures move as requests
are made:

    target/hardening-venv/bin/python hardening/metrics.py [--engine sqlite|postgres]

- requests_total counts queries (`anonymous` for a name from no bounded
  set, the name for a persisted query), refusals by extensions.code
  (UNAUTHENTICATED), with their HTTP status; the duration and SQL-statement
  histograms count them;
- the pool gauges are there; a code attempt past the budget moves
  rate_limited_total; a learner's redemption moves the redemption group
  histogram;
- with LICENSEGRAPH_METRICS_LISTEN, /metrics moves to that address and is
  gone from the API's.
"""

import argparse
import hashlib
import json
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

import lg

REDEEM = """mutation Redeem($input: RedeemCodeInput!) {
  redeemCode(input: $input) { code { id status } userErrors { code field message } } }"""
ASSIGN = """mutation Assign($input: AssignCodeInput!) {
  assignCode(input: $input) { code { id status } userErrors { code field message } } }"""
VALIDATE = "query Validate($v: String!) { validateCode(value: $v) { usable problem } }"
PROGRAMS = "query Programs { programs { totalCount } }"


def scrape(port):
    """{(name, frozenset(labels)): value} for every sample, parsed by prometheus_client."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        kind = response.headers.get("content-type", "")
        if not kind.startswith("text/plain"):
            lg.fail(f"/metrics answered {kind}")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels):
    """The sum of `name` over the samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def moved(before, after, name, by, **labels):
    delta = value(after, name, **labels) - value(before, name, **labels)
    if delta != by:
        lg.fail(f"{name}{labels} moved by {delta}, not {by}")
    lg.log(f"ok: {name}{labels} +{by:g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        lg.build()
    work, cleanup = lg.workdir()
    database = lg.Database(args.engine, work)
    server = lg.Server(database.url, work, "metrics-" + "m" * 40, {"LICENSEGRAPH_CODE_ATTEMPTS_PER_MINUTE": "3"})
    try:
        server.start()
        admin = lg.Client(server.port, server.token("desk@hardening.example", "admin"))
        org, agreement = lg.customer(admin, "Metrics Academy")
        order = lg.invoiced_order(admin, agreement, 1)
        admin.mutate(lg.STEP % "fulfillOrder", {"input": {"id": order}})
        code = lg.codes_of(admin, order)[0]

        before = scrape(server.port)
        for name in ("licensegraph_db_pool_connections", "licensegraph_db_pool_max_connections"):
            if not any(n == name for n, _ in before):
                lg.fail(f"{name} is missing")
        if value(before, "licensegraph_db_pool_max_connections") < 1:
            lg.fail("the pool's size limit reads below 1")

        anonymous = lg.Client(server.port)
        for _ in range(5):
            anonymous.data(PROGRAMS)
        # A persisted query: its name is from a bounded set, so it labels.
        digest = hashlib.sha256(PROGRAMS.encode()).hexdigest()
        anonymous.post(PROGRAMS)  # the sixth without a hash
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        for _ in range(2):
            request = urllib.request.Request(
                f"http://127.0.0.1:{server.port}/graphql",
                json.dumps({"query": PROGRAMS, "extensions": extensions}).encode(),
                {"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        refused = lg.Client(server.port, "not-a-token")
        for _ in range(3):
            refused.post(PROGRAMS)
        after = scrape(server.port)
        moved(before, after, "licensegraph_requests_total", 6,
              type="query", operation="anonymous", outcome="ok", status="200")
        moved(before, after, "licensegraph_requests_total", 2,
              type="query", operation="Programs", outcome="ok", status="200")
        moved(before, after, "licensegraph_requests_total", 3, outcome="UNAUTHENTICATED", status="401")
        moved(before, after, "licensegraph_request_duration_seconds_count", 8, type="query")
        moved(before, after, "licensegraph_request_sql_statements_count", 8, type="query")
        if value(after, "licensegraph_request_sql_statements_sum", type="query") <= \
                value(before, "licensegraph_request_sql_statements_sum", type="query"):
            lg.fail("the queries ran no SQL statement, by the histogram")

        learner = "learner@metrics.example"
        admin.mutate(ASSIGN, {"input": {"codeId": code["id"], "assignee": learner}})
        client = lg.Client(server.port, server.token(learner, "learner", org))
        before = scrape(server.port)
        client.mutate(REDEEM, {"input": {"value": code["value"], "exam": "70-740"}})
        # The budget is 3 a minute: with the redemption, 7 attempts refuse at
        # least one even if a minute turns over between them.
        limited = sum(client.post(VALIDATE, {"v": "NOT-A-CODE"})[0] == 429 for _ in range(6))
        if limited < 1:
            lg.fail("seven code attempts within a budget of three were all let through")
        after = scrape(server.port)
        moved(before, after, "licensegraph_redemption_group_size_count", 1)
        moved(before, after, "licensegraph_rate_limited_total", limited)
        moved(before, after, "licensegraph_requests_total", limited, outcome="RATE_LIMITED", status="429")
    finally:
        server.stop()

    # A listener of its own.
    metrics_port = lg.free_port()
    server = lg.Server(database.url, work, "metrics-" + "m" * 40,
                       {"LICENSEGRAPH_METRICS_LISTEN": f"127.0.0.1:{metrics_port}"}, name="separate")
    try:
        server.start()
        lg.Client(server.port).data(PROGRAMS)
        samples = scrape(metrics_port)
        if value(samples, "licensegraph_requests_total", operation="anonymous") < 1:
            lg.fail("the separate listener's metrics did not count the query")
        status, _ = lg.get(server.port, "/metrics")
        if status != 404:
            lg.fail(f"/metrics with the API answered {status} while it has a listener of its own")
        lg.log("ok: LICENSEGRAPH_METRICS_LISTEN serves /metrics there, and not with the API")
    finally:
        server.stop()
        database.close()
        cleanup()
    lg.log(f"[{args.engine}] /metrics parsed by prometheus_client; its figures moved as requests were made")


if __name__ == "__main__":
    main()
