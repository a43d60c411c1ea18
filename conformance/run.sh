#!/usr/bin/env bash
# Starts licensegraph on a scratch SQLite database and a free loopback port,
# runs the graphql-http audit suite against it, and stops it. Fails when any
# MUST or SHOULD audit fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

(cd "$here" && npm ci --no-audit --no-fund --silent)
source "$root/hardening/serve.sh"

node "$here/audit.mjs" "http://127.0.0.1:$port/graphql"
