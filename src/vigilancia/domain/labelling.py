"""Alert pixels to clearings, one strip of rows at a time, in bounded memory.

The raster is consumed top to bottom in strips. Each strip is reduced to
horizontal *runs* of accepted pixels (a fused lookup-table filter, so a pixel
is decoded once); runs are joined into 8-connected components with union-find
across rows and across strip edges; a component is finished as soon as no run
of it touches the last row seen, and is then measured and traced into rings.
Only the runs of unfinished components are kept, so memory follows the
alert front, not the tile size, and a clearing crossing a strip or tile edge
comes out whole.

Geometry is traced along pixel edges (crack following), keeping the pixel to
the right of the walking direction; diagonally touching parts become separate
simple rings of one MultiPolygon (their point set is the union of the pixel
squares, as GDAL's 8-connected polygonize gives).

Territory overlap is counted per run with a scanline over the territory edges:
a pixel belongs to a territory when its centre is inside it (GDAL rasterize and
rasterstats use the same rule), so per-territory areas add up exactly.

Coordinates here are pixel coordinates (column, row) of pixel corners; the
caller maps them to the raster CRS with its affine transform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from vigilancia.domain.alerts import INVALID

# ---------------------------------------------------------------------------
# 1. strip -> runs
# ---------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _scan(codes, words, conf_lut, day_lut, row0, cap):  # pragma: no cover - compiled
    """``words``: the same rows seen as uint64 (4 pixels each; width 0 when not available),
    so that runs of zeros, most of a tile, are skipped 4 pixels at a time."""
    h, w = codes.shape
    nw = words.shape[1]
    rows = np.empty(cap, np.int32)
    c0 = np.empty(cap, np.int32)
    c1 = np.empty(cap, np.int32)
    dmin = np.empty(cap, np.int32)
    dmax = np.empty(cap, np.int32)
    cnt = np.zeros((cap, 3), np.int32)
    n = 0
    bad = 0
    bad_r = -1
    bad_c = -1
    bad_v = 0
    for i in range(h):
        line = codes[i]
        wl = words[i]
        j = 0
        while j < w:
            v = line[j]
            if v == 0:
                if (j & 3) == 0:
                    q = j >> 2
                    # 32 pixels (a cache line) at a time while they are all zero
                    while q + 8 <= nw and (
                        wl[q] | wl[q + 1] | wl[q + 2] | wl[q + 3]
                        | wl[q + 4] | wl[q + 5] | wl[q + 6] | wl[q + 7]
                    ) == 0:
                        q += 8
                    while q < nw and wl[q] == 0:
                        q += 1
                    if (q << 2) > j:
                        j = q << 2
                        continue
                j += 1
                continue
            k = conf_lut[v]
            if k == 0:
                j += 1
                continue
            if k == 255:
                if bad == 0:
                    bad_r = row0 + i
                    bad_c = j
                    bad_v = v
                bad += 1
                j += 1
                continue
            if n == cap:
                return -1, rows, c0, c1, dmin, dmax, cnt, bad, bad_r, bad_c, bad_v
            start = j
            d = day_lut[v]
            lo = d
            hi = d
            a1 = 0
            a2 = 0
            a3 = 0
            while True:
                if k == 1:
                    a1 += 1
                elif k == 2:
                    a2 += 1
                else:
                    a3 += 1
                if d < lo:
                    lo = d
                if d > hi:
                    hi = d
                j += 1
                if j >= w:
                    break
                v = line[j]
                if v == 0:
                    break
                k = conf_lut[v]
                if k == 0 or k == 255:
                    break
                d = day_lut[v]
            rows[n] = row0 + i
            c0[n] = start
            c1[n] = j
            dmin[n] = lo
            dmax[n] = hi
            cnt[n, 0] = a1
            cnt[n, 1] = a2
            cnt[n, 2] = a3
            n += 1
    return n, rows, c0, c1, dmin, dmax, cnt, bad, bad_r, bad_c, bad_v


@dataclass
class Runs:
    """Horizontal runs of accepted pixels; ``c1`` is exclusive. Sorted by (row, c0)."""

    row: NDArray[np.int32]
    c0: NDArray[np.int32]
    c1: NDArray[np.int32]
    dmin: NDArray[np.int32]  # earliest alert day in the run (days since 1970-01-01)
    dmax: NDArray[np.int32]
    counts: NDArray[np.int32]  # (n, 3): pixels per confidence low, high, highest

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def empty(cls) -> Runs:
        i4 = np.empty(0, np.int32)
        return cls(i4, i4, i4, i4, i4, np.empty((0, 3), np.int32))

    @classmethod
    def concat(cls, parts: list[Runs]) -> Runs:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("row", "c0", "c1", "dmin", "dmax", "counts")
            )
        )

    def take(self, idx: NDArray[np.intp]) -> Runs:
        return Runs(
            self.row[idx],
            self.c0[idx],
            self.c1[idx],
            self.dmin[idx],
            self.dmax[idx],
            self.counts[idx],
        )


@dataclass(frozen=True)
class BadPixels:
    """Pixels whose value the product cannot take (first one, for the error message)."""

    count: int
    row: int
    col: int
    value: int


def scan_strip(
    codes: NDArray[np.integer], conf_lut: NDArray[np.uint8], day_lut: NDArray[np.int32], row0: int
) -> tuple[Runs, BadPixels | None]:
    """Runs of the pixels of ``codes`` (rows ``row0``...) that pass the lookup tables.

    ``conf_lut``/``day_lut`` come from :func:`vigilancia.domain.alerts.lookup_tables`.
    Releases the GIL, so two threads can scan two halves of a strip.
    """
    if codes.size == 0:
        return Runs.empty(), None
    codes = np.ascontiguousarray(codes)
    if codes.dtype == np.uint16 and codes.shape[1] % 4 == 0:
        words = codes.view(np.uint64)
    else:
        words = np.zeros((codes.shape[0], 0), np.uint64)
    cap = max(1024, codes.size // 64)
    while True:
        n, rows, c0, c1, dmin, dmax, cnt, bad, br, bc, bv = _scan(
            codes, words, conf_lut, day_lut, row0, cap
        )
        if n >= 0:
            break
        cap *= 4
    runs = Runs(
        rows[:n].copy(),
        c0[:n].copy(),
        c1[:n].copy(),
        dmin[:n].copy(),
        dmax[:n].copy(),
        cnt[:n].copy(),
    )
    return runs, (BadPixels(int(bad), int(br), int(bc), int(bv)) if bad else None)


assert INVALID == 255  # the kernel tests the literal

# ---------------------------------------------------------------------------
# 2. union-find over runs
# ---------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _find(parent, x):  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _link(row, c0, c1, parent, start, end):  # pragma: no cover - compiled
    """Join runs [start, end) with the 8-adjacent runs of the row above (which may be < start)."""
    i = start
    while i < end:
        r = row[i]
        j = i
        while j < end and row[j] == r:
            j += 1
        p_end = i
        p = i - 1
        while p >= 0 and row[p] == r - 1:
            p -= 1
        p_start = p + 1
        a = p_start
        for k in range(i, j):
            while a < p_end and c1[a] < c0[k]:
                a += 1
            b = a
            while b < p_end and c0[b] <= c1[k]:
                ra = _find(parent, k)
                rb = _find(parent, b)
                if ra != rb:
                    if ra < rb:
                        parent[rb] = ra
                    else:
                        parent[ra] = rb
                b += 1
        i = j


@njit(cache=True, nogil=True)
def _roots(parent):  # pragma: no cover - compiled
    out = np.empty(parent.size, np.int64)
    for i in range(parent.size):
        out[i] = _find(parent, i)
    return out


# ---------------------------------------------------------------------------
# 3. finished components -> features and rings
# ---------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _trace(
    bm, visited, vmark, h, w, oc, orow, xs, ys, nv, ring_start, ring_sign, ring_pinch, nr
):  # pragma: no cover
    """Trace every boundary ring of bitmap ``bm`` (padded by 1). Appends vertices to xs/ys."""
    # directions: 0 east, 1 south, 2 west, 3 north (y grows downwards)
    dxs = (1, 0, -1, 0)
    dys = (0, 1, 0, -1)
    for y in range(h + 1):
        for x in range(w):
            above = bm[y, x + 1]
            below = bm[y + 1, x + 1]
            if above == below or visited[y, x]:
                continue
            # start edge: east when the foreground is below (on the right), west otherwise
            if below:
                d = 0
                vx = x
                vy = y
            else:
                d = 2
                vx = x + 1
                vy = y
            sx = vx
            sy = vy
            sd = d
            ring_start[nr] = nv
            ring_pinch[nr] = 0
            first = True
            area2 = 0
            lastx = vx
            lasty = vy
            while True:
                # traverse current edge
                if d == 0:
                    visited[vy, vx] = 1
                elif d == 2:
                    visited[vy, vx - 1] = 1
                vx += dxs[d]
                vy += dys[d]
                # choose the next direction: right, straight, left
                nd = -1
                for t in range(3):
                    if t == 0:
                        cand = (d + 1) % 4
                    elif t == 1:
                        cand = d
                    else:
                        cand = (d + 3) % 4
                    # right/left pixels of edge leaving (vx, vy) in direction cand (padded bitmap)
                    if cand == 0:
                        rp = bm[vy + 1, vx + 1]
                        lp = bm[vy, vx + 1]
                    elif cand == 1:
                        rp = bm[vy + 1, vx]
                        lp = bm[vy + 1, vx + 1]
                    elif cand == 2:
                        rp = bm[vy, vx]
                        lp = bm[vy + 1, vx]
                    else:
                        rp = bm[vy, vx + 1]
                        lp = bm[vy, vx]
                    if rp == 1 and lp == 0:
                        nd = cand
                        break
                if vx == sx and vy == sy and nd == sd:
                    break
                if nd != d:
                    if vmark[vy, vx] == nr + 1:
                        ring_pinch[nr] = 1
                    vmark[vy, vx] = nr + 1
                    gx = vx + oc
                    gy = vy + orow
                    xs[nv] = gx
                    ys[nv] = gy
                    if not first:
                        area2 += lastx * gy - gx * lasty
                    else:
                        first = False
                    lastx = gx
                    lasty = gy
                    nv += 1
                d = nd
            # start vertex is a corner only if the ring turns there
            if d != sd:
                if vmark[sy, sx] == nr + 1:
                    ring_pinch[nr] = 1
                vmark[sy, sx] = nr + 1
                gx = sx + oc
                gy = sy + orow
                xs[nv] = gx
                ys[nv] = gy
                area2 += lastx * gy - gx * lasty
                lastx = gx
                lasty = gy
                nv += 1
            # close
            gx = xs[ring_start[nr]]
            gy = ys[ring_start[nr]]
            area2 += lastx * gy - gx * lasty
            xs[nv] = gx
            ys[nv] = gy
            nv += 1
            ring_sign[nr] = 1 if area2 > 0 else -1
            nr += 1
    return nv, nr


@njit(cache=True, nogil=True)
def _hull_rect(px, py, sx, sy):  # pragma: no cover - compiled
    """Minimum-area rectangle of points (pixel coords scaled by sx, sy metres; y up).

    Returns length, width (m) and orientation of the long side in degrees
    clockwise from north, in [0, 180).
    """
    n = px.size
    key = px.astype(np.int64) * 4194304 + py.astype(np.int64)
    order = np.argsort(key)
    hx = np.empty(2 * n + 1, np.float64)
    hy = np.empty(2 * n + 1, np.float64)
    k = 0
    # Andrew's monotone chain on integer pixel coordinates
    for ii in range(n):
        i = order[ii]
        x = px[i]
        y = py[i]
        while (
            k >= 2
            and (hx[k - 1] - hx[k - 2]) * (y - hy[k - 2])
            - (hy[k - 1] - hy[k - 2]) * (x - hx[k - 2])
            <= 0
        ):
            k -= 1
        hx[k] = x
        hy[k] = y
        k += 1
    lower = k + 1
    for ii in range(n - 2, -1, -1):
        i = order[ii]
        x = px[i]
        y = py[i]
        while (
            k >= lower
            and (hx[k - 1] - hx[k - 2]) * (y - hy[k - 2])
            - (hy[k - 1] - hy[k - 2]) * (x - hx[k - 2])
            <= 0
        ):
            k -= 1
        hx[k] = x
        hy[k] = y
        k += 1
    m = k - 1
    # metric, y up
    for i in range(k):
        hx[i] = hx[i] * sx
        hy[i] = -hy[i] * sy
    best = np.inf
    bl = 0.0
    bw = 0.0
    bang = 0.0
    for e in range(m):
        ex = hx[e + 1] - hx[e]
        ey = hy[e + 1] - hy[e]
        L = math.hypot(ex, ey)
        if L == 0:
            continue
        ux = ex / L
        uy = ey / L
        mn_u = np.inf
        mx_u = -np.inf
        mn_v = np.inf
        mx_v = -np.inf
        for i in range(m):
            u = hx[i] * ux + hy[i] * uy
            v = -hx[i] * uy + hy[i] * ux
            mn_u = min(mn_u, u)
            mx_u = max(mx_u, u)
            mn_v = min(mn_v, v)
            mx_v = max(mx_v, v)
        du = mx_u - mn_u
        dv = mx_v - mn_v
        a = du * dv
        if a < best - 1e-9:
            best = a
            if du >= dv:
                bl = du
                bw = dv
                ang = math.degrees(math.atan2(ux, uy))
            else:
                bl = dv
                bw = du
                ang = math.degrees(math.atan2(-uy, ux))
            bang = ang % 180.0
    return bl, bw, bang


@njit(cache=True, nogil=True)
def _finish(
    order, starts, row, c0, c1, dmin, dmax, counts, row_area_ha, mx, my, ysign
):  # pragma: no cover - compiled
    """Measure and trace the components listed by ``order``/``starts``
    (runs grouped by component)."""
    ncomp = starts.size - 1
    npix_tot = 0
    for ii in range(order.size):
        i = order[ii]
        npix_tot += c1[i] - c0[i]
    # corners <= boundary edges <= 4 per pixel, plus one closing vertex per ring
    vcap = 6 * npix_tot + 8 * ncomp + 16
    xs = np.empty(vcap, np.float64)
    ys = np.empty(vcap, np.float64)
    rcap = 2 * npix_tot + ncomp + 4
    ring_start = np.empty(rcap + 1, np.int64)
    ring_sign = np.empty(rcap, np.int8)
    ring_comp = np.empty(rcap, np.int64)
    ring_pinch = np.empty(rcap, np.int8)
    feats = np.empty(
        (ncomp, 9), np.float64
    )  # area, perim, length, width, orient, ccol, crow, r0, r1
    ints = np.empty((ncomp, 6), np.int64)  # npix, n1, n2, n3, dmin, dmax
    nv = 0
    nr = 0
    for c in range(ncomp):
        a = starts[c]
        b = starts[c + 1]
        rmin = 1 << 30
        rmax = -1
        cmin = 1 << 30
        cmax = -1
        npix = 0
        n1 = 0
        n2 = 0
        n3 = 0
        lo = 1 << 30
        hi = -(1 << 30)
        area = 0.0
        scol = 0.0
        srow = 0.0
        for ii in range(a, b):
            i = order[ii]
            r = row[i]
            ln = c1[i] - c0[i]
            rmin = min(rmin, r)
            rmax = max(rmax, r)
            cmin = min(cmin, c0[i])
            cmax = max(cmax, c1[i])
            npix += ln
            n1 += counts[i, 0]
            n2 += counts[i, 1]
            n3 += counts[i, 2]
            lo = min(lo, dmin[i])
            hi = max(hi, dmax[i])
            area += ln * row_area_ha[r]
            scol += ln * (c0[i] + c1[i]) * 0.5
            srow += ln * (r + 0.5)
        if b - a == 1:
            # one run: a rectangle of pixels, traced as the general path would trace it
            r = rmin
            r_first = nr
            ring_start[nr] = nv
            ring_sign[nr] = 1
            ring_pinch[nr] = 0
            ring_comp[nr] = c
            for vx, vy in ((cmax, r), (cmax, r + 1), (cmin, r + 1), (cmin, r), (cmax, r)):
                xs[nv] = vx
                ys[nv] = vy
                nv += 1
            nr += 1
            ring_start[nr] = nv
            below = min(r + 1, row_area_ha.size - 1)
            per = (cmax - cmin) * (mx[r] + mx[below]) + 2.0 * my[r]
            # its minimum rectangle is itself (what _hull_rect gives for the four corners:
            # the long side's orientation, 90 degrees for a row of pixels, 0 for a column)
            rc = min(int(srow / npix), row_area_ha.size - 1)
            along = (cmax - cmin) * mx[rc]
            across = abs(my[rc] * ysign)
            if along >= across:
                ln_, wd_, ang = along, across, 90.0
            else:
                ln_, wd_, ang = across, along, 0.0
            feats[c, 0] = area
            feats[c, 1] = per
            feats[c, 2] = ln_
            feats[c, 3] = wd_
            feats[c, 4] = ang
            feats[c, 5] = scol / npix
            feats[c, 6] = srow / npix
            feats[c, 7] = rmin
            feats[c, 8] = rmax
            ints[c, 0] = npix
            ints[c, 1] = n1
            ints[c, 2] = n2
            ints[c, 3] = n3
            ints[c, 4] = lo
            ints[c, 5] = hi
            continue
        h = rmax - rmin + 1
        w = cmax - cmin
        bm = np.zeros((h + 2, w + 2), np.uint8)
        for ii in range(a, b):
            i = order[ii]
            rr = row[i] - rmin + 1
            for cc in range(c0[i] - cmin + 1, c1[i] - cmin + 1):
                bm[rr, cc] = 1
        visited = np.zeros((h + 1, w), np.uint8)
        vmark = np.zeros((h + 1, w + 1), np.int32)
        r_first = nr
        nv, nr = _trace(
            bm, visited, vmark, h, w, cmin, rmin, xs, ys, nv, ring_start, ring_sign, ring_pinch, nr
        )
        ring_start[nr] = nv  # end of the last ring, so ring q spans ring_start[q]:ring_start[q+1]
        for q in range(r_first, nr):
            ring_comp[q] = c
        # perimeter in metres: walk the rings
        per = 0.0
        for q in range(r_first, nr):
            s = ring_start[q]
            e = ring_start[q + 1]
            for t in range(s, e - 1):
                ddx = abs(xs[t + 1] - xs[t])
                ddy = abs(ys[t + 1] - ys[t])
                rr = int(min(ys[t], ys[t + 1]))
                if rr >= row_area_ha.size:
                    rr = row_area_ha.size - 1
                per += ddx * mx[rr] + ddy * my[rr]
        # minimum rotated rectangle of the shells, in a local metric frame at the centroid
        ccol = scol / npix
        crow = srow / npix
        rc = min(int(crow), row_area_ha.size - 1)
        nsh = 0
        for q in range(r_first, nr):
            if ring_sign[q] > 0:
                s = ring_start[q]
                e = ring_start[q + 1]
                nsh += e - s - 1
        px = np.empty(nsh, np.float64)
        py = np.empty(nsh, np.float64)
        k = 0
        for q in range(r_first, nr):
            if ring_sign[q] > 0:
                s = ring_start[q]
                e = ring_start[q + 1]
                for t in range(s, e - 1):
                    px[k] = xs[t] - cmin
                    py[k] = ys[t] - rmin
                    k += 1
        ln_, wd_, ang = _hull_rect(px, py, mx[rc], my[rc] * ysign)
        feats[c, 0] = area
        feats[c, 1] = per
        feats[c, 2] = ln_
        feats[c, 3] = wd_
        feats[c, 4] = ang
        feats[c, 5] = ccol
        feats[c, 6] = crow
        feats[c, 7] = rmin
        feats[c, 8] = rmax
        ints[c, 0] = npix
        ints[c, 1] = n1
        ints[c, 2] = n2
        ints[c, 3] = n3
        ints[c, 4] = lo
        ints[c, 5] = hi
    ring_start[nr] = nv
    return (
        feats,
        ints,
        xs[:nv].copy(),
        ys[:nv].copy(),
        ring_start[: nr + 1].copy(),
        ring_sign[:nr].copy(),
        ring_comp[:nr].copy(),
        ring_pinch[:nr].copy(),
    )


@dataclass(frozen=True)
class Components:
    """Finished clearings in pixel space.

    ``rings``: vertices ``xs/ys`` (pixel-corner column/row), ring ``k`` spans
    ``ring_start[k]:ring_start[k+1]`` (closed), belongs to component
    ``ring_comp[k]`` and is an outer ring when ``ring_sign[k] > 0``.
    ``key`` is a stable id of each component inside its raster: the position of
    its first pixel in raster order (row * width + column).
    """

    area_ha: NDArray[np.float64]
    perimeter_m: NDArray[np.float64]
    length_m: NDArray[np.float64]
    width_m: NDArray[np.float64]
    orientation_deg: NDArray[np.float64]
    centroid_col: NDArray[np.float64]
    centroid_row: NDArray[np.float64]
    pixel_count: NDArray[np.int64]
    pixels: NDArray[np.int64]  # (n, 3) low, high, highest
    first_day: NDArray[np.int64]  # days since 1970-01-01
    last_day: NDArray[np.int64]
    first_row: NDArray[np.int64]
    first_col: NDArray[np.int64]
    xs: NDArray[np.float64]
    ys: NDArray[np.float64]
    ring_start: NDArray[np.int64]
    ring_sign: NDArray[np.int8]
    ring_comp: NDArray[np.int64]
    ring_pinch: NDArray[np.int8]  # 1 where the ring touches itself at a corner

    def __len__(self) -> int:
        return len(self.area_ha)


@dataclass(frozen=True)
class Overlaps:
    """Pixels of component ``comp[k]`` whose centre is inside territory ``territory[k]``."""

    comp: NDArray[np.int64]
    territory: NDArray[np.int64]
    pixels: NDArray[np.int64]
    area_ha: NDArray[np.float64]


# ---------------------------------------------------------------------------
# 4. territory scanline
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# 5. the streaming labeller
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PixelGrid:
    """Metric size of the raster's pixels per row (index = pixel row).

    ``row_area_ha``: area of one pixel of the row in hectares (equal-area);
    ``mx``/``my``: metres per pixel along columns and rows; ``ysign`` is 1 for
    north-up rasters (rows grow southwards) and -1 otherwise.
    """

    row_area_ha: NDArray[np.float64]
    mx: NDArray[np.float64]
    my: NDArray[np.float64]
    width: int
    ysign: float = 1.0


class Labeller:
    """Streaming 8-connected labelling of runs, strip after strip.

    >>> import numpy as np
    >>> from vigilancia.domain.alerts import lookup_tables, AlertFilter
    >>> conf, day = lookup_tables("gfw", AlertFilter())
    >>> grid = PixelGrid(np.full(4, 0.09), np.full(4, 30.0), np.full(4, 30.0), width=4)
    >>> lab = Labeller(grid)
    >>> a = np.array([[20001, 0, 0, 0], [0, 20002, 0, 0]], np.uint16)
    >>> lab.push(scan_strip(a, conf, day, 0)[0], last_row=1)
    >>> comps, _ = lab.finish()
    >>> int(comps.pixel_count[0])
    2
    """

    def __init__(self, grid: PixelGrid, scanline: TerritoryScanline | None = None):
        self.grid = grid
        self.scanline = scanline
        self._runs = Runs.empty()
        self._parent = np.empty(0, np.int64)
        self._hit_run = np.empty(0, np.int64)  # index into self._runs
        self._hit_tid = np.empty(0, np.int64)
        self._hit_pix = np.empty(0, np.int64)
        self._hit_area = np.empty(0, np.float64)
        self._ready: list[tuple[Components, Overlaps]] = []

    @property
    def active_runs(self) -> int:
        return len(self._runs)

    def push(self, runs: Runs, last_row: int) -> None:
        """Add the runs of rows up to ``last_row`` (inclusive); finish what can no longer grow."""
        base = len(self._runs)
        if len(runs):
            if self.scanline is not None:
                h_run, h_tid, h_pix, h_area = self.scanline.hits(runs, self.grid.row_area_ha)
                self._hit_run = np.concatenate([self._hit_run, h_run + base])
                self._hit_tid = np.concatenate([self._hit_tid, h_tid])
                self._hit_pix = np.concatenate([self._hit_pix, h_pix])
                self._hit_area = np.concatenate([self._hit_area, h_area])
            self._runs = Runs.concat([self._runs, runs])
            self._parent = np.concatenate(
                [self._parent, np.arange(base, base + len(runs), dtype=np.int64)]
            )
            r = self._runs
            _link(r.row, r.c0, r.c1, self._parent, base, len(r))
        self._harvest(last_row)

    def finish(self) -> tuple[Components, Overlaps]:
        """Finish every remaining component and return all components not yet taken."""
        self._harvest(None)
        return self.take()

    def take(self) -> tuple[Components, Overlaps]:
        """Components finished so far (and their territory overlaps); they are handed out once."""
        ready, self._ready = self._ready, []
        return _concat_components(ready)

    def _harvest(self, last_row: int | None) -> None:
        n = len(self._runs)
        if n == 0:
            return
        roots = _roots(self._parent)
        if last_row is None:
            done = np.ones(n, bool)
        else:
            alive = np.zeros(n, bool)
            at_front = self._runs.row == last_row
            alive[roots[at_front]] = True
            done = ~alive[roots]
        if not done.any():
            return
        fin = np.flatnonzero(done)
        froots = roots[fin]
        o = np.argsort(froots, kind="stable")
        order = fin[o]
        sroots = froots[o]
        starts = np.flatnonzero(np.r_[True, sroots[1:] != sroots[:-1], True]).astype(np.int64)
        r = self._runs
        g = self.grid
        feats, ints, xs, ys, ring_start, ring_sign, ring_comp, ring_pinch = _finish(
            order,
            starts,
            r.row,
            r.c0,
            r.c1,
            r.dmin,
            r.dmax,
            r.counts,
            g.row_area_ha,
            g.mx,
            g.my,
            g.ysign,
        )
        first = order[starts[:-1]]  # first run of each component in raster order
        comps = Components(
            area_ha=feats[:, 0],
            perimeter_m=feats[:, 1],
            length_m=feats[:, 2],
            width_m=feats[:, 3],
            orientation_deg=feats[:, 4],
            centroid_col=feats[:, 5],
            centroid_row=feats[:, 6],
            pixel_count=ints[:, 0],
            pixels=ints[:, 1:4],
            first_day=ints[:, 4],
            last_day=ints[:, 5],
            first_row=r.row[first].astype(np.int64),
            first_col=r.c0[first].astype(np.int64),
            xs=xs,
            ys=ys,
            ring_start=ring_start,
            ring_sign=ring_sign,
            ring_comp=ring_comp,
            ring_pinch=ring_pinch,
        )
        # territory overlaps of the finished components
        comp_of_run = np.full(n, -1, np.int64)
        comp_of_run[order] = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
        hc = comp_of_run[self._hit_run] if len(self._hit_run) else np.empty(0, np.int64)
        hsel = hc >= 0
        ov = _aggregate_overlaps(
            hc[hsel], self._hit_tid[hsel], self._hit_pix[hsel], self._hit_area[hsel]
        )
        self._ready.append((comps, ov))
        # keep only unfinished runs, re-indexed
        keep = np.flatnonzero(~done)
        newidx = np.full(n, -1, np.int64)
        newidx[keep] = np.arange(len(keep))
        self._runs = r.take(keep)
        self._parent = newidx[roots[keep]]
        if len(self._hit_run):
            hk = ~hsel
            self._hit_run = newidx[self._hit_run[hk]]
            self._hit_tid = self._hit_tid[hk]
            self._hit_pix = self._hit_pix[hk]
            self._hit_area = self._hit_area[hk]


def _aggregate_overlaps(
    comp: NDArray[np.int64],
    tid: NDArray[np.int64],
    pix: NDArray[np.int64],
    area: NDArray[np.float64],
) -> Overlaps:
    if len(comp) == 0:
        e = np.empty(0, np.int64)
        return Overlaps(e, e, e, np.empty(0, np.float64))
    # one int64 key per (component, territory): both are below 2**31
    keys = (comp.astype(np.int64) << 32) | tid.astype(np.int64)
    uniq, inv = np.unique(keys, return_inverse=True)
    return Overlaps(
        comp=uniq >> 32,
        territory=uniq & 0xFFFFFFFF,
        pixels=np.bincount(inv, weights=pix).astype(np.int64),
        area_ha=np.asarray(np.bincount(inv, weights=area), np.float64),
    )


def _concat_components(parts: list[tuple[Components, Overlaps]]) -> tuple[Components, Overlaps]:
    if not parts:
        i8 = np.empty(0, np.int64)
        f8 = np.empty(0, np.float64)
        comps = Components(
            f8,
            f8,
            f8,
            f8,
            f8,
            f8,
            f8,
            i8,
            np.empty((0, 3), np.int64),
            i8,
            i8,
            i8,
            i8,
            f8,
            f8,
            np.zeros(1, np.int64),
            np.empty(0, np.int8),
            i8,
            np.empty(0, np.int8),
        )
        return comps, Overlaps(i8, i8, i8, f8)
    if len(parts) == 1:
        return parts[0]
    ncomp = 0
    nvert = 0
    cs, ovs = [], []
    ring_starts, ring_comps = [], []
    for comps, ov in parts:
        cs.append(comps)
        ring_starts.append(comps.ring_start[:-1] + nvert)
        ring_comps.append(comps.ring_comp + ncomp)
        ovs.append(Overlaps(ov.comp + ncomp, ov.territory, ov.pixels, ov.area_ha))
        ncomp += len(comps)
        nvert += len(comps.xs)
    ring_starts.append(np.array([nvert], np.int64))

    def cat(name: str) -> NDArray[Any]:
        return np.concatenate([getattr(c, name) for c in cs])

    comps = Components(
        area_ha=cat("area_ha"),
        perimeter_m=cat("perimeter_m"),
        length_m=cat("length_m"),
        width_m=cat("width_m"),
        orientation_deg=cat("orientation_deg"),
        centroid_col=cat("centroid_col"),
        centroid_row=cat("centroid_row"),
        pixel_count=cat("pixel_count"),
        pixels=cat("pixels"),
        first_day=cat("first_day"),
        last_day=cat("last_day"),
        first_row=cat("first_row"),
        first_col=cat("first_col"),
        xs=cat("xs"),
        ys=cat("ys"),
        ring_start=np.concatenate(ring_starts),
        ring_sign=cat("ring_sign"),
        ring_comp=np.concatenate(ring_comps),
        ring_pinch=cat("ring_pinch"),
    )
    ov = Overlaps(
        *(
            np.concatenate([getattr(o, f) for o in ovs])
            for f in ("comp", "territory", "pixels", "area_ha")
        )
    )
    return comps, ov


# ---------------------------------------------------------------------------
# 6. pixel metrics of a lon/lat grid (exact, on the WGS84 ellipsoid)
# ---------------------------------------------------------------------------

_A = 6378137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)


def _authalic_q(lat_rad: NDArray[np.float64]) -> NDArray[np.float64]:
    s = np.sin(lat_rad)
    return (1 - _E2) * (
        s / (1 - _E2 * s * s) - (1 / (2 * _E)) * np.log((1 - _E * s) / (1 + _E * s))
    )


def geographic_grid(top_lat: float, dlat: float, dlon: float, height: int, width: int) -> PixelGrid:
    """Exact pixel areas and local scales for a lon/lat grid (degrees; ``dlat`` > 0 for north-up).

    The area of a cell between two parallels is ``a^2 * dlon * (q(lat1) - q(lat2)) / 2``
    with ``q`` the authalic function of the WGS84 ellipsoid; pixel edge lengths
    use the radii of curvature at the row centre.

    >>> g = geographic_grid(0.00025, 0.00025, 0.00025, 1, 1)  # at the equator
    >>> round(float(g.row_area_ha[0]), 6)  # 27.83 m x 27.64 m
    0.076932
    """
    edges = np.radians(top_lat - dlat * np.arange(height + 1, dtype=np.float64))
    q = _authalic_q(edges)
    area_m2 = np.abs(_A * _A * math.radians(dlon) * (q[:-1] - q[1:]) / 2)
    centre = (edges[:-1] + edges[1:]) / 2
    s2 = np.sin(centre) ** 2
    n_rad = _A / np.sqrt(1 - _E2 * s2)  # prime vertical radius
    m_rad = _A * (1 - _E2) / (1 - _E2 * s2) ** 1.5  # meridional radius
    mx = n_rad * np.cos(centre) * math.radians(dlon)
    my = m_rad * math.radians(abs(dlat))
    return PixelGrid(area_m2 / 1e4, mx, my, width, 1.0 if dlat > 0 else -1.0)


def projected_grid(dx_m: float, dy_m: float, height: int, width: int) -> PixelGrid:
    """Pixel metrics for a projected grid in metres (``dy_m`` > 0 for north-up)."""
    return PixelGrid(
        np.full(height, abs(dx_m * dy_m) / 1e4),
        np.full(height, abs(dx_m)),
        np.full(height, abs(dy_m)),
        width,
        1.0 if dy_m > 0 else -1.0,
    )


# ---------------------------------------------------------------------------
# 7. rings -> shapely geometries
# ---------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _shoelace2(xs, ys, s, e):  # pragma: no cover - compiled
    a = 0.0
    for t in range(s, e - 1):
        a += xs[t] * ys[t + 1] - xs[t + 1] * ys[t]
    return a


@njit(cache=True, nogil=True)
def _simple_rings(xs, ys, ring_start, ring_comp, ring_pinch):  # pragma: no cover - compiled
    """Split every ring that touches itself at a corner into simple closed loops.

    A pinched ring visits a pixel corner twice; cutting it there gives loops
    that each keep the walking direction (foreground on the right), so a loop's
    signed area still says whether it is an outer ring (> 0) or a hole.
    Returns (xs, ys, ring_start, ring_comp, area2) of the simple rings.
    """
    nring = ring_comp.size
    extra = 0
    for r in range(nring):
        if ring_pinch[r]:
            extra += ring_start[r + 1] - ring_start[r]
    ox = np.empty(xs.size + extra, np.float64)
    oy = np.empty(xs.size + extra, np.float64)
    ostart = np.empty(nring + extra + 1, np.int64)
    ocomp = np.empty(nring + extra, np.int64)
    m = 0
    k = 0
    for r in range(nring):
        s = ring_start[r]
        e = ring_start[r + 1]
        if not ring_pinch[r]:
            ostart[k] = m
            ocomp[k] = ring_comp[r]
            for t in range(s, e):
                ox[m] = xs[t]
                oy[m] = ys[t]
                m += 1
            k += 1
            continue
        n = e - s - 1  # distinct positions (the last vertex repeats the first)
        x0 = xs[s]
        y0 = ys[s]
        for t in range(s, e - 1):
            x0 = min(x0, xs[t])
            y0 = min(y0, ys[t])
        keys = np.empty(n, np.int64)
        for i in range(n):
            keys[i] = np.int64(xs[s + i] - x0) * 4294967296 + np.int64(ys[s + i] - y0)
        order = np.argsort(keys)
        grp = np.empty(n, np.int64)
        g = -1
        for ii in range(n):
            if ii == 0 or keys[order[ii]] != keys[order[ii - 1]]:
                g += 1
            grp[order[ii]] = g
        pos = np.full(g + 1, -1, np.int64)
        stack = np.empty(n, np.int64)
        top = 0
        for i in range(n):
            gi = grp[i]
            p = pos[gi]
            if p >= 0:  # back at a corner already on the path: the loop since then is closed
                ostart[k] = m
                ocomp[k] = ring_comp[r]
                for q in range(p, top):
                    ox[m] = xs[s + stack[q]]
                    oy[m] = ys[s + stack[q]]
                    m += 1
                ox[m] = xs[s + stack[p]]
                oy[m] = ys[s + stack[p]]
                m += 1
                k += 1
                for q in range(p + 1, top):
                    pos[grp[stack[q]]] = -1
                top = p + 1
            else:
                pos[gi] = top
                stack[top] = i
                top += 1
        if top >= 3:
            ostart[k] = m
            ocomp[k] = ring_comp[r]
            for q in range(top):
                ox[m] = xs[s + stack[q]]
                oy[m] = ys[s + stack[q]]
                m += 1
            ox[m] = xs[s + stack[0]]
            oy[m] = ys[s + stack[0]]
            m += 1
            k += 1
    ostart[k] = m
    area2 = np.empty(k, np.float64)
    for q in range(k):
        area2[q] = _shoelace2(ox, oy, ostart[q], ostart[q + 1])
    return ox[:m].copy(), oy[:m].copy(), ostart[: k + 1].copy(), ocomp[:k].copy(), area2


@njit(cache=True, nogil=True)
def point_in_ring(px, py, xs, ys, s, e):  # pragma: no cover - compiled
    """Even-odd test of a point against the closed ring ``xs/ys[s:e]``."""
    inside = False
    for t in range(s, e - 1):
        ay = ys[t]
        by = ys[t + 1]
        if (ay > py) != (by > py) and px < xs[t] + (py - ay) * (xs[t + 1] - xs[t]) / (by - ay):
            inside = not inside
    return inside


@njit(cache=True, nogil=True)
def _assemble(xs, ys, ring_start, ring_comp, area2):  # pragma: no cover - compiled
    """Group simple rings into polygons: each outer ring with the holes it holds.

    Returns (ring_poly, poly_comp): the polygon of each ring and the component
    of each polygon. A hole goes to the smallest outer ring of its component
    that contains the centre of a foreground pixel along the hole's first edge.
    """
    nring = ring_comp.size
    ring_poly = np.full(nring, -1, np.int64)
    poly_comp = np.empty(nring, np.int64)
    npoly = 0
    a = 0
    while a < nring:
        b = a
        while b < nring and ring_comp[b] == ring_comp[a]:
            b += 1
        first = npoly
        for r in range(a, b):
            if area2[r] > 0:
                ring_poly[r] = npoly
                poly_comp[npoly] = ring_comp[r]
                npoly += 1
        if npoly - first == 1:
            for r in range(a, b):
                ring_poly[r] = first
        else:
            for r in range(a, b):
                if area2[r] > 0:
                    continue
                s = ring_start[r]
                dx = xs[s + 1] - xs[s]
                dy = ys[s + 1] - ys[s]
                # the foreground pixel on the right of the first step (y grows downwards)
                if dx > 0:
                    px, py = xs[s] + 0.5, ys[s] + 0.5
                elif dx < 0:
                    px, py = xs[s] - 0.5, ys[s] - 0.5
                elif dy > 0:
                    px, py = xs[s] - 0.5, ys[s] + 0.5
                else:
                    px, py = xs[s] + 0.5, ys[s] - 0.5
                best = -1
                best_area = np.inf
                for q in range(a, b):
                    if area2[q] <= 0 or area2[q] >= best_area:
                        continue
                    if point_in_ring(px, py, xs, ys, ring_start[q], ring_start[q + 1]):
                        best = q
                        best_area = area2[q]
                ring_poly[r] = ring_poly[best] if best >= 0 else first
        a = b
    return ring_poly, poly_comp[:npoly].copy()


@njit(cache=True, nogil=True)
def _put_u32(buf, at, v):  # pragma: no cover - compiled
    for k in range(4):
        buf[at + k] = (v >> (8 * k)) & 0xFF
    return at + 4


@njit(cache=True, nogil=True)
def _put_f64(buf, at, v, bits, raw):  # pragma: no cover - compiled
    """``bits``: a float64 scratch array of one value, ``raw`` its bytes (made once)."""
    bits[0] = v
    for k in range(8):
        buf[at + k] = raw[k]
    return at + 8


@njit(cache=True, nogil=True)
def _encode_wkb(
    xs, ys, ring_start, order, ring_poly, poly_comp, ncomp, a, b, c, d, e, f
):  # pragma: no cover - compiled
    """Little-endian ISO WKB of every component, and its bounds, from simple rings.

    ``order`` lists the rings polygon by polygon (outer ring first, then its
    holes); ``ring_poly``/``poly_comp`` map rings to polygons and polygons to
    components (both ascending along ``order``). A component of one polygon is a
    Polygon, of several a MultiPolygon. Coordinates go through the affine
    (x = a*col + b*row + c, y = d*col + e*row + f).
    """
    npoly = poly_comp.size
    parts = np.zeros(ncomp, np.int64)
    for p in range(npoly):
        parts[poly_comp[p]] += 1
    rings_of = np.zeros(npoly, np.int64)
    for r in range(order.size):
        rings_of[ring_poly[order[r]]] += 1
    size = np.zeros(ncomp + 1, np.int64)
    for cc in range(ncomp):
        size[cc + 1] = 9 if parts[cc] > 1 else 0
    for p in range(npoly):
        size[poly_comp[p] + 1] += 9
    for r in range(order.size):
        q = order[r]
        size[poly_comp[ring_poly[q]] + 1] += 4 + 16 * (ring_start[q + 1] - ring_start[q])
    offsets = np.cumsum(size)
    buf = np.empty(offsets[-1], np.uint8)
    bounds = np.empty((ncomp, 4), np.float64)
    for cc in range(ncomp):
        bounds[cc, 0] = np.inf
        bounds[cc, 1] = np.inf
        bounds[cc, 2] = -np.inf
        bounds[cc, 3] = -np.inf
    bits = np.empty(1, np.float64)
    raw = bits.view(np.uint8)
    at = 0
    r = 0
    p = 0
    while p < npoly:
        comp = poly_comp[p]
        if parts[comp] > 1:
            buf[at] = 1
            at = _put_u32(buf, at + 1, 6)
            at = _put_u32(buf, at, parts[comp])
        for _ in range(parts[comp]):
            buf[at] = 1
            at = _put_u32(buf, at + 1, 3)
            at = _put_u32(buf, at, rings_of[p])
            for _k in range(rings_of[p]):
                q = order[r]
                s0 = ring_start[q]
                s1 = ring_start[q + 1]
                at = _put_u32(buf, at, s1 - s0)
                for t in range(s0, s1):
                    x = a * xs[t] + b * ys[t] + c
                    y = d * xs[t] + e * ys[t] + f
                    at = _put_f64(buf, at, x, bits, raw)
                    at = _put_f64(buf, at, y, bits, raw)
                    bounds[comp, 0] = min(bounds[comp, 0], x)
                    bounds[comp, 1] = min(bounds[comp, 1], y)
                    bounds[comp, 2] = max(bounds[comp, 2], x)
                    bounds[comp, 3] = max(bounds[comp, 3], y)
                r += 1
            p += 1
    return buf, offsets, bounds


def _polygon_rings(
    comps: Components,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
]:
    """Simple rings of the components grouped into polygons: (xs, ys, ring_start, order,
    ring_poly, poly_comp), ``order`` listing each polygon's outer ring, then its holes."""
    xs, ys, ring_start, ring_comp, area2 = _simple_rings(
        comps.xs, comps.ys, comps.ring_start, comps.ring_comp, comps.ring_pinch
    )
    ring_poly, poly_comp = _assemble(xs, ys, ring_start, ring_comp, area2)
    order = np.lexsort((area2 <= 0, ring_poly))
    return xs, ys, ring_start, order, ring_poly, poly_comp


