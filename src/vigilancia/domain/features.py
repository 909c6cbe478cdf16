"""Per-clearing driver features: the pure computations behind ``drivers.FEATURES``.

PURE: numpy, shapely and scipy. Every geometry and coordinate given to one call
is in ONE metric frame (metres; the services use a local Lambert azimuthal
equal-area frame), except :func:`earlier_overlaps`, which only tests topology
and takes geometries in any one frame (lon/lat included).

- :class:`NearestIndex`: distance (m) from clearings to the nearest feature of a
  set of points, lines and polygons (0 when a clearing touches a feature or lies
  inside a polygon);
- :class:`Neighbours`: other clearings whose centroid lies within a radius, their
  number and their summed area (:mod:`scipy.spatial` k-d tree);
- :func:`rectangularity`, :func:`span_days`: shape and time from stored columns;
- :func:`earlier_overlaps`: whether an earlier clearing already covered part of
  the same place (re-clearing).

>>> import numpy as np, shapely
>>> river = NearestIndex(np.array([shapely.LineString([(0, 0), (0, 5000)])]))
>>> dist, which = river.distance(np.array([shapely.box(600, 100, 900, 130)]))
>>> float(dist[0]), int(which[0])
(600.0, 0)
>>> round(float(rectangularity(np.array([2.4]), np.array([800.0]), np.array([30.0]))[0]), 3)
1.0
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from vigilancia.domain.placement import cut_lines

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
GeomArray = NDArray[np.object_]

#: Lines and polygon boundaries are cut into pieces of at most this many segments
#: before indexing, so that a nearest query measures a few short lines instead of a
#: river or a boundary with thousands of vertices (2 measured fastest on the IGN
#: rivers and MTC roads of Pasco: about 30% faster than 8).
PIECE_SEGMENTS = 2

__all__ = [
    "PIECE_SEGMENTS",
    "NearestIndex",
    "Neighbours",
    "earlier_overlaps",
    "rectangularity",
    "span_days",
]

_POINT, _LINESTRING, _LINEARRING, _POLYGON = 0, 1, 2, 3
_MULTI = (4, 5, 6, 7)  # MultiPoint, MultiLineString, MultiPolygon, GeometryCollection


def _geoms(values: ArrayLike) -> GeomArray:
    return np.asarray(values, dtype=object).reshape(-1)


def rectangularity(area_ha: ArrayLike, length_m: ArrayLike, width_m: ArrayLike) -> FloatArray:
    """Area over the area of the minimum rotated rectangle: ``area / (length * width)``.

    1 for a clean strip or block, lower for ragged or L-shaped clearings; NaN
    where the rectangle is unknown or has no area.

    >>> rectangularity([1.0, 1.0, 1.0], [100.0, 200.0, np.nan], [100.0, 0.0, 5.0]).tolist()
    [1.0, nan, nan]
    """
    area_m2 = np.asarray(area_ha, np.float64) * 10_000.0
    box_m2 = np.asarray(length_m, np.float64) * np.asarray(width_m, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(box_m2 > 0, area_m2 / box_m2, np.nan).astype(np.float64)


def span_days(first_date: ArrayLike, last_date: ArrayLike) -> FloatArray:
    """Days from the first to the last alert of each clearing (NaN when a date is unknown).

    >>> span_days(np.array(["2024-03-01", "NaT"], "datetime64[D]"),
    ...           np.array(["2024-04-15", "2024-04-15"], "datetime64[D]")).tolist()
    [45.0, nan]
    """
    first = np.asarray(first_date).astype("datetime64[D]")
    last = np.asarray(last_date).astype("datetime64[D]")
    out = (last - first).astype(np.float64)
    out[np.isnat(first) | np.isnat(last)] = np.nan
    return out


def _flat_parts(geoms: GeomArray, owner: IntArray) -> tuple[GeomArray, IntArray]:
    """Single parts (points, lines, rings, polygons) of ``geoms``, collections flattened."""
    parts, owner = geoms, owner
    while len(parts):
        multi = np.isin(shapely.get_type_id(parts), _MULTI)
        if not multi.any():
            break
        inner, at = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], np.asarray(inner, dtype=object)])
        owner = np.concatenate([owner[~multi], owner[multi][at]])
    keep = ~shapely.is_empty(parts)
    return np.asarray(parts[keep], dtype=object), np.asarray(owner[keep], np.int64)


class NearestIndex:
    """Points, lines and polygons (one metric frame) indexed for nearest-distance queries.

    Lines and polygon boundaries are cut into pieces of at most
    ``max_segments`` segments and kept in a shapely STRtree; polygons are kept
    as well, so that a clearing inside one is at distance 0. Missing and empty
    geometries are ignored.

    >>> import numpy as np, shapely
    >>> index = NearestIndex(np.array([shapely.Point(0, 0), shapely.box(5000, 0, 6000, 1000)]))
    >>> d, i = index.distance(np.array([shapely.Point(300, 400), shapely.Point(5500, 500)]))
    >>> d.tolist(), i.tolist()
    ([500.0, 0.0], [0, 1])
    """

    def __init__(self, geoms_m: ArrayLike, *, max_segments: int = PIECE_SEGMENTS) -> None:
        if max_segments < 1:
            raise ValueError("max_segments must be at least 1")
        geoms = _geoms(geoms_m)
        self.size = len(geoms)
        present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        parts, owner = _flat_parts(geoms[present], present.astype(np.int64))
        kind = shapely.get_type_id(parts)
        polygon = kind == _POLYGON
        self.polygons = np.asarray(parts[polygon], dtype=object)
        self.polygon_owner = owner[polygon]
        rings, ring_at = shapely.get_parts(
            shapely.boundary(self.polygons) if polygon.any() else np.empty(0, dtype=object),
            return_index=True,
        )
        line = (kind == _LINESTRING) | (kind == _LINEARRING)
        lines = np.concatenate([parts[line], np.asarray(rings, dtype=object)])
        line_owner = np.concatenate([owner[line], self.polygon_owner[ring_at]])
        pieces, piece_owner = cut_lines(lines, line_owner, max_segments)
        point = kind == _POINT
        self.pieces = np.concatenate([np.asarray(parts[point], dtype=object), pieces])
        self.piece_owner = np.concatenate([owner[point], piece_owner]).astype(np.int64)
        self._tree = shapely.STRtree(self.pieces) if len(self.pieces) else None
        self._polygon_tree = shapely.STRtree(self.polygons) if len(self.polygons) else None
        if len(self.polygons):
            shapely.prepare(self.polygons)

    def __len__(self) -> int:
        """Number of features indexed (including missing ones, which never match)."""
        return self.size

    @property
    def empty(self) -> bool:
        """True when no feature has a geometry: every distance is NaN."""
        return self._tree is None

    def distance(self, geoms_m: ArrayLike) -> tuple[FloatArray, IntArray]:
        """Distance (m) from each geometry to the nearest feature, and that feature's position.

        0 where a geometry touches or crosses a feature or lies inside a
        polygon. (NaN, -1) for missing or empty geometries and when the index
        is empty. Of two features at the same distance either may be named.
        """
        src = _geoms(geoms_m)
        n = len(src)
        dist = np.full(n, np.nan)
        which = np.full(n, -1, np.int64)
        if n == 0 or self._tree is None:
            return dist, which
        ok = np.flatnonzero(~(shapely.is_missing(src) | shapely.is_empty(src)))
        if len(ok) == 0:
            return dist, which
        (qi, ti), d = self._tree.query_nearest(src[ok], return_distance=True, all_matches=False)
        dist[ok[qi]] = d
        which[ok[qi]] = self.piece_owner[ti]
        if self._polygon_tree is not None:
            # inside a polygon without touching its boundary
            rest = ok[dist[ok] > 0]
            if len(rest):
                ri, pj = self._polygon_tree.query(src[rest])
                hit = shapely.intersects(self.polygons[pj], src[rest[ri]])
                inside = rest[ri[hit]]
                dist[inside] = 0.0
                which[inside] = self.polygon_owner[pj[hit]]
        return dist, which


class Neighbours:
    """Points (one metric frame) with weights, for "how many within r metres" queries.

    Points with a non-finite coordinate are left out. ``workers``: threads for
    the counts (-1: every core), as in :meth:`scipy.spatial.cKDTree.query_ball_point`.

    >>> import numpy as np
    >>> pts = np.array([[0.0, 0.0], [800.0, 0.0], [0.0, 3000.0]])
    >>> near = Neighbours(pts, weights=np.array([1.0, 2.0, 4.0]))
    >>> near.count(pts, 1000.0, self_index=np.arange(3)).tolist()
    [1.0, 1.0, 0.0]
    >>> near.weight(pts, 1000.0, self_index=np.arange(3)).tolist()
    [2.0, 1.0, 0.0]
    """

    def __init__(
        self, points_xy: ArrayLike, weights: ArrayLike | None = None, *, workers: int = 1
    ) -> None:
        self.workers = workers
        xy = np.asarray(points_xy, np.float64).reshape(-1, 2)
        self.size = len(xy)
        w = np.ones(self.size) if weights is None else np.asarray(weights, np.float64).reshape(-1)
        if len(w) != self.size:
            raise ValueError(f"{len(w)} weights for {self.size} points")
        self._finite = np.flatnonzero(np.isfinite(xy).all(axis=1))
        self._weights = np.nan_to_num(w[self._finite], nan=0.0)
        self._tree = cKDTree(xy[self._finite]) if len(self._finite) else None

    def __len__(self) -> int:
        return self.size

    def _query(
        self, query_xy: ArrayLike, self_index: ArrayLike | None
    ) -> tuple[FloatArray, IntArray, IntArray]:
        """Query points, positions of the finite ones, each query's own indexed point (or -1)."""
        q = np.asarray(query_xy, np.float64).reshape(-1, 2)
        ok = np.flatnonzero(np.isfinite(q).all(axis=1))
        if self_index is None:
            return q, ok, np.full(len(q), -1, np.int64)
        own = np.asarray(self_index, np.int64).reshape(-1)
        if len(own) != len(q):
            raise ValueError(f"self_index has {len(own)} items for {len(q)} queries")
        indexed = np.zeros(self.size + 1, bool)  # last slot: "not an indexed point"
        indexed[self._finite] = True
        own = np.where((own >= 0) & (own < self.size), own, self.size)
        return q, ok, np.where(indexed[own], own, -1)

    def count(
        self, query_xy: ArrayLike, radius_m: float, *, self_index: ArrayLike | None = None
    ) -> FloatArray:
        """Number of points within ``radius_m`` (inclusive) of each query point.

        ``self_index[i]``: the position of query ``i`` among the indexed points
        (or -1), so that a clearing does not count itself. NaN for a query with
        a non-finite coordinate.
        """
        q, ok, own = self._query(query_xy, self_index)
        out = np.full(len(q), np.nan)
        out[ok] = 0.0
        if self._tree is None or len(ok) == 0:
            return out
        found = self._tree.query_ball_point(
            q[ok], float(radius_m), return_length=True, workers=self.workers
        )
        out[ok] = np.asarray(found, np.float64) - (own[ok] >= 0)
        return out

    def weight(
        self, query_xy: ArrayLike, radius_m: float, *, self_index: ArrayLike | None = None
    ) -> FloatArray:
        """Summed weights of the points within ``radius_m`` of each query point (itself excluded).

        NaN weights count as 0; NaN for a query with a non-finite coordinate.
        """
        q, ok, own = self._query(query_xy, self_index)
        out = np.full(len(q), np.nan)
        out[ok] = 0.0
        if self._tree is None or len(ok) == 0:
            return out
        qtree = cKDTree(q[ok])
        pairs = qtree.sparse_distance_matrix(self._tree, float(radius_m), output_type="ndarray")
        qi = np.asarray(pairs["i"], np.int64)
        pj = np.asarray(pairs["j"], np.int64)
        not_self = self._finite[pj] != own[ok][qi]
        sums = np.bincount(qi[not_self], weights=self._weights[pj[not_self]], minlength=len(ok))
        out[ok] = sums
        return out


