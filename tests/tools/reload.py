#!/usr/bin/env python3
"""SIGHUP re-reads crust-node's configuration file (issue 28): what can
change live is applied at once — the connection limit, the log level, new
contacts dialled, gossip restarted with its new TTL — and the rest is named
as needing a restart; a bad file is
refused whole with a clear message and the node keeps its settings. Loopback
only.

  beacon (root): two hosts on one LAN (namespaces this test creates); a
  node started with its beacon off hears a beaconing neighbour only after
  a reload turns its beacon on — the beacon actor restarted live.

Usage: reload.py --node CRUST-NODE [beacon]"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab import Swarm  # noqa: E402
from crustlab.casetest import check, run_case, step  # noqa: E402

BASE = '[global]\nbeacon="off"\nno-nat=true\nlog-level="info"\nmax-connections=%d\n'


def refused(a, c):
    """c dials a and is turned away: a peer-id blacklist ends the link right
    after the handshake (c sees it come and go), a limit before it (c gets
    connect_failed); a never reports c up."""
    since = c.mark()
    c.connect(a)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        evs = c.events[since:]
        if any(e.get("event") == "connect_failed" for e in evs) or any(
                e.get("event") == "connection_down" and e.get("peer") == a.peer for e in evs):
            break
        time.sleep(0.05)
    else:
        return False
    time.sleep(0.3)
    return a.count("connection_up", peer=c.peer) == 0


def body(workdir):
    ini = os.path.join(workdir, "a.ini")
    with open(ini, "w") as f:
        f.write(BASE % 100)
    with Swarm(NODE, workdir) as swarm:
        b = swarm.add("b", args=["--no-nat"])
        c = swarm.add("c", args=["--no-nat"])
        a = swarm.add("a", args=["--config-file=" + ini])
        step("a runs with max-connections=100, log-level info, no contacts")
        with open(ini, "w") as f:
            f.write(BASE % 1 + 'contacts=["%s"]\nnetwork="elsewhere"\n'
                    % b.endpoint)
            f.write('log-level="debug"\ngossip-ttl=2\n')
        since = a.mark()
        a.signal(signal.SIGHUP)
        ev = a.wait_for("reload", timeout=10, since=since)
        check(ev["ok"] and sorted(ev["applied"]) == ["contacts", "gossip-ttl", "log-level",
                                                     "max-connections"]
              and ev["needs_restart"] == ["network"],
              "SIGHUP: applied %s, needs a restart %s" % (ev["applied"], ev["needs_restart"]))
        a.wait_for("connection_up", peer=b.peer, timeout=10, since=since)
        check(True, "the new contact was dialled at once")
        time.sleep(0.3)
        with open(a.err_path) as f:
            err = f.read()
        check("crust-node: reload: applied" in err and "needs a restart: network" in err,
              "the log says what was applied and what needs a restart")
        check(" DEBUG " in err.split("crust-node: reload: applied")[-1],
              "debug lines follow at the new log level")
        c.connect(a)
        fail = c.wait_for("connect_failed", timeout=10)
        check(fail["reason"] == "too_many_connections",
              "the new limit (1 link) holds: c is refused (%s)" % fail["reason"])
        step("a blacklist entry added to the file: c's peer id")
        with open(ini, "w") as f:
            f.write(BASE % 100 + 'contacts=["%s"]\nnetwork="elsewhere"\nlog-level="debug"\n'
                    'gossip-ttl=2\nblacklist=["%s"]\n' % (b.endpoint, c.peer))
        since = a.mark()
        a.signal(signal.SIGHUP)
        ev = a.wait_for("reload", timeout=10, since=since)
        check(ev["ok"] and sorted(ev["applied"]) == ["blacklist", "max-connections"],
              "applied %s" % ev["applied"])
        check(refused(a, c), "c, now blacklisted by peer id, is refused although the limit "
              "is back at 100 (a never reports it up)")
        step("a bad file: refused whole, the node keeps its settings")
        with open(ini, "w") as f:
            f.write(BASE % 1 + 'bogus-key=1\n')
        since = a.mark()
        a.signal(signal.SIGHUP)
        ev = a.wait_for("reload", timeout=10, since=since)
        check(not ev["ok"] and "bogus-key" in ev["error"],
              "refused: %s" % ev["error"])
        check(refused(a, c), "the node kept its settings: c is still refused")
        with open(ini, "w") as f:
            f.write(BASE % 100 + 'max-half-open=x\n')
        since = a.mark()
        a.signal(signal.SIGHUP)
        ev = a.wait_for("reload", timeout=10, since=since)
        check(not ev["ok"] and "max-half-open" in ev["error"], "refused: %s" % ev["error"])
        check(a.alive() and a.peers() and a.peers()[0]["peer"] == b.peer,
              "a is still running with its link to b")


def beacon_case(lab, workdir):
    lab.segment("lan", "10.91.0.0/24")
    h1, h2 = lab.host("h1", "lan"), lab.host("h2", "lan")
    ini = os.path.join(workdir, "a.ini")
    with open(ini, "w") as f:
        f.write('[global]\nbeacon="off"\nbeacon-interval=1s\nno-nat=true\n')
    with Swarm(NODE, workdir) as swarm:
        b = swarm.add("b", args=["--listen-address=%s" % h2.ip, "--no-nat", "--beacon=ipv4",
                                 "--beacon-interval=1s"], prefix=h2.prefix())
        a = swarm.add("a", args=["--config-file=" + ini, "--listen-address=%s" % h1.ip],
                      prefix=h1.prefix())
        time.sleep(3)
        heard = [e for e in a.events if e.get("event") == "peer_discovered"
                 and e.get("source") == "beacon"]
        check(not heard, "beacon off: a hears no beacon in 3 s (b beacons every second)")
        with open(ini, "w") as f:
            f.write('[global]\nbeacon="ipv4"\nbeacon-interval=1s\nno-nat=true\n')
        since = a.mark()
        a.signal(signal.SIGHUP)
        ev = a.wait_for("reload", timeout=10, since=since)
        check(ev["ok"] and ev["applied"] == ["beacon"], "SIGHUP: applied %s" % ev["applied"])
        e = a.wait_for("peer_discovered", peer=b.peer, source="beacon", timeout=10, since=since)
        check(e is not None, "the restarted beacon hears b")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "--node":
        sys.exit(__doc__.split("\n\n")[-1])
    NODE = os.path.abspath(sys.argv[2])
    if len(sys.argv) == 4 and sys.argv[3] == "beacon":
        sys.exit(run_case("crust-reload-beacon-", beacon_case, lab=True, binary=NODE))
    sys.exit(run_case("crust-reload-", body))
