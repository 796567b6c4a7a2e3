"""bench/cl_bootstrap.py against the normal approximation it must agree with at these sizes, the
paired interval against its closed form, and its command line on results.json files.
   python3 cl_bootstrap_test.py REPO_ROOT WORK_DIR"""
import json
import math
import os
import shutil
import subprocess
import sys

root, work = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(root, "bench"))
import cl_bootstrap  # noqa: E402

failures = []
n, tasks = 200, 4
half = ["10" * (n // 2)] * tasks  # every task at exactly 50 %

# AA's interval: the mean of 4 independent proportions, SE = sqrt(p(1-p)/n) / 2.
aa, lo, hi = cl_bootstrap.bootstrap(half, rounds=4000, seed=7)
want = 1.96 * math.sqrt(0.25 / n) / 2
if aa != 0.5 or abs((hi - lo) / 2 - want) > 0.15 * want or not lo < 0.5 < hi:
    failures.append(f"AA interval [{lo}, {hi}] around {aa}: half-width should be about {want:.4f}")

# Identical methods: the paired difference is exactly zero in every resample.
if cl_bootstrap.bootstrap(half, half, rounds=500) != (0.0, 0.0, 0.0):
    failures.append("identical methods: the paired interval is not [0, 0]")

# B = A with 10 of each task's 100 right answers turned wrong: per item the difference is 1 with
# p = 0.05, so SE(AA_A - AA_B) = sqrt(p(1-p)/n) / 2; unpaired it would be three times wider.
worse = ["0" * 20 + h[20:] for h in half]  # "1010..." → its first ten '1's become '0'
d, lo, hi = cl_bootstrap.bootstrap(half, worse, rounds=4000, seed=7)
want = 1.96 * math.sqrt(0.05 * 0.95 / n) / 2
if abs(d - 0.05) > 1e-12 or abs((hi - lo) / 2 - want) > 0.2 * want or lo <= 0:
    failures.append(f"paired difference {d} in [{lo}, {hi}]: half-width should be about {want:.4f}, above 0")

# The command line on two results.json files; a method without per-example results is skipped.
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
def results(path, methods):
    rows = {m: {"complete": True, "rows": [{"accuracy": [0.5] * tasks, "matched": v}]} for m, v in methods.items()}
    rows["old"] = {"complete": True, "rows": [{"accuracy": [0.5] * tasks}]}
    with open(path, "w") as f:
        json.dump({"methods": rows}, f)
a, b = os.path.join(work, "a.json"), os.path.join(work, "b.json")
results(a, {"osft": half})
results(b, {"seqft": worse})
r = subprocess.run([sys.executable, os.path.join(root, "bench", "cl_bootstrap.py"), a, b, "--pair", "osft", "seqft",
                    "--rounds", "1000"], capture_output=True, text=True)
lines = r.stdout.splitlines()
if (r.returncode != 0 or len(lines) != 5 or not lines[2].startswith("| osft | 50.0 | [")
        or not lines[3].startswith("| seqft | 45.0 | [") or not lines[4].startswith("| osft - seqft | +5.0 | [+")):
    failures.append(f"command line: exit {r.returncode}\n{r.stdout}{r.stderr}")
r = subprocess.run([sys.executable, os.path.join(root, "bench", "cl_bootstrap.py"), a, "--pair", "osft", "old"],
                   capture_output=True, text=True)
if r.returncode == 0 or "--pair names 'old'" not in r.stderr:
    failures.append(f"a method without per-example results was paired: exit {r.returncode} {r.stderr}")

if failures:
    sys.exit("\n".join(failures))
shutil.rmtree(work)
print("cl_bootstrap: ok")
