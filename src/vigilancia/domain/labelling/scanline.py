"""Labelling, territory overlap: a scanline over the territory edges, run by run.

A pixel belongs to a territory when its centre is inside it (GDAL rasterize and
rasterstats use the same rule), so per-territory areas add up exactly.
:class:`TerritoryScanline` crosses each run's row with the territory edges and
returns, per run and territory, the pixels and hectares inside.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from vigilancia.domain.labelling.runs import Runs


@njit(cache=True, nogil=True, inline="always")
def grown(a, n, cap):  # pragma: no cover - compiled
    """A copy of ``a[:n]`` with room for ``cap`` values."""
    out = np.empty(cap, a.dtype)
    out[:n] = a[:n]
    return out


@njit(cache=True, nogil=True)
def _hits(
    rows, c0, c1, ex0, ey0, ex1, ey1, etid, next_edge, active, nact, row_area_ha
):  # pragma: no cover
    """Per-run territory hits for runs (sorted by row). Edges sorted by ey0 (ey0 < ey1).

    A pixel (r, j) is in territory t when its centre (j+0.5, r+0.5) is inside t by
    the even-odd rule over t's edges. ``active``/``next_edge`` carry the active
    edge table from one call to the next (rows only increase); the table is kept
    sorted by (territory, crossing column), which changes little from a row to
    the next, so an insertion sort restores it in about one pass.
    """
    n = rows.size
    cap = n + 16
    h_run = np.empty(cap, np.int64)
    h_tid = np.empty(cap, np.int64)
    h_pix = np.empty(cap, np.int64)
    h_area = np.empty(cap, np.float64)
    nh = 0
    ne = ex0.size
    xs = np.empty(active.size, np.float64)
    i = 0
    while i < n:
        r = rows[i]
        j = i
        while j < n and rows[j] == r:
            j += 1
        yc = r + 0.5
        # drop the edges that ended above this row (keeping the order), add the new ones
        k = 0
        for q in range(nact):
            e = active[q]
            if ey1[e] > yc:
                active[k] = e
                k += 1
        nact = k
        while next_edge < ne and ey0[next_edge] <= yc:
            if ey1[next_edge] > yc:
                if nact == active.size:
                    active = grown(active, nact, 2 * nact)
                active[nact] = next_edge
                nact += 1
            next_edge += 1
        if xs.size < nact:
            xs = np.empty(active.size, np.float64)
        for q in range(nact):
            e = active[q]
            xs[q] = ex0[e] + (yc - ey0[e]) / (ey1[e] - ey0[e]) * (ex1[e] - ex0[e])
        for q in range(1, nact):  # insertion sort by (territory, crossing column)
            e = active[q]
            x = xs[q]
            t = etid[e]
            p = q - 1
            while p >= 0 and (etid[active[p]] > t or (etid[active[p]] == t and xs[p] > x)):
                active[p + 1] = active[p]
                xs[p + 1] = xs[p]
                p -= 1
            active[p + 1] = e
            xs[p + 1] = x
        # consecutive crossings of one territory bound the pixels inside it
        q = 0
        while q + 1 < nact:
            tid = etid[active[q]]
            if tid != etid[active[q + 1]]:
                q += 1
                continue
            ja = math.ceil(xs[q] - 0.5)
            jb = math.ceil(xs[q + 1] - 0.5)
            if jb > ja:
                # the row's runs are disjoint and sorted, so c1 grows with c0: find the
                # first run ending after ja, then take runs until one starts at jb
                lo_u = i
                hi_u = j
                while lo_u < hi_u:
                    mid = (lo_u + hi_u) >> 1
                    if c1[mid] <= ja:
                        lo_u = mid + 1
                    else:
                        hi_u = mid
                for u in range(lo_u, j):
                    if c0[u] >= jb:
                        break
                    lo = max(c0[u], ja)
                    hi = min(c1[u], jb)
                    if hi > lo:
                        if nh == cap:
                            cap *= 2
                            h_run = grown(h_run, nh, cap)
                            h_tid = grown(h_tid, nh, cap)
                            h_pix = grown(h_pix, nh, cap)
                            h_area = grown(h_area, nh, cap)
                        h_run[nh] = u
                        h_tid[nh] = tid
                        h_pix[nh] = hi - lo
                        h_area[nh] = (hi - lo) * row_area_ha[r]
                        nh += 1
            q += 2
        i = j
    return h_run[:nh], h_tid[:nh], h_pix[:nh], h_area[:nh], next_edge, active, nact


class TerritoryScanline:
    """Territory edges in pixel coordinates, swept downwards row by row.

    ``rings`` are (territory id, array of (col, row) vertices) in pixel
    coordinates of the raster; build them with the raster's inverse transform.
    """

    def __init__(self, rings: list[tuple[int, NDArray[np.float64]]]):
        x0s, y0s, x1s, y1s, tids = [], [], [], [], []
        for tid, pts in rings:
            if len(pts) < 3:
                continue
            a = pts
            b = np.roll(pts, -1, axis=0)
            ya, yb = a[:, 1], b[:, 1]
            keep = ya != yb
            swap = ya > yb
            x0 = np.where(swap, b[:, 0], a[:, 0])[keep]
            y0 = np.where(swap, yb, ya)[keep]
            x1 = np.where(swap, a[:, 0], b[:, 0])[keep]
            y1 = np.where(swap, ya, yb)[keep]
            x0s.append(x0)
            y0s.append(y0)
            x1s.append(x1)
            y1s.append(y1)
            tids.append(np.full(len(x0), tid, np.int64))
        if x0s:
            ex0 = np.concatenate(x0s)
            ey0 = np.concatenate(y0s)
            o = np.argsort(ey0, kind="stable")
            self.ex0 = ex0[o]
            self.ey0 = ey0[o]
            self.ex1 = np.concatenate(x1s)[o]
            self.ey1 = np.concatenate(y1s)[o]
            self.etid = np.concatenate(tids)[o]
        else:
            self.ex0 = self.ey0 = self.ex1 = self.ey1 = np.empty(0, np.float64)
            self.etid = np.empty(0, np.int64)
        self.reset()

    def reset(self) -> None:
        self._next = 0
        self._active = np.empty(1024, np.int64)
        self._nact = 0

    def __len__(self) -> int:
        return len(self.ex0)

    def hits(self, runs: Runs, row_area_ha: NDArray[np.float64]) -> tuple[NDArray[np.int64], ...]:
        """(run index, territory id, pixels, area_ha) for every run/territory overlap."""
        if len(runs) == 0 or len(self.ex0) == 0:
            e = np.empty(0, np.int64)
            return e, e, e, np.empty(0, np.float64)
        h_run, h_tid, h_pix, h_area, self._next, self._active, self._nact = _hits(
            runs.row,
            runs.c0,
            runs.c1,
            self.ex0,
            self.ey0,
            self.ex1,
            self.ey1,
            self.etid,
            self._next,
            self._active,
            self._nact,
            row_area_ha,
        )
        return h_run, h_tid, h_pix, h_area
