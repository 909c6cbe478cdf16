"""Airstrips as objects: runway candidates from clearings, and matching to known airstrips.

PURE: numpy and shapely. Every geometry handed to these functions is in **one
metric frame** (metres, x east, y north: a UTM zone or another local projection
chosen by the caller); lengths are metres, areas hectares, orientations degrees
clockwise from north in [0, 180), as in :mod:`vigilancia.domain.clearings`.

What a runway looks like (issue 3, from field reports and the real runway
centre-lines in ``../shared/data/airstrips/runways_peru.geojson``): a straight
strip, typically 400-1,500 m long (the real ones run from 377 to 3,128 m) and
about 15-50 m wide, often re-cleared. Alerts seldom show it whole: clouds,
regrowth and clearing in stages leave it as several patches along one axis with
gaps between them, and the ends are often missing. :func:`runway_candidates`
therefore joins strip-shaped clearings that line up:

1. **Pieces.** Every clearing is measured by its second moments of area: its
   centroid, its principal (long) axis, and the length ``L`` and width ``W`` of
   the rectangle with the same moments (``L = sqrt(12 var_long)``). Unlike the
   minimum rotated rectangle, these hardly move when a few alert pixels stick out
   of a strip's edge. Only clearings with ``W <= max_width_m`` may be part of a
   runway (blobs of coca size and fields are wider). Those with
   ``L >= min_piece_length_m`` and ``L / W >= min_piece_elongation`` show an
   axis (*strip pieces*); smaller ones (a pixel or two of a strip whose
   neighbours were missed) have none and can only join a group, never start one.
2. **Growing along an axis.** Pieces are taken longest first as seeds. A group
   grows by every unassigned piece that (a) points along the group's axis within
   ``max_angle_deg``, plus the orientation uncertainty of a short piece
   (``atan(W / L)``, at most 20 degrees; pieces without an axis are exempt),
   (b) has its centroid and both ends of its long axis within ``max_offset_m``
   of the axis line, and (c) leaves an end-to-end gap along the axis (between
   the pieces' minimum rotated rectangles) of at most ``max_gap_m`` to the
   group. After each round the axis
   is refitted (the principal axis of the members' moments taken together) and
   growth repeats until nothing joins. Comparing with the group's axis, not
   piece with piece, keeps a gently curving chain of pieces (a road) from being
   strung into one "straight" strip; members whose centroid ends up more than
   ``max_offset_m`` off the final axis are left out.
3. **Candidate.** The centre-line runs along the fitted axis between the
   extreme projections of the members; ``length_m`` is its length, ``width_m``
   the members' area divided by the length they cover (the mean width of the
   cleared footprint), ``fill`` the share of the centre-line the members cover.
   A group is a runway candidate when ``min_length_m <= length_m <=
   max_length_m``, ``width_m <= max_width_m``, the moment width of the members
   together is at most ``max_width_m`` (they form one straight strip),
   ``length_m / width_m >= min_elongation`` and ``fill >= min_fill``.

4. **Branches.** Roads and logging tracks are "long, thin, branching" (issue
   3); alerts break them into pieces, and a straight stretch of one looks like a
   runway. Each candidate therefore counts its ``branches``: clearings that are
   not members, come within ``branch_reach_m`` of the centre-line, and are
   thin: bent (compactness ``4 pi A / P**2 <= branch_max_compactness`` and half
   the perimeter at least ``branch_min_length_m``) or a straight piece of track
   (moment width at most ``branch_max_width_m``, length at least
   ``branch_min_piece_m``, ``L / W >= min_piece_elongation``). A runway's own
   patches are members; an isolated runway has no branches, a stretch of a
   track has the pieces it continues into. The rules model reads the count
   (column ``branches``) as evidence of a track. Two runways that meet (a V)
   count each other: a known cost.

The default thresholds leave room for what alert pixels do to a strip: at
0.00025 degrees (about 27.7 m) a 15-50 m wide runway is one or two pixels wide,
so its footprint is up to one pixel wider than the runway (``max_width_m`` = 50 m
+ about one pixel); partial detection shortens it, so ``min_length_m`` is about
20 % below the shortest real runway (377 m).

>>> from shapely import box
>>> pieces = [box(0, 0, 300, 30), box(420, 5, 700, 33), box(800, 0, 1000, 30)]
>>> [c.members for c in runway_candidates(pieces, ids=[7, 8, 9])]
[(7, 8, 9)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.drivers import empty_features

__all__ = [
    "KnownMatches",
    "RunwayCandidate",
    "RunwayRules",
    "candidate_features",
    "match_known",
    "runway_candidates",
    "runway_opened_by",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RunwayRules:
    """Thresholds of :func:`runway_candidates` (metres and degrees); see the module docstring.

    Defaults, with their grounds (issue 3 and the real runways of
    ``runways_peru.geojson``):

    - ``max_width_m`` 80: runways are about 15-50 m wide, plus up to one alert
      pixel (about 27.7 m) of footprint around a strip one or two pixels wide;
    - ``min_length_m`` 300 and ``max_length_m`` 3,600: the real runways run from
      377 to 3,128 m; alerts often miss the ends (about 20 % below the shortest)
      and clearing may spill past them (about 15 % above the longest);
    - ``max_gap_m`` 150: gaps between alert patches of one strip (clouds,
      regrowth, clearing in stages); wider gaps make two candidates;
    - ``max_angle_deg`` 5 and ``max_offset_m`` 40: a runway is straight, so its
      patches share one axis to within a few degrees and less than one runway
      width plus a pixel;
    - ``min_piece_length_m`` 60 and ``min_piece_elongation`` 2.5: a patch must be
      at least about two pixels long and clearly longer than wide to show an
      axis at all;
    - ``branch_reach_m`` 60 (two pixels: a track broken by missed pixels);
      ``branch_max_compactness`` 0.3 with ``branch_min_length_m`` 150 (a bent
      thin clearing at least about five pixels long: a 300 m x 25 m strip has a
      compactness of 0.1, a disc 1.0); ``branch_max_width_m`` 45 with
      ``branch_min_piece_m`` 100 (a straight piece one pixel wide, about four
      pixels long; coca-sized blobs are wider);
    - ``min_elongation`` 5 (300 m x 60 m: the shortest partial runway with a
      footprint one pixel wider than 30 m) and ``min_fill`` 0.5: a candidate is a
      strip, and at least half of its centre-line is cleared.
    """

    max_width_m: float = 80.0
    min_piece_length_m: float = 60.0
    min_piece_elongation: float = 2.5
    max_angle_deg: float = 5.0
    max_offset_m: float = 40.0
    max_gap_m: float = 150.0
    min_length_m: float = 300.0
    max_length_m: float = 3600.0
    min_elongation: float = 5.0
    min_fill: float = 0.5
    branch_reach_m: float = 60.0
    branch_max_compactness: float = 0.3
    branch_min_length_m: float = 150.0
    branch_max_width_m: float = 45.0
    branch_min_piece_m: float = 100.0


@dataclass(frozen=True)
class RunwayCandidate:
    """A straight strip made of one or more clearings that may be a runway.

    ``centreline`` is in the caller's metric frame; ``length_m`` its length,
    ``width_m`` the mean width of the cleared footprint (members' area over the
    length they cover), ``orientation_deg`` the axis in degrees clockwise from
    north in [0, 180) (the centre-line runs that way, from its western end),
    ``members`` the ids of the clearings that make it up, in order along the
    centre-line, ``first_date``/``last_date`` the first and last
    alert among them (None when unknown), ``area_ha`` the members' area,
    ``perimeter_m`` the sum of their perimeters, ``fill`` the share (0-1) of
    the centre-line the members cover (1 = no gaps) and ``branches`` the number
    of thin, long clearings that fork off it or bend away from it (a straight
    stretch of a logging track has them; an isolated runway has none).
    """

    centreline: LineString
    length_m: float
    width_m: float
    orientation_deg: float
    members: tuple[int, ...]
    first_date: date | None
    last_date: date | None
    area_ha: float
    perimeter_m: float
    fill: float
    branches: int = 0

    @property
    def elongation(self) -> float:
        """Length over width (about 30 for an 800 m x 27 m strip)."""
        return self.length_m / self.width_m if self.width_m > 0 else math.inf


@dataclass(frozen=True)
class _Pieces:
    """Measures of the strip pieces (one entry per piece)."""

    index: NDArray[np.int64]  # position among the input clearings
    centre: FloatArray  # (n, 2) area centroid
    cov: FloatArray  # (n, 2, 2) central second moments of area / area (m2)
    axis: FloatArray  # (n, 2) unit vector along the principal (long) axis
    length: FloatArray  # sqrt(12 x largest eigenvalue): the length of a rectangle
    width: FloatArray  # sqrt(12 x smallest eigenvalue): ... and its width
    corners: FloatArray  # (n, 4, 2) minimum rotated rectangle: the piece's extent
    area: FloatArray  # m2
    rect: NDArray[np.object_]  # the rectangles, for the spatial index
    elongated: NDArray[np.bool_]  # long enough to show an axis (may seed a group)


def area_moments(geoms: NDArray[np.object_]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Area (m2), centroid (n, 2) and central second moments of area divided by the area
    (n, 2, 2: the covariance of a point drawn uniformly from the shape) of polygons,
    vectorised over geometries with Green's theorem on their rings.

    A rectangle of length ``L`` and width ``W`` has eigenvalues ``L**2/12`` and
    ``W**2/12``; unlike the minimum rotated rectangle, the moments hardly move when a
    few pixels stick out of a strip's edge.
    """
    n = len(geoms)
    area = np.zeros(n)
    centre = np.full((n, 2), np.nan)
    cov = np.full((n, 2, 2), np.nan)
    if not n:
        return area, centre, cov
    parts, owner = shapely.get_parts(geoms, return_index=True)
    polys = shapely.get_type_id(parts) == 3
    parts, owner = shapely.orient_polygons(parts[polys]), owner[polys]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    if not len(xy):
        return area, centre, cov
    who = owner[ring_part[ring_of]]
    ref = np.nan_to_num(np.asarray(shapely.bounds(geoms), np.float64)[:, :2])
    xy = xy - ref[who]
    same = ring_of[:-1] == ring_of[1:]
    x0, y0 = xy[:-1, 0][same], xy[:-1, 1][same]
    x1, y1 = xy[1:, 0][same], xy[1:, 1][same]
    g = who[:-1][same]
    a = x0 * y1 - x1 * y0

    def total(v: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(g, weights=v, minlength=n), np.float64)

    area = total(a) / 2
    sx = total((x0 + x1) * a) / 6
    sy = total((y0 + y1) * a) / 6
    sxx = total((x0 * x0 + x0 * x1 + x1 * x1) * a) / 12
    syy = total((y0 * y0 + y0 * y1 + y1 * y1) * a) / 12
    sxy = total((x0 * y1 + 2 * x0 * y0 + 2 * x1 * y1 + x1 * y0) * a) / 24
    ok = area > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cx, cy = sx / area, sy / area
        cov[:, 0, 0] = sxx / area - cx * cx
        cov[:, 1, 1] = syy / area - cy * cy
        cov[:, 0, 1] = cov[:, 1, 0] = sxy / area - cx * cy
    centre = np.column_stack([cx, cy]) + ref
    centre[~ok] = np.nan
    cov[~ok] = np.nan
    return np.where(ok, area, 0.0), centre, cov


