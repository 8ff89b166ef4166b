"""Runs one test of the sanitizer tree (build-san/, tools/sanitize.sh build)
as the main tree's CTest test `san.NAME`: its command, working directory and
environment as that tree's CTest has them (build-san/ctest-tests.json,
written by the build), with the sanitizers' options from our environment.

    san_test.py SAN_BUILD_DIR NAME
"""
import json
import os
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        print("usage: san_test.py SAN_BUILD_DIR NAME", file=sys.stderr)
        return 2
    build, name = sys.argv[1], sys.argv[2]
    listing = os.path.join(build, "ctest-tests.json")
    try:
        with open(listing) as f:
            tests = {t["name"]: t for t in json.load(f)["tests"]}
    except (OSError, ValueError, KeyError) as e:
        print("san_test: cannot read %s (%s): run tools/sanitize.sh build" % (listing, e))
        return 1
    if name not in tests:
        print("san_test: the sanitizer tree has no test %r (%d tests listed in %s)"
              % (name, len(tests), listing))
        return 1
    test = tests[name]
    props = {p["name"]: p["value"] for p in test.get("properties", [])}
    env = dict(os.environ)
    for item in props.get("ENVIRONMENT", []):
        key, _, value = item.partition("=")
        env[key] = value
    print("sanitized: %s" % " ".join(test["command"]), flush=True)
    return subprocess.call(test["command"], cwd=props.get("WORKING_DIRECTORY"), env=env)


if __name__ == "__main__":
    sys.exit(main())
