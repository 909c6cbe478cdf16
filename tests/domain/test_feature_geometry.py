"""Pure parts of the driver features: nearest distances, neighbour counts, shape and time."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, Point, Polygon, box

from vigilancia.domain.context import ContextFeatures, ContextKind, geometry_family
from vigilancia.domain.features import (
    NearestIndex,
    Neighbours,
    earlier_overlaps,
    rectangularity,
    span_days,
)


def objects(items: list[object]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def days(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[D]")


# ------------------------------------------------------------------ NearestIndex


def test_distance_from_a_runway_strip_to_a_river_line() -> None:
    # a river running north along x = 0 and an 820 m x 30 m strip whose near edge is 600 m east
    river = LineString([(0, -5000), (0, 5000)])
    strip = box(600, 0, 1420, 30)
    d, which = NearestIndex(objects([river])).distance(objects([strip]))
    assert d.tolist() == [600.0] and which.tolist() == [0]


def test_distance_is_measured_from_the_polygon_not_its_centre() -> None:
    road = LineString([(0, 0), (10_000, 0)])
    # a 1 km strip running north from 250 m off the road: its centre is 750 m away
    strip = box(0, 250, 30, 1250)
    d, _ = NearestIndex(objects([road])).distance(objects([strip]))
    assert d[0] == pytest.approx(250.0)


def test_long_lines_are_cut_but_measured_exactly() -> None:
    # a meandering river of 2000 vertices: pieces of a few segments give the same distances
    x = np.linspace(0, 20_000, 2000)
    river = LineString(np.column_stack([x, 800 * np.sin(x / 900)]))
    index = NearestIndex(objects([river]))
    assert len(index.pieces) > 500
    rng = np.random.default_rng(3)
    cx, cy = rng.uniform(0, 20_000, 300), rng.uniform(-3000, 3000, 300)
    clearings = shapely.box(cx, cy, cx + 80, cy + 60)
    d, which = index.distance(clearings)
    np.testing.assert_allclose(d, shapely.distance(clearings, river), atol=1e-6)
    assert (which == 0).all()
    # pieces keep every segment once: their lengths add up to the river's
    assert shapely.length(index.pieces).sum() == pytest.approx(river.length)


def test_points_polygons_and_collections() -> None:
    features = objects(
        [
            Point(3000, 4000),  # a settlement
            box(10_000, 0, 12_000, 2_000),  # a protected area
            MultiLineString([[(0, 20_000), (1000, 20_000)], [(5000, 20_000), (6000, 20_000)]]),
            shapely.GeometryCollection([Point(-9000, 0), LineString([(-9000, 0), (-9000, 100)])]),
            None,  # a feature without geometry never matches
        ]
    )
    index = NearestIndex(features)
    queries = objects(
        [
            Point(0, 0),  # 5 km from the settlement
            box(10_500, 500, 10_600, 600),  # inside the protected area: 0
            box(12_100, 900, 12_200, 1000),  # 100 m east of it
            box(5500, 19_500, 5600, 19_800),  # 200 m below the second river part
            Point(-9300, 50),  # 300 m from the collection's line
            None,  # a clearing without geometry: unknown
        ]
    )
    d, which = index.distance(queries)
    np.testing.assert_allclose(d[:5], [5000.0, 0.0, 100.0, 200.0, 300.0])
    assert which[:5].tolist() == [0, 1, 1, 2, 3]
    assert np.isnan(d[5]) and which[5] == -1


def test_a_line_inside_a_clearing_is_at_distance_zero() -> None:
    trail = LineString([(100, 100), (200, 150)])
    d, _ = NearestIndex(objects([trail])).distance(objects([box(0, 0, 1000, 1000)]))
    assert d.tolist() == [0.0]


def test_a_clearing_inside_a_polygon_with_a_hole() -> None:
    reserve = Polygon(
        [(0, 0), (10_000, 0), (10_000, 10_000), (0, 10_000)],
        [[(4000, 4000), (6000, 4000), (6000, 6000), (4000, 6000)]],
    )
    index = NearestIndex(objects([reserve]))
    d, _ = index.distance(objects([box(1000, 1000, 1100, 1100), box(4800, 4800, 5000, 5000)]))
    # inside the reserve: 0; inside its hole: 800 m from the hole's edge
    np.testing.assert_allclose(d, [0.0, 800.0])


def test_an_empty_index_gives_unknown_distances() -> None:
    index = NearestIndex(objects([None]))
    assert index.empty
    d, which = index.distance(objects([box(0, 0, 10, 10)]))
    assert np.isnan(d).all() and which.tolist() == [-1]
    d, which = NearestIndex(objects([])).distance(objects([]))
    assert len(d) == 0 and len(which) == 0


coordinate = st.floats(-20_000, 20_000, allow_nan=False)


@st.composite
def feature_sets(draw: st.DrawFn) -> list[object]:
    out: list[object] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["point", "line", "polygon"]))
        x, y = draw(coordinate), draw(coordinate)
        if kind == "point":
            out.append(Point(x, y))
        elif kind == "line":
            steps = draw(st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=25))
            out.append(LineString([(x, y), *steps]))
        else:
            w, h = draw(st.floats(10, 5000)), draw(st.floats(10, 5000))
            angle = draw(st.floats(0, 180))
            out.append(affinity.rotate(box(x, y, x + w, y + h), angle))
    return out


@settings(max_examples=60, deadline=None)
@given(
    features=feature_sets(),
    clearings=st.lists(
        st.tuples(coordinate, coordinate, st.floats(10, 900), st.floats(10, 900)),
        min_size=1,
        max_size=12,
    ),
)
def test_nearest_distance_equals_the_brute_force_minimum(features, clearings) -> None:
    geoms = shapely.make_valid(objects(features))
    polys = objects([box(x, y, x + w, y + h) for x, y, w, h in clearings])
    d, which = NearestIndex(geoms).distance(polys)
    brute = np.array([[shapely.distance(p, g) for g in geoms] for p in polys])
    np.testing.assert_allclose(d, brute.min(axis=1), atol=1e-6)
    chosen = brute[np.arange(len(polys)), which]
    np.testing.assert_allclose(chosen, d, atol=1e-6)


# ------------------------------------------------------------------- Neighbours


def test_neighbour_counts_exclude_the_clearing_itself() -> None:
    pts = np.array([[0.0, 0.0], [600.0, 0.0], [0.0, 1500.0], [4000.0, 0.0], [np.nan, 0.0]])
    near = Neighbours(pts, weights=np.array([1.0, 2.0, 4.0, 8.0, 16.0]))
    own = np.arange(5)
    np.testing.assert_array_equal(near.count(pts[:4], 1000.0, self_index=own[:4]), [1, 1, 0, 0])
    np.testing.assert_array_equal(near.count(pts[:4], 2000.0, self_index=own[:4]), [2, 2, 2, 0])
    np.testing.assert_array_equal(near.count(pts[:4], 5000.0, self_index=own[:4]), [3, 3, 3, 3])
    np.testing.assert_array_equal(near.weight(pts[:4], 1000.0, self_index=own[:4]), [2, 1, 0, 0])
    np.testing.assert_array_equal(near.weight(pts[:4], 2000.0, self_index=own[:4]), [6, 5, 3, 0])
    # a query with no coordinate is unknown; one that is not an indexed point counts all
    counts = near.count(np.array([[np.nan, 1.0], [0.0, 0.0]]), 1000.0)
    assert np.isnan(counts[0]) and counts[1] == 2


def test_the_radius_is_inclusive_and_duplicates_count() -> None:
    pts = np.array([[0.0, 0.0], [0.0, 0.0], [1000.0, 0.0]])
    near = Neighbours(pts, weights=np.array([0.5, 0.25, np.nan]))
    np.testing.assert_array_equal(near.count(pts, 1000.0, self_index=np.arange(3)), [2, 2, 2])
    np.testing.assert_array_equal(
        near.weight(pts, 1000.0, self_index=np.arange(3)), [0.25, 0.5, 0.75]
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 6000), st.floats(0, 6000)), min_size=1, max_size=60),
    st.sampled_from([1000.0, 2000.0, 5000.0]),
)
def test_neighbour_counts_match_brute_force(points, radius) -> None:
    pts = np.array(points, np.float64)
    w = np.arange(1, len(pts) + 1, dtype=np.float64)
    dist = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
    within = dist <= radius
    np.fill_diagonal(within, False)
    near = Neighbours(pts, weights=w)
    own = np.arange(len(pts))
    np.testing.assert_array_equal(near.count(pts, radius, self_index=own), within.sum(axis=1))
    np.testing.assert_allclose(near.weight(pts, radius, self_index=own), within @ w)


# ------------------------------------------------------------ shape and time


def test_rectangularity() -> None:
    # a clean 820 x 30 m strip, an L-shaped clearing, a degenerate one
    strip = box(0, 0, 820, 30)
    ell = shapely.union(box(0, 0, 300, 100), box(0, 0, 100, 300))
    area = np.array([strip.area, ell.area, 1.0]) / 10_000
    r = rectangularity(area, np.array([820.0, 300.0, 100.0]), np.array([30.0, 300.0, 0.0]))
    np.testing.assert_allclose(r[:2], [1.0, 5 / 9])
    assert np.isnan(r[2])


def test_span_days() -> None:
    s = span_days(
        days("2024-01-05", "2024-03-01", "NaT"), days("2024-01-05", "2024-04-15", "2024-01-01")
    )
    np.testing.assert_array_equal(s[:2], [0.0, 45.0])
    assert np.isnan(s[2])


# ------------------------------------------------------------------ re-clearing


def test_earlier_overlaps() -> None:
    old = box(0, 0, 100, 100)
    queries = objects(
        [
            box(50, 50, 150, 150),  # overlaps the old clearing, started after it ended
            box(100, 0, 200, 100),  # only touches it along an edge
            box(20, 20, 60, 60),  # overlaps it, but started before it ended (the same event)
            box(500, 500, 600, 600),  # elsewhere
            box(10, 10, 30, 30),  # overlaps; no dates: a later batch decides
        ]
    )
    out = earlier_overlaps(
        queries,
        np.array([10, 11, 12, 13, 14]),
        days("2024-06-01", "2024-06-01", "2024-01-10", "2024-06-01", "NaT"),
        np.array([2, 2, 2, 2, 2]),
        objects([old]),
        np.array([1]),
        days("2024-02-01"),
        np.array([1]),
    )
    assert out.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]


def test_a_clearing_is_not_its_own_earlier_clearing() -> None:
    a = box(0, 0, 100, 100)
    b = box(50, 0, 150, 100)
    ids = np.array([1, 2])
    first = days("2023-01-01", "2024-01-01")
    last = days("2023-02-01", "2024-02-01")
    out = earlier_overlaps(
        objects([a, b]), ids, first, np.array([1, 1]), objects([a, b]), ids, last, np.array([1, 1])
    )
    assert out.tolist() == [0.0, 1.0]  # b came back where a was; a had nothing before it


def test_later_batches_do_not_make_older_undated_clearings_recleared() -> None:
    a = box(0, 0, 100, 100)
    nat = days("NaT")
    out = earlier_overlaps(
        objects([a]),
        np.array([1]),
        nat,
        np.array([1]),
        objects([a]),
        np.array([2]),
        nat,
        np.array([5]),
    )
    assert out.tolist() == [0.0]


# --------------------------------------------------------------- context values


def test_context_features_by_kind_and_geometry_family() -> None:
    feats = ContextFeatures.build(
        [1, 2, 3],
        ["river", "road", "river"],
        ["Río Pichis", None, "Quebrada Azul"],
        ["Río", "vecinal", "Quebrada"],
        [LineString([(0, 0), (1, 1)]), LineString([(0, 1), (1, 0)]), Point(2, 2)],
    )
    rivers = feats.of_kind(ContextKind.RIVER)
    assert rivers.id.tolist() == [1, 3] and rivers.name.tolist() == ["Río Pichis", "Quebrada Azul"]
    assert len(feats.of_kind("airstrip")) == 0
    with pytest.raises(ValueError):
        ContextFeatures.build([1], ["lake"], [None], [None], [Point(0, 0)])
    assert [geometry_family(g) for g in feats.geometry] == ["line", "line", "point"]
    mixed = shapely.GeometryCollection([Point(0, 0), box(0, 0, 1, 1)])
    assert geometry_family(mixed) == "mixed" and geometry_family(None) is None
