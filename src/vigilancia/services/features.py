"""The feature table of stored clearings: every name of :data:`~vigilancia.domain.drivers.FEATURES`.

:func:`clearing_features` reads the clearings (of some batches, some ids, or
all), the context layers and the territories of a workspace, measures in a
local equal-area frame (metres) and returns one float64 column per feature.
Definitions (units in the names: m, ha, deg, days):

- shape, from the stored columns: ``area_ha``, ``perimeter_m``, ``length_m``,
  ``width_m``, ``elongation``, ``compactness``, ``orientation_deg``, and
  ``rectangularity`` = area / (length x width) (NaN when undefined);
- ``dist_<kind>_m`` for river, road, trail, settlement, airstrip and border:
  distance from the clearing's polygon to the nearest feature of that kind in
  the imported context layers (0 when it touches one or lies inside a
  polygon feature); ``dist_protected_area_m``: the same to the territories of
  kind protected_area. A vector alert known only by a box is measured from
  its point. NaN when the workspace has no layer of that kind, and where the
  clearing (its centroid) lies outside the coverage of the layers of that kind
  (:func:`~vigilancia.services.layers.layer_coverage`): a layer says nothing
  about where it was not mapped, so a missing road there is unknown, not far;
- ``clearings_1km``/``_2km``/``_5km``: number of OTHER stored clearings (any
  batch) whose centroid lies within 1, 2 or 5 km of this clearing's centroid;
  ``cleared_ha_1km``: their summed area (ha);
- ``inside_territory``: 1 when the clearing overlaps a community or reserve
  territory (stored placement), else 0; NaN when the workspace has no
  community or reserve; ``boundary_distance_m``: the stored distance to the
  nearest community or reserve boundary;
- ``span_days``: last minus first alert date; ``recleared``: 1 when an earlier
  stored clearing (its last alert before this one's first alert; by batch
  order when a date is unknown) shares area with this clearing, else 0.

:func:`iter_feature_parts` gives more per part: which clearings lie outside
each layer's coverage (``uncovered``), and on request the runway candidates
among the clearings and their neighbours, with a feature table of their own
(:class:`RunwayPart`): the candidate's shape as a whole
(:func:`~vigilancia.domain.airstrips.candidate_features`), its distances
measured from its member clearings (the nearest member), NaN where its centre
(the area-weighted centroid of its members) lies outside a layer's coverage,
its density around that centre (members are not counted as neighbours),
``recleared`` and ``inside_territory`` when any member is, and the nearest
member's ``boundary_distance_m``.

>>> ids, table = clearing_features(store, batch_ids=[3])  # doctest: +SKIP
>>> table["dist_river_m"][:3]  # doctest: +SKIP
array([ 612.4, 1830.0, nan])
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import shapely
from numpy.typing import NDArray

from vigilancia.domain.airstrips import RunwayCandidate, candidate_features, runway_candidates
from vigilancia.domain.context import ContextKind, LayerCoverage
from vigilancia.domain.drivers import empty_features
from vigilancia.domain.features import (
    NearestIndex,
    Neighbours,
    earlier_overlaps,
    rectangularity,
    span_days,
)
from vigilancia.domain.territories import TerritoryKind
from vigilancia.io.crs import (
    WGS84,
    centre_of,
    local_equal_area,
    transform_geometries,
    transformer,
)
from vigilancia.io.store.clearings import ClearingRepository
from vigilancia.io.store.context import ContextRepository
from vigilancia.io.store.territories import TerritoryRepository
from vigilancia.progress import Progress
from vigilancia.services.layers import layer_coverage

__all__ = [
    "CONTEXT_DISTANCES",
    "DENSITY_RADII_M",
    "FeaturePart",
    "FeatureStore",
    "RunwayPart",
    "clearing_features",
    "iter_clearing_features",
    "iter_feature_parts",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Distance features measured to the imported context layers, by kind.
CONTEXT_DISTANCES: dict[str, ContextKind] = {
    "dist_river_m": ContextKind.RIVER,
    "dist_road_m": ContextKind.ROAD,
    "dist_trail_m": ContextKind.TRAIL,
    "dist_settlement_m": ContextKind.SETTLEMENT,
    "dist_airstrip_m": ContextKind.AIRSTRIP,
    "dist_border_m": ContextKind.BORDER,
}
#: Density features: other clearings whose centroid is within the radius (m).
DENSITY_RADII_M: dict[str, float] = {
    "clearings_1km": 1000.0,
    "clearings_2km": 2000.0,
    "clearings_5km": 5000.0,
}
#: Radius (m) of ``cleared_ha_1km``.
CLEARED_HA_RADIUS_M = 1000.0
#: Territory kinds that make a clearing ``inside_territory``.
INSIDE_KINDS = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE)
#: Shape features copied from the stored clearings.
SHAPE_COLUMNS = (
    "area_ha",
    "perimeter_m",
    "length_m",
    "width_m",
    "elongation",
    "compactness",
    "orientation_deg",
)
#: Clearings spread over more than this (degrees of longitude or latitude) are
#: measured in several local frames, one per cell of this size, so that lengths
#: stay within 0.1% (a local Lambert equal-area frame is that good to ~5 degrees).
FRAME_CELL_DEG = 6.0
#: Clearings measured at once by :func:`iter_clearing_features` (with their
#: neighbours, a part of 50,000 raster clearings holds about 150 MB).
PART_SIZE = 50_000
_METRES_PER_DEGREE = 111_320.0


class FeatureStore(Protocol):
    """What the feature table needs from a workspace store (:class:`WorkspaceStore`)."""

    clearings: ClearingRepository
    territories: TerritoryRepository
    context: ContextRepository


def clearing_features(
    store: FeatureStore,
    *,
    clearing_ids: Sequence[int] | IntArray | None = None,
    batch_ids: Sequence[int] | None = None,
    conn: Any = None,
) -> tuple[IntArray, dict[str, FloatArray]]:
    """Feature table of stored clearings: ``(ids, {feature name: float64 column})``.

    Without ``clearing_ids`` and ``batch_ids`` every stored clearing is
    measured; with them, those clearings (both filters combine). ``ids`` are
    ascending; row ``i`` of every column belongs to clearing ``ids[i]``.
    Density and re-clearing look at every stored clearing nearby, of any batch.
    Missing layers give NaN columns, never an error. ``conn`` reads inside a
    running transaction (to see its uncommitted clearings). The whole table is
    held at once: for a large selection use :func:`iter_clearing_features`.
    """
    parts = list(iter_clearing_features(store, clearing_ids=clearing_ids, batch_ids=batch_ids,
                                        conn=conn))
    if not parts:
        return np.empty(0, np.int64), empty_features(0)
    ids = np.concatenate([p[0] for p in parts])
    order = np.argsort(ids, kind="stable")
    table = {name: np.concatenate([p[1][name] for p in parts])[order] for name in parts[0][1]}
    return ids[order], table


#: The stage of :func:`iter_clearing_features`'s progress.
FEATURES_STAGE = "Measuring clearings"


def iter_clearing_features(
    store: FeatureStore,
    *,
    clearing_ids: Sequence[int] | IntArray | None = None,
    batch_ids: Sequence[int] | None = None,
    conn: Any = None,
    part_size: int | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[IntArray, dict[str, FloatArray]]]:
    """The feature table of :func:`clearing_features`, one part at a time.

    The selection is split into bands of latitude of at most ``part_size``
    (default :data:`PART_SIZE`) clearings; each part is read with its
    neighbours (the clearings within the largest density radius), measured and
    yielded as ``(ids, table)`` (ids ascending within the part), so memory
    stays bounded whatever the number of clearings. The values are those of
    the whole table (summed areas to the last bit of rounding).
    ``progress("Measuring clearings", done, total)`` is called once a part has
    been used (when the next one is asked for).
    """
    for part in iter_feature_parts(store, clearing_ids=clearing_ids, batch_ids=batch_ids,
                                   conn=conn, part_size=part_size, progress=progress):
        yield part.ids, part.table


@dataclass(frozen=True)
class RunwayPart:
    """Runway candidates that hold at least one clearing of a part, with their features.

    ``candidates`` (centre-lines in ``crs``, a local metric frame), ``table``:
    one row per candidate (:data:`~vigilancia.domain.drivers.FEATURES` and
    ``branches``; see the module docstring), ``uncovered``: as in
    :class:`FeaturePart`, for the candidates.
    """

    candidates: list[RunwayCandidate]
    table: dict[str, FloatArray]
    uncovered: dict[str, NDArray[np.bool_]]
    crs: Any


@dataclass(frozen=True)
class FeaturePart:
    """One part of :func:`iter_feature_parts`: the clearings ``ids`` and their ``table``.

    ``uncovered`` maps each kind of context layer the workspace has (river,
    road...) to whether each clearing lies outside that kind's coverage (its
    distance to that kind is then NaN). ``runways``: the runway candidates
    among the part's clearings and their neighbours (when asked for).
    """

    ids: IntArray
    table: dict[str, FloatArray]
    uncovered: dict[str, NDArray[np.bool_]] = field(default_factory=dict)
    runways: RunwayPart | None = None


def iter_feature_parts(
    store: FeatureStore,
    *,
    clearing_ids: Sequence[int] | IntArray | None = None,
    batch_ids: Sequence[int] | None = None,
    conn: Any = None,
    part_size: int | None = None,
    progress: Progress | None = None,
    runways: bool = False,
    clearings: bool = True,
) -> Iterator[FeaturePart]:
    """The parts of :func:`iter_clearing_features`, with what lies outside each layer's
    coverage and, with ``runways``, the runway candidates of each part (see
    :class:`FeaturePart`). Candidates are looked for among the part's clearings and
    every stored clearing within 5 km of them (any batch); one belongs to the part
    when one of its members is the part's. Clearings known only by a box (vector
    alerts without a polygon) are never part of one. Without ``clearings`` the
    clearings themselves are not measured (``table`` and ``uncovered`` are empty):
    for the runway candidates alone.
    """
    where = store.clearings.positions(clearing_ids=clearing_ids, batch_ids=batch_ids, conn=conn)
    ids, lon, lat, bounds = where.id, where.lon, where.lat, where.bounds
    if len(ids) == 0:
        return
    kinds = store.territories.count_by_kind(conn=conn)
    inside: IntArray | None = None
    if any(kinds.get(k, 0) for k in INSIDE_KINDS):
        # (runway candidates may hold clearings of other batches)
        inside = store.clearings.overlapping(
            INSIDE_KINDS, batch_ids=None if runways else batch_ids, conn=conn)

    context = store.context.features(kinds=CONTEXT_DISTANCES.values(), conn=conn)
    coverage = layer_coverage(store, context, conn=conn)
    layers = {name: context.of_kind(kind).geometry for name, kind in CONTEXT_DISTANCES.items()}
    if kinds.get(TerritoryKind.PROTECTED_AREA, 0):
        protected = store.territories.list([TerritoryKind.PROTECTED_AREA], conn=conn)
        geoms = np.empty(len(protected), dtype=object)
        geoms[:] = [t.geometry for t in protected]
        layers["dist_protected_area_m"] = geoms
    layers = {name: geoms for name, geoms in layers.items() if len(geoms)}

    done = 0
    for members in _frame_groups(lon, lat):
        crs = local_equal_area(*centre_of(_bounds(lon[members], lat[members])))
        indexes = {name: NearestIndex(transform_geometries(geoms, WGS84, crs))
                   for name, geoms in layers.items()}
        measure = _Measure(crs, inside, indexes, coverage)
        by_lat = members[np.argsort(lat[members], kind="stable")]
        size = max(1, part_size or PART_SIZE)
        for start in range(0, len(by_lat), size):
            part = by_lat[start : start + size]
            # the part and every stored clearing that can be a neighbour or overlap one
            near = store.clearings.columns(
                bounds=_reach(bounds[part], max(DENSITY_RADII_M.values())), conn=conn
            )
            sel = near.take(np.isin(near.id, ids[part]))
            around = measure.around(near)
            table, uncovered = measure.clearings(sel, near, around) if clearings else ({}, {})
            found = measure.runways(sel, near, around) if runways else None
            yield FeaturePart(sel.id, table, uncovered, found)
            done += len(part)
            if progress is not None:
                progress(FEATURES_STAGE, done, len(ids))


@dataclass(frozen=True)
class _Around:
    """The neighbours of a part: ``near``'s centroids (lon/lat, and x/y in the frame) and
    their density index."""

    lon: FloatArray
    lat: FloatArray
    xy: FloatArray
    neighbours: Neighbours


class _Measure:
    """Measures clearings and runway candidates in one frame ``crs``: distances to the
    ``indexes`` (NaN outside the ``coverage`` of their kind), density, re-clearing and
    position relative to territories."""

    def __init__(self, crs: Any, inside: IntArray | None, indexes: dict[str, NearestIndex],
                 coverage: LayerCoverage) -> None:
        self.crs = crs
        self.inside = inside
        self.indexes = indexes
        self.coverage = coverage

    def distances(self, shapes: NDArray[np.object_], lon: FloatArray, lat: FloatArray,
                  table: dict[str, FloatArray]) -> dict[str, NDArray[np.bool_]]:
        """Fill ``table``'s distance columns for ``shapes`` (lon/lat) whose centroids are
        (``lon``, ``lat``), NaN outside each kind's coverage; returns which lie outside."""
        uncovered = {kind.value: self.coverage.outside(kind, lon, lat)
                     for kind in CONTEXT_DISTANCES.values() if kind.value in self.coverage.areas}
        if not self.indexes:
            return uncovered
        shapes_m = transform_geometries(shapes, WGS84, self.crs)
        for name, index in self.indexes.items():
            dist = index.distance(shapes_m)[0]
            kind = CONTEXT_DISTANCES.get(name)
            if kind is not None and kind.value in uncovered:
                dist[uncovered[kind.value]] = np.nan
            table[name] = dist
        return uncovered

    def around(self, near: Any) -> _Around:
        """The stored clearings ``near`` a part as neighbours: centroids and density index."""
        near_lon, near_lat = _centroids(near)
        near_xy = _project_xy(near_lon, near_lat, self.crs)
        return _Around(near_lon, near_lat, near_xy,
                       Neighbours(near_xy, weights=near.area_ha, workers=-1))

    def clearings(self, sel: Any, near: Any, around: _Around) -> tuple[
            dict[str, FloatArray], dict[str, NDArray[np.bool_]]]:
        """The feature table of the clearings ``sel``, measured among ``near`` (the stored
        clearings around them, ``sel`` included), and which lie outside each layer's
        coverage."""
        table = empty_features(len(sel))
        for name in SHAPE_COLUMNS:
            table[name] = np.asarray(getattr(sel, name), np.float64).copy()
        table["rectangularity"] = rectangularity(sel.area_ha, sel.length_m, sel.width_m)
        table["span_days"] = span_days(sel.first_date, sel.last_date)
        table["boundary_distance_m"] = np.asarray(sel.boundary_distance_m, np.float64).copy()
        if self.inside is not None:
            table["inside_territory"] = np.isin(sel.id, self.inside).astype(np.float64)

        lon, lat = _centroids(sel)
        # where each clearing is among its neighbours (near holds every selected clearing)
        position = np.minimum(np.searchsorted(near.id, sel.id), len(near) - 1)
        self_index = np.where(near.id[position] == sel.id, position, -1)

        table["recleared"] = earlier_overlaps(
            sel.geometry,
            sel.id,
            sel.first_date,
            sel.batch_id,
            near.geometry,
            near.id,
            near.last_date,
            near.batch_id,
        )

        # density: the neighbours within each radius
        query_xy = _project_xy(lon, lat, self.crs)
        for name, radius in DENSITY_RADII_M.items():
            table[name] = around.neighbours.count(query_xy, radius, self_index=self_index)
        table["cleared_ha_1km"] = around.neighbours.weight(query_xy, CLEARED_HA_RADIUS_M,
                                                           self_index=self_index)

        # distances to context layers and protected areas
        uncovered = self.distances(_measured_shapes(sel, lon, lat), lon, lat, table)
        return table, uncovered

    def runways(self, sel: Any, near: Any, around: _Around) -> RunwayPart:
        """The runway candidates among ``near`` that hold a clearing of ``sel``, measured
        (see the module docstring)."""
        pool = np.flatnonzero(~_box_only(near, around.lon))
        geoms_m = transform_geometries(near.geometry[pool], WGS84, self.crs)
        found = runway_candidates(geoms_m, near.id[pool], near.first_date[pool],
                                  near.last_date[pool])
        ours = set(sel.id.tolist())
        cands = [c for c in found if any(m in ours for m in c.members)]
        table = candidate_features(cands)
        if not cands:
            return RunwayPart(cands, table, {}, self.crs)
        owner = np.concatenate([np.full(len(c.members), k) for k, c in enumerate(cands)])
        pos = np.searchsorted(near.id, np.concatenate([c.members for c in cands]))
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        area = np.nan_to_num(np.asarray(near.area_ha, np.float64)[pos], nan=0.0)
        weight = np.where(area > 0, area, 1e-9)
        total = np.add.reduceat(weight, starts)

        def mean(values: FloatArray) -> FloatArray:
            return np.asarray(np.add.reduceat(values * weight, starts) / total, np.float64)

        def nearest(values: FloatArray) -> FloatArray:  # the nearest member's (NaN: unknown)
            least = np.minimum.reduceat(np.where(np.isnan(values), np.inf, values), starts)
            return np.asarray(np.where(np.isinf(least), np.nan, least), np.float64)

        lon, lat = mean(around.lon[pos]), mean(around.lat[pos])
        centre_xy = np.column_stack([mean(around.xy[pos, 0]), mean(around.xy[pos, 1])])

        # distances from the members (where the candidate's centre is covered)
        members: dict[str, FloatArray] = {}
        self.distances(near.geometry[pos], lon[owner], lat[owner], members)
        for name, values in members.items():
            table[name] = nearest(values)
        uncovered = {kind: self.coverage.outside(kind, lon, lat) for kind in self.coverage.areas}

        # density around the candidate's centre, its own members left out
        gap = np.hypot(*(around.xy[pos] - centre_xy[owner]).T)
        for name, radius in DENSITY_RADII_M.items():
            own = np.add.reduceat((gap <= radius).astype(np.float64), starts)
            table[name] = around.neighbours.count(centre_xy, radius) - own
        own_ha = np.add.reduceat(np.where(gap <= CLEARED_HA_RADIUS_M, area, 0.0), starts)
        table["cleared_ha_1km"] = around.neighbours.weight(centre_xy, CLEARED_HA_RADIUS_M) - own_ha

        table["recleared"] = np.maximum.reduceat(earlier_overlaps(
            near.geometry[pos], near.id[pos], near.first_date[pos], near.batch_id[pos],
            near.geometry, near.id, near.last_date, near.batch_id), starts)
        table["boundary_distance_m"] = nearest(
            np.asarray(near.boundary_distance_m, np.float64)[pos])
        if self.inside is not None:
            table["inside_territory"] = np.maximum.reduceat(
                np.isin(near.id[pos], self.inside).astype(np.float64), starts)
        return RunwayPart(cands, table, uncovered, self.crs)


