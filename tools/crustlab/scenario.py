"""Scenario files: a readable script of hosts, networks, nodes and steps,
run against real crust-node processes. See README.md ("Scenarios").

A scenario is parsed completely before anything runs; a bad file gets an
error naming its line. Every step has a timeout; everything a run creates
(processes, namespaces, temporary files) goes when it ends, pass or fail.
"""
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .node import Node, NodeError
from .netlab import Lab, LabError, require_root
from .usernat import ALLOCATIONS, FILTERINGS, MAPPINGS


class ScenarioError(Exception):
    """A malformed scenario file; the message names the line."""


class StepFailed(Exception):
    pass


DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)$")


def parse_duration(text, where):
    m = DURATION.match(text)
    if not m:
        raise ScenarioError("%s: %r is not a duration (like 500ms, 5s, 1m)" % (where, text))
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000.0 if unit == "ms" else value * 60.0 if unit == "m" else value


class Step:
    def __init__(self, line, verb, args, opts, text):
        self.line = line
        self.verb = verb
        self.args = args
        self.opts = opts
        self.text = text


# verb -> (min positional args, max positional args or None, allowed options)
TOPOLOGY = {
    "segment": (2, 3, set()),
    "router": (1, 1, {"wan", "lan", "nat", "ip", "upnp", "mapping", "filtering", "allocation",
                      "hairpin", "udp-timeout", "block-udp"}),
    "host": (1, 1, {"on", "ip", "ip2"}),
    "stun": (1, 1, {"on", "ip", "ip2"}),
    "link": (1, 1, {"loss", "rate", "delay", "jitter"}),
    "node": (1, None, {"on"}),
}
STEPS = {
    "start": (1, None, set()),
    "stop": (1, None, set()),
    "kill": (1, None, set()),
    "restart": (1, None, set()),
    "pause": (1, None, set()),
    "resume": (1, None, set()),
    "connect": (2, 2, set()),
    "maintain": (2, 2, set()),
    "drop": (2, 2, set()),
    "command": (2, 2, set()),
    "send": (3, 3, {"count", "priority"}),
    "expect": (2, 2, {"within", "*"}),
    "expect-none": (2, 2, {"for", "*"}),
    "partition": (2, 2, set()),
    "heal": (2, 2, set()),
    "wait": (1, 1, set()),
    "exec": (2, None, {"expect"}),
    "stun-probe": (2, None, {"port", "mapped", "ports"}),
    "forge-beacon": (2, 2, {"peer", "port", "network"}),
}


