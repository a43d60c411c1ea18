"""The outbox's cost on redemption (issue 21: at most 10 %): `redeemCode`
throughput of this build against a baseline build from before the outbox
wrote code events, in alternating rounds of one run, each server on its own
scratch database loaded with the same data set (bench/dataset.py).

    git worktree add /tmp/lg-baseline f619358
    (cd /tmp/lg-baseline && cargo build --release --bin licensegraph)
    python3 bench/outbox.py --baseline /tmp/lg-baseline/target/release/licensegraph

Reports, per engine, the median of the per-round ratios (this build /
baseline) with their spread, and checks that every redemption of this
build wrote its `code.redeemed` event.

The baseline predates the shared attempt budget too (issue 22), so the
outbox's own cost is measured with this build counting the budget in its
process, as the baseline does (`LICENSEGRAPH_CODE_ATTEMPTS_COUNTED_IN=
process`). On PostgreSQL a third server runs this build as configured by
default (the budget in the database), and its ratio is reported beside:
what both changes cost together.

Beside throughput, each side reports its server's CPU per 10 000
redemptions, on PostgreSQL its database backends' CPU (`db_cpu_s_per_10k`),
the share of the machine left idle during its rounds, and how many
redemptions a group commit carried (`redemptions_a_group`, from /metrics).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import run  # noqa: E402
from run import dataset, lg  # noqa: E402


def setup(binary, engine, work, name, env=None):
    where = os.path.join(work, name)
    os.makedirs(where, exist_ok=True)
    db = lg.Database(engine, where, pg_admin_url=run.PG_ADMIN)
    subprocess.run([binary, "migrate"], env={**os.environ, "LICENSEGRAPH_DATABASE_URL": db.url,
                                             "LICENSEGRAPH_LOG": "warn"}, check=True)
    info = dataset.load(db, where, organizations=40, orders=400, codes=200_000, memberships=200, pool_orders=900)
    server = lg.Server(db.url, where, run.SECRET, name=name, bin=binary,
                       extra_env={**run.SERVER_ENV, "LICENSEGRAPH_DISPATCH_INTERVAL_MS": "0", **(env or {})})
    server.start()
    org = run.global_id("Organization", info["pool_school_id"])
    token = server.token(dataset.POOL_LEARNER, "learner", org)
    return {"db": db, "info": info, "server": server, "token": token, "next": info["pool_code_ids"][0], "work": where}


def database_cpu(db):
    """CPU seconds spent so far by each PostgreSQL backend serving `db`."""
    if db.engine != "postgres":
        return {}
    spent = {}
    for (backend,) in db.query("SELECT pid FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()"):
        try:
            spent[int(backend)] = run.cpu_seconds(int(backend))
        except OSError:  # it ended in between
            pass
    return spent


def groups(side):
    """Redemptions committed in groups so far, and the groups (/metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{side['server'].port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = dict(re.findall(r"^licensegraph_redemption_group_size_(sum|count) (\S+)$", text, re.M))
    return float(found.get("sum", 0)), float(found.get("count", 0))


def machine_cpu():
    """The machine's busy and total CPU time so far, in ticks (/proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(t) for t in f.readline().split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # less idle and iowait


def round_of(side, count, seconds, connections):
    first = side["next"]
    side["next"] += count
    if side["next"] > side["info"]["pool_code_ids"][1]:
        lg.fail("the voucher pool is too small for these rounds")
    values = [r[0] for r in side["db"].query(
        f"SELECT value FROM codes WHERE id >= {first} AND id < {first + count} ORDER BY id")]
    path = os.path.join(side["work"], "values.txt")
    with open(path, "w") as f:
        f.write("\n".join(values) + "\n")
    env = {"BENCH_METHOD": "POST", "BENCH_BODY": run.gql_body(run.REDEEM, {"v": "%VALUE%"}),
           "BENCH_TOKEN": side["token"], "BENCH_VALUES": path, "BENCH_EXPECT": '"userErrors":[]'}
    pid = side["server"].process.pid
    db_before, machine_before, group_before = database_cpu(side["db"]), machine_cpu(), groups(side)
    report = run.measured(pid, lambda: run.wrk(side["server"].port, "/graphql", seconds, connections, env))
    db_after, (busy, total) = database_cpu(side["db"]), machine_cpu()
    report["idle"] = 1 - (busy - machine_before[0]) / max(1, total - machine_before[1])
    group_after = groups(side)
    report["group"] = (group_after[0] - group_before[0]) / max(1, group_after[1] - group_before[1])
    if side["db"].engine == "postgres":
        spent = sum(cpu - db_before.get(backend, 0) for backend, cpu in db_after.items())
        report["db_cpu_s_per_10k"] = spent / max(1, report["requests"]) * 10_000
    if report["checked"] >= count - 1:
        lg.fail("a round ran out of vouchers: shorten --seconds")
    report["rps"] = report["checked"] / report["seconds"]
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--binary", default=run.RELEASE)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if args.binary == run.RELEASE:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "licensegraph"], cwd=lg.ROOT, check=True)
    work, cleanup = lg.workdir()
    results = {}
    try:
        for engine in args.engines.split(","):
            in_process = {"LICENSEGRAPH_CODE_ATTEMPTS_COUNTED_IN": "process"}
            sides = {"outbox": setup(args.binary, engine, work, f"{engine}-outbox", in_process),
                     "baseline": setup(args.baseline, engine, work, f"{engine}-baseline")}
            if engine == "postgres":
                sides["shared budget"] = setup(args.binary, engine, work, f"{engine}-shared")
            per_round = max(1, (sides["outbox"]["info"]["pool_code_ids"][1] - sides["outbox"]["next"])
                            // (args.rounds + 1))
            for side in sides.values():
                round_of(side, per_round, 2, args.connections)  # warm-up
            runs = {name: [] for name in sides}
            for i in range(args.rounds):
                order = list(sides) if i % 2 == 0 else list(reversed(list(sides)))
                for name in order:
                    runs[name].append(round_of(sides[name], per_round, args.seconds, args.connections))
            ratios = [a["rps"] / b["rps"] for a, b in zip(runs["outbox"], runs["baseline"])]
            db = sides["outbox"]["db"]
            # One statement, so one snapshot: a redemption wrk gave up on
            # may still commit between two.
            redeemed, events = (int(n) for n in db.query(
                "SELECT (SELECT count(*) FROM codes WHERE status = 'REDEEMED'), "
                "(SELECT count(*) FROM events WHERE type = 'code.redeemed')")[0])
            if redeemed != events:
                lg.fail(f"{engine}: {redeemed} codes redeemed but {events} code.redeemed events")
            results[engine] = {
                name: run.summary(reports) for name, reports in runs.items()
            }
            for name, reports in runs.items():
                results[engine][name]["machine_idle"] = run.spread([r["idle"] for r in reports], 3)
                results[engine][name]["redemptions_a_group"] = run.spread([r["group"] for r in reports], 1)
                if engine == "postgres":
                    results[engine][name]["db_cpu_s_per_10k"] = run.spread(
                        [r["db_cpu_s_per_10k"] for r in reports], 3)
            results[engine]["ratio"] = {"median": round(statistics.median(ratios), 3),
                                        "per_round": [round(r, 3) for r in ratios]}
            if "shared budget" in runs:
                both = [a["rps"] / b["rps"] for a, b in zip(runs["shared budget"], runs["baseline"])]
                results[engine]["ratio with the shared budget"] = {
                    "median": round(statistics.median(both), 3), "per_round": [round(r, 3) for r in both]}
            results[engine]["code.redeemed events = codes redeemed"] = events
            for side in sides.values():
                side["server"].stop()
                side["db"].close()
            lg.log(f"{engine}: {json.dumps(results[engine])}")
    finally:
        cleanup()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
