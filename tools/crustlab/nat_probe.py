"""RFC 5780 NAT behaviour discovery for the lab: a STUN server with two
addresses and two ports, and a client that classifies the NAT in front of it.

    nat_probe.py serve IP1 IP2 [--ports 3478,3479]
    nat_probe.py probe IP1 IP2 [--ports 3478,3479] [--timeout-check SECONDS]
    nat_probe.py await IP1 IP2 [--seconds 3]   (our mapping, then who reached it)
    nat_probe.py send HOST:PORT

The server answers Binding requests (RFC 5389) with XOR-MAPPED-ADDRESS,
RESPONSE-ORIGIN and OTHER-ADDRESS, from the address and port CHANGE-REQUEST
asks for (RFC 5780 §7.2). One lab extension, for the mapping-timeout test:
a request carrying SEND-TO (0xC0C1, an address in XOR-MAPPED-ADDRESS form)
is answered at that endpoint instead, from the socket the request arrived on.

The client prints one JSON object:
  mapping     eim | adm | apdm            (RFC 5780 §4.3)
  filtering   eif | adf | apdf            (§4.4)
  allocation  preserve | sequential | random   (from 6 fresh sockets)
  hairpin     true | false                (§4.5)
  mapping_alive_after  {seconds: bool}    (with --timeout-check)
Every wait is bounded: 3 tries of 300 ms per request.
"""
import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

MAGIC = 0x2112A442
BINDING_REQUEST, BINDING_RESPONSE = 0x0001, 0x0101
XOR_MAPPED, CHANGE_REQUEST = 0x0020, 0x0003
RESPONSE_ORIGIN, OTHER_ADDRESS = 0x802B, 0x802C
SEND_TO = 0xC0C1
CHANGE_IP, CHANGE_PORT = 0x04, 0x02


def attr(t, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", t, len(value)) + value + b"\0" * pad


def xor_addr(ip, port):
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + struct.pack(
        "!I", int(ipaddress.IPv4Address(ip)) ^ MAGIC)


def plain_addr(ip, port):
    return struct.pack("!BBH", 0, 1, port) + ipaddress.IPv4Address(ip).packed


def message(kind, txid, attrs=b""):
    return struct.pack("!HHI", kind, len(attrs), MAGIC) + txid + attrs


def parse(data):
    """(type, txid, {attr type: value}) or None."""
    if len(data) < 20:
        return None
    kind, length, magic = struct.unpack("!HHI", data[:8])
    if magic != MAGIC or 20 + length > len(data):
        return None
    attrs, at = {}, 20
    while at + 4 <= 20 + length:
        t, n = struct.unpack("!HH", data[at:at + 4])
        attrs[t] = data[at + 4:at + 4 + n]
        at += 4 + n + (4 - n % 4) % 4
    return kind, data[8:20], attrs


def unxor(v):
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    ip = ipaddress.IPv4Address(struct.unpack("!I", v[4:8])[0] ^ MAGIC)
    return str(ip), port


def unplain(v):
    return str(ipaddress.IPv4Address(v[4:8])), struct.unpack("!H", v[2:4])[0]


# -- server -----------------------------------------------------------------------

def serve(ips, ports, duration):
    socks = {}
    for ip in ips:
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, port))
            socks[(ip, port)] = s
    print("nat_probe serving on %s" % ", ".join("%s:%d" % k for k in socks), flush=True)
    end = time.monotonic() + duration
    while time.monotonic() < end:
        ready, _, _ = select.select(list(socks.values()), [], [], 1.0)
        for s in ready:
            data, src = s.recvfrom(2048)
            m = parse(data)
            if not m or m[0] != BINDING_REQUEST:
                continue
            _, txid, attrs = m
            here = s.getsockname()
            flags = struct.unpack("!I", attrs[CHANGE_REQUEST])[0] if CHANGE_REQUEST in attrs else 0
            ip = here[0] if not flags & CHANGE_IP else [i for i in ips if i != here[0]][0]
            port = here[1] if not flags & CHANGE_PORT else [p for p in ports if p != here[1]][0]
            out = socks[(ip, port)]
            other = ([i for i in ips if i != here[0]][0], [p for p in ports if p != here[1]][0])
            reply = message(BINDING_RESPONSE, txid,
                            attr(XOR_MAPPED, xor_addr(*src)) + attr(RESPONSE_ORIGIN,
                                                                     plain_addr(ip, port))
                            + attr(OTHER_ADDRESS, plain_addr(*other)))
            dest = unxor(attrs[SEND_TO]) if SEND_TO in attrs else src
            out.sendto(reply, dest)
    return 0


# -- client -----------------------------------------------------------------------

