"""A network lab of Linux network namespaces: segments (bridges), NAT
routers (nftables), hosts, a STUN server (coturn) and UPnP/NAT-PMP
(miniupnpd). Everything it creates carries a unique prefix and is removed by
`teardown()`, which `Lab` calls on exit, pass or fail.

Traffic stays inside the namespaces: segments are bridges in their own
namespace, and the root namespace only briefly holds each veth pair while it
is moved into place.
"""
import ipaddress
import os
import re
import secrets
import signal
import subprocess
import sys
import time


class LabError(Exception):
    pass


def require_root():
    if os.geteuid() != 0:
        raise LabError("this scenario builds network namespaces and needs root "
                       "(run it as root, or use a loopback-only scenario)")


class Segment:
    def __init__(self, lab, name, subnet, subnet6=None):
        self.lab = lab
        self.name = name
        self.net = ipaddress.ip_network(subnet)
        # IPv6 beside IPv4 (dual stack): global addresses, routed by the
        # segment's routers without NAT.
        self.net6 = ipaddress.ip_network(subnet6) if subnet6 else None
        self.ns = lab.ns_name("s", name)
        self.router = None          # the router whose LAN this is
        self._hosts = self.net.hosts()
        self._hosts6 = self.net6.hosts() if self.net6 else None
        self._taken = set()

    def allocate(self, wanted=None):
        if wanted:
            ip = ipaddress.ip_address(wanted)
            if ip not in self.net or ip in self._taken:
                raise LabError("address %s is not free in segment %s" % (wanted, self.name))
        else:
            ip = next(a for a in self._hosts if a not in self._taken)
        self._taken.add(ip)
        return ip

    def allocate6(self):
        ip = next(a for a in self._hosts6 if a not in self._taken)
        self._taken.add(ip)
        return ip


class Host:
    """A namespace with one interface `eth0` on a segment (routers have two)."""

    def __init__(self, lab, name, kind="h"):
        self.lab = lab
        self.name = name
        self.ns = lab.ns_name(kind, name)
        self.ips = []
        self.ip6 = None             # its global IPv6 address, on a dual-stack segment
        self.segment = None

    @property
    def ip(self):
        """Its (first) IPv4 address; an IPv6-only host's IPv6 address."""
        return str(self.ips[0]) if self.ips else str(self.ip6)

    def run(self, *cmd, check=True, **kw):
        return self.lab.run("ip", "netns", "exec", self.ns, *cmd, check=check, **kw)

    def prefix(self):
        return ["ip", "netns", "exec", self.ns]


USERNAT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "usernat.py")


class Router(Host):
    """nat: "cone" (nftables masquerade: endpoint-independent mapping,
    port-preserving, address-and-port-dependent filtering), "symmetric"
    (masquerade random,fully-random), "none", or "user": the userspace NAT
    (usernat.py) with any RFC 4787 behaviour, given as `behaviour`."""

    def __init__(self, lab, name, nat):
        super().__init__(lab, name, kind="r")
        if nat not in ("cone", "symmetric", "none", "user"):
            raise LabError("router %s: nat must be cone, symmetric, none or user, not %r"
                           % (name, nat))
        self.nat = nat
        self.behaviour = {}
        self.wan_ip = None
        self.lan_ip = None
        self.wan6 = None            # IPv6 (dual-stack segments on both sides)
        self.lan6 = None
        self.lan = None
        self.upnp = False
        self.block_udp = False


