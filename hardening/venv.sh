#!/usr/bin/env bash
# Creates (once) the Python virtual environment the hardening tools run in,
# under target/ so `cargo clean` removes it and git never sees it. Prints
# its path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/hardening-venv"
stamp="$venv/.requirements"
if ! cmp -s "$root/hardening/requirements.txt" "$stamp" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/hardening/requirements.txt" >&2
  cp "$root/hardening/requirements.txt" "$stamp"
fi
echo "$venv"