class Probe:
    def __init__(self, ips, ports):
        self.ips, self.ports = ips, ports

    def sock(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        return s

    def ask(self, s, server, change=0, send_to=None, tries=3, wait=0.3):
        """The mapped address the server saw, or None if nothing came back."""
        txid = os.urandom(12)
        attrs = b""
        if change:
            attrs += attr(CHANGE_REQUEST, struct.pack("!I", change))
        if send_to:
            attrs += attr(SEND_TO, xor_addr(*send_to))
        req = message(BINDING_REQUEST, txid, attrs)
        for _ in range(tries):
            s.sendto(req, server)
            end = time.monotonic() + wait
            while time.monotonic() < end:
                ready, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
                if not ready:
                    break
                data, _ = s.recvfrom(2048)
                m = parse(data)
                if m and m[0] == BINDING_RESPONSE and m[1] == txid and XOR_MAPPED in m[2]:
                    return unxor(m[2][XOR_MAPPED])
            if send_to:
                return None  # the answer goes elsewhere: one try is the test
        return None

    def listen(self, s, wait=0.6):
        end = time.monotonic() + wait
        while time.monotonic() < end:
            ready, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                return False
            data, _ = s.recvfrom(2048)
            m = parse(data)
            if m and m[0] == BINDING_RESPONSE:
                return True
        return False

    def mapping(self):
        (ip1, ip2), (p1, p2) = self.ips, self.ports
        s = self.sock()
        m1 = self.ask(s, (ip1, p1))
        m2 = self.ask(s, (ip2, p1))
        m3 = self.ask(s, (ip2, p2))
        s.close()
        if None in (m1, m2, m3):
            raise RuntimeError("no answer from the server (UDP blocked?)")
        if m1 == m2:
            return "eim", m1
        return ("adm" if m2 == m3 else "apdm"), m1

    def filtering(self):
        (ip1, _), (p1, _) = self.ips, self.ports
        s = self.sock()
        if self.ask(s, (ip1, p1)) is None:
            raise RuntimeError("no answer from the server")
        if self.ask(s, (ip1, p1), change=CHANGE_IP | CHANGE_PORT) is not None:
            out = "eif"
        elif self.ask(s, (ip1, p1), change=CHANGE_PORT) is not None:
            out = "adf"
        else:
            out = "apdf"
        s.close()
        return out

    def allocation(self, n=6):
        (ip1, _), (p1, _) = self.ips, self.ports
        pairs = []
        socks = [self.sock() for _ in range(n)]
        for s in socks:
            m = self.ask(s, (ip1, p1))
            pairs.append((s.getsockname()[1], m[1] if m else None))
        for s in socks:
            s.close()
        if all(local == ext for local, ext in pairs):
            return "preserve", pairs
        ext = [e for _, e in pairs]
        if all(b - a == 1 for a, b in zip(ext, ext[1:])):
            return "sequential", pairs
        return "random", pairs

    def hairpin(self):
        (ip1, _), (p1, _) = self.ips, self.ports
        a, b = self.sock(), self.sock()
        mb = self.ask(b, (ip1, p1))
        ma = self.ask(a, (ip1, p1))
        # b's mapping must let a's mapping in: b sends towards it first (a
        # filtering NAT), then a sends to b's mapping.
        txid = os.urandom(12)
        b.sendto(message(BINDING_RESPONSE, txid), ma)
        a.sendto(message(BINDING_RESPONSE, txid), mb)
        got = self.listen(b, 0.6)
        a.close()
        b.close()
        return got

    def alive_after(self, seconds):
        """Is a mapping still there after `seconds` without a packet? The
        server sends to it from the endpoint it contacted (any filtering
        lets that in while the mapping lives)."""
        (ip1, _), (p1, _) = self.ips, self.ports
        s, helper = self.sock(), self.sock()
        m = self.ask(s, (ip1, p1))
        time.sleep(seconds)
        self.ask(helper, (ip1, p1), send_to=m, tries=1, wait=0.05)
        got = self.listen(s, 0.6)
        s.close()
        helper.close()
        return got


def await_stranger(ips, ports, seconds):
    """Prints our mapping (from the server), then waits for any datagram
    from anyone else and prints who sent it."""
    pr = Probe(ips, ports)
    s = pr.sock()
    m = pr.ask(s, (ips[0], ports[0]))
    print(json.dumps({"mapping": "%s:%d" % m if m else None}), flush=True)
    end = time.monotonic() + seconds
    got = None
    while got is None and time.monotonic() < end:
        ready, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if ready:
            data, src = s.recvfrom(2048)
            if src[0] not in ips:
                got = "%s:%d" % src
    print(json.dumps({"received_from": got}), flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    aw = sub.add_parser("await", help="print our mapping, then wait for a stranger's datagram")
    aw.add_argument("ip1")
    aw.add_argument("ip2")
    aw.add_argument("--ports", default="3478,3479")
    aw.add_argument("--seconds", type=float, default=3.0)
    sd = sub.add_parser("send", help="send one datagram to HOST:PORT")
    sd.add_argument("target", help="HOST:PORT")
    for name in ("serve", "probe"):
        p = sub.add_parser(name)
        p.add_argument("ip1")
        p.add_argument("ip2")
        p.add_argument("--ports", default="3478,3479")
        if name == "serve":
            p.add_argument("--duration", type=float, default=600.0)
        else:
            p.add_argument("--timeout-check", type=float, nargs="*", default=[],
                           help="seconds of silence after which to test a mapping")
    a = ap.parse_args(argv)
    if a.cmd == "send":
        host, port = a.target.rsplit(":", 1)
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"stranger", (host, int(port)))
        return 0
    ports = [int(x) for x in a.ports.split(",")]
    if a.cmd == "await":
        return await_stranger([a.ip1, a.ip2], ports, a.seconds)
    if a.cmd == "serve":
        return serve([a.ip1, a.ip2], ports, a.duration)
    pr = Probe([a.ip1, a.ip2], ports)
    mapping, mapped = pr.mapping()
    allocation, pairs = pr.allocation()
    out = {"mapping": mapping, "external": "%s:%d" % mapped, "filtering": pr.filtering(),
           "allocation": allocation, "allocation_ports": pairs, "hairpin": pr.hairpin()}
    if a.timeout_check:
        out["mapping_alive_after"] = {"%g" % t: pr.alive_after(t) for t in a.timeout_check}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
