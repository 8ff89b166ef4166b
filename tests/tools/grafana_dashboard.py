#!/usr/bin/env python3
"""docs/grafana/crust-node.json parses, its queries are valid PromQL
(promtool checks them as recording rules, Grafana's variables filled in),
and every metric they use is one a crust-node exports (read from a live
node's /metrics, NAT traversal on, loopback only); rate() only over
counters and histogram buckets.

Usage: grafana_dashboard.py CRUST-NODE DASHBOARD.json"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

binary, path = sys.argv[1], sys.argv[2]
failures = []


def check(ok, what):
    print(("  ok: " if ok else "FAILED: ") + what, flush=True)
    if not ok:
        failures.append(what)


with open(path) as f:
    dash = json.load(f)
exprs = [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
check(len(exprs) >= 10, "%d queries in %d panels" % (len(exprs), len(dash["panels"])))

# The metrics a node exports, and their types.
work = tempfile.mkdtemp(prefix="crust-grafana-")
proc = subprocess.Popen([binary, "--control=none", "--beacon=off", "--bootstrap-cache=none",
                         "--identity-file=" + os.path.join(work, "id"), "--metrics-address=0",
                         "--listen-address=127.0.0.1", "--port=0"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    url = None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("event") == "http_listening":
            url = event["url"]
            break
    check(url is not None, "the node serves metrics at %s" % url)
    import time
    text = ""
    for _ in range(50):  # the first snapshot within a second
        text = urllib.request.urlopen(url + "metrics", timeout=5).read().decode()
        if "crust_nat_class" in text:
            break
        time.sleep(0.1)
finally:
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(work, ignore_errors=True)
types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
check("crust_nat_class" in types, "%d metric families exported, NAT ones included" % len(types))

for title, expr in exprs:
    for name in sorted(set(re.findall(r"\bcrust_[a-z0-9_]+", expr))):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        known = name in types or (base in types and types[base] == "histogram")
        check(known, "%s: %s is exported" % (title, name))
    for name in re.findall(r"rate\((crust_[a-z0-9_]+)", expr):
        ok = types.get(name) == "counter" or (name.endswith("_bucket")
                                                 and types.get(name[:-7]) == "histogram")
        check(ok, "%s: rate() over %s, a counter" % (title, name))

# PromQL syntax: promtool, with Grafana's variables filled in.
promtool = shutil.which("promtool")
if not promtool:
    print("  (promtool is not installed: PromQL syntax not checked; tools/setup.sh installs it)")
else:
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": "crust:dashboard_%d" % i,
         "expr": e.replace("$__rate_interval", "1m").replace("$instance", ".*")}
        for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump(rules, f)  # JSON is YAML
    r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    check(r.returncode == 0, "promtool: every query is valid PromQL (%s)"
          % (r.stdout + r.stderr).strip().splitlines()[-1][:120])

print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
sys.exit(1 if failures else 0)
