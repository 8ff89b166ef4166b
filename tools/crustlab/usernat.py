"""A userspace NAT for the lab: every RFC 4787 behaviour as a knob.

Linux's conntrack NAT (nftables `masquerade`) gives endpoint-independent or
fully random mappings with address-and-port-dependent filtering; it cannot
do full-cone or address-dependent filtering, nor allocate ports
deterministically one after another. This NAT can, on a TUN device in a lab
router's namespace:

  mapping     eim | adm | apdm   endpoint-independent, address-dependent,
                                 address-and-port-dependent ("symmetric")
  filtering   eif | adf | apdf   endpoint-independent ("full cone"),
                                 address-dependent, address-and-port-dependent
  allocation  preserve | sequential | random
  hairpin     on | off
  udp-timeout seconds a UDP mapping lives without a packet (either way)

`NatCore` is the translation itself, sans I/O: IPv4 packets in, IPv4
packets out, a clock passed in (tests/tools/usernat_core.py drives it
directly). `main()` is the thin I/O edge: it opens the TUN device, steers
the router's LAN traffic and the traffic to its WAN address through it with
policy routing, and loops until SIGTERM. Only UDP and TCP are translated;
anything else (ICMP, fragments) is dropped and counted.

    usernat.py --wan-ip 203.0.113.30 --lan 10.40.0.0/24 --lan-ip 10.40.0.1 \\
               --mapping eim --filtering eif --allocation sequential
"""
import argparse
import ipaddress
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

MAPPINGS = ("eim", "adm", "apdm")
FILTERINGS = ("eif", "adf", "apdf")
ALLOCATIONS = ("preserve", "sequential", "random")
UDP, TCP = 17, 6
PORT_LO, PORT_HI = 1024, 65535
SEQUENTIAL_BASE = 20000


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Packet:
    """An IPv4 packet carrying UDP or TCP, with its addresses and ports
    editable; `bytes()` rebuilds it with fresh checksums."""

    def __init__(self, raw):
        if len(raw) < 20 or raw[0] >> 4 != 4:
            raise ValueError("not IPv4")
        ihl = (raw[0] & 0x0F) * 4
        total = struct.unpack("!H", raw[2:4])[0]
        if ihl < 20 or total > len(raw) or total < ihl:
            raise ValueError("bad IPv4 header")
        flags_frag = struct.unpack("!H", raw[6:8])[0]
        if flags_frag & 0x3FFF:
            raise ValueError("fragment")
        self.proto = raw[9]
        if self.proto not in (UDP, TCP):
            raise ValueError("protocol %d" % self.proto)
        self.header = bytearray(raw[:ihl])
        self.payload = bytearray(raw[ihl:total])
        need = 8 if self.proto == UDP else 20
        if len(self.payload) < need:
            raise ValueError("short transport header")
        self.src = ipaddress.IPv4Address(bytes(raw[12:16]))
        self.dst = ipaddress.IPv4Address(bytes(raw[16:20]))
        self.sport, self.dport = struct.unpack("!HH", bytes(self.payload[:4]))

    def __bytes__(self):
        h = self.header
        h[12:16] = self.src.packed
        h[16:20] = self.dst.packed
        h[10:12] = b"\0\0"
        h[10:12] = struct.pack("!H", checksum(bytes(h)))
        p = self.payload
        p[0:4] = struct.pack("!HH", self.sport, self.dport)
        at = 6 if self.proto == UDP else 16
        had_udp_sum = self.proto == UDP and p[6:8] != b"\0\0"
        if self.proto == TCP or had_udp_sum:
            p[at:at + 2] = b"\0\0"
            pseudo = self.src.packed + self.dst.packed + struct.pack("!BBH", 0, self.proto, len(p))
            s = checksum(pseudo + bytes(p))
            if self.proto == UDP and s == 0:
                s = 0xFFFF
            p[at:at + 2] = struct.pack("!H", s)
        return bytes(h) + bytes(p)


class Mapping:
    def __init__(self, proto, int_ip, int_port, ext_port, now):
        self.proto = proto
        self.int_ip = int_ip
        self.int_port = int_port
        self.ext_port = ext_port
        self.contacted = set()   # (ip, port) it sent to
        self.last = now


