"""Lower layers never include higher ones (DESIGN.md §2): every `#include "sculpt/<layer>/..."` in
src/<layer>/ and include/sculpt/<layer>/ names the same layer or one below it. A new folder must be
placed in LAYERS before it builds into a test run, so the order is decided, not drifted into.
Also checks itself: a planted upward include in a scratch copy must be reported.
   python3 layering_test.py REPO_ROOT"""
import os
import re
import shutil
import sys
import tempfile

# Lowest first: the order of DESIGN.md §2's table.
LAYERS = ["core", "linalg", "backend", "io", "text", "model", "optim", "data", "cl", "train", "eval", "experiment",
          "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"sculpt/([^/"]+)/')
UMBRELLA = {"sculpt.h"}  # include/sculpt/sculpt.h: the library's one public entry point, above every layer


def violations(root):
    found = []
    for top in ("src", os.path.join("include", "sculpt")):
        base = os.path.join(root, top)
        for folder, _, files in os.walk(base):
            for name in sorted(files):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, base)
                if rel in UMBRELLA:
                    continue
                layer = rel.split(os.sep)[0]
                if layer not in RANK:
                    found.append(f"{os.path.relpath(path, root)}: folder '{layer}' is not a layer of LAYERS "
                                 f"(place it in tests/scripts/layering_test.py and DESIGN.md §2)")
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(1)
                        if target not in RANK:
                            found.append(f"{os.path.relpath(path, root)}:{number}: includes unknown layer '{target}'")
                        elif RANK[target] > RANK[layer]:
                            found.append(f"{os.path.relpath(path, root)}:{number}: {layer}/ includes {target}/, a "
                                         f"higher layer: {line.strip()}")
    return found


root = sys.argv[1]
problems = violations(root)

# The check must be able to fail: plant core/ including cli/ in a copy of the headers and sources.
with tempfile.TemporaryDirectory() as scratch:
    for top in ("src", "include"):
        shutil.copytree(os.path.join(root, top), os.path.join(scratch, top))
    with open(os.path.join(scratch, "src", "core", "planted.cpp"), "w") as f:
        f.write('#include "sculpt/core/error.h"\n#include "sculpt/cli/commands.h"\n')
    planted = violations(scratch)
    if len(planted) != len(problems) + 1 or not any("src/core/planted.cpp:2: core/ includes cli/" in p for p in planted):
        problems.append(f"the check missed a planted upward include: {planted}")

if problems:
    sys.exit("\n".join(problems))
print(f"layering: ok ({len(LAYERS)} layers)")
