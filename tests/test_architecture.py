"""Dependencies point one way: domain <- io <- services <- {cli, web, reports}.

The contract lives in pyproject.toml ([tool.importlinter]); this test runs it, so a
wrong-way import fails the suite, not only `make lint`.
"""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_layers_point_one_way(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_domain_does_no_io():
    """The domain imports no file, network, database or shell library."""
    banned = ("rasterio", "pyogrio", "geopandas", "sqlalchemy", "alembic", "requests",
              "httpx", "typer", "rich", "fastapi", "pyproj")
    for path in (ROOT / "src" / "vigilancia" / "domain").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in banned:
            assert f"import {name}" not in text and f"from {name}" not in text, (path.name, name)


def test_test_modules_have_unique_names():
    """The test folders are not packages: two test files of the same name break collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
