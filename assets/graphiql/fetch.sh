#!/usr/bin/env bash
# Fetches the pinned GraphiQL, React, ReactDOM and graphql-ws builds the server embeds
# (src/http/graphiql.rs) from the npm registry into vendor/, and checks them
# against SHA256SUMS. `fetch.sh --check` fetches into a scratch folder and
# fails unless the committed files are byte for byte what the registry
# serves (CI runs this). To move to a new version: change the pins below,
# run `fetch.sh --update`, and commit vendor/ and SHA256SUMS together.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
GRAPHIQL=3.8.3   # the last release with a UMD build (4.x is ESM-only)
REACT=18.3.1     # the last React with UMD builds; GraphiQL 3 needs 16..18
GRAPHQL_WS=6.4.2 # subscriptions from GraphiQL (graphql-transport-ws); its UMD build

mode="${1:-}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql-ws@$GRAPHQL_WS" >/dev/null)
out="$work/out"; mkdir -p "$out"
for pkg in graphiql-$GRAPHIQL react-$REACT react-dom-$REACT graphql-ws-$GRAPHQL_WS; do
  mkdir -p "$work/$pkg" && tar xzf "$work/$pkg.tgz" -C "$work/$pkg"
done
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.js"  "$out/graphiql.min.js"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.css" "$out/graphiql.min.css"
cp "$work/graphiql-$GRAPHIQL/package/LICENSE"          "$out/LICENSE.graphiql"
cp "$work/react-$REACT/package/umd/react.production.min.js"         "$out/react.production.min.js"
cp "$work/react-dom-$REACT/package/umd/react-dom.production.min.js" "$out/react-dom.production.min.js"
cp "$work/react-$REACT/package/LICENSE" "$out/LICENSE.react"
cp "$work/graphql-ws-$GRAPHQL_WS/package/umd/graphql-ws.min.js" "$out/graphql-ws.min.js"
cp "$work/graphql-ws-$GRAPHQL_WS/package/LICENSE.md" "$out/LICENSE.graphql-ws"

case "$mode" in
  --update)
    rm -rf "$here/vendor" && mkdir -p "$here/vendor" && cp "$out"/* "$here/vendor/"
    (cd "$here/vendor" && sha256sum -- * > ../SHA256SUMS)
    echo "vendor/ updated; commit it with SHA256SUMS" ;;
  --check)
    (cd "$out" && sha256sum --quiet -c "$here/SHA256SUMS")
    (cd "$here/vendor" && sha256sum --quiet -c "$here/SHA256SUMS")
    echo "GraphiQL $GRAPHIQL, React $REACT and graphql-ws $GRAPHQL_WS: vendor/ matches the npm registry" ;;
  *) echo "usage: fetch.sh --update | --check" >&2; exit 2 ;;
esac