def _box_only(cols: Any, lon: FloatArray) -> NDArray[np.bool_]:
    """Vector alerts known only by a bounding box: no perimeter and no pixels."""
    return np.asarray(np.isnan(cols.perimeter_m) & (cols.pixel_count == 0) & np.isfinite(lon))


def _centroids(cols: Any) -> tuple[FloatArray, FloatArray]:
    """Stored centroids (lon, lat); the geometry's centroid where none was stored."""
    lon = np.asarray(cols.centroid_lon, np.float64).copy()
    lat = np.asarray(cols.centroid_lat, np.float64).copy()
    missing = ~(np.isfinite(lon) & np.isfinite(lat))
    if missing.any():
        centre = shapely.centroid(cols.geometry[missing])
        lon[missing] = shapely.get_x(centre)
        lat[missing] = shapely.get_y(centre)
    return lon, lat


def _measured_shapes(cols: Any, lon: FloatArray, lat: FloatArray) -> NDArray[np.object_]:
    """Geometries to measure distances from: the polygon, or the point of a box-only alert.

    A vector alert known only by its bounding box has no perimeter and no
    pixels (as :func:`~vigilancia.services.vector_alerts.place_clearings` reads it).
    """
    shapes = np.asarray(cols.geometry, dtype=object).copy()
    box_only = _box_only(cols, lon)
    if box_only.any():
        shapes[box_only] = shapely.points(lon[box_only], lat[box_only])
    return shapes


