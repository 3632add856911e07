#!/usr/bin/env python3
"""Lists import cycles between the modules of src/ (each file is a module).

A reference is any `crate::a::b` or `super::x` path outside comments and
unit-test code; it points at the deepest module that path names. References
between a module and its own ancestors (a folder's `mod.rs` re-exporting a
child, the child using the folder's trait) are the facade pattern, not
cycles, and are left out. Prints each cycle (strongly connected component of
more than one module) and exits 1 if there is any.

Usage: python3 scripts/module-cycles.py [src]"""
import os
import re
import sys
from collections import defaultdict

root = sys.argv[1] if len(sys.argv) > 1 else "src"


def module_of(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return ()
    return tuple(rel)


files = {}
for dirpath, _, names in os.walk(root):
    for name in names:
        # test-only files may reach anywhere
        if name.endswith(".rs") and name != "tests.rs":
            path = os.path.join(dirpath, name)
            files[module_of(path)] = path
modules = set(files)

crate_ref = re.compile(r"\bcrate((?:::[a-z_][a-z0-9_]*)+)")
super_ref = re.compile(r"\b((?:super::)+)((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)")


def deepest(parts):
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in modules:
            return tuple(parts[:n])
    return None


graph = defaultdict(set)
for me, path in files.items():
    text = open(path, encoding="utf-8").read().split("#[cfg(test)]")[0]
    text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))
    targets = [m.group(1).strip(":").split("::") for m in crate_ref.finditer(text)]
    for m in super_ref.finditer(text):
        ups = m.group(1).count("super::")
        targets.append(list(me[: len(me) - ups]) + m.group(2).split("::"))
    for t in targets:
        t = deepest(t)
        if t is None or t == me or t[: len(me)] == me or me[: len(t)] == t:
            continue
        graph[me].add(t)

index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]


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
            cycles.append(comp)


sys.setrecursionlimit(10000)
for v in sorted(modules):
    if v not in index:
        visit(v)
for comp in cycles:
    print("cycle: " + " <-> ".join(sorted("::".join(m) for m in comp)))
print(f"{len(cycles)} import cycle(s) among {len(modules)} modules")
sys.exit(1 if cycles else 0)
