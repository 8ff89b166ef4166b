#!/usr/bin/env bash
# Builds crust and runs every test through CTest (unit, actor, multi-node).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRUST_BUILD_DIR:-$root/build}

bash "$root/tools/build.sh"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"
