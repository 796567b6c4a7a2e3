"""Makes a CL_Benchmark directory for hyperparameter search from the *training* files only.

    python3 bench/cl_dev_split.py BENCHMARK OUT TRAIN DEV [SEED]

For every task of the benchmark, the records of its train.json are shuffled with SEED; the first
DEV become OUT's test.json (and dev.json), the next TRAIN its train.json, so the search never sees
a test record and its own training and scoring examples are disjoint. labels.json, configs/ and
task_orders.json are copied, so `sculpt cl --benchmark OUT --order orderN` runs on it unchanged.
Standard library only; deterministic for a given SEED.
"""
import json
import os
import random
import shutil
import sys


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    bench, out, n_train, n_dev = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) == 6 else 1234
    tmp = out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in ("configs", "task_orders.json"):
        src = os.path.join(bench, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(tmp, name))
    for group in sorted(os.listdir(bench)):
        if not os.path.isdir(os.path.join(bench, group)) or group == "configs":
            continue
        for task in sorted(os.listdir(os.path.join(bench, group))):
            src = os.path.join(bench, group, task)
            if not os.path.exists(os.path.join(src, "train.json")):
                continue
            with open(os.path.join(src, "train.json"), encoding="utf-8") as f:
                records = json.load(f)
            random.Random(f"{seed}-{task}").shuffle(records)
            if len(records) < n_train + n_dev:
                sys.exit(f"error: {src}/train.json has {len(records)} records, fewer than {n_train} + {n_dev}")
            dst = os.path.join(tmp, group, task)
            os.makedirs(dst)
            shutil.copy(os.path.join(src, "labels.json"), dst)
            for split, rows in (("test", records[:n_dev]), ("dev", records[:n_dev]),
                                ("train", records[n_dev:n_dev + n_train])):
                with open(os.path.join(dst, f"{split}.json"), "w", encoding="utf-8") as f:
                    json.dump(rows, f, ensure_ascii=False)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"wrote {out}: {n_train} training and {n_dev} search examples per task, from train.json only (seed {seed})")


if __name__ == "__main__":
    main()
