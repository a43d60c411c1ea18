#!/usr/bin/env bash
# The request fuzzer, for a bounded time (fuzz/README.md):
#   bash fuzz/run.sh                 # FUZZ_SECONDS=90 by default
#   FUZZ_SECONDS=3600 bash fuzz/run.sh
# Installs cargo-fuzz (pinned) if it is missing, replays every kept
# regression input, then fuzzes from the committed seeds and the corpus
# kept under target/. Any crash, abort, timeout, memory blow-up, 500 or
# INTERNAL fails it; the input is left in fuzz/artifacts/request/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-90}"
version=0.13.2

if ! cargo fuzz --version 2>/dev/null | grep -q "$version"; then
  echo "installing cargo-fuzz $version"
  cargo install --quiet --locked cargo-fuzz --version "$version"
fi
# cargo-fuzz passes -Z flags to rustc; the machine has the stable
# toolchain only, which takes them with RUSTC_BOOTSTRAP. No sanitizer:
# the workspace forbids unsafe code, and what we hunt is panics, stack
# overflows, stalls and memory growth, which libFuzzer sees by itself.
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none --release --debug-assertions)
corpus="$here/../target/fuzz-corpus/request"
mkdir -p "$corpus" "$here/artifacts/request"

cargo fuzz build "${flags[@]}" request

# libFuzzer options shared by both runs: a request stuck 10 s is a
# finding, and so is a process past 2 GiB.
opts=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536
      -artifact_prefix="$here/artifacts/request/" -print_final_stats=1)

echo "replaying $(ls regressions | wc -l) regression inputs"
cargo fuzz run "${flags[@]}" request regressions -- -runs=0 "${opts[@]}"

status=0
cargo fuzz run "${flags[@]}" request "$corpus" seeds -- -max_total_time="$seconds" "${opts[@]}" \
  2>&1 | tee "$here/../target/fuzz-last.log" || status=$?
grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" "$here/../target/fuzz-last.log" || true
echo "corpus: $(ls "$corpus" | wc -l) inputs"
if [ "$status" -ne 0 ]; then
  echo "!!! the fuzzer found an input that fails; it is in fuzz/artifacts/request/:"
  ls -l "$here/artifacts/request/"
  for f in "$here"/artifacts/request/*; do echo "--- $f (base64)"; base64 -w0 "$f"; echo; done
  echo "Keep it as a regression case: cp it into fuzz/regressions/ with a name saying what it was."
  exit "$status"
fi
