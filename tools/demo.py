#!/usr/bin/env python3
"""A local crust swarm on loopback: five crust-node processes connect, greet
each other, move a burst of messages, lose a member, and shut down cleanly.
Everything stays on 127.0.0.1; nothing is broadcast."""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crustlab import NodeError, Swarm  # noqa: E402

NAMES = ["alpha", "bravo", "charlie", "delta", "echo"]


def say(text=""):
    print(text, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--node", required=True, help="path to crust-node")
    parser.add_argument("--burst", type=int, default=10000, help="messages in the burst")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="crust-demo-")
    common = ["--listen-address=127.0.0.1", "--network=crust-demo", "--peer-timeout=3s",
              "--keepalive-interval=1s"]
    try:
        with Swarm(os.path.abspath(args.node), workdir, common) as swarm:
            say("== starting %d nodes on loopback" % len(NAMES))
            nodes = [swarm.add(name) for name in NAMES]
            by_peer = {n.peer: n.name for n in nodes}
            for n in nodes:
                say("  %-8s %s  listening on %s" % (n.name, n.peer[:16], n.endpoint))

            say("\n== connecting: a ring, plus alpha and charlie dialling each other at once")
            links = [(nodes[i], nodes[(i + 1) % len(nodes)]) for i in range(len(nodes))]
            for a, b in links:
                a.connect(b)
            nodes[0].connect(nodes[2])
            nodes[2].connect(nodes[0])
            pairs = links + [(nodes[0], nodes[2])]
            for a, b in pairs:
                up = a.wait_for("connection_up", peer=b.peer)
                b.wait_for("connection_up", peer=a.peer)
                say("  %-8s <-> %-8s up (%s, %s)" % (a.name, b.name, up["transport"], up["direction"]))
            time.sleep(0.5)
            dup = nodes[0].count("connection_up", peer=nodes[2].peer)
            say("  alpha saw charlie come up %d time(s): the simultaneous dial left one connection" % dup)

            say("\n== every node greets its peers")
            for n in nodes:
                for p in n.peers():
                    n.send(p["peer"], "hello from %s" % n.name)
            for n in nodes:
                for p in n.peers():
                    msg = n.wait_for("message", peer=p["peer"], data="hello from %s" % by_peer[p["peer"]])
                    say("  %-8s got %r" % (n.name, msg["data"]))

            say("\n== alpha sends a burst of %d messages to bravo" % args.burst)
            alpha, bravo = nodes[0], nodes[1]
            mark = bravo.mark()
            t0 = time.monotonic()
            alpha.send(bravo, "burst", count=args.burst)
            last = bravo.wait_for("message", since=mark, timeout=60,
                                  data="burst %d" % (args.burst - 1))
            elapsed = last["_t"] - t0
            got = [e for e in bravo.events[mark:] if e.get("event") == "message"]
            in_order = [e["data"] for e in got] == ["burst %d" % i for i in range(args.burst)]
            say("  bravo got %d messages %s in %.3fs (%.0f msg/s through the JSON control channel)"
                % (len(got), "in order" if in_order else "OUT OF ORDER", elapsed, len(got) / elapsed))
            if not in_order:
                raise NodeError("burst arrived out of order")

            say("\n== echo is killed (SIGKILL)")
            echo = nodes[4]
            echo.kill()
            for n in (nodes[0], nodes[3]):
                down = n.wait_for("connection_down", peer=echo.peer, timeout=10)
                say("  %-8s reports echo down: %s" % (n.name, down["reason"]))

            say("\n== alpha's peer table")
            for p in alpha.peers():
                say("  %-8s %-24s %-8s sent %-6d received %-6d rtt %s us"
                    % (by_peer[p["peer"]], p["endpoint"], p["direction"], p["messages_sent"],
                       p["messages_received"], p["rtt_us"] or "-"))

            say("\n== shutting down")
            for n in nodes[:4]:
                rc = n.quit()
                say("  %-8s exited with %d" % (n.name, rc))
                if rc != 0:
                    raise NodeError("%s exited with %d" % (n.name, rc))
        say("\ndemo finished: every step succeeded")
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    except NodeError as e:
        say("\ndemo FAILED: %s\nnode logs are in %s" % (e, workdir))
        return 1


if __name__ == "__main__":
    sys.exit(main())
