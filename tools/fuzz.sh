#!/usr/bin/env bash
# Runs every libFuzzer target of the sanitizer build (tools/sanitize.sh build)
# for N seconds each, from its seed corpus (tests/fuzz/corpus/<name>/, copied:
# the repository's corpus is not modified), and reports executions and
# crashes. Exit code 1 if any target crashed; crash inputs are kept.
#   tools/fuzz.sh [--seconds N] [--only NAME] [--jobs N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRUST_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=5
only=""
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: tools/fuzz.sh [--seconds N] [--only NAME]" >&2; exit 2 ;;
  esac
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$(mktemp -d /tmp/crust-fuzz-XXXXXX)
failed=0
total=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  name=${bin##*/fuzz_}
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  corpus="$work/$name"
  mkdir -p "$corpus"
  [ -d "$root/tests/fuzz/corpus/$name" ] && cp "$root/tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
  log="$work/$name.log"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/$name-" "$corpus" > "$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    total=$((total + 1))
    printf '  ok: %-18s %9s executions in %ss, corpus %s inputs, no crash\n' "$name" "$execs" \
      "$seconds" "$(ls "$corpus" | wc -l)"
  else
    failed=$((failed + 1))
    total=$((total + 1))
    echo "  CRASH: $name (log and inputs kept in $work)"
    tail -30 "$log"
  fi
done
if [ "$failed" -eq 0 ]; then
  rm -rf "$work"
  echo "$total passed, 0 failed"
else
  echo "$((total - failed)) passed, $failed failed"
  exit 1
fi
