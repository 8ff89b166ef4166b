"""An emulated internet: many hosts in network namespaces, behind NATs of
the kinds a published measurement found, on links of 10-150 ms one-way
delay, some of them lossy. Every node asks for `asks` random peers by id
through the swarm (connect_via, through a seed both sides are connected
to), and the run reports how each pair ended up: direct (at once, or after a
relayed start), relayed, or failed, and how long it took.

The NAT mix. Ford, Srisuresh and Kegel, "Peer-to-Peer Communication Across
Network Address Translators" (USENIX ATC 2005, Table 1): 310 of 380 NATs
(82 %) kept one mapping per socket whatever the destination, so UDP hole
punching worked through them; the other 18 % mapped per destination
(symmetric). Our hosts: 10 % public; of the NATed 90 %, 82 % map
endpoint-independently (full cone, address-restricted cone, port-restricted
cone, and a home NAT behind a carrier-grade NAT, a quarter each) and 18 %
per destination (sequential and random port allocation, half each). The
splits inside the two groups and the public share are ours (the paper does
not give them). The CGNAT homes share carrier NATs (random ports,
hairpinning), several homes each.

Traffic stays inside the namespaces: 203.0.113.0/24 is the public segment,
100.64.0.0/10 the carrier NATs' side, 10.x the home LANs.
"""
import json
import random
import statistics
import time

from .node import Swarm

STUN_IPS = ("203.0.113.100", "203.0.113.101")
SEED_PORT = 5000

ROUTERS = {
    "public": None,
    "fullcone": dict(nat="user", mapping="eim", filtering="eif"),
    "restricted": dict(nat="user", mapping="eim", filtering="adf"),
    "portrestricted": dict(nat="user", mapping="eim", filtering="apdf"),
    "cgnat": dict(nat="user", mapping="eim", filtering="apdf"),  # the home NAT
    "symseq": dict(nat="user", mapping="apdm", filtering="apdf", allocation="sequential"),
    "symrand": dict(nat="user", mapping="apdm", filtering="apdf", allocation="random"),
}

# kind: share of hosts (see the module's comment for the source).
DISTRIBUTION = {
    "public": 0.10,
    "fullcone": 0.90 * 0.82 / 4,
    "restricted": 0.90 * 0.82 / 4,
    "portrestricted": 0.90 * 0.82 / 4,
    "cgnat": 0.90 * 0.82 / 4,
    "symseq": 0.90 * 0.18 / 2,
    "symrand": 0.90 * 0.18 / 2,
}

# libp2p's DCUtR, 4.4 M hole-punching attempts in IPFS (arXiv 2510.27500).
LIBP2P_DIRECT = 0.70

COMMON = ["--peer-timeout=20s", "--keepalive-interval=5s", "--bootstrap-cache=none",
          "--no-gossip", "--beacon=off", "--log-level=info",
          "--stun-servers=[\"udp://%s:3478\",\"udp://%s:3478\"]" % STUN_IPS]


def host_counts(n):
    """How many hosts of each kind among n: the distribution's shares,
    rounded by largest remainder so they add up to n."""
    exact = {k: n * s for k, s in DISTRIBUTION.items()}
    counts = {k: int(v) for k, v in exact.items()}
    rest = sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)
    for k in rest[:n - sum(counts.values())]:
        counts[k] += 1
    return counts


def pick_pairs(n, asks, rng):
    """For each node, `asks` others to ask for; no unordered pair twice (the
    second ask would find the link already up)."""
    used = set()
    out = []
    for i in range(n):
        others = [j for j in range(n) if j != i and frozenset((i, j)) not in used]
        rng.shuffle(others)
        for j in others[:asks]:
            used.add(frozenset((i, j)))
            out.append((i, j))
    return out


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[k]


class Member:
    def __init__(self, index, kind, host, delay_ms, loss):
        self.index = index
        self.kind = kind
        self.host = host
        self.delay_ms = delay_ms
        self.loss = loss
        self.node = None


