"""Stored raster clearings back to their pixels; the box test of what a territory can move."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilancia.domain.alerts import AlertFilter, lookup_tables
from vigilancia.domain.labelling import (
    Labeller,
    PixelGrid,
    geometry_wkb,
    polygon_runs,
    scan_strip,
)
from vigilancia.domain.placement import in_reach, nearest_boundaries

CONF, DAY = lookup_tables("gfw", AlertFilter())


def label(bitmap: np.ndarray):
    h, w = bitmap.shape
    codes = np.where(bitmap, 20001, 0).astype(np.uint16)
    grid = PixelGrid(np.full(h, 0.09), np.full(h, 30.0), np.full(h, 30.0), width=w)
    lab = Labeller(grid)
    runs, _bad = scan_strip(codes, CONF, DAY, 0)
    lab.push(runs, h - 1)
    comps, _ov = lab.finish()
    return comps


def pixel_rings(comps):
    """The components' stored polygons (identity transform: pixel corners, y down) as the
    rings a re-placement reads back."""
    wkb, _bounds = geometry_wkb(comps, (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    start = np.concatenate([[0], np.cumsum(np.bincount(vertex_ring, minlength=len(rings)))])
    return coords[:, 0], coords[:, 1], start, part_of[ring_part]


def labeller_runs(bitmap: np.ndarray, comps) -> list[tuple[int, int, int, int]]:
    """(component, row, c0, c1) of every maximal run, from the bitmap and the components'
    first pixels."""
    h, w = bitmap.shape
    comp_of = {}
    # flood the components from their first pixel (8-connected)
    for k, (r0, c0) in enumerate(zip(comps.first_row.tolist(), comps.first_col.tolist(),
                                     strict=True)):
        stack = [(r0, c0)]
        while stack:
            r, c = stack.pop()
            if not (0 <= r < h and 0 <= c < w) or not bitmap[r, c] or (r, c) in comp_of:
                continue
            comp_of[(r, c)] = k
            stack += [(r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    out = []
    for r in range(h):
        c = 0
        while c < w:
            if bitmap[r, c]:
                start = c
                while c < w and bitmap[r, c]:
                    c += 1
                out.append((comp_of[(r, start)], r, start, c))
            else:
                c += 1
    return sorted(out)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.15, 0.6))
def test_polygon_runs_are_the_labellers_runs(seed, density):
    """Holes, pinches, diagonal touches and single pixels: the runs rebuilt from the stored
    polygons are exactly the maximal runs of each component, with its pixel count and
    mean row."""
    rng = np.random.default_rng(seed)
    bitmap = rng.random((14, 17)) < density
    comps = label(bitmap)
    if not len(comps):
        return
    xs, ys, start, ring_comp = pixel_rings(comps)
    runs = polygon_runs(xs, ys, start, ring_comp, len(comps))
    got = sorted(zip(runs.comp.tolist(), runs.row.tolist(), runs.c0.tolist(), runs.c1.tolist(),
                     strict=True))
    assert got == labeller_runs(bitmap, comps)
    assert runs.pixels.tolist() == comps.pixel_count.tolist()
    assert runs.centroid_row.tolist() == comps.centroid_row.tolist()
    by_row, comp_of_run = runs.by_row()
    assert np.all(np.diff(by_row.row.astype(np.int64) * 100 + by_row.c0) > 0)
    assert len(comp_of_run) == len(by_row)


def test_a_slanted_edge_is_refused():
    xs = np.array([0.0, 2.0, 1.0, 0.0])
    ys = np.array([0.0, 0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="polygon 0"):
        polygon_runs(xs, ys, np.array([0, 4]), np.array([0]), 1)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_in_reach_never_misses_a_clearing_the_new_territory_comes_nearer_to(seed):
    """Whatever the new territory, every clearing whose distance to it (metres, equal-area
    frame) is below its stored distance is in reach."""
    from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries

    rng = np.random.default_rng(seed)
    lon = rng.uniform(-75.5, -74.5, 200)
    lat = rng.uniform(-10.5, -9.5, 200)
    size = rng.uniform(0.0005, 0.01, 200)
    clearings = shapely.box(lon, lat, lon + size, lat + size)
    stored = rng.uniform(0, 60_000, 200)
    stored[rng.random(200) < 0.05] = np.nan
    cx, cy = rng.uniform(-75.5, -74.5), rng.uniform(-10.5, -9.5)
    territory = shapely.Point(cx, cy).buffer(rng.uniform(0.01, 0.2), quad_segs=8)
    crs = local_equal_area(-75.0, -10.0)
    ids, dist, _within = nearest_boundaries(
        transform_geometries(clearings, WGS84, crs), [1],
        transform_geometries([territory], WGS84, crs), 0.0)
    assert (ids == 1).all()
    reach = in_reach(shapely.bounds(clearings), stored, [territory.bounds], [True])
    nearer = ~(dist >= stored)  # (NaN stored: no nearest yet)
    assert reach[nearer].all()
    overlapping = shapely.intersects(clearings, territory)
    assert in_reach(shapely.bounds(clearings), stored, [territory.bounds], [False])[
        overlapping].all()
