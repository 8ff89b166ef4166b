#!/usr/bin/env bash
# Installs crust into a temporary prefix, then builds and runs a project
# outside the tree against it twice: with find_package(crust) and with
# pkg-config.
set -euo pipefail
build=$1
source_dir=$(cd "$(dirname "$0")/../consumer" && pwd)
work=$(mktemp -d /tmp/crust-consumer-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
test -x "$work/prefix/bin/crust-node"
test -f "$work/prefix/include/crust/actors/node.hpp"
cmake -S "$source_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/build" > "$work/build.log"
"$work/build/consumer"
echo "- pkg-config"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:${PKG_CONFIG_PATH:-}"
pkg-config --exists crust
c++ -O1 "$source_dir/main.cpp" -o "$work/consumer-pc" $(pkg-config --cflags --libs crust)
"$work/consumer-pc"
"$work/prefix/bin/crust-node" --version
echo "1 passed, 0 failed"
