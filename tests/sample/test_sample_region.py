"""The seeded sample region used by ``make demo``: deterministic, GFW-valid, realistic defects."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.enums import Compression
from scipy import ndimage

from vigilancia.sample import SampleRegion, build_sample_region
from vigilancia.sample.frame import BLOCK, GFW_EPOCH, PIXEL_DEG

EIGHT = np.ones((3, 3), bool)


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> SampleRegion:
    return build_sample_region(tmp_path_factory.mktemp("muestra"))


@pytest.fixture(scope="module")
def pixels(region: SampleRegion) -> np.ndarray:
    with rasterio.open(region.alerts_tif) as src:
        return src.read(1)


def _vector_files(r: SampleRegion) -> list[Path]:
    return [r.territories, r.reserves, r.protected_areas, r.rivers, r.roads, r.airstrips, r.truth]


def _raster_hash(path: Path) -> str:
    with rasterio.open(path) as src:
        return hashlib.sha256(src.read(1).tobytes()).hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _truth(region: SampleRegion, kind: str) -> list[dict]:
    return [f for f in _features(region.truth) if f["properties"]["tipo"] == kind]


def _to_px(lon: float, lat: float) -> tuple[float, float]:
    return (lon + 75.4) / PIXEL_DEG, (-8.6 - lat) / PIXEL_DEG


def test_same_seed_gives_same_bytes_and_pixels(region: SampleRegion, tmp_path: Path) -> None:
    again = build_sample_region(tmp_path / "otra_vez")
    for a, b in zip(_vector_files(region), _vector_files(again), strict=True):
        assert _file_hash(a) == _file_hash(b), a.name
    assert _raster_hash(region.alerts_tif) == _raster_hash(again.alerts_tif)
    assert again.description == region.description
    assert again.bounds == region.bounds


def test_another_seed_gives_another_region(region: SampleRegion, tmp_path: Path) -> None:
    other = build_sample_region(tmp_path / "otra", seed=7)
    assert _raster_hash(other.alerts_tif) != _raster_hash(region.alerts_tif)
    assert _file_hash(other.territories) != _file_hash(region.territories)


def test_raster_is_tiled_deflate_gfw_grid(region: SampleRegion) -> None:
    with rasterio.open(region.alerts_tif) as src:
        assert src.block_shapes == [(BLOCK, BLOCK)]
        assert src.compression == Compression.deflate
        assert src.dtypes == ("uint16",)
        assert src.nodata == 0
        assert src.crs.to_epsg() == 4326
        assert src.res == pytest.approx((PIXEL_DEG, PIXEL_DEG))
        assert src.width == src.height == 4000
        assert tuple(src.bounds) == pytest.approx(region.bounds)
    assert region.bounds == pytest.approx((-75.4, -9.6, -74.4, -8.6))


def test_raster_holds_only_valid_gfw_values(pixels: np.ndarray) -> None:
    values = pixels[pixels > 0]
    conf = values // 10_000
    days = values % 10_000
    assert set(np.unique(conf).tolist()) == {2, 3, 4}
    first = GFW_EPOCH + timedelta(days=int(days.min()))
    last = GFW_EPOCH + timedelta(days=int(days.max()))
    assert date(2023, 1, 1) <= first < date(2023, 2, 1)
    assert date(2024, 12, 1) <= last <= date(2024, 12, 31)
    # sparse, like real alert tiles
    assert 0.0005 < values.size / pixels.size < 0.005


def test_small_patches_are_coca_sized(region: SampleRegion, pixels: np.ndarray) -> None:
    sizes = [f["properties"]["pixeles"] for f in _truth(region, "parche_coca")]
    assert len(sizes) > 200
    assert min(sizes) >= 4 and max(sizes) <= 40
    labels, n = ndimage.label(pixels > 0, structure=EIGHT)
    counts = np.bincount(labels.ravel())[1:]
    assert ((counts >= 4) & (counts <= 40)).sum() > 200
    assert (counts == 1).sum() > 1000  # single-pixel noise


def test_noise_is_low_confidence(pixels: np.ndarray) -> None:
    labels, _ = ndimage.label(pixels > 0, structure=EIGHT)
    counts = np.bincount(labels.ravel())
    single = (labels > 0) & (counts[labels] == 1)
    conf = pixels[single] // 10_000
    assert (conf == 2).mean() > 0.95


def test_runways_are_long_thin_and_isolated(region: SampleRegion, pixels: np.ndarray) -> None:
    runways = _truth(region, "pista")
    assert len(runways) >= 5
    labels, _ = ndimage.label(pixels > 0, structure=EIGHT)
    px_m = 27.6
    for f in runways:
        (x0, y0), (x1, y1) = (_to_px(*p) for p in f["geometry"]["coordinates"])
        length_px = float(np.hypot(x1 - x0, y1 - y0))
        d = np.array([x1 - x0, y1 - y0]) / length_px
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half = int(length_px / 2) + 8
        r0, c0 = int(cy) - half, int(cx) - half
        box = pixels[r0 : r0 + 2 * half, c0 : c0 + 2 * half]
        rows, cols = np.nonzero(box)
        rel = np.column_stack([cols + c0 + 0.5 - cx, rows + r0 + 0.5 - cy])
        along = rel @ d
        across = rel @ np.array([-d[1], d[0]])
        on = (np.abs(along) <= length_px / 2 + 2) & (np.abs(across) <= 3)
        n = int(on.sum())
        assert n == f["properties"]["pixeles"]
        extent_m = (along[on].max() - along[on].min() + 1) * px_m
        mean_width_m = n * px_m * px_m / extent_m
        assert 380 <= extent_m <= 1600, f["properties"]
        assert 20 <= mean_width_m <= 65, f["properties"]
        assert extent_m / mean_width_m >= 8
        # no other feature is glued to the strip
        strip_labels = set(labels[rows[on] + r0, cols[on] + c0].tolist())
        glued = np.isin(labels, list(strip_labels)).sum()
        assert glued == n


def test_some_runways_are_fragmented(region: SampleRegion, pixels: np.ndarray) -> None:
    labels, _ = ndimage.label(pixels > 0, structure=EIGHT)
    pieces = []
    for f in _truth(region, "pista"):
        (x0, y0), (x1, y1) = (_to_px(*p) for p in f["geometry"]["coordinates"])
        mid = np.linspace(0.0, 1.0, 400)
        cols = np.floor(x0 + mid * (x1 - x0)).astype(int)
        rows = np.floor(y0 + mid * (y1 - y0)).astype(int)
        found = labels[rows, cols]
        pieces.append(len(set(found[found > 0].tolist())))
    assert max(pieces) >= 2
    assert min(pieces) == 1


def test_large_clearing_crosses_a_block_edge_and_grows_outwards(pixels: np.ndarray) -> None:
    labels, n = ndimage.label(pixels > 0, structure=EIGHT)
    counts = np.bincount(labels.ravel())
    big = [i for i in range(1, n + 1) if counts[i] >= 650]  # >= 50 ha
    assert 3 <= len(big) <= 8
    crossing = 0
    for i in big:
        rows, cols = np.nonzero(labels == i)
        if np.unique(cols // BLOCK).size > 1 or np.unique(rows // BLOCK).size > 1:
            crossing += 1
        days = (pixels[rows, cols] % 10_000).astype(float)
        dist = np.hypot(rows - rows.mean(), cols - cols.mean())
        assert np.corrcoef(dist, days)[0, 1] > 0.5  # earlier in the middle
        conf = pixels[rows, cols] // 10_000
        inner = dist < np.median(dist)
        assert conf[inner].mean() > conf[~inner].mean()  # older means more confident
    assert crossing >= 1


def test_diagonal_pairs_touch_only_at_a_corner(region: SampleRegion, pixels: np.ndarray) -> None:
    pairs = _truth(region, "par_diagonal")
    assert len(pairs) == 2
    for f in pairs:
        r, c = f["properties"]["fila"], f["properties"]["columna"]
        box = pixels[r - 3 : r + 9, c - 3 : c + 9] > 0
        assert box.sum() == 18
        assert ndimage.label(box)[1] == 2  # 4-connectivity: two clearings
        assert ndimage.label(box, structure=EIGHT)[1] == 1  # 8-connectivity: one


def test_communities_have_fields_and_two_broken_geometries(region: SampleRegion) -> None:
    feats = _features(region.territories)
    assert len(feats) == 12
    unclosed, bowtie = [], []
    for f in feats:
        p = f["properties"]
        assert p["nombre"].startswith("CN ")
        assert p["pueblo"] in {"Kakataibo", "Asháninka", "Shipibo-Konibo", "Yanesha"}
        assert p["titulacion"] in {"titulada", "reconocida", "en trámite", "reclamada"}
        assert (p["fecha_titulo"] is not None) == (p["titulacion"] == "titulada")
        if p["fecha_titulo"]:
            date.fromisoformat(p["fecha_titulo"])
        ring = f["geometry"]["coordinates"][0]
        if ring[0] != ring[-1]:
            unclosed.append(p["nombre"])
            with pytest.raises(shapely.errors.GEOSException):
                shapely.from_geojson(json.dumps(f["geometry"]))
            continue
        geom = shapely.from_geojson(json.dumps(f["geometry"]))
        if not geom.is_valid:
            assert "Self-intersection" in shapely.is_valid_reason(geom)
            bowtie.append(p["nombre"])
        else:
            assert geom.exterior.is_ccw  # RFC 7946 winding
            assert 0.002 < geom.area < 0.05  # about 5-25 km across
    assert len(unclosed) == 1
    assert len(bowtie) == 1
    assert {f["properties"]["pueblo"] for f in feats} == {
        "Kakataibo",
        "Asháninka",
        "Shipibo-Konibo",
        "Yanesha",
    }


def test_some_communities_overlap_reserve_and_protected_area(region: SampleRegion) -> None:
    (reserve,) = (
        shapely.from_geojson(json.dumps(f["geometry"])) for f in _features(region.reserves)
    )
    (protected,) = (
        shapely.from_geojson(json.dumps(f["geometry"])) for f in _features(region.protected_areas)
    )
    assert reserve.is_valid and protected.is_valid
    assert "Kakataibo" in _features(region.reserves)[0]["properties"]["nombre"]
    assert "Reserva Comunal" in _features(region.protected_areas)[0]["properties"]["nombre"]
    communities = []
    for f in _features(region.territories):
        ring = f["geometry"]["coordinates"][0]
        geom = shapely.make_valid(shapely.Polygon(ring))
        communities.append(geom)
    for area in (reserve, protected):
        partial = [
            c for c in communities if c.intersects(area) and not c.within(area) and c.area > 0
        ]
        assert partial


def test_rivers_roads_and_airstrips(region: SampleRegion) -> None:
    rivers = _features(region.rivers)
    assert {f["properties"]["tipo"] for f in rivers} == {"Río", "Quebrada"}
    assert all(f["geometry"]["type"] == "LineString" for f in rivers)
    main = shapely.from_geojson(json.dumps(rivers[0]["geometry"]))
    west, south, east, north = region.bounds
    # the main river crosses the whole region, south to north, meandering
    assert main.bounds[1] < south + 0.01 and main.bounds[3] > north - 0.01
    assert main.length > 1.1 * (north - south)
    roads = _features(region.roads)
    assert {f["properties"]["tipo"] for f in roads} == {"departamental", "vecinal"}
    assert all(f["properties"]["codigo"] for f in roads)
    strips = _features(region.airstrips)
    assert strips and {"id", "yr", "largo", "Activo"} <= set(strips[0]["properties"])


def test_description_is_spanish_and_says_it_is_synthetic(region: SampleRegion) -> None:
    text = region.description
    assert "sintética" in text and "inventado" in text
    assert (region.alerts_tif.parent / "LEEME.txt").read_text(encoding="utf-8") == text


def test_smaller_region_scales_down(tmp_path: Path) -> None:
    small = build_sample_region(tmp_path, size=800, seed=3)
    with rasterio.open(small.alerts_tif) as src:
        assert (src.width, src.height) == (800, 800)
        data = src.read(1)
    assert small.bounds == pytest.approx((-75.4, -8.8, -75.2, -8.6))
    assert data.any()
    assert set(np.unique(data[data > 0] // 10_000).tolist()) <= {2, 3, 4}


def test_too_small_region_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="400"):
        build_sample_region(tmp_path, size=100)