class InternetRun:
    def __init__(self, args, log=print):
        self.args = args
        self.say = log
        self.rng = random.Random(args.seed)
        self.members = []
        self.seeds = []
        self.results = []   # (name, ok, detail)
        self.figures = {}
        self.pairs = []     # dicts, one per ask
        self.cursor = {}    # node name -> events filed so far
        self.by_peer = {}   # (node name, peer) -> its events about that peer

    def check(self, name, ok, detail):
        self.results.append((name, ok, detail))
        self.say("  %s: %s — %s" % ("ok" if ok else "FAILED", name, detail))

    # -- the lab ---------------------------------------------------------------

    def build(self, lab):
        a = self.args
        # Every namespace on the public segment may resolve every other one.
        lab.raise_neighbour_limits(max(8192, 2 * (a.hosts + a.seeds + 4) ** 2))
        lab.segment("public", "203.0.113.0/24")
        stun = lab.host("stun", "public", ip=STUN_IPS[0], extra_ips=[STUN_IPS[1]])
        lab.stun_server(stun)
        self.seed_hosts = [lab.host("seed%d" % i, "public", ip="203.0.113.%d" % (50 + i))
                           for i in range(a.seeds)]
        for h in self.seed_hosts:
            lab.shape(h, delay_ms=5, inbound=True)
        counts = host_counts(a.hosts)
        kinds = [k for k in DISTRIBUTION for _ in range(counts[k])]
        self.rng.shuffle(kinds)
        lossy = set(self.rng.sample(range(a.hosts), max(1, int(a.hosts * a.lossy_share))))
        # Carrier-grade NATs, each with up to `homes_per_cgnat` homes behind it.
        n_cgn = (counts["cgnat"] + a.homes_per_cgnat - 1) // a.homes_per_cgnat
        cgns = []
        for c in range(n_cgn):
            seg = "cgn%d" % c
            lab.segment(seg, "100.%d.0.0/16" % (64 + c))
            cgns.append(seg)
            lab.router("rcgn%d" % c, "public", seg, nat="user", mapping="eim", filtering="apdf",
                       allocation="random", hairpin=True, wan_ip="203.0.113.%d" % (40 + c))
        homes = 0
        for i, kind in enumerate(kinds):
            # One-way delay on arrival at each host (or its NAT): a pair's
            # path adds two of them, 10-150 ms.
            delay = self.rng.randint(5, 75)
            loss = round(self.rng.uniform(0.5, 2.0), 1) if i in lossy else None
            if ROUTERS[kind] is None:
                h = lab.host("pub%d" % i, "public", ip="203.0.113.%d" % (60 + i))
                shaped = h
            else:
                lan = "lan%d" % i
                lab.segment(lan, "10.%d.%d.0/24" % (100 + i // 200, i % 200))
                if kind == "cgnat":
                    wan = cgns[homes // a.homes_per_cgnat]
                    homes += 1
                    shaped = lab.router("r%d" % i, wan, lan, **ROUTERS[kind])
                else:
                    shaped = lab.router("r%d" % i, "public", lan,
                                        wan_ip="203.0.113.%d" % (130 + i), stun=list(STUN_IPS),
                                        **ROUTERS[kind])
                h = lab.host("h%d" % i, lan)
            lab.shape(shaped, delay_ms=delay, loss=loss, inbound=True)
            self.members.append(Member(i, kind, h, delay, loss))
        self.say("- %d hosts: %s; %d carrier NAT(s); %d lossy link(s); delays %d-%d ms one way"
                 % (a.hosts, ", ".join("%s %d" % (k, counts[k]) for k in DISTRIBUTION),
                    n_cgn, len(lossy), min(m.delay_ms for m in self.members),
                    max(m.delay_ms for m in self.members)))
        self.figures["kinds"] = counts

    def start(self, swarm):
        a = self.args
        for i, h in enumerate(self.seed_hosts):
            self.seeds.append(swarm.add(
                "seed%d" % i, args=["--listen-address=%s" % h.ip, "--port=%d" % SEED_PORT,
                                    "--no-port-fallback", "--relay", "--no-reachability"]
                + COMMON + list(a.extra), prefix=h.prefix()))
        contacts = "--contacts=[%s]" % ",".join('"tcp://%s:%d"' % (h.ip, SEED_PORT)
                                                for h in self.seed_hosts)
        t = time.monotonic()
        for m in self.members:
            m.node = swarm.add("n%02d-%s" % (m.index, m.kind),
                               args=["--listen-address=%s" % m.host.ip, contacts,
                                     "--bootstrap-target=%d" % a.seeds] + COMMON + list(a.extra),
                               prefix=m.host.prefix())
        # Joined: every seed connected, and STUN answered (the NAT class known).
        deadline = time.monotonic() + 60
        waiting = list(self.members)
        while waiting and time.monotonic() < deadline:
            still = []
            for m in waiting:
                ups = {e["peer"] for e in list(m.node.events) if e.get("event") == "connection_up"}
                if not all(s.peer in ups for s in self.seeds):
                    still.append(m)
                    continue
                if m.node.request({"cmd": "nat"}, "nat")["nat"] == "unknown":
                    still.append(m)
            waiting = still
            if waiting:
                time.sleep(0.5)
        joined = len(self.members) - len(waiting)
        self.figures["join_s"] = round(time.monotonic() - t, 1)
        self.check("join", not waiting,
                   "%d of %d nodes connected to every seed with their NAT class known in %.1f s%s"
                   % (joined, len(self.members), self.figures["join_s"],
                      "" if not waiting else " (missing: %s)"
                      % ", ".join(m.node.name for m in waiting[:5])))
        # Their first reachability checks (dial-backs from fresh sockets,
        # which take a sequential NAT's next ports) are over.
        time.sleep(2.0)

    # -- the asks --------------------------------------------------------------

    def pump(self):
        """Files the events every node emitted since the last call under
        (node name, peer): polling stays linear in the events."""
        for n in [m.node for m in self.members] + self.seeds:
            evs = n.events
            i = self.cursor.get(n.name, 0)
            if i > len(evs):  # a restart (none here), but be safe
                i = 0
            for e in evs[i:]:
                if "peer" in e:
                    self.by_peer.setdefault((n.name, e["peer"]), []).append(e)
            self.cursor[n.name] = len(evs)

    def events_about(self, node, peer, since):
        return [e for e in self.by_peer.get((node.name, peer), []) if e["_t"] >= since]

    def ask_round(self, asks):
        """Sends one round of connect_via (each node asks at most once per
        round) and waits until each connected, failed or timed out."""
        a = self.args
        for p in asks:
            src, dst = self.members[p["a"]].node, self.members[p["b"]].node
            p["via"] = self.seeds[(p["a"] + p["round"]) % len(self.seeds)].peer
            p["t0"] = time.monotonic()
            src.command({"cmd": "connect_via", "peer": dst.peer, "through": p["via"]})
            time.sleep(a.ask_spacing)
        deadline = time.monotonic() + a.ask_timeout
        open_ = list(asks)
        while open_ and time.monotonic() < deadline:
            self.pump()
            still = []
            for p in open_:
                src, dst = self.members[p["a"]].node, self.members[p["b"]].node
                done = False
                for e in self.events_about(src, dst.peer, p["t0"]):
                    if e.get("event") == "connection_up":
                        p.update(connected=True, first=e["path"], t_up=e["_t"] - p["t0"])
                        done = True
                        break
                    if e.get("event") == "traversal_failed":
                        p.update(failed_reason=e.get("reason", "?"))
                        done = True
                        break
                if not done:
                    still.append(p)
            open_ = still
            if open_:
                time.sleep(0.05)

    def final_paths(self):
        """Each connected pair's path now: the last path_changed after its
        connection_up, or the first path."""
        self.pump()
        for p in self.pairs:
            if not p.get("connected"):
                continue
            src, dst = self.members[p["a"]].node, self.members[p["b"]].node
            p["final"], p["t_final"] = p["first"], p["t_up"]
            for e in self.events_about(src, dst.peer, p["t0"]):
                if e.get("event") == "path_changed":
                    p["final"], p["t_final"] = e["path"], e["_t"] - p["t0"]
                elif e.get("event") == "connection_down":
                    p["down"] = e.get("reason", "?")

    def messages(self):
        """One message each way on every connected pair; every one arrives."""
        sent = []
        for p in self.pairs:
            if p.get("connected") and not p.get("down"):
                a, b = self.members[p["a"]].node, self.members[p["b"]].node
                for x, y in ((a, b), (b, a)):
                    data = "ask %d-%d from %s" % (p["a"], p["b"], x.name)
                    x.send(y, data)
                    sent.append((x, y, data))
        deadline = time.monotonic() + 15
        missing = sent
        while missing and time.monotonic() < deadline:
            self.pump()
            missing = [(x, y, d) for x, y, d in missing
                       if not any(e.get("event") == "message" and e.get("data") == d
                                  for e in self.by_peer.get((y.name, x.peer), []))]
            if missing:
                time.sleep(0.2)
        self.check("messages", not missing,
                   "%d of %d messages (one each way per connected pair) arrived%s"
                   % (len(sent) - len(missing), len(sent),
                      "" if not missing else "; missing e.g. %s" % missing[0][2]))

    # -- the report -------------------------------------------------------------

    def report(self):
        a = self.args
        n = len(self.pairs)
        connected = [p for p in self.pairs if p.get("connected")]
        direct = [p for p in connected if p["final"] != "relayed"]
        relayed = [p for p in connected if p["final"] == "relayed"]
        failed = [p for p in self.pairs if not p.get("connected")]
        at_once = [p for p in direct if p["first"] != "relayed"]
        t_up = [p["t_up"] for p in connected]
        t_direct = [p["t_final"] for p in direct]
        f = self.figures
        f.update(pairs=n, connected=len(connected), direct=len(direct),
                 direct_at_once=len(at_once), relayed=len(relayed), failed=len(failed),
                 connected_share=round(len(connected) / n, 3) if n else 0,
                 direct_share=round(len(direct) / n, 3) if n else 0,
                 connect_p50_s=round(percentile(t_up, 0.5), 3) if t_up else None,
                 connect_p95_s=round(percentile(t_up, 0.95), 3) if t_up else None,
                 direct_p50_s=round(percentile(t_direct, 0.5), 3) if t_direct else None,
                 direct_p95_s=round(percentile(t_direct, 0.95), 3) if t_direct else None)
        paths = {}
        for p in connected:
            key = p["first"] if p["first"] == p["final"] else "%s→%s" % (p["first"], p["final"])
            paths[key] = paths.get(key, 0) + 1
        f["paths"] = paths
        # Which kinds the relayed and failed pairs had.
        by_kinds = {}
        for p in relayed + failed:
            key = " x ".join(sorted((self.members[p["a"]].kind, self.members[p["b"]].kind)))
            by_kinds[key] = by_kinds.get(key, 0) + 1
        f["not_direct_by_kinds"] = by_kinds
        # Links that came up and went again before the end (a NAT mapping
        # lost, a lossy link's keepalives): not counted as failed asks.
        lost = [p for p in connected if p.get("down")]
        f["links_lost"] = ["%s x %s: %s" % (self.members[p["a"]].kind, self.members[p["b"]].kind,
                                            p["down"]) for p in lost]

        def pct(x):
            return "%.1f %%" % (100.0 * x / n) if n else "-"

        def sec(x):
            return "%.2f s" % x if x is not None else "-"
        self.say("\n| pairs | connected | direct | (of which relayed first) | relayed | failed "
                 "| connect p50 / p95 | direct path p50 / p95 | libp2p DCUtR direct |")
        self.say("|---|---|---|---|---|---|---|---|---|")
        self.say("| %d | %d (%s) | %d (%s) | %d | %d (%s) | %d (%s) | %s / %s | %s / %s | %.0f %% |"
                 % (n, len(connected), pct(len(connected)), len(direct), pct(len(direct)),
                    len(direct) - len(at_once), len(relayed), pct(len(relayed)), len(failed),
                    pct(len(failed)), sec(f["connect_p50_s"]), sec(f["connect_p95_s"]),
                    sec(f["direct_p50_s"]), sec(f["direct_p95_s"]), LIBP2P_DIRECT * 100))
        self.say("paths: %s" % ", ".join("%s %d" % kv for kv in sorted(paths.items())))
        if by_kinds:
            self.say("not direct, by the pair's kinds: %s"
                     % ", ".join("%s %d" % kv for kv in sorted(by_kinds.items())))
        if lost:
            self.say("links that went down again before the end: %d (%s)"
                     % (len(lost), ", ".join(f["links_lost"][:5])))
        for p in failed[:5]:
            self.say("  failed: %s asked for %s (%s)"
                     % (self.members[p["a"]].node.name, self.members[p["b"]].node.name,
                        p.get("failed_reason", "no answer in %d s" % a.ask_timeout)))
        self.check("connected", n and len(connected) >= a.min_connected * n,
                   "%d of %d pairs (%s; at least %.0f %% asked)"
                   % (len(connected), n, pct(len(connected)), a.min_connected * 100))
        self.check("direct", n and len(direct) >= a.min_direct * n,
                   "%d of %d pairs (%s; at least %.0f %% asked; libp2p's DCUtR: %.0f %%)"
                   % (len(direct), n, pct(len(direct)), a.min_direct * 100,
                      LIBP2P_DIRECT * 100))

    def run(self, lab):
        a = self.args
        self.build(lab)
        pairs = pick_pairs(a.hosts, a.asks, self.rng)
        with Swarm(a.node, self.workdir) as swarm:
            self.start(swarm)
            # Round r: each node's r-th ask (at most one traversal of its own at once).
            by_node = {}
            for i, j in pairs:
                by_node.setdefault(i, []).append(j)
            for r in range(a.asks):
                asks = [dict(a=i, b=js[r], round=r) for i, js in sorted(by_node.items())
                        if r < len(js)]
                self.rng.shuffle(asks)
                self.pairs.extend(asks)
                t = time.monotonic()
                self.ask_round(asks)
                self.say("- round %d: %d asks, %d connected (%.1f s)"
                         % (r + 1, len(asks), sum(1 for p in asks if p.get("connected")),
                            time.monotonic() - t))
            # Relayed links move to a direct path when an upgrade wins.
            time.sleep(a.settle)
            self.final_paths()
            self.messages()
            self.report()
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"figures": self.figures,
                           "pairs": [dict((k, v) for k, v in p.items())
                                     for p in self.pairs],
                           "kinds": [m.kind for m in self.members],
                           "checks": self.results}, f, indent=1, default=str)
        failed = [r for r in self.results if not r[1]]
        return failed
