"""Shared helpers of the interop checks: arguments, sculpt's tool, JSONL, failure reporting."""
import argparse
import json
import os
import subprocess
import sys

SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests


def arguments(extra=None):
    p = argparse.ArgumentParser()
    p.add_argument("--tool", required=True, help="build/tests/interop_tool")
    p.add_argument("--sculpt", required=True, help="build/sculpt")
    p.add_argument("--work", required=True, help="scratch directory (recreated)")
    p.add_argument("--shared", required=True, help="../shared")
    p.add_argument("--root", required=True, help="the repository")
    if extra:
        extra(p)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    return a


def skip(message):
    print(f"skipped: {message}")
    sys.exit(SKIP)


def run(*cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Failures:
    """Collects mismatches, prints the first few of each kind, and the verdict."""

    def __init__(self):
        self.counts, self.shown = {}, {}

    def check(self, ok, kind, detail=""):
        if ok:
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.shown.get(kind, 0) < 3:
            self.shown[kind] = self.shown.get(kind, 0) + 1
            print(f"MISMATCH {kind}: {detail}")

    def finish(self):
        if self.counts:
            for kind, n in sorted(self.counts.items()):
                print(f"FAILED {kind}: {n} mismatches")
            sys.exit(1)
        print("all checks passed")
