"""The lab's userspace NAT (tools/crustlab/usernat.py), its translation core
driven directly: every mapping, filtering and allocation behaviour, hairpin,
timeouts, checksums and bad packets. No root, no sockets."""
import ipaddress
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from crustlab.usernat import NatCore, Packet, checksum, UDP, TCP  # noqa: E402

WAN = "203.0.113.30"
LAN = "10.40.0.0/24"
H1, H2 = "10.40.0.2", "10.40.0.3"
S1, S2 = "203.0.113.1", "203.0.113.2"

failures = []


def check(cond, what):
    print("  %s: %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        failures.append(what)


def packet(src, sport, dst, dport, proto=UDP, payload=b"hello", udp_sum=True):
    if proto == UDP:
        body = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    else:
        body = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0, 64, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    raw = bytearray(hdr + body)
    if proto == TCP or udp_sum:
        return bytes(Packet(bytes(raw)))  # with valid checksums
    raw[10:12] = struct.pack("!H", checksum(bytes(raw[:20])))
    return bytes(raw)


def fields(raw):
    p = Packet(raw)
    return str(p.src), p.sport, str(p.dst), p.dport


def valid(raw):
    p = Packet(raw)
    if checksum(bytes(p.header)) != 0:
        return False
    pseudo = p.src.packed + p.dst.packed + struct.pack("!BBH", 0, p.proto, len(p.payload))
    at = 6 if p.proto == UDP else 16
    if p.proto == UDP and p.payload[at:at + 2] == b"\0\0":
        return True
    return checksum(pseudo + bytes(p.payload)) == 0


def out(nat, src, sport, dst, dport, t=0.0, proto=UDP):
    r = nat.outbound(packet(src, sport, dst, dport, proto), t)
    return fields(r) if r else None


def inn(nat, src, sport, ext_port, t=0.0, proto=UDP):
    r = nat.inbound(packet(src, sport, WAN, ext_port, proto), t)
    return fields(r) if r else None


def test_mapping():
    print("mapping")
    for kind, same_ip_other_port, other_ip in (("eim", True, True), ("adm", True, False),
                                               ("apdm", False, False)):
        nat = NatCore(WAN, LAN, mapping=kind)
        a = out(nat, H1, 5000, S1, 3478)[1]
        b = out(nat, H1, 5000, S1, 3479)[1]
        c = out(nat, H1, 5000, S2, 3478)[1]
        check((a == b) == same_ip_other_port and (a == c) == other_ip,
              "%s: ports %d, %d (other port), %d (other address)" % (kind, a, b, c))
    nat = NatCore(WAN, LAN)
    r = nat.outbound(packet(H1, 5000, S1, 3478), 0)
    check(fields(r) == (WAN, 5000, S1, 3478) and valid(r),
          "the source becomes our WAN address, checksums valid")


def test_filtering():
    print("filtering")
    for kind, same_ip_other_port, other_ip in (("eif", True, True), ("adf", True, False),
                                               ("apdf", False, False)):
        nat = NatCore(WAN, LAN, filtering=kind)
        ext = out(nat, H1, 5000, S1, 3478)[1]
        back = inn(nat, S1, 3478, ext)
        check(back == (S1, 3478, H1, 5000), "%s: the contacted endpoint's answer passes" % kind)
        check((inn(nat, S1, 9999, ext) is not None) == same_ip_other_port,
              "%s: the same address from another port %s" % (kind,
                                                             "passes" if same_ip_other_port
                                                             else "is dropped"))
        check((inn(nat, S2, 3478, ext) is not None) == other_ip,
              "%s: another address %s" % (kind, "passes" if other_ip else "is dropped"))
    nat = NatCore(WAN, LAN, filtering="eif")
    check(inn(nat, S1, 3478, 5000) is None and nat.stats["dropped_no_mapping"] == 1,
          "nothing gets in without a mapping, even full cone")


def test_allocation():
    print("allocation")
    nat = NatCore(WAN, LAN, allocation="preserve")
    check(out(nat, H1, 5000, S1, 1)[1] == 5000, "preserve: the internal port")
    p2 = out(nat, H2, 5000, S1, 1)[1]
    check(p2 != 5000, "preserve: a second host's same port gets another (%d)" % p2)
    nat = NatCore(WAN, LAN, mapping="apdm", allocation="sequential")
    ports = [out(nat, H1, 5000, S1, 1000 + i)[1] for i in range(5)]
    check(all(b - a == 1 for a, b in zip(ports, ports[1:])), "sequential: %s" % ports)
    nat = NatCore(WAN, LAN, mapping="apdm", allocation="random", rng=random.Random(7))
    ports = [out(nat, H1, 5000, S1, 1000 + i)[1] for i in range(20)]
    steps = sum(1 for a, b in zip(ports, ports[1:]) if b - a == 1)
    check(len(set(ports)) == 20 and steps == 0 and 5000 not in ports,
          "random: 20 distinct ports, none in sequence")
    udp = out(nat, H1, 6000, S1, 1)[1]
    tcp = out(nat, H1, 6000, S1, 1, proto=TCP)
    check(tcp is not None and tcp[0] == WAN, "TCP is translated too (UDP %d, TCP %d)"
          % (udp, tcp[1]))


def test_hairpin():
    print("hairpin")
    for on in (True, False):
        nat = NatCore(WAN, LAN, filtering="apdf", hairpin=on)
        e1 = out(nat, H1, 5000, S1, 3478)[1]
        e2 = out(nat, H2, 6000, S1, 3478)[1]
        # H2 first sends towards H1's mapping (filtering), then H1 to H2's.
        out(nat, H2, 6000, WAN, e1)
        got = out(nat, H1, 5000, WAN, e2)
        if on:
            check(got == (WAN, e1, H2, 6000), "on: H1 reaches H2 through our WAN address, "
                                              "seen from H1's mapping")
        else:
            check(got is None and nat.stats["dropped_hairpin"] == 2, "off: dropped")


def test_timeout():
    print("timeout")
    nat = NatCore(WAN, LAN, udp_timeout=30)
    ext = out(nat, H1, 5000, S1, 3478, t=0)[1]
    check(inn(nat, S1, 3478, ext, t=29) is not None, "alive at 29 s")
    check(inn(nat, S1, 3478, ext, t=58) is not None, "inbound traffic refreshes it (58 s)")
    check(inn(nat, S1, 3478, ext, t=89) is None and nat.stats["expired"] == 1,
          "gone 31 s after the last packet")
    nat = NatCore(WAN, LAN, mapping="apdm", allocation="sequential", udp_timeout=5)
    first = out(nat, H1, 5000, S1, 1, t=0)[1]
    out(nat, H1, 5000, S1, 2, t=1)
    nat.sweep(100)
    check(not nat.by_port and not nat.by_key, "sweep removes expired mappings")
    check(out(nat, H1, 5000, S1, 1, t=100)[1] == first + 2,
          "sequential keeps counting after expiry")


def test_bad_packets():
    print("bad packets")
    nat = NatCore(WAN, LAN)
    good = packet(H1, 5000, S1, 3478)
    frag = bytearray(good)
    frag[6:8] = struct.pack("!H", 0x2000)  # more fragments
    icmp = bytearray(good)
    icmp[9] = 1
    bad = [b"", b"\x45" * 10, b"\x60" + good[1:], bytes(frag), bytes(icmp), good[:24],
           good[:2] + struct.pack("!H", 2000) + good[4:]]
    for raw in bad:
        check(nat.translate(raw, 0) is None, "dropped: %r..." % raw[:8])
    check(nat.stats["dropped_other"] == len(bad) and not nat.by_port,
          "counted, no mapping made")
    nat = NatCore(WAN, LAN)
    check(nat.outbound(packet("10.99.0.2", 5000, S1, 1), 0) is None,
          "a source outside the LAN is not translated")
    nat = NatCore(WAN, LAN)
    r = nat.outbound(packet(H1, 5000, S1, 1, udp_sum=False), 0)
    check(r is not None and Packet(r).payload[6:8] == b"\0\0",
          "a UDP packet without a checksum stays without one")
    try:
        NatCore(WAN, LAN, mapping="cone")
        check(False, "an unknown behaviour is refused")
    except ValueError:
        check(True, "an unknown behaviour is refused")


def main():
    for t in (test_mapping, test_filtering, test_allocation, test_hairpin, test_timeout,
              test_bad_packets):
        t()
    if failures:
        print("%d failed" % len(failures))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
