"""Patrol plans: legs over the network or straight, case choice within the budget, care flags."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from vigilancia.domain.patrol_planning import (
    Hazard,
    PatrolCandidate,
    TravelLegs,
    care_flags,
    choose_start,
    order_visits,
    plan_visits,
)
from vigilancia.domain.patrols import CareReason, plan_from_json, plan_to_json
from vigilancia.domain.routes import Mode, NetworkLine, RouteParams

PARAMS = RouteParams()  # walk 2 km/h, trail 4, river 15, rural road 20


def plan(cands, max_km=25.0, **kw):
    return plan_visits(territory_id=1, territory_name="CN Alfa", start=(0.0, 0.0),
                       candidates=cands, max_km=max_km, **kw)


def test_all_cases_within_budget_in_a_short_round():
    # four cases on a 2 km square around the start: the round goes around it, not across
    cands = [
        PatrolCandidate(1, (2000.0, 2000.0), 50),
        PatrolCandidate(2, (-2000.0, -2000.0), 60),
        PatrolCandidate(3, (2000.0, -2000.0), 40),
        PatrolCandidate(4, (-2000.0, 2000.0), 30),
    ]
    p = plan(cands, max_km=25)
    assert sorted(p.case_ids) == [1, 2, 3, 4] and p.skipped == ()
    # start -> corner (2.83 km), 3 sides of 4 km, corner -> start: 2 * 2.83 + 12
    assert p.total_km == pytest.approx(2 * math.hypot(2, 2) + 12)
    assert p.total_hours == pytest.approx(p.total_km / PARAMS.walk_kmh)
    # neighbours follow each other (no diagonal across the square)
    pos = {c: np.array(next(x.xy for x in cands if x.case_id == c)) for c in p.case_ids}
    for a, b in zip(p.case_ids[:-1], p.case_ids[1:], strict=True):
        assert np.hypot(*(pos[a] - pos[b])) == pytest.approx(4000)
    assert [s.order for s in p.stops] == [1, 2, 3, 4]
    assert p.stops[-1].cumulative_km + p.return_km == pytest.approx(p.total_km)
    assert p.return_modes == ("walk",)
    # the way round that reaches the higher priorities first
    assert p.case_ids[0] == 2


def test_higher_priority_first_when_the_budget_binds():
    far_urgent = PatrolCandidate(1, (5000.0, 0.0), 90)  # 10 km round trip
    near_minor = PatrolCandidate(2, (0.0, 3000.0), 20)  # 6 km round trip
    p = plan([near_minor, far_urgent], max_km=11)
    assert p.case_ids == (1,) and p.skipped == (2,)
    assert p.total_km == pytest.approx(10.0)
    # with room for both, both go (5 + hypot(5, 3) + 3 km)
    both = plan([near_minor, far_urgent], max_km=20)
    assert set(both.case_ids) == {1, 2}
    assert both.total_km == pytest.approx(8 + math.hypot(5, 3))


def test_a_lower_priority_case_that_still_fits_is_kept():
    cands = [
        PatrolCandidate(1, (4000.0, 0.0), 90),  # 8 km round trip
        PatrolCandidate(2, (0.0, 9000.0), 80),  # alone 18 km: does not fit with case 1
        PatrolCandidate(3, (4500.0, 0.0), 10),  # on the way: +1 km
    ]
    p = plan(cands, max_km=12)
    assert p.case_ids == (1, 3) and p.skipped == (2,)
    assert p.total_km == pytest.approx(9.0)


def test_case_too_far_even_alone_is_skipped():
    p = plan([PatrolCandidate(1, (20_000.0, 0.0), 99)], max_km=25)
    assert p.stops == () and p.skipped == (1,) and p.total_km == 0 and p.route is None


def test_trail_is_used_when_it_is_faster():
    # a trail 200 m north of the straight line: walk 0.2 + 8 km trail + walk 0.2
    trail = NetworkLine(LineString([(0, 200), (8000, 200)]), Mode.TRAIL, "Trocha Alfa")
    p = plan([PatrolCandidate(1, (8000.0, 0.0), 50)], max_km=25, lines=[trail], params=PARAMS)
    stop = p.stops[0]
    assert stop.leg_modes == ("walk", "trail", "walk")
    assert stop.leg_km == pytest.approx(8.4)
    assert stop.leg_hours == pytest.approx(0.4 / 2 + 8 / 4)
    assert p.return_modes == ("walk", "trail", "walk")
    assert p.total_km == pytest.approx(16.8)
    assert p.total_hours == pytest.approx(2 * (0.2 + 2.0))
    # the route follows the trail
    assert p.route is not None and p.route.length == pytest.approx(16_800, rel=1e-6)
    assert LineString([(0, 200), (8000, 200)]).buffer(1).covers(
        p.route.interpolate(4000))


def test_river_by_boat_and_back():
    river = NetworkLine(LineString([(0, -500), (12_000, -500)]), Mode.RIVER, "Río Alfa")
    p = plan([PatrolCandidate(1, (12_000.0, 0.0), 50)], max_km=30, lines=[river],
             params=PARAMS)
    stop = p.stops[0]
    assert stop.leg_modes == ("walk", "river", "walk")
    assert stop.leg_km == pytest.approx(13.0)
    assert stop.leg_hours == pytest.approx(1.0 / 2 + 12 / 15)


def test_straight_line_when_the_network_is_slower_or_absent():
    # a trail far to the north: reaching it costs more than walking straight
    trail = NetworkLine(LineString([(0, 3000), (6000, 3000)]), Mode.TRAIL)
    p = plan([PatrolCandidate(1, (6000.0, 0.0), 50)], max_km=25, lines=[trail],
             params=PARAMS)
    assert p.stops[0].leg_modes == ("walk",)
    assert p.stops[0].leg_km == pytest.approx(6.0)
    assert p.stops[0].leg_hours == pytest.approx(3.0)
    none = plan([PatrolCandidate(1, (6000.0, 0.0), 50)], max_km=25)
    assert none.stops[0].leg_km == pytest.approx(6.0) and none.route is not None
    assert list(none.route.coords) == [(0, 0), (6000, 0), (0, 0)]


def test_travel_legs_are_symmetric_and_never_shorter_than_straight():
    lines = [NetworkLine(LineString([(0, 100), (5000, 100), (5000, 6000)]), Mode.TRAIL),
             NetworkLine(LineString([(-3000, -200), (9000, -200)]), Mode.RIVER)]
    pts = [(0, 0), (5100, 5900), (8800, 0), (-2800, 100)]
    legs = TravelLegs(pts, lines, PARAMS)
    assert np.allclose(legs.km, legs.km.T) and np.allclose(legs.hours, legs.hours.T)
    for i in range(len(pts)):
        for j in range(len(pts)):
            straight = math.dist(pts[i], pts[j]) / 1000
            assert legs.km[i, j] >= straight - 1e-9
            assert legs.hours[i, j] <= straight / PARAMS.walk_kmh + 1e-9
            leg = legs.leg(i, j)
            assert tuple(leg.coords[0]) == pytest.approx(pts[i])
            assert tuple(leg.coords[-1]) == pytest.approx(pts[j])
            assert LineString(leg.coords).length / 1000 == pytest.approx(leg.km)


def test_open_plan_does_not_return():
    cands = [PatrolCandidate(1, (3000.0, 0.0), 50), PatrolCandidate(2, (6000.0, 0.0), 40)]
    p = plan(cands, max_km=6, returns=False)
    assert p.case_ids == (1, 2) and p.total_km == pytest.approx(6.0)
    assert p.return_km == 0 and p.return_modes == ()


def test_order_visits_by_priority_and_budget():
    km = np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]], float)
    assert order_visits(km, [10, 90], 12) == ([1, 0], [])
    assert order_visits(km, [10, 90], 10) == ([1], [0])
    assert order_visits(km, [10, 90], 5) == ([], [1, 0])
    # equal priority: the key breaks the tie
    assert order_visits(km, [50, 50], 8, keys=[9, 3]) == ([1], [0])


def test_care_flags_nearest_first_within_distance():
    case = box(0, 0, 100, 100)
    hazards = [
        Hazard("camp", Point(100, 1600), "Campamento"),
        Hazard("airstrip", LineString([(600, 0), (600, 1000)]), "Pista Alfa"),
        Hazard("runway_clearing", box(5000, 0, 5100, 900)),
    ]
    flags = care_flags([case, Point(5000, 2000)], hazards, 2000)
    assert flags[0] == (CareReason("airstrip", 500.0, "Pista Alfa"),
                        CareReason("camp", 1500.0, "Campamento"))
    assert flags[1] == (CareReason("runway_clearing", 1100.0, None),)
    assert care_flags([case], hazards, 400) == [()]
    assert care_flags([case], [], 2000) == [()]


def test_choose_start():
    terr = box(0, 0, 10_000, 10_000)
    other = box(10_500, 0, 20_000, 10_000)
    villages = [("Puerto Alfa", Point(9000, 9000)), ("Alfa Baja", Point(1000, 1000))]
    assert choose_start(terr, villages, towards=(0, 0)) == ((1000.0, 1000.0), "Alfa Baja",
                                                            "settlement")
    assert choose_start(terr, villages, towards=(10_000, 10_000))[1] == "Puerto Alfa"
    # outside: the nearest one not in another community, within reach
    outside = [("Beta", Point(11_000, 5000)), ("Caserío", Point(5000, 12_000))]
    assert choose_start(terr, outside, elsewhere=[other], max_distance_m=5000)[1] == "Caserío"
    assert choose_start(terr, outside, elsewhere=[other], max_distance_m=1000) == (
        (5000.0, 5000.0), None, "centroid")
    # a polygon settlement counts by its inner point
    assert choose_start(terr, [("Alfa", box(100, 100, 300, 300))])[0] == pytest.approx((200, 200))


def test_plan_json_round_trip():
    trail = NetworkLine(LineString([(0, 200), (8000, 200)]), Mode.TRAIL)
    cands = [
        PatrolCandidate(4, (8000.0, 0.0), 77.5,
                        care=(CareReason("airstrip", 850.0, "Pista"),
                              CareReason("runway_clearing", 1200.5))),
        PatrolCandidate(9, (4000.0, 3000.0), 40.0),
    ]
    p = plan(cands, max_km=30, lines=[trail], params=PARAMS, start_name="Alfa",
             start_kind="settlement", created_at=datetime(2024, 7, 1, 12, tzinfo=UTC))
    data = plan_to_json(p)
    import json

    back = plan_from_json(json.loads(json.dumps(data)), plan_id=5)
    assert back.id == 5
    assert back.stops == p.stops
    assert back.route is not None and p.route is not None and back.route.equals(p.route)
    for name in ("territory_id", "territory_name", "start", "start_name", "start_kind",
                 "returns", "total_km", "total_hours", "max_km", "created_at", "skipped",
                 "return_km", "return_hours", "return_modes"):
        assert getattr(back, name) == getattr(p, name), name


def test_to_lonlat_converts_stops_route_and_start():
    def to_ll(xy):
        return np.asarray(xy) / 100_000.0 + np.array([-75.0, -9.0])

    p = plan([PatrolCandidate(1, (3000.0, 0.0), 50)], max_km=10, to_lonlat=to_ll)
    assert p.start == pytest.approx((-75.0, -9.0))
    assert (p.stops[0].lon, p.stops[0].lat) == pytest.approx((-74.97, -9.0))
    assert p.route is not None and p.route.coords[1] == pytest.approx((-74.97, -9.0))


points = st.tuples(st.floats(-15_000, 15_000), st.floats(-15_000, 15_000))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(points, st.floats(0, 100)), min_size=0, max_size=12),
    st.floats(0.5, 60),
    st.booleans(),
    st.booleans(),
)
def test_budget_and_cumulative_distance_invariants(cases, max_km, returns, with_trail):
    cands = [PatrolCandidate(i + 1, xy, pr) for i, (xy, pr) in enumerate(cases)]
    lines = [NetworkLine(LineString([(-15_000, 500), (15_000, 700)]), Mode.TRAIL)] \
        if with_trail else []
    p = plan(cands, max_km=max_km, returns=returns, lines=lines, params=PARAMS)
    assert p.total_km <= max_km
    cum = [s.cumulative_km for s in p.stops]
    assert all(b >= a for a, b in zip(cum, cum[1:], strict=False))
    assert sum(s.leg_km for s in p.stops) + p.return_km == pytest.approx(p.total_km)
    assert sorted(p.case_ids + p.skipped) == [c.case_id for c in cands]
    assert len(set(p.case_ids)) == len(p.case_ids)
    assert p.total_hours >= 0 and all(s.leg_hours >= 0 for s in p.stops)
    # skipped cases come highest priority first
    pri = {c.case_id: c.priority for c in cands}
    skipped = [pri[c] for c in p.skipped]
    assert skipped == sorted(skipped, reverse=True)
