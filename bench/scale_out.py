"""Throughput with one process against three, on one PostgreSQL database,
through HAProxy (round robin), in alternating rounds of one run: the same
processes and data, HAProxy in front of the first process only, or of all
three.

    cargo build --release --bin licensegraph
    python3 bench/scale_out.py [--rounds 3] [--seconds 8] [--connections 64]

Two loads: the nested page (bench/orders_page.graphql, reads) and learners
redeeming their own vouchers (writes, each a code transition with its
events). Reports requests per second per round and the median ratio
three / one. On a machine with as many cores as processes it measures how
the server scales out; on two cores it measures what three processes cost.
"""

import argparse
import json
import os
import statistics
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(os.path.dirname(BENCH), "hardening"))
import run  # noqa: E402
from run import dataset, lg  # noqa: E402
from processes import HAProxy  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=run.RELEASE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    work, cleanup = lg.workdir()
    db = lg.Database("postgres", work, pg_admin_url=run.PG_ADMIN)
    servers, proxies = [], []
    try:
        env = {**os.environ, "LICENSEGRAPH_DATABASE_URL": db.url, "LICENSEGRAPH_LOG": "warn"}
        lg.subprocess.run([args.binary, "migrate"], env=env, check=True)
        info = dataset.load(db, work, organizations=40, orders=400, codes=200_000, memberships=200, pool_orders=900)
        extra = {**run.SERVER_ENV, "LICENSEGRAPH_LOG": "warn", "LICENSEGRAPH_DB_MAX_CONNECTIONS": "16"}
        servers = [lg.Server(db.url, work, run.SECRET, extra_env=extra, name=f"p{i}", bin=args.binary).start()
                   for i in range(3)]
        one, three = HAProxy(work, servers[:1], name="one"), HAProxy(work, servers, name="three")
        proxies = [one, three]
        for proxy in proxies:
            proxy.start()
        admin = servers[0].token("bench@licensegraph.example", "admin")
        org = run.global_id("Organization", info["pool_school_id"])
        learner = servers[0].token(dataset.POOL_LEARNER, "learner", org)
        page = open(os.path.join(BENCH, "orders_page.graphql")).read()
        loads = {
            "page": {"BENCH_METHOD": "POST", "BENCH_BODY": run.gql_body(page), "BENCH_TOKEN": admin,
                     "BENCH_EXPECT": '"expiresOn"'},
        }
        first, last = info["pool_code_ids"]
        per_round = (last - first) // (2 * args.rounds + 2)
        cursor = [first]

        def redeem_env():
            start = cursor[0]
            cursor[0] += per_round
            values = [r[0] for r in db.query(
                f"SELECT value FROM codes WHERE id >= {start} AND id < {start + per_round} ORDER BY id")]
            path = os.path.join(work, f"values-{start}.txt")
            with open(path, "w") as f:
                f.write("\n".join(values) + "\n")
            return {"BENCH_METHOD": "POST", "BENCH_BODY": run.gql_body(run.REDEEM, {"v": "%VALUE%"}),
                    "BENCH_TOKEN": learner, "BENCH_VALUES": path, "BENCH_EXPECT": '"userErrors":[]'}

        results = {}
        for load in ("page", "redeem"):
            runs = {"one": [], "three": []}
            for i in range(args.rounds):
                order = ("one", "three") if i % 2 == 0 else ("three", "one")
                for name in order:
                    proxy = one if name == "one" else three
                    env = loads.get(load) or redeem_env()
                    report = run.wrk(proxy.port, "/graphql", args.seconds, args.connections, env)
                    if report.get("bad") or report.get("socket_errors"):
                        lg.fail(f"{load} through {name}: {report}")
                    runs[name].append(report)
            ratios = [t["rps"] / o["rps"] for t, o in zip(runs["three"], runs["one"])]
            results[load] = {
                "one process (rps)": run.spread([r["rps"] for r in runs["one"]]),
                "three processes (rps)": run.spread([r["rps"] for r in runs["three"]]),
                "ratio three / one": {"median": round(statistics.median(ratios), 3),
                                      "per_round": [round(r, 3) for r in ratios]},
            }
            lg.log(f"{load}: {json.dumps(results[load])}")
        results["cores"] = os.cpu_count()
        print(json.dumps(results, indent=2))
    finally:
        for proxy in proxies:
            proxy.stop()
        for server in servers:
            server.stop()
        db.close()
        cleanup()


if __name__ == "__main__":
    main()
