#!/usr/bin/env bash
# Builds the .deb with CPack, checks what it holds and what it depends on,
# then unpacks it and runs the crust-node inside.
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/crust-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$build" && cpack -G DEB -B "$work" > "$work/cpack.log") || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/crust_*.deb)
echo "- built $(basename "$deb")"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/crust-node ./usr/include/crust/actors/node.hpp \
         ./usr/include/crust/messages/interfaces.hpp ./usr/lib/pkgconfig/crust.pc \
         ./usr/lib/cmake/crust/crustConfig.cmake ./usr/lib/systemd/system/crust-node.service \
         ./usr/share/doc/crust/crust-node.ini.example ./usr/share/doc/crust/crust-node.json; do
  grep -q " $f\$" <<< "$contents" || { echo "missing from the package: $f"; exit 1; }
  echo "  ok: holds $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in libsodium libcaf; do
  grep -q "$d" <<< "$depends" || { echo "Depends lacks $d: $depends"; exit 1; }
done
echo "  ok: Depends: $depends"
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/crust-node" --version | grep -q "protocol version" 
echo "  ok: the packaged crust-node runs"
echo "1 passed, 0 failed"
