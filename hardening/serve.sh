# Sourced by conformance/run.sh and hardening/schemathesis.sh: builds the
# debug binary and starts `licensegraph serve` on a scratch SQLite database
# and a free loopback port, stopped (and the scratch directory removed) when
# the calling script exits. Sets: root, work, port, server, bin.
#   before_serve   optional function run after the database URL is set and
#                  before the server starts (e.g. to seed demo data).

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/target/debug/licensegraph"
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin licensegraph

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export LICENSEGRAPH_DATABASE_URL="sqlite://$work/scratch.db" LICENSEGRAPH_LOG=warn
if declare -F before_serve >/dev/null; then before_serve; fi
LICENSEGRAPH_LISTEN="127.0.0.1:$port" "$bin" serve >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "server exited:"; cat "$work/server.log"; exit 1; }
  sleep 0.1
done
