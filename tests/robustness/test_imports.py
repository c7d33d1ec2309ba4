"""The package's import graph: no circle, no upward import, nothing imports the front.

The layers, bottom to top (issue #13; a module imports only its own layer and the
ones below it):

    _core, errors -> engine -> model -> datasets -> stats -> report -> cli -> the front

The graph is read from the package's source with :mod:`ast`: every ``import`` and
``from ... import`` anywhere in a file (at the top, inside functions, under ``if
TYPE_CHECKING:``), and ``importlib.import_module`` / ``__import__`` with a constant
name, so that no import hides from it.  ``from . import x`` is an import of the
submodule ``x`` when there is one, else of the package.  The front is the package
``traffickstats`` itself (its ``__init__.py``): only ``__main__`` may import it.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Callable, Iterable, Mapping

import pytest

PACKAGE = "traffickstats"
FRONT = (PACKAGE, f"{PACKAGE}.__main__")   # the front and the ``python -m`` entry point

# (layer, the modules in it: a name covers its submodules), bottom to top.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", (f"{PACKAGE}._core", f"{PACKAGE}.errors", f"{PACKAGE}._version")),
    ("engine", (f"{PACKAGE}.engine",)),
    ("model", (f"{PACKAGE}.model",)),
    ("datasets", (f"{PACKAGE}.datasets",)),
    ("stats", (f"{PACKAGE}.stats",)),
    ("report", (f"{PACKAGE}.report",)),
    ("cli", (f"{PACKAGE}.cli",)),
    ("front", FRONT),
]

Edges = Mapping[str, Iterable[tuple[str, str]]]   # module -> (imported module, "file:line")


# --------------------------------------------------------------------------- reading the source


def package_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.submodule_search_locations, f"{PACKAGE} is not installed"
    return Path(list(spec.submodule_search_locations)[0])


def modules(root: Path, package: str = PACKAGE) -> dict[str, Path | None]:
    """Every module of the package: name -> source file (None for a compiled one)."""
    found: dict[str, Path | None] = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        rel = path.relative_to(root)
        stem = rel.name.split(".")[0]
        if rel.suffix == ".py":
            parts = list(rel.parent.parts) + ([] if stem == "__init__" else [stem])
            found[".".join([package, *parts])] = path
        elif rel.suffix in (".so", ".pyd", ".pyi"):   # the C core (and its stubs)
            found.setdefault(".".join([package, *rel.parent.parts, stem]), None)
    return found


def _dynamic(node: ast.Call) -> tuple[str, int] | None:
    """``importlib.import_module("name"[, package])`` or ``__import__("name")``: (name, level)."""
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    if name not in ("import_module", "__import__") or not node.args:
        return None
    arg = node.args[0]
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        return None
    text = arg.value
    level = len(text) - len(text.lstrip("."))
    return text[level:], level


def imports(module: str, path: Path, known: Iterable[str], package: str = PACKAGE,
            label: str | None = None) -> list[tuple[str, str]]:
    """Every intra-package import of one source file: (imported module, "file:line")."""
    label = label or path.name
    known = set(known)
    is_pkg = path.name == "__init__.py"
    here = module if is_pkg else module.rpartition(".")[0]

    def base(name: str, level: int) -> str:
        if level == 0:
            return name
        parts = here.split(".")
        parts = parts[: len(parts) - (level - 1)]
        return ".".join(parts + ([name] if name else []))

    def nearest(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    out: list[tuple[str, str]] = []

    def add(name: str, line: int) -> None:
        if name == package or name.startswith(package + "."):
            target = nearest(name)
            if target is not None and target != module:
                out.append((target, f"{label}:{line}"))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            b = base(node.module or "", node.level)
            for alias in node.names:
                sub = f"{b}.{alias.name}"
                add(sub if sub in known else b, node.lineno)
        elif isinstance(node, ast.Call):
            dyn = _dynamic(node)
            if dyn is not None:
                add(base(*dyn), node.lineno)
    return out


def graph(root: Path, package: str = PACKAGE) -> dict[str, list[tuple[str, str]]]:
    mods = modules(root, package)
    return {m: (imports(m, p, mods, package, p.relative_to(root).as_posix()) if p is not None else [])
            for m, p in mods.items()}


# --------------------------------------------------------------------------- the checks


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]] = LAYERS) -> int | None:
    """Index of the module's layer, or None when no layer names it."""
    for i, (_, names) in enumerate(layers):
        for n in names:
            if module == n or (n != PACKAGE and module.startswith(n + ".")):
                return i
    return None


