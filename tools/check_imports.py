"""Static check of sr_lib's architecture: the import graph points one way and has no circle.

    python tools/check_imports.py            # report; exit 0 when every rule holds, 1 otherwise
    python tools/check_imports.py --edges    # also list every import edge

Every module under ``sr_lib/`` is parsed with ``ast`` (nothing is imported or run), and every
import statement counts, wherever it sits (module level, inside functions, under
``if TYPE_CHECKING``). Edges:

- ``import sr_lib.x.y``                    → ``sr_lib.x.y``;
- ``from sr_lib.x import y``               → ``sr_lib.x.y`` if that is a module, else ``sr_lib.x``
  (so a package ``__init__`` that re-exports names is an edge from whoever imports them
  to the ``__init__``, and from the ``__init__`` to the modules it re-exports);
- relative imports are resolved against the importing module's package;
- ``importlib.import_module("sr_lib.x")`` with a literal, and string literals naming an sr_lib
  module inside a module that calls ``import_module`` (e.g. a table of command modules), are
  *dynamic* edges: they count like the others. Non-literal dynamic imports that cannot be
  resolved (``pkgutil.walk_packages``) are listed, not checked.
The implicit import of parent packages (``import sr_lib.a.b`` runs ``sr_lib/__init__``) is not
an edge: it would tie every module to the top-level façade.

Layers, lowest first (an import may only point to the same or a lower layer):

    0 core     geometry, errors, paths, config, data/, metrics/
    1 models   models/ (encoders/, layers/)
    2 official official/, compat.py (the shim)
    3 engine   engine/
    4 repro    repro/ (papers/)
    5 viz      viz/
    6 surface  sr_lib/__init__.py, __main__.py, cli.py (what users call)

Rules (issue 13, "How it is checked"):
  (a) nothing in models/ imports engine, official, repro or viz;
  (b) no import circle among sr_lib modules;
  (c) no module outside repro/ and viz/ imports repro or viz (the surface, which stands above
      every wing like the notebooks do, is the one exception: the CLI lists its commands);
  (d) data/ and metrics/ import neither models nor engine;
  (e) official imports no engine/repro/viz; engine imports no repro/viz; repro imports no viz;
  (f) at most 8 loose modules directly in sr_lib/;
  (g) one way: no import from a lower layer to a higher one.
"""
from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "sr_lib"
MAX_LOOSE = 8

LAYERS = ["core", "models", "official", "engine", "repro", "viz", "surface"]
LEVEL = {name: i for i, name in enumerate(LAYERS)}
SURFACE = {f"{PACKAGE}", f"{PACKAGE}.__main__", f"{PACKAGE}.cli"}
OFFICIAL_LOOSE = {f"{PACKAGE}.compat"}


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    line: int
    dynamic: bool = False

    def __str__(self):
        return f"{self.src} -> {self.dst} (line {self.line}{', dynamic' if self.dynamic else ''})"


@dataclass
class Graph:
    root: Path                                   # the directory holding the package
    modules: dict[str, Path] = field(default_factory=dict)      # module name -> file
    packages: set[str] = field(default_factory=set)            # names whose file is __init__.py
    edges: list[Edge] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)        # dynamic imports not resolved

    def targets(self, src: str) -> set[str]:
        return {e.dst for e in self.edges if e.src == src}


# ------------------------------------------------------------------------------------------------
# parsing
# ------------------------------------------------------------------------------------------------
def module_name(path: Path, root: Path) -> str:
    """``root/sr_lib/a/b.py`` → ``sr_lib.a.b``; ``root/sr_lib/a/__init__.py`` → ``sr_lib.a``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve_relative(mod: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of ``from {'.' * level}{name} import ...`` written in ``mod``."""
    base = mod.split(".") if is_package else mod.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _in_package(name: str, pkg: str) -> bool:
    return name == pkg or name.startswith(pkg + ".")


