#!/usr/bin/env python3
"""The scenario parser: good files parse; every bad file gets an error that
names its line. Runs without root or network."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab.scenario import Scenario, ScenarioError, parse_duration  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from checks import Checks  # noqa: E402

check = Checks()


def error_of(text):
    try:
        Scenario("t.scn", text)
    except ScenarioError as e:
        return str(e)
    return None


GOOD = """
# comment
segment public 203.0.113.0/24
segment lan 10.1.0.0/24
stun s on=public ip=203.0.113.100 ip2=203.0.113.101
router r wan=public lan=lan nat=symmetric ip=203.0.113.10 upnp
segment lan2 10.2.0.0/24
router z wan=public lan=lan2 nat=user mapping=apdm filtering=eif allocation=sequential hairpin udp-timeout=30s
host h on=lan
link h loss=5% rate=1mbit delay=25ms jitter=2ms
node a on=h --peer-timeout=2s
node b on=h
start a b
connect a b
connect a tcp://203.0.113.10:5000
send a b "x=y is text" count=3 priority=0
expect b message peer=a data="x=y is text 2" within=2s
expect-none a connection_down for=100ms
maintain a b
command a '{"cmd":"peers"}'
partition h h
heal h h
exec h upnpc -l expect="IGD"
stun-probe h 203.0.113.100:3478 port=40000 mapped=203.0.113.10 ports=different
wait 1.5s
kill b
restart b
stop a
"""

sc = Scenario("good.scn", GOOD)
check(sc.uses_namespaces, "a file with segments needs namespaces")
check(len(sc.topology) == 10 and len(sc.steps) == 16, "all lines parsed (%d, %d)" % (len(sc.topology), len(sc.steps)))
send = [s for s in sc.steps if s.verb == "send"][0]
check(send.args[2] == "x=y is text" and send.opts == {"count": "3", "priority": "0"},
      "send keeps text with '=' and reads its options")
zoo = [s for s in sc.topology if s.verb == "router"][1]
check(zoo.opts == {"wan": "public", "lan": "lan2", "nat": "user", "mapping": "apdm",
                   "filtering": "eif", "allocation": "sequential", "hairpin": "yes",
                   "udp-timeout": "30s"}, "a userspace NAT router's behaviours")
node = [s for s in sc.topology if s.verb == "node"][0]
check(node.args == ["a", "--peer-timeout=2s"], "crust-node flags stay arguments")
check(not Scenario("l.scn", "node a\nstart a\n").uses_namespaces, "loopback-only file needs no root")
check(parse_duration("500ms", "") == 0.5 and parse_duration("2m", "") == 120, "durations")

BAD = [
    ("node a\nstart a\nconect a a\n", "t.scn:3: unknown statement 'conect'"),
    ("node a\nstart b\n", "t.scn:2: unknown node 'b'"),
    ("node a\nstart a\nexpect a message within=soon\n", "t.scn:3: 'soon' is not a duration"),
    ("node a\nstart a\nexpect-none a message\n", "t.scn:3: expect-none needs for=DURATION"),
    ("segment s 10.0.0.0/24\nrouter r wan=s lan=x\n", "t.scn:2: unknown segment 'x'"),
    ("segment s 10.0.0.0/24\nsegment l 10.1.0.0/24\nrouter r wan=s lan=l nat=full\n",
     "t.scn:3: nat= must be cone, symmetric, none or user"),
    ("segment s 10.0.0.0/24\nsegment l 10.1.0.0/24\nrouter r wan=s lan=l nat=user mapping=cone\n",
     "t.scn:3: mapping= must be eim or adm or apdm"),
    ("segment s 10.0.0.0/24\nsegment l 10.1.0.0/24\nrouter r wan=s lan=l filtering=eif\n",
     "t.scn:3: filtering need nat=user"),
    ("segment s 10.0.0.0/24\nsegment l 10.1.0.0/24\nrouter r wan=s lan=l nat=user block-udp\n",
     "t.scn:3: block-udp needs an nftables router"),
    ("segment s 10.0.0.0/24\nsegment l 10.1.0.0/24\nrouter r wan=s lan=l udp-timeout=500ms\n",
     "t.scn:3: udp-timeout= must be a duration of at least 1s"),
    ("segment s 10.0.0.0/24\nhost h on=s\nlink h delay=25\n", "t.scn:3: '25' is not a duration"),
    ("segment s 10.0.0.0/24\nhost h on=s\nlink h loss=lots\n", "t.scn:3: loss= must be a percentage"),
    ("segment s 10.0.0.0/24\nstun x on=s ip=10.0.0.5\n", "t.scn:2: stun needs ip= and ip2="),
    ("node a\nstart a\nwait 1s 2s\n", "t.scn:3: wait takes 1 argument(s), got 2"),
    ("node a\nstart a\ncommand a {broken\n", "t.scn:3: command takes a JSON object"),
    ("node a\nstart a\nsend a a 'unterminated\n", "t.scn:3: No closing quotation"),
    ("segment s 10.0.0.0/24\nhost h on=s colour=blue\n", "t.scn:2: host does not take colour="),
    ("node a\n", "t.scn: no steps"),
]
for text, want in BAD:
    got = error_of(text)
    check(got is not None and got.startswith(want), "%r -> %s" % (want, got))

check.finish()
