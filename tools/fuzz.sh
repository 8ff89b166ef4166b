#!/usr/bin/env bash
# Runs every libFuzzer target of the sanitizer build (tools/sanitize.sh build)
# for N seconds each, from its seed corpus (tests/fuzz/corpus/<name>/, copied:
# the repository's corpus is not modified), and reports executions and
# crashes. Exit code 1 if any target crashed; crash inputs are kept.
#   tools/fuzz.sh [--seconds N] [--only NAME] [--jobs N]
# --jobs: targets run at once (default: the number of cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRUST_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=5
only=""
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "usage: tools/fuzz.sh [--seconds N] [--only NAME] [--jobs N]" >&2; exit 2 ;;
  esac
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$(mktemp -d /tmp/crust-fuzz-XXXXXX)

# One target: its corpus copied, its verdict in $work/<name>.result.
fuzz_one() {
  local bin=$1 name=${1##*/fuzz_}
  local corpus="$work/$name" log="$work/$name.log"
  mkdir -p "$corpus"
  [ -d "$root/tests/fuzz/corpus/$name" ] && cp "$root/tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/$name-" "$corpus" > "$log" 2>&1; then
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    printf '  ok: %-18s %9s executions in %ss, corpus %s inputs, no crash\n' "$name" "$execs" \
      "$seconds" "$(ls "$corpus" | wc -l)" > "$work/$name.result"
  else
    { echo "  CRASH: $name (log and inputs kept in $work)"; tail -30 "$log"; } > "$work/$name.result"
  fi
}

names=()
for bin in "$build"/tests/fuzz/fuzz_*; do
  name=${bin##*/fuzz_}
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  names+=("$name")
  fuzz_one "$bin" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
done
wait
failed=0
for name in "${names[@]}"; do
  cat "$work/$name.result"
  grep -q '^  CRASH' "$work/$name.result" && failed=$((failed + 1))
done
total=${#names[@]}
if [ "$total" -eq 0 ]; then
  echo "no fuzz targets in $build/tests/fuzz (run tools/sanitize.sh build)"
  exit 1
fi
if [ "$failed" -eq 0 ]; then
  rm -rf "$work"
  echo "$total passed, 0 failed"
else
  echo "$((total - failed)) passed, $failed failed"
  exit 1
fi
