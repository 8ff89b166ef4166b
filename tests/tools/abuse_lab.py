#!/usr/bin/env python3
"""Abuse scenarios against a real crust-node in network namespaces.

Usage: abuse_lab.py --node PATH CASE
  half_open    2,000 TCP connections that never speak, from 40 addresses
  slowloris    connections that dribble a handshake frame one byte a second
  garbage      random bytes on TCP (reconnecting) and at the UDP port
  churn        one address connects and closes as fast as it can
  replay       a recorded real handshake (and data) replayed on new connections
  never_reads  an authenticated peer that stops reading (SIGSTOP) while the
               victim sends to it
  flood        an authenticated peer sending as fast as it can to a victim
               with a receive-rate limit
  whitelist    whitelist mode: a listed address connects, others are refused
               before any cryptography

Throughout each case a legitimate peer (l) sends the victim (v) a message
every 100 ms; every one must arrive, the link must stay up, v must stay
alive, its memory bounded, and the abuse must surface as counters and
rate-limited alerts. Namespaces (10.7.0.0/24 on one bridge) are created and
removed by the test; nothing leaves them.
"""
import argparse
import os
import json
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab import Swarm, TimeoutWaiting  # noqa: E402
from crustlab.casetest import check, run_case, step  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "abuse_client.py")
PORT = 42000
# The victim's limits: small enough that the attacks below reach them.
VICTIM = ["--port=%d" % PORT, "--no-port-fallback", "--handshake-timeout=2s",
          "--max-half-open=64", "--max-half-open-per-address=4", "--connection-rate=5",
          "--connection-burst=10", "--peer-timeout=6s", "--keepalive-interval=1s",
          "--log-level=error", "--no-gossip"]
# No reachability checks: their dial-backs are real inbound connections, and
# these cases count the victim's admissions exactly.
COMMON = ["--peer-timeout=6s", "--keepalive-interval=1s", "--no-gossip", "--no-reachability"]
SANITIZED = bool(os.environ.get("CRUST_SANITIZED"))


