#!/usr/bin/env bash
# Builds crust and runs every test through CTest (unit, actor, multi-node).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRUST_BUILD_DIR:-$root/build}

bash "$root/tools/build.sh"
cd "$build"
# Two tests per core: most wait on timers and peers; the CPU-heavy ones
# count as two (PROCESSORS in tests/CMakeLists.txt).
ctest --output-on-failure -j "$(($(nproc) * 2))" --timeout 600 "$@"