def _owner(graph: Graph, name: str) -> str | None:
    """The longest known module that ``name`` (a dotted path) lies in, or None outside the package."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        cand = ".".join(parts[:n])
        if cand in graph.modules:
            return cand
    return None


def _module_edges(graph: Graph, mod: str, tree: ast.AST) -> list[Edge]:
    is_pkg = mod in graph.packages
    out: list[Edge] = []
    calls_import_module = False

    def add(dst_name: str, line: int, dynamic: bool = False):
        dst = _owner(graph, dst_name)
        if dst is not None and dst != mod:
            out.append(Edge(mod, dst, line, dynamic))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _in_package(alias.name, PACKAGE):
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve_relative(mod, is_pkg, node.level, node.module) if node.level
                    else (node.module or ""))
            if not _in_package(base, PACKAGE):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if alias.name != "*" and sub in graph.modules else base, node.lineno)
        elif isinstance(node, ast.Call):
            fn = node.func
            fname = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
            if fname in ("import_module", "__import__"):
                calls_import_module = True
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    if _in_package(arg.value, PACKAGE):
                        add(arg.value, node.lineno, dynamic=True)
                else:
                    graph.unresolved.append(f"{mod} (line {node.lineno}): {ast.unparse(node)}")
    if calls_import_module:
        # string tables of module names handed to import_module (e.g. the CLI's command list)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in graph.modules and node.value != mod):
                add(node.value, node.lineno, dynamic=True)
    # one edge per (src, dst): the first line it appears on, a static one before a dynamic one
    best: dict[str, Edge] = {}
    for e in sorted(out, key=lambda e: (e.dynamic, e.line)):
        best.setdefault(e.dst, e)
    return sorted(best.values(), key=lambda e: e.dst)


def build_graph(root: Path | str, package: str = PACKAGE) -> Graph:
    """Parse every ``.py`` file under ``root/package`` into the module import graph."""
    root = Path(root)
    graph = Graph(root=root)
    files = sorted(p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        name = module_name(path, root)
        graph.modules[name] = path
        if path.name == "__init__.py":
            graph.packages.add(name)
    for name, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph.edges.extend(_module_edges(graph, name, tree))
    return graph


# ------------------------------------------------------------------------------------------------
# layers and rules
# ------------------------------------------------------------------------------------------------
def layer_of(mod: str) -> str:
    if mod in SURFACE:
        return "surface"
    if mod in OFFICIAL_LOOSE:
        return "official"
    parts = mod.split(".")
    if len(parts) == 2 and parts[1] not in LEVEL:          # a loose module: geometry, errors, ...
        return "core"
    group = parts[1]
    if group in ("data", "metrics"):
        return "core"
    return group if group in LEVEL else "core"


def _in(mod: str, *groups: str) -> bool:
    return any(_in_package(mod, f"{PACKAGE}.{g}") for g in groups)


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Import circles: the strongly connected components with more than one module (Tarjan)."""
    adj = {m: sorted(graph.targets(m)) for m in graph.modules}
    index, low, stack, on_stack, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):                                    # iterative Tarjan (no recursion limit)
        work = [(v, iter(adj[v]))]
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on_stack.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on_stack.add(w)
                    work.append((w, iter(adj[w])))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop(); on_stack.discard(w); comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        comps.append(sorted(comp))

    for m in sorted(adj):
        if m not in index:
            visit(m)
    return sorted(comps)


