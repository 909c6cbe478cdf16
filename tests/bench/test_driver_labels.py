"""The labelled synthetic set of ``bench/driver_labels.py`` keeps the distributions it documents."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from vigilancia.domain.drivers import FEATURES, Driver

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "driver_labels.py"


def _load():
    name = "bench_driver_labels"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_generator_follows_its_documentation():
    gen = _load()
    table, noisy, truth = gen.generate(3000, seed=7)
    assert set(table) == set(FEATURES) and all(len(v) == 3000 for v in table.values())
    again, noisy2, _ = gen.generate(3000, seed=7)
    assert noisy2 == noisy and all(np.array_equal(again[k], table[k], equal_nan=True)
                                   for k in FEATURES)
    truth_arr = np.array([d.value for d in truth])
    flipped = np.mean([a != b for a, b in zip(noisy, truth, strict=True)])
    assert 0.06 < flipped < 0.10  # NOISE = 8%

    def of(driver):
        return truth_arr == driver.value

    strips = of(Driver.AIRSTRIP)
    assert table["length_m"][strips].min() >= 400 and table["length_m"][strips].max() <= 1500
    assert table["width_m"][strips].min() >= 15 and table["width_m"][strips].max() <= 50
    near = np.minimum(table["dist_river_m"][strips], table["dist_road_m"][strips]) <= 1000
    assert near.mean() > 0.75  # 52 of 67 verified runways
    coca = of(Driver.COCA)
    assert table["area_ha"][coca].min() >= 0.3 and table["area_ha"][coca].max() <= 3.0
    assert np.median(table["dist_river_m"][coca]) < 500
    assert np.median(table["elongation"][of(Driver.ROAD)]) > 20
    assert np.median(table["area_ha"][of(Driver.MINING)]) > 10
    assert np.median(table["compactness"][of(Driver.AGRICULTURE)]) > 0.5
    assert 0.4 < np.isnan(table["dist_trail_m"]).mean() < 0.6  # trails unknown for half
    for name in ("area_ha", "length_m", "width_m", "rectangularity"):
        assert (table[name] > 0).all()
    assert (table["rectangularity"] <= 1).all()

    clearings = gen.clearing_set(gen.take(table, np.arange(20)))
    assert len(clearings) == 20
    np.testing.assert_allclose(clearings.area_ha, table["area_ha"][:20])
