"""Labelling, second stage: finished components to their features and rings.

:func:`finish_components` measures every finished component (pixels, area in ha on
the grid of :class:`~vigilancia.domain.labelling.grids.PixelGrid`, first and last
alert day, confidence counts, the minimum rotated rectangle of its pixel corners) and
traces its boundary along pixel edges (crack following), keeping the pixel to the
right of the walking direction. The results are columnar: :class:`Components` (one
row per component, rings flattened) and :class:`Overlaps` (pixels and hectares of
each component inside each territory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray


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
def finish_components(
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

    def take(self, index: NDArray[np.integer]) -> Components:
        """The components at ``index`` (ascending positions), with their rings."""
        pick = np.asarray(index, np.int64)
        new_pos = np.full(len(self), -1, np.int64)
        new_pos[pick] = np.arange(len(pick))
        rings = np.flatnonzero(new_pos[self.ring_comp] >= 0)
        starts = self.ring_start[rings]
        sizes = self.ring_start[rings + 1] - starts
        begin = np.cumsum(sizes) - sizes
        # every vertex of the kept rings, in order: its ring's start plus its rank in it
        verts = np.repeat(starts - begin, sizes) + np.arange(int(sizes.sum()))
        per_comp = {name: getattr(self, name)[pick] for name in (
            "area_ha", "perimeter_m", "length_m", "width_m", "orientation_deg", "centroid_col",
            "centroid_row", "pixel_count", "pixels", "first_day", "last_day", "first_row",
            "first_col")}
        return Components(
            **per_comp,
            xs=self.xs[verts],
            ys=self.ys[verts],
            ring_start=np.r_[begin, int(sizes.sum())].astype(np.int64),
            ring_sign=self.ring_sign[rings],
            ring_comp=new_pos[self.ring_comp[rings]],
            ring_pinch=self.ring_pinch[rings],
        )


@dataclass(frozen=True)
class Overlaps:
    """Pixels of component ``comp[k]`` whose centre is inside territory ``territory[k]``."""

    comp: NDArray[np.int64]
    territory: NDArray[np.int64]
    pixels: NDArray[np.int64]
    area_ha: NDArray[np.float64]
