"""Labelling, last stage: traced rings to valid polygons, as WKB or shapely geometries.

Rings that touch themselves at a corner are cut there into simple rings; holes are
assigned to their polygons; diagonally touching parts become separate polygons of
one MultiPolygon (their point set is the union of the pixel squares, as GDAL's
8-connected polygonize gives). :func:`geometry_wkb` encodes them without creating
geometry objects; :func:`build_geometries` makes shapely geometries.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from vigilancia.domain.labelling.components import Components


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
