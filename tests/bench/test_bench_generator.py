"""The benchmark's workload generator: GFW-valid, sparse, clustered, tiled and deterministic.

The generator lives in ``bench/monitor_throughput.py`` (a script, not a package),
so it is loaded from its path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import rasterio
from rasterio.enums import Compression
from scipy import ndimage

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "monitor_throughput.py"
SIZE = 2000


def _load() -> ModuleType:
    name = "bench_monitor_throughput"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mt() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def tile(mt: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("bench") / "tile.tif"
    stats = mt.generate_tile(path, SIZE, 42)
    return path, stats


@pytest.fixture(scope="module")
def pixels(tile: tuple[Path, object]) -> np.ndarray:
    with rasterio.open(tile[0]) as src:
        return src.read(1)


def test_density_is_about_six_per_mille(tile: tuple[Path, object], pixels: np.ndarray) -> None:
    density = (pixels > 0).mean()
    assert 0.0045 <= density <= 0.0075
    assert tile[1].alert_pixels == int((pixels > 0).sum())


def test_values_are_valid_gfw(mt: ModuleType, pixels: np.ndarray) -> None:
    values = pixels[pixels > 0]
    conf = values // 10_000
    days = values % 10_000
    assert set(np.unique(conf).tolist()) == {2, 3, 4}
    assert days.min() >= mt.DAY_FIRST and days.max() <= mt.DAY_LAST


def test_tile_is_tiled_deflate_on_the_gfw_grid(tile: tuple[Path, object]) -> None:
    with rasterio.open(tile[0]) as src:
        assert src.block_shapes == [(400, 400)]
        assert src.compression == Compression.deflate
        assert src.dtypes == ("uint16",)
        assert src.nodata == 0
        assert src.crs.to_epsg() == 4326
        assert src.res == pytest.approx((0.00025, 0.00025))
        assert (src.width, src.height) == (SIZE, SIZE)


def test_alerts_are_clustered_with_varied_sizes(pixels: np.ndarray) -> None:
    labels, n = ndimage.label(pixels > 0, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel())[1:]
    multi = sizes[sizes > 1]
    # most clusters are 5-60 px, a few are large
    assert ((multi >= 5) & (multi <= 60)).mean() > 0.6
    assert (sizes >= 250).sum() >= 2
    # clustered: far more alert pixels share a 100-px cell than uniform scatter would give
    cells = (pixels > 0).reshape(SIZE // 100, 100, SIZE // 100, 100).sum(axis=(1, 3))
    assert cells.std() > 3 * np.sqrt(cells.mean())


def test_same_seed_same_pixels_other_seed_other_pixels(
    mt: ModuleType, tile: tuple[Path, object], pixels: np.ndarray, tmp_path: Path
) -> None:
    again = tmp_path / "again.tif"
    mt.generate_tile(again, SIZE, 42)
    with rasterio.open(again) as src:
        assert hashlib.sha256(src.read(1).tobytes()).digest() == (
            hashlib.sha256(pixels.tobytes()).digest()
        )
    other = tmp_path / "other.tif"
    mt.generate_tile(other, SIZE, 43)
    with rasterio.open(other) as src:
        assert not np.array_equal(src.read(1), pixels)


def test_territories_are_valid_polygons_covering_much_of_the_tile(
    mt: ModuleType, tmp_path: Path
) -> None:
    import shapely

    path = tmp_path / "territories.geojson"
    n = mt.generate_territories(path, SIZE, 42, n=400)
    feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert n == len(feats) == 400
    geoms = [shapely.geometry.shape(f["geometry"]) for f in feats]
    assert all(g.is_valid and g.geom_type == "Polygon" for g in geoms)
    assert all(f["properties"]["nombre"] for f in feats)
    west, north = mt.ORIGIN_LON, mt.ORIGIN_LAT
    extent = shapely.box(west, north - SIZE * 0.00025, west + SIZE * 0.00025, north)
    covered = shapely.union_all(geoms).intersection(extent).area / extent.area
    assert covered > 0.5
    areas = np.array([g.area for g in geoms])
    assert areas.max() > 4 * areas.min()  # varied sizes
    assert sum(g.area for g in geoms) > shapely.union_all(geoms).area  # some overlap


def test_workload_is_cached_by_size_and_seed(
    mt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mt, "N_TERRITORIES", 50)
    tile, terr, meta = mt.ensure_workload(tmp_path, 800, 5)
    assert not meta["cached"] and tile.exists() and terr.exists()
    mtime = tile.stat().st_mtime_ns
    tile2, _, meta2 = mt.ensure_workload(tmp_path, 800, 5)
    assert meta2["cached"] and tile2 == tile and tile.stat().st_mtime_ns == mtime
    tile3, _, _ = mt.ensure_workload(tmp_path, 800, 6)
    assert tile3 != tile


def test_the_later_download_keeps_every_alert_and_adds_some(
    mt: ModuleType, tile: tuple[Path, object], pixels: np.ndarray, tmp_path: Path
) -> None:
    """The re-ingest workload: a cumulative product's next week (nothing lost; new, grown
    and confirmed pixels)."""
    later = tmp_path / "later.tif"
    changes = mt.generate_changed_tile(tile[0], later, 42)
    with rasterio.open(later) as src:
        after = src.read(1)
    kept = pixels > 0
    assert (after[kept] > 0).all()  # cumulative: every earlier alert is still there
    assert ((after // 10_000) >= (pixels // 10_000))[kept].all()  # confidence only rises
    assert changes["grown"] > 0 and changes["new"] > 0 and changes["upgraded"] > 0
    assert (after > 0).sum() > kept.sum()
    assert ((pixels // 10_000 == 2) & (after // 10_000 == 3)).any()
