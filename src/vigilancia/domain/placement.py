"""Placement of clearings against territories by geometry.

PURE: numpy and shapely only. Every geometry is a shapely object in ONE metric
coordinate system (metres; the services use a local Lambert azimuthal
equal-area frame, so areas and shares are exact). Results are parallel numpy
arrays, ready for :class:`vigilancia.domain.clearings.Placement`.

Which territories count is the caller's choice: pass every kind (community,
reserve, protected area, district) for overlaps, and only communities and
reserves for the nearest boundary and the buffer (``place(..., nearest_mask=)``).
:func:`in_reach` tells, from bounding boxes, which stored clearings a new
territory can place differently (the re-placement that follows a territory
import looks at those only).

>>> import numpy as np, shapely
>>> territory = np.array([shapely.box(0, 0, 1000, 1000)])
>>> clearing = np.array([shapely.box(900, 0, 1100, 100)])  # half inside
>>> c, t, area_ha, share = overlaps_by_geometry(clearing, np.array([7]), territory)
>>> t.tolist(), share.tolist(), area_ha.tolist()
([7], [0.5], [1.0])
>>> nearest_boundaries(np.array([shapely.box(1100, 0, 1200, 100)]), np.array([7]),
...                    territory, buffer_m=150.0)
(array([7]), array([100.]), array([ True]))
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from vigilancia.domain.clearings import Placement

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
GeomArray = NDArray[np.object_]
Overlaps = tuple[IntArray, IntArray, FloatArray, FloatArray]

#: Territory boundaries are cut into pieces of at most this many segments before
#: indexing, so that a nearest query measures a few short lines instead of a
#: whole boundary with thousands of vertices.
BOUNDARY_PIECE_SEGMENTS = 8

__all__ = [
    "BOUNDARY_PIECE_SEGMENTS",
    "Overlaps",
    "boundary_pieces",
    "cut_lines",
    "in_reach",
    "nearest_boundaries",
    "overlaps_by_geometry",
    "place",
]


def _geoms(values: ArrayLike) -> GeomArray:
    return np.asarray(values, dtype=object).reshape(-1)


def _empty_overlaps() -> Overlaps:
    return (
        np.empty(0, np.int64), np.empty(0, np.int64),
        np.empty(0, np.float64), np.empty(0, np.float64),
    )


def overlaps_by_geometry(
    clearings_m: ArrayLike,
    territory_ids: ArrayLike,
    territories_m: ArrayLike,
    *,
    points_m: ArrayLike | None = None,
    use_point: ArrayLike | None = None,
    area_ha: ArrayLike | None = None,
) -> Overlaps:
    """Which territories each clearing overlaps, with the area and share inside.

    Returns parallel arrays ``(overlap_clearing, overlap_territory,
    overlap_area_ha, overlap_share)`` sorted by clearing then territory:
    clearing position ``overlap_clearing[k]`` has ``overlap_share[k]`` (0-1] of
    its area, ``overlap_area_ha[k]`` hectares, inside the territory whose id is
    ``overlap_territory[k]``. Pairs that only touch (zero shared area) are left
    out. Overlapping territories (a reserve inside a district) each get their
    share, so shares of one clearing sum to at most 1 only over territories
    that do not overlap each other.

    - Polygons: exact intersection, through an STRtree of the territories; a
      clearing properly inside a territory gets share 1 without computing the
      intersection.
    - Where ``use_point`` is True (vector alerts known only by a point and a
      box), and for clearings of zero area (points, lines), the clearing is
      assigned with share 1 to every territory that contains its point
      (``points_m``, or the clearing's representative point): strictly inside,
      as ``geopandas.sjoin(predicate="within")`` counts.

    ``area_ha`` is each clearing's area in hectares (e.g. as published by the
    alert product); where it is missing or NaN the area of ``clearings_m`` is
    used. ``overlap_area_ha = overlap_share * area_ha``, so a clearing wholly
    inside a territory contributes exactly its own area.

    Territory geometries are prepared in place (``shapely.prepare``) to speed
    up the predicates; that changes no coordinates.
    """
    clearings = _geoms(clearings_m)
    territories = _geoms(territories_m)
    ids = np.asarray(territory_ids, dtype=np.int64).reshape(-1)
    n = len(clearings)
    if len(ids) != len(territories):
        raise ValueError(f"{len(ids)} territory ids for {len(territories)} territories")
    if n == 0 or len(territories) == 0:
        return _empty_overlaps()

    by_point = np.zeros(n, bool) if use_point is None else np.asarray(use_point, bool).reshape(-1)
    if len(by_point) != n:
        raise ValueError(f"use_point has {len(by_point)} items for {n} clearings")
    if by_point.any() and points_m is None:
        raise ValueError("use_point needs points_m")
    points = np.full(n, None, dtype=object) if points_m is None else _geoms(points_m)
    if len(points) != n:
        raise ValueError(f"points_m has {len(points)} items for {n} clearings")

    with np.errstate(invalid="ignore"):
        area_m2 = shapely.area(clearings)
        degenerate = ~by_point & ~(area_m2 > 0)  # NaN (missing) or zero area
    if area_ha is None:
        area = area_m2 / 1e4
    else:
        area = np.asarray(area_ha, dtype=np.float64).reshape(-1)
        if len(area) != n:
            raise ValueError(f"area_ha has {len(area)} items for {n} clearings")
        area = np.where(np.isnan(area), area_m2 / 1e4, area)

    tree = shapely.STRtree(territories)
    shapely.prepare(territories)

    # polygons: exact overlap
    poly_idx = np.flatnonzero(~by_point & ~degenerate)
    pc, pt = tree.query(clearings[poly_idx])  # bounding boxes only
    pc = poly_idx[pc]
    hits = shapely.intersects(territories[pt], clearings[pc])
    pc, pt = pc[hits], pt[hits]
    inside = shapely.contains_properly(territories[pt], clearings[pc])
    share = np.ones(len(pc))
    edge = np.flatnonzero(~inside)
    if len(edge):
        shared = _intersection_area(clearings[pc[edge]], territories[pt[edge]])
        share[edge] = np.minimum(shared / area_m2[pc[edge]], 1.0)
    keep = share > 0
    pc, pt, share = pc[keep], pt[keep], share[keep]

    # points: containment
    pt_idx = np.flatnonzero(by_point | degenerate)
    qpoints = points[pt_idx].copy()
    missing = shapely.is_missing(qpoints) | (~by_point[pt_idx])
    if missing.any():
        qpoints[missing] = shapely.point_on_surface(clearings[pt_idx[missing]])
    ql, qt = tree.query(qpoints)
    inside_pt = shapely.contains(territories[qt], qpoints[ql])
    qc, qt = pt_idx[ql[inside_pt]], qt[inside_pt]

    clearing = np.concatenate([pc, qc]).astype(np.int64)
    terr = np.concatenate([pt, qt]).astype(np.int64)
    shares = np.concatenate([share, np.ones(len(qc))])
    order = np.lexsort((ids[terr], clearing))
    clearing, terr, shares = clearing[order], terr[order], shares[order]
    return clearing, ids[terr], shares * area[clearing], shares


def _intersection_area(a: GeomArray, b: GeomArray) -> FloatArray:
    try:
        return np.asarray(shapely.area(shapely.intersection(a, b)), dtype=np.float64)
    except shapely.errors.GEOSException:
        # an invalid input somewhere: repair pairwise, only on this slow path
        out = np.empty(len(a))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            try:
                out[i] = shapely.area(shapely.intersection(x, y))
            except shapely.errors.GEOSException:
                fixed = shapely.intersection(shapely.make_valid(x), shapely.make_valid(y))
                out[i] = shapely.area(fixed)
        return out


def cut_lines(lines: GeomArray, owner: IntArray, max_segments: int) -> tuple[GeomArray, IntArray]:
    """LineStrings (or rings) cut into pieces of at most ``max_segments`` segments (vectorised).

    Returns ``(pieces, owner[line of each piece])``.
    """
    if len(lines) == 0:
        return np.empty(0, dtype=object), np.empty(0, np.int64)
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(line_of, minlength=len(lines))  # >= 2: GEOS lines have 2+ vertices
    starts = np.cumsum(counts) - counts
    nchunk = -(-np.maximum(counts - 1, 1) // max_segments)
    total = int(nchunk.sum())
    chunk_line = np.repeat(np.arange(len(lines)), nchunk)
    chunk_j = np.arange(total) - np.repeat(np.cumsum(nchunk) - nchunk, nchunk)
    first = starts[chunk_line] + chunk_j * max_segments
    last = np.minimum(first + max_segments, starts[chunk_line] + counts[chunk_line] - 1)
    length = last - first + 1
    vertex = np.repeat(first, length) + (
        np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    )
    pieces = shapely.linestrings(coords[vertex], indices=np.repeat(np.arange(total), length))
    return np.asarray(pieces, dtype=object), np.asarray(owner[chunk_line], np.int64)


def boundary_pieces(
    territories_m: ArrayLike, max_segments: int = BOUNDARY_PIECE_SEGMENTS
) -> tuple[GeomArray, IntArray]:
    """Boundaries of ``territories_m`` cut into LineStrings of at most ``max_segments``.

    Returns ``(pieces, owner)``: ``owner[k]`` is the position of the territory
    whose boundary (outer rings and holes) piece ``k`` belongs to.
    """
    territories = _geoms(territories_m)
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    parts, part_owner = shapely.get_parts(shapely.boundary(territories), return_index=True)
    if len(parts) == 0:
        return np.empty(0, dtype=object), np.empty(0, np.int64)
    return cut_lines(np.asarray(parts, dtype=object), np.asarray(part_owner, np.int64),
                     max_segments)


def nearest_boundaries(
    clearings_m: ArrayLike,
    territory_ids: ArrayLike,
    territories_m: ArrayLike,
    buffer_m: float,
) -> tuple[IntArray, FloatArray, BoolArray]:
    """The territory whose boundary is closest to each clearing, and how far (m).

    Returns ``(nearest_id, distance_m, within_buffer)``, one entry per
    clearing: the id of the territory with the closest boundary (outer ring or
    hole; -1 when there is no territory or the clearing has no geometry), the
    distance in metres from the clearing to that boundary (0 when it crosses
    it, positive inside or outside; NaN for none), and whether the clearing
    intersects a territory or lies within ``buffer_m`` metres of a boundary.
    Of two territories at the same distance the one given first is named.

    Pass only the territories that count (communities and reserves); pass the
    clearing's point instead of its polygon where the polygon is only a box.
    """
    clearings = _geoms(clearings_m)
    territories = _geoms(territories_m)
    ids = np.asarray(territory_ids, dtype=np.int64).reshape(-1)
    if len(ids) != len(territories):
        raise ValueError(f"{len(ids)} territory ids for {len(territories)} territories")
    n = len(clearings)
    nearest = np.full(n, -1, np.int64)
    distance = np.full(n, np.nan)
    within = np.zeros(n, bool)
    if n == 0 or len(territories) == 0:
        return nearest, distance, within

    pieces, owner = boundary_pieces(territories)
    if len(pieces):
        tree = shapely.STRtree(pieces)
        (qi, ti), dist = tree.query_nearest(clearings, return_distance=True, all_matches=True)
        # (every piece at the nearest distance comes back: the first territory given wins)
        order = np.lexsort((owner[ti], qi))
        qi, ti, dist = qi[order], ti[order], dist[order]
        first = np.r_[True, qi[1:] != qi[:-1]] if len(qi) else np.zeros(0, bool)
        qi, ti, dist = qi[first], ti[first], dist[first]
        nearest[qi] = ids[owner[ti]]
        distance[qi] = dist
    with np.errstate(invalid="ignore"):
        within = distance <= buffer_m

    # inside a territory but farther than the buffer from its boundary
    rest = np.flatnonzero(~within & ~shapely.is_missing(clearings))
    if len(rest):
        ttree = shapely.STRtree(territories)
        shapely.prepare(territories)
        rc, rt = ttree.query(clearings[rest])
        hit = shapely.intersects(territories[rt], clearings[rest[rc]])
        within[rest[np.unique(rc[hit])]] = True
    return nearest, distance, within


def place(
    clearings_m: ArrayLike,
    territory_ids: ArrayLike,
    territories_m: ArrayLike,
    *,
    buffer_m: float,
    nearest_mask: ArrayLike | None = None,
    points_m: ArrayLike | None = None,
    use_point: ArrayLike | None = None,
    area_ha: ArrayLike | None = None,
    overlaps: Overlaps | None = None,
) -> Placement:
    """A :class:`Placement` of the clearings: overlaps, nearest boundary, buffer.

    ``territories_m`` holds every territory that counts for overlaps (all
    kinds: communities, reserves, protected areas, districts).
    ``nearest_mask`` (bool per territory, default all) selects those that count
    for the nearest boundary and the buffer: the caller passes True for
    communities and reserves only. Where ``use_point`` is True the clearing's
    point (``points_m``) stands for it in both steps.

    ``overlaps``: pre-computed ``(clearing, territory_id, area_ha, share)``
    arrays (e.g. from raster pixel centres); when given, only the nearest
    boundary and the buffer are computed here.
    """
    clearings = _geoms(clearings_m)
    territories = _geoms(territories_m)
    ids = np.asarray(territory_ids, dtype=np.int64).reshape(-1)
    n = len(clearings)
    mask = np.ones(len(territories), bool) if nearest_mask is None else np.asarray(
        nearest_mask, bool
    ).reshape(-1)
    if len(mask) != len(territories):
        raise ValueError(f"nearest_mask has {len(mask)} items for {len(territories)} territories")

    if overlaps is None:
        overlaps = overlaps_by_geometry(
            clearings, ids, territories, points_m=points_m, use_point=use_point, area_ha=area_ha
        )
    oc, ot, oa, osh = (np.asarray(a) for a in overlaps)

    near_geoms = clearings
    if use_point is not None:
        flag = np.asarray(use_point, bool).reshape(-1)
        if flag.any():
            if points_m is None:
                raise ValueError("use_point needs points_m")
            near_geoms = clearings.copy()
            near_geoms[flag] = _geoms(points_m)[flag]
    nearest, distance, within = nearest_boundaries(
        near_geoms, ids[mask], territories[mask], buffer_m
    )
    return Placement(
        overlap_clearing=oc.astype(np.int64),
        overlap_territory=ot.astype(np.int64),
        overlap_area_ha=oa.astype(np.float64),
        overlap_share=osh.astype(np.float64),
        nearest_territory=nearest[:n],
        boundary_distance_m=distance[:n],
        within_buffer=within[:n],
    )


#: Metres per degree of latitude, at least (the equator's 110,574 m).
_M_PER_DEG_LAT = 110_574.0
#: Metres per degree of longitude at the equator (times the cosine of the latitude).
_M_PER_DEG_LON = 111_320.0
#: How much shorter than the true distance the box test's metres may be: distances on a
#: raster's pixel grid and in a batch's equal-area frame stray by well under this.
REACH_SLACK = 0.8


def in_reach(
    clearing_bounds: ArrayLike,
    nearest_m: ArrayLike,
    territory_bounds: ArrayLike,
    nearest_kind: ArrayLike,
) -> BoolArray:
    """Which clearings a new territory can place differently, from bounding boxes only.

    ``clearing_bounds`` (n, 4) and ``territory_bounds`` (k, 4) are lon/lat boxes
    (minx, miny, maxx, maxy); ``nearest_m`` is each clearing's stored distance to
    its nearest boundary (NaN when it has none); ``nearest_kind`` marks the
    territories that count for the nearest boundary (communities, reserves).

    True for a clearing whose box meets a territory's box (it may overlap it),
    and, for the territories of ``nearest_kind``, for a clearing with no nearest
    boundary or whose box lies no farther from the territory's box than its
    stored distance (the new boundary may be nearer). The test never misses a
    clearing: the box gap in degrees is turned into metres with the shortest
    degree of the boxes' latitudes, times :data:`REACH_SLACK`.

    >>> boxes = np.array([[0.0, 0.0, 0.01, 0.01], [1.0, 0.0, 1.01, 0.01]])
    >>> in_reach(boxes, [500.0, 500.0], [[0.0105, 0.0, 0.02, 0.01]], [True]).tolist()
    [True, False]
    """
    cb = np.asarray(clearing_bounds, np.float64).reshape(-1, 4)
    tb = np.asarray(territory_bounds, np.float64).reshape(-1, 4)
    near = np.asarray(nearest_kind, bool).reshape(-1)
    dist = np.asarray(nearest_m, np.float64).reshape(-1)
    n = len(cb)
    out = np.zeros(n, bool)
    if n == 0 or len(tb) == 0:
        return out
    out |= _boxes_meet(cb, tb)
    if not near.any():
        return out
    out |= ~np.isfinite(dist)
    rest = np.flatnonzero(~out)
    if len(rest):
        d = dist[rest] / REACH_SLACK
        dlat = d / _M_PER_DEG_LAT
        lat_far = np.minimum(np.maximum(np.abs(cb[rest, 1]), np.abs(cb[rest, 3])) + dlat, 89.0)
        dlon = d / (_M_PER_DEG_LON * np.cos(np.radians(lat_far)))
        grown = np.column_stack([cb[rest, 0] - dlon, cb[rest, 1] - dlat, cb[rest, 2] + dlon,
                                 cb[rest, 3] + dlat])
        out[rest[_boxes_meet(grown, tb[near])]] = True
    return out


def _boxes_meet(boxes: FloatArray, others: FloatArray) -> BoolArray:
    """Whether each of ``boxes`` (n, 4) meets one of ``others`` (k, 4): by broadcasting
    for a few others, through an STRtree for many."""
    if len(others) <= 32:
        hit = np.zeros(len(boxes), bool)
        for ox0, oy0, ox1, oy1 in others.tolist():
            hit |= ((boxes[:, 0] <= ox1) & (boxes[:, 2] >= ox0) & (boxes[:, 1] <= oy1)
                    & (boxes[:, 3] >= oy0))
        return hit
    tree = shapely.STRtree(shapely.box(*others.T))
    idx, _t = tree.query(shapely.box(*boxes.T), predicate="intersects")
    hit = np.zeros(len(boxes), bool)
    hit[idx] = True
    return hit
