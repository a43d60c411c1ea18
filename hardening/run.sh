#!/usr/bin/env bash
# Every hardening suite, as CI runs them (see hardening/README.md):
# Schemathesis per role, the fault tests, hostile clients and the soak on
# both engines.
#   bash hardening/run.sh                 # SOAK_SECONDS=120 by default
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
soak="${SOAK_SECONDS:-120}"

step() { printf '\n==> hardening: %s\n' "$*"; }

cargo build --quiet --bin licensegraph

step "Schemathesis, once per role"
SEED="${SEED:-20261121}" bash hardening/schemathesis.sh

step "faults: SQLite concurrent writers wait (WAL, busy timeout)"
python3 hardening/faults.py writers --no-build
step "faults: kill -9 during a 99 990-code fulfilment (SQLite)"
python3 hardening/faults.py kill --engine sqlite --no-build
step "faults: kill -9 during a 99 990-code fulfilment (PostgreSQL)"
python3 hardening/faults.py kill --engine postgres --no-build
step "faults: Idempotency-Key through a kill -9, 32 concurrent retries (SQLite)"
python3 hardening/faults.py retries --engine sqlite --no-build
step "faults: Idempotency-Key through a kill -9, 32 concurrent retries (PostgreSQL)"
python3 hardening/faults.py retries --engine postgres --no-build
step "faults: PostgreSQL stopped and started under load"
python3 hardening/faults.py outage --no-build

step "metrics: /metrics parsed by prometheus_client, its figures moving (SQLite, PostgreSQL)"
venv="$(bash hardening/venv.sh)"
"$venv/bin/python" hardening/metrics.py --engine sqlite --no-build
"$venv/bin/python" hardening/metrics.py --engine postgres --no-build

step "tracing: traceparent continued, spans received by an OTLP/HTTP collector (opentelemetry-proto)"
"$venv/bin/python" hardening/otlp.py --no-build

step "notices: e-mail through a real SMTP server (aiosmtpd), webhooks verified by standardwebhooks (SQLite, PostgreSQL)"
"$venv/bin/python" hardening/notices.py --engine sqlite --no-build
"$venv/bin/python" hardening/notices.py --engine postgres --no-build

step "live: an event written through one process reaches a graphql-ws subscriber of another (PostgreSQL NOTIFY)"
python3 hardening/live.py --no-build

step "dispatch: 1 000 webhooks through a SIGKILL (SQLite, PostgreSQL); two processes never send one twice"
python3 hardening/dispatch.py kill --engine sqlite --no-build
python3 hardening/dispatch.py kill --engine postgres --no-build
python3 hardening/dispatch.py pair --no-build

step "processes: ten started at once; three behind HAProxy: one attempt budget, the soak through a drain and a kill (PostgreSQL, then through PgBouncer)"
pgbouncer="$(bash hardening/tools.sh)"
python3 hardening/processes.py --no-build --seconds "${PROCESSES_SECONDS:-40}"
python3 hardening/processes.py --no-build --seconds "${PROCESSES_SECONDS:-40}" --pgbouncer "$pgbouncer"

step "hostile clients: deep texts, slow clients, timing (SQLite)"
python3 hardening/hostile.py all --engine sqlite --no-build
step "hostile clients: deep texts, slow clients, timing (PostgreSQL)"
python3 hardening/hostile.py all --engine postgres --no-build

step "soak: ${soak} s on SQLite"
python3 hardening/soak.py --engine sqlite --seconds "$soak" --no-build
step "soak: ${soak} s on PostgreSQL"
python3 hardening/soak.py --engine postgres --seconds "$soak" --no-build

printf '\n==> hardening passed\n'
