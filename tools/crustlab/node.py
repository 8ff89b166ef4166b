"""One crust-node process, driven over its JSON-lines control channel.

Every wait is bounded by a timeout; every process is stopped by `close()`
(SIGTERM, then SIGKILL), which `Swarm` calls for all its nodes on exit.
"""
import json
import os
import signal
import subprocess
import threading
import time


class NodeError(Exception):
    pass


class TimeoutWaiting(NodeError):
    pass


class Node:
    def __init__(self, binary, name, workdir, args=(), prefix=(), listen=True):
        self.binary = binary
        self.name = name
        self.workdir = workdir
        self.args = list(args)
        self.prefix = list(prefix)   # e.g. ["ip", "netns", "exec", "ns1"]
        self.listen = listen
        self.proc = None
        self.events = []
        self.cond = threading.Condition()
        self.peer = None
        self.endpoint = None
        self.endpoints = []  # every listening endpoint (TCP, then UDP)
        self.log_path = os.path.join(workdir, name + ".events")
        self.err_path = os.path.join(workdir, name + ".stderr")
        self.key_path = os.path.join(workdir, name + ".key")
        self.cache_path = os.path.join(workdir, name + ".bootstrap")
        self._reader = None
        self._err = None

    # -- process ---------------------------------------------------------------

    def start(self, timeout=10.0):
        cmd = self.prefix + [self.binary, "--identity-file=" + self.key_path] + self.args
        # Each node keeps its bootstrap cache in the work directory, and
        # nothing broadcasts unless a test asks for it (the root namespace
        # must stay quiet).
        if not any(a.startswith("--bootstrap-cache=") for a in self.args):
            cmd.append("--bootstrap-cache=" + self.cache_path)
        # A node given a config file takes its beacon from there (a reload
        # may change it; the file must say "off" outside a lab namespace).
        if not any(a.startswith(("--beacon=", "--config-file=")) for a in self.args):
            cmd.append("--beacon=off")
        if self._reader:
            # A restart: the previous process's reader must be done before the
            # new event list is used, or its end marker could land there.
            self._reader.join(timeout=10)
        self.events = []
        if self._err:
            self._err.close()
        self._err = open(self.err_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, cwd=self.workdir)
        self._reader = threading.Thread(target=self._read, args=(self.proc, self.events),
                                        daemon=True)
        self._reader.start()
        started = self.wait_for("started", timeout=timeout)
        self.peer = started["peer"]
        if self.listen:
            ev = self.wait_for("listening", timeout=timeout)
            self.endpoints = list(ev["endpoints"])
            if ev["endpoints"]:
                self.endpoint = ev["endpoints"][0]
        return self

    def _read(self, proc, events):
        """Reads one process's events into that process's event list."""
        with open(self.log_path, "a") as log:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                log.write(line + "\n")
                log.flush()
                try:
                    ev = json.loads(line)
                except ValueError:
                    ev = {"event": "unparsable", "line": line}
                ev["_t"] = time.monotonic()
                with self.cond:
                    events.append(ev)
                    self.cond.notify_all()
        with self.cond:
            events.append({"event": "_exit", "_t": time.monotonic()})
            self.cond.notify_all()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL: the process vanishes without a goodbye."""
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self._reader:
            self._reader.join(timeout=10)

    def quit(self, timeout=10.0):
        """Asks the node to stop gracefully; returns its exit code."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        try:
            self.command({"cmd": "quit"})
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise NodeError("%s did not stop within %.1fs of quit" % (self.name, timeout))

    def close(self):
        """Stops the process whatever state it is in."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._reader:
            self._reader.join(timeout=5)
        if self._err:
            self._err.close()
            self._err = None

    # -- control channel -------------------------------------------------------

    def command(self, cmd):
        if not self.alive():
            raise NodeError("%s is not running" % self.name)
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()

    def raw(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def connect(self, other_or_endpoint):
        ep = other_or_endpoint.endpoint if isinstance(other_or_endpoint, Node) else other_or_endpoint
        self.command({"cmd": "connect", "endpoint": ep})

    def send(self, other, data, **extra):
        peer = other.peer if isinstance(other, Node) else other
        cmd = {"cmd": "send", "peer": peer, "data": data}
        cmd.update(extra)
        self.command(cmd)

    def request(self, cmd, event, timeout=10.0):
        """Sends a command with an id and returns the reply carrying that id."""
        rid = int(time.monotonic() * 1e6)
        cmd = dict(cmd, id=rid)
        self.command(cmd)
        return self.wait_for(event, timeout=timeout, id=rid)

    def peers(self):
        return self.request({"cmd": "peers"}, "peers")["peers"]

    # -- events ----------------------------------------------------------------

    def _matches(self, ev, name, fields):
        if ev.get("event") != name:
            return False
        # "a|b" matches a or b (and itself, for data that holds a "|").
        return all(ev.get(k) == v or (isinstance(v, str) and "|" in v
                                      and ev.get(k) in v.split("|"))
                   for k, v in fields.items())

    def wait_for(self, name, timeout=10.0, since=0, **fields):
        """The first event `name` with the given fields at index >= since."""
        deadline = time.monotonic() + timeout
        i = since  # each event is looked at once, however many arrive
        with self.cond:
            while True:
                while i < len(self.events):
                    ev = self.events[i]
                    i += 1
                    if self._matches(ev, name, fields):
                        return ev
                    if ev.get("event") == "_exit" and name != "_exit":
                        raise NodeError("%s exited while waiting for %s %s (stderr: %s)"
                                        % (self.name, name, fields, self.stderr_tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutWaiting("%s: no %s %s within %.1fs; last events: %s"
                                         % (self.name, name, fields, timeout,
                                            [e.get("event") for e in self.events[-8:]]))
                self.cond.wait(left)

    def wait_count(self, name, count, timeout=10.0, fail_on=None, **fields):
        """Waits until `count` events `name` (with the fields) were seen.
        `fail_on`: (name, fields) of an event that ends the wait at once, as
        a failure (a link that went down delivers nothing more)."""
        deadline = time.monotonic() + timeout
        got, bad, i = [], None, 0  # each event is looked at once, however many arrive
        with self.cond:
            while True:
                while i < len(self.events):
                    e = self.events[i]
                    i += 1
                    if self._matches(e, name, fields):
                        got.append(e)
                    elif bad is None and fail_on and self._matches(e, fail_on[0], fail_on[1]):
                        bad = e
                if len(got) >= count:
                    return got
                if bad is not None:
                    raise TimeoutWaiting("%s: %s while waiting for %s events (%d of %d): %s"
                                         % (self.name, fail_on[0], name, len(got), count, bad))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutWaiting("%s: %d of %d %s events within %.1fs"
                                         % (self.name, len(got), count, name, timeout))
                self.cond.wait(left)

    def count(self, name, **fields):
        with self.cond:
            return sum(1 for e in self.events if self._matches(e, name, fields))

    def mark(self):
        """An index to pass as `since` to wait only for later events."""
        with self.cond:
            return len(self.events)

    def stderr_tail(self, n=5):
        try:
            with open(self.err_path, "rb") as f:
                return b" | ".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


class Swarm:
    """Nodes that are all stopped when the `with` block ends, pass or fail."""

    def __init__(self, binary, workdir, common_args=()):
        self.binary = binary
        self.workdir = workdir
        self.common_args = list(common_args)
        self.nodes = []

    def add(self, name, args=(), listen=True, prefix=(), start=True):
        n = Node(self.binary, name, self.workdir, self.common_args + list(args),
                 prefix=prefix, listen=listen)
        self.nodes.append(n)
        if start:
            n.start()
        return n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for n in self.nodes:
            try:
                n.close()
            except Exception:  # cleanup must go on
                pass
        return False