class NatCore:
    """The translation, sans I/O. `outbound()` takes a packet from the LAN,
    `inbound()` one from the WAN to our address; each returns the packet to
    emit (bytes) or None (dropped; `stats` says why)."""

    def __init__(self, wan_ip, lan, mapping="eim", filtering="apdf", allocation="preserve",
                 hairpin=False, udp_timeout=30.0, tcp_timeout=600.0, rng=None):
        if mapping not in MAPPINGS or filtering not in FILTERINGS or allocation not in ALLOCATIONS:
            raise ValueError("unknown behaviour %s/%s/%s" % (mapping, filtering, allocation))
        self.wan_ip = ipaddress.IPv4Address(wan_ip)
        self.lan = ipaddress.IPv4Network(lan)
        self.mapping, self.filtering, self.allocation = mapping, filtering, allocation
        self.hairpin = hairpin
        self.timeouts = {UDP: float(udp_timeout), TCP: float(tcp_timeout)}
        self.rng = rng or random.Random()
        self.by_key = {}     # mapping key -> Mapping
        self.by_port = {}    # (proto, ext_port) -> Mapping
        self.next_port = {UDP: SEQUENTIAL_BASE, TCP: SEQUENTIAL_BASE}
        self.stats = {"out": 0, "in": 0, "hairpin": 0, "mappings": 0, "expired": 0,
                      "dropped_filter": 0, "dropped_no_mapping": 0, "dropped_hairpin": 0,
                      "dropped_other": 0}

    # -- mappings ---------------------------------------------------------------

    def _key(self, p):
        base = (p.proto, p.src, p.sport)
        if self.mapping == "eim":
            return base
        if self.mapping == "adm":
            return base + (p.dst,)
        return base + (p.dst, p.dport)

    def _alive(self, m, now):
        if now - m.last <= self.timeouts[m.proto]:
            return True
        self._remove(m)
        self.stats["expired"] += 1
        return False

    def _remove(self, m):
        self.by_port.pop((m.proto, m.ext_port), None)
        for k, v in list(self.by_key.items()):
            if v is m:
                del self.by_key[k]

    def _free(self, proto, port, now):
        m = self.by_port.get((proto, port))
        return m is None or not self._alive(m, now)

    def _allocate(self, proto, int_port, now):
        span = PORT_HI - PORT_LO + 1
        if self.allocation == "preserve" and self._free(proto, int_port, now):
            return int_port
        if self.allocation == "random":
            for _ in range(64):
                port = self.rng.randint(PORT_LO, PORT_HI)
                if self._free(proto, port, now):
                    return port
        # sequential (and the fallback of the others): the next free port
        start = self.next_port[proto] if self.allocation == "sequential" else int_port + 1
        for i in range(span):
            port = PORT_LO + (start - PORT_LO + i) % span
            if self._free(proto, port, now):
                if self.allocation == "sequential":
                    self.next_port[proto] = port + 1
                return port
        return None

    def mapping_for(self, p, now):
        key = self._key(p)
        m = self.by_key.get(key)
        if m is not None and self._alive(m, now):
            return m
        port = self._allocate(p.proto, p.sport, now)
        if port is None:
            return None
        m = Mapping(p.proto, p.src, p.sport, port, now)
        self.by_key[key] = m
        self.by_port[(p.proto, port)] = m
        self.stats["mappings"] += 1
        return m

    def sweep(self, now):
        for m in list(self.by_port.values()):
            self._alive(m, now)

    # -- translation ------------------------------------------------------------

    def outbound(self, raw, now):
        try:
            p = Packet(raw)
        except ValueError:
            self.stats["dropped_other"] += 1
            return None
        if p.src not in self.lan:
            self.stats["dropped_other"] += 1
            return None
        m = self.mapping_for(p, now)
        if m is None:
            self.stats["dropped_other"] += 1
            return None
        m.contacted.add((p.dst, p.dport))
        m.last = now
        p.src, p.sport = self.wan_ip, m.ext_port
        if p.dst == self.wan_ip:
            if not self.hairpin:
                self.stats["dropped_hairpin"] += 1
                return None
            self.stats["hairpin"] += 1
            return self._deliver(p, now)
        self.stats["out"] += 1
        return bytes(p)

    def inbound(self, raw, now):
        try:
            p = Packet(raw)
        except ValueError:
            self.stats["dropped_other"] += 1
            return None
        if p.dst != self.wan_ip:
            self.stats["dropped_other"] += 1
            return None
        return self._deliver(p, now)

    def _deliver(self, p, now):
        m = self.by_port.get((p.proto, p.dport))
        if m is None or not self._alive(m, now):
            self.stats["dropped_no_mapping"] += 1
            return None
        if self.filtering == "adf":
            allowed = any(ip == p.src for ip, _ in m.contacted)
        elif self.filtering == "apdf":
            allowed = (p.src, p.sport) in m.contacted
        else:
            allowed = True
        if not allowed:
            self.stats["dropped_filter"] += 1
            return None
        m.last = now
        p.dst, p.dport = m.int_ip, m.int_port
        self.stats["in"] += 1
        return bytes(p)

    def translate(self, raw, now):
        """A packet read from the TUN device: from the LAN (outbound) or to
        our WAN address (inbound)."""
        if len(raw) >= 20 and raw[0] >> 4 == 4:
            src = ipaddress.IPv4Address(bytes(raw[12:16]))
            if src in self.lan:
                return self.outbound(raw, now)
            return self.inbound(raw, now)
        self.stats["dropped_other"] += 1
        return None


