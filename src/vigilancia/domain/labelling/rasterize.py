"""Labelling, backwards: stored clearing polygons to the pixel runs they were traced from.

A raster clearing's polygon is the exact union of the pixel squares of its
component (:mod:`.geometry`), so its rings, in the pixel coordinates of the
batch's grid, have integer vertices and only horizontal and vertical edges.
:func:`polygon_runs` rebuilds the component's runs from those rings (a pixel
belongs to it when its centre is inside, by the even-odd rule over every
ring): the same maximal runs, row by row, that the labeller found, so that
the territory overlap of :mod:`.scanline` and the nearest boundary of
:mod:`vigilancia.domain.proximity` give, on a re-placement, exactly what they
gave at ingest.

>>> import numpy as np
>>> # an L of three pixels: (0, 0), (0, 1) and (1, 1) as (column, row)
>>> xs = np.array([0, 1, 1, 2, 2, 0, 0], np.float64)
>>> ys = np.array([0, 0, 1, 1, 2, 2, 0], np.float64)
>>> runs = polygon_runs(xs, ys, np.array([0, 7]), np.array([0]), 1)
>>> runs.row.tolist(), runs.c0.tolist(), runs.c1.tolist(), runs.comp.tolist()
([0, 1], [0, 0], [1, 2], [0, 0])
>>> runs.centroid_row.tolist(), runs.pixels.tolist()
([1.1666666666666667], [3])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from vigilancia.domain.labelling.runs import Runs
from vigilancia.domain.labelling.scanline import grown

__all__ = ["PolygonRuns", "polygon_runs", "wkb_rings"]


@njit(cache=True, nogil=True)
def _polygon_runs(xs, ys, ring_start, comp_ring, ncomp):  # pragma: no cover - compiled
    """Runs of every component (rings ``comp_ring[c]:comp_ring[c+1]``), by component, row
    and column; -1 in ``bad`` when an edge is neither horizontal nor vertical."""
    cap = 1024
    r_row = np.empty(cap, np.int64)
    r_c0 = np.empty(cap, np.int64)
    r_c1 = np.empty(cap, np.int64)
    r_comp = np.empty(cap, np.int64)
    crow = np.full(ncomp, np.nan)
    npix = np.zeros(ncomp, np.int64)
    n = 0
    bad = -1
    for c in range(ncomp):
        v0 = ring_start[comp_ring[c]]
        v1 = ring_start[comp_ring[c + 1]]
        # the vertical edges of the component's rings: x, top row, bottom row (exclusive)
        ne = 0
        for r in range(comp_ring[c], comp_ring[c + 1]):
            for t in range(ring_start[r], ring_start[r + 1] - 1):
                if xs[t] == xs[t + 1]:
                    if ys[t] != ys[t + 1]:
                        ne += 1
                elif ys[t] != ys[t + 1] and bad < 0:
                    bad = c
        if v1 <= v0 or ne == 0:
            continue
        ex = np.empty(ne, np.int64)
        ey0 = np.empty(ne, np.int64)
        ey1 = np.empty(ne, np.int64)
        k = 0
        for r in range(comp_ring[c], comp_ring[c + 1]):
            for t in range(ring_start[r], ring_start[r + 1] - 1):
                if xs[t] == xs[t + 1] and ys[t] != ys[t + 1]:
                    ex[k] = np.int64(xs[t])
                    ey0[k] = np.int64(min(ys[t], ys[t + 1]))
                    ey1[k] = np.int64(max(ys[t], ys[t + 1]))
                    k += 1
        order = np.argsort(ey0)
        top = ey0[order[0]]
        bottom = ey1.max()
        active = np.empty(ne, np.int64)
        nact = 0
        nxt = 0
        cross = np.empty(ne, np.int64)
        srow = 0.0
        count = 0
        for row in range(top, bottom):
            # edges that end at this row leave; those that start join
            q = 0
            for p in range(nact):
                if ey1[active[p]] > row:
                    active[q] = active[p]
                    q += 1
            nact = q
            while nxt < ne and ey0[order[nxt]] <= row:
                e = order[nxt]
                if ey1[e] > row:
                    active[nact] = e
                    nact += 1
                nxt += 1
            for p in range(nact):
                cross[p] = ex[active[p]]
            cs = np.sort(cross[:nact])
            p = 0
            while p + 1 < nact:
                a = cs[p]
                b = cs[p + 1]
                if b > a:
                    if n == cap:
                        cap *= 2
                        r_row = grown(r_row, n, cap)
                        r_c0 = grown(r_c0, n, cap)
                        r_c1 = grown(r_c1, n, cap)
                        r_comp = grown(r_comp, n, cap)
                    r_row[n] = row
                    r_c0[n] = a
                    r_c1[n] = b
                    r_comp[n] = c
                    n += 1
                    srow += (b - a) * (row + 0.5)
                    count += b - a
                p += 2
        npix[c] = count
        if count:
            crow[c] = srow / count
    return r_row[:n], r_c0[:n], r_c1[:n], r_comp[:n], crow, npix, bad


@dataclass(frozen=True)
class PolygonRuns:
    """The pixel runs of polygons given in pixel coordinates.

    ``row``/``c0``/``c1`` (``c1`` exclusive) and ``comp`` (the polygon each run
    belongs to), sorted by polygon, row and column; per polygon, ``pixels``
    (its pixel count) and ``centroid_row`` (the mean row of its pixel centres,
    the value the labeller gives).
    """

    row: NDArray[np.int64]
    c0: NDArray[np.int64]
    c1: NDArray[np.int64]
    comp: NDArray[np.int64]
    centroid_row: NDArray[np.float64]
    pixels: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.row)

    def by_row(self) -> tuple[Runs, NDArray[np.int64]]:
        """Every run as labeller :class:`Runs` sorted by row and column (as a raster is
        read), and the polygon of each of those runs."""
        order = np.lexsort((self.c0, self.row))
        i4 = np.zeros(len(order), np.int32)
        runs = Runs(self.row[order].astype(np.int32), self.c0[order].astype(np.int32),
                    self.c1[order].astype(np.int32), i4, i4.copy(),
                    np.zeros((len(order), 3), np.int32))
        return runs, self.comp[order]


def polygon_runs(
    xs: NDArray[np.float64],
    ys: NDArray[np.float64],
    ring_start: NDArray[np.int64],
    ring_comp: NDArray[np.int64],
    ncomp: int,
) -> PolygonRuns:
    """The pixel runs of ``ncomp`` polygons whose closed rings are given in pixel coordinates.

    Ring ``k`` spans ``xs/ys[ring_start[k]:ring_start[k+1]]`` (closed: the last
    vertex repeats the first) and belongs to polygon ``ring_comp[k]``
    (ascending). Vertices must be whole pixel corners and edges horizontal or
    vertical (the polygons of raster clearings); a :class:`ValueError` names
    the first polygon that is not so.
    """
    rc = np.asarray(ring_comp, np.int64)
    comp_ring = np.searchsorted(rc, np.arange(ncomp + 1)).astype(np.int64)
    row, c0, c1, comp, crow, npix, bad = _polygon_runs(
        np.ascontiguousarray(xs, np.float64), np.ascontiguousarray(ys, np.float64),
        np.ascontiguousarray(ring_start, np.int64), comp_ring, int(ncomp))
    if bad >= 0:
        raise ValueError(f"polygon {bad} has an edge that is neither horizontal nor vertical")
    return PolygonRuns(row, c0, c1, comp, crow, npix)


@njit(cache=True, nogil=True)
def _u32(buf, at):  # pragma: no cover - compiled
    return (np.int64(buf[at]) | (np.int64(buf[at + 1]) << 8) | (np.int64(buf[at + 2]) << 16)
            | (np.int64(buf[at + 3]) << 24))


@njit(cache=True, nogil=True)
def _wkb_counts(buf, offsets):  # pragma: no cover - compiled
    """Rings and vertices of every geometry; -1 rings where one is not a little-endian 2D
    Polygon or MultiPolygon."""
    n = offsets.size - 1
    nrings = 0
    nverts = 0
    for g in range(n):
        at = offsets[g]
        if buf[at] != 1:
            return -1, 0
        kind = _u32(buf, at + 1)
        at += 5
        parts = 1
        if kind == 6:
            parts = _u32(buf, at)
            at += 4
        elif kind != 3:
            return -1, 0
        for _p in range(parts):
            if kind == 6:
                if buf[at] != 1 or _u32(buf, at + 1) != 3:
                    return -1, 0
                at += 5
            rings = _u32(buf, at)
            at += 4
            for _r in range(rings):
                m = _u32(buf, at)
                at += 4 + 16 * m
                nrings += 1
                nverts += m
        if at != offsets[g + 1]:
            return -1, 0
    return nrings, nverts


@njit(cache=True, nogil=True)
def _wkb_fill(buf, offsets, nrings, nverts):  # pragma: no cover - compiled
    xs = np.empty(nverts, np.float64)
    ys = np.empty(nverts, np.float64)
    ring_start = np.empty(nrings + 1, np.int64)
    ring_comp = np.empty(nrings, np.int64)
    bits = np.empty(1, np.float64)
    raw = bits.view(np.uint8)
    r = 0
    v = 0
    for g in range(offsets.size - 1):
        at = offsets[g]
        kind = _u32(buf, at + 1)
        at += 5
        parts = 1
        if kind == 6:
            parts = _u32(buf, at)
            at += 4
        for _p in range(parts):
            if kind == 6:
                at += 5
            rings = _u32(buf, at)
            at += 4
            for _r in range(rings):
                m = _u32(buf, at)
                at += 4
                ring_start[r] = v
                ring_comp[r] = g
                r += 1
                for _k in range(m):
                    for b in range(8):
                        raw[b] = buf[at + b]
                    xs[v] = bits[0]
                    for b in range(8):
                        raw[b] = buf[at + 8 + b]
                    ys[v] = bits[0]
                    at += 16
                    v += 1
    ring_start[r] = v
    return xs, ys, ring_start, ring_comp


def wkb_rings(
    wkb: list[bytes],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]] | None:
    """The rings of little-endian 2D WKB Polygons and MultiPolygons, without making geometry
    objects: ``(xs, ys, ring_start, ring_comp)`` (ring ``k`` spans
    ``xs/ys[ring_start[k]:ring_start[k+1]]`` and belongs to geometry ``ring_comp[k]``), or
    None when a geometry is of another kind (the caller then reads them with shapely).

    >>> import shapely
    >>> xs, ys, start, comp = wkb_rings([shapely.box(0, 0, 1, 1).wkb])
    >>> len(xs), start.tolist(), comp.tolist()
    (5, [0, 5], [0])
    """
    if not len(wkb):
        e = np.empty(0, np.float64)
        return e, e.copy(), np.zeros(1, np.int64), np.empty(0, np.int64)
    sizes = np.fromiter((len(b) for b in wkb), np.int64, len(wkb))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    buf = np.frombuffer(b"".join(wkb), np.uint8)
    nrings, nverts = _wkb_counts(buf, offsets)
    if nrings < 0:
        return None
    return _wkb_fill(buf, offsets, nrings, nverts)
