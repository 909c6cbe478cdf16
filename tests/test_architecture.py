"""The house: layers point one way, no import cycles, no oversized modules.

Dependencies point one way: domain <- io <- (sample) <- services <- reports <- {cli, web}
(``scale`` sits between io and sample). The contract lives in pyproject.toml
([tool.importlinter]); this test runs it, so a wrong-way import fails the suite, not
only `make lint`. Import-linter reads imports inside functions too, but it allows
cycles inside a layer, so the cycles between the package's modules are found here by
our own reading of the source (:mod:`ast`), counting imports inside functions and
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "vigilancia"
#: Longest module of the package (lines); Alembic migrations are left out.
MAX_LINES = 1200


def test_layers_point_one_way(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_domain_does_no_io():
    """The domain imports no file, network, database or shell library."""
    banned = ("rasterio", "pyogrio", "geopandas", "sqlalchemy", "alembic", "requests",
              "httpx", "typer", "rich", "fastapi", "pyproj")
    for path in (PACKAGE / "domain").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in banned:
            assert f"import {name}" not in text and f"from {name}" not in text, (path.name, name)


def test_test_modules_have_unique_names():
    """The test folders are not packages: two test files of the same name break collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


# ----------------------------------------------------------------- import graph


def package_modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root`` by dotted name (a package by its own
    name, for its ``__init__.py``), migrations left out."""
    out = {}
    for path in root.rglob("*.py"):
        if "migrations" in path.relative_to(root).parts:
            continue
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Dotted names an import statement may bring in (``from a import b``: ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: from the module's package, one level up per extra dot
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    return [source, *(f"{source}.{alias.name}" for alias in node.names)]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Which of ``modules`` each one imports, wherever the import stands (in a function,
    under ``if TYPE_CHECKING``). An import of a module's own parent packages is left out:
    a package's ``__init__`` runs before its children anyway, and is not a cycle partner
    of them."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(name, path.name == "__init__.py", node):
                while target and target not in modules:  # a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    deps.add(target)
        graph[name] = deps
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_import_graph_reads_imports_in_functions_and_relative_ones(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.a import x\n")
    (pkg / "a.py").write_text("import pkg\nx = 1\n\ndef f():\n    from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from ..a import x\nfrom . import c\n")
    (pkg / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\n"
                                      "if TYPE_CHECKING:\n    from pkg.sub.b import y\n")
    (pkg / "migrations").mkdir()
    (pkg / "migrations" / "m.py").write_text("from pkg.a import x\n")
    graph = import_graph(package_modules(pkg))
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.sub", "pkg.sub.b"}, "pkg.sub": set(),
                     "pkg.sub.b": {"pkg.a", "pkg.sub.c"}, "pkg.sub.c": {"pkg.sub.b"}}
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.sub.c"]]


def test_no_import_cycle_between_the_package_modules():
    """No module imports another that imports it back, directly or through others, not
    even inside a function."""
    cycles = import_cycles(import_graph(package_modules(PACKAGE)))
    assert cycles == [], "\n".join(" <-> ".join(c) for c in cycles)


def test_no_module_is_over_the_line_limit():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in package_modules(PACKAGE).items()}
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert over == {}, f"modules over {MAX_LINES} lines: {over}"
