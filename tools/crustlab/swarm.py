"""A swarm of crust-node processes that must stay joined.

Hundreds of `crust-node --routing=xor` processes on a few lab hosts (network
namespaces on one segment, so every node of a host shares that host's one
address, as peers behind a carrier-grade NAT do), bootstrapping from one to
three seeds with crust's default limits; then churn (SIGKILL and restart from
the bootstrap cache), a partition into halves and its heal. Throughout, every
node sends a numbered message to each of its peers every few seconds.

Measured and checked:
  - formation: time until every node has at least `target` connections;
  - isolation: no node without a connection 30 s after any event;
  - messages: none lost and none duplicated among those sent on links that
    stayed up (no connection_down at either end, no send_failed, no restart)
    from the send to the end;
  - partition: every link across it reported down within peer-timeout;
  - idle cost: RSS and CPU per node.

Results go to a JSON file and connections over time to an SVG plot.
"""
import json
import math
import os
import random
import resource
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .netlab import Lab
from .node import Node

SEED_PORT = 7400


class Member:
    def __init__(self, index, node, host, seed):
        self.index = index
        self.node = node
        self.host = host
        self.seed = seed
        self.connected = set()
        self.events = None  # the event list being read (a restart makes a new one)
        self.pos = 0
        self.alive = False
        self.started_at = None
        self.joined_at = None
        self.discoveries = 0
        self.seq = 0
        self.restarts = 0