def find_cycle(edges: Edges, skip: Iterable[tuple[str, str]] = ()) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None."""
    skip = set(skip)
    nxt = {m: sorted({t for t, _ in es if (m, t) not in skip and t != m}) for m, es in edges.items()}
    state: dict[str, int] = {}   # 1 on the path, 2 done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in nxt.get(m, []):
            if state.get(t) == 1:
                return path[path.index(t):] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(nxt):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def problems(edges: Edges, layer: Callable[[str], int | None] = layer_of,
             front: Iterable[str] = FRONT, skip: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Everything wrong with an import graph, in words (empty when it is layered)."""
    front = tuple(front)
    out: list[str] = []
    where = {(m, t): w for m, es in edges.items() for t, w in es}
    cycle = find_cycle(edges, skip)
    if cycle:
        steps = [f"{a} -> {b} ({where[(a, b)]})" for a, b in zip(cycle, cycle[1:])]
        out.append("import circle: " + "; ".join(steps))
    for m, es in sorted(edges.items()):
        lm = layer(m)
        if lm is None:
            out.append(f"{m} is in no layer (add it to LAYERS in tests/robustness/test_imports.py)")
            continue
        for t, w in es:
            if t == front[0] and m not in front:
                out.append(f"{m} imports the package front {t} ({w}); import the module that defines the name")
                continue
            lt = layer(t)
            if lt is not None and lt > lm:
                out.append(f"upward import: {m} imports {t} ({w})")
    return out


# --------------------------------------------------------------------------- the package


def test_the_package_is_layered_without_circles():
    edges = graph(package_dir())
    assert f"{PACKAGE}.model.dataset" in edges and f"{PACKAGE}.engine.table" in edges   # read the right tree
    found = problems(edges)
    assert not found, "\n".join(found)


# --------------------------------------------------------------------------- the checker checks


def _fake_layers(m: str) -> int | None:
    return {"p": 3, "p.low": 0, "p.mid": 1, "p.top": 2, "p.__main__": 3}.get(m)


def test_checker_reports_a_circle():
    edges = {"p.low": [], "p.mid": [("p.top", "mid.py:3")], "p.top": [("p.mid", "top.py:9")], "p": []}
    assert find_cycle(edges) in (["p.mid", "p.top", "p.mid"], ["p.top", "p.mid", "p.top"])
    found = problems(edges, _fake_layers, front=("p", "p.__main__"))
    assert any(f.startswith("import circle: p.mid -> p.top (mid.py:3); p.top -> p.mid (top.py:9)") for f in found)
    assert "upward import: p.mid imports p.top (mid.py:3)" in found
    skipped = problems(edges, _fake_layers, front=("p", "p.__main__"), skip=[("p.mid", "p.top")])
    assert skipped == ["upward import: p.mid imports p.top (mid.py:3)"]   # skipped for the circle check only


def test_checker_reports_upward_imports_and_the_front():
    edges = {"p.low": [("p.mid", "low.py:40")], "p.mid": [("p", "mid.py:2")], "p.top": [("p.low", "top.py:1")],
             "p": [], "p.__main__": [("p", "__main__.py:1")], "p.new": []}
    found = problems(edges, _fake_layers, front=("p", "p.__main__"))
    assert "upward import: p.low imports p.mid (low.py:40)" in found
    assert any(f.startswith("p.mid imports the package front p (mid.py:2)") for f in found)
    assert any(f.startswith("p.new is in no layer") for f in found)
    assert len(found) == 3, found   # top -> low, the front's and __main__'s imports are fine


def test_reader_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .sub import b\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nimport os\n"
        "if TYPE_CHECKING:\n    from .sub.b import X\n"
        "def f():\n    from . import c\n    import p.sub\n    import importlib\n"
        "    return importlib.import_module('.sub.b', __package__)\n"
        "from . import nothing_of_that_name\n")
    (pkg / "c.py").write_text("import p\nfrom p import a as _a\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import c\nfrom ..a import f\n")
    edges = graph(pkg, "p")
    targets = {m: sorted({t for t, _ in es}) for m, es in edges.items()}
    assert targets["p.a"] == ["p", "p.c", "p.sub", "p.sub.b"]
    assert targets["p.c"] == ["p", "p.a"]
    assert targets["p.sub.b"] == ["p.a", "p.c"]
    assert targets["p"] == ["p.sub.b"]
    assert ("p.c", "sub/b.py:1") in edges["p.sub.b"]
    cycle = find_cycle(edges)
    assert cycle is not None and cycle[0] == cycle[-1]


@pytest.mark.parametrize("module, layer", [
    (f"{PACKAGE}._core", "core"), (f"{PACKAGE}.engine.table", "engine"), (f"{PACKAGE}.engine.groupby.plan", "engine"),
    (f"{PACKAGE}.engine.groupby.ops", "engine"), (f"{PACKAGE}.model.dataset", "model"), (f"{PACKAGE}.datasets._synthetic", "datasets"),
    (f"{PACKAGE}.stats.metrics", "stats"), (PACKAGE, "front"), (f"{PACKAGE}.__main__", "front"),
])
def test_layer_names(module, layer):
    i = layer_of(module)
    assert i is not None and LAYERS[i][0] == layer
