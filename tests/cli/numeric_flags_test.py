"""Every numeric flag of every subcommand, walked from `sculpt SUB --help`: NaN, infinities and
values past the type's range are refused at parse, with a non-zero exit and the flag named; a
flag whose help states a range (POSITIVE, NONNEGATIVE, [lo - hi]) also refuses the nearest value
outside it. The walk reads the live --help, so a flag added later is covered without editing this.
   python3 numeric_flags_test.py SCULPT_BINARY"""
import re
import subprocess
import sys

sculpt = sys.argv[1]


def run(*args):
    """Exit code and output; a command still running after 20 s accepted its arguments (it would
    have refused them at once), and is reported as exit 0."""
    try:
        r = subprocess.run([sculpt, *args], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return 0, "(accepted: still running after 20 s)"
    return r.returncode, r.stderr + r.stdout


def subcommands():
    _, out = run("--help")
    section = out.split("Subcommands:", 1)[1]
    return [m.group(1) for m in re.finditer(r"^\s{2}(\S+)\s", section, re.M)]


# "  --learning-rate FLOAT:POSITIVE [0.0001]  Peak learning rate", "  -s,--seed UINT [42] ..."
OPTION = re.compile(r"^\s+(?:-\w,)?(--[\w-]+)(?:,-\w)?\s+((?:FLOAT|INT|UINT)[^\[\s]*(?: in \[[^\]]*\])?)", re.M)


def numeric_flags(sub):
    _, out = run(sub, "--help")
    return [(m.group(1), m.group(2)) for m in OPTION.finditer(out)]


def outside(type_text):
    """Values just outside the range the help states, if it states one."""
    if "NONNEGATIVE" in type_text:
        return ["-1"]
    if "POSITIVE" in type_text:
        return ["0", "-1"]
    m = re.search(r"in \[([-\d.e+]+) - ([-\d.e+]+)\]", type_text)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        step = 1 if type_text.startswith(("INT", "UINT")) else max(abs(hi - lo) * 1e-3, 1e-6)
        fmt = (lambda v: str(int(v))) if type_text.startswith(("INT", "UINT")) else repr
        return [fmt(lo - step), fmt(hi + step)]
    return []


failures, walked = [], 0
for sub in subcommands():
    for flag, type_text in numeric_flags(sub):
        walked += 1
        bad = ["nan", "inf", "-inf", "1e999"]
        bad += ["99999999999999999999999"] if type_text.startswith(("INT", "UINT")) else ["1e39"]
        bad += ["-1"] if type_text.startswith("UINT") else []
        bad += outside(type_text)
        for value in bad:
            rc, out = run(sub, f"{flag}={value}")
            first = out.strip().splitlines()[0] if out.strip() else ""
            if rc == 0 or flag not in first:
                failures.append(f"sculpt {sub} {flag}={value} ({type_text}): exit {rc}, {first!r}")
print(f"walked {walked} numeric flags of {len(subcommands())} subcommands")
for f in failures:
    print("FAIL:", f)
if walked < 40:
    failures.append(f"only {walked} numeric flags found: the --help format changed?")
    print("FAIL:", failures[-1])
sys.exit(1 if failures else 0)
