"""Runway candidates from aligned clearings, and matching them to known airstrips."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box

from vigilancia.domain.airstrips import (
    RunwayRules,
    area_moments,
    candidate_features,
    match_known,
    runway_candidates,
)
from vigilancia.domain.drivers import FEATURES, Driver
from vigilancia.domain.rules import RulesModel


def strip(x0: float, x1: float, width: float = 30.0, y: float = 0.0) -> Polygon:
    """A strip along the x axis from x0 to x1 (m), ``width`` wide, centred on ``y``."""
    return box(x0, y - width / 2, x1, y + width / 2)


def turned(geoms: list, degrees: float, origin=(0.0, 0.0), shift=(0.0, 0.0)) -> list:
    """Rotate (counter-clockwise) about ``origin`` and translate."""
    return [affinity.translate(affinity.rotate(g, degrees, origin=origin), *shift) for g in geoms]


def pixels(mask: np.ndarray, size: float = 27.7) -> Polygon:
    """The union of the pixel squares of ``mask`` (row 0 at the top)."""
    rows, cols = np.nonzero(mask)
    squares = [box(c * size, -(r + 1) * size, (c + 1) * size, -r * size)
               for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    return shapely.union_all(squares)


# ------------------------------------------------------------------ merging


def test_three_aligned_fragments_merge_into_one_candidate_of_the_right_length():
    """A 1,000 m x 30 m runway seen as three patches with 100 m gaps, on a 30 degree axis."""
    parts = turned([strip(0, 300), strip(400, 650), strip(750, 1000)], 60.0,
                   shift=(500_000.0, 8_900_000.0))
    first = ["2023-03-01", "2023-01-10", "2023-02-01"]
    last = ["2023-03-05", "2023-01-20", "2023-04-02"]
    (c,) = runway_candidates(parts, ids=[11, 12, 13], first_date=first, last_date=last)
    assert c.members == (11, 12, 13)
    assert c.length_m == pytest.approx(1000.0, abs=1.0)
    assert c.width_m == pytest.approx(30.0, abs=0.5)
    assert c.fill == pytest.approx(0.8, abs=0.01)
    assert c.orientation_deg == pytest.approx(30.0, abs=0.5)  # clockwise from north
    assert c.centreline.length == pytest.approx(1000.0, abs=1.0)
    assert c.first_date == date(2023, 1, 10) and c.last_date == date(2023, 4, 2)
    assert c.area_ha == pytest.approx(0.08 * 30 / 10 * 10, rel=0.01)  # 800 m x 30 m
    assert c.branches == 0


def test_perpendicular_strips_do_not_merge():
    a = strip(0, 500)
    b = turned([strip(0, 400)], 90.0, shift=(600.0, -200.0))[0]  # a T past a's end
    cands = runway_candidates([a, b], ids=[1, 2])
    assert sorted(c.members for c in cands) == [(1,), (2,)]
    assert all(c.branches == 0 for c in cands)  # 100 m apart: no fork


def test_a_strip_forking_into_another_thin_strip_counts_a_branch():
    a = strip(0, 600)
    fork = turned([strip(0, 400, width=25)], 50.0, shift=(600.0, 20.0))[0]
    (c,) = [c for c in runway_candidates([a, fork], ids=[1, 2]) if 1 in c.members]
    assert c.members == (1,)
    assert c.branches == 1


def test_gaps_beyond_the_limit_and_parallel_offsets_keep_strips_apart():
    far = runway_candidates([strip(0, 400), strip(600, 1000)], ids=[1, 2])  # 200 m gap
    assert sorted(c.members for c in far) == [(1,), (2,)]
    side = runway_candidates([strip(0, 500), strip(550, 1000, y=60.0)], ids=[1, 2])
    assert sorted(c.members for c in side) == [(1,), (2,)]
    near = runway_candidates([strip(0, 500), strip(550, 1000, y=20.0)], ids=[1, 2])
    assert [c.members for c in near] == [(1, 2)]


def test_small_patches_on_the_axis_bridge_a_gap_but_never_start_a_runway():
    parts = [strip(0, 250), box(320, -14, 348, 14), strip(420, 700)]  # a lone pixel between
    (c,) = runway_candidates(parts, ids=[1, 2, 3])
    assert c.members == (1, 2, 3)
    assert runway_candidates([box(0, 0, 28, 28), box(100, 0, 128, 28)]) == []


def test_blobs_fields_and_short_strips_are_not_candidates():
    blob = Point(0, 0).buffer(60)  # 1.1 ha
    field = box(1000, 0, 1500, 300)
    short = strip(3000, 3200)  # 200 m
    wide = strip(5000, 5600, width=120.0)
    assert runway_candidates([blob, field, short, wide]) == []


def test_a_curving_chain_of_straight_pieces_is_not_one_strip():
    """Pieces along an arc of 1.2 km radius, each turned 12 degrees from the last: a road."""
    radius = 1200.0
    parts = []
    for k in range(6):
        a0, a1 = math.radians(12 * k), math.radians(12 * k + 9)
        p0 = (radius * math.sin(a0), radius * (1 - math.cos(a0)))
        p1 = (radius * math.sin(a1), radius * (1 - math.cos(a1)))
        parts.append(LineString([p0, p1]).buffer(12, cap_style="flat"))
    cands = runway_candidates(parts)
    assert all(len(c.members) <= 2 for c in cands)


def test_ragged_pixel_strip_is_one_candidate():
    """A two-pixel-wide diagonal strip with pixels sticking out of both edges."""
    rng = np.random.default_rng(5)
    n = 40
    mask = np.zeros((n + 4, n + 4), bool)
    for i in range(n):
        mask[i + 1, i + 1] = mask[i + 1, i + 2] = True
        if rng.random() < 0.15:
            mask[i + 1, i + 3] = True
        if rng.random() < 0.15:
            mask[i + 1, i] = True
    geom = pixels(mask)
    (c,) = runway_candidates([geom])
    assert c.length_m == pytest.approx(n * 27.7 * math.sqrt(2), rel=0.05)
    assert 25.0 < c.width_m < 60.0
    assert c.orientation_deg == pytest.approx(135.0, abs=3.0)


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 360), st.floats(-5e4, 5e4), st.floats(-5e4, 5e4))
def test_grouping_does_not_depend_on_orientation_or_place(angle, dx, dy):
    parts = [strip(0, 300), strip(420, 650), strip(770, 1000), Point(400, 300).buffer(70),
             strip(300, 700, y=400.0)]
    moved = turned(parts, angle, shift=(dx, dy))
    a = runway_candidates(parts)
    b = runway_candidates(moved)
    assert [sorted(c.members) for c in a] == [sorted(c.members) for c in b] == [[0, 1, 2], [4]]
    for ca, cb in zip(a, b, strict=True):
        assert cb.length_m == pytest.approx(ca.length_m, abs=1e-6 * 1e4)
        assert cb.width_m == pytest.approx(ca.width_m, rel=1e-6)


def test_empty_input_and_mismatched_ids():
    assert runway_candidates([]) == []
    with pytest.raises(ValueError, match="ids"):
        runway_candidates([strip(0, 500)], ids=[1, 2])


def test_rules_are_adjustable():
    parts = [strip(0, 300), strip(500, 800)]  # 200 m gap
    assert len(runway_candidates(parts, rules=RunwayRules(max_gap_m=250.0))) == 1


def test_area_moments_match_shapely_and_rectangles():
    geoms = np.array([box(0, 0, 400, 20), Point(10, 10).buffer(5),
                      box(0, 0, 10, 10).difference(box(2, 2, 4, 4)),
                      shapely.MultiPolygon([box(0, 0, 1, 1), box(3, 0, 4, 1)])], dtype=object)
    area, centre, cov = area_moments(geoms)
    np.testing.assert_allclose(area, shapely.area(geoms))
    np.testing.assert_allclose(centre, shapely.get_coordinates(shapely.centroid(geoms)))
    vals = np.linalg.eigvalsh(cov[0])
    assert np.sqrt(12 * vals) == pytest.approx([20.0, 400.0])


# ------------------------------------------------------------------ features and rules


def test_candidate_features_feed_the_rules_as_an_airstrip():
    parts = turned([strip(0, 300), strip(400, 650), strip(750, 1000)], 20.0)
    cands = runway_candidates(parts, first_date=["2022-01-01"] * 3,
                              last_date=["2022-01-01", "2022-02-01", "2022-03-01"])
    f = candidate_features(cands)
    assert set(FEATURES) <= set(f)
    assert f["length_m"][0] == pytest.approx(1000.0, abs=1.0)
    assert f["rectangularity"][0] == pytest.approx(cands[0].fill)
    assert f["span_days"][0] == 59.0
    assert np.isnan(f["dist_river_m"][0])
    p = RulesModel().predict(f)
    assert p.driver[0] == Driver.AIRSTRIP
    assert p.reasons[0][0].code == "straight_strip"
    assert candidate_features([])["length_m"].shape == (0,)


# ------------------------------------------------------------------ known airstrips


def test_match_known_lines_points_and_outlines():
    cands = runway_candidates([strip(0, 300), strip(380, 800)])  # one 800 m candidate
    known = [
        LineString([(-2000, 500), (-2000, 1500)]),  # far away
        LineString([(400, -400), (400, 400)]),  # crosses it
        LineString([(100, 15), (700, 15)]),  # along it
    ]
    m = match_known(cands, known, tolerance_m=50.0)
    assert m.known.tolist() == [2]
    assert m.overlap[0] == pytest.approx(1.0)
    assert m.distance_m[0] == pytest.approx(15.0)
    crossing = match_known(cands, known[:2], tolerance_m=50.0)
    assert crossing.known.tolist() == [-1] and not crossing.matched.any()
    point = match_known(cands, [Point(2000, 0), Point(600, 60)], tolerance_m=100.0)
    assert point.known.tolist() == [1]
    outline = match_known(cands, [strip(-50, 850, width=40.0)], tolerance_m=50.0)
    assert outline.known.tolist() == [0]


def test_partial_reclearing_of_a_long_known_runway_matches():
    (c,) = runway_candidates([strip(0, 500)])
    m = match_known([c], [LineString([(-800, 0), (1200, 0)])], tolerance_m=60.0)
    assert m.known.tolist() == [0] and m.overlap[0] == pytest.approx(1.0)


def test_match_known_with_nothing():
    m = match_known([], [LineString([(0, 0), (1, 1)])])
    assert len(m.known) == 0
    (c,) = runway_candidates([strip(0, 500)])
    assert match_known([c], []).known.tolist() == [-1]
