#!/usr/bin/env python3
"""Builds the general-English part of sculpt-base-small's pretraining corpus from text that Debian
packages ship and from ../shared/data/general-text (no download of data at run time):
  python-docs  the Python 3.11 documentation sources (python3.11-doc), one document per page
               (the changelog is left out: release notes, mostly issue numbers)
  manpages     the Linux man-pages project (manpages), rendered to plain text, one per page
  fortunes     fortune-mod's quotations (fortunes, fortunes-min), one per quotation
  sotu         US State of the Union addresses 1790-2018, public domain (general-text/sotu)
  moby-dick    Melville's novel, public domain (general-text/moby-dick), one per chapter
Writes OUT_DIR/general-<source>.jsonl ({"text": ...} per document) and prints sizes.
Usage: build_corpus.py OUT_DIR GENERAL_TEXT_DIR   (standard library only)

The rules are those of the Node script this replaced, character for character, so that the
corpus (and the committed model's corpus.json counts) stay the same: text is decoded as UTF-8
with U+FFFD for bad bytes, and trimmed of JavaScript's String.prototype.trim whitespace set.
"""
import json
import os
import re
import subprocess
import sys

# JavaScript's WhiteSpace + LineTerminator (what String.prototype.trim strips).
JS_TRIM = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
          "\u2028\u2029\u202f\u205f\u3000\ufeff"


def clean(text):
    """\\r\\n -> \\n, no trailing spaces, at most one blank line in a row, trimmed."""
    text = re.sub(r"\r\n?", "\n", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip(JS_TRIM)


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def walk(root):
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)


def need(path, hint):
    if not os.path.exists(path):
        sys.exit(f"error: {path} is missing; hint: {hint}")


def python_docs(_):
    root = "/usr/share/doc/python3.11/html/_sources"
    need(root, "apt-get install python3.11-doc")
    return [read(f) for f in walk(root) if f.endswith(".rst.txt") and "whatsnew/changelog" not in f]


def manpages(_):
    listing = "/var/lib/dpkg/info/manpages.list"
    need(listing, "apt-get install manpages")
    pages = sorted(f for f in read(listing).split("\n")
                   if re.search(r"/man/man\d/.*\.gz$", f) and os.stat(f).st_size > 100)
    env = {**os.environ, "MANWIDTH": "80", "LANG": "C.UTF-8"}
    return [subprocess.run(["sh", "-c", 'man -l "$1" 2>/dev/null | col -bx', "sh", f], env=env,
                           check=True, capture_output=True).stdout.decode("utf-8", errors="replace")
            for f in pages]


def fortunes(_):
    root = "/usr/share/games/fortunes"
    need(root, "apt-get install fortunes")
    return [q for f in walk(root) if f.endswith(".u8") for q in re.split(r"^%$", read(f), flags=re.M)]


def sotu(general):
    root = os.path.join(general, "sotu")
    need(root, "point GENERAL_TEXT_DIR at ../shared/data/general-text")
    return [read(f) for f in walk(root) if f.endswith(".txt")]


def moby_dick(general):
    root = os.path.join(general, "moby-dick")
    need(os.path.join(root, "file_list.json"), "point GENERAL_TEXT_DIR at ../shared/data/general-text")
    order = json.loads(read(os.path.join(root, "file_list.json")))
    return [read(os.path.join(root, f)) for f in order if f != "contents.txt"]


SOURCES = {"python-docs": python_docs, "manpages": manpages, "fortunes": fortunes, "sotu": sotu,
           "moby-dick": moby_dick}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: build_corpus.py OUT_DIR GENERAL_TEXT_DIR")
    out, general = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    total = 0
    for name, source in SOURCES.items():
        docs = [t for t in map(clean, source(general)) if t]
        path = os.path.join(out, f"general-{name}.jsonl")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in docs))
        os.replace(path + ".tmp", path)
        size = sum(len(t.encode("utf-8")) for t in docs)
        total += size
        print(f"{name:<12} {len(docs):>6} documents {size / 1e6:>7.2f} MB")
    print(f"{'total':<12} {'':16} {total / 1e6:>7.2f} MB")


if __name__ == "__main__":
    main()
