"""Patrol planning: which open cases a patrol visits, in what order, over which ways.

PURE: stdlib, numpy, scipy, shapely and networkx (through :mod:`vigilancia.domain.routes`).
The result is a :class:`~vigilancia.domain.patrols.PatrolPlan`.

How a plan is made (:func:`plan_visits`; planning works in one metric frame,
metres, and ``to_lonlat`` turns the result into lon/lat):

1. **Legs.** Between any two points (the start and the cases) a patrol takes
   the faster of walking the straight line through the forest
   (``RouteParams.walk_kmh``) and a path over the network of rivers, roads and
   trails of :func:`vigilancia.domain.routes.build_network` (reached by
   walking), see :class:`TravelLegs`. Each leg records its km, hours and the
   ways of travel in order (``trail``, ``river``, ``road``, ``walk``).
2. **Which cases.** Cases are taken by priority, highest first (then by id).
   Each is put where it adds the fewest km to the round (cheapest insertion),
   the round is shortened with 2-opt, and the case is kept only if the whole
   round (back to the start when ``returns``) stays within ``max_km``;
   otherwise it is skipped and the next one is tried. So when the budget binds,
   higher priorities win; a case too far even alone is skipped at once.
3. **Care.** :func:`care_flags` marks cases within a distance of a known
   airstrip, a camp or a runway-like clearing.

>>> from shapely.geometry import LineString
>>> cands = [PatrolCandidate(1, (3000.0, 0.0), priority=80), PatrolCandidate(2, (0.0, 4000.0), 50)]
>>> plan = plan_visits(territory_id=7, territory_name="CN Alfa", start=(0.0, 0.0),
...                    candidates=cands, max_km=12)
>>> plan.case_ids, round(plan.total_km, 1), plan.stops[0].leg_modes
((1, 2), 12.0, ('walk',))
>>> plan_visits(territory_id=7, territory_name="CN Alfa", start=(0.0, 0.0),
...             candidates=cands, max_km=9).skipped
(2,)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.patrols import (
    DEFAULT_MAX_KM,
    CareReason,
    PatrolPlan,
    PatrolStop,
)
from vigilancia.domain.routes import (
    MODE_FAMILY,
    ExitPoint,
    Mode,
    NetworkLine,
    RouteParams,
    build_network,
)

__all__ = [
    "Hazard",
    "Leg",
    "PatrolCandidate",
    "TravelLegs",
    "anchor_point",
    "care_flags",
    "choose_start",
    "order_visits",
    "plan_visits",
]


# --------------------------------------------------------------------------------------
# Approach with care
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hazard:
    """Something a patrol approaches with care (metric geometry): ``kind`` is one of
    :data:`CARE_KINDS`; ``name`` its name when known."""

    kind: str
    geometry: BaseGeometry
    name: str | None = None


def care_flags(
    geometries: Sequence[BaseGeometry], hazards: Sequence[Hazard], within_m: float
) -> list[tuple[CareReason, ...]]:
    """For each geometry (a case, metric), the hazards within ``within_m`` metres, nearest first.

    >>> from shapely.geometry import Point
    >>> flags = care_flags([Point(0, 0), Point(9000, 0)],
    ...                    [Hazard("airstrip", Point(1200, 0), "Pista X")], 2000)
    >>> flags[0], flags[1]
    ((CareReason(kind='airstrip', distance_m=1200.0, name='Pista X'),), ())
    """
    out: list[tuple[CareReason, ...]] = [() for _ in geometries]
    if not len(geometries) or not hazards or within_m < 0:
        return out
    geoms = np.empty(len(geometries), dtype=object)
    geoms[:] = list(geometries)
    hz = np.empty(len(hazards), dtype=object)
    hz[:] = [h.geometry for h in hazards]
    gi, hi = shapely.STRtree(hz).query(geoms, predicate="dwithin", distance=float(within_m))
    if not len(gi):
        return out
    dist = shapely.distance(geoms[gi], hz[hi])
    found: dict[int, list[CareReason]] = {}
    for g, h, d in zip(gi.tolist(), hi.tolist(), dist.tolist(), strict=True):
        found.setdefault(g, []).append(CareReason(hazards[h].kind, float(d), hazards[h].name))
    for g, reasons in found.items():
        out[g] = tuple(sorted(reasons, key=lambda r: (r.distance_m, r.kind, r.name or "")))
    return out


# --------------------------------------------------------------------------------------
# Where a patrol starts
# --------------------------------------------------------------------------------------


def anchor_point(geom: BaseGeometry) -> tuple[float, float]:
    """A point standing for a feature: itself, a line's midpoint, a polygon's inner point.

    >>> from shapely.geometry import box
    >>> anchor_point(box(0, 0, 4, 2))
    (2.0, 1.0)
    """
    if geom.geom_type == "Point":
        return float(geom.x), float(geom.y)
    if geom.geom_type == "LineString":
        p = geom.interpolate(0.5, normalized=True)
    else:
        p = geom.representative_point()
    return float(p.x), float(p.y)


def choose_start(
    territory: BaseGeometry,
    settlements: Sequence[tuple[str | None, BaseGeometry]] = (),
    *,
    towards: tuple[float, float] | None = None,
    max_distance_m: float = math.inf,
    elsewhere: Sequence[BaseGeometry] = (),
) -> tuple[tuple[float, float], str | None, str]:
    """Where a patrol of ``territory`` leaves from: ``(point, name, kind)``, metric.

    - a settlement inside the territory (the one nearest ``towards``, e.g. the
      centre of the cases; kind ``settlement``);
    - else the settlement nearest the territory within ``max_distance_m`` that
      lies in none of the ``elsewhere`` polygons (other communities: a plan never
      starts from, nor names, another community's village);
    - else the territory's centroid (its inner point when the centroid falls
      outside), kind ``centroid``, no name.

    >>> from shapely.geometry import Point, box
    >>> choose_start(box(0, 0, 10, 10), [("Nuevo Edén", Point(2, 3))])
    ((2.0, 3.0), 'Nuevo Edén', 'settlement')
    >>> choose_start(box(0, 0, 10, 10), [("Lejos", Point(50, 50))], max_distance_m=20)
    ((5.0, 5.0), None, 'centroid')
    """
    centre = territory.centroid
    if not territory.covers(centre):
        centre = territory.representative_point()
    target = towards if towards is not None else (float(centre.x), float(centre.y))
    points = [(name, anchor_point(g)) for name, g in settlements
              if g is not None and not g.is_empty]
    inside = [(n, xy) for n, xy in points if territory.covers(shapely.Point(xy))]
    if inside:
        name, xy = min(inside, key=lambda t: (math.dist(t[1], target), str(t[0] or "")))
        return xy, name, "settlement"
    others = [g for g in elsewhere if g is not None and not g.is_empty]
    near: list[tuple[float, float, str | None, tuple[float, float]]] = []
    for name, xy in points:
        pt = shapely.Point(xy)
        if any(o.covers(pt) for o in others):
            continue
        d = float(territory.distance(pt))
        if d <= max_distance_m:
            near.append((d, math.dist(xy, target), name, xy))
    if near:
        _d, _t, name, xy = min(near, key=lambda t: (t[0], t[1], str(t[2] or "")))
        return xy, name, "settlement"
    return (float(centre.x), float(centre.y)), None, "centroid"


# --------------------------------------------------------------------------------------
# Legs between points
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    """Travel between two points (metric): ``km``, ``hours``, the ways of travel in order
    (``trail``, ``river``, ``road``, ``walk``; repeats merged) and the path ``coords``
    (first row the origin, last the destination)."""

    km: float
    hours: float
    modes: tuple[str, ...]
    coords: NDArray[np.float64]

    def reversed(self) -> Leg:
        """The same leg travelled the other way."""
        return Leg(self.km, self.hours, tuple(reversed(self.modes)), self.coords[::-1].copy())


def _merge_modes(modes: Sequence[str], lengths: Sequence[float]) -> tuple[str, ...]:
    out: list[str] = []
    for m, d in zip(modes, lengths, strict=True):
        if d > 0 and (not out or out[-1] != m):
            out.append(m)
    return tuple(out)


class TravelLegs:
    """The legs between fixed points (metric): each the faster of walking the straight
    line and a path over the river, road and trail network.

    The network is :func:`~vigilancia.domain.routes.build_network` of ``lines``
    with the points joined to it as two-way exits: each point walks to the
    nearest node of each of the ``params.access_links`` nearest lines within
    ``params.access_km`` (walks between the points themselves are the straight
    legs). Shortest paths: one Dijkstra (:mod:`scipy.sparse.csgraph`) per point,
    in hours. ``km[i, j]`` and ``hours[i, j]`` are the legs' lengths and times
    (symmetric, 0 on the diagonal); :meth:`leg` gives the whole leg.

    >>> from shapely.geometry import LineString
    >>> trail = NetworkLine(LineString([(0, 100), (6000, 100)]), Mode.TRAIL)
    >>> legs = TravelLegs([(0, 0), (6000, 0)], [trail])
    >>> leg = legs.leg(0, 1)
    >>> leg.modes, round(leg.km, 1), round(leg.hours, 2)
    (('walk', 'trail', 'walk'), 6.2, 1.6)
    """

    #: Sources per Dijkstra call (bounds the memory of the distance rows).
    CHUNK = 32

    def __init__(
        self,
        points: Sequence[tuple[float, float]] | NDArray[np.float64],
        lines: Sequence[NetworkLine] = (),
        params: RouteParams | None = None,
    ) -> None:
        self.points = np.asarray(points, np.float64).reshape(-1, 2)
        self.params = params or RouteParams()
        n = len(self.points)
        diff = self.points[:, None, :] - self.points[None, :, :]
        self.km = np.hypot(diff[..., 0], diff[..., 1]) / 1000.0
        self.hours = self.km / self.params.walk_kmh
        self._network: dict[tuple[int, int], Leg | None] = {}
        if n > 1 and lines:
            self._route_over(lines)

    def _route_over(self, lines: Sequence[NetworkLine]) -> None:
        """Replace the straight legs that the network makes faster (km and hours only:
        :meth:`leg` finds the path again when it is asked for)."""
        n = len(self.points)
        # each other point counts as a "line" for access: room so that points never crowd
        # the lines out; the walks between points are then dropped (they are the straight legs)
        p = replace(self.params, access_links=self.params.access_links + n)
        exits = [ExitPoint(name=None, point=(float(x), float(y)), kind="stop")
                 for x, y in self.points.tolist()]
        net = build_network(lines, exits=exits, params=p)
        if not net.n_line_nodes:
            return
        nodes = np.asarray(net.exit_nodes[:n], np.int64)
        is_stop = np.zeros(net.graph.number_of_nodes(), bool)
        is_stop[nodes] = True
        edges = [(a, b, float(d["weight"]), float(d["length"]), MODE_FAMILY[Mode(d["mode"])])
                 for a, b, d in net.graph.edges(data=True) if not (is_stop[a] and is_stop[b])]
        size = len(is_stop)
        u = np.asarray([e[0] for e in edges], np.int64)
        v = np.asarray([e[1] for e in edges], np.int64)
        weight = np.asarray([e[2] for e in edges], np.float64)
        key = u * size + v
        order = np.argsort(key)
        self._edge_key = key[order]
        self._edge_len = np.asarray([e[3] for e in edges], np.float64)[order]
        self._edge_hours = weight[order]
        self._edge_mode = np.asarray([e[4] for e in edges], dtype=object)[order]
        # explicit zeros would not be edges
        self._matrix = csr_matrix((weight + 1e-12, (u, v)), shape=(size, size))
        self._nodes = nodes
        self._xy = net.xy
        self._size = size
        for lo in range(0, n, self.CHUNK):
            rows = np.arange(lo, min(lo + self.CHUNK, n))
            dist, pred = dijkstra(self._matrix, directed=True, indices=nodes[rows],
                                  return_predecessors=True, limit=float(self.hours[rows].max()))
            for r, i in enumerate(rows.tolist()):
                later = np.arange(i + 1, n)
                faster = later[dist[r, nodes[later]] < self.hours[i, later]]
                if not len(faster):
                    continue
                metres = self._tree_lengths(pred[r])[nodes[faster]]
                hours = dist[r, nodes[faster]]
                self.km[i, faster] = self.km[faster, i] = metres / 1000.0
                self.hours[i, faster] = self.hours[faster, i] = hours
                self._network.update({(i, int(j)): None for j in faster})

    def _edge(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
        """Positions of the edges ``a -> b`` in the sorted edge arrays."""
        return np.searchsorted(self._edge_key, a * self._size + b)

    def _tree_lengths(self, pred: NDArray[np.int32]) -> NDArray[np.float64]:
        """Metres from the root of a shortest-path tree (``pred``: each node's predecessor,
        negative for the root and unreached nodes) to every node, by pointer jumping."""
        parent = pred.astype(np.int64)
        has = parent >= 0
        metres = np.zeros(len(parent))
        idx = np.flatnonzero(has)
        metres[idx] = self._edge_len[self._edge(parent[idx], idx)]
        parent[~has] = -1
        while True:
            idx = np.flatnonzero(parent >= 0)
            if not len(idx):
                return metres
            up = parent[idx]
            metres[idx] = metres[idx] + metres[up]
            parent[idx] = parent[up]

    def _path_leg(self, i: int, j: int) -> Leg:
        """The network leg from point ``i`` to the later point ``j`` (its path found again)."""
        source, target = int(self._nodes[i]), int(self._nodes[j])
        _dist, pred = dijkstra(self._matrix, directed=True, indices=source,
                               return_predecessors=True, limit=float(self.hours[i].max()))
        path = [target]
        while path[-1] != source:
            path.append(int(pred[path[-1]]))
        path.reverse()
        arr = np.asarray(path, np.int64)
        at = self._edge(arr[:-1], arr[1:])
        lengths = self._edge_len[at].tolist()
        coords = self._xy[arr].copy()
        # the path runs between the points' own nodes: exactly the two points
        coords[0], coords[-1] = self.points[i], self.points[j]
        return Leg(float(self.km[i, j]), float(self.hours[i, j]),
                   _merge_modes([str(m) for m in self._edge_mode[at]], lengths), coords)

    def leg(self, i: int, j: int) -> Leg:
        """The leg from point ``i`` to point ``j``."""
        a, b = min(i, j), max(i, j)
        if (a, b) in self._network:
            found = self._network[(a, b)]
            if found is None:
                found = self._network[(a, b)] = self._path_leg(a, b)
        else:
            km = float(self.km[a, b])
            found = Leg(km, float(self.hours[a, b]), ("walk",) if km > 0 else (),
                        np.vstack([self.points[a], self.points[b]]))
        return found if i <= j else found.reversed()


# --------------------------------------------------------------------------------------
# Which cases, in what order
# --------------------------------------------------------------------------------------


def _round_km(seq: Sequence[int], km: NDArray[np.float64], returns: bool) -> float:
    """Length of the round through ``seq`` (matrix indices) from point 0 (and back)."""
    total = 0.0
    prev = 0
    for c in seq:
        total += float(km[prev, c])
        prev = c
    if returns and seq:
        total += float(km[prev, 0])
    return total


def _insert(seq: list[int], c: int, km: NDArray[np.float64], returns: bool) -> list[int]:
    """``seq`` with ``c`` where it adds the fewest km (cheapest insertion)."""
    best, best_pos = math.inf, len(seq)
    stops = [0, *seq]
    for pos in range(len(seq) + 1):
        a = stops[pos]
        if pos < len(seq):
            b = seq[pos]
            added = km[a, c] + km[c, b] - km[a, b]
        else:
            added = km[a, c] + (km[c, 0] - km[a, 0] if returns else 0.0)
        if added < best - 1e-12:
            best, best_pos = float(added), pos
    return [*seq[:best_pos], c, *seq[best_pos:]]


def _two_opt(seq: list[int], km: NDArray[np.float64], returns: bool) -> list[int]:
    """``seq`` shortened by reversing stretches while that helps (2-opt; symmetric ``km``)."""
    s = [0, *seq, *([0] if returns else [])]
    n = len(seq)
    for _pass in range(100):
        improved = False
        for i in range(1, n):
            for j in range(i + 1, n + 1):
                nxt = s[j + 1] if j + 1 < len(s) else None
                before = km[s[i - 1], s[i]] + (km[s[j], nxt] if nxt is not None else 0.0)
                after = km[s[i - 1], s[j]] + (km[s[i], nxt] if nxt is not None else 0.0)
                if after < before - 1e-9:
                    s[i : j + 1] = s[i : j + 1][::-1]
                    improved = True
        if not improved:
            break
    return s[1 : n + 1]


def order_visits(
    km: NDArray[np.float64],
    priorities: Sequence[float],
    max_km: float,
    *,
    returns: bool = True,
    keys: Sequence[int] | None = None,
) -> tuple[list[int], list[int]]:
    """Which candidates to visit, in order, within ``max_km``; and those left out.

    ``km`` is the (symmetric) matrix of leg lengths between the start (index 0)
    and the candidates (index ``k + 1`` for candidate ``k``). Candidates are
    taken by priority, highest first (ties by ``keys``, default their index);
    each goes where it adds the fewest km, the round is improved with 2-opt,
    and it stays only if the round (back to the start when ``returns``) is
    within ``max_km``. A round is as long either way; it goes the way that
    reaches high priorities first. Returns candidate indices: the visiting
    order, and the skipped ones by priority.

    >>> km = np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]], float)
    >>> order_visits(km, [10, 90], 12), order_visits(km, [10, 90], 10)
    (([1, 0], []), ([1], [0]))
    """
    n = len(priorities)
    ids = list(keys) if keys is not None else list(range(n))
    rank = sorted(range(n), key=lambda k: (-float(priorities[k]), ids[k]))
    seq: list[int] = []
    skipped: list[int] = []
    for k in rank:
        trial = _two_opt(_insert(seq, k + 1, km, returns), km, returns)
        if _round_km(trial, km, returns) <= max_km:
            seq = trial
        else:
            skipped.append(k)
    order = [c - 1 for c in seq]
    if returns and order:
        # a round is as long either way: go the way that reaches high priorities first
        def lateness(o: list[int]) -> float:
            return sum(pos * float(priorities[k]) for pos, k in enumerate(o))

        if lateness(order[::-1]) < lateness(order):
            order.reverse()
    return order, skipped


@dataclass(frozen=True)
class PatrolCandidate:
    """An open case a patrol may visit: its id, position (metric), priority, care reasons
    and, when known, its lon/lat (else the plan's ``to_lonlat`` gives them)."""

    case_id: int
    xy: tuple[float, float]
    priority: float
    care: tuple[CareReason, ...] = ()
    lonlat: tuple[float, float] | None = None


def plan_visits(
    *,
    territory_id: int,
    territory_name: str,
    start: tuple[float, float],
    candidates: Sequence[PatrolCandidate],
    max_km: float = DEFAULT_MAX_KM,
    lines: Sequence[NetworkLine] = (),
    params: RouteParams | None = None,
    returns: bool = True,
    start_name: str | None = None,
    start_kind: str = "given",
    start_lonlat: tuple[float, float] | None = None,
    to_lonlat: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None,
    created_at: datetime | None = None,
) -> PatrolPlan:
    """The patrol of one territory's ``candidates`` from ``start`` within ``max_km`` (metric).

    See the module docstring for the rules. ``lines`` are the rivers, roads and
    trails (metric, see :class:`TravelLegs`); ``to_lonlat`` turns metric
    coordinates (an ``(n, 2)`` array) into lon/lat for the plan (default: kept
    as they are). The plan's ``total_km`` never exceeds ``max_km`` and its
    stops' ``cumulative_km`` never decrease.
    """
    if not max_km > 0:
        raise ValueError("max_km must be > 0")
    conv = to_lonlat or (lambda xy: xy)
    p = params or RouteParams()
    origin = np.asarray(start, np.float64).reshape(2)
    # a path is never shorter than the straight line: a case farther than this never fits
    reach_m = max_km * 1000.0 / (2.0 if returns else 1.0)
    near = [c for c in candidates if math.dist(c.xy, origin) <= reach_m]
    far = [c for c in candidates if math.dist(c.xy, origin) > reach_m]
    legs = TravelLegs([(float(origin[0]), float(origin[1])), *(c.xy for c in near)], lines, p)
    order, left = order_visits(legs.km, [c.priority for c in near], max_km, returns=returns,
                               keys=[c.case_id for c in near])
    skipped = sorted([near[k] for k in left] + far, key=lambda c: (-c.priority, c.case_id))

    seq = [0] + [k + 1 for k in order]
    stops: list[PatrolStop] = []
    pieces: list[NDArray[np.float64]] = []
    cumulative = 0.0
    hours = 0.0
    for pos, k in enumerate(order, start=1):
        leg = legs.leg(seq[pos - 1], seq[pos])
        cumulative += leg.km
        hours += leg.hours
        pieces.append(leg.coords)
        c = near[k]
        lon, lat = c.lonlat if c.lonlat is not None else (
            float(v) for v in np.asarray(conv(np.asarray([c.xy], np.float64)))[0])
        stops.append(PatrolStop(
            order=pos, case_id=c.case_id, lon=float(lon), lat=float(lat),
            priority=float(c.priority), leg_km=leg.km, leg_hours=leg.hours,
            cumulative_km=cumulative, leg_modes=leg.modes, care=c.care,
        ))
    back = legs.leg(seq[-1], 0) if returns and order else None
    total_km = cumulative + (back.km if back is not None else 0.0)
    total_hours = hours + (back.hours if back is not None else 0.0)
    if back is not None:
        pieces.append(back.coords)
    route = None
    if pieces:
        coords = np.vstack([pieces[0]] + [piece[1:] for piece in pieces[1:]])
        ll = np.asarray(conv(coords), np.float64).reshape(-1, 2)
        if len(np.unique(ll, axis=0)) >= 2:
            route = LineString(ll)
    start_ll = start_lonlat if start_lonlat is not None else tuple(
        float(v) for v in np.asarray(conv(origin.reshape(1, 2)))[0])
    return PatrolPlan(
        territory_id=int(territory_id),
        territory_name=territory_name,
        start=(float(start_ll[0]), float(start_ll[1])),
        start_name=start_name,
        start_kind=start_kind,
        stops=tuple(stops),
        route=route,
        total_km=total_km,
        total_hours=total_hours,
        max_km=float(max_km),
        created_at=created_at or datetime.now(UTC),
        returns=returns,
        skipped=tuple(c.case_id for c in skipped),
        return_km=back.km if back is not None else 0.0,
        return_hours=back.hours if back is not None else 0.0,
        return_modes=back.modes if back is not None else (),
    )
