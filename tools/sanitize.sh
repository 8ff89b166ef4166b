#!/usr/bin/env bash
# The sanitizer builds.
#   tools/sanitize.sh build    build-san/: g++ with AddressSanitizer + UndefinedBehaviorSanitizer
#                              on every target; and build-fuzz/: clang with the same
#                              sanitizers and libFuzzer, just the fuzz targets
#   tools/sanitize.sh test     run the suite in build-san/ (all but what
#                              tests/sanitize-exclude.txt names); the test command
#                              runs each of them as the main tree's san.NAME instead
#   CRUST_SANITIZE=thread tools/sanitize.sh build test   a ThreadSanitizer build instead,
#                              in build-tsan/, against a CAF 0.17.6 built with TSan
#                              (Debian's source of the same libcaf-dev, fetched from
#                              Debian's archive and checked against its SHA-256): an
#                              uninstrumented CAF hides its own synchronisation from
#                              TSan, which then reports thousands of false races
# Why two compilers: Debian's CAF is built with g++, and a clang-built program
# crashes inside CAF's option parsing (a null check function for flags such
# as --version): an ABI mismatch, not a bug of ours. The fuzzers need clang's
# libFuzzer; they only link the parsers, and crust-node's ini pre-check keeps
# the config fuzzer clear of that CAF path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ccache: paths below the checkout count relative to it, so another checkout
# of the same tree (CI's fresh clone) finds the same cache entries.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
san=${CRUST_SANITIZE:-address,undefined}
build=${CRUST_SAN_BUILD_DIR:-$root/build-san}
[ "$san" = "thread" ] && build=${CRUST_SAN_BUILD_DIR:-$root/build-tsan}
fuzz_build=${CRUST_FUZZ_BUILD_DIR:-$root/build-fuzz}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:suppressions=$root/tools/asan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CRUST_SANITIZED=1  # tests that judge memory use skip that under ASan
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
# CAF as Debian ships it (libcaf-dev 0.17.6-2.1), built with TSan.
caf_version=0.17.6
caf_tarball=actor-framework_${caf_version}.orig.tar.gz
caf_url=${CRUST_CAF_URL:-http://deb.debian.org/debian/pool/main/a/actor-framework/$caf_tarball}
caf_sha256=e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c
caf_prefix=${CRUST_TSAN_CAF_PREFIX:-$root/build-tsan-caf/prefix}

build_tsan_caf() {
  [ -f "$caf_prefix/lib/libcaf_core.so" ] && return 0
  local work=$root/build-tsan-caf
  mkdir -p "$work"
  if [ ! -f "$work/$caf_tarball" ]; then
    echo "fetching $caf_url"
    curl -fsSL --max-time 300 -o "$work/$caf_tarball.part" "$caf_url"
    mv "$work/$caf_tarball.part" "$work/$caf_tarball"
  fi
  echo "$caf_sha256  $work/$caf_tarball" | sha256sum -c --quiet
  rm -rf "$work/src" && mkdir -p "$work/src"
  tar xzf "$work/$caf_tarball" -C "$work/src" --strip-components=1
  # The one change Debian's packaging makes to the headers (g++ 12).
  sed -i 's|^#include <cstddef>|#include <cstddef>\n#include <limits>|' \
    "$work/src/libcaf_io/caf/io/network/receive_buffer.hpp"
  # Debian's build options: the defaults (log level quiet, memory management on).
  CC=gcc CXX=g++ cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -O1 -g" -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
    -DCAF_NO_EXAMPLES=yes -DCAF_NO_TOOLS=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_OPENSSL=yes \
    -DCAF_NO_PYTHON=yes -DCAF_NO_OPENCL=yes -DCAF_NO_SUMMARY=yes \
    -DCMAKE_INSTALL_PREFIX="$caf_prefix" "${launcher[@]}" >/dev/null
  cmake --build "$work/build" -j "$(nproc)"
  cmake --install "$work/build" >/dev/null
}

for step in "$@"; do
  case $step in
    build)
      launcher=()
      command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
      caf=()
      if [ "$san" = "thread" ]; then
        build_tsan_caf
        caf=(-DCMAKE_PREFIX_PATH="$caf_prefix")
      fi
      # -O1 for the libraries and crust-node (the code under test must run
      # fast enough for the suite's capacity and timing checks: at -O0 four
      # failed), -O0 for the test programs' own code (CRUST_TEST_OPT: half
      # the compile time). -g1: line tables only (reports keep file:line);
      # full debug info made the cold build a third slower.
      # UndefinedBehaviorSanitizer's null, alignment, vptr and object-size
      # checks are left out: they more than doubled the compile time
      # (actors/manager.cpp: 125 s with them, 57 s without, 50 s with ASan
      # alone) and ASan already reports what the first and last would (a
      # null or out-of-object access); misaligned access is harmless on the
      # x86-64 and arm64 we run on, and vptr would need RTTI checks on every
      # polymorphic call. Every other UBSan check stays (overflow, shifts,
      # bounds, enums, bools, returns, divisions, pointer overflow, ...).
      # CRUST_NO_SANITIZE="" builds with all of them.
      no_san=${CRUST_NO_SANITIZE-null,alignment,vptr,object-size}
      [ "$san" = "thread" ] && no_san=
      if [ ! -f "$build/build.ninja" ] \
         || ! grep -qx "CRUST_NO_SANITIZE:STRING=$no_san" "$build/CMakeCache.txt"; then
        CC=gcc CXX=g++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
          -DCMAKE_CXX_FLAGS="-O1" -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DCRUST_SANITIZE="$san" \
          -DCRUST_NO_SANITIZE="$no_san" \
          -DCRUST_TEST_OPT=-O0 "${caf[@]}" "${launcher[@]}" >/dev/null
      fi
      # Only what the sanitized suite runs: crust-node, netem-lite and the
      # test programs (not crust-bench or the example; see `test` below).
      all_targets=$(cd "$build" && ninja -t targets all)
      san_targets=$(sed -n 's/^\(test_[a-z_0-9]*\): phony$/\1/p' <<<"$all_targets")
      extra=()
      grep -q '^netem-lite: phony' <<<"$all_targets" && extra=(netem-lite)
      cmake --build "$build" -j "$(nproc)" --target crust-node "${extra[@]}" $san_targets
      # Each test's command in this tree, for the main tree's san.* tests
      # (tests/tools/san_test.py).
      ctest --test-dir "$build" --show-only=json-v1 > "$build/ctest-tests.json.tmp"
      mv "$build/ctest-tests.json.tmp" "$build/ctest-tests.json"
      if [ "$san" != "thread" ]; then
        if [ ! -f "$fuzz_build/build.ninja" ] \
           || ! grep -qx "CRUST_NO_SANITIZE:STRING=$no_san" "$fuzz_build/CMakeCache.txt"; then
          CC=clang CXX=clang++ cmake -S "$root" -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
            -DCMAKE_CXX_FLAGS="-O0" -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DCRUST_SANITIZE="$san" -DCRUST_FUZZ=ON \
            -DCRUST_NO_SANITIZE="$no_san" "${launcher[@]}" >/dev/null
        fi
        targets=$(cd "$root/tests/fuzz" && ls *.cpp | sed 's/^/fuzz_/; s/\.cpp$//')
        cmake --build "$fuzz_build" -j "$(nproc)" --target $targets
      fi
      ;;
    test)
      cd "$build"
      # Not the swarms: hundreds of instrumented processes on two cores time
      # out rather than find anything the unit and multi-node tests do not.
      # Not crust-bench's smoke run, the example or the tools' --help check
      # (this tree does not build them), nor the API docs (no code).
      exclude=$(head -1 "$root/tests/sanitize-exclude.txt")
      [ "$san" = "thread" ] && exclude='^(packaging\.|udp\.|scenario\.|multi_node\.|bench\.|examples\.|abuse\.|nat_lab\.|nat_zoo\.|sanitize\.|fuzz\.)'
      # Two tests per core: most of these wait on timers and peers
      # (nat_lab.matrix, bootstrap_retry, upnp), not on the CPU (on two
      # cores: 160 s at -j2, 103 s at -j3, 86 s at -j4, all passing).
      ctest --output-on-failure -j "${CRUST_SAN_JOBS:-$(($(nproc) * 2))}" --timeout 900 \
        -E "$exclude"
      ;;
    *)
      echo "usage: tools/sanitize.sh build|test ..." >&2
      exit 2
      ;;
  esac
done
