#!/usr/bin/env bash
# Real clients against a running licensegraph (development mode, scratch
# SQLite, free loopback port): headless Chromium calls the API from an
# allowed origin and from one not on the list (cors.mjs); Apollo Client's
# persisted-query link, over POST and GET (apq.mjs); GraphiQL with no
# network beyond loopback (graphiql.mjs), after checking that its vendored
# builds are what the npm registry serves for the pinned versions. Installs
# Debian's chromium if it is missing, and the npm packages pinned in
# package-lock.json. Screenshots: target/cors.png, target/graphiql.png.
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

token="$("$bin" token --sub graphiql-test@licensegraph.example --role admin --ttl 10m)"
node "$here/graphiql.mjs" "http://127.0.0.1:$port" "$token" "$root/target/graphiql.png"
