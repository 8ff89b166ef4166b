"""The NAT zoo (issue 26): lab routers with every RFC 4787 behaviour, each
checked from outside by an RFC 5780 behaviour probe before anything trusts it.

  probe    routers of every kind — the userspace NAT (tools/crustlab/usernat.py)
           in several mapping/filtering/allocation/hairpin combinations, the
           nftables cone and symmetric routers, a home NAT behind a
           carrier-grade NAT (100.64.0.0/10) — and a host behind each running
           tools/crustlab/nat_probe.py against coturn (RFC 5780: two
           addresses, two ports): the probe must find what the lab built.
           A user NAT with a 3 s UDP timeout keeps a mapping 1 s and loses it
           after 5 s. A stranger's datagram reaches a full cone's mapping and
           not a port-restricted cone's.

Root only; every namespace lives in 203.0.113.0/24 (public), 100.64.0.0/10
(the CGNAT's side) and 10.x (LANs), created and removed by the test.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab.casetest import check, run_case, step  # noqa: E402

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
PROBE = os.path.join(TOOLS, "crustlab", "nat_probe.py")
STUN_IPS = ("203.0.113.100", "203.0.113.101")
OWN_IPS = ("203.0.113.110", "203.0.113.111")   # nat_probe's own server (timeouts)

# name: (router kwargs, what the probe must find)
ZOO = {
    "fullcone": (dict(nat="user", mapping="eim", filtering="eif", allocation="preserve",
                      hairpin=True),
                 dict(mapping="eim", filtering="eif", allocation="preserve", hairpin=True)),
    "restricted": (dict(nat="user", mapping="eim", filtering="adf", allocation="sequential"),
                   dict(mapping="eim", filtering="adf", allocation="sequential",
                        hairpin=False)),
    "portrestricted": (dict(nat="user", mapping="eim", filtering="apdf", allocation="random"),
                       dict(mapping="eim", filtering="apdf", allocation="random",
                            hairpin=False)),
    "addrdep": (dict(nat="user", mapping="adm", filtering="apdf", allocation="preserve"),
                dict(mapping="adm", filtering="apdf")),
    "symseq": (dict(nat="user", mapping="apdm", filtering="apdf", allocation="sequential"),
               dict(mapping="apdm", filtering="apdf", allocation="sequential")),
    "symrand": (dict(nat="user", mapping="apdm", filtering="apdf", allocation="random"),
                dict(mapping="apdm", filtering="apdf", allocation="random")),
    "nftcone": (dict(nat="cone"),
                dict(mapping="eim", filtering="apdf", allocation="preserve", hairpin=False)),
    "nftsym": (dict(nat="symmetric"), dict(mapping="apdm", filtering="apdf",
                                           allocation="random")),
}


def probe(host, ips, extra=()):
    return subprocess.Popen(host.prefix() + [sys.executable, PROBE, "probe", ips[0], ips[1]]
                            + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def result(p, name):
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    if p.returncode != 0:
        check(False, "%s: the probe failed: %s" % (name, err.strip()[-300:]))
    return json.loads(out.strip().splitlines()[-1])


def case_probe(lab, workdir, args):
    lab.segment("public", "203.0.113.0/24")
    stun = lab.host("stun", "public", ip=STUN_IPS[0], extra_ips=[STUN_IPS[1]])
    lab.stun_server(stun)
    own = lab.host("own", "public", ip=OWN_IPS[0], extra_ips=[OWN_IPS[1]])
    lab.spawn(own, [sys.executable, PROBE, "serve", OWN_IPS[0], OWN_IPS[1],
                    "--duration", "120"], "nat-probe-server")
    lab.wait_log("nat-probe-server", "nat_probe serving")
    hosts = {}
    for i, (name, (kw, _)) in enumerate(sorted(ZOO.items())):
        lan = "z%d" % i
        lab.segment(lan, "10.%d.0.0/24" % (60 + i))
        lab.router("r" + name, "public", lan, wan_ip="203.0.113.%d" % (20 + i),
                   stun=list(STUN_IPS), **kw)
        hosts[name] = lab.host("h" + name, lan)
    # A home NAT (user: endpoint-independent, full cone) behind a
    # carrier-grade NAT (nftables masquerade) on 100.64.0.0/10: what a host
    # sees is the two in series.
    lab.segment("cgn", "100.64.0.0/10")
    lab.router("rcgn", "public", "cgn", nat="cone", wan_ip="203.0.113.40",
               stun=list(STUN_IPS))
    lab.segment("home", "10.80.0.0/24")
    lab.router("rhome", "cgn", "home", nat="user", mapping="eim", filtering="eif")
    hosts["home_behind_cgnat"] = lab.host("hhome", "home")
    # The timeout knob: a user NAT that forgets a UDP mapping after 3 s.
    lab.segment("short", "10.90.0.0/24")
    lab.router("rshort", "public", "short", nat="user", wan_ip="203.0.113.41", udp_timeout=3)
    short = lab.host("hshort", "short")

    step("an RFC 5780 probe behind each of %d routers, against coturn" % len(hosts))
    running = {name: probe(h, STUN_IPS) for name, h in hosts.items()}
    timeout_probe = probe(short, OWN_IPS, ["--timeout-check", "1", "5"])
    want = {name: w for name, (_, w) in ZOO.items()}
    want["home_behind_cgnat"] = dict(mapping="eim", filtering="apdf", hairpin=False)
    for name in sorted(running):
        got = result(running[name], name)
        ok = all(got.get(k) == v for k, v in want[name].items())
        check(ok, "%-18s built %s; the probe finds %s/%s/%s, hairpin %s, external %s"
              % (name, "/".join(str(v) for v in want[name].values()), got["mapping"],
                 got["filtering"], got["allocation"], got["hairpin"], got["external"]))
        if name == "home_behind_cgnat":
            check(got["external"].startswith("203.0.113.40:"),
                  "behind the CGNAT the mapping is the CGNAT's address")
    step("a stranger (a public host no router ever sent to) reaches a full cone's mapping, "
         "and not a port-restricted cone's")
    stranger = lab.host("stranger", "public", ip="203.0.113.120")
    for name, want in (("fullcone", True), ("portrestricted", False)):
        p = subprocess.Popen(hosts[name].prefix() + [sys.executable, PROBE, "await", STUN_IPS[0],
                                                     STUN_IPS[1], "--seconds", "2"],
                             stdout=subprocess.PIPE, text=True)
        mapping = json.loads(p.stdout.readline())["mapping"]
        stranger.run(sys.executable, PROBE, "send", mapping)
        heard = json.loads(p.stdout.readline())["received_from"]
        p.wait(timeout=10)
        check((heard is not None) == want, "%s: the stranger's datagram to %s %s"
              % (name, mapping, "arrived from " + heard if heard else "was dropped"))
    got = result(timeout_probe, "short timeout")
    alive = got.get("mapping_alive_after", {})
    check(alive.get("1") is True and alive.get("5") is False,
          "a 3 s UDP timeout: the mapping lives 1 s (%s), is gone after 5 s (%s)"
          % (alive.get("1"), alive.get("5")))


CASES = {"probe": case_probe}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", help="the crust-node binary (cases that run nodes)")
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    binary = os.path.abspath(args.node) if args.node else None
    return run_case("crust-zoo-%s-" % args.case,
                    lambda lab, workdir: CASES[args.case](lab, workdir, args),
                    lab=True, binary=binary)


if __name__ == "__main__":
    sys.exit(main())