class Scenario:
    def __init__(self, path, text=None):
        self.path = path
        self.topology = []
        self.steps = []
        if text is None:
            with open(path) as f:
                text = f.read()
        self._parse(text)

    @property
    def uses_namespaces(self):
        return any(s.verb in ("segment", "router", "host", "stun", "link") for s in self.topology)

    def _parse(self, text):
        names = {"segment": set(), "host": set(), "node": set()}
        for number, raw in enumerate(text.splitlines(), 1):
            where = "%s:%d" % (os.path.basename(self.path), number)
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                words = shlex.split(line, comments=True)
            except ValueError as e:
                raise ScenarioError("%s: %s" % (where, e))
            if not words:
                continue
            verb, rest = words[0], words[1:]
            table = TOPOLOGY if verb in TOPOLOGY else STEPS if verb in STEPS else None
            if table is None:
                raise ScenarioError("%s: unknown statement %r (known: %s)"
                                    % (where, verb, ", ".join(sorted(list(TOPOLOGY) + list(STEPS)))))
            lo, hi, allowed = table[verb]
            args, opts = [], {}
            for w in rest:
                key = self._option_key(verb, w, allowed, where)
                if key:
                    opts[key] = w.split("=", 1)[1]
                elif verb == "router" and w in ("upnp", "hairpin", "block-udp"):
                    opts[w] = "yes"
                else:
                    args.append(w)
            if len(args) < lo or (hi is not None and len(args) > hi):
                want = str(lo) if lo == hi else "%d or more" % lo if hi is None else "%d to %d" % (lo, hi)
                raise ScenarioError("%s: %s takes %s argument(s), got %d"
                                    % (where, verb, want, len(args)))
            step = Step(number, verb, args, opts, line)
            self._check(step, where, names)
            (self.topology if table is TOPOLOGY else self.steps).append(step)
        if not self.steps:
            raise ScenarioError("%s: no steps" % os.path.basename(self.path))

    # Statements whose positional words may contain "=" (text, commands, flags).
    FREE_TEXT = {"send", "exec", "node", "command", "connect"}

    @classmethod
    def _option_key(cls, verb, word, allowed, where):
        """The option a word sets (key=value), or None for a positional word."""
        if "=" not in word or word.startswith("-"):
            return None
        key = word.split("=", 1)[0]
        if key in allowed or ("*" in allowed and re.fullmatch(r"[a-z_]+", key)):
            return key
        if verb in cls.FREE_TEXT:
            return None
        raise ScenarioError("%s: %s does not take %s= (takes: %s)"
                            % (where, verb, key, ", ".join(sorted(allowed - {"*"})) or "nothing"))

    def _check(self, s, where, names):
        def need(kind, name):
            if name not in names[kind]:
                raise ScenarioError("%s: unknown %s %r" % (where, kind, name))
        if s.verb == "segment":
            names["segment"].add(s.args[0])
            if len(s.args) > 2:
                try:
                    net6 = ipaddress.ip_network(s.args[2])
                except ValueError:
                    net6 = None
                if net6 is None or net6.version != 6:
                    raise ScenarioError("%s: %r is not an IPv6 prefix (like 2001:db8:1::/64)"
                                        % (where, s.args[2]))
        elif s.verb in ("router", "host", "stun"):
            if s.verb == "router":
                for k in ("wan", "lan"):
                    if k not in s.opts:
                        raise ScenarioError("%s: router needs %s=SEGMENT" % (where, k))
                    need("segment", s.opts[k])
                nat = s.opts.get("nat", "cone")
                if nat not in ("cone", "symmetric", "none", "user"):
                    raise ScenarioError("%s: nat= must be cone, symmetric, none or user" % where)
                for k, known in (("mapping", MAPPINGS), ("filtering", FILTERINGS),
                                 ("allocation", ALLOCATIONS)):
                    if k in s.opts and s.opts[k] not in known:
                        raise ScenarioError("%s: %s= must be %s" % (where, k, " or ".join(known)))
                user_only = [k for k in ("mapping", "filtering", "allocation", "hairpin")
                             if k in s.opts]
                if user_only and nat != "user":
                    raise ScenarioError("%s: %s need nat=user (the userspace NAT)"
                                        % (where, ", ".join(user_only)))
                if "block-udp" in s.opts and nat == "user":
                    raise ScenarioError("%s: block-udp needs an nftables router (cone or "
                                        "symmetric)" % where)
                if "udp-timeout" in s.opts:
                    try:
                        if parse_duration(s.opts["udp-timeout"], "") < 1:
                            raise ValueError
                    except (ValueError, ScenarioError):
                        raise ScenarioError("%s: udp-timeout= must be a duration of at least 1s"
                                            % where)
            else:
                if "on" not in s.opts:
                    raise ScenarioError("%s: %s needs on=SEGMENT" % (where, s.verb))
                need("segment", s.opts["on"])
                if s.verb == "stun" and not ("ip" in s.opts and "ip2" in s.opts):
                    raise ScenarioError("%s: stun needs ip= and ip2= (RFC 5780 needs two addresses)"
                                        % where)
            names["host"].add(s.args[0])
        elif s.verb == "link":
            need("host", s.args[0])
            for k in ("delay", "jitter"):
                if k in s.opts:
                    parse_duration(s.opts[k], where)
            if "loss" in s.opts:
                try:
                    loss = float(s.opts["loss"].rstrip("%"))
                except ValueError:
                    loss = -1
                if not 0 <= loss <= 100:
                    raise ScenarioError("%s: loss= must be a percentage like 5%%" % where)
        elif s.verb == "node":
            if "on" in s.opts:
                need("host", s.opts["on"])
            names["node"].add(s.args[0])
        elif s.verb in ("start", "stop", "kill", "restart", "pause", "resume"):
            for n in s.args:
                need("node", n)
        elif s.verb in ("connect", "send", "maintain", "drop"):
            need("node", s.args[0])
            if s.verb != "connect" or not s.args[1].startswith(("tcp://", "udp://", "$")):
                need("node", s.args[1])
        elif s.verb in ("expect", "expect-none", "command"):
            need("node", s.args[0])
            if s.verb == "command":
                try:
                    json.loads(s.args[1])
                except ValueError:
                    raise ScenarioError("%s: command takes a JSON object in single quotes, "
                                        "e.g. command a '{\"cmd\":\"peers\"}'" % where)
            key = "within" if s.verb == "expect" else "for"
            if s.verb == "expect-none" and key not in s.opts:
                raise ScenarioError("%s: expect-none needs for=DURATION" % where)
            if key in s.opts:
                parse_duration(s.opts[key], where)
        elif s.verb in ("partition", "heal", "exec", "stun-probe", "forge-beacon"):
            for h in s.args[:2 if s.verb in ("partition", "heal") else 1]:
                need("host", h)
        elif s.verb == "wait":
            parse_duration(s.args[0], where)


