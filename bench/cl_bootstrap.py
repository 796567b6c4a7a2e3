"""95 % bootstrap intervals for the average accuracy (AA) of `sculpt cl` runs, and for the paired
difference of two methods' AA on the same test items.

    python3 bench/cl_bootstrap.py RESULTS.json [RESULTS.json ...] [--pair A B] [--rounds N] [--seed S]

Each results.json (from `sculpt cl`) keeps, per evaluation row, which test examples were answered
right (`matched`: one '0'/'1' per example and task). AA is the mean over tasks of the accuracy after
the last task. A bootstrap round resamples every task's test items with replacement (stratified by
task, as the tasks are fixed) and recomputes AA; the interval is the 2.5th and 97.5th percentiles.
For a pair of methods evaluated on the same items (same seed and caps), one resample serves both,
so the interval of A - B accounts for their correlation. Methods are named `<file>:<method>`, or
just the method when it is unique. Standard library only; deterministic for a given --seed.
"""
import argparse
import json
import random
import sys


def final_rows(paths):
    """{name: [matched string per task]} of the last evaluation row of every complete method."""
    rows, counts = {}, {}
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        for method, m in r["methods"].items():
            if not m.get("complete") or not m["rows"] or "matched" not in m["rows"][-1]:
                continue
            rows[f"{path}:{method}"] = m["rows"][-1]["matched"]
            counts[method] = counts.get(method, 0) + 1
    # A method found in one file only may be named alone.
    for key in list(rows):
        method = key.rsplit(":", 1)[1]
        if counts[method] == 1:
            rows[method] = rows[key]
    return rows


def average_accuracy(matched, picks=None):
    """Mean over tasks of the fraction of '1's, over the items `picks[t]` of task t (all when None)."""
    total = 0.0
    for t, hits in enumerate(matched):
        items = picks[t] if picks is not None else range(len(hits))
        total += sum(hits[i] == "1" for i in items) / len(items)
    return total / len(matched)


def bootstrap(matched_a, matched_b=None, rounds=10000, seed=1234):
    """(point, low, high) of AA(a), or of AA(a) - AA(b) on shared resamples."""
    if matched_b is not None and [len(x) for x in matched_a] != [len(x) for x in matched_b]:
        raise ValueError("the two methods were not evaluated on the same number of items per task")
    rng = random.Random(seed)
    point = average_accuracy(matched_a) - (average_accuracy(matched_b) if matched_b else 0.0)
    values = []
    for _ in range(rounds):
        picks = [[rng.randrange(len(hits)) for _ in hits] for hits in matched_a]
        v = average_accuracy(matched_a, picks)
        if matched_b is not None:
            v -= average_accuracy(matched_b, picks)
        values.append(v)
    values.sort()
    return point, values[int(0.025 * rounds)], values[min(rounds - 1, int(0.975 * rounds))]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+")
    p.add_argument("--pair", nargs=2, action="append", default=[], metavar=("A", "B"))
    p.add_argument("--rounds", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()
    rows = final_rows(a.results)
    if not rows:
        sys.exit("error: no complete method with per-example results (matched) in " + ", ".join(a.results))
    print("| method | AA | 95 % interval |\n|---|---|---|")
    for name in sorted(k for k in rows if ":" not in k or k.rsplit(":", 1)[1] not in rows):
        aa, lo, hi = bootstrap(rows[name], rounds=a.rounds, seed=a.seed)
        print(f"| {name} | {100 * aa:.1f} | [{100 * lo:.1f}, {100 * hi:.1f}] |")
    for x, y in a.pair:
        for n in (x, y):
            if n not in rows:
                sys.exit(f"error: --pair names '{n}', which is not among: {', '.join(sorted(rows))}")
        d, lo, hi = bootstrap(rows[x], rows[y], rounds=a.rounds, seed=a.seed)
        print(f"| {x} - {y} | {100 * d:+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] |")


if __name__ == "__main__":
    main()
