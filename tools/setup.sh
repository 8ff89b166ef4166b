#!/usr/bin/env bash
# Installs everything crust needs to build and test on Debian bookworm (as root).
# Idempotent and quick when everything is present already.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build ccache pkg-config
  libcaf-dev          # C++ Actor Framework 0.17.6 (actors, test framework)
  libsodium-dev       # every crypto primitive: X25519, Ed25519, ChaCha20-Poly1305, SHA-256
  libboost-dev        # Boost.Asio, the socket layer
  libminiupnpc-dev    # UPnP IGD client
  libnatpmp-dev       # NAT-PMP client (RFC 6886), when no UPnP gateway answers
  libssl-dev          # HMAC-SHA1 for STUN MESSAGE-INTEGRITY only (libsodium has no SHA-1)
  zlib1g-dev          # CRC-32 for STUN FINGERPRINT
  nlohmann-json3-dev  # JSON for crust-node's control channel and test-vector files
  python3             # scripted multi-node tests and the demo driver
  iproute2 procps     # ip(8) for namespace tests, ps/kill
  nftables iptables   # the NAT lab's routers, partitions and packet loss
  miniupnpd           # UPnP IGD + NAT-PMP on lab routers (started only inside lab namespaces)
  miniupnpc natpmpc   # UPnP / NAT-PMP clients for lab checks
  iputils-ping        # measuring lab links
  coturn              # the lab's STUN server (started only inside lab namespaces)
  libnetfilter-queue-dev # netem-lite: link delay in the lab (no netem on this kernel)
  libzmq3-dev         # crust-bench compares crust with ZeroMQ CURVE
  libcpp-httplib-dev  # crust-node's metrics-address (Prometheus metrics, status page)
  prometheus          # tools.metrics: a real Prometheus scrapes a swarm (on loopback only)
  chromium            # tools.status_page: the status page in a headless browser
  libjemalloc-dev     # crust-node and crust-bench allocate with jemalloc (tools/CMakeLists.txt)
  clang libclang-rt-14-dev  # the sanitizer build and libFuzzer targets (tools/sanitize.sh)
  dpkg-dev            # dpkg-shlibdeps for the .deb (CPack)
  doxygen             # the API reference (--target docs) and its docs.api test
  curl ca-certificates # fetching CAF's Debian source for the ThreadSanitizer build only
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system Prometheus on install (port 9090, scraping this
# host); crust's tests run their own on a free loopback port: keep it off.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null \
   && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
