#!/usr/bin/env python3
"""Reliable UDP between real crust-node processes in network namespaces.

Usage: udp_lab.py --node PATH CASE [--megabytes N]
  happy_eyeballs  TCP blocked by iptables: the nodes connect over reliable
                  UDP; with both open, TCP wins.
  transfer        N MiB (default 8) over reliable UDP on a link with 5 % loss
                  each way and 50 ms delay; the SHA-256 of what arrives, in
                  order, matches what was sent.
  flood           20,000 INITIALs from spoofed sources at a node's UDP port:
                  it answers with stateless RETRYs and holds no state for them.
Namespaces (10.6.0.0/24 on one bridge) are created and removed by the test.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab import Swarm  # noqa: E402
from crustlab.casetest import check, run_case, step  # noqa: E402

COMMON = ["--peer-timeout=10s", "--keepalive-interval=1s"]




def two_hosts(lab):
    lab.segment("lan", "10.6.0.0/24")
    return lab.host("h1", "lan"), lab.host("h2", "lan")


def node_on(swarm, name, host, args=()):
    return swarm.add(name, args=["--listen-address=%s" % host.ip] + COMMON + list(args),
                     prefix=host.prefix())


def wait_cached(node, timeout=5.0):
    """The endpoints in the node's bootstrap cache once it has one (bounded wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(node.cache_path) as f:
                return sorted(e["endpoint"] for e in json.load(f)["peers"])
        except (OSError, ValueError):
            time.sleep(0.05)
    return None


def case_happy_eyeballs(binary, lab, workdir, args):
    h1, h2 = two_hosts(lab)
    with Swarm(binary, workdir) as swarm:
        b = node_on(swarm, "b", h2, ["--port=41000", "--no-port-fallback"])
        check(b.endpoint == "tcp://%s:41000" % h2.ip, "b listens on TCP and UDP 41000")
        step("TCP to b is dropped (iptables in b's namespace)")
        h2.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", "41000", "-j", "DROP")
        a = node_on(swarm, "a", h1)
        t0 = time.monotonic()
        a.connect(b)
        up = a.wait_for("connection_up", peer=b.peer, timeout=15)
        took = time.monotonic() - t0
        check(up["transport"] == "udp", "a reached b over %s in %.2fs" % (up["transport"], took))
        check(up["endpoint"].startswith("udp://") and up.get("dialled") == b.endpoint,
              "the link runs to %s; the dial asked for %s" % (up["endpoint"], up.get("dialled")))
        check(b.wait_for("connection_up", peer=a.peer)["transport"] == "udp", "b agrees: udp")
        cached = wait_cached(a)
        check(cached == [b.endpoint],
              "a's bootstrap cache keeps the endpoint it dialled: %s" % cached)
        a.send(b, "through reliable udp")
        b.wait_for("message", peer=a.peer, data="through reliable udp")
        check(True, "a message arrives")
        step("TCP open again: a new dial takes TCP")
        h2.run("iptables", "-D", "INPUT", "-p", "tcp", "--dport", "41000", "-j", "DROP")
        c = node_on(swarm, "c", h1)
        c.connect(b)
        up = c.wait_for("connection_up", peer=b.peer, timeout=15)
        check(up["transport"] == "tcp", "c reached b over %s" % up["transport"])
        time.sleep(0.6)
        peers = [p for p in c.peers() if p["peer"] == b.peer]
        check(len(peers) == 1 and peers[0]["transport"] == "tcp",
              "one link to b, TCP; the UDP attempt (if any) lost the race and is gone")