def describe(raw):
    try:
        p = Packet(raw)
        return "%s %s:%d > %s:%d" % ("udp" if p.proto == UDP else "tcp", p.src, p.sport,
                                     p.dst, p.dport)
    except ValueError as e:
        return "(%s, %d bytes)" % (e, len(raw))


# -- the I/O edge --------------------------------------------------------------

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def open_tun(name):
    import fcntl
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=10)


def steer(tun, wan_ip, lan_ip, table=100):
    """Policy routing in this namespace: packets arriving from the LAN (but
    for the router itself) and packets for our WAN address go into the TUN
    device; what we write back is routed normally."""
    sh("ip", "link", "set", tun, "up")
    # proxy_arp on the WAN side: with our WAN address routed into the TUN
    # device, the kernel no longer counts it as local when it answers ARP,
    # and a stranger (a peer punching towards our mapping) could not reach
    # us; only hosts we had sent to first (they learn our MAC from our ARP
    # request) could.
    for key in ("net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.%s.rp_filter=0" % tun,
                "net.ipv4.conf.%s.accept_local=1" % tun, "net.ipv4.ip_forward=1",
                "net.ipv4.conf.wan.proxy_arp=1"):
        sh("sysctl", "-qw", key)
    sh("ip", "route", "add", "default", "dev", tun, "table", str(table))
    sh("ip", "rule", "add", "pref", "50", "iif", "lan", "to", "%s/32" % lan_ip, "lookup", "local")
    sh("ip", "rule", "add", "pref", "100", "iif", "lan", "lookup", str(table))
    sh("ip", "rule", "add", "pref", "101", "iif", "wan", "to", "%s/32" % wan_ip, "lookup",
       str(table))
    sh("ip", "rule", "add", "pref", "200", "lookup", "local")
    sh("ip", "rule", "del", "pref", "0")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tun", default="nat0")
    ap.add_argument("--wan-ip", required=True)
    ap.add_argument("--lan", required=True, help="the LAN's subnet")
    ap.add_argument("--lan-ip", required=True, help="the router's LAN address")
    ap.add_argument("--mapping", choices=MAPPINGS, default="eim")
    ap.add_argument("--filtering", choices=FILTERINGS, default="apdf")
    ap.add_argument("--allocation", choices=ALLOCATIONS, default="preserve")
    ap.add_argument("--hairpin", action="store_true")
    ap.add_argument("--udp-timeout", type=float, default=30.0)
    ap.add_argument("--stats", help="write counters here (JSON) every second")
    ap.add_argument("--trace", type=int, default=0, metavar="N",
                    help="print the first N packets and what became of them")
    a = ap.parse_args(argv)
    core = NatCore(a.wan_ip, a.lan, a.mapping, a.filtering, a.allocation, a.hairpin,
                   a.udp_timeout)
    fd = open_tun(a.tun)
    steer(a.tun, a.wan_ip, a.lan_ip)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("usernat ready: %s %s/%s/%s hairpin=%s udp-timeout=%gs"
          % (a.wan_ip, a.mapping, a.filtering, a.allocation, a.hairpin, a.udp_timeout),
          flush=True)
    last = time.monotonic()
    while not stop:
        try:
            ready, _, _ = select.select([fd], [], [], 0.5)
        except InterruptedError:
            continue
        now = time.monotonic()
        if ready:
            raw = os.read(fd, 65536)
            out = core.translate(raw, now)
            if out is not None:
                os.write(fd, out)
            if a.trace > 0:
                a.trace -= 1
                print("%s -> %s" % (describe(raw), describe(out) if out else "dropped"),
                      flush=True)
        if now - last >= 1.0:
            last = now
            core.sweep(now)
            if a.stats:
                import json
                with open(a.stats + ".tmp", "w") as f:
                    json.dump(core.stats, f)
                os.replace(a.stats + ".tmp", a.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
