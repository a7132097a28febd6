#!/usr/bin/env python3
"""Draws the module dependencies of the workspace's crates from their source and checks them.

Every path a file names, in a `use` line or inline (`crate::run::RunDir`, `super::x`,
`rnn_train::report::Console`), is resolved to the module that defines it; a path through a
re-export (`crate::RunError`, `pub use` in lib.rs or a group's file) is followed to where the
item lives. Comments and doc comments are ignored, test modules (`*_tests.rs`, `tests.rs`)
are left out.

Printed: per crate, the edges between its top-level modules (its groups) and any circle
between files; with --dot FILE, a Graphviz drawing of the groups. With --check, the exit
status is 1 when a crate has a circle between its files or groups, or when crates/train
imports against its stated order (ORDER below: a group may use only the groups listed before
it). The crate-level graph is Cargo's, which admits no circle.
"""
import argparse
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# crates/train's floors, bottom first: each group may use only the ones before it.
ORDER = {
    "crates/train": ["base", "device", "config", "report", "run", "learn", "cli", "mnist"],
}

CRATES = {
    "crates/train": "rnn_train",
    "crates/models": "rnn_models",
    "crates/data": "rnn_data",
}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        # A `//` outside a string literal starts a comment; strings holding `//` are rare
        # enough in use lines that a plain cut is enough here.
        i = line.find("//")
        if i >= 0 and line.count('"', 0, i) % 2 == 0:
            line = line[:i]
        out.append(line)
    return "\n".join(out)


def module_files(src):
    """Module path (tuple) -> file, for every .rs file under src."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel in (["lib"], ["main"]):
                key = ()
            elif rel[-1] == "mod":
                key = tuple(rel[:-1])
            else:
                key = tuple(rel)
            mods[key] = path
    return mods


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (as lists of segments)."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas\b" + IDENT, "", tree)

    def parse(s):
        # returns list of paths for string s (no surrounding braces)
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        paths = []
        for p in parts:
            if "{" in p:
                head, rest = p.split("{", 1)
                rest = rest[: rest.rfind("}")]
                head = [x for x in head.split("::") if x]
                for sub in parse(rest):
                    paths.append(head + sub)
            else:
                paths.append([x for x in p.split("::") if x])
        return paths

    return parse(tree)


class Crate:
    def __init__(self, rel, name):
        self.rel = rel
        self.name = name
        self.src = os.path.join(ROOT, rel, "src")
        self.mods = module_files(self.src)
        self.text = {m: strip_comments(open(p).read()) for m, p in self.mods.items()}
        self.reexports = {}  # (module, name) -> target path
        for m, t in self.text.items():
            for u in re.findall(r"pub\s+use\s+([^;]+);", t):
                for path in expand_use(u):
                    if path and path[0] in ("crate", "self", "super") or (m and path and path[0] != self.name):
                        target = self.absolute(m, path)
                        if target:
                            self.reexports[(m, path[-1])] = target

    def absolute(self, module, path):
        if not path:
            return None
        if path[0] == "crate" or path[0] == self.name:
            return path[1:]
        if path[0] == "super":
            base = list(module)
            while path and path[0] == "super":
                base = base[:-1]
                path = path[1:]
            return base + path
        if path[0] == "self":
            return list(module) + path[1:]
        if tuple(module + (path[0],)) in self.mods:
            return list(module) + path
        return None

    def resolve(self, path, depth=0):
        """The module (tuple) that defines the item a path names."""
        path = list(path)
        best = ()
        for i in range(len(path), -1, -1):
            if tuple(path[:i]) in self.mods:
                best = tuple(path[:i])
                rest = path[i:]
                break
        if rest and (best, rest[0]) in self.reexports and depth < 10:
            return self.resolve(self.reexports[(best, rest[0])] + rest[1:], depth + 1)
        return best

    def is_test(self, m):
        return bool(m) and (m[-1] == "tests" or m[-1].endswith("_tests"))

    def edges(self):
        out = defaultdict(set)
        for m, t in self.text.items():
            if self.is_test(m):
                continue
            # A `#[cfg(test)] mod tests { .. }` at the end of a file is the file's tests.
            cut = re.search(r"#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod\s+" + IDENT + r"\s*\{", t)
            if cut:
                t = t[: cut.start()]
            paths = []
            for u in re.findall(r"\buse\s+([^;]+);", t):
                paths += expand_use(u)
            for p in re.findall(r"\b((?:crate|super|self|" + self.name + r")(?:::" + IDENT + r")+)", t):
                paths.append(p.split("::"))
            for p in paths:
                a = self.absolute(m, p)
                if a is None:
                    continue
                target = self.resolve(a)
                if target != m and target != () and not self.is_test(target):
                    # a module using its own child is the parent declaring it
                    if target[: len(m)] == m and m != ():
                        continue
                    out[m].add(target)
        return out


def group_of(crate, m):
    return m[0] if m else "(root)"


def cycles(graph):
    """Strongly connected components with more than one node."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 on a circle or an import against the order")
    ap.add_argument("--dot", metavar="FILE", help="write crates/train's group graph as Graphviz DOT")
    ap.add_argument("--files", action="store_true", help="also print every file-to-file edge")
    args = ap.parse_args()
    bad = 0
    for rel, name in CRATES.items():
        crate = Crate(rel, name)
        edges = crate.edges()
        fname = lambda m: "::".join(m) or "(root)"
        file_graph = {fname(a): {fname(b) for b in bs} for a, bs in edges.items()}
        groups = defaultdict(lambda: defaultdict(list))
        for a, bs in edges.items():
            for b in bs:
                ga, gb = group_of(crate, a), group_of(crate, b)
                if ga != gb and ga != "(root)":
                    groups[ga][gb].append(f"{fname(a)} -> {fname(b)}")
        print(f"== {rel} ({name})")
        if rel in ORDER:
            print("   order, bottom first: " + " < ".join(ORDER[rel]))
        for ga in sorted(groups):
            for gb in sorted(groups[ga]):
                mark = ""
                order = ORDER.get(rel)
                if order and (ga not in order or gb not in order or order.index(gb) > order.index(ga)):
                    mark = "   <-- against the order"
                    bad += 1
                print(f"   {ga} -> {gb} ({len(groups[ga][gb])} imports){mark}")
                if mark or args.files:
                    for e in sorted(groups[ga][gb]):
                        print(f"        {e}")
        group_graph = {ga: set(gs) for ga, gs in groups.items()}
        for c in cycles(file_graph):
            print("   circle between files: " + " <-> ".join(c))
            bad += 1
        for c in cycles(group_graph):
            print("   circle between groups: " + " <-> ".join(c))
            bad += 1
        if args.dot and rel == "crates/train":
            with open(args.dot + ".tmp", "w") as f:
                f.write("digraph train {\n  rankdir=BT;\n")
                for ga in sorted(groups):
                    for gb in sorted(groups[ga]):
                        f.write(f'  "{ga}" -> "{gb}" [label="{len(groups[ga][gb])}"];\n')
                f.write("}\n")
            os.replace(args.dot + ".tmp", args.dot)
    if args.check:
        print("layers: " + ("ok" if bad == 0 else f"{bad} problem(s)"))
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