def case_transfer(binary, lab, workdir, args):
    h1, h2 = two_hosts(lab)
    step("link of h1: 5%% loss each way, 50 ms delay; %d MiB from a to b" % args.megabytes)
    lab.shape(h1, loss="5", delay_ms=50)
    with Swarm(binary, workdir) as swarm:
        b = node_on(swarm, "b", h2, ["--transport=udp"])
        a = node_on(swarm, "a", h1, ["--transport=udp"])
        a.connect(b)
        up = a.wait_for("connection_up", peer=b.peer, timeout=20)
        check(up["transport"] == "udp", "connected over udp")
        rng = random.Random(6)
        chunk = 64 * 1024
        count = args.megabytes * 1024 * 1024 // chunk
        sent = hashlib.sha256()
        t0 = time.monotonic()
        limit = 60 + args.megabytes * 10
        batch = 64  # 4 MiB: the sender keeps at most two batches queued (limit 16 MiB)
        for i in range(count):
            if i % batch == 0 and i >= 2 * batch:
                b.wait_count("message", i - batch, peer=a.peer, timeout=limit)
            data = bytes(rng.getrandbits(8) for _ in range(chunk)) if i < 4 else \
                hashlib.sha256(str(i).encode()).digest() * (chunk // 32)
            sent.update(data)
            a.command({"cmd": "send", "peer": b.peer, "hex": data.hex()})
        got = b.wait_count("message", count, peer=a.peer, timeout=limit)
        check(a.count("send_failed") == 0, "no send was refused")
        took = time.monotonic() - t0
        received = hashlib.sha256()
        for m in got:
            received.update(bytes.fromhex(m["hex"]) if "hex" in m else m["data"].encode())
        check(received.hexdigest() == sent.hexdigest(),
              "%d MiB arrived intact and in order (sha256 %s…)" % (args.megabytes,
                                                                 sent.hexdigest()[:16]))
        stats = a.request({"cmd": "stats"}, "stats")
        p = stats["peers"][0]
        print("  measured: %.1f s, %.0f KiB/s goodput, %d bytes on the wire, rtt %d us"
              % (took, args.megabytes * 1024 / took, p["bytes_sent"], p["rtt_us"]))


def case_flood(binary, lab, workdir, args):
    h1, h2 = two_hosts(lab)
    # Spoofed sources have no route back; loose reverse-path filtering would
    # drop them before the node sees them.
    h2.run("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
    h2.run("sysctl", "-qw", "net.ipv4.conf.eth0.rp_filter=0")
    with Swarm(binary, workdir) as swarm:
        b = node_on(swarm, "b", h2, ["--port=41000", "--no-port-fallback"])
        rss_before = rss_kib(b)
        step("20,000 INITIALs from random sources in 198.51.100.0/24 at b's UDP port")
        flooder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udp_flood.py")
        r = h1.run(sys.executable, flooder, str(h2.ip), "41000", "20000", timeout=120)
        print("  " + r.stdout.strip())
        time.sleep(1.0)
        stats = b.request({"cmd": "stats"}, "stats")
        check(stats["udp_retries"] >= 15000,
              "b answered %d with a stateless RETRY" % stats["udp_retries"])
        check(stats["udp_half_open"] == 0 and stats["connections"] == 0
              and stats["handshakes"] == 0, "no half-open state, no handshakes, no connections")
        rss_after = rss_kib(b)
        if os.environ.get("CRUST_SANITIZED"):
            # AddressSanitizer keeps freed memory in quarantine: RSS says
            # nothing there. The plain build checks it.
            print("  (sanitizer build: resident memory %d KiB -> %d KiB, not judged)"
                  % (rss_before, rss_after))
        else:
            check(rss_after - rss_before < 4096,
                  "resident memory %d KiB -> %d KiB" % (rss_before, rss_after))
        step("a legitimate peer still gets through")
        a = node_on(swarm, "a", h1, ["--transport=udp"])
        a.connect(b)
        check(a.wait_for("connection_up", peer=b.peer, timeout=15)["transport"] == "udp",
              "a connects over udp after the flood")


def rss_kib(node):
    with open("/proc/%d/status" % node.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


CASES = {"happy_eyeballs": case_happy_eyeballs, "transfer": case_transfer, "flood": case_flood}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", required=True)
    parser.add_argument("--megabytes", type=int, default=8)
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    binary = os.path.abspath(args.node)
    return run_case("crust-udp-%s-" % args.case,
                    lambda lab, workdir: CASES[args.case](binary, lab, workdir, args),
                    lab=True, binary=binary)


if __name__ == "__main__":
    sys.exit(main())
