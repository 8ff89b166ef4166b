#!/usr/bin/env python3
"""NAT traversal between real crust-node processes behind real (nftables) NATs.

Usage: nat_lab.py --node PATH CASE [--reps N] [--delay-ms D] [--json FILE]
  stun     nodes behind a cone NAT, a symmetric NAT and on the public segment
           learn their external endpoint and NAT class from coturn (two
           addresses, RFC 5780).
  observed without STUN servers, what two peers report over reliable UDP
           gives the external address and the NAT class.
  matrix   {public, cone, symmetric} x {public, cone, symmetric}: two nodes
           that only know a public rendezvous node end up connected, each by
           the best path their NATs allow; prints the path and the median
           time to connect per cell (with D ms one-way delay on every link
           into the public segment, default 25).
  tcp_punch  two nodes behind cone NATs whose routers forward no UDP but
           to the STUN servers: UDP punching cannot work, TCP simultaneous
           open does (punched_tcp), with D ms one-way delay.
  reachability  nodes ask connected peers to dial them back: a public
           node's endpoints are reachable; behind a NAT only the mapping is
           tried (and is not reachable); a public host whose firewall drops
           inbound TCP learns its TCP endpoint is unreachable and leaves it
           out of its connection info.
  idle     a punched UDP connection survives 24 s without traffic behind NATs that
           forget a UDP mapping after 8 s (keepalives hold both NAT bindings).
  upnp     a node behind a cone router with miniupnpd gets its TCP and UDP
           ports forwarded (UPnP; NAT-PMP where the router speaks only that); a public node dials the forwarded TCP port; the
           mappings go when the node quits; without a gateway the node still
           connects and reports why nothing was mapped.
  relay    two nodes behind symmetric NATs connect through a relay, and
           N MiB (default 10) cross it intact; a second relayed link beyond
           the relay's per-peer limit is refused, reported at once.
  upgrade  two nodes behind cone NATs whose routers drop UDP (and no TCP
           punch) are relayed; upgrade attempts fail while UDP is blocked;
           once the routers let UDP through, the link moves to a punched
           path without a connection_down, messages in order across the move,
           and the relay's circuit closes.
Every namespace lives in 203.0.113.0/24 (public) and 10.x (LANs), created and
removed by the test.
"""
import argparse
import hashlib
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab import Swarm  # noqa: E402
from crustlab.casetest import check, run_case, step  # noqa: E402

STUN_IPS = ("203.0.113.100", "203.0.113.101")
STUN = ["--stun-servers=[\"udp://%s:3478\",\"udp://%s:3478\"]" % STUN_IPS]
COMMON = ["--peer-timeout=20s", "--keepalive-interval=5s", "--bootstrap-cache=none",
          "--no-gossip", "--log-level=debug"] + STUN
KINDS = ("public", "cone", "symmetric")




class World:
    """The public segment with coturn and a rendezvous node, two public
    hosts, two cone and two symmetric routers with one host behind each."""

    def __init__(self, lab, delay_ms=0, block_udp=False, udp_timeout=None):
        self.lab = lab
        lab.segment("public", "203.0.113.0/24")
        stun = lab.host("stun", "public", ip=STUN_IPS[0], extra_ips=[STUN_IPS[1]])
        lab.stun_server(stun)
        self.rendezvous_host = lab.host("rv", "public", ip="203.0.113.50")
        self.hosts = {"public": [lab.host("pub1", "public", ip="203.0.113.51"),
                                 lab.host("pub2", "public", ip="203.0.113.52")]}
        self.routers = {}
        for kind, nat, base in (("cone", "cone", 10), ("symmetric", "symmetric", 20)):
            hs = []
            for i in (1, 2):
                lan = "%s%d" % (kind[:3], i)
                lab.segment(lan, "10.%d.0.0/24" % (base + i))
                r = lab.router("r" + lan, "public", lan, nat=nat,
                               wan_ip="203.0.113.%d" % (base + i), stun=list(STUN_IPS),
                               block_udp=block_udp, udp_timeout=udp_timeout)
                self.routers[lan] = r
                hs.append(lab.host("h" + lan, lan))
            self.hosts[kind] = hs
        if delay_ms:
            for h in [self.rendezvous_host] + self.hosts["public"] + list(self.routers.values()):
                # On arrival: every path across the public segment gets one
                # delay, and senders are not throttled (see Lab.shape).
                lab.shape(h, delay_ms=delay_ms, inbound=True)

    def node(self, swarm, name, host, args=()):
        return swarm.add(name, args=["--listen-address=%s" % host.ip] + COMMON + list(args),
                         prefix=host.prefix())

    def pair(self, swarm, rv, names, hosts, args=()):
        """Two nodes that know only `rv`, once both are connected to it and
        know their NAT; returns them and their NAT status."""
        extra = ["--contacts=[\"%s\"]" % rv.endpoint] + list(args)
        nodes = [self.node(swarm, name, host, extra) for name, host in zip(names, hosts)]
        status = []
        for n in nodes:
            n.wait_for("connection_up", peer=rv.peer, timeout=15)
            rv.wait_for("connection_up", peer=n.peer, timeout=15)
            status.append(wait_nat(n))
        return nodes, status