class SwarmRun:
    def __init__(self, args, workdir, log=print):
        self.args = args
        self.workdir = workdir
        self.say = log
        self.members = []
        self.by_peer = {}
        self.t0 = time.monotonic()
        self.samples = []      # (t, min, median, max, isolated, discoveries, alive)
        self.marks = []        # (t, label)
        self.results = []      # (name, ok, detail)
        self.figures = {}
        # Message accounting: (src peer, dst peer) -> [(seq, t_sent)];
        # received (src, dst) -> {seq: count}; a pair's last disruption time.
        self.sent = {}
        self.received = {}
        self.disrupted = {}
        self.restarted = {}
        self.lock = threading.Lock()

    # -- bookkeeping -------------------------------------------------------------

    def now(self):
        return time.monotonic() - self.t0

    def check(self, name, ok, detail):
        self.results.append((name, bool(ok), detail))
        self.say("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail))

    def mark(self, label):
        self.marks.append((self.now(), label))
        self.say("[%6.1f s] %s" % (self.now(), label))

    def disrupt(self, a, b, t):
        key = (min(a, b), max(a, b))
        self.disrupted[key] = max(self.disrupted.get(key, 0), t)

    def drain(self, m):
        """Takes the member's new events into the tallies."""
        node = m.node
        if node.peer is None:
            return  # still starting
        with node.cond:
            if m.events is not node.events:
                m.events, m.pos = node.events, 0
            new = m.events[m.pos:]
            m.pos = len(m.events)
        me = node.peer
        for ev in new:
            kind = ev.get("event")
            t = ev.get("_t", time.monotonic()) - self.t0
            if kind == "connection_up":
                m.connected.add(ev["peer"])
                if m.joined_at is None and len(m.connected) >= self.args.target:
                    m.joined_at = t
            elif kind == "connection_down":
                m.connected.discard(ev["peer"])
                self.disrupt(me, ev["peer"], t)
            elif kind == "send_failed":
                self.disrupt(me, ev["peer"], t)
            elif kind == "peer_discovered":
                m.discoveries += 1
            elif kind == "message":
                data = ev.get("data", "")
                if data.startswith("sw:"):
                    seq = int(data.split(":")[2])
                    got = self.received.setdefault((ev["peer"], me), {})
                    got[seq] = got.get(seq, 0) + 1
            elif kind == "_exit":
                m.connected.clear()

    def drain_all(self):
        for m in self.members:
            if m.node.proc is not None:
                self.drain(m)

    def sample(self):
        self.drain_all()
        alive = [m for m in self.members if m.alive]
        counts = [len(m.connected) for m in alive] or [0]
        isolated = sum(1 for c in counts if c == 0)
        self.samples.append((self.now(), min(counts), statistics.median(counts), max(counts),
                             isolated, sum(m.discoveries for m in self.members), len(alive)))
        return alive, counts

    def wait(self, seconds, send_every=None):
        """Samples once a second (and sends messages) for `seconds`."""
        end = time.monotonic() + seconds
        next_send = time.monotonic()
        while time.monotonic() < end:
            self.sample()
            if send_every and time.monotonic() >= next_send:
                self.send_round()
                next_send = time.monotonic() + send_every
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))

    def send_round(self):
        t = self.now()
        for m in self.members:
            if not m.alive:
                continue
            for p in list(m.connected):
                m.seq += 1
                try:
                    m.node.command({"cmd": "send", "peer": p,
                                    "data": "sw:%d:%d" % (m.index, m.seq)})
                except Exception:
                    continue
                self.sent.setdefault((m.node.peer, p), []).append((m.seq, t))

    # -- the lab -------------------------------------------------------------------

    def node_args(self, seed_eps, with_contacts=True):
        a = self.args
        args = ["--routing=xor", "--keep=%d" % a.keep, "--random-peers=%d" % a.random_peers,
                "--bootstrap-target=%d" % a.target, "--peer-timeout=%ds" % a.peer_timeout,
                "--log-level=warning"]
        if with_contacts and seed_eps:
            args.append("--contacts=[%s]" % ",".join('"%s"' % e for e in seed_eps))
        return args + list(a.extra)

    def start_member(self, m):
        m.node.start(timeout=60)
        m.alive = True
        m.started_at = self.now()

    def start_many(self, members):
        """Starts members 16 at a time, sampling meanwhile."""
        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(self.start_member, m) for m in members]
            while not all(f.done() for f in futures):
                self.sample()
                time.sleep(0.5)
            for f in futures:
                f.result()  # a node that did not start fails the run here

    def build(self, lab):
        a = self.args
        seg = lab.segment("lan", "10.77.0.0/16")
        self.seed_hosts = [lab.host("s%d" % i, "lan") for i in range(a.seeds)]
        self.hosts = [lab.host("h%d" % i, "lan") for i in range(a.hosts)]
        del seg
        seed_eps = []
        for i, h in enumerate(self.seed_hosts):
            port = SEED_PORT + i
            n = Node(a.node, "seed%d" % i, self.workdir,
                     args=["--listen-address=%s" % h.ip, "--port=%d" % port,
                           "--no-port-fallback"],
                     prefix=h.prefix())
            m = Member(len(self.members), n, h, True)
            self.members.append(m)
            seed_eps.append("tcp://%s:%d" % (h.ip, port))
        self.seed_eps = seed_eps
        for m in self.members:
            m.node.args = m.node.args + self.node_args(
                [e for e in seed_eps if not e.startswith("tcp://%s:" % m.host.ip)])
        for i in range(a.nodes):
            h = self.hosts[i % len(self.hosts)]
            n = Node(a.node, "n%03d" % i, self.workdir,
                     args=["--listen-address=%s" % h.ip, "--port=0"] + self.node_args(seed_eps),
                     prefix=h.prefix())
            self.members.append(Member(len(self.members), n, h, False))

    # -- phases ----------------------------------------------------------------------

    def formation(self):
        a = self.args
        seeds = [m for m in self.members if m.seed]
        others = [m for m in self.members if not m.seed]
        for m in seeds:
            self.start_member(m)
        self.mark("%d seeds up" % len(seeds))
        start = self.now()
        self.start_many(others)
        for m in self.members:
            self.by_peer[m.node.peer] = m
        self.mark("%d nodes started (%.1f s)" % (len(others), self.now() - start))
        deadline = time.monotonic() + a.join_deadline
        while time.monotonic() < deadline:
            alive, counts = self.sample()
            if all(c >= a.target for c in counts):
                break
            time.sleep(0.5)
        joined = [m.joined_at - start for m in others if m.joined_at is not None]
        all_in = len(joined) == len(others)
        took = max(joined) if joined else float("nan")
        self.figures["formation_s"] = round(took, 2)
        self.figures["join_p50_s"] = round(statistics.median(joined), 2) if joined else None
        self.check("formation", all_in and took <= a.join_deadline,
                   "%d of %d nodes reached %d connections; the last %.1f s after the first "
                   "started (p50 %.1f s; limit %d s)"
                   % (len(joined), len(others), a.target, took,
                      self.figures["join_p50_s"] or float("nan"), a.join_deadline))
        self.mark("formed")

    def check_isolation(self, label, since):
        """No node without a connection 30 s after the event (sampled then)."""
        alive, counts = self.sample()
        isolated = [m.node.name for m in alive if not m.connected]
        below = sum(1 for c in counts if c < self.args.target)
        self.check("isolation after " + label, not isolated,
                   "%.0f s after: %d isolated %s; %d of %d below the target; connections min %d, "
                   "median %s" % (self.now() - since, len(isolated), isolated[:5], below,
                                  len(alive), min(counts), statistics.median(counts)))

    def churn(self):
        a = self.args
        for r in range(a.churn_rounds):
            victims = random.sample(self.members, max(1, math.ceil(a.churn_fraction
                                                                      * len(self.members))))
            t = self.now()
            self.mark("churn %d: SIGKILL %d nodes (%d seeds)"
                      % (r + 1, len(victims), sum(1 for v in victims if v.seed)))
            for v in victims:
                self.drain(v)
                v.node.kill()
                v.alive = False
                v.connected.clear()
                self.restarted[v.node.peer] = t
            time.sleep(2)
            for v in victims:
                # Back from its bootstrap cache alone (seeds keep their ports).
                if not v.seed:
                    v.node.args = [x for x in v.node.args if not x.startswith("--contacts=")]
                v.restarts += 1
            self.start_many(victims)
            for v in victims:
                self.restarted[v.node.peer] = self.now()
            self.wait(a.settle_seconds - (self.now() - t), send_every=a.message_interval)
            self.check_isolation("churn %d" % (r + 1), t)
            rest = a.churn_interval - (self.now() - t)
            if rest > 0:
                self.wait(rest, send_every=a.message_interval)

    def partition(self, lab):
        a = self.args
        side_a = self.seed_hosts[::2] + self.hosts[: len(self.hosts) // 2]
        side_b = self.seed_hosts[1::2] + self.hosts[len(self.hosts) // 2:]
        if not side_a or not side_b:
            self.say("partition skipped: needs at least two hosts")
            return
        names_a = {h.name for h in side_a}
        self.drain_all()
        across = set()
        for m in self.members:
            if m.alive and m.host.name in names_a:
                for p in m.connected:
                    o = self.by_peer.get(p)
                    if o and o.host.name not in names_a:
                        across.add((m.node.peer, p))
        t_first = self.now()
        for x in side_a:
            for y in side_b:
                lab.partition(x, y)
        # The rules take a moment to apply (a command per rule): a link can
        # time out from when its own rule applied, between t_first and t.
        t = self.now()
        self.mark("partition: %d hosts | %d hosts, %d links across (rules applied in %.1f s)"
                  % (len(side_a), len(side_b), len(across), t - t_first))
        self.wait(a.settle_seconds, send_every=a.message_interval)
        self.check_isolation("partition", t)
        # Every link across went down, reported within peer-timeout (+1 s of slack).
        late, never, delays = [], 0, []
        for src, dst in across:
            m = self.by_peer[src]
            downs = [e for e in m.events if e.get("event") == "connection_down"
                     and e.get("peer") == dst and e["_t"] - self.t0 >= t_first]
            if not downs:
                never += 1
                continue
            took = downs[0]["_t"] - self.t0 - t
            delays.append(took)
            if took > a.peer_timeout + 1:
                late.append(round(took, 1))
        delays.sort()
        self.figures["partition_down_p50_s"] = round(delays[len(delays) // 2], 1) if delays else None
        self.figures["partition_down_max_s"] = round(delays[-1], 1) if delays else None
        self.check("partition reported", never == 0 and not late,
                   "%d links across: %d never reported down, %d later than peer-timeout %d s "
                   "+ 1 s %s; reported after p50 %.1f s, max %.1f s"
                   % (len(across), never, len(late), a.peer_timeout, late[:5],
                      delays[len(delays) // 2] if delays else -1, delays[-1] if delays else -1))
        rest = a.partition_seconds - (self.now() - t)
        if rest > 0:
            self.wait(rest, send_every=a.message_interval)
        t = self.now()
        for x in side_a:
            for y in side_b:
                lab.partition(x, y, heal=True)
        self.mark("heal")
        self.wait(a.settle_seconds, send_every=a.message_interval)
        self.check_isolation("heal", t)
        # Healed: links across exist again.
        self.drain_all()
        again = sum(1 for m in self.members if m.alive and m.host.name in names_a
                    for p in m.connected
                    if self.by_peer.get(p) and self.by_peer[p].host.name not in names_a)
        self.check("heal reconnects", again > 0, "%d links across after the heal" % again)

    def messages(self):
        # Let the last messages arrive, then count.
        self.wait(5)
        end = self.now() - 5
        checked = lost = dup = 0
        lost_pairs = []
        for (src, dst), xs in self.sent.items():
            key = (min(src, dst), max(src, dst))
            since = max(self.disrupted.get(key, -1), self.restarted.get(src, -1),
                        self.restarted.get(dst, -1))
            got = self.received.get((src, dst), {})
            for seq, t in xs:
                if got.get(seq, 0) > 1:
                    dup += 1
                if t <= since or t > end:
                    continue
                checked += 1
                if got.get(seq, 0) == 0:
                    lost += 1
                    lost_pairs.append((self.by_peer[src].node.name,
                                       self.by_peer[dst].node.name, seq))
        total = sum(len(x) for x in self.sent.values())
        self.figures.update(messages_sent=total, messages_checked=checked,
                            messages_lost=lost, messages_duplicated=dup)
        self.check("messages", checked > 0 and lost == 0 and dup == 0,
                   "%d sent, %d on links that stayed up: %d lost %s, %d duplicated"
                   % (total, checked, lost, lost_pairs[:3], dup))

    def idle_cost(self):
        """RSS and CPU per node over a quiet window (no messages)."""
        def stat(pid):
            with open("/proc/%d/stat" % pid) as f:
                parts = f.read().rsplit(")", 1)[1].split()
            return int(parts[11]) + int(parts[12])  # utime + stime, ticks
        pids = [m.node.proc.pid for m in self.members if m.alive]
        window = 10.0
        before = {p: stat(p) for p in pids}
        self.wait(window)
        tick = os.sysconf("SC_CLK_TCK")
        cpu = [(stat(p) - before[p]) / tick / window * 100 for p in pids]
        rss = []
        for p in pids:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss.append(int(line.split()[1]) / 1024)
        self.figures.update(idle_cpu_percent_mean=round(statistics.mean(cpu), 3),
                            idle_cpu_percent_max=round(max(cpu), 3),
                            rss_mib_mean=round(statistics.mean(rss), 1),
                            rss_mib_max=round(max(rss), 1))
        self.say("idle: CPU %.2f %% per node (max %.2f), RSS %.1f MiB (max %.1f)"
                 % (statistics.mean(cpu), max(cpu), statistics.mean(rss), max(rss)))

    # -- output ----------------------------------------------------------------------

    def plot(self, path):
        if not self.samples:
            return
        w, h, left, bottom, top = 900, 360, 60, 40, 20
        tmax = max(s[0] for s in self.samples) or 1
        cmax = max(max(s[3] for s in self.samples), 1)
        dmax = max(max(s[5] for s in self.samples), 1)
        x = lambda t: left + (w - left - 20) * t / tmax  # noqa: E731
        y = lambda v, top_v: h - bottom - (h - bottom - top) * v / top_v  # noqa: E731
        def line(idx, top_v, colour, dash=""):
            pts = " ".join("%.1f,%.1f" % (x(s[0]), y(s[idx], top_v)) for s in self.samples)
            return ('<polyline fill="none" stroke="%s" stroke-width="1.5" %s points="%s"/>'
                    % (colour, dash, pts))
        out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
               'font-family="sans-serif" font-size="11">' % (w, h),
               '<rect width="100%" height="100%" fill="white"/>',
               '<text x="%d" y="14">crust-swarm: %d nodes, %d hosts, %d seeds — connections '
               'per node (min / median / max) and discoveries over time</text>'
               % (left, self.args.nodes, self.args.hosts, self.args.seeds)]
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
                   % (left, h - bottom, w - 20, h - bottom))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
                   % (left, top, left, h - bottom))
        for i in range(0, 6):
            v = cmax * i / 5
            out.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>'
                       % (left - 4, y(v, cmax) + 4, v))
        step = max(10, int(tmax / 10 / 10) * 10)
        for t in range(0, int(tmax) + 1, step):
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%d s</text>'
                       % (x(t), h - bottom + 14, t))
        last_label = -1e9
        for t, label in self.marks:
            show = x(t) - last_label > 14
            if show:
                last_label = x(t)
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#bbb" '
                       'stroke-dasharray="3,3"/>' % (x(t), top, x(t), h - bottom))
            if show:
                out.append('<text x="%.1f" y="%d" fill="#666" transform="rotate(-90 %.1f %d)">'
                           '%s</text>' % (x(t) + 10, h - bottom - 4, x(t) + 10, h - bottom - 4,
                                          label.split(":")[0].split(" (")[0]))
        out.append(line(1, cmax, "#d9534f"))
        out.append(line(2, cmax, "#337ab7"))
        out.append(line(3, cmax, "#5cb85c"))
        out.append(line(5, dmax, "#999", 'stroke-dasharray="5,3"'))
        legend = [("#d9534f", "min connections"), ("#337ab7", "median"),
                  ("#5cb85c", "max"), ("#999", "discoveries (scaled, max %d)" % dmax)]
        for i, (c, name) in enumerate(legend):
            out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>'
                       % (left + 10 + i * 190, h - 14, c))
            out.append('<text x="%d" y="%d">%s</text>' % (left + 24 + i * 190, h - 5, name))
        out.append("</svg>")
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")

    def run(self):
        a = self.args
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        random.seed(a.seed)
        with Lab(self.workdir) as lab:
            try:
                self.build(lab)
                self.formation()
                self.wait(a.steady_seconds, send_every=a.message_interval)
                if a.idle:
                    self.idle_cost()
                self.churn()
                if a.partition:
                    self.partition(lab)
                self.messages()
            finally:
                for m in self.members:
                    try:
                        m.node.close()
                    except Exception:  # cleanup goes on
                        pass
        if a.plot:
            self.plot(a.plot)
        summary = {"nodes": a.nodes, "hosts": a.hosts, "seeds": a.seeds, "keep": a.keep,
                   "random_peers": a.random_peers, "target": a.target,
                   "figures": self.figures,
                   "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in self.results],
                   "samples": self.samples, "marks": self.marks}
        if a.json:
            with open(a.json, "w") as f:
                json.dump(summary, f, indent=1)
        failed = [n for n, ok, _ in self.results if not ok]
        self.say("%d passed, %d failed" % (len(self.results) - len(failed), len(failed)))
        return 1 if failed else 0
