"""Multimodal trafficking network, least-cost routes and corridors.

PURE: numpy, scipy, shapely and networkx. Every geometry handed to these
functions is in **one metric frame** (metres, x east, y north: a local equal-area
or UTM projection chosen by the caller); lengths are metres, costs hours.

How a route is found:

1. **Modes.** Each context line gets a :class:`Mode` from its kind, class and name
   (:func:`classify_line`): a river is navigable by boat unless its class or name
   says it is a stream (IGN ``TIPO`` "Quebrada", OSM ``waterway=stream``, canals
   and ditches); roads are national, departmental or rural (MTC route codes:
   ``PE-`` national, ``XX-100..499`` departmental, ``XX-500..`` rural/vecinal; OSM
   ``highway`` classes), footpaths are trails.
2. **Costs** are hours of travel: ``length_km / speed_kmh`` of the mode
   (:class:`RouteParams`; defaults: navigable river by boat 15 km/h, stream 4,
   national road 50, departmental 35, rural/vecinal 20, trail 4, walking through
   forest 2, light aircraft 200 km/h plus 1 h for take-off and landing).
3. **The network** (:func:`build_network`, a directed :mod:`networkx` graph) has
   a node at every vertex of the lines (simplified to ``simplify_m``, then
   densified to ``node_spacing_m``) and at every point where two lines cross;
   vertices shared by lines are one node. Every line end is joined, by walking
   (off-network friction), to the nearest node of each of the ``bridge_links``
   nearest other lines within ``bridge_km``: lines that nearly touch are
   snapped together and gaps in the network are bridged.
4. **Exits** are the points where routes leave: features of kind ``exit`` and
   *border crossings*, the points where a river, road or trail meets a border
   line (or ends within ``snap_m`` of one); crossings closer than
   ``exit_merge_km`` count as one exit.
5. **Origins** (production zones and runways), exits and runways join the
   network by walking to the nearest node of each of the ``access_links``
   nearest lines within ``access_km`` (and to nearby exits and runways). Runways, and exits that are
   airports or airstrips, are also joined by **air links** to every other one
   within ``air_range_km`` (a light aircraft's range).
6. **Routes**: one multi-source Dijkstra from all exits gives every origin its
   cheapest exit and the path to it (:func:`route_to_exits`). Cumulative cost
   never decreases along a route.

:func:`corridor_density` counts the routes that pass within a bandwidth of each
raster cell; :func:`territory_exposure` measures each territory's distance to
the nearest corridor and lists the corridors that cross it;
:func:`production_zones` clusters coca clearings into zones (origins).

>>> from shapely.geometry import LineString
>>> river = NetworkLine(LineString([(0, 0), (30_000, 0)]), Mode.RIVER, "Río A")
>>> net = build_network(
...     [river],
...     exits=[ExitPoint("puerto", (30_000, 0))],
...     origins=[Origin("zone:1", "zone", (0, 500))],
... )
>>> found = route_to_exits(net)
>>> route = found.routes[0]
>>> [m.value for m in route.modes], round(route.length_km, 1), round(route.total_cost_h, 2)
(['walk', 'river'], 30.5, 2.25)
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import networkx as nx
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

__all__ = [
    "MODE_FAMILY",
    "CorridorExposure",
    "CorridorRun",
    "ExitPoint",
    "Mode",
    "Network",
    "NetworkLine",
    "Origin",
    "ProductionZone",
    "Route",
    "RouteParams",
    "RouteSet",
    "StoredCorridor",
    "build_network",
    "classify_line",
    "cluster_points",
    "corridor_density",
    "is_air_exit",
    "production_zones",
    "route_to_exits",
    "territory_exposure",
]


class Mode(StrEnum):
    """How a stretch of a route is travelled."""

    RIVER = "river"  # navigable river, by boat
    STREAM = "stream"  # stream (quebrada), canal: canoe or wading
    ROAD_NATIONAL = "road_national"  # national road (paved)
    ROAD_DEPARTMENTAL = "road_departmental"
    ROAD_RURAL = "road_rural"  # rural (vecinal) road, track
    TRAIL = "trail"  # footpath
    AIR = "air"  # light aircraft between airstrips
    WALK = "walk"  # off the network, through the forest


#: Broad family of each mode: ``river``, ``road``, ``trail``, ``air`` or ``walk``.
MODE_FAMILY: dict[Mode, str] = {
    Mode.RIVER: "river",
    Mode.STREAM: "river",
    Mode.ROAD_NATIONAL: "road",
    Mode.ROAD_DEPARTMENTAL: "road",
    Mode.ROAD_RURAL: "road",
    Mode.TRAIL: "trail",
    Mode.AIR: "air",
    Mode.WALK: "walk",
}


@dataclass(frozen=True)
class RouteParams:
    """Speeds (km/h), distances and tolerances of the network.

    Speeds are what a loaded traveller makes on each mode; an air link costs
    ``air_fixed_h`` (take-off, landing, loading) plus the flight at ``air_kmh``
    and exists only up to ``air_range_km``. ``walk_kmh`` is the off-network
    friction (walking through forest) used to reach the network and to bridge
    its gaps.
    """

    river_kmh: float = 15.0
    stream_kmh: float = 4.0
    national_road_kmh: float = 50.0
    departmental_road_kmh: float = 35.0
    rural_road_kmh: float = 20.0
    trail_kmh: float = 4.0
    walk_kmh: float = 2.0
    air_kmh: float = 200.0
    air_fixed_h: float = 1.0
    air_range_km: float = 500.0
    #: Line ends this close (m) to a border cross it (a border crossing).
    snap_m: float = 100.0
    #: Line ends this close (km) to other lines are joined to them by walking.
    bridge_km: float = 5.0
    #: Other lines each line end is joined to (the nearest ones).
    bridge_links: int = 3
    #: Origins, exits and runways reach the network by walking up to this far (km).
    access_km: float = 30.0
    #: Lines an origin, exit or runway is joined to (the nearest ones).
    access_links: int = 8
    #: Lines are simplified to this tolerance (m) before the graph is built (0: not at all).
    simplify_m: float = 50.0
    #: Longest edge along a line (m); lines are densified to it.
    node_spacing_m: float = 1000.0
    #: Border crossings closer than this (km) count as one exit.
    exit_merge_km: float = 2.0

    def __post_init__(self) -> None:
        for name in ("river_kmh", "stream_kmh", "national_road_kmh", "departmental_road_kmh",
                     "rural_road_kmh", "trail_kmh", "walk_kmh", "air_kmh", "node_spacing_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"RouteParams.{name} must be > 0")
        for name in ("air_fixed_h", "air_range_km", "snap_m", "bridge_km", "access_km",
                     "simplify_m", "exit_merge_km"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"RouteParams.{name} must be >= 0")
        if self.access_links < 1 or self.bridge_links < 0:
            raise ValueError("RouteParams.access_links must be >= 1, bridge_links >= 0")

    def speed_kmh(self, mode: Mode | str) -> float:
        """Speed of ``mode`` (km/h)."""
        return {
            Mode.RIVER: self.river_kmh,
            Mode.STREAM: self.stream_kmh,
            Mode.ROAD_NATIONAL: self.national_road_kmh,
            Mode.ROAD_DEPARTMENTAL: self.departmental_road_kmh,
            Mode.ROAD_RURAL: self.rural_road_kmh,
            Mode.TRAIL: self.trail_kmh,
            Mode.AIR: self.air_kmh,
            Mode.WALK: self.walk_kmh,
        }[Mode(mode)]

    def hours(self, mode: Mode | str, length_m: float) -> float:
        """Hours to travel ``length_m`` metres by ``mode`` (air links add ``air_fixed_h``)."""
        h = length_m / 1000.0 / self.speed_kmh(mode)
        return h + self.air_fixed_h if Mode(mode) is Mode.AIR else h

    def as_dict(self) -> dict[str, float]:
        """The parameters as a plain dict (for the run record)."""
        return {k: float(v) for k, v in self.__dict__.items()}


# ----------------------------------------------------------------- classification

_STREAM_WORDS = ("quebrada", "qda", "stream", "brook", "arroyo", "riachuelo", "acequia",
                 "canal", "ditch", "drain", "cano", "creek", "torrente")
_RIVER_WORDS = ("rio", "river", "riverbank", "lake centerline", "rio principal")
_TRAIL_WORDS = ("path", "footway", "bridleway", "steps", "trocha", "sendero", "camino de herradura",
                "trail", "pica", "varadero")
_NATIONAL_WORDS = ("nacional", "national", "motorway", "trunk", "primary", "carretera central")
_DEPARTMENTAL_WORDS = ("departamental", "departmental", "regional", "secondary", "tertiary")
_RURAL_WORDS = ("vecinal", "rural", "unclassified", "residential", "service", "track",
                "living_street", "local", "trocha carrozable", "afirmado", "sin afirmar")
#: MTC route code: ``PE-5N`` (national), ``HU-103`` (departmental 100-499), ``PA-614`` (vecinal).
_ROUTE_CODE = re.compile(r"^\s*([A-Za-z]{2})\s*-?\s*(\d{1,4})([A-Za-z]*)\b")


def _plain(text: Any) -> str:
    """Lower-case text without accents ("Río" -> "rio")."""
    if text is None:
        return ""
    norm = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in norm if not unicodedata.combining(c)).lower().strip()


def _has_word(text: str, words: Iterable[str]) -> bool:
    return any(re.search(rf"(^|[^a-z]){re.escape(w)}([^a-z]|$)", text) for w in words)


def classify_line(kind: str, feature_class: str | None, name: str | None) -> Mode | None:
    """The travel mode of a context line of ``kind`` (river, road, trail), or None.

    Rivers: navigable (:attr:`Mode.RIVER`) unless the class or the name says it
    is a stream, a canal or a ditch (IGN ``TIPO`` "Quebrada", "Acequia";
    OSM ``waterway`` stream, canal, ditch, drain); a class or name saying river
    ("Río", Natural Earth "River", OSM ``river``) makes it navigable.
    Roads: national, departmental or rural by class (MTC "Red Vial Nacional",
    OSM ``trunk``/``primary`` national, ``secondary``/``tertiary``
    departmental, the rest rural; footpaths are trails) or by MTC route code
    (``PE-`` national, 100-499 departmental, 500 and up vecinal); rural when
    nothing says. Trails are trails. Other kinds are not travelled along (None).

    >>> classify_line("river", "Quebrada", "Qda Chaluacocha").value
    'stream'
    >>> classify_line("river", "River", "Ucayali").value
    'river'
    >>> classify_line("road", None, "HU-103").value, classify_line("road", None, "PA-614").value
    ('road_departmental', 'road_rural')
    >>> classify_line("road", "path", None).value
    'trail'
    """
    klass = _plain(feature_class)
    label = _plain(name)
    if kind == "river":
        if _has_word(klass, _STREAM_WORDS):
            return Mode.STREAM
        if _has_word(klass, _RIVER_WORDS):
            return Mode.RIVER
        if _has_word(label, _STREAM_WORDS):
            return Mode.STREAM
        return Mode.RIVER
    if kind == "road":
        if _has_word(klass, _TRAIL_WORDS):
            return Mode.TRAIL
        if _has_word(klass, _NATIONAL_WORDS):
            return Mode.ROAD_NATIONAL
        if _has_word(klass, _DEPARTMENTAL_WORDS):
            return Mode.ROAD_DEPARTMENTAL
        if _has_word(klass, _RURAL_WORDS):
            return Mode.ROAD_RURAL
        for text in (str(name or ""), str(feature_class or "")):
            code = _ROUTE_CODE.match(text)
            if code is None:
                continue
            if code.group(1).upper() == "PE":
                return Mode.ROAD_NATIONAL
            return Mode.ROAD_DEPARTMENTAL if int(code.group(2)) < 500 else Mode.ROAD_RURAL
        return Mode.ROAD_RURAL
    if kind == "trail":
        return Mode.TRAIL
    return None


_AIR_WORDS = ("aeropuerto", "airport", "aerodromo", "aerodrome", "airstrip", "airfield",
              "pista", "runway", "helipuerto", "heliport")


def is_air_exit(feature_class: str | None, name: str | None) -> bool:
    """Whether an exit is an airport or airstrip (aircraft land there), from its class or name.

    >>> is_air_exit("Airport", "Tabatinga Int'l"), is_air_exit(None, "Puerto Esperanza")
    (True, False)
    """
    return _has_word(_plain(feature_class), _AIR_WORDS) or _has_word(_plain(name), _AIR_WORDS)


# ----------------------------------------------------------------- network inputs


@dataclass(frozen=True)
class NetworkLine:
    """A travelled line (metric): a LineString or MultiLineString; polygons give their rings."""

    geometry: BaseGeometry
    mode: Mode
    name: str | None = None


@dataclass(frozen=True)
class ExitPoint:
    """Where a route leaves: an exit feature or a border crossing (metric point).

    ``kind`` is ``"exit"`` or ``"border_crossing"``; ``air`` marks exits where
    aircraft land (airports, airstrips). A crossing names the line that crosses
    (``via``) and the border (``border``).
    """

    name: str | None
    point: tuple[float, float]
    kind: str = "exit"
    air: bool = False
    via: str | None = None
    border: str | None = None
    feature_id: int | None = None


@dataclass(frozen=True)
class Origin:
    """Where a route starts (metric point): a production zone or a runway.

    ``label`` identifies it (``"zone:12"``, ``"runway:7"``); ``airstrip`` marks
    origins where aircraft land (runways), which get air links.
    """

    label: str
    kind: str
    point: tuple[float, float]
    airstrip: bool = False


@dataclass(frozen=True)
class Network:
    """The multimodal graph.

    ``graph`` is a :class:`networkx.DiGraph` whose nodes are integers
    0..n-1 with coordinates ``xy[node]``; each edge has ``weight`` (hours),
    ``length`` (m) and ``mode`` (a :class:`Mode` value). Network edges go both
    ways; an origin's access edges only leave it (routes never pass through
    another origin). ``exits[i]`` sits at node ``exit_nodes[i]`` and
    ``origins[i]`` at ``origin_nodes[i]``.
    """

    graph: Any
    xy: NDArray[np.float64]
    exits: tuple[ExitPoint, ...]
    exit_nodes: tuple[int, ...]
    origins: tuple[Origin, ...]
    origin_nodes: tuple[int, ...]
    params: RouteParams
    n_line_nodes: int = 0
    stats: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------- building


def build_network(
    lines: Sequence[NetworkLine],
    *,
    exits: Sequence[ExitPoint] = (),
    borders: Sequence[tuple[str | None, BaseGeometry]] = (),
    origins: Sequence[Origin] = (),
    params: RouteParams | None = None,
) -> Network:
    """The multimodal network of ``lines`` with its ``exits``, border crossings and ``origins``.

    ``borders`` are ``(name, geometry)`` of international borders (lines, or
    polygons whose rings are used); where a line meets one, the crossing is an
    exit. See the module docstring for the rules.
    """
    p = params or RouteParams()
    parts, part_modes, part_names = _line_parts(lines, p)
    n_parts = len(parts)

    # Points where lines meet each other or a border become vertices of every line they lie on.
    extra_part, extra_xy = _crossings(parts)
    border_lines, border_names = _border_lines(borders)
    cross_part, cross_xy, cross_border = _border_crossings(parts, border_lines, p.snap_m)
    extra_part = np.concatenate([extra_part, cross_part])
    extra_xy = np.vstack([extra_xy, cross_xy])

    seq_xy, seq_part = _sequences(parts, extra_part, extra_xy)
    node_xy, seq_node = _nodes(seq_xy)
    n_line = len(node_xy)

    # Edges along the lines.
    same = seq_part[1:] == seq_part[:-1]
    u = seq_node[:-1][same]
    v = seq_node[1:][same]
    seg_mode = part_modes[seq_part[:-1][same]] if n_parts else np.empty(0, np.int64)
    keep = u != v
    u, v, seg_mode = u[keep], v[keep], seg_mode[keep]
    lengths = np.hypot(*(node_xy[u] - node_xy[v]).T) if len(u) else np.empty(0)
    modes = list(Mode)
    speed = np.array([p.speed_kmh(m) for m in modes], dtype=np.float64)
    hours = lengths / 1000.0 / speed[seg_mode] if len(u) else np.empty(0)
    edges = [_EdgeBlock(u, v, lengths, hours, seg_mode)]

    # Line ends joined, by walking, to the nearest other lines (snaps near-misses, bridges gaps).
    ends = _line_ends(seq_node, seq_part, n_parts)
    owner_lo, owner_hi = _node_owners(seq_node, seq_part, n_line)
    walk = modes.index(Mode.WALK)
    if n_line and len(ends):
        ju, jv = _join_ends(cKDTree(node_xy), node_xy, ends, owner_lo, owner_hi,
                            max(p.bridge_km * 1000.0, p.snap_m), p.bridge_links)
        edges.append(_walk_block(ju, jv, node_xy, p, walk))
    comp = _components(n_line, edges)

    # Exits: exit features, and border crossings (merged when close).
    all_exits: list[ExitPoint] = list(exits)
    exit_node_list: list[int] = []
    point_xy: list[tuple[float, float]] = []
    crossing_nodes = _merge_crossings(cross_xy, cross_part, cross_border, node_xy,
                                      p.exit_merge_km * 1000.0)
    next_node = n_line
    for e in exits:
        exit_node_list.append(next_node)
        point_xy.append((float(e.point[0]), float(e.point[1])))
        next_node += 1
    for node, part, border in crossing_nodes:
        all_exits.append(
            ExitPoint(
                name=None,
                point=(float(node_xy[node, 0]), float(node_xy[node, 1])),
                kind="border_crossing",
                via=part_names[part] if part_names[part] else modes[part_modes[part]].value,
                border=border_names[border],
            )
        )
        exit_node_list.append(int(node))
    origin_node_list: list[int] = []
    for o in origins:
        origin_node_list.append(next_node)
        point_xy.append((float(o.point[0]), float(o.point[1])))
        next_node += 1
    xy = np.vstack([node_xy, np.asarray(point_xy, np.float64).reshape(-1, 2)])

    # Access by walking: exits and runways are targets for origins; origins only leave.
    n_exit_feat = len(exits)
    feat_exit_nodes = np.asarray(exit_node_list[:n_exit_feat], np.int64)
    air_origin = np.asarray(
        [n for n, o in zip(origin_node_list, origins, strict=True) if o.airstrip], np.int64
    )
    targets = np.concatenate([np.arange(n_line), feat_exit_nodes, air_origin]).astype(np.int64)
    target_group = np.concatenate(
        [owner_lo, np.arange(len(feat_exit_nodes) + len(air_origin)) + (n_parts + 1)]
    )
    sources = np.concatenate([feat_exit_nodes, np.asarray(origin_node_list, np.int64)])
    access_u, access_v, both = _access(xy, targets, target_group, sources, p, n_exit_feat)
    access_len = np.hypot(*(xy[access_u] - xy[access_v]).T) if len(access_u) else np.empty(0)
    access_block = _EdgeBlock(access_u, access_v, access_len,
                              access_len / 1000.0 / p.walk_kmh, np.full(len(access_u), walk))

    # Air links between runways and air exits within range.
    air_nodes = np.concatenate(
        [air_origin,
         np.asarray([n for n, e in zip(exit_node_list, all_exits, strict=True) if e.air],
                    np.int64)]
    )
    air_block = _air_links(xy, air_nodes, p, modes.index(Mode.AIR))

    one_way = ~both
    graph = _graph(
        len(xy),
        [*edges, _EdgeBlock(access_u[both], access_v[both], access_len[both],
                            access_block.hours[both], access_block.mode[both]), air_block],
        [_EdgeBlock(access_u[one_way], access_v[one_way], access_len[one_way],
                    access_block.hours[one_way], access_block.mode[one_way])],
        modes,
    )

    return Network(
        graph=graph,
        xy=xy,
        exits=tuple(all_exits),
        exit_nodes=tuple(int(n) for n in exit_node_list),
        origins=tuple(origins),
        origin_nodes=tuple(origin_node_list),
        params=p,
        n_line_nodes=n_line,
        stats={
            "lines": n_parts,
            "nodes": int(graph.number_of_nodes()),
            "edges": int(graph.number_of_edges()),
            "pieces": int(len(np.unique(comp))) if len(comp) else 0,
            "border_crossings": len(crossing_nodes),
            "air_links": int(len(air_block.u)),
        },
    )


@dataclass(frozen=True)
class _EdgeBlock:
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    length: NDArray[np.float64]
    hours: NDArray[np.float64]
    mode: NDArray[np.int64]


def _walk_block(u: NDArray[np.int64], v: NDArray[np.int64], xy: NDArray[np.float64],
                p: RouteParams, walk: int) -> _EdgeBlock:
    length = np.hypot(*(xy[u] - xy[v]).T) if len(u) else np.empty(0)
    return _EdgeBlock(u, v, length, length / 1000.0 / p.walk_kmh, np.full(len(u), walk))


def _graph(n: int, two_way: Sequence[_EdgeBlock], one_way: Sequence[_EdgeBlock],
           modes: list[Mode]) -> Any:
    """The directed graph of the edge blocks; where edges join the same nodes the cheapest wins."""
    u = np.concatenate([b.u for b in two_way] + [b.v for b in two_way] + [b.u for b in one_way])
    v = np.concatenate([b.v for b in two_way] + [b.u for b in two_way] + [b.v for b in one_way])
    w = np.concatenate([b.hours for b in two_way] * 2 + [b.hours for b in one_way])
    length = np.concatenate([b.length for b in two_way] * 2 + [b.length for b in one_way])
    mode = np.concatenate([b.mode for b in two_way] * 2 + [b.mode for b in one_way])
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    if len(u) == 0:
        return graph
    order = np.lexsort((w, v, u))
    u, v, w, length, mode = u[order], v[order], w[order], length[order], mode[order]
    first = np.ones(len(u), bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    names = [m.value for m in modes]
    graph.add_edges_from(
        (a, b, {"weight": wt, "length": ln, "mode": names[md]})
        for a, b, wt, ln, md in zip(u[first].tolist(), v[first].tolist(), w[first].tolist(),
                                    length[first].tolist(), mode[first].tolist(), strict=True)
    )
    return graph


def _line_parts(
    lines: Sequence[NetworkLine], p: RouteParams
) -> tuple[NDArray[np.object_], NDArray[np.int64], list[str | None]]:
    modes = list(Mode)
    geoms: list[BaseGeometry] = []
    part_modes: list[int] = []
    names: list[str | None] = []
    for line in lines:
        g = line.geometry
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            g = g.boundary
        for part in shapely.get_parts(g):
            if part.geom_type == "LinearRing":
                part = LineString(part.coords)
            if part.geom_type != "LineString" or part.length <= 0:
                continue
            geoms.append(part)
            part_modes.append(modes.index(Mode(line.mode)))
            names.append(line.name)
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    if len(arr):
        if p.simplify_m > 0:
            simple = shapely.simplify(arr, p.simplify_m, preserve_topology=False)
            # a short or closed line may collapse: keep its two ends (or drop a closed one)
            bad = shapely.is_empty(simple) | (shapely.get_num_coordinates(simple) < 2)
            if bad.any():
                ends = shapely.linestrings(
                    np.stack([shapely.get_coordinates(shapely.get_point(arr[bad], 0)),
                              shapely.get_coordinates(shapely.get_point(arr[bad], -1))], axis=1)
                )
                simple[bad] = ends
            arr = simple
        ok = shapely.length(arr) > 0
        arr = arr[ok]
        part_modes = [m for m, k in zip(part_modes, ok.tolist(), strict=True) if k]
        names = [n for n, k in zip(names, ok.tolist(), strict=True) if k]
        arr = shapely.segmentize(arr, p.node_spacing_m)
    return arr, np.asarray(part_modes, np.int64), names


def _crossings(parts: NDArray[np.object_]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Points where two lines meet (crossings, touching ends, shared stretches)."""
    if len(parts) < 2:
        return np.empty(0, np.int64), np.empty((0, 2))
    tree = shapely.STRtree(parts)
    i, j = tree.query(parts, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return np.empty(0, np.int64), np.empty((0, 2))
    inter = shapely.intersection(parts[i], parts[j])
    coords, index = shapely.get_coordinates(inter, return_index=True)
    if len(coords) == 0:
        return np.empty(0, np.int64), np.empty((0, 2))
    return (
        np.concatenate([i[index], j[index]]).astype(np.int64),
        np.vstack([coords, coords]),
    )


def _border_lines(
    borders: Sequence[tuple[str | None, BaseGeometry]],
) -> tuple[NDArray[np.object_], list[str | None]]:
    geoms: list[BaseGeometry] = []
    names: list[str | None] = []
    for name, g in borders:
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            g = g.boundary
        for part in shapely.get_parts(g):
            if part.geom_type in ("LineString", "LinearRing") and part.length > 0:
                geoms.append(LineString(part.coords))
                names.append(name)
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    return arr, names


def _border_crossings(
    parts: NDArray[np.object_], borders: NDArray[np.object_], snap_m: float
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Points where lines meet a border, and line ends within ``snap_m`` of one."""
    empty = (np.empty(0, np.int64), np.empty((0, 2)), np.empty(0, np.int64))
    if len(parts) == 0 or len(borders) == 0:
        return empty
    tree = shapely.STRtree(borders)
    pi, bi = tree.query(parts, predicate="intersects")
    out_part: list[NDArray[np.int64]] = []
    out_xy: list[NDArray[np.float64]] = []
    out_border: list[NDArray[np.int64]] = []
    if len(pi):
        inter = shapely.intersection(parts[pi], borders[bi])
        coords, index = shapely.get_coordinates(inter, return_index=True)
        out_part.append(pi[index])
        out_xy.append(coords)
        out_border.append(bi[index])
    if snap_m > 0:
        starts = shapely.get_point(parts, 0)
        ends = shapely.get_point(parts, -1)
        for pts in (starts, ends):
            qi, qb = tree.query(pts, predicate="dwithin", distance=snap_m)
            if len(qi):  # the crossing is the line's own end, a node already
                out_part.append(qi)
                out_xy.append(shapely.get_coordinates(pts[qi]))
                out_border.append(qb)
    if not out_part:
        return empty
    return (
        np.concatenate(out_part).astype(np.int64),
        np.vstack(out_xy),
        np.concatenate(out_border).astype(np.int64),
    )


def _sequences(
    parts: NDArray[np.object_], extra_part: NDArray[np.int64], extra_xy: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Every line's points in order along it (its vertices and the extra points on it)."""
    coords, index = shapely.get_coordinates(parts, return_index=True)
    if len(extra_part) == 0:
        return coords, index.astype(np.int64)
    # distance along the line of every vertex and every extra point, then one sort per line
    seg = np.hypot(*np.diff(coords, axis=0).T)
    seg[index[1:] != index[:-1]] = 0.0
    along = np.concatenate([[0.0], np.cumsum(seg)])
    start = np.searchsorted(index, np.arange(len(parts)))
    along = along - along[start][index]
    extra_along = shapely.line_locate_point(parts[extra_part], shapely.points(extra_xy))
    all_part = np.concatenate([index, extra_part])
    all_along = np.concatenate([along, extra_along])
    all_xy = np.vstack([coords, extra_xy])
    order = np.lexsort((all_along, all_part))
    return all_xy[order], all_part[order].astype(np.int64)


def _nodes(seq_xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """One node per distinct point (to the millimetre)."""
    if len(seq_xy) == 0:
        return np.empty((0, 2)), np.empty(0, np.int64)
    key = np.round(seq_xy, 3)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    return uniq.astype(np.float64), inverse.reshape(-1).astype(np.int64)


def _line_ends(seq_node: NDArray[np.int64], seq_part: NDArray[np.int64],
               n_parts: int) -> NDArray[np.int64]:
    if n_parts == 0:
        return np.empty(0, np.int64)
    first = np.searchsorted(seq_part, np.arange(n_parts), side="left")
    last = np.searchsorted(seq_part, np.arange(n_parts), side="right") - 1
    return np.unique(np.concatenate([seq_node[first], seq_node[last]]))


def _node_owners(seq_node: NDArray[np.int64], seq_part: NDArray[np.int64],
                 n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    lo = np.full(n, np.iinfo(np.int64).max, np.int64)
    hi = np.full(n, -1, np.int64)
    np.minimum.at(lo, seq_node, seq_part)
    np.maximum.at(hi, seq_node, seq_part)
    return lo, hi


def _components(n: int, blocks: Sequence[_EdgeBlock]) -> NDArray[np.int64]:
    if n == 0:
        return np.empty(0, np.int64)
    u = np.concatenate([b.u for b in blocks]) if blocks else np.empty(0, np.int64)
    v = np.concatenate([b.v for b in blocks]) if blocks else np.empty(0, np.int64)
    m = coo_matrix((np.ones(len(u), np.int8), (u, v)), shape=(n, n))
    _, labels = connected_components(m, directed=False)
    return labels.astype(np.int64)


def _join_ends(tree: cKDTree, xy: NDArray[np.float64], ends: NDArray[np.int64],
               owner_lo: NDArray[np.int64], owner_hi: NDArray[np.int64], radius_m: float,
               links: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each line end to the nearest node of each of the ``links`` nearest other lines."""
    if radius_m <= 0 or links < 1:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    us: list[int] = []
    vs: list[int] = []
    chunk = 2000
    for s in range(0, len(ends), chunk):
        block = ends[s : s + chunk]
        for e, cand in zip(block.tolist(), tree.query_ball_point(xy[block], radius_m),
                           strict=True):
            c = np.asarray(cand, np.int64)
            line = owner_lo[c]
            c = c[(line != owner_lo[e]) & (line != owner_hi[e])]
            if len(c) == 0:
                continue
            d = np.hypot(*(xy[c] - xy[e]).T)
            order = np.argsort(d, kind="stable")
            _, first = np.unique(owner_lo[c[order]], return_index=True)
            for k in np.sort(first)[:links].tolist():
                us.append(e)
                vs.append(int(c[order[k]]))
    return np.asarray(us, np.int64), np.asarray(vs, np.int64)


def _merge_crossings(
    cross_xy: NDArray[np.float64], cross_part: NDArray[np.int64],
    cross_border: NDArray[np.int64], node_xy: NDArray[np.float64], merge_m: float,
) -> list[tuple[int, int, int]]:
    """(node, line part, border) of each border crossing kept, none closer than ``merge_m``."""
    if len(cross_xy) == 0:
        return []
    tree = cKDTree(node_xy)
    _, nodes = tree.query(cross_xy)
    kept: list[tuple[int, int, int]] = []
    kept_xy: list[NDArray[np.float64]] = []
    seen: set[int] = set()
    for k in np.lexsort((cross_xy[:, 1], cross_xy[:, 0])).tolist():
        node = int(nodes[k])
        if node in seen:
            continue
        here = node_xy[node]
        if kept_xy and merge_m > 0:
            d = np.hypot(*(np.asarray(kept_xy) - here).T)
            if d.min() < merge_m:
                continue
        seen.add(node)
        kept.append((node, int(cross_part[k]), int(cross_border[k])))
        kept_xy.append(here)
    return kept


def _access(
    xy: NDArray[np.float64], targets: NDArray[np.int64], target_group: NDArray[np.int64],
    sources: NDArray[np.int64], p: RouteParams, n_exit_sources: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Walking edges from each source to the nearest node of each of the nearest lines.

    The first ``n_exit_sources`` sources are exits (their edges go both ways);
    the others are origins (their edges only leave them). Runway origins are
    targets too, so their edges to other sources go both ways.
    """
    empty = np.empty(0, np.int64)
    if len(sources) == 0 or len(targets) == 0 or p.access_km <= 0:
        return empty, empty, np.empty(0, bool)
    tree = cKDTree(xy[targets])
    target_set = set(targets.tolist())
    us: list[int] = []
    vs: list[int] = []
    both: list[bool] = []
    for k, (s, cand) in enumerate(
        zip(sources.tolist(), tree.query_ball_point(xy[sources], p.access_km * 1000.0),
            strict=True)
    ):
        c = np.asarray(cand, np.int64)
        c = c[targets[c] != s]
        if len(c) == 0:
            continue
        d = np.hypot(*(xy[targets[c]] - xy[s]).T)
        order = np.argsort(d, kind="stable")
        c, d = c[order], d[order]
        _, first = np.unique(target_group[c], return_index=True)
        first = np.sort(first)[: p.access_links]
        two_way = k < n_exit_sources or s in target_set
        for t in targets[c[first]].tolist():
            us.append(s)
            vs.append(int(t))
            both.append(two_way)
    return np.asarray(us, np.int64), np.asarray(vs, np.int64), np.asarray(both, bool)


def _air_links(xy: NDArray[np.float64], nodes: NDArray[np.int64], p: RouteParams,
               air: int) -> _EdgeBlock:
    nodes = np.unique(nodes)
    if len(nodes) < 2 or p.air_range_km <= 0:
        e = np.empty(0, np.int64)
        return _EdgeBlock(e, e, np.empty(0), np.empty(0), e)
    pairs = cKDTree(xy[nodes]).query_pairs(p.air_range_km * 1000.0, output_type="ndarray")
    u = nodes[pairs[:, 0]] if len(pairs) else np.empty(0, np.int64)
    v = nodes[pairs[:, 1]] if len(pairs) else np.empty(0, np.int64)
    length = np.hypot(*(xy[u] - xy[v]).T) if len(u) else np.empty(0)
    hours = p.air_fixed_h + length / 1000.0 / p.air_kmh
    return _EdgeBlock(u.astype(np.int64), v.astype(np.int64), length, hours,
                      np.full(len(u), air, np.int64))


# ----------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """The cheapest route from an origin to an exit (metric coordinates).

    ``cost_h[i]`` and ``along_m[i]`` are the hours and metres travelled when
    reaching ``coords[i]`` (both start at 0 and never decrease);
    ``edge_modes[i]`` is how the stretch from vertex ``i`` to ``i + 1`` is
    travelled.
    """

    origin: Origin
    exit: ExitPoint
    exit_index: int
    nodes: tuple[int, ...]
    coords: NDArray[np.float64]
    cost_h: NDArray[np.float64]
    along_m: NDArray[np.float64]
    edge_modes: tuple[Mode, ...]

    @property
    def total_cost_h(self) -> float:
        return float(self.cost_h[-1])

    @property
    def length_m(self) -> float:
        return float(self.along_m[-1])

    @property
    def length_km(self) -> float:
        return self.length_m / 1000.0

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The modes in route order, consecutive repeats (and stretches of 0 m) left out."""
        out: list[Mode] = []
        steps = np.diff(self.along_m)
        for m, d in zip(self.edge_modes, steps.tolist(), strict=True):
            if d > 0 and (not out or out[-1] is not m):
                out.append(m)
        return tuple(out)

    def mode_lengths(self) -> dict[Mode, float]:
        """Metres travelled by each mode."""
        steps = np.diff(self.along_m)
        out: dict[Mode, float] = {}
        for m, d in zip(self.edge_modes, steps.tolist(), strict=True):
            out[m] = out.get(m, 0.0) + d
        return out

    def family_lengths(self) -> dict[str, float]:
        """Metres travelled by each family of modes (river, road, trail, air, walk)."""
        out: dict[str, float] = {}
        for m, d in self.mode_lengths().items():
            out[MODE_FAMILY[m]] = out.get(MODE_FAMILY[m], 0.0) + d
        return out

    @property
    def geometry(self) -> LineString:
        coords = self.coords if len(self.coords) > 1 else np.vstack([self.coords] * 2)
        return LineString(coords)


@dataclass(frozen=True)
class RouteSet:
    """Routes found (one per reachable origin) and the labels of the origins with none."""

    routes: tuple[Route, ...]
    unreachable: tuple[str, ...]
    no_exits: bool


def route_to_exits(network: Network) -> RouteSet:
    """Each origin's cheapest route to any exit (one multi-source Dijkstra from the exits)."""
    graph = network.graph
    if not network.exit_nodes:
        return RouteSet((), tuple(o.label for o in network.origins), no_exits=True)
    sink = -1
    graph.add_node(sink)
    try:
        for node in set(network.exit_nodes):
            graph.add_edge(node, sink, weight=0.0, length=0.0, mode="exit")
        reverse = graph.reverse(copy=False)
        pred, dist = nx.dijkstra_predecessor_and_distance(reverse, sink, weight="weight")
    finally:
        graph.remove_node(sink)
    exit_of_node: dict[int, int] = {}
    for i, node in enumerate(network.exit_nodes):
        exit_of_node.setdefault(node, i)
    routes: list[Route] = []
    unreachable: list[str] = []
    for origin, start in zip(network.origins, network.origin_nodes, strict=True):
        if start not in dist:
            unreachable.append(origin.label)
            continue
        path = [start]
        while True:
            step = pred[path[-1]][0]
            if step == sink:
                break
            path.append(step)
        routes.append(_route(network, origin, path, exit_of_node[path[-1]]))
    return RouteSet(tuple(routes), tuple(unreachable), no_exits=False)


def _route(network: Network, origin: Origin, path: list[int], exit_index: int) -> Route:
    graph = network.graph
    weights = [0.0]
    lengths = [0.0]
    modes: list[Mode] = []
    for a, b in zip(path[:-1], path[1:], strict=True):
        data = graph.adj[a][b]
        weights.append(float(data["weight"]))
        lengths.append(float(data["length"]))
        modes.append(Mode(data["mode"]))
    return Route(
        origin=origin,
        exit=network.exits[exit_index],
        exit_index=exit_index,
        nodes=tuple(path),
        coords=network.xy[np.asarray(path, np.int64)],
        cost_h=np.cumsum(np.asarray(weights)),
        along_m=np.cumsum(np.asarray(lengths)),
        edge_modes=tuple(modes),
    )


# ----------------------------------------------------------------- zones


def cluster_points(xy: NDArray[np.float64], distance_m: float) -> NDArray[np.int64]:
    """Single-linkage clusters: points closer than ``distance_m`` (chains too) share a label.

    Labels are 0..k-1 in the order of each cluster's first point.

    >>> cluster_points(np.array([[0, 0], [1500, 0], [2900, 0], [9000, 0]]), 2000).tolist()
    [0, 0, 0, 1]
    """
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        return np.empty(0, np.int64)
    pairs = cKDTree(xy).query_pairs(distance_m, output_type="ndarray")
    m = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(m, directed=False)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inverse.reshape(-1)].astype(np.int64)


@dataclass(frozen=True)
class ProductionZone:
    """A cluster of coca-likely clearings: an origin of routes.

    ``label`` is ``"zone:<smallest member id>"`` (stable between runs);
    ``point`` the member nearest the cluster's mean (metric).
    """

    label: str
    members: tuple[int, ...]
    point: tuple[float, float]


def production_zones(
    ids: Sequence[int] | NDArray[np.int64], xy: NDArray[np.float64], *, cluster_m: float = 2000.0
) -> list[ProductionZone]:
    """Zones of clearings ``ids`` at points ``xy`` (metric), clustered within ``cluster_m``.

    >>> [z.label for z in production_zones([5, 9, 2], np.array([[0, 0], [900, 0], [50_000, 0]]))]
    ['zone:5', 'zone:2']
    """
    ids_arr = np.asarray(ids, np.int64).reshape(-1)
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    labels = cluster_points(xy, cluster_m)
    zones: list[ProductionZone] = []
    for k in range(int(labels.max(initial=-1)) + 1):
        idx = np.flatnonzero(labels == k)
        centre = xy[idx].mean(axis=0)
        best = idx[np.argmin(np.hypot(*(xy[idx] - centre).T))]
        members = tuple(sorted(int(i) for i in ids_arr[idx]))
        zones.append(
            ProductionZone(f"zone:{members[0]}", members, (float(xy[best, 0]),
                                                         float(xy[best, 1])))
        )
    return zones


# ----------------------------------------------------------------- corridors


def corridor_density(
    lines: Sequence[BaseGeometry],
    transform: Sequence[float],
    shape: tuple[int, int],
    *,
    bandwidth_m: float,
    metres_per_unit: tuple[float, float] = (1.0, 1.0),
) -> NDArray[np.float32]:
    """How many of ``lines`` pass within ``bandwidth_m`` of each cell centre of a grid.

    ``transform`` is the grid's affine transform ``(a, b, c, d, e, f)`` as
    rasterio/GDAL write it (x = c + a col, y = f + e row; north-up: b = d = 0);
    ``lines`` are in the grid's coordinates; ``metres_per_unit`` converts grid
    units to metres along x and y (1 for a metric grid; about 111,320 cos(lat)
    and 110,574 for degrees). Each line counts once per cell.

    >>> from shapely.geometry import LineString
    >>> d = corridor_density([LineString([(0, 5), (10, 5)])], (1, 0, 0, 0, -1, 10), (10, 10),
    ...                      bandwidth_m=1.0)
    >>> d[:, 0].tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    if b != 0 or d != 0:
        raise ValueError("corridor_density needs a north-up grid (b = d = 0)")
    rows, cols = int(shape[0]), int(shape[1])
    out = np.zeros((rows, cols), np.float32)
    sx, sy = abs(a) * metres_per_unit[0], abs(e) * metres_per_unit[1]
    pad_c = int(math.ceil(bandwidth_m / sx)) + 1
    pad_r = int(math.ceil(bandwidth_m / sy)) + 1
    step = min(abs(a), abs(e)) / 2.0
    for line in lines:
        if line is None or line.is_empty:
            continue
        pts = shapely.get_coordinates(shapely.segmentize(line, step))
        if len(pts) == 0:
            continue
        col = np.floor((pts[:, 0] - c) / a).astype(np.int64)
        row = np.floor((pts[:, 1] - f) / e).astype(np.int64)
        r0, r1 = row.min() - pad_r, row.max() + pad_r + 1
        c0, c1 = col.min() - pad_c, col.max() + pad_c + 1
        wr0, wr1 = max(r0, 0), min(r1, rows)
        wc0, wc1 = max(c0, 0), min(c1, cols)
        if wr0 >= wr1 or wc0 >= wc1:
            continue
        mask = np.ones((r1 - r0, c1 - c0), bool)
        mask[row - r0, col - c0] = False
        # candidates: cells whose centre is near a cell the line touches; then the exact test
        dist = ndimage.distance_transform_edt(mask, sampling=(sy, sx))
        reach = bandwidth_m + math.hypot(sx, sy)
        cand_r, cand_c = np.nonzero(np.asarray(dist, np.float64)[
            wr0 - r0 : wr1 - r0, wc0 - c0 : wc1 - c0] <= reach)
        cand_r += wr0
        cand_c += wc0
        cx = (c + a * (cand_c + 0.5)) * metres_per_unit[0]
        cy = (f + e * (cand_r + 0.5)) * metres_per_unit[1]
        metric = shapely.transform(line, lambda xy: xy * np.asarray(metres_per_unit))
        shapely.prepare(metric)
        near = shapely.dwithin(metric, shapely.points(cx, cy), bandwidth_m)
        out[cand_r[near], cand_c[near]] += 1.0
    return out


@dataclass(frozen=True)
class CorridorExposure:
    """How a territory lies with respect to the corridors.

    ``distance_km``: to the nearest corridor (0 when one crosses it; ``inf``
    when there are no corridors); ``crossing``: ids of the corridors that cross
    it, ``labels`` their labels (origin → exit); ``nearest``: id of the
    nearest corridor (None when there are none).
    """

    distance_km: float
    crossing: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()
    nearest: int | None = None


def territory_exposure(
    territories: Sequence[tuple[int, BaseGeometry]],
    corridors: Sequence[tuple[int, str, BaseGeometry]],
) -> dict[int, CorridorExposure]:
    """Distance (km) from each territory to the nearest corridor, and the corridors crossing it.

    Geometries metric; ``corridors`` are ``(id, label, line)``.

    >>> from shapely.geometry import LineString, box
    >>> out = territory_exposure([(1, box(0, 0, 10, 10)), (2, box(3000, 0, 3010, 10))],
    ...                          [(7, "zone:1 → frontera", LineString([(5, -5), (5, 20)]))])
    >>> out[1].crossing, out[2].distance_km
    ((7,), 2.995)
    """
    out: dict[int, CorridorExposure] = {}
    if not territories:
        return out
    t_ids = [int(t[0]) for t in territories]
    t_geoms = np.empty(len(territories), dtype=object)
    t_geoms[:] = [t[1] for t in territories]
    if not corridors:
        return {tid: CorridorExposure(math.inf) for tid in t_ids}
    c_ids = [int(c[0]) for c in corridors]
    c_labels = [str(c[1]) for c in corridors]
    c_geoms = np.empty(len(corridors), dtype=object)
    c_geoms[:] = [c[2] for c in corridors]
    tree = shapely.STRtree(c_geoms)
    ti, ci = tree.query(t_geoms, predicate="intersects")
    crossing: dict[int, list[int]] = {}
    for t, k in zip(ti.tolist(), ci.tolist(), strict=True):
        crossing.setdefault(t, []).append(k)
    (nt, nc), dist = tree.query_nearest(t_geoms, return_distance=True, all_matches=False)
    nearest = dict(zip(nt.tolist(), zip(nc.tolist(), dist.tolist(), strict=True), strict=True))
    for t, tid in enumerate(t_ids):
        ks = sorted(set(crossing.get(t, [])), key=lambda k: c_ids[k])
        near = nearest.get(t)
        out[tid] = CorridorExposure(
            distance_km=0.0 if ks else (near[1] / 1000.0 if near else math.inf),
            crossing=tuple(c_ids[k] for k in ks),
            labels=tuple(c_labels[k] for k in ks),
            nearest=c_ids[near[0]] if near else None,
        )
    return out


# ----------------------------------------------------------------- stored runs


@dataclass(frozen=True)
class CorridorRun:
    """One stored run of ``vigilancia routes``: when, for which date, with what, and its counts."""

    id: int
    created_at: datetime
    as_of: date | None
    params: dict[str, Any]
    summary: dict[str, Any]


@dataclass(frozen=True)
class StoredCorridor:
    """A stored corridor: one route, EPSG:4326 line, cost in hours, modes in route order."""

    id: int
    run_id: int
    origin: str
    exit_name: str | None
    modes: tuple[str, ...]
    length_km: float
    cost_h: float
    geometry: BaseGeometry

    @property
    def label(self) -> str:
        return f"{self.origin} → {self.exit_name or '?'}"
