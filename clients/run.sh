#!/usr/bin/env bash
# Real clients against a running licensegraph (development mode, scratch
# SQLite, free loopback port): headless Chromium calls the API from an
# allowed origin and from one not on the list (cors.mjs); Apollo Client's
# persisted-query link, over POST and GET (apq.mjs); GraphiQL with no
# network beyond loopback (graphiql.mjs), after checking that its vendored
# builds are what the npm registry serves for the pinned versions. Installs
# Debian's chromium if it is missing, and the npm packages pinned in
# package-lock.json. Screenshots: target/cors.png, target/graphiql.png.
# Last, graphql-codegen: the schema by introspection from the server, every
# README example as a document (codegen.yml, with the README's scalar
# mapping), and tsc over what it generated and codegen-check.ts. Between
# them, the graphql-ws client subscribes (subscriptions.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

if ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
CHROMIUM="$(command -v "${CHROMIUM:-chromium}")"
export CHROMIUM
(cd "$here" && npm ci --no-audit --no-fund --silent)
bash "$root/assets/graphiql/fetch.sh" --check
source "$root/hardening/serve.sh"

token="$("$bin" token --sub cors-test@licensegraph.example --role admin --ttl 10m)"
mkdir -p "$root/target"
node "$here/cors.mjs" "http://127.0.0.1:$port/graphql" "$token" "$root/target/cors.png"

token="$("$bin" token --sub apq-test@licensegraph.example --role admin --ttl 10m)"
node "$here/apq.mjs" "http://127.0.0.1:$port/graphql" "$token"

echo "graphql-ws: subscriptions over graphql-transport-ws"
node "$here/subscriptions.mjs" "http://127.0.0.1:$port/graphql" "$bin"

token="$("$bin" token --sub graphiql-test@licensegraph.example --role admin --ttl 10m)"
node "$here/graphiql.mjs" "http://127.0.0.1:$port" "$token" "$root/target/graphiql.png"

echo "graphql-codegen: the README's operations against the server's schema"
token="$("$bin" token --sub codegen@licensegraph.example --role admin --ttl 10m)"
docs="$work/codegen-documents"
mkdir -p "$docs"
curl -fsS "http://127.0.0.1:$port/graphiql/examples.json" | python3 -c '
import json, re, sys
for i, example in enumerate(json.load(sys.stdin)):
    name = re.sub(r"[^A-Za-z0-9]+", "-", example["title"]).strip("-")
    with open(f"{sys.argv[1]}/{i:02d}-{name}.graphql", "w") as f:
        f.write(example["source"])
' "$docs"
rm -rf "$here/gql"
(cd "$here" && LICENSEGRAPH_URL="http://127.0.0.1:$port/graphql" LICENSEGRAPH_TOKEN="$token" \
  CODEGEN_DOCUMENTS="$docs" CODEGEN_OUT="$here/gql" npx --no-install graphql-codegen --config codegen.yml --silent)
(cd "$here" && npx --no-install tsc -p tsconfig.json)
echo "ok: $(ls "$docs" | wc -l) README examples generated types that compile (clients/gql/)"
