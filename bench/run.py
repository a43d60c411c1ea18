"""Benchmarks, reported as ratios measured in one run (docs/performance.md).

    python3 bench/run.py                  # every workload implemented so far
    python3 bench/run.py --rounds 5 --seconds 10

Starts the release binary on a scratch SQLite database, then:

- cheap:   `{ __typename }` over POST with a valid bearer token (JWT check,
           limits, request id, logs: the full stack) against GET /healthz, a
           bare axum route in the same process: the GraphQL layer's share of
           the physical limit. wrk -t1 -c64, warm-up, then rounds alternating
           the two; every answer is checked (bench/check.lua: a 200 whose
           body mentions "errors" counts as a failure). Medians and spread of
           requests/s, p50/p99, CPU seconds per 10 000 requests.
- start:   cold start to the first successful query (fresh database: create,
           migrate, seed; and an existing one), and memory at rest
           (VmRSS) and at peak (VmHWM) after the load.

Needs wrk (Debian: `apt-get install wrk`).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hardening"))
import lg  # noqa: E402

RELEASE = os.path.join(lg.ROOT, "target", "release", "licensegraph")
CHECK = os.path.join(lg.ROOT, "bench", "check.lua")
TICKS = os.sysconf("SC_CLK_TCK")


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
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", CHECK, f"http://127.0.0.1:{port}{path}"],
        env={**os.environ, **env}, capture_output=True, text=True, check=True)
    line = [l for l in result.stdout.splitlines() if l.startswith("{")][-1]
    report = json.loads(line)
    report["rps"] = report["requests"] / report["seconds"]
    return report


def spread(values, digits=1):
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def cheap(args, server):
    token = server.token("bench@licensegraph.example", "admin")
    systems = {
        "healthz": ("/healthz", {"BENCH_METHOD": "GET"}),
        "typename": ("/graphql", {"BENCH_METHOD": "POST", "BENCH_BODY": json.dumps({"query": "{ __typename }"}),
                                  "BENCH_TOKEN": token}),
    }
    pid = server.process.pid
    for name, (path, env) in systems.items():  # warm-up
        wrk(server.port, path, args.warmup, args.connections, env)
    runs = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, (path, env) in systems.items():
            before = cpu_seconds(pid)
            report = wrk(server.port, path, args.seconds, args.connections, env)
            report["cpu_s_per_10k"] = (cpu_seconds(pid) - before) / report["requests"] * 10_000
            if report["bad"] or report["socket_errors"]:
                lg.fail(f"{name}: {report['bad']} bad answers, {report['socket_errors']} socket errors")
            runs[name].append(report)
    out = {}
    for name, reports in runs.items():
        out[name] = {
            "rps": spread([r["rps"] for r in reports]),
            "p50_ms": spread([r["p50_ms"] for r in reports], 2),
            "p99_ms": spread([r["p99_ms"] for r in reports], 2),
            "cpu_s_per_10k": spread([r["cpu_s_per_10k"] for r in reports], 3),
            "bad_answers": sum(r["bad"] for r in reports),
        }
    ratios = [t["rps"] / h["rps"] for t, h in zip(runs["typename"], runs["healthz"])]
    out["ratio_typename_to_healthz"] = {"per_round": [round(r, 3) for r in ratios],
                                        "median": round(statistics.median(ratios), 3)}
    return out


def first_query_seconds(database_url, work, name):
    server = lg.Server(database_url, work, "bench-" + "b" * 40, name=name, bin=RELEASE)
    started = time.monotonic()
    server.start(wait=False)
    try:
        while True:
            try:
                client = lg.Client(server.port, timeout=5)
                status, body = client.post("{ __typename }")
                if status == 200 and not body.get("errors"):
                    took = time.monotonic() - started
                    break
            except OSError:
                pass
            if server.process.poll() is not None or time.monotonic() - started > 30:
                lg.fail(f"{name}: no answer: {server.read_log()[-1000:]}")
            time.sleep(0.001)
        time.sleep(1)
        rest = memory_kib(server.process.pid)
        return took, rest
    finally:
        server.stop()


def start(work):
    path = os.path.join(work, "cold.db")
    fresh, _ = first_query_seconds(f"sqlite://{path}", work, "cold-fresh")
    existing, rest = first_query_seconds(f"sqlite://{path}", work, "cold-existing")
    return {"first_query_ms_fresh_database": round(fresh * 1000, 1),
            "first_query_ms_existing_database": round(existing * 1000, 1),
            "resting_rss_mib": round(rest["VmRSS"] / 1024, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        lg.fail("wrk is not installed (Debian: apt-get install wrk)")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "licensegraph"], cwd=lg.ROOT, check=True)
    work, cleanup = lg.workdir()
    try:
        results = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release}}
        results["start"] = start(work)
        database = f"sqlite://{os.path.join(work, 'bench.db')}"
        server = lg.Server(database, work, "bench-" + "b" * 40, name="bench", bin=RELEASE)
        server.start()
        try:
            results["cheap"] = cheap(args, server)
            peak = memory_kib(server.process.pid)
            results["memory_after_load_mib"] = {"rss": round(peak["VmRSS"] / 1024, 1),
                                                "peak_hwm": round(peak["VmHWM"] / 1024, 1)}
        finally:
            server.stop()
        lg.log(json.dumps(results, indent=2))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
