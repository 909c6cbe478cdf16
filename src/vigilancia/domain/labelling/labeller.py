"""Labelling, the stream: runs pushed strip after strip, components handed out when done.

:class:`Labeller` keeps only the runs of unfinished components, so memory follows
the alert front, not the tile size, and a clearing crossing a strip or tile edge
comes out whole. A component is finished as soon as no run of it touches the last
row seen; it is then measured and traced (:mod:`.components`), with its territory
overlaps (:mod:`.scanline`) and the *marks* that fell on it: pixels given with a tag
(the first pixel of each clearing a workspace already holds), looked up in the runs as
they come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.labelling.components import Components, Overlaps, finish_components
from vigilancia.domain.labelling.grids import PixelGrid
from vigilancia.domain.labelling.runs import Runs, component_roots, link_runs
from vigilancia.domain.labelling.scanline import TerritoryScanline


@dataclass(frozen=True)
class Marks:
    """Marked pixels that fell on a component: ``tag[k]`` lies in component ``comp[k]``."""

    comp: NDArray[np.int64]
    tag: NDArray[np.int64]

    @staticmethod
    def empty() -> Marks:
        return Marks(np.empty(0, np.int64), np.empty(0, np.int64))


def runs_at(runs: Runs, rows: NDArray[np.integer], cols: NDArray[np.integer],
            width: int) -> NDArray[np.int64]:
    """For each pixel (``rows[k]``, ``cols[k]``), the index of the run of ``runs`` (sorted
    by row, then column) that covers it, or -1."""
    if len(runs) == 0 or len(rows) == 0:
        return np.full(len(rows), -1, np.int64)
    stride = np.int64(width) + 1
    starts = runs.row.astype(np.int64) * stride + runs.c0
    want = np.asarray(rows, np.int64) * stride + np.asarray(cols, np.int64)
    k = np.searchsorted(starts, want, side="right") - 1
    ok = k >= 0
    kk = np.where(ok, k, 0)
    ok &= (runs.row[kk] == rows) & (runs.c1[kk] > cols)
    return np.where(ok, k, -1).astype(np.int64)


class Labeller:
    """Streaming 8-connected labelling of runs, strip after strip.

    >>> import numpy as np
    >>> from vigilancia.domain.alerts import lookup_tables, AlertFilter
    >>> from vigilancia.domain.labelling.runs import scan_strip
    >>> conf, day = lookup_tables("gfw", AlertFilter())
    >>> grid = PixelGrid(np.full(4, 0.09), np.full(4, 30.0), np.full(4, 30.0), width=4)
    >>> lab = Labeller(grid)
    >>> a = np.array([[20001, 0, 0, 0], [0, 20002, 0, 0]], np.uint16)
    >>> marks = (np.array([1]), np.array([1]), np.array([7]))  # pixel (1, 1), tag 7
    >>> lab.push(scan_strip(a, conf, day, 0)[0], last_row=1, marks=marks).tolist()
    [7]
    >>> comps, _, found = lab.finish_marked()
    >>> int(comps.pixel_count[0]), found.comp.tolist(), found.tag.tolist()
    (2, [0], [7])
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
        self._mark_run = np.empty(0, np.int64)  # index into self._runs
        self._mark_tag = np.empty(0, np.int64)
        self._ready: list[tuple[Components, Overlaps, Marks]] = []

    @property
    def active_runs(self) -> int:
        return len(self._runs)

    def push(
        self,
        runs: Runs,
        last_row: int,
        marks: tuple[NDArray[np.integer], NDArray[np.integer], NDArray[np.int64]] | None = None,
    ) -> NDArray[np.int64]:
        """Add the runs of rows up to ``last_row`` (inclusive); finish what can no longer grow.

        ``marks`` (rows, columns, tags): pixels of these rows to look up; each one an
        accepted pixel falls on is handed out with its component (:meth:`take_marked`).
        Returns the tags that fell on an accepted pixel.
        """
        base = len(self._runs)
        hit_tags = np.empty(0, np.int64)
        if marks is not None and len(marks[0]):
            rows, cols, tags = marks
            at = runs_at(runs, rows, cols, self.grid.width)
            on = at >= 0
            hit_tags = np.asarray(tags, np.int64)[on]
            self._mark_run = np.concatenate([self._mark_run, at[on] + base])
            self._mark_tag = np.concatenate([self._mark_tag, hit_tags])
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
        return hit_tags

    def finish(self) -> tuple[Components, Overlaps]:
        """Finish every remaining component and return all components not yet taken."""
        comps, ov, _marks = self.finish_marked()
        return comps, ov

    def take(self) -> tuple[Components, Overlaps]:
        """Components finished so far (and their territory overlaps); they are handed out once."""
        comps, ov, _marks = self.take_marked()
        return comps, ov

    def finish_marked(self) -> tuple[Components, Overlaps, Marks]:
        """:meth:`finish`, with the marks that fell on the components."""
        self._harvest(None)
        return self.take_marked()

    def take_marked(self) -> tuple[Components, Overlaps, Marks]:
        """:meth:`take`, with the marks that fell on the components."""
        ready, self._ready = self._ready, []
        comps, ov = _concat_components([(c, o) for c, o, _m in ready])
        offsets = np.cumsum([0] + [len(c) for c, _o, _m in ready[:-1]])
        parts = [Marks(m.comp + off, m.tag) for (_c, _o, m), off in zip(ready, offsets[:len(ready)],
                                                                      strict=True) if len(m.tag)]
        if not parts:
            return comps, ov, Marks.empty()
        return comps, ov, Marks(np.concatenate([m.comp for m in parts]),
                                np.concatenate([m.tag for m in parts]))

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
        mc = comp_of_run[self._mark_run] if len(self._mark_run) else np.empty(0, np.int64)
        msel = mc >= 0
        order_m = np.argsort(mc[msel], kind="stable")
        marks = Marks(mc[msel][order_m], self._mark_tag[msel][order_m])
        self._ready.append((comps, ov, marks))
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
        if len(self._mark_run):
            mk = ~msel
            self._mark_run = newidx[self._mark_run[mk]]
            self._mark_tag = self._mark_tag[mk]


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
