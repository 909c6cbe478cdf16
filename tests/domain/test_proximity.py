"""Nearest territory boundary on the pixel grid: exact against shapely's distance."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilancia.domain.alerts import AlertFilter, lookup_tables
from vigilancia.domain.labelling import Labeller, projected_grid, scan_strip
from vigilancia.domain.proximity import BoundaryIndex

CONF, DAY = lookup_tables("gfw", AlertFilter())


def components(codes, strip=16):
    h, w = codes.shape
    lab = Labeller(projected_grid(1.0, 1.0, h, w))
    for r0 in range(0, h, strip):
        runs, _ = scan_strip(codes[r0:r0 + strip], CONF, DAY, r0)
        lab.push(runs, min(h, r0 + strip) - 1)
    return lab.finish()[0]


def pixel_polygons(comps):
    """Clearings as shapely polygons in pixel coordinates (the union of their rings' areas)."""
    out = []
    for c in range(len(comps)):
        rings = np.flatnonzero(comps.ring_comp == c)
        shells, holes = [], []
        for k in rings:
            s, e = comps.ring_start[k], comps.ring_start[k + 1]
            ring = shapely.Polygon(np.column_stack([comps.xs[s:e], comps.ys[s:e]]))
            (shells if comps.ring_sign[k] > 0 else holes).append(shapely.make_valid(ring))
        geom = shapely.union_all(shells)
        if holes:
            geom = shapely.difference(geom, shapely.union_all(holes))
        out.append(geom)
    return out


def blob(rng, cx, cy, radius, n=24):
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius * rng.uniform(0.5, 1.0, n)
    xy = np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)])
    return np.vstack([xy, xy[:1]])


def query(index, comps, mx, my):
    rows = len(comps.xs) and int(comps.ys.max()) + 2
    return index.nearest(comps.xs, comps.ys, comps.ring_start, comps.ring_comp,
                         comps.centroid_row, mx=np.full(max(rows, 1), mx),
                         my=np.full(max(rows, 1), my))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([4, 8, 64]), st.floats(0.5, 3.0))
def test_distance_equals_shapely_on_random_clearings_and_territories(seed, cell, aspect):
    rng = np.random.default_rng(seed)
    codes = np.where(rng.random((60, 80)) < 0.08, 20001, 0).astype(np.uint16)
    comps = components(codes)
    rings = []
    for tid in range(int(rng.integers(1, 5))):
        ring = blob(rng, rng.uniform(-30, 110), rng.uniform(-30, 90), rng.uniform(3, 40))
        rings.append((tid + 100, ring))
        if rng.random() < 0.3:  # a hole
            rings.append((tid + 100, blob(rng, ring[:, 0].mean(), ring[:, 1].mean(), 2.0)))
    mx, my = 10.0, 10.0 * aspect
    tid, dist = query(BoundaryIndex(rings, cell=cell), comps, mx, my)

    def scaled(g):
        return shapely.transform(g, lambda xy: xy * [mx, my])

    lines = [scaled(shapely.LineString(r)) for _, r in rings]
    for c, poly in enumerate(pixel_polygons(comps)):
        d = [shapely.distance(scaled(poly), ln) for ln in lines]
        k = int(np.argmin(d))
        assert dist[c] == pytest.approx(d[k], abs=1e-6)
        # the territory named is one at that distance (ties may name either)
        assert min(d[i] for i, (t, _) in enumerate(rings) if t == tid[c]) == pytest.approx(
            d[k], abs=1e-6)


def test_boundary_inside_a_clearing_is_at_distance_zero():
    codes = np.zeros((20, 20), np.uint16)
    codes[2:18, 2:18] = 20001
    comps = components(codes)
    small = np.array([[8.0, 8.0], [12.0, 8.0], [12.0, 12.0], [8.0, 12.0], [8.0, 8.0]])
    far = small + 100.0
    tid, dist = query(BoundaryIndex([(1, far), (2, small)], cell=4), comps, 30.0, 30.0)
    assert (tid[0], dist[0]) == (2, 0.0)


@pytest.mark.parametrize("offset", [(2500.0, 2500.0), (9000.0, -7000.0)])
def test_clearing_far_from_every_boundary(offset):
    """Deep inside a large territory (the search climbs levels) and far outside the grid."""
    codes = np.zeros((4, 4), np.uint16)
    codes[1, 1:3] = 20001
    comps = components(codes)
    ring = np.array([[0.0, 0.0], [5000.0, 0.0], [5000.0, 5000.0], [0.0, 5000.0], [0.0, 0.0]])
    ring -= offset
    index = BoundaryIndex([(9, ring)], cell=4)
    assert len(index.sizes) > 5
    tid, dist = query(index, comps, 2.0, 3.0)
    expected = shapely.distance(shapely.box(2, 3, 6, 6), shapely.LineString(ring * [2.0, 3.0]))
    assert tid[0] == 9
    assert dist[0] == pytest.approx(float(expected))


def test_no_territories_gives_no_distance():
    codes = np.zeros((4, 4), np.uint16)
    codes[1, 1] = 20001
    tid, dist = query(BoundaryIndex([]), components(codes), 1.0, 1.0)
    assert tid.tolist() == [-1] and np.isnan(dist[0])


def test_neighbours_at_the_same_distance_give_the_first_listed_whatever_else_is_indexed():
    """Two territories sharing an edge are at the same distance from a clearing beside it:
    the one listed first is the nearest, wherever other territories come in the list and
    whatever the ids (placing a clearing again after a territory came elsewhere gives the
    same answer)."""
    codes = np.zeros((80, 80), np.uint16)
    codes[10:13, 38:42] = 20001  # above both, across the line of their shared edge
    codes[74:76, 39:41] = 20001  # below both, likewise
    comps = components(codes)
    west = np.array([[40.0, 20.0], [40.0, 70.0], [20.0, 70.0], [20.0, 20.0], [40.0, 20.0]])
    east = np.array([[40.0, 20.0], [60.0, 20.0], [60.0, 70.0], [40.0, 70.0], [40.0, 20.0]])
    far = np.array([[70.0, 72.0], [78.0, 72.0], [78.0, 78.0], [70.0, 78.0], [70.0, 72.0]])
    for first, second in (((5, west), (3, east)), ((3, east), (5, west))):
        answers = set()
        for rings in ([first, second], [first, (9, far), second], [(9, far), first, second],
                      [first, second, (1, far)]):
            for cell in (4, 8, 64):
                tid, dist = query(BoundaryIndex(rings, cell=cell), comps, 30.0, 30.0)
                answers.add((tuple(tid.tolist()), tuple(np.round(dist, 9).tolist())))
        assert answers == {((first[0], first[0]), (7 * 30.0, 4 * 30.0))}
