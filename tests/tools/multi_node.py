#!/usr/bin/env python3
"""Multi-node tests with real crust-node processes on loopback.

Usage: multi_node.py --node PATH CASE      (CASE: see CASES below)
Each case prints its steps and exits non-zero on the first failed check.
Every process is stopped when the case ends, pass or fail.
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab import NodeError, Swarm  # noqa: E402

# Loopback only; timeouts short enough that a vanished peer shows quickly.
COMMON = ["--listen-address=127.0.0.1", "--peer-timeout=2s", "--keepalive-interval=500ms",
          "--redial-min=200ms", "--redial-max=1s"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("  ok:", what)


def step(text):
    print("-", text)


def connected_pair(a, b):
    a.connect(b)
    up_a = a.wait_for("connection_up", peer=b.peer)
    up_b = b.wait_for("connection_up", peer=a.peer)
    return up_a, up_b


def case_three_nodes(binary, workdir):
    with Swarm(binary, workdir, COMMON) as swarm:
        a, b, c = swarm.add("a"), swarm.add("b"), swarm.add("c")
        step("a dials b and c, b dials c")
        connected_pair(a, b)
        connected_pair(a, c)
        connected_pair(b, c)
        for n in (a, b, c):
            check(len(n.peers()) == 2, "%s has two peers" % n.name)
        seen = [p["observed"] for p in a.peers()]
        check(all(s.startswith("tcp://127.0.0.1:") for s in seen),
              "peers tell a where they see it: %s" % seen)
        step("every node greets every other")
        for src in (a, b, c):
            for dst in (a, b, c):
                if src is not dst:
                    src.send(dst, "hi %s from %s" % (dst.name, src.name))
        for dst in (a, b, c):
            for src in (a, b, c):
                if src is not dst:
                    dst.wait_for("message", peer=src.peer, data="hi %s from %s" % (dst.name, src.name))
        check(True, "six greetings delivered")
        step("SIGKILL c: a and b report it down")
        t0 = time.monotonic()
        c.kill()
        down_a = a.wait_for("connection_down", peer=c.peer, timeout=10)
        down_b = b.wait_for("connection_down", peer=c.peer, timeout=10)
        elapsed = time.monotonic() - t0
        check(elapsed < 10, "both reported c down within %.2fs (reasons: %s, %s)"
              % (elapsed, down_a["reason"], down_b["reason"]))
        step("a peer that goes silent (SIGSTOP, sockets stay open) times out")
        d = swarm.add("d")
        connected_pair(a, d)
        t0 = time.monotonic()
        d.signal(signal.SIGSTOP)
        down = a.wait_for("connection_down", peer=d.peer, timeout=10)
        elapsed = time.monotonic() - t0
        check(down["reason"] == "peer_timeout", "reason is peer_timeout")
        check(1.5 <= elapsed < 4.0, "reported after %.2fs (peer-timeout 2s)" % elapsed)
        d.signal(signal.SIGCONT)
        step("a and b still talk")
        a.send(b, "still here")
        b.wait_for("message", peer=a.peer, data="still here")
        check(a.quit() == 0 and b.quit() == 0, "a and b exit cleanly")


def case_simultaneous_dial(binary, workdir):
    rounds = 5
    for r in range(rounds):
        with Swarm(binary, workdir, COMMON) as swarm:
            a, b = swarm.add("a%d" % r), swarm.add("b%d" % r)
            step("round %d: a and b dial each other at once" % r)
            a.connect(b)
            b.connect(a)
            a.wait_for("connection_up", peer=b.peer)
            b.wait_for("connection_up", peer=a.peer)
            a.send(b, "ping %d" % r)
            b.send(a, "pong %d" % r)
            b.wait_for("message", data="ping %d" % r)
            a.wait_for("message", data="pong %d" % r)
            time.sleep(1.0)  # let the losing connection go
            check(a.count("connection_up") == 1 and b.count("connection_up") == 1,
                  "exactly one connection_up on each side")
            check(a.count("connection_down") == 0 and b.count("connection_down") == 0,
                  "no connection_down")
            pa, pb = a.peers(), b.peers()
            check(len(pa) == 1 and len(pb) == 1, "one connection in each peer table")
            check({pa[0]["direction"], pb[0]["direction"]} == {"inbound", "outbound"},
                  "both sides kept the same socket (%s / %s)"
                  % (pa[0]["direction"], pb[0]["direction"]))


def case_maintain_redial(binary, workdir):
    with Swarm(binary, workdir, COMMON) as swarm:
        a, b = swarm.add("a"), swarm.add("b")
        port = b.endpoint.rsplit(":", 1)[1]
        connected_pair(a, b)
        step("a maintains b; b is killed and comes back on the same port")
        a.command({"cmd": "maintain", "peer": b.peer})
        check(a.peers()[0]["maintained"], "peers shows b as maintained")
        b.kill()
        a.wait_for("connection_down", peer=b.peer)
        mark = a.mark()
        b.args += ["--port=" + port, "--no-port-fallback"]
        b.start()
        t0 = time.monotonic()
        a.wait_for("connection_up", peer=b.peer, since=mark, timeout=10)
        check(True, "a re-dialled b %.2fs after it came back" % (time.monotonic() - t0))
        step("a drops b: no more re-dials")
        a.command({"cmd": "drop", "peer": b.peer})
        down = a.wait_for("connection_down", peer=b.peer, since=mark)
        check(down["reason"] == "dropped", "reason is dropped")
        b.wait_for("connection_down", peer=a.peer, reason="dropped")
        time.sleep(1.5)
        check(a.count("connection_up", peer=b.peer) == 2, "no re-dial after drop")


def case_client_role(binary, workdir):
    with Swarm(binary, workdir, COMMON) as swarm:
        server = swarm.add("server")
        client = swarm.add("client", ["--role=client"], listen=False)
        info = client.request({"cmd": "info"}, "info")
        check(info["listening"] == [] and info["role"] == "client", "a client does not listen")
        client.connect(server)
        up = server.wait_for("connection_up", peer=client.peer)
        check(up["role"] == "client", "the server sees a client")
        client.wait_for("connection_up", peer=server.peer, role="node")
        server.send(client, "welcome")
        client.wait_for("message", data="welcome")


def case_bad_input(binary, workdir):
    with Swarm(binary, workdir, COMMON) as swarm:
        a = swarm.add("a")
        step("bad control lines get error events; the node keeps running")
        for line in ["garbage", "[]", '{"cmd":"fly"}', '{"cmd":"send","peer":"00"}',
                     '{"cmd":"connect","endpoint":"example.com:80"}']:
            mark = a.mark()
            a.raw(line)
            err = a.wait_for("error", since=mark)
            check(err["message"], "%r -> %s" % (line, err["message"]))
        check(a.request({"cmd": "info"}, "info")["peer"] == a.peer, "still answering")
        step("sending to a peer that is not connected fails with the reason")
        a.send("ab" * 32, "nobody")
        check(a.wait_for("send_failed")["reason"] == "not_connected", "send_failed not_connected")
        step("a dial to a closed port is reported")
        a.connect("tcp://127.0.0.1:1")
        check(a.wait_for("connect_failed")["reason"] == "connect_failed", "connect_failed")
    step("configuration errors stop crust-node with a clear message")
    ini = os.path.join(workdir, "bad.ini")
    with open(ini, "w") as f:
        f.write('[global]\nnetwrok="typo"\n')
    import subprocess
    key = "--identity-file=" + os.path.join(workdir, "cfg.key")
    r = subprocess.run([binary, key, "--config-file=" + ini], capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    check(r.returncode == 2 and b"unknown configuration key 'netwrok'" in r.stderr,
          "unknown ini key: %s" % r.stderr.decode().strip())
    r = subprocess.run([binary, key, "--port=99999"], capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    check(r.returncode == 2 and b"port" in r.stderr, "bad value: %s" % r.stderr.decode().strip())
    bad_key = os.path.join(workdir, "corrupt.key")
    with open(bad_key, "w") as f:
        f.write("garbage\n")
    r = subprocess.run([binary, "--identity-file=" + bad_key], capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    check(r.returncode == 2 and b"not a crust identity file" in r.stderr,
          "corrupt identity: %s" % r.stderr.decode().strip())
    with open(bad_key) as f:
        check(f.read() == "garbage\n", "the corrupt identity file was left alone")
    r = subprocess.run([binary, "--version"], capture_output=True, timeout=20)
    check(r.returncode == 0 and b"protocol version 1" in r.stdout, r.stdout.decode().strip())


def case_observability(binary, workdir):
    with Swarm(binary, workdir, COMMON) as swarm:
        a = swarm.add("a", args=["--log-level=info"])
        b = swarm.add("b")
        connected_pair(a, b)
        step("a sends b 20 messages of 1000 bytes; stats count them each way")
        a.send(b, "x" * 1000, count=20)
        b.wait_count("message", 20, peer=a.peer)
        sa = sb = None
        for _ in range(50):  # write completions reach the counters asynchronously
            sa = a.request({"cmd": "stats"}, "stats")
            if sa["peers"] and sa["peers"][0]["bytes_sent"] > 20000:
                break
            time.sleep(0.02)
        sb = b.request({"cmd": "stats"}, "stats")
        check(sa["connections"] == 1 and sa["outbound"] == 1 and sb["inbound"] == 1,
              "connection counts: a %d out, b %d in" % (sa["outbound"], sb["inbound"]))
        check(sa["handshakes"] == 1 and sb["handshakes"] == 1 and sa["dials"] == 1,
              "handshakes and dials counted")
        pa, pb = sa["peers"][0], sb["peers"][0]
        check(pa["transport"] == "tcp" and pa["path"] == "direct", "transport tcp, path direct")
        check(pa["messages_sent"] >= 20 and pb["messages_received"] >= 20,
              "messages: a sent %d, b received %d" % (pa["messages_sent"], pb["messages_received"]))
        check(pa["bytes_sent"] > 20000 and pb["bytes_received"] > 20000,
              "bytes on the wire: a sent %d, b received %d" % (pa["bytes_sent"], pb["bytes_received"]))
        step("after a drop the node keeps the totals")
        a.command({"cmd": "drop", "peer": b.peer})
        a.wait_for("connection_down", peer=b.peer)
        for _ in range(50):
            after = a.request({"cmd": "stats"}, "stats")
            if after["connections_closed"] == 1:
                break
            time.sleep(0.02)
        check(after["connections"] == 0 and after["connections_closed"] == 1
              and after["bytes_sent"] >= pa["bytes_sent"], "totals kept: %d bytes sent"
              % after["bytes_sent"])
        a.quit()
        with open(a.err_path) as f:
            log = f.read()
        tag = "node=%s peer=%s" % (a.peer[:8], b.peer[:8])
        check(any(tag in line and "connection up" in line for line in log.splitlines()),
              "a's log names both ends: %s" % tag)
        check(any(tag in line and "connection down: dropped" in line for line in log.splitlines()),
              "a's log reports the drop")
        with open(b.err_path) as f:
            check("INFO" not in f.read(), "b logs nothing at the default level (warning)")
    r = __import__("subprocess").run([binary, "--log-level=loud"], capture_output=True,
                                     timeout=20, stdin=__import__("subprocess").DEVNULL)
    check(r.returncode == 2 and b"log-level" in r.stderr, "bad log level: %s"
          % r.stderr.decode().strip())


CASES = {
    "observability": case_observability,
    "three_nodes": case_three_nodes,
    "simultaneous_dial": case_simultaneous_dial,
    "maintain_redial": case_maintain_redial,
    "client_role": case_client_role,
    "bad_input": case_bad_input,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", required=True, help="path to crust-node")
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="crust-%s-" % args.case)
    ok = False
    try:
        CASES[args.case](os.path.abspath(args.node), workdir)
        ok = True
    except (AssertionError, NodeError) as e:
        print("FAILED:", e)
        print("node logs kept in", workdir)
    finally:
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
