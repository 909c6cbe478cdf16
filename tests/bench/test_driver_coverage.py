"""The coverage benchmark reads DEVIDA's table as documented: departments only, 2021-2024."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "driver_coverage.py"


def _load():
    name = "bench_driver_coverage"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_devida_table_without_the_total_row(tmp_path: Path) -> None:
    bench = _load()
    path = tmp_path / "coca.csv"
    path.write_text(
        "Departamento,2020,2021,2022,2023,2024,Variación_2024_2023\n"
        "Huánuco,1936,3221,3887,4960,4627,-333\n"
        "San Martín,1116,2046,2524,2183,2114,-69\n"
        "TOTAL,61777,80681,95008,92784,89755,-3029\n", encoding="utf-8")
    table = bench.devida(path)
    assert table == {"HUANUCO": pytest.approx((3221 + 3887 + 4960 + 4627) / 4),
                     "SAN MARTIN": pytest.approx((2046 + 2524 + 2183 + 2114) / 4)}
    assert bench.spearman([1.0, 2.0, 3.0], [10.0, 30.0, 20.0]) == pytest.approx(0.5)