class Lab:
    def __init__(self, workdir, log=None, netem=None):
        require_root()
        self.workdir = workdir
        self.netem = netem  # path to netem-lite, for link delay
        self.tag = "cl" + secrets.token_hex(3)   # unique per run: parallel runs never collide
        self.namespaces = []
        self.processes = []
        self.segments = {}
        self.hosts = {}
        self._veths = 0
        self.log = open(log or os.path.join(workdir, "lab-commands.log"), "a")

    # -- plumbing ----------------------------------------------------------------

    def ns_name(self, kind, name):
        return "%s-%s-%s" % (self.tag, kind, name)

    def run(self, *cmd, check=True, input=None, timeout=30):
        self.log.write("$ " + " ".join(cmd) + "\n")
        self.log.flush()
        r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
        if r.stdout:
            self.log.write(r.stdout)
        if r.stderr:
            self.log.write(r.stderr)
        if check and r.returncode != 0:
            raise LabError("command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd),
                                                            r.stderr.strip()))
        return r

    def _add_ns(self, ns):
        self.run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        self.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        # No stray IPv6 autoconfiguration or router solicitations.
        self.run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_ra=0")

    def _veth(self, seg, host_ns, ifname):
        """A veth from the segment's bridge to `ifname` in `host_ns`."""
        self._veths += 1
        a = "%s%da" % (self.tag, self._veths)
        b = "%s%db" % (self.tag, self._veths)
        self.run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        self.run("ip", "link", "set", a, "netns", seg.ns)
        self.run("ip", "link", "set", b, "netns", host_ns)
        self.run("ip", "netns", "exec", seg.ns, "ip", "link", "set", a, "master", "br0", "up")
        self.run("ip", "netns", "exec", host_ns, "ip", "link", "set", b, "name", ifname)
        # No duplicate address detection: the IPv6 link-local address is
        # usable (e.g. for beacon multicast) the moment the link is up.
        self.run("ip", "netns", "exec", host_ns, "sysctl", "-qw",
                 "net.ipv6.conf.%s.accept_dad=0" % ifname, check=False)
        self.run("ip", "netns", "exec", host_ns, "ip", "link", "set", ifname, "up")

    # -- topology ------------------------------------------------------------------

    def segment(self, name, subnet, subnet6=None):
        """subnet6: IPv6 beside IPv4 (documentation prefixes, 2001:db8::/32).
        A router between two dual-stack segments routes IPv6 without NAT,
        behind a stateful firewall (unsolicited inbound dropped)."""
        if name in self.segments:
            raise LabError("segment %s defined twice" % name)
        seg = Segment(self, name, subnet, subnet6)
        self._add_ns(seg.ns)
        self.run("ip", "netns", "exec", seg.ns, "ip", "link", "add", "br0", "type", "bridge")
        self.run("ip", "netns", "exec", seg.ns, "ip", "link", "set", "br0", "up")
        self.segments[name] = seg
        return seg

    def _get_segment(self, name):
        if name not in self.segments:
            raise LabError("unknown segment %s" % name)
        return self.segments[name]

    def router(self, name, wan, lan, nat="cone", wan_ip=None, upnp=False, stun=None,
               block_udp=False, udp_timeout=None, mapping="eim", filtering="apdf",
               allocation="preserve", hairpin=False):
        """block_udp: forward no UDP from the LAN but to the STUN servers (a
        firewall that lets only TCP through, so UDP punching cannot work).
        udp_timeout: seconds a UDP mapping lives without a packet, whether
        or not it has seen an answer (the kernel's defaults are 30 s
        unanswered and 120 s answered; many home routers use 30-60 s).
        mapping, filtering, allocation, hairpin: RFC 4787 behaviours, for
        nat="user" only (usernat.py); the nftables kinds have fixed ones.
        A router whose WAN is another router's LAN (a home NAT behind a
        carrier-grade NAT) routes through that router."""
        if nat != "user" and (mapping, filtering, allocation, hairpin) != ("eim", "apdf",
                                                                           "preserve", False):
            raise LabError("router %s: mapping, filtering, allocation and hairpin need "
                           "nat=\"user\"" % name)
        if nat == "user" and block_udp:
            raise LabError("router %s: block_udp needs an nftables router" % name)
        wan_seg, lan_seg = self._get_segment(wan), self._get_segment(lan)
        if lan_seg.router:
            raise LabError("segment %s already has router %s" % (lan, lan_seg.router.name))
        r = Router(self, name, nat)
        r.block_udp = block_udp
        self._add_ns(r.ns)
        r.wan_ip = wan_seg.allocate(wan_ip)
        r.lan_ip = lan_seg.allocate(next(lan_seg.net.hosts()))
        r.lan = lan_seg
        r.segment = wan_seg
        r.ips = [r.wan_ip]
        lan_seg.router = r
        self._veth(wan_seg, r.ns, "wan")
        self._veth(lan_seg, r.ns, "lan")
        r.run("ip", "addr", "add", "%s/%d" % (r.wan_ip, wan_seg.net.prefixlen), "dev", "wan")
        r.run("ip", "addr", "add", "%s/%d" % (r.lan_ip, lan_seg.net.prefixlen), "dev", "lan")
        r.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        if wan_seg.router:
            r.run("ip", "route", "add", "default", "via", str(wan_seg.router.lan_ip))
        if wan_seg.net6 and lan_seg.net6:
            if nat == "user":
                raise LabError("router %s: IPv6 needs an nftables router" % name)
            self._route6(r, wan_seg, lan_seg)
        if nat == "user":
            r.behaviour = {"mapping": mapping, "filtering": filtering,
                           "allocation": allocation, "hairpin": hairpin,
                           "udp_timeout": 30 if udp_timeout is None else udp_timeout}
            self._usernat(r)
        else:
            self._nat_rules(r, stun or [])
            if udp_timeout is not None:
                self.set_udp_timeout(r, udp_timeout)
        self.hosts[name] = r
        return r

    def _route6(self, r, wan_seg, lan_seg):
        """IPv6 through router `r`: an address on each side, forwarding, and
        routes between its LAN and every other dual-stack LAN and public
        host on the same WAN segment (no NAT; the firewall is the inet
        table of _nat_rules)."""
        r.wan6 = wan_seg.allocate6()
        r.lan6 = lan_seg.allocate6()
        r.run("ip", "-6", "addr", "add", "%s/%d" % (r.wan6, wan_seg.net6.prefixlen), "dev", "wan",
              "nodad")
        r.run("ip", "-6", "addr", "add", "%s/%d" % (r.lan6, lan_seg.net6.prefixlen), "dev", "lan",
              "nodad")
        r.run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        for other in self.hosts.values():
            if other is r or other.segment is not wan_seg:
                continue
            if getattr(other, "lan6", None) is not None:
                other.run("ip", "-6", "route", "add", str(lan_seg.net6), "via", str(r.wan6))
                r.run("ip", "-6", "route", "add", str(other.lan.net6), "via", str(other.wan6))
            elif other.ip6 is not None:
                other.run("ip", "-6", "route", "add", str(lan_seg.net6), "via", str(r.wan6))

    def _nat_rules(self, r, stun_ips):
        masq = {"cone": "masquerade", "symmetric": "masquerade random,fully-random",
                "none": ""}[r.nat]
        # Like a home router: forward LAN->WAN, let replies and mapped (DNAT)
        # traffic back in, drop anything unsolicited from the WAN (see
        # NATLAB notes: without this, punching collides in conntrack). The
        # table is inet: IPv6 gets the same stateful firewall, but no NAT.
        accept_stun = "".join("            ip saddr %s accept\n" % ip for ip in stun_ips)
        block_udp = ""
        if r.block_udp:
            allowed = ", ".join(stun_ips) if stun_ips else "127.0.0.1"
            block_udp = ('            iifname "lan" meta l4proto udp ip daddr != { %s } drop\n'
                         % allowed)
        if r.nat == "none":
            rules = ""
        else:
            rules = """table inet filter {
        chain miniupnpd {
        }
        chain forward {
            type filter hook forward priority 0; policy drop;
            ct state established,related accept
            ct status dnat accept
%s            iifname "lan" accept
            jump miniupnpd
        }
        chain input {
            type filter hook input priority 0; policy accept;
            iifname "wan" ct state established,related accept
%s            iifname "wan" meta l4proto { icmp, ipv6-icmp } accept
            iifname "wan" ct state new drop
        }
        chain prerouting_miniupnpd {
        }
        chain postrouting_miniupnpd {
        }
        chain prerouting {
            type nat hook prerouting priority -100; policy accept;
            jump prerouting_miniupnpd
        }
        chain postrouting {
            type nat hook postrouting priority 100; policy accept;
            jump postrouting_miniupnpd
            oifname "wan" meta nfproto ipv4 %s
        }
}
""" % (block_udp, accept_stun, masq)
        if rules:
            r.run("nft", "-f", "-", input=rules)

    def _usernat(self, r):
        """Starts usernat.py in the router's namespace and waits until its
        TUN device and routing are in place."""
        b = r.behaviour
        cmd = [sys.executable, USERNAT, "--wan-ip", str(r.wan_ip), "--lan", str(r.lan.net),
               "--lan-ip", str(r.lan_ip), "--mapping", b["mapping"], "--filtering",
               b["filtering"], "--allocation", b["allocation"], "--udp-timeout",
               str(b["udp_timeout"]), "--stats", os.path.join(self.workdir,
                                                              "usernat-%s.json" % r.name)]
        if b["hairpin"]:
            cmd.append("--hairpin")
        if os.environ.get("CRUST_USERNAT_TRACE"):
            cmd += ["--trace", os.environ["CRUST_USERNAT_TRACE"]]
        self.spawn(r, cmd, "usernat-" + r.name)
        self.wait_log("usernat-" + r.name, "usernat ready", timeout=10)

    def set_udp_timeout(self, r, seconds):
        """The router's UDP mapping timeout (conntrack's, per namespace),
        read back to be sure the kernel took it."""
        seconds = int(seconds)
        keys = ("net.netfilter.nf_conntrack_udp_timeout",
                "net.netfilter.nf_conntrack_udp_timeout_stream")
        for key in keys:
            r.run("sysctl", "-qw", "%s=%d" % (key, seconds))
            got = r.run("sysctl", "-n", key).stdout.strip()
            if got != str(seconds):
                raise LabError("router %s: %s is %s, not %d" % (r.name, key, got, seconds))
        r.udp_timeout = seconds

    def unblock_udp(self, r):
        """Lifts a router's `block_udp` while the lab runs (the firewall
        opens, as when a network changes under a running node)."""
        if not r.block_udp:
            raise LabError("router %s does not block UDP" % r.name)
        listing = r.run("nft", "-a", "list", "chain", "inet", "filter", "forward").stdout
        handles = [line.rsplit("# handle ", 1)[1].strip() for line in listing.splitlines()
                   if "meta l4proto udp" in line and " drop" in line and "# handle " in line]
        if len(handles) != 1:
            raise LabError("router %s: expected one UDP drop rule, found %d" % (r.name, len(handles)))
        r.run("nft", "delete", "rule", "inet", "filter", "forward", "handle", handles[0])
        r.block_udp = False

    def host(self, name, segment, ip=None, extra_ips=(), ipv4=True):
        """ipv4=False: an IPv6-only host (on a dual-stack segment)."""
        if name in self.hosts:
            raise LabError("host %s defined twice" % name)
        seg = self._get_segment(segment)
        if not ipv4 and not seg.net6:
            raise LabError("host %s: IPv6 only needs a dual-stack segment" % name)
        h = Host(self, name)
        self._add_ns(h.ns)
        self._veth(seg, h.ns, "eth0")
        h.segment = seg
        for want in ([ip] + list(extra_ips) if ipv4 else []):
            if want is None and h.ips:
                continue
            addr = seg.allocate(want)
            h.ips.append(addr)
            h.run("ip", "addr", "add", "%s/%d" % (addr, seg.net.prefixlen), "dev", "eth0")
        if seg.router and ipv4:
            h.run("ip", "route", "add", "default", "via", str(seg.router.lan_ip))
        if seg.net6:
            h.ip6 = seg.allocate6()
            h.run("ip", "-6", "addr", "add", "%s/%d" % (h.ip6, seg.net6.prefixlen), "dev", "eth0",
                  "nodad")
            if seg.router and getattr(seg.router, "lan6", None) is not None:
                h.run("ip", "-6", "route", "add", "default", "via", str(seg.router.lan6))
            elif not seg.router:
                # A public host: routes to the dual-stack LANs behind its segment's routers.
                for other in self.hosts.values():
                    if getattr(other, "lan6", None) is not None and other.segment is seg:
                        h.run("ip", "-6", "route", "add", str(other.lan.net6), "via",
                              str(other.wan6))
        self.hosts[name] = h
        return h

    def get(self, name):
        if name not in self.hosts:
            raise LabError("unknown host %s" % name)
        return self.hosts[name]

    # -- services --------------------------------------------------------------------

    def spawn(self, host, cmd, name):
        out = open(os.path.join(self.workdir, name + ".log"), "ab")
        p = subprocess.Popen(host.prefix() + cmd, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=self.workdir)
        self.processes.append((p, out))
        return p

    def stun_server(self, host):
        """coturn in STUN-only mode on the host's two addresses (RFC 5780
        needs an alternate address and port)."""
        if len(host.ips) < 2:
            raise LabError("a STUN server needs two addresses (RFC 5780)")
        db = os.path.join(self.workdir, "turndb-%s" % host.name)
        # Our own (empty) config file: Debian's /etc/turnserver.conf turns
        # RFC 5780 off, and turnserver reads it unless told otherwise.
        conf = os.path.join(self.workdir, "turnserver-%s.conf" % host.name)
        open(conf, "w").close()
        cmd = ["turnserver", "-c", conf, "--stun-only", "--no-cli", "--no-tls", "--no-dtls",
               "--listening-ip", str(host.ips[0]), "--listening-ip", str(host.ips[1]),
               "--alt-listening-port", "3479", "--listening-port", "3478",
               "--db", db, "--pidfile", os.path.join(self.workdir, "turn-%s.pid" % host.name),
               "--log-file", "stdout", "--simple-log", "--no-software-attribute"]
        p = self.spawn(host, cmd, "turnserver-" + host.name)
        self.wait_udp_listening(host, 3478)
        return p

    def upnp(self, router, stun_host, upnp=True, natpmp=True):
        """miniupnpd (UPnP IGD and NAT-PMP, or just one of them) on a NAT router."""
        conf = os.path.join(self.workdir, "miniupnpd-%s.conf" % router.name)
        with open(conf, "w") as f:
            f.write("""ext_ifname=wan
listening_ip=lan
http_port=0
enable_natpmp=%s
enable_upnp=%s
secure_mode=yes
system_uptime=yes
ext_perform_stun=yes
ext_stun_host=%s
ext_stun_port=3478
uuid=3b0b6a2e-6f1c-4c4d-9d2f-%s
lease_file=%s
allow 1024-65535 %s 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
""" % ("yes" if natpmp else "no", "yes" if upnp else "no", stun_host.ip, secrets.token_hex(6),
       os.path.join(self.workdir, "upnp-%s.leases" % router.name), router.lan.net))
        p = self.spawn(router, ["miniupnpd", "-d", "-f", conf, "-P",
                                os.path.join(self.workdir, "miniupnpd-%s.pid" % router.name)],
                       "miniupnpd-" + router.name)
        router.upnp = True
        return p

    def wait_udp_listening(self, host, port, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = host.run("ss", "-Hlun", "sport", "= :%d" % port, check=False)
            if r.stdout.strip():
                return
            time.sleep(0.1)
        raise LabError("nothing listens on UDP port %d in %s" % (port, host.name))

    # -- link properties and partitions ----------------------------------------------

    def shape(self, host, loss=None, rate=None, delay_ms=None, jitter_ms=None, inbound=False):
        """Link properties of the host's uplink (a router's WAN), for traffic
        it sends and forwards: random loss (both directions), a rate limit
        (tbf), and delay with jitter (netem-lite on NFQUEUE: this kernel has
        no netem, see NATLAB notes). With `inbound` the delay applies to what
        arrives on the uplink instead: a host's own outgoing packets held in
        NFQUEUE still count against its TCP small-queue budget, which caps a
        delayed sender at a few packets per delay (0.2 MB/s at 25 ms);
        packets held on arrival come from another namespace and do not."""
        ifname = "wan" if isinstance(host, Router) else "eth0"
        have_netem = bool(self.netem) and os.access(self.netem, os.X_OK)
        if loss and not have_netem:
            # Per skb: a GSO burst is dropped whole. netem-lite drops per datagram.
            p = "%.4f" % (float(loss) / 100.0)
            for chain, flag in (("POSTROUTING", "-o"), ("PREROUTING", "-i")):
                host.run("iptables", "-t", "mangle", "-A", chain, flag, ifname, "-m", "statistic",
                         "--mode", "random", "--probability", p, "-j", "DROP")
        if rate:
            host.run("tc", "qdisc", "replace", "dev", ifname, "root", "tbf", "rate", rate,
                     "burst", "32kbit", "latency", "400ms")
        if delay_ms and not have_netem:
            raise LabError("link delay needs netem-lite (built with crust; not found at %s)"
                           % self.netem)
        # One netem-lite per direction that needs one: queue 1 for what leaves
        # on the uplink, queue 2 for what arrives on it. Both drop `loss`; the
        # delay goes to one of them.
        for queue, chain, flag, delayed in ((1, "POSTROUTING", "-o", not inbound),
                                            (2, "PREROUTING", "-i", inbound)):
            d = int(delay_ms) if delay_ms and delayed else 0
            if not ((loss and have_netem) or d):
                continue
            name = "netem-%s-%d" % (host.name, queue)
            argv = [self.netem, "--queue", str(queue), "--delay-ms", str(d),
                    "--jitter-ms", str(int(jitter_ms or 0) if d else 0),
                    "--seed", str(41 + queue)]
            if loss:
                argv += ["--loss-percent", str(float(loss))]
            self.spawn(host, argv, name)
            self.wait_log(name, "ready")
            host.run("iptables", "-t", "mangle", "-A", chain, flag, ifname, "-j",
                     "NFQUEUE", "--queue-num", str(queue))
            if host.ip6 is not None or getattr(host, "wan6", None) is not None:
                # Dual stack: IPv6 goes through the same queue, same delay.
                host.run("ip6tables", "-t", "mangle", "-A", chain, flag, ifname, "-j",
                         "NFQUEUE", "--queue-num", str(queue))

    def wait_log(self, name, text, timeout=10):
        path = os.path.join(self.workdir, name + ".log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(path, "rb") as f:
                if text.encode() in f.read():
                    return
            time.sleep(0.05)
        raise LabError("%s did not say %r within %ds" % (name, text, timeout))

    def partition(self, a, b, heal=False):
        """Drops everything between two hosts (on both), or lets it through again."""
        op = "-D" if heal else "-I"
        for x, y in ((a, b), (b, a)):
            for ip in y.ips:
                x.run("iptables", op, "INPUT", "-s", str(ip), "-j", "DROP", check=not heal)
                x.run("iptables", op, "OUTPUT", "-d", str(ip), "-j", "DROP", check=not heal)

    # -- teardown --------------------------------------------------------------------

    def teardown(self):
        for p, out in self.processes:
            if p.poll() is None:
                p.terminate()
        for p, out in self.processes:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            out.close()
        self.processes = []
        # Anything still running inside our namespaces goes too.
        for ns in self.namespaces:
            r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.namespaces = []
        self._restore_neighbour_limits()
        self.log.close()

    NEIGH_KEYS = ["net.%s.neigh.default.gc_thresh%d" % (f, i)
                  for f in ("ipv4", "ipv6") for i in (1, 2, 3)]

    def raise_neighbour_limits(self, entries):
        """The kernel's neighbour (ARP/NDP) table is one for all network
        namespaces, limited by gc_thresh3 (1,024 by default) and set in the
        root namespace only. A lab of many hosts on one segment fills it
        ("neighbor table overflow" in dmesg) and then drops packets to
        neighbours it cannot resolve. Raises the thresholds to fit `entries`;
        teardown puts the old values back once no lab of ours is left."""
        if getattr(self, "_neigh_saved", None):
            return
        saved = {}
        for key in self.NEIGH_KEYS:
            path = "/proc/sys/" + key.replace(".", "/")
            with open(path) as f:
                old = int(f.read())
            want = entries * {"1": 1, "2": 2, "3": 4}[key[-1]] // 4
            if old < want:
                saved[key] = old
                self.run("sysctl", "-qw", "%s=%d" % (key, want))
        self._neigh_saved = saved

    def _restore_neighbour_limits(self):
        saved = getattr(self, "_neigh_saved", None)
        if not saved:
            return
        self._neigh_saved = None
        # Another lab (a parallel test) may still need them.
        r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        if any(re.match(r"cl[0-9a-f]{6}-", line) for line in r.stdout.splitlines()):
            return
        for key, old in saved.items():
            subprocess.run(["sysctl", "-qw", "%s=%d" % (key, old)], capture_output=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False
