#!/usr/bin/env bash
# Builds crust and runs a local swarm of crust-node processes on loopback:
# they connect, exchange messages, report what happens, and exit cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRUST_BUILD_DIR:-$root/build}

bash "$root/tools/build.sh"
exec python3 "$root/tools/demo.py" --node "$build/tools/crust-node" "$@"
