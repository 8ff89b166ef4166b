"""Counting checks for the standalone test scripts: each prints its verdict
and the script ends with the plain 'N passed, M failed' line."""
import sys


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, cond, what):
        print(("  ok: " if cond else "  FAILED: ") + what)
        if cond:
            self.passed += 1
        else:
            self.failed += 1

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)
