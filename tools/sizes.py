#!/usr/bin/env python3
"""Lists the Rust files over 500 lines and the functions over 80 lines, outside tests and the
kernels (crates/models/src/ops/cpu*, ops/cube*), so that every file and function stays a room
a reader can hold. Tests are the files under a `tests/` folder, `*_tests.rs` and `tests.rs`,
and a file's `#[cfg(test)] mod .. { }` block. With --check the exit status is 1 when anything
is listed.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_FILE = 500
MAX_FN = 80
EXEMPT = re.compile(r"^crates/models/src/ops/(cpu|cube)")
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")


def is_test_file(path):
    parts = path.split("/")
    return "tests" in parts[:-1] or parts[-1] in ("tests.rs",) or parts[-1].endswith("_tests.rs")


def code_chars(line, state):
    """The characters of `line` that are code (strings, chars and comments blanked); `state`
    carries an open block comment or raw/normal string across lines."""
    out = []
    i = 0
    while i < len(line):
        if state["block"]:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out)
            state["block"] = False
            i = j + 2
            continue
        if state["string"]:
            end = state["string"]
            if end == '"':
                while i < len(line):
                    if line[i] == "\\":
                        i += 2
                        continue
                    if line[i] == '"':
                        state["string"] = None
                        i += 1
                        break
                    i += 1
            else:
                j = line.find(end, i)
                if j < 0:
                    return "".join(out)
                state["string"] = None
                i = j + len(end)
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        m = re.match(r'r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            state["string"] = '"' + m.group(1)
            i += len(m.group(0))
            continue
        if c == '"':
            state["string"] = '"'
            i += 1
            continue
        if c == "'":
            m = re.match(r"'(\\.|[^\\'])'", line[i:]) or re.match(r"'\\u\{[0-9a-fA-F]+\}'", line[i:])
            if m:
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def scan(path):
    lines = open(os.path.join(ROOT, path)).read().split("\n")
    state = {"block": False, "string": None}
    code = [code_chars(l, state) for l in lines]
    long_fns = []
    # Skip `#[cfg(test)]` modules.
    skip = [False] * len(lines)
    i = 0
    while i < len(lines):
        if re.match(r"#\[cfg\((all\()?test\b", lines[i].strip()) and i + 1 < len(lines) and re.match(r"\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", lines[i + 1]):
            depth, j = 0, i + 1
            while j < len(lines):
                depth += code[j].count("{") - code[j].count("}")
                skip[j] = True
                if depth <= 0 and "{" in "".join(code[i + 1 : j + 1]):
                    break
                j += 1
            i = j + 1
            continue
        i += 1
    for i, line in enumerate(lines):
        if skip[i]:
            continue
        m = FN.match(code[i])
        if not m:
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            seg = code[j]
            for ch in seg:
                if ch == "{":
                    depth += 1
                    opened = True
                elif ch == "}":
                    depth -= 1
                elif ch == ";" and not opened and depth == 0:
                    break
            else:
                if opened and depth == 0:
                    break
                j += 1
                continue
            break
        if opened:
            n = j - i + 1
            if n > MAX_FN:
                long_fns.append((m.group(7), i + 1, n))
    return len(lines) - (1 if lines and lines[-1] == "" else 0), long_fns


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="exit 1 when something is listed")
    args = ap.parse_args()
    files = subprocess.run(["git", "ls-files", "*.rs"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = 0
    for path in sorted(files):
        if is_test_file(path) or EXEMPT.match(path) or not os.path.exists(os.path.join(ROOT, path)):
            continue
        n, fns = scan(path)
        if n > MAX_FILE:
            print(f"{path}: {n} lines (over {MAX_FILE})")
            found += 1
        for name, line, length in fns:
            print(f"{path}:{line}: fn {name}: {length} lines (over {MAX_FN})")
            found += 1
    if args.check:
        print("sizes: " + ("ok" if not found else f"{found} over the limits"))
        sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