def poll_nat(node, done, timeout):
    """Polls `nat` until `done(status)` (bounded); the last status either way."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = node.request({"cmd": "nat"}, "nat")
        if done(st):
            return st
        time.sleep(0.1)
    return st


def wait_nat(node, timeout=15.0):
    """Polls `nat` until STUN has an answer."""
    return poll_nat(node, lambda st: st["nat"] != "unknown"
                    or len(st["stun_servers_answered"]) >= 2, timeout)


def case_stun(binary, lab, workdir, args):
    w = World(lab)
    with Swarm(binary, workdir) as swarm:
        want = {"public": ("none", "203.0.113.51"), "cone": ("endpoint_independent", "203.0.113.11"),
                "symmetric": ("endpoint_dependent", "203.0.113.21")}
        for kind in KINDS:
            n = w.node(swarm, kind, w.hosts[kind][0])
            st = wait_nat(n)
            cls, ip = want[kind]
            check(st["nat"] == cls, "%s: NAT class %s (want %s)" % (kind, st["nat"], cls))
            check(len(st["stun_servers_answered"]) == 2, "%s: both STUN addresses answered" % kind)
            check(all(e.startswith("udp://%s:" % ip) for e in st["external"]),
                  "%s: seen from outside as %s" % (kind, st["external"]))
            udp_port = [e for e in n.endpoints if e.startswith("udp://")][0].rsplit(":", 1)[1]
            if kind != "symmetric":
                check(st["external"] == ["udp://%s:%s" % (ip, udp_port)],
                      "%s: the mapping keeps our UDP port %s" % (kind, udp_port))
            else:
                check(len(st["external"]) == 2, "symmetric: one mapping per server")


def case_observed(binary, lab, workdir, args):
    w = World(lab)
    plain = ["--peer-timeout=20s", "--bootstrap-cache=none", "--no-gossip", "--beacon=off"]
    with Swarm(binary, workdir) as swarm:
        pubs = [swarm.add("pub%d" % i, args=["--listen-address=%s" % h.ip] + plain,
                          prefix=h.prefix()) for i, h in enumerate(w.hosts["public"])]
        want = {"cone": ("endpoint_independent", "203.0.113.11"),
                "symmetric": ("endpoint_dependent", "203.0.113.21")}
        for kind in ("cone", "symmetric"):
            step("behind the %s NAT, no STUN server: two peers' reports over reliable UDP" % kind)
            h = w.hosts[kind][0]
            n = swarm.add(kind, args=["--listen-address=%s" % h.ip, "--transport=udp"] + plain,
                          prefix=h.prefix())
            for p in pubs:
                n.connect(p.endpoints[1])  # their UDP endpoint
                up = n.wait_for("connection_up", peer=p.peer, timeout=10)
                check(up["observed"].startswith("udp://%s:" % want[kind][1]),
                      "%s sees us at %s" % (p.name, up["observed"]))
            st = n.request({"cmd": "nat"}, "nat")
            check(st["observed_address"] == want[kind][1],
                  "two peers agree we are %s" % st["observed_address"])
            check(st["nat"] == want[kind][0], "NAT class from their reports: %s" % st["nat"])
            n.quit()


def connect_cell(swarm, w, rv, kind_a, kind_b, rep, timeout):
    """Fresh nodes (fresh ports, so no NAT state is reused) for one attempt."""
    (a, b), _ = w.pair(swarm, rv, ("a-%s-%s-%d" % (kind_a, kind_b, rep),
                                   "b-%s-%s-%d" % (kind_a, kind_b, rep)),
                       (w.hosts[kind_a][0], w.hosts[kind_b][1]))
    t0 = time.monotonic()
    a.command({"cmd": "connect_via", "peer": b.peer, "through": rv.peer})
    deadline = time.monotonic() + timeout
    up = None
    while time.monotonic() < deadline:
        ups = [e for e in a.events if e.get("event") == "connection_up" and e["peer"] == b.peer]
        fails = [e for e in a.events if e.get("event") == "traversal_failed"]
        if ups:
            up = ups[0]
            break
        if fails:
            raise AssertionError("%s x %s: %s" % (kind_a, kind_b, fails[0]))
        time.sleep(0.005)
    took = time.monotonic() - t0
    if up is None:
        raise AssertionError("%s x %s: not connected within %ds" % (kind_a, kind_b, timeout))
    b.wait_for("connection_up", peer=a.peer, timeout=10)
    msg = "through the %s path" % up["path"]
    a.send(b, msg)
    b.wait_for("message", peer=a.peer, data=msg, timeout=10)
    a.quit()
    b.quit()
    return up["path"], up["transport"], took


def case_matrix(binary, lab, workdir, args):
    w = World(lab, delay_ms=args.delay_ms)
    results = {}
    with Swarm(binary, workdir) as swarm:
        rv = w.node(swarm, "rv", w.rendezvous_host, ["--relay"] if args.relay else [])
        for ka in KINDS:
            for kb in KINDS:
                step("%s x %s" % (ka, kb))
                paths, times = [], []
                for rep in range(args.reps):
                    path, transport, took = connect_cell(swarm, w, rv, ka, kb, rep, args.timeout)
                    paths.append("%s/%s" % (path, transport))
                    times.append(took)
                med = statistics.median(times)
                results["%s x %s" % (ka, kb)] = {"paths": paths, "seconds": times,
                                                 "median_ms": round(med * 1000)}
                # UDP punching and TCP simultaneous open race: either
                # punched path is the cell's best; the kind must not vary.
                kinds = {"punched" if p.startswith("punched_") else p for p in paths}
                results["%s x %s" % (ka, kb)]["label"] = " or ".join(sorted(set(paths)))
                check(len(kinds) == 1, "%s x %s: %s, median %.0f ms (%s)"
                      % (ka, kb, ", ".join(paths), med * 1000,
                         ", ".join("%.0f" % (t * 1000) for t in times)))
    print("\nmatrix (path, median time to connect; %d ms one-way delay into the public segment):"
          % args.delay_ms)
    print("%-10s" % "A \\ B" + "".join("%-44s" % k for k in KINDS))
    for ka in KINDS:
        row = "%-10s" % ka
        for kb in KINDS:
            r = results["%s x %s" % (ka, kb)]
            row += "%-44s" % ("%s %d ms" % (r["label"], r["median_ms"]))
        print(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


IDLE_NAT_TIMEOUT = 8  # s, the routers' UDP mapping timeout in `idle`


def case_idle(binary, lab, workdir, args):
    # Routers that forget a UDP mapping after 8 s without a packet (a short
    # home-router timeout): only keepalives keep a punched path open.
    w = World(lab, udp_timeout=IDLE_NAT_TIMEOUT)
    with Swarm(binary, workdir) as swarm:
        rv = w.node(swarm, "rv", w.rendezvous_host)
        # UDP bindings are what this is about: no TCP punch to race the UDP one.
        (a, b), _ = w.pair(swarm, rv, ("a", "b"), w.hosts["cone"], ["--no-tcp-punch"])
        a.command({"cmd": "connect_via", "peer": b.peer, "through": rv.peer})
        up = a.wait_for("connection_up", peer=b.peer, timeout=15)
        check(up["path"] == "punched_udp", "a reached b by %s/%s" % (up["path"], up["transport"]))
        idle = 3 * IDLE_NAT_TIMEOUT
        step("%d s without a message (the NATs forget a UDP mapping after %d s)"
             % (idle, IDLE_NAT_TIMEOUT))
        time.sleep(idle)
        check(a.count("connection_down", peer=b.peer) == 0, "a still has b")
        check(b.count("connection_down", peer=a.peer) == 0, "b still has a")
        a.send(b, "after idling")
        b.wait_for("message", peer=a.peer, data="after idling", timeout=10)
        b.send(a, "and back")
        a.wait_for("message", peer=b.peer, data="and back", timeout=10)
        check(True, "messages pass both ways over the punched path")


def case_tcp_punch(binary, lab, workdir, args):
    w = World(lab, delay_ms=args.delay_ms, block_udp=True)
    times = []
    with Swarm(binary, workdir) as swarm:
        rv = w.node(swarm, "rv", w.rendezvous_host)
        for rep in range(args.reps):
            step("attempt %d: behind cone NATs that forward TCP only (and STUN)" % (rep + 1))
            (a, b), status = w.pair(swarm, rv, ("a%d" % rep, "b%d" % rep), w.hosts["cone"])
            for n, st in zip((a, b), status):
                check(st["nat"] == "endpoint_independent", "%s: NAT %s" % (n.name, st["nat"]))
            t0 = time.monotonic()
            a.command({"cmd": "connect_via", "peer": b.peer, "through": rv.peer})
            up = a.wait_for("connection_up", peer=b.peer, timeout=args.timeout)
            took = time.monotonic() - t0
            times.append(took)
            check(up["path"] == "punched_tcp" and up["transport"] == "tcp",
                  "a reached b by %s/%s in %.0f ms" % (up["path"], up["transport"], took * 1000))
            down = b.wait_for("connection_up", peer=a.peer, timeout=10)
            check(down["path"] == "punched_tcp", "b agrees: %s" % down["path"])
            for i in range(20):
                a.send(b, "a%d" % i)
                b.send(a, "b%d" % i)
            got_b = b.wait_count("message", 20, peer=a.peer, timeout=10)
            got_a = a.wait_count("message", 20, peer=b.peer, timeout=10)
            check([m["data"] for m in got_b] == ["a%d" % i for i in range(20)]
                  and [m["data"] for m in got_a] == ["b%d" % i for i in range(20)],
                  "20 messages each way arrived in order over the one TCP connection")
            check(a.count("connection_down", peer=b.peer) == 0, "the link stayed up")
            a.quit()
            b.quit()
        step("the same without TCP simultaneous open (--no-tcp-punch): nothing gets through")
        (a, b), _ = w.pair(swarm, rv, ("a-off", "b-off"), w.hosts["cone"], ["--no-tcp-punch"])
        a.command({"cmd": "connect_via", "peer": b.peer, "through": rv.peer})
        failed = a.wait_for("traversal_failed", peer=b.peer, timeout=30)
        check(a.count("connection_up", peer=b.peer) == 0,
              "no connection; the traversal failed: %s" % failed.get("detail", failed))
    print("\nTCP simultaneous open through two cone NATs (%d ms one-way delay): median %.0f ms (%s)"
          % (args.delay_ms, statistics.median(times) * 1000,
             ", ".join("%.0f" % (t * 1000) for t in times)))


def wait_checked(node, count, timeout=15.0):
    """Polls `nat` until `count` endpoints have a reachability verdict."""
    return poll_nat(node, lambda st: len(st["reachable"]) + len(st["unreachable"]) >= count,
                    timeout)


def case_reachability(binary, lab, workdir, args):
    w = World(lab)
    with Swarm(binary, workdir) as swarm:
        p1 = w.node(swarm, "p1", w.hosts["public"][0])
        p2 = w.node(swarm, "p2", w.hosts["public"][1], ["--contacts=[\"%s\"]" % p1.endpoint])
        step("two public nodes dial each other back")
        for n in (p1, p2):
            st = wait_checked(n, 2)
            want = sorted(e for e in n.endpoints)
            check(sorted(st["reachable"]) == want and not st["unreachable"],
                  "%s: reachable %s" % (n.name, st["reachable"]))
            check(st["probes_served"] >= 2, "%s made %d dial-backs for its peer"
                  % (n.name, st["probes_served"]))
        step("behind a cone NAT: its own 10.x endpoints are not dialled, its mapping is "
             "and is not reachable")
        c = w.node(swarm, "c", w.hosts["cone"][0],
                   ["--contacts=[\"%s\",\"%s\"]" % (p1.endpoint, p2.endpoint)])
        wait_nat(c)
        st = wait_checked(c, 1)
        check(not st["reachable"], "nothing of c is reachable from outside")
        check(st["unreachable"] and all(e.startswith("udp://203.0.113.11:") for e in st["unreachable"]),
              "unreachable: %s (its STUN mapping)" % st["unreachable"])
        step("a public host whose firewall drops inbound TCP connections")
        fw = w.hosts["public"][1]
        p2.quit()
        tcp_port = "47001"
        fw.run("nft", "-f", "-", input="""table inet crustfw {
        chain input {
            type filter hook input priority 0; policy accept;
            tcp dport %s ct state new drop
        }
}
""" % tcp_port)
        f = w.node(swarm, "f", fw, ["--contacts=[\"%s\"]" % p1.endpoint, "--port=" + tcp_port])
        f.wait_for("connection_up", peer=p1.peer, timeout=15)
        st = wait_checked(f, 2, timeout=20)
        check(("tcp://%s:%s" % (fw.ip, tcp_port)) in st["unreachable"],
              "f learns its TCP endpoint is unreachable: %s" % st["unreachable"])
        check(any(e.startswith("udp://") for e in st["reachable"]),
              "its UDP endpoint is reachable: %s" % st["reachable"])
        f.command({"cmd": "prepare_info", "token": 5})
        info = f.wait_for("connection_info", token=5)["info"]
        eps = info["local"] + info["external"]
        check(not any(e.startswith("tcp://") for e in eps),
              "its connection info leaves the TCP endpoint out: %s" % eps)


def case_relay(binary, lab, workdir, args):
    w = World(lab, delay_ms=args.delay_ms)
    with Swarm(binary, workdir) as swarm:
        # One circuit per peer: a's second relayed link is refused (below).
        rv = w.node(swarm, "rv", w.rendezvous_host,
                    ["--relay", "--relay-circuits-per-peer=1", "--log-level=info"])
        (a, b), _ = w.pair(swarm, rv, ("a", "b"), w.hosts[args.kind], ["--log-level=info"])
        step("two nodes behind symmetric NATs: only a relay can join them")
        a.command({"cmd": "connect_via", "peer": b.peer, "through": rv.peer})
        up = a.wait_for("connection_up", peer=b.peer, timeout=15)
        want = "relayed" if args.kind == "symmetric" else up["path"]
        check(up["path"] == want, "a reached b by %s" % up["path"])
        check(b.wait_for("connection_up", peer=a.peer)["path"] == want, "b agrees: %s" % want)
        # Both sides dial a public peer: let the duplicate settle first (the
        # swap may reorder messages in flight, see README).
        time.sleep(1.0)
        chunk = 64 * 1024
        count = args.megabytes * 1024 * 1024 // chunk
        step("%d MiB from a to b over that path" % args.megabytes)
        sent = hashlib.sha256()
        t0 = time.monotonic()
        limit = 60 + args.megabytes * 10
        batch = 32
        down = ("connection_down", {"peer": a.peer})
        for i in range(count):
            if i % batch == 0 and i >= 2 * batch:
                b.wait_count("message", i - batch, peer=a.peer, timeout=limit, fail_on=down)
            data = hashlib.sha256(str(i).encode()).digest() * (chunk // 32)
            sent.update(data)
            a.command({"cmd": "send", "peer": b.peer, "hex": data.hex()})
        got = b.wait_count("message", count, peer=a.peer, timeout=limit, fail_on=down)
        took = time.monotonic() - t0
        check(a.count("send_failed") == 0, "no send was refused")
        received = hashlib.sha256()
        for m in got:
            received.update(bytes.fromhex(m["hex"]) if "hex" in m else m["data"].encode())
        check(received.hexdigest() == sent.hexdigest(),
              "%d MiB arrived intact and in order in %.1f s (%.1f MB/s)"
              % (args.megabytes, took, args.megabytes * 1.048576 / took))
        st = rv.request({"cmd": "nat"}, "nat")
        if args.kind != "symmetric":
            return
        check(st["relayed_circuits"] == 1 and st["relayed_bytes"] >= count * chunk,
              "the relay counted 1 circuit and %d bytes (the payload plus Noise framing)"
              % st["relayed_bytes"])
        step("the relay reads nothing: no payload byte pattern in what it logged")
        check(all(e.get("event") != "message" for e in rv.events), "the relay got no message")
        step("a second relayed link for a, beyond the relay's one circuit per peer: refused, "
             "and a hears why at once")
        (c,), _ = w.pair(swarm, rv, ("c",), w.hosts[args.kind][1:], ["--log-level=info"])
        t0 = time.monotonic()
        a.command({"cmd": "connect_via", "peer": c.peer, "through": rv.peer})
        failed = a.wait_for("traversal_failed", peer=c.peer, timeout=15)
        took = time.monotonic() - t0
        check(failed["reason"] == "too_many_connections" and took < 5,
              "traversal_failed after %.1f s (the traversal's limit is 10 s): %s (%s)"
              % (took, failed["reason"], failed["detail"]))
        check(a.count("connection_up", peer=c.peer) == 0, "no link to c")


def case_upgrade(binary, lab, workdir, args):
    w = World(lab, delay_ms=args.delay_ms, block_udp=True)
    with Swarm(binary, workdir) as swarm:
        rv = w.node(swarm, "rv", w.rendezvous_host, ["--relay"])
        # No TCP punch: with UDP blocked, only the relay joins them at first.
        (a, b), status = w.pair(swarm, rv, ("a", "b"), w.hosts["cone"],
                                ["--no-tcp-punch", "--relay-upgrade=2s"])
        for n, st in zip((a, b), status):
            check(st["nat"] == "endpoint_independent", "%s: NAT %s" % (n.name, st["nat"]))
        step("behind cone NATs that forward no UDP (but STUN), without TCP punching: relayed")
        a.command({"cmd": "connect_via", "peer": b.peer, "through": rv.peer})
        up = a.wait_for("connection_up", peer=b.peer, timeout=20)
        check(up["path"] == "relayed", "a reached b by %s" % up["path"])
        check(b.wait_for("connection_up", peer=a.peer)["path"] == "relayed", "b agrees")
        sent = []

        def send_some(n):
            for _ in range(n):
                sent.append("m%d" % len(sent))
                a.send(b, sent[-1])

        step("the firewalls still drop UDP: an upgrade attempt fails, the link stays relayed")
        st = poll_nat(a, lambda st: st["upgrades_tried"] >= 2, 30)
        check(st["upgrades_tried"] >= 2 and st["upgrades_succeeded"] == 0,
              "a tried %d times, none moved the link" % st["upgrades_tried"])
        send_some(20)
        check(a.count("path_changed") == 0 and a.count("connection_down", peer=b.peer) == 0,
              "no path change, no connection_down")
        check(all(p["path"] == "relayed" for p in a.peers() if p["peer"] == b.peer),
              "a's peer list says relayed")
        step("the firewalls open UDP; messages keep flowing while the link moves")
        for r in ("con1", "con2"):
            lab.unblock_udp(w.routers[r])
        opened = time.monotonic()
        deadline = opened + 40
        while time.monotonic() < deadline and not (a.count("path_changed", peer=b.peer)
                                                   and b.count("path_changed", peer=a.peer)):
            send_some(1)
            time.sleep(0.05)
        took = time.monotonic() - opened
        moved = a.wait_for("path_changed", peer=b.peer, timeout=1)
        check(moved["from"] == "relayed" and moved["path"] == "punched_udp"
              and moved["transport"] == "udp",
              "a: the link moved from %s to %s/%s" % (moved["from"], moved["path"],
                                                    moved["transport"]))
        other = b.wait_for("path_changed", peer=a.peer, timeout=1)
        check(other["path"] == "punched_udp", "b agrees: %s" % other["path"])
        send_some(20)
        got = b.wait_count("message", len(sent), peer=a.peer, timeout=20,
                           fail_on=("connection_down", {"peer": a.peer}))
        check([m["data"] for m in got] == sent,
              "all %d messages arrived once and in order across the move" % len(sent))
        check(a.count("connection_down", peer=b.peer) == 0
              and b.count("connection_down", peer=a.peer) == 0,
              "neither side saw connection_down")
        check([p["path"] for p in a.peers() if p["peer"] == b.peer] == ["punched_udp"],
              "a's peer list says punched_udp")
        st = poll_nat(rv, lambda st: st["relay_circuits_open"] == 0, 10)
        check(st["relay_circuits_open"] == 0, "the relay closed the circuit")
        relayed = st["relayed_bytes"]
        b.send(a, "back over the direct path")
        a.wait_for("message", peer=b.peer, data="back over the direct path", timeout=10)
        check(rv.request({"cmd": "nat"}, "nat")["relayed_bytes"] == relayed,
              "the relay carries nothing more (%d bytes in all)" % relayed)
        check(poll_nat(a, lambda st: True, 1)["upgrades_succeeded"] == 1, "a counted the upgrade")
    print("\nrelayed -> punched_udp %.1f s after the routers let UDP through (attempts back off"
          " from 2 s; %d messages sent meanwhile)" % (took, len(sent) - 40))


def wait_upnp(node, timeout=20.0):
    """Polls `nat` until the UPnP attempt has an outcome."""
    return poll_nat(node, lambda st: st["upnp"] not in ("off", "pending"), timeout)


def case_upnp(binary, lab, workdir, args):
    w = World(lab)
    stun_host = lab.get("stun")
    lab.upnp(w.routers["con1"], stun_host)
    lab.wait_log("miniupnpd-rcon1", "Port forwarding is now enabled", timeout=20)
    with Swarm(binary, workdir) as swarm:
        pub = w.node(swarm, "pub", w.hosts["public"][0])
        step("a node behind a cone router running miniupnpd asks it to forward its ports")
        inside = w.node(swarm, "inside", w.hosts["cone"][0], ["--upnp"])
        st = wait_upnp(inside)
        ports = sorted(e.rsplit(":", 1)[1] for e in inside.endpoints)
        want = sorted(["tcp://203.0.113.11:%s" % ports[0], "udp://203.0.113.11:%s" % ports[1]])
        check(st["upnp"].startswith("mapped via UPnP"), "UPnP: %s" % st["upnp"])
        check(sorted(st["upnp_mapped"]) == want, "forwarded: %s" % st["upnp_mapped"])
        step("a public node dials the forwarded TCP port: no punching, no relay")
        tcp = [e for e in st["upnp_mapped"] if e.startswith("tcp://")][0]
        pub.connect(tcp)
        up = pub.wait_for("connection_up", peer=inside.peer, timeout=10)
        check(up["transport"] == "tcp", "connected to %s over tcp" % tcp)
        inside.wait_for("connection_up", peer=pub.peer)
        pub.send(inside, "through the mapping")
        inside.wait_for("message", peer=pub.peer, data="through the mapping")
        check(True, "a message arrives")
        step("its connection info leads with the forwarded ports")
        inside.command({"cmd": "prepare_info", "token": 7})
        info = inside.wait_for("connection_info", token=7)["info"]
        check(sorted(info["external"][:2]) == want, "info.external: %s" % info["external"])
        step("a node behind a symmetric NAT reaches it through the forwarded port, not a relay")
        rv = w.node(swarm, "rv", w.rendezvous_host, ["--relay"])
        sym = w.node(swarm, "sym", w.hosts["symmetric"][0], ["--contacts=[\"%s\"]" % rv.endpoint])
        inside.connect(rv)
        for n in (inside, sym):
            n.wait_for("connection_up", peer=rv.peer, timeout=10)
        wait_nat(sym)
        sym.command({"cmd": "connect_via", "peer": inside.peer, "through": rv.peer})
        up = sym.wait_for("connection_up", peer=inside.peer, timeout=15)
        check(up["path"] == "upnp" and up["endpoint"] == tcp,
              "sym reached inside by %s at %s" % (up["path"], up["endpoint"]))
        step("quitting removes the mappings")
        inside.quit()
        deadline = time.monotonic() + 10
        listed = ""
        while time.monotonic() < deadline:
            listed = w.hosts["cone"][0].run("upnpc", "-i", "-l", check=False).stdout
            if "crust" not in listed:
                break
            time.sleep(0.2)
        check("crust" not in listed, "the gateway lists no crust mapping any more")
        step("a router that speaks only NAT-PMP: the node falls back to it")
        lab.upnp(w.routers["con2"], stun_host, upnp=False)
        lab.wait_log("miniupnpd-rcon2", "Port forwarding is now enabled", timeout=20)
        pmp = w.node(swarm, "pmp", w.hosts["cone"][1], ["--upnp"])
        st = wait_upnp(pmp)
        check(st["upnp"].startswith("mapped via NAT-PMP"), "port mapping: %s" % st["upnp"])
        tcp2 = [e for e in st["upnp_mapped"] if e.startswith("tcp://203.0.113.12:")]
        check(len(tcp2) == 1 and len(st["upnp_mapped"]) == 2, "forwarded: %s" % st["upnp_mapped"])
        pub.connect(tcp2[0])
        check(pub.wait_for("connection_up", peer=pmp.peer, timeout=10)["transport"] == "tcp",
              "a public node connects through the NAT-PMP mapping %s" % tcp2[0])
        port = tcp2[0].rsplit(":", 1)[1]
        rules = w.routers["con2"].run("nft", "list", "ruleset", check=False).stdout
        check("dport %s" % port in rules, "the router's ruleset forwards port %s" % port)
        pmp.quit()
        deadline = time.monotonic() + 10
        rules = ""
        while time.monotonic() < deadline:
            rules = w.routers["con2"].run("nft", "list", "ruleset", check=False).stdout
            if "dport %s" % port not in rules:
                break
            time.sleep(0.2)
        check("dport %s" % port not in rules, "quitting removed the NAT-PMP mapping")
        step("behind a router without UPnP or NAT-PMP the attempt ends in a clear status,"
             " and the node connects meanwhile")
        other = w.node(swarm, "other", w.hosts["symmetric"][1],
                       ["--upnp", "--contacts=[\"%s\"]" % pub.endpoint])
        other.wait_for("connection_up", peer=pub.peer, timeout=10)
        st = wait_upnp(other)
        check(not st["upnp_mapped"] and st["upnp"] not in ("off", "pending", "mapped"),
              "UPnP: %s" % st["upnp"])


CASES = {"observed": case_observed, "upnp": case_upnp, "stun": case_stun, "matrix": case_matrix, "idle": case_idle, "relay": case_relay,
         "upgrade": case_upgrade,
         "tcp_punch": case_tcp_punch, "reachability": case_reachability}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", required=True)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--delay-ms", type=int, default=25)
    parser.add_argument("--timeout", type=int, default=20)
    parser.add_argument("--relay", action="store_true", help="the rendezvous node relays")
    parser.add_argument("--megabytes", type=int, default=10)
    parser.add_argument("--kind", choices=KINDS, default="symmetric",
                        help="relay: the NAT both nodes sit behind (symmetric: relayed)")
    parser.add_argument("--json")
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    binary = os.path.abspath(args.node)
    return run_case("crust-nat-%s-" % args.case,
                    lambda lab, workdir: CASES[args.case](binary, lab, workdir, args),
                    lab=True, binary=binary)


if __name__ == "__main__":
    sys.exit(main())
