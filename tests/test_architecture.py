"""The package's structure: layers, imports only pointing down, no cycles.

Every ``import`` in the package is read with ``ast`` -- at module top and inside functions -- and
resolved to the package module it names. The layers, lowest first (``../shared/docs/
architecture.md``)::

    _core < laws = data < model < posterior < inference < decisions < evaluation < plots
          < report < cli

A module may import only from its own subpackage or a lower layer; ``laws`` and ``data`` do not
import each other; ``decisions`` and ``plots`` never import ``inference`` (they work on results,
they do not sample); package imports sit at module top (heavy third-party modules may be
imported lazily, package modules may not); and the graph has no cycle. The facade
``scaling_bayes/__init__.py`` imports lazily by name and is exempt. Tests import public names
only.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "scaling_bayes"

LAYERS = {
    "_core": 0, "laws": 1, "data": 1, "model": 2, "posterior": 3, "inference": 4,
    "decisions": 5, "evaluation": 6, "plots": 7, "report": 8, "cli": 9,
}
NEVER = {("decisions", "inference"), ("plots", "inference"), ("laws", "data"), ("data", "laws")}


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


MODULES = _modules()


def _group(module: str) -> str | None:
    """The layer group of ``scaling_bayes.<group>[.…]`` (None for the facade)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _resolve(node: ast.ImportFrom | ast.Import, module: str) -> list[str]:
    """Package modules an import statement loads (``from pkg import sub`` names ``pkg.sub``)."""
    names = []
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name.split(".")[0] == "scaling_bayes":
                names.append(a.name)
        return [n for n in names if n in MODULES]
    base = node.module or ""
    if node.level:
        pkg = module.split(".")
        if not MODULES[module].name == "__init__.py":
            pkg = pkg[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([base] if base else []))
    if base.split(".")[0] != "scaling_bayes":
        return []
    out = []
    for a in node.names:
        sub = f"{base}.{a.name}"
        out.append(sub if sub in MODULES else base)
    return sorted({m for m in out if m in MODULES})


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str):
    """``(line, target, at_top)`` for every package import of ``module``."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    top = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            top.add(id(stmt))
        elif isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
            for s in ast.walk(stmt):
                if isinstance(s, (ast.Import, ast.ImportFrom)):
                    top.add(id(s))
        elif isinstance(stmt, ast.Try):  # optional imports at module top
            for s in stmt.body:
                if isinstance(s, (ast.Import, ast.ImportFrom)):
                    top.add(id(s))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in _resolve(node, module):
                if target != module:
                    yield node.lineno, target, id(node) in top


def _where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(ROOT)}:{line}"


def test_every_module_is_in_a_layer():
    stray = [m for m in MODULES if _group(m) is not None and
             _group(m).removesuffix("") not in LAYERS]
    assert not stray, f"modules outside the layers {sorted(LAYERS)}: {stray}"


def test_imports_point_down():
    problems = []
    for module in MODULES:
        src = _group(module)
        if src is None:
            continue  # the lazy facade
        for line, target, _ in _imports(module):
            dst = _group(target)
            if dst is None:
                problems.append(f"{_where(module, line)}: {module} imports the facade "
                                "scaling_bayes; import the module that defines the name")
                continue
            if dst == src:
                continue
            if (src, dst) in NEVER:
                problems.append(f"{_where(module, line)}: {src} must never import {dst} "
                                f"({module} -> {target})")
            elif LAYERS[dst] >= LAYERS[src]:
                problems.append(f"{_where(module, line)}: upward import {module} -> {target} "
                                f"({src} is layer {LAYERS[src]}, {dst} layer {LAYERS[dst]})")
    assert not problems, "\n".join(problems)


def test_package_imports_at_module_top():
    inner = [f"{_where(m, line)}: {m} imports {t} inside a function"
             for m in MODULES if _group(m) is not None
             for line, t, at_top in _imports(m) if not at_top]
    assert not inner, "\n".join(inner)


def test_no_import_cycles():
    graph = {m: sorted({t for _, t, _ in _imports(m)}) for m in MODULES if _group(m) is not None}
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def strong(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
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
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _private_imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scaling_bayes"):
            # _core is the package's own floor: its public names may be tested directly
            mod_private = any(p.startswith("_") and p != "_core"
                              for p in node.module.split(".")[1:])
            for a in node.names:
                if a.name.startswith("_") or mod_private:
                    yield node.lineno, f"from {node.module} import {a.name}"


def test_tests_use_public_names():
    private = [f"{path.relative_to(ROOT)}:{line}: {what}"
               for path in sorted((ROOT / "tests").rglob("*.py"))
               for line, what in _private_imports(path)]
    assert not private, "tests import private names:\n" + "\n".join(private)


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The walk is not vacuous: it finds a planted import inside a function."""
    fake = tmp_path / "scaling_bayes" / "decisions" / "fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from scaling_bayes.inference import engine\n")
    monkeypatch.setitem(MODULES, "scaling_bayes.decisions.fake", fake)
    monkeypatch.setitem(MODULES, "scaling_bayes.inference.engine", fake)
    found = list(_imports("scaling_bayes.decisions.fake"))
    assert found == [(2, "scaling_bayes.inference.engine", False)]
