#!/usr/bin/env bash
# Starts licensegraph on a scratch SQLite database and a free loopback port,
# runs the graphql-http audit suite against it, and stops it. Fails when any
# MUST or SHOULD audit fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin licensegraph
(cd "$here" && npm ci --no-audit --no-fund --silent)

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LICENSEGRAPH_DATABASE_URL="sqlite://$work/audit.db" LICENSEGRAPH_LISTEN="127.0.0.1:$port" LICENSEGRAPH_LOG=warn \
  "$root/target/debug/licensegraph" serve >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "server exited:"; cat "$work/server.log"; exit 1; }
  sleep 0.1
done

node "$here/audit.mjs" "http://127.0.0.1:$port/graphql"
