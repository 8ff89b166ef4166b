#!/usr/bin/env python3
"""docs/CRUST-NODE.md names every crust-node option and control command.

Usage: docs_reference.py CRUST-NODE-BINARY DOCS-PAGE
Reads the options from `crust-node --help` (its own section, "global
options") and the commands from the error a bad command gets, and fails
naming each one the page does not mention in backticks.
"""
import re
import subprocess
import sys

binary, page = sys.argv[1], sys.argv[2]
doc = open(page).read()

# Options: the "global options" section of --help (CAF's own sections,
# scheduler, logger..., follow it and are CAF's documentation's).
out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
text = out.stdout + out.stderr
section = text.split("global options:", 1)[1]
section = re.split(r"\n\s*\n|\n\S[^\n]*options:", section, maxsplit=1)[0]
options = re.findall(r"--([a-z0-9-]+)", section)
builtin = {"help", "long-help", "dump-config"}
options = [o for o in options if o not in builtin]

# Commands: listed in the answer to an unknown one.
probe = subprocess.run([binary, "--no-listen", "--beacon=off", "--bootstrap-cache=none",
                        "--no-nat", "--identity-file=/dev/null/none"],
                       input='{"cmd":"no-such-command"}\n', capture_output=True, text=True,
                       timeout=30)
m = re.search(r"unknown command .*?\(([^)]*)\)", probe.stdout)
if not m:
    # A node that cannot start (the identity path is deliberately unusable
    # only if it must be): try again with a real temporary identity.
    import tempfile, os
    key = os.path.join(tempfile.mkdtemp(), "k")
    probe = subprocess.run([binary, "--no-listen", "--beacon=off", "--bootstrap-cache=none",
                            "--no-nat", "--identity-file=" + key],
                           input='{"cmd":"no-such-command"}\n', capture_output=True, text=True,
                           timeout=30)
    m = re.search(r"unknown command .*?\(([^)]*)\)", probe.stdout)
if not m:
    print("FAIL: no command list in crust-node's answer to an unknown command:\n" + probe.stdout
          + probe.stderr)
    sys.exit(1)
commands = [c.strip() for c in m.group(1).split(",")]

missing_options = [o for o in options if "`%s`" % o not in doc and "`--%s" % o not in doc]
missing_commands = [c for c in commands if "`%s`" % c not in doc]
print("%d options and %d commands checked against %s" % (len(options), len(commands), page))
for o in missing_options:
    print("FAIL: option --%s is not in the reference" % o)
for c in missing_commands:
    print("FAIL: command %s is not in the reference" % c)
failed = len(missing_options) + len(missing_commands)
print("%d passed, %d failed" % (len(options) + len(commands) - failed, failed))
sys.exit(1 if failed else 0)
