#!/usr/bin/env bash
# Fuzzes the live API from its own schema with Schemathesis (GraphQL mode),
# once per role: anonymous, learner, customer_admin, reseller,
# partner_admin, admin. The server runs on a scratch SQLite database with
# the demo data (so generated ids and codes can hit real rows) and a free
# loopback port. Fails on any 5xx, any answer that is not valid GraphQL
# over HTTP (hardening/graphql_over_http.py), or a panic in the server log.
#
#   bash hardening/schemathesis.sh            # 25 examples per operation
#   EXAMPLES=100 bash hardening/schemathesis.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
examples="${EXAMPLES:-25}"
seed="${SEED:-$RANDOM}"

venv="$(bash "$here/venv.sh")"
# The demo data, so generated ids and codes can hit real rows; its tokens
# (printed as "# <role> (...)" then the token) sign in as each role.
before_serve() { "$bin" seed --demo --ttl 2h >"$work/tokens.txt"; }
source "$here/serve.sh"

token_of() { awk -v role="$1" '$1 == "#" && $2 == role { getline; print; exit }' "$work/tokens.txt"; }

failed=0
for role in anonymous learner customer_admin reseller partner_admin admin; do
  headers=()
  if [ "$role" != anonymous ]; then
    token="$(token_of "$role")"
    [ -n "$token" ] || { echo "no demo token for $role"; exit 1; }
    headers=(-H "Authorization: Bearer $token")
  fi
  printf '\n--- Schemathesis as %s (%s examples per operation, seed %s)\n' "$role" "$examples" "$seed"
  if ! (cd "$here" && SCHEMATHESIS_HOOKS=graphql_over_http "$venv/bin/schemathesis" run \
      "http://127.0.0.1:$port/graphql" "${headers[@]}" \
      --checks graphql_over_http --max-examples "$examples" --seed "$seed" \
      --generation-database none --no-color --warnings off --workers 2); then
    failed=1
  fi
done

if grep -n "panicked" "$work/server.log"; then
  echo "the server panicked (above)"; failed=1
fi
[ "$failed" -eq 0 ] || { echo "Schemathesis found failures (see above)"; exit 1; }
echo "Schemathesis: every role passed; no panic in the server log"
