#!/usr/bin/env bash
# Compares schema.graphql with the previous commit's (SCHEMA_BASE=<rev> to
# choose another) using graphql-inspector. A breaking change fails unless a
# commit since then that touches schema.graphql says why, in a line of its
# message starting with "Breaking:" (and the CHANGELOG marks it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
base="${SCHEMA_BASE:-HEAD~1}"

if ! git -C "$root" cat-file -e "$base:schema.graphql" 2>/dev/null; then
  echo "no schema.graphql at $base: nothing to compare"
  exit 0
fi
[ -d "$here/node_modules/@graphql-inspector" ] || (cd "$here" && npm ci --no-audit --no-fund --silent)
old="$(mktemp --suffix=.graphql)"
trap 'rm -f "$old"' EXIT
git -C "$root" show "$base:schema.graphql" >"$old"
if (cd "$here" && npx --no-install graphql-inspector diff "$old" "$root/schema.graphql"); then
  exit 0
fi
if git -C "$root" log --format=%B "$base..HEAD" -- schema.graphql | grep -q '^Breaking:'; then
  echo "the breaking changes above are explained in a commit message (Breaking: ...)"
  exit 0
fi
echo "!!! breaking schema changes since $base, and no commit message says why (a line starting 'Breaking:')"
exit 1