class Runner:
    """Runs a parsed scenario. `say` prints progress."""

    def __init__(self, scenario, binary, workdir, say=print):
        self.sc = scenario
        self.binary = binary
        self.workdir = workdir
        self.say = say
        self.lab = None
        self.nodes = {}
        self.consumed = {}

    # -- substitution ------------------------------------------------------------

    def subst(self, text):
        """$NAME.ip, $NAME.peer, $NAME.endpoint, $NAME.port inside a word."""
        def one(m):
            name, attr = m.group(1), m.group(2)
            if name in self.nodes:
                n = self.nodes[name]
                if attr == "peer":
                    return n.peer
                if attr == "endpoint":
                    return n.endpoint
                if attr == "port":
                    return n.endpoint.rsplit(":", 1)[1]
            if self.lab and name in self.lab.hosts and attr == "ip":
                return self.lab.hosts[name].ip
            raise StepFailed("cannot resolve $%s.%s" % (name, attr))
        return re.sub(r"\$([A-Za-z0-9_-]+)\.(ip|peer|endpoint|port)", one, text)

    def value(self, v):
        v = self.subst(v)
        if v in self.nodes and self.nodes[v].peer:
            return self.nodes[v].peer
        if re.fullmatch(r"-?\d+", v):
            return int(v)
        if v in ("true", "false"):
            return v == "true"
        return v

    # -- setup ---------------------------------------------------------------------

    def build(self):
        stun_ips = []
        for s in self.sc.topology:
            if s.verb == "stun":
                stun_ips += [s.opts["ip"], s.opts["ip2"]]
        if self.sc.uses_namespaces:
            require_root()
            self.lab = Lab(self.workdir,
                           netem=os.path.join(os.path.dirname(self.binary), "netem-lite"))
            self.say("  lab namespaces: %s-*" % self.lab.tag)
        pending_upnp = []
        for s in self.sc.topology:
            lab = self.lab
            if s.verb == "segment":
                lab.segment(s.args[0], s.args[1], s.args[2] if len(s.args) > 2 else None)
            elif s.verb == "router":
                o = s.opts
                user = {k: o[k] for k in ("mapping", "filtering", "allocation") if k in o}
                r = lab.router(s.args[0], o["wan"], o["lan"], nat=o.get("nat", "cone"),
                               wan_ip=o.get("ip"), stun=stun_ips, hairpin="hairpin" in o,
                               block_udp="block-udp" in o,
                               udp_timeout=(parse_duration(o["udp-timeout"], "")
                                            if "udp-timeout" in o else None), **user)
                if s.opts.get("upnp"):
                    pending_upnp.append(r)
            elif s.verb in ("host", "stun"):
                h = lab.host(s.args[0], s.opts["on"], ip=s.opts.get("ip"),
                             extra_ips=[s.opts["ip2"]] if "ip2" in s.opts else [])
                if s.verb == "stun":
                    lab.stun_server(h)
            elif s.verb == "link":
                ms = lambda k: parse_duration(s.opts[k], "") * 1000 if k in s.opts else None
                lab.shape(lab.get(s.args[0]), loss=s.opts.get("loss", "").rstrip("%") or None,
                          rate=s.opts.get("rate"), delay_ms=ms("delay"), jitter_ms=ms("jitter"))
            elif s.verb == "node":
                self.add_node(s)
        stun_hosts = [s.args[0] for s in self.sc.topology if s.verb == "stun"]
        for r in pending_upnp:
            if not stun_hosts:
                raise LabError("router %s: upnp needs a stun server in the lab (miniupnpd checks "
                               "its external address with STUN)" % r.name)
            self.lab.upnp(r, self.lab.get(stun_hosts[0]))

    def add_node(self, s):
        name = s.args[0]
        args = s.args[1:]
        if self.lab:
            host = self.lab.get(s.opts["on"]) if "on" in s.opts else None
            if host is None:
                raise LabError("node %s: in a namespace scenario every node needs on=HOST" % name)
            prefix = host.prefix()
            listen = host.ip
        else:
            prefix, listen = [], "127.0.0.1"
        args = ["--listen-address=" + listen] + args
        listens = "--role=client" not in args and "--no-listen" not in args
        self.nodes[name] = Node(self.binary, name, self.workdir, args, prefix=prefix, listen=listens)
        self.consumed[name] = set()

    # -- steps -----------------------------------------------------------------------

    def run(self):
        failed = None
        try:
            t0 = time.monotonic()
            self.build()
            self.say("  [ ok ] topology and nodes ready (%.2fs)" % (time.monotonic() - t0))
            for s in self.sc.steps:
                t0 = time.monotonic()
                try:
                    detail = getattr(self, "do_" + s.verb.replace("-", "_"))(s)
                except (StepFailed, NodeError, LabError, subprocess.TimeoutExpired) as e:
                    self.say("  [FAIL] %3d: %s\n         %s" % (s.line, s.text, e))
                    failed = s
                    break
                self.say("  [ ok ] %3d: %-52s %6.2fs%s" % (s.line, s.text[:52], time.monotonic() - t0,
                                                       ("  " + detail) if detail else ""))
        except (LabError, NodeError) as e:
            self.say("  [FAIL] setup: %s" % e)
            failed = "setup"
        finally:
            self.teardown()
        return failed is None

    def teardown(self):
        for n in self.nodes.values():
            try:
                n.close()
            except Exception:  # cleanup goes on regardless
                pass
        if self.lab:
            self.lab.teardown()

    def node(self, name):
        return self.nodes[name]

    def do_start(self, s):
        for n in s.args:
            self.node(n).start()
            self.consumed[n] = set()

    def do_stop(self, s):
        for n in s.args:
            rc = self.node(n).quit()
            if rc != 0:
                raise StepFailed("%s exited with %s" % (n, rc))

    def do_kill(self, s):
        for n in s.args:
            self.node(n).kill()

    def do_restart(self, s):
        for n in s.args:
            node = self.node(n)
            if node.alive():
                node.quit()
            if node.endpoint and not any(a.startswith("--port=") for a in node.args):
                node.args += ["--port=" + node.endpoint.rsplit(":", 1)[1], "--no-port-fallback"]
            node.start()
            self.consumed[n] = set()

    def do_pause(self, s):
        for n in s.args:
            self.node(n).signal(signal.SIGSTOP)

    def do_resume(self, s):
        for n in s.args:
            self.node(n).signal(signal.SIGCONT)

    def do_connect(self, s):
        target = s.args[1]
        ep = self.subst(target) if target.startswith(("tcp://", "udp://", "$")) else self.node(target).endpoint
        self.node(s.args[0]).connect(ep)
        return "-> " + ep

    def do_maintain(self, s):
        self.node(s.args[0]).command({"cmd": "maintain", "peer": self.node(s.args[1]).peer})

    def do_drop(self, s):
        self.node(s.args[0]).command({"cmd": "drop", "peer": self.node(s.args[1]).peer})

    def do_command(self, s):
        self.node(s.args[0]).command(json.loads(self.subst(s.args[1])))

    def do_send(self, s):
        extra = {}
        if "count" in s.opts:
            extra["count"] = int(s.opts["count"])
        if "priority" in s.opts:
            extra["priority"] = int(s.opts["priority"])
        self.node(s.args[0]).send(self.node(s.args[1]), self.subst(s.args[2]), **extra)

    def _fields(self, s, skip):
        return {k: self.value(v) for k, v in s.opts.items() if k not in skip}

    def _find(self, name, event, fields):
        node = self.node(name)
        with node.cond:
            for i, ev in enumerate(node.events):
                if i not in self.consumed[name] and node._matches(ev, event, fields):
                    return i, ev
        return None, None

    def do_expect(self, s):
        name, event = s.args
        fields = self._fields(s, {"within"})
        timeout = parse_duration(s.opts.get("within", "10s"), "")
        node = self.node(name)
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        with node.cond:
            while True:
                i, ev = self._find(name, event, fields)
                if ev is not None:
                    self.consumed[name].add(i)
                    return "after %.2fs" % (time.monotonic() - t0)
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [e.get("event") for e in node.events[-6:]]
                    raise StepFailed("no %s %s on %s within %.1fs (last events: %s)"
                                     % (event, fields, name, timeout, seen))
                node.cond.wait(left)

    def do_expect_none(self, s):
        name, event = s.args
        fields = self._fields(s, {"for"})
        time.sleep(parse_duration(s.opts["for"], ""))
        i, ev = self._find(name, event, fields)
        if ev is not None:
            raise StepFailed("unexpected %s on %s: %s" % (event, name, ev))

    def do_partition(self, s):
        self.lab.partition(self.lab.get(s.args[0]), self.lab.get(s.args[1]))

    def do_heal(self, s):
        self.lab.partition(self.lab.get(s.args[0]), self.lab.get(s.args[1]), heal=True)

    def do_wait(self, s):
        time.sleep(parse_duration(s.args[0], ""))

    def do_exec(self, s):
        host = self.lab.get(s.args[0])
        cmd = [self.subst(a) for a in s.args[1:]]
        r = host.run(*cmd, check=False, timeout=60)
        if r.returncode != 0:
            raise StepFailed("exit %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()[-300:]))
        want = s.opts.get("expect")
        if not want:
            return None
        m = re.search(self.subst(want), r.stdout)
        if not m:
            raise StepFailed("output does not match %r: %s" % (want, r.stdout.strip()[-300:]))
        line_start = r.stdout.rfind("\n", 0, m.start()) + 1
        line_end = r.stdout.find("\n", m.end())
        return r.stdout[line_start:line_end if line_end >= 0 else None].strip()

    def do_forge_beacon(self, s):
        """forge-beacon HOST TARGET peer=NODE|HEX [port=5483] [network=crust]"""
        host = self.lab.get(s.args[0])
        tool = os.path.join(os.path.dirname(__file__), "beacon_forge.py")
        peer = self.value(s.opts.get("peer", "00" * 32))
        r = host.run(sys.executable, tool, self.subst(s.args[1]), s.opts.get("port", "5483"),
                     s.opts.get("network", "crust"), peer, timeout=30)
        return r.stdout.strip()

    def do_stun_probe(self, s):
        """stun-probe HOST SERVER:PORT... port=LOCAL mapped=IP ports=same|different"""
        host = self.lab.get(s.args[0])
        servers = [self.subst(a) for a in s.args[1:]]
        probe = os.path.join(os.path.dirname(__file__), "stun_probe.py")
        r = host.run(sys.executable, probe, s.opts.get("port", "40000"), *servers, timeout=30)
        seen = json.loads(r.stdout)
        if any(v is None for v in seen.values()):
            raise StepFailed("no answer from %s" % [k for k, v in seen.items() if v is None])
        ips = {v.rsplit(":", 1)[0] for v in seen.values()}
        ports = [v.rsplit(":", 1)[1] for v in seen.values()]
        if "mapped" in s.opts and ips != {self.subst(s.opts["mapped"])}:
            raise StepFailed("mapped address %s, expected %s" % (sorted(ips), s.opts["mapped"]))
        want = s.opts.get("ports")
        if want == "same" and len(set(ports)) != 1:
            raise StepFailed("mapped ports differ per destination: %s" % seen)
        if want == "different" and len(set(ports)) != len(ports):
            raise StepFailed("mapped ports repeat across destinations: %s" % seen)
        if want == "preserved" and set(ports) != {s.opts.get("port", "40000")}:
            raise StepFailed("mapped port is not the local port: %s" % seen)
        return ", ".join("%s saw %s" % kv for kv in seen.items())


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="crust-scenario",
                                     description="Run a crust scenario file with real crust-node processes.")
    parser.add_argument("scenario")
    from . import __version__
    parser.add_argument("--version", action="version", version="crust-scenario " + __version__)
    parser.add_argument("--node", default=os.environ.get("CRUST_NODE", "build/tools/crust-node"),
                        help="path to crust-node (default: build/tools/crust-node or $CRUST_NODE)")
    parser.add_argument("--keep", action="store_true", help="keep the logs even when it passes")
    parser.add_argument("--check", action="store_true", help="only parse the file")
    args = parser.parse_args(argv)
    try:
        sc = Scenario(args.scenario)
    except (ScenarioError, OSError) as e:
        print("crust-scenario: %s" % e)
        return 2
    if args.check:
        print("%s: %d topology lines, %d steps: ok" % (args.scenario, len(sc.topology), len(sc.steps)))
        return 0
    if sc.uses_namespaces and os.geteuid() != 0:
        print("crust-scenario: %s builds network namespaces and needs root" % args.scenario)
        return 2
    if not os.access(args.node, os.X_OK):
        print("crust-scenario: no crust-node at %s (build first, or pass --node)" % args.node)
        return 2
    workdir = tempfile.mkdtemp(prefix="crust-scenario-")

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    print("scenario %s (%s)" % (args.scenario, "namespaces" if sc.uses_namespaces else "loopback"))
    ok = False
    try:
        ok = Runner(sc, os.path.abspath(args.node), workdir).run()
    except KeyboardInterrupt:
        print("  interrupted: everything it started was stopped and removed")
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print("logs and events of every node kept in %s" % workdir)
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1
