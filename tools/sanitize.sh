#!/usr/bin/env bash
# The sanitizer build: clang, AddressSanitizer + UndefinedBehaviorSanitizer on
# every target, plus the libFuzzer targets.
#   tools/sanitize.sh build    configure and build build-san/ (or $CRUST_SAN_BUILD_DIR)
#   tools/sanitize.sh test     run the suite there (all but what repeats the main build's
#                              packaging and the 50 MiB transfer)
#   CRUST_SANITIZE=thread tools/sanitize.sh build test   a ThreadSanitizer build instead
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
san=${CRUST_SANITIZE:-address,undefined}
build=${CRUST_SAN_BUILD_DIR:-$root/build-san}
[ "$san" = "thread" ] && build=${CRUST_SAN_BUILD_DIR:-$root/build-tsan}
fuzz=ON
[ "$san" = "thread" ] && fuzz=OFF
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
for step in "$@"; do
  case $step in
    build)
      launcher=()
      command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
      if [ ! -f "$build/build.ninja" ]; then
        CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
          -DCMAKE_CXX_FLAGS="-O1 -g" -DCRUST_SANITIZE="$san" -DCRUST_FUZZ=$fuzz \
          "${launcher[@]}" >/dev/null
      fi
      cmake --build "$build" -j "$(nproc)"
      ;;
    test)
      cd "$build"
      exclude='^(packaging\.|udp\.transfer$)'
      [ "$san" = "thread" ] && exclude='^(packaging\.|udp\.|scenario\.|multi_node\.|bench\.|examples\.)'
      ctest --output-on-failure -j "$(nproc)" --timeout 900 -E "$exclude"
      ;;
    *)
      echo "usage: tools/sanitize.sh build|test ..." >&2
      exit 2
      ;;
  esac
done