def cycle_in(graph: Graph, comp: list[str]) -> list[str]:
    """One concrete circle through the first module of a strongly connected component (BFS)."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.targets(v) & members):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def loose_modules(graph: Graph) -> list[str]:
    return sorted(p.name for m, p in graph.modules.items() if p.parent == graph.root / PACKAGE)


def check(graph: Graph) -> dict[str, list[str]]:
    """Rule letter → its violations (empty lists when the rule holds)."""
    v: dict[str, list[str]] = {k: [] for k in "abcdefg"}
    for e in graph.edges:
        s, d = e.src, e.dst
        if _in(s, "models") and _in(d, "engine", "official", "repro", "viz"):
            v["a"].append(str(e))
        if _in(d, "repro", "viz") and not _in(s, "repro", "viz") and layer_of(s) != "surface":
            v["c"].append(str(e))
        if _in(s, "data", "metrics") and _in(d, "models", "engine"):
            v["d"].append(str(e))
        if ((_in(s, "official") or s in OFFICIAL_LOOSE) and _in(d, "engine", "repro", "viz")) \
                or (_in(s, "engine") and _in(d, "repro", "viz")) or (_in(s, "repro") and _in(d, "viz")):
            v["e"].append(str(e))
        if LEVEL[layer_of(d)] > LEVEL[layer_of(s)]:
            v["g"].append(f"{e}  [{layer_of(s)} -> {layer_of(d)}]")
    for comp in strongly_connected(graph):
        v["b"].append(" -> ".join(cycle_in(graph, comp)) + f"   ({len(comp)} modules in the component)")
    loose = loose_modules(graph)
    if len(loose) > MAX_LOOSE:
        v["f"].append(f"{len(loose)} loose modules (at most {MAX_LOOSE}): {' '.join(loose)}")
    return v


RULES = {
    "a": "models/ imports nothing from engine, official, repro, viz",
    "b": "no import circle",
    "c": "only repro/ and viz/ (and the surface on top) import repro or viz",
    "d": "data/ and metrics/ import neither models nor engine",
    "e": "official -/-> engine/repro/viz; engine -/-> repro/viz; repro -/-> viz",
    "f": f"at most {MAX_LOOSE} loose modules in {PACKAGE}/",
    "g": "one way: no import from a lower layer to a higher one",
}


# ------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------
def report(graph: Graph, violations: dict[str, list[str]], show_edges: bool = False) -> str:
    lines = []
    n_dyn = sum(e.dynamic for e in graph.edges)
    lines.append(f"{PACKAGE} import graph: {len(graph.modules)} modules, {len(graph.edges)} import edges"
                 f" ({n_dyn} dynamic)")
    lines.append("")
    lines.append(f"{'level':<6}{'layer':<10}{'modules':>8}  imports (layer: modules-to-module edges)")
    for layer in LAYERS:
        mods = [m for m in graph.modules if layer_of(m) == layer]
        counts: dict[str, int] = {}
        for e in graph.edges:
            if layer_of(e.src) == layer:
                counts[layer_of(e.dst)] = counts.get(layer_of(e.dst), 0) + 1
        deps = "  ".join(f"{d}:{counts[d]}" for d in LAYERS if d in counts) or "-"
        lines.append(f"{LEVEL[layer]:<6}{layer:<10}{len(mods):>8}  {deps}")
    lines.append("")
    loose = loose_modules(graph)
    lines.append(f"loose modules in {PACKAGE}/: {len(loose)} (at most {MAX_LOOSE}): {' '.join(loose)}")
    circles = violations["b"]
    lines.append(f"{len(circles)} circle{'' if len(circles) == 1 else 's'}")
    lines.append("")
    for k, text in RULES.items():
        bad = violations[k]
        lines.append(f"({k}) {text}: {'ok' if not bad else f'{len(bad)} violation(s)'}")
        lines.extend(f"      {b}" for b in bad)
    if graph.unresolved:
        lines.append("")
        lines.append("dynamic imports not resolved (not checked):")
        lines.extend(f"      {u}" for u in graph.unresolved)
    if show_edges:
        lines.append("")
        lines.append("edges:")
        lines.extend(f"      {e}" for e in graph.edges)
    total = sum(len(b) for b in violations.values())
    lines.append("")
    lines.append("result: OK" if total == 0 else f"result: FAIL ({total} violation(s))")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]),
                        help="directory holding the sr_lib package (default: this repository)")
    parser.add_argument("--edges", action="store_true", help="list every import edge")
    args = parser.parse_args(argv)
    graph = build_graph(args.root)
    violations = check(graph)
    print(report(graph, violations, show_edges=args.edges))
    return 0 if not any(violations.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
