#!/usr/bin/env bash
# tools/systemd/crust-node.service: systemd accepts it (systemd-analyze
# verify), its sandbox rates well (systemd-analyze security, offline), it
# has the settings the service needs, and its command line works: run as an
# unprivileged user from the configuration directory with the example
# settings, crust-node starts without a controlling process, keeps its
# identity in the state directory (0600), serves its metrics, and ends
# cleanly on SIGTERM. Loopback only.
set -euo pipefail
node=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
unit=$src/tools/systemd/crust-node.service
work=$(mktemp -d /tmp/crust-unit-XXXXXX)
chmod 755 "$work"
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
pass=0
ok() { echo "  ok: $*"; pass=$((pass + 1)); }
fail() { echo "FAILED: $*"; echo "0 passed, 1 failed"; exit 1; }

for want in "DynamicUser=yes" "StateDirectory=crust" "CacheDirectory=crust" \
            "ProtectSystem=strict" "NoNewPrivileges=yes" "--control=none" \
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX" \
            "WorkingDirectory=/etc/crust" "ExecReload=/bin/kill -HUP \$MAINPID"; do
  grep -q -- "$want" "$unit" || fail "the unit lacks $want"
done
grep -q "^\[Install\]" "$unit" && ! grep -q "^Alias" "$unit" || fail "install section"
ok "the unit has the sandbox and paths the service needs"

if command -v systemd-analyze >/dev/null; then
  sed "s#/usr/bin/crust-node#$(readlink -f "$node")#" "$unit" > "$work/crust-node.service"
  out=$(systemd-analyze verify --man=no "$work/crust-node.service" 2>&1) \
    || fail "systemd-analyze verify: $out"
  ok "systemd-analyze verify accepts it"
  exposure=$(systemd-analyze security --offline=yes "$work/crust-node.service" 2>&1 \
             | sed -n 's/.*Overall exposure level for crust-node.service: \([0-9.]*\).*/\1/p')
  [ -n "$exposure" ] || fail "systemd-analyze security gave no rating"
  awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }' || fail "exposure $exposure (want <= 2.5)"
  ok "systemd-analyze security: exposure $exposure of 10 (lower is safer)"
else
  echo "  (systemd-analyze is not installed: verify and security not run)"
fi

# The ExecStart line, its directories moved under $work, as nobody.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
mkdir -p "$work/etc/crust" "$work/var/lib/crust" "$work/var/cache/crust"
sed 's/^metrics-address=.*/metrics-address="0"/; s/^port=.*/port=0/' \
  "$src/tools/systemd/crust-node.ini.example" > "$work/etc/crust/crust-node.ini"
echo 'listen-address="127.0.0.1"' >> "$work/etc/crust/crust-node.ini"
echo 'beacon="off"' >> "$work/etc/crust/crust-node.ini"
chown nobody "$work/var/lib/crust" "$work/var/cache/crust"
chmod 700 "$work/var/lib/crust"
args=$(sed "s#/usr/bin/crust-node#$(readlink -f "$node")#; s#/var/#$work/var/#g" <<< "$exec_start")
cp "$(readlink -f "$node")" "$work/crust-node"
chmod 755 "$work/crust-node"
args=${args/$(readlink -f "$node")/$work/crust-node}
(cd "$work/etc/crust" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
   $args > "$work/out.log" 2> "$work/err.log") &
pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*"http_listening","url":"\([^"]*\)".*/\1/p' "$work/out.log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/err.log"; fail "no metrics listener from the unit's command line"; }
ok "started as nobody with --control=none, the example settings read from the working directory"
m=$(curl -s -w "\nHTTP %{http_code}" "${url}metrics" 2>&1) || true
grep -q "^crust_node_info" <<< "$m" || fail "no metrics at $url: $(tail -c 300 <<< "$m")"
ok "metrics at $url"
mode=$(stat -c %a "$work/var/lib/crust/identity")
[ "$mode" = 600 ] || fail "identity mode $mode"
ok "identity kept in the state directory, mode 0600"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q '"event":"reload"' "$work/out.log" && break; sleep 0.1; done
grep -q '"event":"reload".*"ok":true' "$work/out.log" \
  || fail "no successful reload after SIGHUP: $(grep reload "$work/out.log")"
kill -0 "$pid" 2>/dev/null || fail "SIGHUP ended the process"
ok "ExecReload's SIGHUP re-reads the settings; the node keeps running"
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "still running 10 s after SIGTERM"
wait "$pid" && rc=0 || rc=$?
pid=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
ok "SIGTERM ends it cleanly (exit 0)"
echo "$pass passed, 0 failed"
