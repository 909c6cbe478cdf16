"""The multimodal network and least-cost routes, on small hand-built networks (metres, hours)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Polygon, box

from vigilancia.domain.routes import (
    ExitPoint,
    Mode,
    NetworkLine,
    Origin,
    RouteParams,
    build_network,
    classify_line,
    cluster_points,
    corridor_density,
    is_air_exit,
    production_zones,
    route_to_exits,
    territory_exposure,
)


def check_route(net, route) -> None:
    """A valid route: connected through graph edges, costs never decreasing, ends at an exit."""
    g = net.graph
    for a, b in zip(route.nodes[:-1], route.nodes[1:], strict=True):
        assert g.has_edge(a, b), (a, b)
    assert route.nodes[0] == net.origin_nodes[net.origins.index(route.origin)]
    assert route.nodes[-1] in net.exit_nodes
    assert net.exits[route.exit_index] == route.exit
    assert route.cost_h[0] == 0.0 and route.along_m[0] == 0.0
    assert np.all(np.diff(route.cost_h) >= 0)
    assert np.all(np.diff(route.along_m) >= 0)
    assert len(route.coords) == len(route.nodes) == len(route.edge_modes) + 1
    assert np.allclose(route.coords, net.xy[list(route.nodes)])


def run(lines, *, exits=(), borders=(), origins=(), **params):
    net = build_network(lines, exits=exits, borders=borders, origins=origins,
                        params=RouteParams(**params))
    found = route_to_exits(net)
    for r in found.routes:
        check_route(net, r)
    return net, found


# --------------------------------------------------------------------- classes


@pytest.mark.parametrize(
    ("kind", "klass", "name", "mode"),
    [
        ("river", "Río", "Rio Pichis", Mode.RIVER),  # IGN
        ("river", "Quebrada", "Qda Chaluacocha", Mode.STREAM),
        ("river", "Acequia", None, Mode.STREAM),
        ("river", "River", "Ucayali", Mode.RIVER),  # Natural Earth featurecla
        ("river", "Lake Centerline", "Amazonas", Mode.RIVER),
        ("river", "river", None, Mode.RIVER),  # OSM waterway
        ("river", "stream", None, Mode.STREAM),
        ("river", "canal", None, Mode.STREAM),
        ("river", None, "Quebrada Yanayacu", Mode.STREAM),
        ("river", None, None, Mode.RIVER),
        ("road", None, "PE-5N", Mode.ROAD_NATIONAL),  # MTC route codes
        ("road", None, "HU-103", Mode.ROAD_DEPARTMENTAL),
        ("road", None, "UC-553", Mode.ROAD_RURAL),
        ("road", "Red Vial Departamental", None, Mode.ROAD_DEPARTMENTAL),
        ("road", "vecinal", None, Mode.ROAD_RURAL),
        ("road", "trunk", None, Mode.ROAD_NATIONAL),  # OSM highway
        ("road", "tertiary", None, Mode.ROAD_DEPARTMENTAL),
        ("road", "track", None, Mode.ROAD_RURAL),
        ("road", "footway", None, Mode.TRAIL),
        ("road", None, None, Mode.ROAD_RURAL),
        ("trail", "anything", None, Mode.TRAIL),
        ("airstrip", None, None, None),
        ("border", None, None, None),
    ],
)
def test_lines_get_a_mode_from_kind_class_and_name(kind, klass, name, mode):
    assert classify_line(kind, klass, name) == mode


def test_air_exits_are_recognised_by_class_or_name():
    assert is_air_exit("Airport", None)
    assert is_air_exit(None, "Aeródromo de Puerto Esperanza")
    assert is_air_exit("aeroway", "Pista de Breu")
    assert not is_air_exit(None, "Puerto Esperanza")
    assert not is_air_exit("International boundary (verify)", None)


def test_speeds_and_params_are_checked():
    p = RouteParams()
    assert p.hours(Mode.RIVER, 15_000) == pytest.approx(1.0)
    assert p.hours(Mode.AIR, 200_000) == pytest.approx(2.0)  # 1 h flying + 1 h fixed
    assert p.hours(Mode.WALK, 2_000) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        RouteParams(river_kmh=0)
    with pytest.raises(ValueError):
        RouteParams(access_km=-1)




# --------------------------------------------------------------------- routes


def test_walk_to_the_river_then_boat_to_the_exit():
    river = NetworkLine(LineString([(0, 0), (25_000, 0), (50_000, 0)]), Mode.RIVER, "Río A")
    net, found = run([river], exits=[ExitPoint("puerto", (50_000, 0))],
                     origins=[Origin("zone:1", "zone", (0, 1000))])
    (route,) = found.routes
    assert route.modes == (Mode.WALK, Mode.RIVER)
    assert route.exit.name == "puerto"
    assert route.length_km == pytest.approx(51.0)
    assert route.total_cost_h == pytest.approx(1.0 / 2.0 + 50.0 / 15.0)
    assert route.mode_lengths()[Mode.RIVER] == pytest.approx(50_000)
    assert route.family_lengths() == pytest.approx({"walk": 1000.0, "river": 50_000.0})
    assert route.geometry.length == pytest.approx(51_000)


def test_the_river_is_taken_when_cheaper_than_walking_and_not_when_slower():
    # exit 20 km east of the origin; a river loops 40 km to it. Walking straight: 10 h.
    loop = LineString([(0, 0), (0, 10_000), (20_000, 10_000), (20_000, 0)])
    exit_ = ExitPoint("frontera", (20_000, 0))
    origin = Origin("zone:1", "zone", (0, 0))
    _, found = run([NetworkLine(loop, Mode.RIVER)], exits=[exit_], origins=[origin],
                   access_km=30)
    (by_boat,) = found.routes
    assert by_boat.modes == (Mode.RIVER,)
    assert by_boat.total_cost_h == pytest.approx(40 / 15)
    # the same line as a stream (4 km/h: 10 h) loses to walking 20 km straight (10 h)? a tie
    # is broken by cost only, so make the stream slower than walking
    _, found = run([NetworkLine(loop, Mode.STREAM)], exits=[exit_], origins=[origin],
                   access_km=30, stream_kmh=3.0)
    (on_foot,) = found.routes
    assert on_foot.modes == (Mode.WALK,)
    assert on_foot.total_cost_h == pytest.approx(20 / 2)


def test_an_origin_off_the_network_walks_to_it_and_one_too_far_is_unreachable():
    road = NetworkLine(LineString([(0, 0), (60_000, 0)]), Mode.ROAD_RURAL, "UC-553")
    exits = [ExitPoint("salida", (60_000, 0))]
    near = Origin("zone:near", "zone", (10_000, 8_000))
    far = Origin("zone:far", "zone", (10_000, 50_000))
    _, found = run([road], exits=exits, origins=[near, far], access_km=30)
    assert found.unreachable == ("zone:far",)
    (route,) = found.routes
    assert route.origin is near
    assert route.edge_modes[0] is Mode.WALK
    assert route.cost_h[1] == pytest.approx(8.0 / 2.0)  # 8 km through forest at 2 km/h
    assert route.modes == (Mode.WALK, Mode.ROAD_RURAL)


def test_crossing_lines_meet_without_a_shared_vertex():
    # a road crosses a river mid-segment: the crossing becomes a node of both
    road = NetworkLine(LineString([(0, -20_000), (0, 20_000)]), Mode.ROAD_DEPARTMENTAL)
    river = NetworkLine(LineString([(-30_000, 0), (60_000, 0)]), Mode.RIVER)
    net, found = run([road, river], exits=[ExitPoint("puerto", (60_000, 0))],
                     origins=[Origin("runway:1", "runway", (0, -20_000))], access_km=1)
    (route,) = found.routes
    assert route.modes == (Mode.ROAD_DEPARTMENTAL, Mode.RIVER)  # the runway is on the road
    assert route.mode_lengths()[Mode.ROAD_DEPARTMENTAL] == pytest.approx(20_000)
    assert route.mode_lengths().get(Mode.WALK, 0.0) == pytest.approx(0.0)
    switch = route.edge_modes.index(Mode.RIVER)
    assert tuple(route.coords[switch]) == pytest.approx((0.0, 0.0))


def test_gaps_are_bridged_by_walking_up_to_the_bridge_length():
    a = NetworkLine(LineString([(0, 0), (20_000, 0)]), Mode.ROAD_RURAL, "A")
    b = NetworkLine(LineString([(23_000, 0), (50_000, 0)]), Mode.ROAD_RURAL, "B")
    exits = [ExitPoint("salida", (50_000, 0))]
    origin = [Origin("zone:1", "zone", (0, 0))]
    _, found = run([a, b], exits=exits, origins=origin, access_km=1, bridge_km=5)
    (route,) = found.routes
    assert route.modes == (Mode.ROAD_RURAL, Mode.WALK, Mode.ROAD_RURAL)
    assert route.mode_lengths()[Mode.WALK] == pytest.approx(3_000)
    _, found = run([a, b], exits=exits, origins=origin, access_km=1, bridge_km=2)
    assert found.routes == () and found.unreachable == ("zone:1",)


def test_a_line_meeting_a_border_is_an_exit():
    road = NetworkLine(LineString([(0, 0), (40_000, 0)]), Mode.ROAD_DEPARTMENTAL, "UC-104")
    stream = NetworkLine(LineString([(0, 5_000), (29_950, 5_000)]), Mode.STREAM, "Qda X")
    border = ("Peru–Brazil", LineString([(30_000, -50_000), (30_000, 50_000)]))
    net, found = run([road, stream], borders=[border],
                     origins=[Origin("zone:1", "zone", (0, 0))], snap_m=100)
    crossings = [e for e in net.exits if e.kind == "border_crossing"]
    # the road crosses it; the stream ends 50 m short of it (within snap_m): two exits
    assert sorted(e.via for e in crossings) == ["Qda X", "UC-104"]
    assert {e.border for e in crossings} == {"Peru–Brazil"}
    (route,) = found.routes
    assert route.exit.via == "UC-104"
    assert tuple(route.coords[-1]) == pytest.approx((30_000.0, 0.0))
    assert route.modes == (Mode.ROAD_DEPARTMENTAL,)


def test_border_crossings_close_together_are_one_exit():
    # a river winding along a border crosses it four times within 1.5 km
    river = NetworkLine(
        LineString([(0, 0), (500, 100), (1000, -100), (1500, 100), (1900, -300)]), Mode.RIVER
    )
    border = (None, LineString([(-1000, 0), (3000, 0)]))
    net, _ = run([river], borders=[border], exit_merge_km=2.0)
    assert sum(e.kind == "border_crossing" for e in net.exits) == 1
    net, _ = run([river], borders=[border], exit_merge_km=0.0)
    assert sum(e.kind == "border_crossing" for e in net.exits) == 4


def test_without_exits_nothing_is_routed_and_it_says_so():
    road = NetworkLine(LineString([(0, 0), (10_000, 0)]), Mode.ROAD_RURAL)
    _, found = run([road], origins=[Origin("zone:1", "zone", (0, 0))])
    assert found.no_exits and found.routes == () and found.unreachable == ("zone:1",)


def test_air_links_only_within_range():
    # runway A far from everything; runway B next to a road leading to the exit
    road = NetworkLine(LineString([(300_000, 0), (350_000, 0)]), Mode.ROAD_NATIONAL)
    exits = [ExitPoint("frontera", (350_000, 0))]
    a = Origin("runway:a", "runway", (0, 0), airstrip=True)
    b = Origin("runway:b", "runway", (300_000, 1_000), airstrip=True)
    net, found = run([road], exits=exits, origins=[a, b], air_range_km=500)
    air = [(u, v, d) for u, v, d in net.graph.edges(data=True) if d["mode"] == "air"]
    assert air and all(d["length"] <= 500_000 for _, _, d in air)
    by_origin = {r.origin.label: r for r in found.routes}
    assert by_origin["runway:a"].modes == (Mode.AIR, Mode.WALK, Mode.ROAD_NATIONAL)
    flight = by_origin["runway:a"].cost_h[1]
    assert flight == pytest.approx(1.0 + math.hypot(300, 1) / 200)

    net, found = run([road], exits=exits, origins=[a, b], air_range_km=200)
    assert not [1 for *_e, d in net.graph.edges(data=True) if d["mode"] == "air"]
    assert found.unreachable == ("runway:a",)


def test_air_exits_receive_flights_and_ground_exits_do_not():
    far = ExitPoint("Tabatinga Int'l", (400_000, 0), air=True)
    ground = ExitPoint("puerto", (450_000, 0))
    runway = Origin("runway:1", "runway", (0, 0), airstrip=True)
    _, found = run([], exits=[far, ground], origins=[runway])
    (route,) = found.routes
    assert route.exit is far and route.modes == (Mode.AIR,)
    _, found = run([], exits=[ground], origins=[runway])
    assert found.unreachable == ("runway:1",)


def test_routes_never_pass_through_another_origin():
    # zone 2 sits between zone 1 and the road; without the road zone 1 cannot get out
    road = NetworkLine(LineString([(50_000, 0), (80_000, 0)]), Mode.ROAD_RURAL)
    exits = [ExitPoint("salida", (80_000, 0))]
    z1 = Origin("zone:1", "zone", (0, 0))
    z2 = Origin("zone:2", "zone", (25_000, 0))
    _, found = run([road], exits=exits, origins=[z1, z2], access_km=30)
    assert found.unreachable == ("zone:1",)


def test_polygons_travel_along_their_rings_and_multilines_along_their_parts():
    lake = NetworkLine(box(0, 0, 10_000, 10_000), Mode.RIVER)
    roads = NetworkLine(
        MultiLineString([[(10_000, 10_000), (20_000, 10_000)], [(20_000, 10_000), (20_000, 0)]]),
        Mode.ROAD_RURAL,
    )
    _, found = run([lake, roads], exits=[ExitPoint("x", (20_000, 0))],
                   origins=[Origin("zone:1", "zone", (0, 0))], access_km=1)
    (route,) = found.routes
    assert route.modes == (Mode.RIVER, Mode.ROAD_RURAL)
    assert route.mode_lengths()[Mode.RIVER] == pytest.approx(20_000)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edges=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans(),
                  st.sampled_from(list(Mode)[:6])),
        min_size=1, max_size=25,
    ),
    origins=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=4),
    exit_cells=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=3),
)
def test_routes_on_random_grids_are_valid_and_cheapest(edges, origins, exit_cells):
    """Random lines along a 6 x 6 grid (5 km cells): every route is a valid path of the
    graph, its cost never decreases, and no exit is cheaper to reach (networkx Dijkstra)."""
    cell = 5_000.0
    lines = []
    for x, y, horizontal, mode in edges:
        end = (min(x + 1, 5), y) if horizontal else (x, min(y + 1, 5))
        if end == (x, y):
            continue
        lines.append(NetworkLine(LineString([(x * cell, y * cell),
                                             (end[0] * cell, end[1] * cell)]), mode))
    exits = [ExitPoint(f"e{i}", (x * cell + 700, y * cell)) for i, (x, y) in
             enumerate(exit_cells)]
    origin_pts = [Origin(f"zone:{i}", "zone", (x * cell, y * cell + 900))
                  for i, (x, y) in enumerate(origins)]
    net, found = run(lines, exits=exits, origins=origin_pts, access_km=3, bridge_km=2)
    assert len(found.routes) + len(found.unreachable) == len(origin_pts)
    for r in found.routes:
        start = net.origin_nodes[net.origins.index(r.origin)]
        best = min(
            (nx.shortest_path_length(net.graph, start, e, weight="weight")
             for e in net.exit_nodes if nx.has_path(net.graph, start, e)),
        )
        assert r.total_cost_h == pytest.approx(best, rel=1e-9, abs=1e-9)
    for label in found.unreachable:
        start = net.origin_nodes[[o.label for o in net.origins].index(label)]
        assert not any(nx.has_path(net.graph, start, e) for e in net.exit_nodes)


# --------------------------------------------------------------------- zones, corridors


def test_coca_clearings_cluster_into_zones():
    xy = np.array([[0, 0], [1_500, 0], [3_000, 0], [20_000, 0], [20_500, 500], [90_000, 0]])
    assert cluster_points(xy, 2_000).tolist() == [0, 0, 0, 1, 1, 2]
    zones = production_zones([11, 12, 13, 40, 41, 7], xy, cluster_m=2_000)
    assert [z.label for z in zones] == ["zone:11", "zone:40", "zone:7"]
    assert zones[0].members == (11, 12, 13)
    assert zones[0].point == (1_500.0, 0.0)  # the member nearest the cluster's mean
    assert production_zones([], np.empty((0, 2))) == []


def test_density_counts_each_route_once_within_the_bandwidth():
    transform = (1000.0, 0.0, 0.0, 0.0, -1000.0, 20_000.0)  # 20 x 20 km, 1 km cells
    a = LineString([(0, 10_000), (20_000, 10_000)])  # along the cell edge between rows 9/10
    b = LineString([(10_500, 0), (10_500, 20_000)])  # through the centres of column 10
    zigzag = LineString([(0, 3_500), (19_000, 3_500), (0, 3_600)])  # twice over the same cells
    d = corridor_density([a, b, zigzag], transform, (20, 20), bandwidth_m=1_000)
    assert d.dtype == np.float32 and d.shape == (20, 20)
    assert d[9, 3] == 1 and d[10, 3] == 1  # centres 500 m from a
    assert d[8, 3] == 0 and d[11, 3] == 0  # 1,500 m away
    assert d[9, 10] == 2 and d[3, 10] == 1  # a and b cross; b alone
    assert d[16, 5] == 1  # the zigzag counts once
    assert d[0, 0] == 0
    # the same in degrees: metres per unit scale the bandwidth
    deg = corridor_density([LineString([(0, 0.5), (1, 0.5)])], (0.1, 0, 0, 0, -0.1, 1.0),
                           (10, 10), bandwidth_m=6_000, metres_per_unit=(111_320, 110_574))
    assert deg[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_territories_measure_their_distance_to_corridors_and_list_those_crossing():
    corridors = [
        (1, "zone:1 → frontera", LineString([(0, -50_000), (0, 50_000)])),
        (2, "runway:4 → frontera", LineString([(-50_000, 0), (50_000, 0)])),
    ]
    terr = [
        (10, box(-1_000, -1_000, 1_000, 1_000)),  # both cross it
        (11, box(5_000, 5_000, 6_000, 6_000)),  # 5 km from both
        (12, Polygon([(20_000, 30_000), (21_000, 30_000), (21_000, 31_000)])),
    ]
    out = territory_exposure(terr, corridors)
    assert out[10].distance_km == 0 and out[10].crossing == (1, 2)
    assert out[10].labels == ("zone:1 → frontera", "runway:4 → frontera")
    assert out[11].distance_km == pytest.approx(5.0) and out[11].crossing == ()
    assert out[12].distance_km == pytest.approx(20.0) and out[12].nearest == 1
    empty = territory_exposure(terr, [])
    assert all(math.isinf(e.distance_km) and e.nearest is None for e in empty.values())
