"""Placement of clearings against territories: exact overlaps, nearest boundaries, buffer."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from vigilancia.domain.clearings import Placement
from vigilancia.domain.placement import (
    boundary_pieces,
    nearest_boundaries,
    overlaps_by_geometry,
    place,
)


def arr(*geoms: object) -> np.ndarray:
    out = np.empty(len(geoms), dtype=object)
    out[:] = list(geoms)
    return out


# Two 1 km x 1 km territories side by side (ids 10 and 20), the second with a
# 200 m x 200 m hole in its middle.
WEST = box(0, 0, 1000, 1000)
EAST = Polygon(
    [(1000, 0), (2000, 0), (2000, 1000), (1000, 1000)],
    holes=[[(1400, 400), (1600, 400), (1600, 600), (1400, 600)]],
)
IDS = np.array([10, 20], dtype=np.int64)
TERRITORIES = arr(WEST, EAST)


def as_dict(result: tuple[np.ndarray, ...]) -> dict[tuple[int, int], tuple[float, float]]:
    c, t, a, s = result
    return {
        (int(ci), int(ti)): (float(ai), float(si))
        for ci, ti, ai, si in zip(c, t, a, s, strict=True)
    }


# --------------------------------------------------------------------------- overlaps


def test_canonical_overlaps() -> None:
    clearings = arr(
        box(100, 100, 200, 200),  # 0: wholly inside WEST: 1 ha, share 1
        box(900, 0, 1100, 100),  # 1: half in WEST, half in EAST: 2 ha
        box(700, 500, 1000, 600),  # 2: inside WEST touching the shared edge: 3 ha
        box(-100, 0, 0, 100),  # 3: outside, touching WEST's edge only
        box(1450, 450, 1550, 550),  # 4: inside EAST's hole: outside both
        box(1300, 450, 1500, 550),  # 5: half in EAST, half in its hole: 2 ha
        box(3000, 3000, 3100, 3100),  # 6: far away
    )
    got = as_dict(overlaps_by_geometry(clearings, IDS, TERRITORIES))
    assert got.keys() == {(0, 10), (1, 10), (1, 20), (2, 10), (5, 20)}
    assert got[(0, 10)] == pytest.approx((1.0, 1.0))
    assert got[(1, 10)] == pytest.approx((1.0, 0.5))
    assert got[(1, 20)] == pytest.approx((1.0, 0.5))
    assert got[(2, 10)] == pytest.approx((3.0, 1.0))
    assert got[(5, 20)] == pytest.approx((1.0, 0.5))


def test_overlaps_are_sorted_and_typed() -> None:
    clearings = arr(box(900, 0, 1100, 100), box(100, 100, 200, 200))
    c, t, a, s = overlaps_by_geometry(clearings, np.array([20, 10]), arr(EAST, WEST))
    assert c.tolist() == [0, 0, 1] and t.tolist() == [10, 20, 10]
    assert c.dtype == np.int64 and t.dtype == np.int64
    assert a.dtype == np.float64 and s.dtype == np.float64


def test_unequal_split_and_published_area() -> None:
    clearings = arr(box(700, 0, 1700, 100))  # 30 % in WEST, 70 % in EAST
    got = as_dict(overlaps_by_geometry(clearings, IDS, TERRITORIES, area_ha=np.array([12.0])))
    assert got[(0, 10)] == pytest.approx((0.3 * 12.0, 0.3))
    assert got[(0, 20)] == pytest.approx((0.7 * 12.0, 0.7))


def test_overlapping_territories_each_get_their_share() -> None:
    district = box(-5000, -5000, 5000, 5000)
    got = as_dict(overlaps_by_geometry(
        arr(box(900, 0, 1100, 100)), np.array([10, 99]), arr(WEST, district)
    ))
    assert got[(0, 10)] == pytest.approx((1.0, 0.5))
    assert got[(0, 99)] == pytest.approx((2.0, 1.0))


def test_point_alerts_count_by_their_point() -> None:
    boxes = arr(
        box(800, 0, 1300, 500),  # box straddles, point in EAST
        box(800, 0, 1300, 500),  # point exactly on the shared edge: in neither
        box(1400, 400, 1600, 600),  # point in the hole
        box(0, 0, 10, 10),  # not by point: exact polygon
    )
    points = arr(Point(1100, 100), Point(1000, 100), Point(1500, 500), None)
    use_point = np.array([True, True, True, False])
    area = np.array([2.5, 3.0, 1.0, np.nan])
    got = as_dict(overlaps_by_geometry(
        boxes, IDS, TERRITORIES, points_m=points, use_point=use_point, area_ha=area
    ))
    assert got == {(0, 20): pytest.approx((2.5, 1.0)), (3, 10): pytest.approx((0.01, 1.0))}


def test_degenerate_clearings_use_their_point() -> None:
    clearings = arr(LineString([(100, 100), (200, 200)]), Point(1500, 100), None, Polygon())
    area = np.array([1, 2, 3, 4.0])
    got = as_dict(overlaps_by_geometry(clearings, IDS, TERRITORIES, area_ha=area))
    assert got == {(0, 10): pytest.approx((1.0, 1.0)), (1, 20): pytest.approx((2.0, 1.0))}


def test_no_territories_or_no_clearings() -> None:
    c, t, a, s = overlaps_by_geometry(arr(box(0, 0, 1, 1)), np.empty(0, np.int64), arr())
    assert len(c) == len(t) == len(a) == len(s) == 0
    c, *_ = overlaps_by_geometry(arr(), IDS, TERRITORIES)
    assert len(c) == 0


def test_point_mode_needs_points() -> None:
    with pytest.raises(ValueError, match="points_m"):
        overlaps_by_geometry(arr(box(0, 0, 1, 1)), IDS, TERRITORIES, use_point=np.array([True]))


# --------------------------------------------------------------------------- nearest


def test_canonical_nearest_boundaries() -> None:
    clearings = arr(
        box(-300, 400, -100, 600),  # 0: 100 m west of WEST
        box(400, 400, 600, 600),  # 1: inside WEST, 400 m from its boundary
        box(1450, 450, 1550, 550),  # 2: in EAST's hole, 50 m from the hole's ring
        box(1950, 100, 2100, 200),  # 3: crosses EAST's boundary: distance 0
        box(5000, 500, 5100, 600),  # 4: 3000 m east of EAST
        None,  # 5: no geometry
    )
    nearest, dist, within = nearest_boundaries(clearings, IDS, TERRITORIES, buffer_m=100.0)
    assert nearest.tolist() == [10, 10, 20, 20, 20, -1]
    np.testing.assert_allclose(dist[:5], [100.0, 400.0, 50.0, 0.0, 3000.0])
    assert np.isnan(dist[5])
    # inside a territory counts whatever the distance; the hole is outside but within 50 m
    assert within.tolist() == [True, True, True, True, False, False]
    _, _, within0 = nearest_boundaries(clearings, IDS, TERRITORIES, buffer_m=0.0)
    assert within0.tolist() == [False, True, False, True, False, False]


def test_nearest_with_no_territories() -> None:
    nearest, dist, within = nearest_boundaries(arr(box(0, 0, 1, 1)), [], arr(), buffer_m=10)
    assert nearest.tolist() == [-1] and np.isnan(dist).all() and not within.any()


def test_boundary_pieces_cover_every_ring() -> None:
    complex_territory = shapely.segmentize(EAST, 10.0)  # 4 * 100 + 4 * 20 segments
    pieces, owner = boundary_pieces(arr(WEST, complex_territory), max_segments=8)
    assert shapely.get_num_coordinates(pieces).max() <= 9
    assert owner.tolist().count(0) == 1
    for k, territory in enumerate((WEST, complex_territory)):
        mine = pieces[owner == k]
        assert shapely.length(mine).sum() == pytest.approx(territory.boundary.length)
        assert shapely.union_all(mine).equals(territory.boundary)


# --------------------------------------------------------------------------- place


def test_place_counts_all_kinds_for_overlaps_but_only_masked_for_nearest() -> None:
    district = box(-5000, -5000, 5000, 5000)
    territories = arr(WEST, district)
    ids = np.array([10, 99])
    clearings = arr(box(1200, 0, 1300, 100), box(100, 100, 200, 200))
    result = place(
        clearings, ids, territories, buffer_m=250.0, nearest_mask=np.array([True, False])
    )
    assert isinstance(result, Placement)
    pairs = zip(result.overlap_clearing.tolist(), result.overlap_territory.tolist(), strict=True)
    assert list(pairs) == [(0, 99), (1, 10), (1, 99)]
    assert result.nearest_territory.tolist() == [10, 10]
    np.testing.assert_allclose(result.boundary_distance_m, [200.0, 100.0])
    assert result.within_buffer.tolist() == [True, True]


def test_place_uses_points_for_nearest_too() -> None:
    clearings = arr(box(-500, 0, 500, 100))  # the box crosses WEST's edge, the point does not
    result = place(
        clearings, IDS, TERRITORIES, buffer_m=50.0,
        points_m=arr(Point(-200, 50)), use_point=np.array([True]), area_ha=np.array([1.0]),
    )
    assert len(result.overlap_clearing) == 0
    assert result.boundary_distance_m.tolist() == [200.0]
    assert result.within_buffer.tolist() == [False]


def test_place_passes_precomputed_overlaps_through() -> None:
    given_overlaps = (np.array([0]), np.array([77]), np.array([0.5]), np.array([0.25]))
    result = place(arr(box(100, 100, 200, 200)), IDS, TERRITORIES, buffer_m=0.0,
                   overlaps=given_overlaps)
    assert result.overlap_territory.tolist() == [77]
    assert result.overlap_share.tolist() == [0.25]
    assert result.nearest_territory.tolist() == [10]


# --------------------------------------------------------------------------- invariants


def voronoi_territories(seed: int, n: int) -> np.ndarray:
    """A partition of a 10 km square into ``n`` non-overlapping irregular territories."""
    rng = np.random.default_rng(seed)
    pts = shapely.multipoints(rng.uniform(0, 10_000, (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=box(-1, -1, 10_001, 10_001)))
    return np.asarray(shapely.intersection(cells, box(0, 0, 10_000, 10_000)), dtype=object)


clearing_strategy = st.tuples(
    st.floats(-2_000, 12_000), st.floats(-2_000, 12_000),  # centre
    st.floats(1, 3_000), st.floats(1, 3_000),  # size
    st.floats(0, 180),  # rotation
)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_territories=st.integers(2, 12),
    specs=st.lists(clearing_strategy, min_size=1, max_size=25),
    buffer_m=st.floats(0, 2_000),
)
def test_shares_sum_to_at_most_one_and_distances_are_exact(
    seed: int, n_territories: int, specs: list[tuple[float, ...]], buffer_m: float
) -> None:
    territories = voronoi_territories(seed, n_territories)
    ids = np.arange(100, 100 + len(territories), dtype=np.int64)
    clearings = arr(*[
        shapely.affinity.rotate(box(x - w / 2, y - h / 2, x + w / 2, y + h / 2), r)
        for x, y, w, h, r in specs
    ])

    c, t, a, s = overlaps_by_geometry(clearings, ids, territories)
    assert ((s > 0) & (s <= 1.0 + 1e-9)).all()
    totals = np.bincount(c, weights=s, minlength=len(clearings))
    assert (totals <= 1.0 + 1e-9).all()
    # shares equal the covered fraction of each clearing (the territories tile the square)
    covered = shapely.area(shapely.intersection(clearings, box(0, 0, 10_000, 10_000)))
    np.testing.assert_allclose(totals, covered / shapely.area(clearings), atol=1e-7)
    np.testing.assert_allclose(a, s * shapely.area(clearings)[c] / 1e4)

    nearest, dist, within = nearest_boundaries(clearings, ids, territories, buffer_m)
    assert (dist >= 0).all()
    brute = shapely.distance(clearings[:, None], shapely.boundary(territories)[None, :])
    np.testing.assert_allclose(dist, brute.min(axis=1), atol=1e-6)
    chosen = brute[np.arange(len(clearings)), nearest - 100]
    np.testing.assert_allclose(chosen, dist, atol=1e-6)
    inside_any = shapely.intersects(clearings[:, None], territories[None, :]).any(axis=1)
    assert (within == (inside_any | (brute.min(axis=1) <= buffer_m))).all()


@pytest.mark.slow
def test_many_clearings_against_many_territories() -> None:
    territories = voronoi_territories(1, 2_000)
    ids = np.arange(len(territories), dtype=np.int64)
    rng = np.random.default_rng(2)
    n = 50_000
    centres = rng.uniform(0, 10_000, (n, 2))
    clearings = np.asarray(
        shapely.box(centres[:, 0], centres[:, 1], centres[:, 0] + 30, centres[:, 1] + 20),
        dtype=object,
    )
    c, _, _, s = overlaps_by_geometry(clearings, ids, territories)
    assert np.bincount(c, weights=s, minlength=n) == pytest.approx(
        np.minimum(1.0, shapely.area(shapely.intersection(clearings, box(0, 0, 10_000, 10_000)))
                   / 600.0)
    )


def test_of_two_boundaries_at_the_same_distance_the_first_given_is_named():
    """A clearing below two neighbours, across the line of their shared edge: either order
    of the territories names the one given first, at the same distance."""
    west, east = shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)
    clearing = np.array([shapely.box(990, -60, 1010, -50)], dtype=object)
    for ids, geoms in (([4, 2], [west, east]), ([2, 4], [east, west])):
        nearest, dist, _within = nearest_boundaries(clearing, np.array(ids),
                                                    np.array(geoms, dtype=object), 100.0)
        assert nearest.tolist() == [ids[0]] and dist.tolist() == [50.0]
