#!/usr/bin/env python3
"""crust-node's metrics-address with the real parts (issue 28).

  prometheus  three nodes on loopback, each serving /metrics on a free
              loopback port; Debian's Prometheus (its own process, a free
              loopback port, a scrape every second) scrapes them, and its
              HTTP API must report crust_connections matching the swarm — and
              again after one node leaves.
  browser     the status page in headless Chromium (--dump-dom): the peer
              table's rows are the node's peers, our id and NAT class are shown.
  bounds      read-only and bounded: POST is refused (405), unknown paths 404,
              a 10 KB request line 414, a burst past 50 requests a second
              gets 429s, a client that sends nothing does not hold the
              listener; no listener without the option; a bad value is
              refused at start.

Skips (exit 0, saying why) only when Prometheus or Chromium is not
installed (tools/setup.sh installs both). Loopback only.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from crustlab import Swarm  # noqa: E402
from crustlab.casetest import check, run_case, step  # noqa: E402

COMMON = ["--beacon=off", "--bootstrap-cache=none", "--no-nat", "--metrics-address=0"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, data=None, method=None, timeout=5):
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


def metrics_url(node):
    return node.wait_for("http_listening", timeout=10)["url"]


def swarm_of_three(swarm):
    nodes = [swarm.add("n%d" % i, args=COMMON) for i in range(3)]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        nodes[a].connect(nodes[b])
        nodes[a].wait_for("connection_up", peer=nodes[b].peer, timeout=10)
    return nodes


def case_prometheus(workdir):
    binary = shutil.which("prometheus")
    if not binary:
        print("SKIPPED: prometheus is not installed (tools/setup.sh installs it)")
        return
    with Swarm(NODE, workdir) as swarm:
        nodes = swarm_of_three(swarm)
        targets = {n.name: urllib.parse.urlparse(metrics_url(n)).netloc for n in nodes}
        step("the nodes serve /metrics: %s" % ", ".join(sorted(targets.values())))
        status, text, headers = get("http://%s/metrics" % targets["n0"])
        check(status == 200 and headers.get("Content-Type", "").startswith("text/plain")
              and "# TYPE crust_connections gauge" in text,
              "/metrics answers in the text format (%d, %s)"
              % (status, headers.get("Content-Type")))
        port = free_port()
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: crust\n    static_configs:\n"
                    "      - targets: [%s]\n" % ", ".join('"%s"' % t for t in targets.values()))
        log = open(os.path.join(workdir, "prometheus.log"), "w")
        prom = subprocess.Popen([binary, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:%d" % port,
                                 "--storage.tsdb.path=" + os.path.join(workdir, "tsdb")],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            api = "http://127.0.0.1:%d/api/v1/query?query=" % port

            def query(q):
                try:
                    status, body, _ = get(api + urllib.parse.quote(q), timeout=3)
                except (urllib.error.URLError, ConnectionError, socket.timeout):
                    return None
                if status != 200:
                    return None
                return {r["metric"].get("instance"): float(r["value"][1])
                        for r in json.loads(body)["data"]["result"]}

            def wait_query(q, want, seconds=30):
                deadline = time.monotonic() + seconds
                got = None
                while time.monotonic() < deadline:
                    got = query(q)
                    if got == want:
                        return got
                    time.sleep(0.5)
                return got

            want = {targets[n.name]: 2.0 for n in nodes}
            got = wait_query("sum by (instance) (crust_connections)", want)
            check(got == want, "Prometheus scraped every node: crust_connections %s" % got)
            got = wait_query("up", {t: 1.0 for t in targets.values()}, 10)
            check(got == {t: 1.0 for t in targets.values()}, "every target up: %s" % got)
            got = query("crust_handshake_seconds_count")
            check(got and all(v >= 2 for v in got.values()),
                  "handshake histograms scraped: %s" % got)
            step("n2 leaves: the others' counts drop to 1")
            nodes[2].quit()
            want = {targets["n0"]: 1.0, targets["n1"]: 1.0}
            got = wait_query("sum by (instance) (crust_connections) and on(instance) up == 1",
                             want)
            check(got == want, "crust_connections after n2 left: %s" % got)
        finally:
            prom.terminate()
            try:
                prom.wait(timeout=10)
            except subprocess.TimeoutExpired:
                prom.kill()
            log.close()


def case_browser(workdir):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        print("SKIPPED: chromium is not installed (tools/setup.sh installs it)")
        return
    with Swarm(NODE, workdir) as swarm:
        nodes = swarm_of_three(swarm)
        url = metrics_url(nodes[0])
        # The page is refreshed every second: wait for a snapshot with both peers.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if json.loads(get(url + "status.json")[1] or "{}").get("connections") == 2:
                break
            time.sleep(0.2)
        profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
        r = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-first-run", "--user-data-dir=" + profile, "--dump-dom", url],
                           capture_output=True, text=True, timeout=60)
        dom = r.stdout
        check(r.returncode == 0 and "<table id=\"peers\">" in dom,
              "Chromium rendered the page (exit %d, %d bytes of DOM)" % (r.returncode, len(dom)))
        rows = [line for line in dom.split("<tr ") if line.startswith('class="peer"')]
        shown = sorted(line.split('data-peer="', 1)[1].split('"', 1)[0] for line in rows)
        want = sorted([nodes[1].peer, nodes[2].peer])
        check(shown == want, "the peer table in the rendered DOM lists n0's peers: %d rows" %
              len(shown))
        check(nodes[0].peer in dom and 'id="nat-class">unknown<' in dom,
              "our id and the NAT class (unknown: no STUN here) are shown")


def case_bounds(workdir):
    with Swarm(NODE, workdir) as swarm:
        a = swarm.add("a", args=COMMON)
        url = metrics_url(a)
        host, port = urllib.parse.urlparse(url).hostname, urllib.parse.urlparse(url).port
        check(host == "127.0.0.1", "a port alone means loopback (%s)" % url)
        status, _, headers = get(url + "metrics", data=b"x", method="POST")
        check(status == 405 and "GET" in headers.get("Allow", ""), "POST refused: %d" % status)
        check(get(url + "nope")[0] == 404, "unknown path: 404")
        status = get(url + "metrics", data=b"x" * 4096, method="POST")[0]
        check(status == 405, "POST with a 4 KiB body refused: %d" % status)
        status = get(url + "metrics?" + "x" * 10000)[0]
        check(status == 414, "a 10 KB request line refused: %d" % status)
        step("a client that connects and sends nothing, two more that do the same")
        idle = [socket.create_connection((host, port)) for _ in range(3)]
        t = time.monotonic()
        status = get(url + "status.json", timeout=10)[0]
        check(status == 200, "the listener still answers (%d in %.1f s)"
              % (status, time.monotonic() - t))
        for s in idle:
            s.close()
        time.sleep(1.1)  # the bucket refills
        codes = [get(url + "metrics")[0] for _ in range(200)]
        check(codes.count(429) > 0 and codes.count(200) >= 50,
              "200 requests at once: %d answered, %d told 429" % (codes.count(200),
                                                                 codes.count(429)))
        # The identity file's seed (its last line, hex) appears in no document.
        with open(a.key_path) as f:
            seed = f.read().split()[-1].lower()
        time.sleep(2.1)  # the burst above emptied the bucket
        answers = [get(url + p) for p in ("metrics", "status.json", "")]
        docs = [body.lower() for status, body, _ in answers if status == 200]
        check(len(docs) == 3 and len(seed) >= 64
              and all(seed not in d and seed[:32] not in d for d in docs),
              "the private key's seed appears in none of /metrics, /status.json, /")
        b = swarm.add("b", args=["--beacon=off", "--bootstrap-cache=none", "--no-nat"])
        b.peers()
        check(b.count("http_listening") == 0, "no listener without metrics-address")
    r = subprocess.run([NODE, "--metrics-address=localhost:80", "--beacon=off"],
                       capture_output=True, text=True, timeout=10, input="")
    check(r.returncode == 2 and "metrics-address" in r.stderr,
          "a bad metrics-address is refused at start: %s" % r.stderr.strip()[:120])


CASES = {"prometheus": case_prometheus, "browser": case_browser, "bounds": case_bounds}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "--node" or sys.argv[3] not in CASES:
        sys.exit("usage: status_http.py --node CRUST-NODE {%s}" % "|".join(CASES))
    NODE = os.path.abspath(sys.argv[2])
    sys.exit(run_case("crust-http-%s-" % sys.argv[3], CASES[sys.argv[3]]))
