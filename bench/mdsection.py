#!/usr/bin/python3
"""Replace one generated section of BENCHMARKS.md, leaving everything else (hand-written prose)
as it is. A section is the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`; a
section not in the file yet is appended at its end (the file is created if missing).

From Python: `mdsection.replace_section("run", text)`. From a shell:
`bench/mdsection.py NAME < text` (bench/callgrind.sh does this).
"""
import os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "BENCHMARKS.md")


def replace_section(name, text, path=PATH):
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n"
    i = doc.find(begin)
    j = doc.find(end, i + len(begin)) if i >= 0 else -1
    if i >= 0 and j >= 0:
        doc = doc[:i] + block + doc[j + len(end):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)


def section(name, path=PATH):
    """The current text of a section ("" if absent)."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        return ""
    i = doc.find(begin)
    j = doc.find(end, i + len(begin)) if i >= 0 else -1
    return doc[i + len(begin):j].strip() if i >= 0 and j >= 0 else ""


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--print":
        print(section(sys.argv[2]))
    elif len(sys.argv) == 2:
        replace_section(sys.argv[1], sys.stdin.read())
    else:
        sys.exit("usage: bench/mdsection.py NAME < text | bench/mdsection.py --print NAME")