def rss_kib(node):
    with open("/proc/%d/status" % node.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class World:
    def __init__(self, lab, swarm, victim_args=(), attackers=1):
        lab.segment("lan", "10.7.0.0/24")
        self.lab = lab
        self.hv = lab.host("v", "lan", ip="10.7.0.2")
        self.hl = lab.host("l", "lan", ip="10.7.0.3")
        extra = ["10.7.0.%d" % (100 + i) for i in range(attackers - 1)]
        self.ha = lab.host("x", "lan", ip="10.7.0.4", extra_ips=extra)
        self.v = swarm.add("v", args=["--listen-address=10.7.0.2"] + VICTIM + list(victim_args),
                           prefix=self.hv.prefix())
        self.l = swarm.add("l", args=["--listen-address=10.7.0.3"] + COMMON,
                           prefix=self.hl.prefix())
        self.l.connect(self.v)
        self.l.wait_for("connection_up", peer=self.v.peer, timeout=10)
        self.v.wait_for("connection_up", peer=self.l.peer, timeout=10)
        self.rss0 = rss_kib(self.v)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = None

    # -- the legitimate peer's steady traffic ------------------------------------

    def start_traffic(self):
        def run():
            while not self._stop.is_set() and self.sent < 3000:
                try:
                    self.l.send(self.v, "legit-%d" % self.sent)
                except Exception:  # the case failed and its nodes are gone
                    return
                self.sent += 1
                self._stop.wait(0.1)
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def delivered(self):
        return self.v.count("message", peer=self.l.peer)

    def stop_traffic_and_check(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.v.wait_count("message", self.sent, peer=self.l.peer, timeout=15)
        got = [e["data"] for e in self.v.events
               if e.get("event") == "message" and e.get("peer") == self.l.peer]
        check(got == ["legit-%d" % i for i in range(self.sent)],
              "all %d of the legitimate peer's messages arrived, in order" % self.sent)
        check(self.v.count("connection_down", peer=self.l.peer) == 0
              and self.l.count("connection_down", peer=self.v.peer) == 0,
              "the legitimate link never went down")

    def attack(self, *args, timeout=150):
        r = self.ha.run(sys.executable, CLIENT, *[str(a) for a in args], timeout=timeout)
        line = r.stdout.strip().splitlines()[-1]
        print("  attacker:", line)
        return json.loads(line)

    def stats(self):
        return self.v.request({"cmd": "stats"}, "stats")

    def check_memory(self, budget_kib):
        rss = rss_kib(self.v)
        if SANITIZED:
            print("  (sanitizer build: resident memory %d KiB -> %d KiB, not judged)"
                  % (self.rss0, rss))
            return
        check(rss - self.rss0 < budget_kib,
              "victim's resident memory %d KiB -> %d KiB (bound +%d KiB)"
              % (self.rss0, rss, budget_kib))

    def alerts(self, kind):
        return [e for e in self.v.events if e.get("event") == "alert" and e.get("kind") == kind]

    def check_alive(self):
        check(self.v.alive(), "the victim is alive")
        self.l.send(self.v, "after")
        self.v.wait_for("message", peer=self.l.peer, data="after", timeout=10)


def case_half_open(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm, attackers=40)
        w.start_traffic()
        step("2,000 silent TCP connections from 40 addresses, held 8 s")
        sources = [w.ha.ips[i] for i in range(len(w.ha.ips))]
        r = w.attack("hold", "10.7.0.2", PORT, 2000, 8, *sources)
        s = w.stats()
        check(s["half_open_peak"] <= 64,
              "half-open handshakes never exceeded the limit: peak %d of 64"
              % s["half_open_peak"])
        check(s["refused"] >= 1000,
              "%d connections refused before any cryptography, %d taken on"
              % (s["refused"], s["accepted"]))
        check(r["closed_by_server"] >= 1900,
              "the server closed %d of %d (refused at once, or handshake timeout)"
              % (r["closed_by_server"], r["opened"]))
        floods = w.alerts("handshake_flood") + w.alerts("rate_exceeded")
        counted = sum(a["count"] for a in floods)
        check(floods and len(floods) <= 120,
              "%d alerts (handshake_flood, rate_exceeded) stand for %d refusals: rate-limited"
              % (len(floods), counted))
        time.sleep(2.5)
        s = w.stats()
        check(s["half_open"] == 0 and s["links"] == 1,
              "after the flood: %d half-open, %d link (the legitimate one)"
              % (s["half_open"], s["links"]))
        w.stop_traffic_and_check()
        w.check_memory(8192)
        w.check_alive()


def case_slowloris(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm, attackers=8)
        w.start_traffic()
        step("200 connections from 8 addresses, each sending a frame header and then a byte a second, for 10 s")
        r = w.attack("slowloris", "10.7.0.2", PORT, 200, 10, *w.ha.ips)
        s = w.stats()
        check(r["still_open"] == 0,
              "none of %d survived: the handshake timeout (2 s) ends them" % r["opened"])
        check(s["half_open_peak"] <= 64, "half-open peak %d of 64" % s["half_open_peak"])
        timeouts = [a for a in w.alerts("handshake_failure") if a["reason"] == "handshake_timeout"]
        check(timeouts, "handshake_timeout alerts: %d, standing for %d"
              % (len(timeouts), sum(a["count"] for a in timeouts)))
        w.stop_traffic_and_check()
        w.check_memory(8192)
        w.check_alive()


def case_garbage(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm, victim_args=["--connection-rate=0"])
        w.start_traffic()
        step("random bytes on TCP connections for 6 s (no rate limit, so every one is parsed)")
        r = w.attack("garbage", "10.7.0.2", PORT, 6)
        rss1 = rss_kib(w.v)
        step("and 6 s more: memory must not keep growing (a high-water mark, not a leak)")
        r2 = w.attack("garbage", "10.7.0.2", PORT, 6)
        rss2 = rss_kib(w.v)
        print("  resident memory: %d KiB at start, %d after round 1, %d after round 2"
              % (w.rss0, rss1, rss2))
        check(r["connections"] >= 20 and r["closed_by_server"] == r["connections"],
              "the victim closed all %d garbage streams" % r["connections"])
        s = w.stats()
        check(s["handshakes_failed"] >= r["connections"] - 2 and s["handshakes"] == 1,
              "%d handshakes failed, none completed but the legitimate one"
              % s["handshakes_failed"])
        fails = w.alerts("handshake_failure")
        check(fails and len(fails) <= 20,
              "%d handshake_failure alerts stand for %d failures (one per second at most)"
              % (len(fails), sum(a["count"] for a in fails)))
        step("random datagrams at the UDP port for 4 s")
        r = w.attack("udp_garbage", "10.7.0.2", PORT, 4)
        s = w.stats()
        check(s["udp_half_open"] == 0 and s["links"] == 1,
              "no UDP state for them (%d refused, %d stateless retries)"
              % (s["udp_refused"], s["udp_retries"]))
        w.stop_traffic_and_check()
        # 10,000 connection actors came and went: the allocator keeps a
        # high-water mark; a second round must not add much to it.
        if not SANITIZED:
            check(rss2 - rss1 < 4096,
                  "the second round grew memory by %d KiB only (a plateau, not a leak)"
                  % (rss2 - rss1))
        w.check_memory(24 * 1024)
        w.check_alive()


def case_churn(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm)
        w.start_traffic()
        step("one address connects and closes as fast as it can for 5 s (limit 5/s, burst 10)")
        r = w.attack("churn", "10.7.0.2", PORT, 5)
        s = w.stats()
        # Burst 10, then 5 per second: at most about 10 + 5 * 5 admitted.
        check(s["accepted"] <= 1 + 10 + 5 * 6,
              "%d accepted of %d connects: the rest refused before any cryptography"
              % (s["accepted"] - 1, r["connects"]))
        rate = w.alerts("rate_exceeded")
        check(rate and all(a["address"] == "10.7.0.4" for a in rate) and len(rate) <= 8,
              "%d rate_exceeded alerts about 10.7.0.4, standing for %d refusals"
              % (len(rate), sum(a["count"] for a in rate)))
        w.stop_traffic_and_check()
        w.check_alive()


def case_replay(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm, victim_args=["--connection-rate=0"])
        step("a node c connects to v through the attacker's recording proxy and sends a message")
        rec = os.path.join(workdir, "recorded.bin")
        proxy = w.lab.spawn(w.ha, [sys.executable, CLIENT, "record", "43000", "10.7.0.2",
                                   str(PORT), rec, "20"], "proxy")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "listening" not in open(
                os.path.join(workdir, "proxy.log")).read():
            time.sleep(0.05)
        c = swarm.add("c", args=["--no-listen", "--no-udp"] + COMMON, prefix=w.hl.prefix(),
                      listen=False)
        c.connect("tcp://10.7.0.4:43000")
        c.wait_for("connection_up", timeout=10)
        c.send(w.v, "original")
        w.v.wait_for("message", peer=c.peer, data="original", timeout=10)
        time.sleep(0.5)
        c.quit()
        proxy.wait(timeout=25)
        check(os.path.getsize(rec) > 200, "recorded %d bytes of c's side" % os.path.getsize(rec))
        w.start_traffic()
        step("the recording replayed on 20 new connections")
        before = w.v.count("message", peer=c.peer)
        r = w.attack("replay", "10.7.0.2", PORT, rec, 20)
        check(r["closed_by_server"] == 20, "the victim closed all 20 replays")
        time.sleep(0.5)
        ups = [e for e in w.v.events if e.get("event") == "connection_up" and e["peer"] == c.peer]
        check(len(ups) == 1, "c's identity came up once (the real connection), never by replay")
        check(w.v.count("message", peer=c.peer) == before, "no replayed message was delivered")
        fails = [a for a in w.alerts("handshake_failure")]
        check(fails and fails[-1]["reason"] in ("decrypt_failed", "handshake_failed"),
              "replays fail the handshake (%s), alerted %d times for %d"
              % (fails[-1]["reason"], len(fails), sum(a["count"] for a in fails)))
        w.stop_traffic_and_check()
        w.check_alive()


def case_never_reads(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm)
        z = swarm.add("z", args=["--listen-address=10.7.0.4"] + COMMON, prefix=w.ha.prefix())
        z.connect(w.v)
        z.wait_for("connection_up", peer=w.v.peer, timeout=10)
        w.v.wait_for("connection_up", peer=z.peer, timeout=10)
        w.start_traffic()
        step("z stops (SIGSTOP): it never reads again; v sends it 48 MiB at 20 MiB/s")
        z.signal(signal.SIGSTOP)
        try:
            block = "ab" * 65536  # 64 KiB, as hex
            for i in range(768):
                w.v.command({"cmd": "send", "peer": z.peer, "hex": block})
                if i % 16 == 15:
                    time.sleep(0.05)
            fails = w.v.wait_for("send_failed", peer=z.peer, timeout=10)
            check(fails["reason"] == "send_queue_full",
                  "v's sends to z fail with send_queue_full once its queue is full")
            print("  v: %d send_failed of 768" % w.v.count("send_failed", peer=z.peer))
            # The 16 MiB send queue (send-queue-limit), and what is in flight.
            w.check_memory(32 * 1024)
            down = w.v.wait_for("connection_down", peer=z.peer, timeout=15)
            check(down["reason"] == "peer_timeout", "v drops z: %s" % down["reason"])
        finally:
            z.signal(signal.SIGCONT)
        w.stop_traffic_and_check()
        w.check_alive()


def case_flood(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm, victim_args=["--receive-rate=2000000"])
        f = swarm.add("f", args=["--listen-address=10.7.0.4"] + COMMON, prefix=w.ha.prefix())
        f.connect(w.v)
        f.wait_for("connection_up", peer=w.v.peer, timeout=10)
        w.v.wait_for("connection_up", peer=f.peer, timeout=10)
        w.start_traffic()
        step("f sends 64 KiB messages as fast as v takes them (6 s or more); v takes 2 MB/s from a peer")
        block = "cd" * 65536  # 64 KiB, as hex
        t0 = time.monotonic()
        sent = 0
        # At least 6 s, and on until f's queue is full: crust-node reads its
        # control lines only as fast as it handles them, so a slow (sanitizer)
        # build takes longer to fill the queue (bounded: 40 s).
        while True:
            spent = time.monotonic() - t0
            if spent >= 40 or (spent >= 6 and f.count("send_failed", peer=w.v.peer) > 0):
                break
            for _ in range(32):
                f.command({"cmd": "send", "peer": w.v.peer, "hex": block})
                sent += 1
            time.sleep(0.02)
        took = time.monotonic() - t0
        got = w.v.count("message", peer=f.peer)
        rate = got * 65536 / took
        try:
            failed = f.wait_for("send_failed", peer=w.v.peer, timeout=30)
        except TimeoutWaiting:
            failed = None
        check(failed is not None and failed.get("reason") == "send_queue_full",
              "f's queue filled (send_queue_full): v stopped reading it")
        bound = 2000000 * (took + 1) / took  # the rate, and the one-second burst
        check(rate < bound * 1.1,
              "v took %.2f MB/s from f (limit 2 MB/s, %.2f MB/s with the one-second burst)"
              % (rate / 1e6, bound / 1e6))
        check(rate > 2000000 * 0.7, "and it did take them at about that rate")
        w.check_memory(48 * 1024)
        w.stop_traffic_and_check()
        w.check_alive()


def case_whitelist(binary, lab, workdir):
    with Swarm(binary, workdir) as swarm:
        w = World(lab, swarm, victim_args=['--allow-only=["10.7.0.3", "10.7.0.128/25"]'],
                  attackers=2)
        step("the listed address (l, 10.7.0.3) is connected; an unlisted one tries")
        o = swarm.add("o", args=["--listen-address=10.7.0.4"] + COMMON, prefix=w.ha.prefix())
        o.connect(w.v)
        failed = o.wait_for("connect_failed", timeout=10)
        s = w.stats()
        check(s["refused"] >= 1 and s["handshakes_failed"] == 0 and w.v.count("connection_up") == 1,
              "o (10.7.0.4) was refused before any cryptography (%s)" % failed["reason"])
        step("10.7.0.4 (not in the listed subnet 10.7.0.128/25) opens connections for 1 s")
        r = w.attack("churn", "10.7.0.2", PORT, 1)
        check(w.stats()["handshakes"] == 1, "no handshake was started for %d connects"
              % r["connects"])
        w.check_alive()


CASES = {"half_open": case_half_open, "slowloris": case_slowloris, "garbage": case_garbage,
         "churn": case_churn, "replay": case_replay, "never_reads": case_never_reads,
         "flood": case_flood, "whitelist": case_whitelist}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", required=True)
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    binary = os.path.abspath(args.node)
    return run_case("crust-abuse-%s-" % args.case,
                    lambda lab, workdir: CASES[args.case](binary, lab, workdir),
                    lab=True, binary=binary)


if __name__ == "__main__":
    sys.exit(main())
