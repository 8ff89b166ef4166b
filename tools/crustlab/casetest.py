"""The frame every scripted test case runs in: a work directory kept only
when the case fails, a one-line verdict, checks and steps printed as they
pass, and (for namespace tests) a Lab torn down whatever happens."""
import os
import shutil
import signal
import sys
import tempfile

from .netlab import Lab, LabError, require_root
from .node import NodeError


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("  ok:", what, flush=True)


def step(text):
    print("-", text, flush=True)


def run_case(prefix, body, lab=False, binary=None):
    """Runs body(workdir) — or body(lab, workdir) with `lab` — and returns
    the exit code: 0 passed, 1 failed (logs kept and named; kept on a pass
    too with CRUST_KEEP_LOGS=1)."""
    if lab:
        require_root()
    # A TERM (a timeout, a killed run) unwinds like an error: the lab's
    # namespaces and processes go with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    workdir = tempfile.mkdtemp(prefix=prefix)
    ok = False
    try:
        if lab:
            netem = os.path.join(os.path.dirname(binary), "netem-lite") if binary else None
            with Lab(workdir, netem=netem) as the_lab:
                body(the_lab, workdir)
        else:
            body(workdir)
        ok = True
    except (AssertionError, NodeError, LabError) as e:
        print("FAILED:", e)
        print("logs kept in", workdir)
    finally:
        if ok and not os.environ.get("CRUST_KEEP_LOGS"):
            shutil.rmtree(workdir, ignore_errors=True)
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1