def _bounds(lon: FloatArray, lat: FloatArray) -> tuple[float, float, float, float]:
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return (0.0, 0.0, 0.0, 0.0)
    return (float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()), float(lat[ok].max()))


def _reach(bounds: NDArray[np.float64], radius_m: float) -> tuple[float, float, float, float]:
    """The lon/lat box around ``bounds`` (n, 4) that holds every point within ``radius_m``."""
    b = np.asarray(bounds, np.float64).reshape(-1, 4)
    b = b[np.isfinite(b).all(axis=1)]
    if len(b) == 0:
        return (0.0, 0.0, 0.0, 0.0)
    minx, miny = float(b[:, 0].min()), float(b[:, 1].min())
    maxx, maxy = float(b[:, 2].max()), float(b[:, 3].max())
    # 10% margin over the spherical degree length covers the ellipsoid and the frame
    dlat = 1.1 * radius_m / _METRES_PER_DEGREE
    widest = min(max(abs(miny), abs(maxy)) + dlat, 89.0)
    dlon = dlat / math.cos(math.radians(widest))
    return (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)


def _frame_groups(lon: FloatArray, lat: FloatArray) -> Iterator[IntArray]:
    """Positions of the clearings measured in one frame: all, or one group per cell."""
    west, south, east, north = _bounds(lon, lat)
    if max(east - west, north - south) <= FRAME_CELL_DEG:
        yield np.arange(len(lon))
        return
    cx = np.floor(np.nan_to_num(lon) / FRAME_CELL_DEG).astype(np.int64)
    cy = np.floor(np.nan_to_num(lat) / FRAME_CELL_DEG).astype(np.int64)
    cells, group = np.unique(np.column_stack([cx, cy]), axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    splits = np.cumsum(np.bincount(group, minlength=len(cells)))[:-1]
    yield from np.split(order, splits)


def _project_xy(lon: FloatArray, lat: FloatArray, crs: Any) -> FloatArray:
    """(n, 2) metric coordinates of lon/lat points in ``crs`` (NaN stays NaN)."""
    if len(lon) == 0:
        return np.empty((0, 2), np.float64)
    x, y = transformer(WGS84, crs).transform(lon, lat)
    return np.column_stack([x, y]).astype(np.float64)