def earlier_overlaps(
    query_geoms: ArrayLike,
    query_ids: ArrayLike,
    query_first: ArrayLike,
    query_batch: ArrayLike,
    cand_geoms: ArrayLike,
    cand_ids: ArrayLike,
    cand_last: ArrayLike,
    cand_batch: ArrayLike,
) -> FloatArray:
    """1.0 where an EARLIER clearing overlaps the query clearing, else 0.0 (re-clearing).

    A candidate is earlier when its last alert date is before the query's
    first alert date (it was over before this one began); when either date is
    unknown, when its batch id is lower. Overlap means the interiors share
    area: clearings that only touch along an edge (neighbouring pixels of two
    batches) do not count, and a clearing never overlaps itself (same id).
    Geometries may be in any one frame (lon/lat included).

    >>> import numpy as np, shapely
    >>> day = lambda s: np.array([s], "datetime64[D]")
    >>> earlier_overlaps([shapely.box(0, 0, 2, 2)], [2], day("2024-05-01"), [2],
    ...                  [shapely.box(1, 1, 3, 3)], [1], day("2024-01-20"), [1]).tolist()
    [1.0]
    """
    q = _geoms(query_geoms)
    c = _geoms(cand_geoms)
    out = np.zeros(len(q), np.float64)
    if len(q) == 0 or len(c) == 0:
        return out
    q_ids = np.asarray(query_ids, np.int64).reshape(-1)
    c_ids = np.asarray(cand_ids, np.int64).reshape(-1)
    q_first = np.asarray(query_first).astype("datetime64[D]").reshape(-1)
    c_last = np.asarray(cand_last).astype("datetime64[D]").reshape(-1)
    q_batch = np.asarray(query_batch, np.int64).reshape(-1)
    c_batch = np.asarray(cand_batch, np.int64).reshape(-1)
    tree = shapely.STRtree(c)  # missing and empty geometries are never returned
    qi, cj = tree.query(q)  # bounding boxes meet
    if len(qi) == 0:
        return out
    a, b = q_first[qi], c_last[cj]
    dated = ~(np.isnat(a) | np.isnat(b))
    earlier = np.where(dated, b < a, c_batch[cj] < q_batch[qi])
    keep = earlier & (c_ids[cj] != q_ids[qi])
    qi, cj = qi[keep], cj[keep]
    if len(qi) == 0:
        return out
    overlap = shapely.relate_pattern(q[qi], c[cj], "T********")
    out[np.unique(qi[overlap])] = 1.0
    return out
