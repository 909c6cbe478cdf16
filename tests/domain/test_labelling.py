"""Alert pixels to clearings: exact components, shapes and areas on hand-built arrays."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from rasterio.features import shapes
from rasterio.transform import from_origin
from shapely.geometry import shape

from vigilancia.domain.alerts import AlertFilter, lookup_tables
from vigilancia.domain.labelling import (
    Labeller,
    TerritoryScanline,
    build_geometries,
    geographic_grid,
    projected_grid,
    scan_strip,
)

CONF, DAY = lookup_tables("gfw", AlertFilter())
TR = from_origin(-75.0, -9.0, 0.00025, 0.00025)
GEOD = Geod(ellps="WGS84")


def label(codes, strip=400, scanline=None, transform=TR):
    h, w = codes.shape
    grid = geographic_grid(transform.f, -transform.e, transform.a, h, w)
    lab = Labeller(grid, scanline)
    for r0 in range(0, h, strip):
        runs, bad = scan_strip(codes[r0:r0 + strip], CONF, DAY, r0)
        assert bad is None
        lab.push(runs, min(h, r0 + strip) - 1)
    comps, ov = lab.finish()
    geoms = build_geometries(comps, tuple(transform)[:6])
    order = np.lexsort((comps.first_col, comps.first_row))
    return comps, ov, geoms, order


def gdal_shapes(mask, transform=TR):
    return [shape(g) for g, _ in shapes(mask.astype(np.uint8), mask=mask, connectivity=8,
                                        transform=transform)]


def test_diagonal_touch_is_one_clearing_and_gaps_split():
    a = np.zeros((6, 8), np.uint16)
    a[0, 0] = a[1, 1] = a[2, 2] = 20001  # diagonal chain: one clearing
    a[0, 5] = a[0, 6] = 30100  # separate (gap of 2 columns from the chain)
    a[4, 0:8] = 40200  # full-width row
    comps, _, geoms, order = label(a)
    assert len(comps) == 3
    sizes = sorted(comps.pixel_count.tolist())
    assert sizes == [2, 3, 8]
    chain = geoms[np.flatnonzero(comps.pixel_count == 3)[0]]
    assert chain.geom_type == "MultiPolygon" and len(chain.geoms) == 3 and chain.is_valid
    assert shapely.equals(shapely.union_all(geoms), shapely.union_all(gdal_shapes(a > 0)))


@pytest.mark.parametrize("strip", [1, 2, 3, 5, 400])
def test_clearing_straddling_strip_edges_comes_out_whole(strip):
    a = np.zeros((12, 12), np.uint16)
    a[2:10, 5] = 30010  # vertical bar across every strip edge
    a[9, 1:11] = 30020  # joined by a bar at the bottom
    a[0, 11] = 20001
    a[1, 10] = 20002  # diagonal pair across the first strip edge
    comps, _, geoms, _ = label(a, strip=strip)
    assert sorted(comps.pixel_count.tolist()) == [2, 17]
    assert all(shapely.is_valid(geoms))


def test_dates_and_confidence_counts():
    a = np.zeros((3, 3), np.uint16)
    a[1, 0] = 20001  # low 2015-01-01
    a[1, 1] = 30100  # high
    a[1, 2] = 43000  # highest, latest
    comps, _, _, _ = label(a)
    assert comps.pixels.tolist() == [[1, 1, 1]]
    assert str(np.datetime64(int(comps.first_day[0]), "D")) == "2015-01-01"
    assert str(np.datetime64(int(comps.last_day[0]), "D")) == str(
        np.datetime64("2014-12-31") + np.timedelta64(3000, "D"))


def test_random_field_matches_gdal_polygonize():
    rng = np.random.default_rng(7)
    m = rng.random((180, 150)) < 0.4
    a = np.where(m, 20001 + rng.integers(0, 3000, m.shape), 0).astype(np.uint16)
    comps, _, geoms, _ = label(a, strip=17)
    ref = gdal_shapes(m)
    assert len(comps) == len(ref)
    assert all(shapely.is_valid(geoms))
    tree = shapely.STRtree(geoms)
    for g in ref:
        g = shapely.make_valid(g)
        hits = tree.query(g.representative_point(), predicate="intersects")
        assert any(shapely.equals(geoms[h], g) for h in hits)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.3, 0.7))
def test_dense_fields_give_valid_polygons_equal_to_gdal(seed, density):
    """Pinched rings, holes touching shells and islands in lakes: valid and GDAL-equal."""
    rng = np.random.default_rng(seed)
    m = rng.random((40, 36)) < density
    a = np.where(m, 20001, 0).astype(np.uint16)
    comps, _, geoms, _ = label(a, strip=7, transform=from_origin(0, 40, 1, 1))
    assert shapely.is_valid(geoms).all()
    assert np.allclose(shapely.area(geoms), comps.pixel_count)
    # GDAL's own rings may touch themselves (invalid): compare point sets after repair
    union = shapely.union_all(shapely.make_valid(gdal_shapes(m, from_origin(0, 40, 1, 1))))
    assert shapely.equals(shapely.union_all(geoms), union)


def test_island_in_a_lake_touching_at_corners():
    """A ring of pixels with a hole, an island inside the hole touching the ring diagonally,
    and a lake inside the island: one clearing, two polygons, holes with their owners."""
    m = np.zeros((11, 11), bool)
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = True  # frame
    m[2:9, 2:9] = True  # island, one pixel away from the frame
    m[1, 1] = True  # linked to the frame's corner and the island's corner diagonally
    m[4:7, 4:7] = False  # lake in the island
    a = np.where(m, 20001, 0).astype(np.uint16)
    comps, _, geoms, _ = label(a, transform=from_origin(0, 11, 1, 1))
    assert len(comps) == 1
    g = geoms[0]
    assert g.is_valid and g.area == m.sum()
    ref = shapely.make_valid(gdal_shapes(m, from_origin(0, 11, 1, 1)))
    assert shapely.equals(g, shapely.union_all(ref))
    assert g.geom_type == "MultiPolygon" and len(g.geoms) == 2


def _geodesic_area_ha(geom):
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0]) / 1e4


def test_area_matches_independent_equal_area_computation():
    a = np.zeros((300, 300), np.uint16)
    yy, xx = np.mgrid[:300, :300]
    a[(yy - 150) ** 2 + (xx - 140) ** 2 < 120**2] = 30200  # ~4,500 ha disc
    a[10:12, 0:300] = 20100  # a 2-pixel wide strip, 8 km long
    comps, _, geoms, _ = label(a, strip=64)
    for area, g in zip(comps.area_ha, geoms, strict=True):
        assert area == pytest.approx(_geodesic_area_ha(g), rel=0.005)


def test_shape_features_of_a_runway_like_strip():
    a = np.zeros((40, 60), np.uint16)
    a[20, 5:45] = 30200  # 40 px x 1 px, east-west
    comps, _, geoms, _ = label(a)
    px_w = 0.00025 * 111_320 * np.cos(np.radians(-9.005))
    px_h = 0.00025 * 110_600
    assert comps.length_m[0] == pytest.approx(40 * px_w, rel=0.01)
    assert comps.width_m[0] == pytest.approx(px_h, rel=0.01)
    assert comps.orientation_deg[0] == pytest.approx(90.0, abs=0.5)
    assert comps.perimeter_m[0] == pytest.approx(2 * (40 * px_w + px_h), rel=0.01)


def test_orientation_of_a_diagonal_strip_in_metres():
    grid = projected_grid(30.0, 30.0, 50, 50)
    a = np.zeros((50, 50), np.uint16)
    for i in range(40):
        a[45 - i, 5 + i] = 30200  # runs to the north-east
    lab = Labeller(grid)
    runs, _ = scan_strip(a, CONF, DAY, 0)
    lab.push(runs, 49)
    comps, _ = lab.finish()
    assert len(comps) == 1
    assert comps.orientation_deg[0] == pytest.approx(45.0, abs=1.0)
    assert comps.length_m[0] / comps.width_m[0] > 20


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.floats(0.05, 0.6))
def test_result_does_not_depend_on_strip_height(seed, strip, density):
    rng = np.random.default_rng(seed)
    m = rng.random((60, 45)) < density
    a = np.where(m, 30001 + rng.integers(0, 500, m.shape), 0).astype(np.uint16)
    c1, _, g1, o1 = label(a, strip=60)
    c2, _, g2, o2 = label(a, strip=strip)
    assert c1.pixel_count[o1].tolist() == c2.pixel_count[o2].tolist()
    assert np.allclose(c1.area_ha[o1], c2.area_ha[o2])
    assert np.allclose(c1.perimeter_m[o1], c2.perimeter_m[o2])
    assert all(shapely.equals(x, y) for x, y in zip(g1[o1], g2[o2], strict=True))


def test_territory_overlap_counts_pixel_centres():
    a = np.zeros((20, 20), np.uint16)
    a[5:15, 5:15] = 30200
    # territory 7: left half of the raster (x < 10 pixels), territory 9: a triangle
    half = np.array([[0, 0], [10, 0], [10, 20], [0, 20]], float)
    tri = np.array([[0, 0], [20, 0], [0, 20]], float)
    comps, ov, _, _ = label(a, scanline=TerritoryScanline([(7, half), (9, tri)]))
    got = dict(zip(ov.territory.tolist(), ov.pixels.tolist(), strict=True))
    assert got[7] == 50
    # pixel (r, c) centre inside the triangle x + y < 20  <=>  c + r + 1 < 20
    rr, cc = np.mgrid[5:15, 5:15]
    assert got[9] == int(((cc + 0.5) + (rr + 0.5) < 20).sum())


def test_territory_overlap_with_many_edges_on_a_row():
    # 600 one-pixel-wide stripes (ids shuffled) under a 600-pixel clearing of 3 rows, and
    # one territory over them all: 1,201 edges cross each row and one run meets 601
    # territories, far beyond the tables the scanline starts with
    n = 600
    a = np.zeros((8, n + 4), np.uint16)
    a[2:5, 2 : n + 2] = 30200
    ids = np.random.default_rng(3).permutation(n) + 100
    rings = [(int(t), np.array([[c + 2, 0], [c + 3, 0], [c + 3, 8], [c + 2, 8]], float))
             for c, t in enumerate(ids)]
    rings.append((1, np.array([[0, 0], [n + 4, 0], [n + 4, 8], [0, 8]], float)))
    comps, ov, _, _ = label(a, scanline=TerritoryScanline(rings))
    got = dict(zip(ov.territory.tolist(), ov.pixels.tolist(), strict=True))
    assert len(comps) == 1 and got.pop(1) == 3 * n
    assert got == {int(t): 3 for t in ids}


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.02, 0.7))
def test_wkb_equals_shapely_encoding_of_the_geometries(seed, density):
    from vigilancia.domain.labelling import geometry_wkb

    rng = np.random.default_rng(seed)
    a = np.where(rng.random((30, 33)) < density, 20001, 0).astype(np.uint16)
    comps, _, geoms, _ = label(a, strip=5)
    wkb, bounds = geometry_wkb(comps, tuple(TR)[:6])
    assert wkb.tolist() == shapely.to_wkb(geoms).tolist()
    assert np.array_equal(bounds, shapely.bounds(geoms))


def test_single_run_clearings_equal_the_general_tracer():
    """A clearing of one run takes a shortcut; it gives what tracing the same pixels gives
    (the same pixels passed as two runs take the general path)."""
    from vigilancia.domain.labelling import components

    grid = geographic_grid(TR.f, -TR.e, TR.a, 40, 60)
    for row, c0, width in [(0, 0, 1), (5, 7, 2), (39, 50, 6), (12, 3, 17)]:
        def finish(cuts, row=row):
            n = len(cuts) - 1
            order = np.arange(n, dtype=np.int64)
            starts = np.array([0, n], np.int64)
            rows = np.full(n, row, np.int32)
            lo = np.array(cuts[:-1], np.int32)
            hi = np.array(cuts[1:], np.int32)
            day = np.full(n, 18000, np.int32)
            counts = np.zeros((n, 3), np.int32)
            counts[:, 1] = hi - lo
            return components.finish_components(order, starts, rows, lo, hi, day, day, counts,
                                                grid.row_area_ha, grid.mx, grid.my, grid.ysign)

        one = finish([c0, c0 + width])
        two = finish([c0, c0 + max(1, width // 2), c0 + width] if width > 1 else [c0, c0 + 1])
        for got, want in zip(one, two, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)