def geometry_wkb(
    comps: Components, transform: tuple[float, float, float, float, float, float]
) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """The geometries of :func:`build_geometries` as ISO WKB bytes, with their bounds.

    Returns ``(wkb, bounds)``: one ``bytes`` per component (little-endian
    Polygon or MultiPolygon, the bytes ``shapely.to_wkb`` gives for the same
    geometry) and an (n, 4) array of minx, miny, maxx, maxy, without creating
    geometry objects.
    """
    n = len(comps)
    if n == 0:
        return np.empty(0, dtype=object), np.empty((0, 4), np.float64)
    xs, ys, ring_start, order, ring_poly, poly_comp = _polygon_rings(comps)
    a, b, c, d, e, f = (float(v) for v in transform)
    buf, offsets, bounds = _encode_wkb(
        xs, ys, ring_start, order, ring_poly, poly_comp, n, a, b, c, d, e, f
    )
    raw = buf.tobytes()
    cuts = offsets.tolist()
    out = np.empty(n, dtype=object)
    out[:] = [raw[cuts[i] : cuts[i + 1]] for i in range(n)]
    return out, bounds


def build_geometries(
    comps: Components, transform: tuple[float, float, float, float, float, float]
) -> NDArray[np.object_]:
    """One valid Polygon or MultiPolygon per component, in the raster CRS.

    ``transform`` is the affine (a, b, c, d, e, f): x = a*col + b*row + c, y = d*col + e*row + f.
    Rings that touch themselves at a corner are cut there; parts that touch
    only at corners become the polygons of one MultiPolygon (the point set is
    the union of the pixel squares, as GDAL's 8-connected polygonize gives).
    """
    import shapely

    n = len(comps)
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    xs, ys, ring_start, order, ring_poly, poly_comp = _polygon_rings(comps)
    a, b, c, d, e, f = transform
    gx = a * xs + b * ys + c
    gy = d * xs + e * ys + f
    ring_of_vertex = np.repeat(np.arange(len(ring_poly)), np.diff(ring_start))
    rings = shapely.linearrings(np.column_stack([gx, gy]), indices=ring_of_vertex)
    polys = shapely.polygons(rings[order], indices=ring_poly[order])
    parts = np.bincount(poly_comp, minlength=n)
    single = parts[poly_comp] == 1
    out[poly_comp[single]] = polys[single]
    multi = np.flatnonzero(~single)
    if len(multi):
        owners, dense = np.unique(poly_comp[multi], return_inverse=True)
        out[owners] = shapely.multipolygons(polys[multi], indices=dense)
    return out
