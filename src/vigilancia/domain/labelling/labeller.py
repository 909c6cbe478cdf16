"""Labelling, the stream: runs pushed strip after strip, components handed out when done.

:class:`Labeller` keeps only the runs of unfinished components, so memory follows
the alert front, not the tile size, and a clearing crossing a strip or tile edge
comes out whole. A component is finished as soon as no run of it touches the last
row seen; it is then measured and traced (:mod:`.components`), with its territory
overlaps (:mod:`.scanline`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.labelling.components import Components, Overlaps, finish_components
from vigilancia.domain.labelling.grids import PixelGrid
from vigilancia.domain.labelling.runs import Runs, component_roots, link_runs
from vigilancia.domain.labelling.scanline import TerritoryScanline


class Labeller:
    """Streaming 8-connected labelling of runs, strip after strip.

    >>> import numpy as np
    >>> from vigilancia.domain.alerts import lookup_tables, AlertFilter
    >>> from vigilancia.domain.labelling.runs import scan_strip
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
            link_runs(r.row, r.c0, r.c1, self._parent, base, len(r))
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
        roots = component_roots(self._parent)
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
        feats, ints, xs, ys, ring_start, ring_sign, ring_comp, ring_pinch = finish_components(
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
        ov = aggregate_overlaps(
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


def aggregate_overlaps(
    comp: NDArray[np.int64],
    tid: NDArray[np.int64],
    pix: NDArray[np.int64],
    area: NDArray[np.float64],
) -> Overlaps:
    """Pixels and hectares per (component, territory) from per-run hits, summed in the
    order of the hits (rows downwards), sorted by component then territory."""
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
