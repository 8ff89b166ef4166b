#!/usr/bin/env python3
"""The scenario runner cleans up after a failure and after Ctrl-C, and
refuses namespace scenarios without root. Needs root (as CI has)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
RUNNER = os.path.join(ROOT, "tools", "crust-scenario")
check = Checks()


def scenario(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".scn", delete=False)
    f.write(text)
    f.close()
    os.chmod(f.name, 0o644)  # the unprivileged run must read it too
    return f.name


def leftovers(output):
    m = re.search(r"lab namespaces: (cl[0-9a-f]+)-\*", output)
    if not m:
        return None
    tag = m.group(1)
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    procs = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout
    return [l for l in ns.splitlines() if l.startswith(tag)] + procs.split()


node = sys.argv[1]
LAB = """segment s 10.7.0.0/24
host h1 on=s
host h2 on=s
link h1 delay=10ms
node a on=h1
node b on=h2
start a b
connect a b
expect a connection_up peer=b
"""

print("- a failing scenario removes everything and keeps the logs")
path = scenario(LAB + "expect a message data=never within=1s\n")
r = subprocess.run([sys.executable, RUNNER, "--node", node, path], capture_output=True, text=True,
                   timeout=120)
check(r.returncode == 1, "exit code 1 on failure")
check("[FAIL]" in r.stdout and "logs and events of every node kept in" in r.stdout,
      "says which step failed and where the logs are")
left = leftovers(r.stdout)
check(left == [], "no namespace or process left (%s)" % left)
kept = re.search(r"kept in (\S+)", r.stdout).group(1)
check(os.path.exists(os.path.join(kept, "a.events")), "node events kept in " + kept)
shutil.rmtree(kept, ignore_errors=True)  # kept for the user; this test has read them

print("- Ctrl-C in the middle removes everything")
path = scenario(LAB + "wait 60s\n")
p = subprocess.Popen([sys.executable, RUNNER, "--node", node, path], stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True)
out = ""
deadline = time.monotonic() + 30
while "connection_up" not in out and time.monotonic() < deadline:
    out += p.stdout.readline()
p.send_signal(signal.SIGINT)
rest, _ = p.communicate(timeout=60)
out += rest
check(p.returncode == 1 and "interrupted" in out, "stops with a message when interrupted")
left = leftovers(out)
check(left == [], "no namespace or process left (%s)" % left)
m = re.search(r"kept in (\S+)", out)
if m:
    shutil.rmtree(m.group(1), ignore_errors=True)

print("- namespace scenarios refuse to run without root")
# The unprivileged user (nobody) must be able to read the runner, the
# scenario and an interpreter: the checkout may sit below a 0700 directory
# (as /root is) and python3 may be a per-user install. So the runner and the
# scenario are copied to a fresh world-readable directory, and the first
# interpreter that nobody can actually start is used; if there is none, this
# one check is skipped, saying why.
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def usable_by_nobody(python):
    try:
        return subprocess.run(AS_NOBODY + [python, "-c", "import json, socket"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


candidates = [sys.executable, "/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
python = next((c for c in candidates if os.path.exists(c) and usable_by_nobody(c)), None)
if python is None:
    print("  skip: no python3 that an unprivileged user can start (tried %s)"
          % ", ".join(candidates))
else:
    public = tempfile.mkdtemp(prefix="crust-nobody-")
    try:
        os.chmod(public, 0o755)
        shutil.copy(RUNNER, public)
        shutil.copytree(os.path.join(ROOT, "tools", "crustlab"),
                        os.path.join(public, "crustlab"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(path, os.path.join(public, "lab.scn"))
        for d, dirs, files in os.walk(public):
            for name in dirs:
                os.chmod(os.path.join(d, name), 0o755)
            for name in files:
                os.chmod(os.path.join(d, name), 0o644)
        r = subprocess.run(AS_NOBODY + [python, os.path.join(public, "crust-scenario"),
                                        "--node", node, os.path.join(public, "lab.scn")],
                           capture_output=True, text=True, timeout=60, cwd=public)
        check(r.returncode == 2 and "needs root" in r.stdout,
              "clear refusal (as nobody, %s): %s" % (python, (r.stdout + r.stderr).strip()))
    finally:
        shutil.rmtree(public, ignore_errors=True)

check.finish()
