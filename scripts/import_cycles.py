#!/usr/bin/env python3
"""Import circles between the crate's source files.

Reads every file under src/, maps it to its module path (src/imaging/pipeline/decode.rs is
crate::imaging::pipeline::decode), collects the module paths each file names (in `use`
declarations and in inline `crate::…`, `super::…`, `self::…` paths), resolves each to the
longest module that has a file, and prints every group of files that import each other in a
circle (strongly connected components of more than one file). Exit status 1 if there is one.

A module's own file naming its descendants (`mod x;`, `pub use x::Item;`) is how Rust declares
and re-exports a module's parts, not a dependency, so those edges are left out; a child naming
its parent (or any other module) counts. Test files (`*tests.rs`, `tests/` modules, files
compiled only under `#[cfg(test)]`) are left out: they may reach anywhere.

    python3 scripts/import_cycles.py        # prints the circles, or "no import circles"
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path: str) -> tuple:
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel in (["lib"], ["main"]):
        return ("crate",)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return ("crate",) + tuple(rel)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def use_paths(text: str) -> list:
    """Every path a `use` names, with brace groups expanded."""
    paths = []

    def expand(prefix: str, body: str):
        depth, start, parts = 0, 0, []
        for i, c in enumerate(body):
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == "," and depth == 0:
                parts.append(body[start:i])
                start = i + 1
        parts.append(body[start:])
        for part in parts:
            part = part.strip()
            if not part:
                continue
            m = re.match(r"^([\w:]*?)::\{(.*)\}$", part, flags=re.S)
            if m:
                expand(prefix + m.group(1) + "::", m.group(2))
            elif part.startswith("{") and part.endswith("}"):
                expand(prefix, part[1:-1])
            else:
                paths.append(prefix + re.sub(r"\s+as\s+\w+$", "", part))

    for m in re.finditer(r"\buse\s+([^;]+);", text, flags=re.S):
        body = re.sub(r"\s+", " ", m.group(1))
        expand("", re.sub(r"\s*(::|\{|\}|,)\s*", r"\1", body).strip())
    return paths


def main() -> int:
    files = {}
    for dirpath, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                files[module_of(path)] = path
    test_modules = set()
    for module, path in files.items():
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:#\[path\s*=\s*\"([^\"]+)\"\]\s*)?(?:pub(?:\([\w:]+\))?\s+)?mod\s+(\w+)\s*;", text):
            test_modules.add(module + (m.group(2),))
    modules = {m for m, p in files.items() if not p.endswith("tests.rs") and m not in test_modules
               and "tests" not in m[1:]}

    def resolve(current: tuple, path: str):
        parts = path.split("::")
        if parts[0] == "crate":
            base, rest = ("crate",), parts[1:]
        elif parts[0] in ("super", "self"):
            base = current
            while parts and parts[0] in ("super", "self"):
                if parts[0] == "super":
                    base = base[:-1]
                parts = parts[1:]
            rest = parts
        else:
            # A path relative to the current module (a child, or a name it imported).
            base, rest = current, parts
            if not rest or base + (rest[0],) not in files:
                return None
        candidate = base
        best = base if base in files else None
        for part in rest:
            candidate = candidate + (part,)
            if candidate in files:
                best = candidate
        return best

    edges = {m: set() for m in modules}
    for module in modules:
        text = strip_comments(open(files[module], encoding="utf-8").read())
        # Only the part of the file before its inline `#[cfg(test)] mod tests { … }`.
        cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
        if cut:
            text = text[: cut.start()]
        named = use_paths(text)
        named += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", text)
        for path in named:
            target = resolve(module, path)
            if target is None or target == module or target not in modules:
                continue
            if target[: len(module)] == module:
                continue  # a module's file naming its own parts
            edges[module].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    for group in groups:
        names = sorted(os.path.relpath(files[m], os.path.join(ROOT, "..")) for m in group)
        print("import circle: " + " <-> ".join(names))
    if not groups:
        print(f"no import circles among {len(modules)} source files")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main())