def _principal(cov: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Unit long axis (n, 2), rectangle-equivalent length and width of covariances (n, 2, 2)."""
    vals, vecs = np.linalg.eigh(cov)  # ascending eigenvalues
    axis = vecs[:, :, 1]
    length = np.sqrt(12 * np.maximum(vals[:, 1], 0.0))
    width = np.sqrt(12 * np.maximum(vals[:, 0], 0.0))
    return axis, length, width


def _corners(geoms: NDArray[np.object_]) -> FloatArray:
    """Corners (n, 4, 2) of the minimum rotated rectangles of ``geoms`` (vectorised)."""
    env = shapely.oriented_envelope(geoms)
    corners = np.zeros((len(geoms), 4, 2))
    poly = shapely.get_type_id(env) == 3
    if poly.any():
        rings = shapely.get_exterior_ring(env[poly])
        corners[poly] = shapely.get_coordinates(rings).reshape(-1, 5, 2)[:, :4]
    other = ~poly  # degenerate envelopes (a line or a point): use the bounds
    if other.any():
        b = shapely.bounds(env[other])
        corners[other] = np.stack(
            [b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], axis=1
        )
    return corners


def _shapes(geoms: NDArray[np.object_]) -> tuple[FloatArray, FloatArray, FloatArray,
                                                  FloatArray, FloatArray, FloatArray]:
    """Area (m2), centroid, covariance, long axis, and moment length and width of every
    geometry (zeros and a north axis where the area is 0)."""
    area, centre, cov = area_moments(geoms)
    ok = area > 0
    axis = np.tile([0.0, 1.0], (len(geoms), 1))
    length = np.zeros(len(geoms))
    width = np.zeros(len(geoms))
    if ok.any():
        axis[ok], length[ok], width[ok] = _principal(cov[ok])
    return area, centre, cov, axis, length, width


def _pieces(geoms: NDArray[np.object_], rules: RunwayRules,
            shapes: tuple[FloatArray, ...]) -> _Pieces:
    area, centre, cov, axis, length, width = shapes
    ok = area > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        elong = np.where(width > 0, length / width, np.inf)
    elongated = (length >= rules.min_piece_length_m) & (elong >= rules.min_piece_elongation)
    idx = np.flatnonzero(ok & (width <= rules.max_width_m))
    corners = _corners(geoms[idx])
    rect = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    return _Pieces(idx.astype(np.int64), centre[idx], cov[idx], axis[idx], length[idx],
                   width[idx], corners, area[idx], np.asarray(rect, dtype=object),
                   elongated[idx])


def _fit_axis(p: _Pieces, members: NDArray[np.int64], previous: FloatArray) -> tuple[
        FloatArray, FloatArray, float]:
    """Centroid, unit long axis (pointing the same way as ``previous``) and
    rectangle-equivalent width of the members taken together (parallel-axis theorem)."""
    w = p.area[members]
    origin = (p.centre[members] * w[:, None]).sum(axis=0) / w.sum()
    d = p.centre[members] - origin
    cov = ((p.cov[members] + d[:, :, None] * d[:, None, :]) * w[:, None, None]).sum(axis=0)
    axis, _length, width = _principal((cov / w.sum())[None])
    u = axis[0]
    if float(u @ previous) < 0:
        u = -u
    return origin, u, float(width[0])


def _canonical(u: FloatArray) -> FloatArray:
    """Unit vectors (n, 2) turned to point the way of their orientation (east, or north
    when due north-south)."""
    flip = (u[:, 0] < 0) | ((u[:, 0] == 0) & (u[:, 1] < 0))
    return np.where(flip[:, None], -u, u)


def _orientation(u: FloatArray) -> float:
    """Degrees clockwise from north in [0, 180) of direction ``u`` (x east, y north)."""
    return float(np.degrees(np.arctan2(u[0], u[1])) % 180.0)


def _grow(p: _Pieces, seed: int, free: NDArray[np.bool_], tree: shapely.STRtree,
          rules: RunwayRules) -> NDArray[np.int64]:
    """The pieces that line up with ``seed`` (indices into ``p``), seed included."""
    members = np.array([seed], np.int64)
    origin, u = p.centre[seed], p.axis[seed]
    reach = rules.max_gap_m + rules.max_offset_m
    while True:
        proj = (p.corners[members] - origin) @ u
        lo, hi = float(proj.min()), float(proj.max())
        segment = LineString([origin + lo * u, origin + hi * u])
        near = tree.query(segment, predicate="dwithin", distance=reach)
        near = near[free[near]]
        near = near[~np.isin(near, members)]
        if not len(near):
            return members
        n = np.array([-u[1], u[0]])
        cos = np.abs(p.axis[near] @ u)
        tol = np.radians(rules.max_angle_deg) + np.minimum(
            np.arctan2(p.width[near], np.maximum(p.length[near], 1e-9)), np.radians(20.0))
        angle_ok = (np.arccos(np.clip(cos, -1.0, 1.0)) <= tol) | ~p.elongated[near]
        half = p.axis[near] * (p.length[near] / 2)[:, None]
        offsets = np.abs(np.stack([(p.centre[near] - origin) @ n,
                                   (p.centre[near] + half - origin) @ n,
                                   (p.centre[near] - half - origin) @ n], axis=1))
        offset_ok = offsets.max(axis=1) <= rules.max_offset_m
        along = (p.corners[near] - origin) @ u  # (k, 4)
        gap = np.maximum(along.min(axis=1) - hi, lo - along.max(axis=1))
        gap_ok = gap <= rules.max_gap_m
        join = near[angle_ok & offset_ok & gap_ok]
        if not len(join):
            return members
        members = np.concatenate([members, join])
        origin, u, _ = _fit_axis(p, members, u)


@dataclass(frozen=True)
class _Tracks:
    """Thin clearings that could fork from or bend into a strip (see ``branches``)."""

    index: NDArray[np.int64]  # positions among the input clearings
    tree: shapely.STRtree


def _tracks(geoms: NDArray[np.object_], shapes: tuple[FloatArray, ...],
            rules: RunwayRules) -> _Tracks:
    area, _centre, _cov, _axis, length, width = shapes
    perimeter = np.asarray(shapely.length(geoms), np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        compact = np.where(perimeter > 0, 4 * np.pi * area / perimeter**2, np.nan)
        straight = np.where(width > 0, length / width, np.inf) >= rules.min_piece_elongation
    bent = (compact <= rules.branch_max_compactness) & (
        perimeter / 2 >= rules.branch_min_length_m)
    thin_line = straight & (width <= rules.branch_max_width_m) & (
        length >= rules.branch_min_piece_m)
    idx = np.flatnonzero(bent | thin_line)
    return _Tracks(idx.astype(np.int64), shapely.STRtree(geoms[idx]))


def _branches(tracks: _Tracks, members: NDArray[np.int64], line: LineString,
              rules: RunwayRules) -> int:
    """Thin clearings (not members) within ``branch_reach_m`` of the centre-line."""
    near = tracks.tree.query(line, predicate="dwithin", distance=rules.branch_reach_m)
    return int(np.count_nonzero(~np.isin(tracks.index[near], members)))


def _covered(intervals: FloatArray) -> float:
    """Total length of the union of 1-D intervals (k, 2)."""
    order = np.argsort(intervals[:, 0])
    total = 0.0
    cur_lo, cur_hi = intervals[order[0]]
    for lo, hi in intervals[order[1:]]:
        if lo > cur_hi:
            total += cur_hi - cur_lo
            cur_lo, cur_hi = lo, hi
        else:
            cur_hi = max(cur_hi, hi)
    return float(total + cur_hi - cur_lo)


def _as_dates(values: ArrayLike | None, n: int) -> NDArray[np.datetime64]:
    if values is None:
        return np.full(n, np.datetime64("NaT"), "datetime64[D]")
    out = np.asarray(values)
    if out.dtype == object:  # ISO strings, dates or None
        out = np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "D")
                        for v in out.tolist()], "datetime64[D]")
    return out.astype("datetime64[D]")


def _date_or_none(values: NDArray[np.datetime64], pick: Any) -> date | None:
    known = values[~np.isnat(values)]
    if not len(known):
        return None
    d: date = pick(known).astype(object)
    return d


def runway_candidates(
    geometries: Sequence[BaseGeometry] | NDArray[np.object_],
    ids: ArrayLike | None = None,
    first_date: ArrayLike | None = None,
    last_date: ArrayLike | None = None,
    *,
    rules: RunwayRules | None = None,
) -> list[RunwayCandidate]:
    """Runway candidates among clearings, joining patches that line up along one axis.

    ``geometries``: clearing polygons in one metric frame (metres); ``ids``: their
    ids (default: positions); ``first_date``/``last_date``: their first and last
    alert dates (``datetime64[D]``, ISO strings or dates; NaT/None = unknown).
    Returns the candidates ordered by their first member id; each clearing
    belongs to at most one. The rules and their thresholds are in the module
    docstring and :class:`RunwayRules`.
    """
    rules = rules or RunwayRules()
    geoms = np.empty(len(geometries), dtype=object)
    geoms[:] = list(geometries)
    n = len(geoms)
    id_arr = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
    if len(id_arr) != n:
        raise ValueError(f"{len(id_arr)} ids for {n} geometries")
    first = _as_dates(first_date, n)
    last = _as_dates(last_date, n)
    if n == 0:
        return []
    shapes = _shapes(geoms)
    p = _pieces(geoms, rules, shapes)
    if not p.elongated.any():
        return []
    tracks = _tracks(geoms, shapes, rules)
    tree = shapely.STRtree(p.rect)
    perimeter = np.asarray(shapely.length(geoms), np.float64)

    def make(members: NDArray[np.int64], origin: FloatArray, u: FloatArray,
             spans: FloatArray, area: float, fill: float) -> RunwayCandidate:
        lo, hi = float(spans[:, 0].min()), float(spans[:, 1].max())
        order = np.argsort(spans[:, 0], kind="stable")
        pos = p.index[members[order]]
        line = LineString([origin + lo * u, origin + hi * u])
        return RunwayCandidate(
            centreline=line,
            length_m=hi - lo,
            width_m=area / (fill * (hi - lo)),
            orientation_deg=_orientation(u),
            members=tuple(int(v) for v in id_arr[pos]),
            first_date=_date_or_none(first[pos], np.min),
            last_date=_date_or_none(last[pos], np.max),
            area_ha=area / 1e4,
            perimeter_m=float(perimeter[pos].sum()),
            fill=fill,
            branches=_branches(tracks, pos, line, rules),
        )

    def passes(length: NDArray[Any], width: NDArray[Any], spread: NDArray[Any],
               fill: NDArray[Any]) -> NDArray[np.bool_]:
        return np.asarray(
            (rules.min_length_m <= length) & (length <= rules.max_length_m)
            & (width <= rules.max_width_m) & (spread <= rules.max_width_m)
            & (length >= rules.min_elongation * width) & (fill >= rules.min_fill))

    out: list[RunwayCandidate] = []
    # Pieces with no other piece within reach stay alone: measured all at once.
    a, b = tree.query(p.rect, predicate="dwithin",
                      distance=rules.max_gap_m + rules.max_offset_m)
    lonely = np.ones(len(p.index), bool)
    lonely[a[a != b]] = False
    single = np.flatnonzero(p.elongated & lonely)
    u_s = _canonical(p.axis[single])
    along = np.einsum("nkj,nj->nk", p.corners[single] - p.centre[single][:, None, :], u_s)
    spans = np.stack([along.min(axis=1), along.max(axis=1)], axis=1)
    length = spans[:, 1] - spans[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(length > 0, p.area[single] / length, np.inf)
    for k in np.flatnonzero(passes(length, width, p.width[single], np.ones(len(single)))):
        i = single[k]
        out.append(make(np.array([i]), p.centre[i], u_s[k], spans[k:k + 1],
                        float(p.area[i]), 1.0))
    # The others grow from seeds, longest first.
    free = ~lonely
    for seed in np.argsort(-p.length, kind="stable"):
        if not free[seed] or not p.elongated[seed]:
            continue
        members = _grow(p, int(seed), free, tree, rules)
        origin, u, spread = _fit_axis(p, members, p.axis[seed])
        n_vec = np.array([-u[1], u[0]])
        straight = np.abs((p.centre[members] - origin) @ n_vec) <= rules.max_offset_m
        if not straight.all():  # the refitted axis left some behind: drop them, refit once
            members = members[straight]
            origin, u, spread = _fit_axis(p, members, u)
        free[members] = False
        u = _canonical(u[None])[0]
        along = (p.corners[members] - origin) @ u  # (k, 4)
        spans = np.stack([along.min(axis=1), along.max(axis=1)], axis=1)
        total = float(spans[:, 1].max() - spans[:, 0].min())
        covered = _covered(spans)
        area = float(p.area[members].sum())
        fill = covered / total if total > 0 else 0.0
        w = area / covered if covered > 0 else math.inf
        if passes(np.array(total), np.array(w), np.array(spread), np.array(fill)):
            out.append(make(members, origin, u, spans, area, fill))
    out.sort(key=lambda c: min(c.members))
    return out


def candidate_features(candidates: Sequence[RunwayCandidate]) -> dict[str, FloatArray]:
    """A feature table (:data:`vigilancia.domain.drivers.FEATURES`) of the candidates' shapes.

    Shape columns come from the candidate as a whole (``area_ha`` and
    ``perimeter_m`` summed over the members, ``rectangularity`` = area /
    (length x width), which equals ``fill``); ``span_days`` from the first and
    last alert. Context columns stay NaN for the caller to fill.
    """
    n = len(candidates)
    f = empty_features(n)
    if not n:
        return f
    area = np.array([c.area_ha for c in candidates])
    perim = np.array([c.perimeter_m for c in candidates])
    length = np.array([c.length_m for c in candidates])
    width = np.array([c.width_m for c in candidates])
    with np.errstate(divide="ignore", invalid="ignore"):
        f["area_ha"] = area
        f["perimeter_m"] = perim
        f["length_m"] = length
        f["width_m"] = width
        f["elongation"] = np.where(width > 0, length / width, np.nan)
        f["compactness"] = np.where(perim > 0, 4 * np.pi * area * 1e4 / perim**2, np.nan)
        f["rectangularity"] = np.where(length * width > 0, area * 1e4 / (length * width),
                                       np.nan)
    f["orientation_deg"] = np.array([c.orientation_deg for c in candidates])
    f["branches"] = np.array([float(c.branches) for c in candidates])
    f["span_days"] = np.array([
        float((c.last_date - c.first_date).days) if c.first_date and c.last_date else np.nan
        for c in candidates
    ])
    return f


@dataclass(frozen=True)
class KnownMatches:
    """For each candidate: the known airstrip it lies on (index, -1 when none), the distance
    (m) from its centre-line to that airstrip, and ``overlap``: for a known line, the share
    (0-1) of the shorter of the two lines that runs within the tolerance of the other; for a
    known point, 1.0."""

    known: NDArray[np.int64]
    distance_m: FloatArray
    overlap: FloatArray

    @property
    def matched(self) -> NDArray[np.bool_]:
        return np.asarray(self.known >= 0)


def match_known(
    candidates: Sequence[RunwayCandidate],
    known_airstrips: Sequence[BaseGeometry] | NDArray[np.object_],
    tolerance_m: float = 100.0,
    *,
    min_overlap: float = 0.5,
) -> KnownMatches:
    """Match runway candidates to known airstrips (lines or points in the same metric frame).

    Re-clearing of a known runway shows up as a candidate along it. A candidate
    matches a known **line** (a runway centre-line, or a polygon's outline) when
    at least ``min_overlap`` of the shorter of the two lies within
    ``tolerance_m`` of the other: partial re-clearing of a long runway matches,
    and so does a candidate that runs past a short mapped one, but a strip that
    only crosses or touches it does not. A known **point** (an aerodrome
    marker) matches when it lies within ``tolerance_m`` of the candidate's
    centre-line. Each candidate gets the known airstrip with the largest
    overlap, then the nearest.

    >>> from shapely import LineString, Point
    >>> c = runway_candidates([LineString([(0, 0), (0, 800)]).buffer(15, cap_style="flat")])
    >>> m = match_known(c, [Point(500, 500), LineString([(10, -50), (10, 700)])], 50)
    >>> int(m.known[0]), round(float(m.overlap[0]), 2)
    (1, 0.93)
    """
    n = len(candidates)
    known = np.full(n, -1, np.int64)
    dist = np.full(n, np.nan)
    overlap = np.zeros(n)
    geoms = np.empty(len(known_airstrips), dtype=object)
    geoms[:] = list(known_airstrips)
    if not n or not len(geoms):
        return KnownMatches(known, dist, overlap)
    lines = np.empty(n, dtype=object)
    lines[:] = [c.centreline for c in candidates]
    tree = shapely.STRtree(geoms)
    ci, ki = tree.query(lines, predicate="dwithin", distance=tolerance_m)
    if not len(ci):
        return KnownMatches(known, dist, overlap)
    cand, kg = lines[ci], geoms[ki]
    d = np.asarray(shapely.distance(cand, kg), np.float64)
    dim = shapely.get_dimensions(kg)
    is_point = dim == 0
    outline = np.where(dim == 2, shapely.boundary(kg), kg)
    share = np.ones(len(ci))
    ln = ~is_point
    if ln.any():
        c_len = shapely.length(cand[ln])
        k_len = shapely.length(outline[ln])
        if (dim[ln] == 2).any():  # a polygon outline runs both sides: count one
            k_len = np.where(dim[ln] == 2, k_len / 2, k_len)
        c_in = shapely.length(shapely.intersection(
            cand[ln], shapely.buffer(outline[ln], tolerance_m, cap_style="flat")))
        k_in = shapely.length(shapely.intersection(
            outline[ln], shapely.buffer(cand[ln], tolerance_m, cap_style="flat")))
        k_in = np.where(dim[ln] == 2, k_in / 2, k_in)
        shorter_is_cand = c_len <= k_len
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(shorter_is_cand, c_in / c_len, k_in / k_len)
        share[ln] = np.clip(np.nan_to_num(s), 0.0, 1.0)
    ok = share >= min_overlap
    # best per candidate: largest overlap, then nearest
    order = np.lexsort((d, -share))
    for j in order:
        if ok[j] and known[ci[j]] < 0:
            known[ci[j]] = ki[j]
            dist[ci[j]] = d[j]
            overlap[ci[j]] = share[j]
    return KnownMatches(known, dist, overlap)


#: Attribute names of the year a known runway was opened (ITU/Zindi labels: ``yr``).
RUNWAY_YEAR_FIELDS: tuple[str, ...] = ("yr", "year", "anio", "año")


def runway_opened_by(attrs: Mapping[str, Any] | None, as_of: date | None) -> bool:
    """Whether a known runway existed by ``as_of``: its year (``yr``, ``year``...) is not later.

    A runway without a readable year counts as existing.

    >>> runway_opened_by({"yr": 2021}, date(2020, 6, 1)), runway_opened_by({"yr": 2019}, None)
    (False, True)
    """
    if as_of is None or not attrs:
        return True
    lower = {str(k).lower(): v for k, v in attrs.items()}
    for key in RUNWAY_YEAR_FIELDS:
        value = lower.get(key)
        if value is None:
            continue
        try:
            return int(float(value)) <= as_of.year
        except (TypeError, ValueError):
            return True
    return True
