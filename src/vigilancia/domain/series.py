"""A product's clearings as one series across downloads: what a new download changes.

Alert products are cumulative: each download of a tile holds every earlier
alert, pixels are confirmed later (low -> high -> highest) and clearings grow.
A new batch is therefore not added beside the clearings already stored for its
series; it is reconciled with them (:class:`SeriesMatcher`):

- a new clearing that shares pixels with one stored clearing *is* that clearing:
  unchanged, or updated in place (same id) when it grew, its dates or its
  confidence changed;
- stored clearings that one new clearing joins (new pixels bridge them) become
  one: the oldest id survives and the others are merged into it;
- a new clearing that shares no pixel with a stored one is new.

Raster clearings are matched by pixel overlap, found exactly with one pixel of
each footprint, its *anchor*: the first pixel in raster order (top row,
leftmost). In one raster, 8-connected components never touch, so a stored
clearing shares pixels with the new component that holds its anchor; a stored
clearing that lost its anchor pixel (a narrower confidence filter, an alert the
provider withdrew) is found the other way, by the anchor of a new component
falling inside its footprint. The caller looks the anchors up (the labeller's
marks, and a point-in-polygon test) and hands the pairs to
:meth:`SeriesMatcher.decide`, chunk after chunk, in raster order. Vector alerts
are matched by their alert code (:func:`match_codes`).

Nothing is deleted: a stored clearing that the new batch does not show (outside
its date window, withdrawn) stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Decision",
    "NewValues",
    "SeriesMatcher",
    "SeriesState",
    "decide_codes",
    "match_codes",
]

#: Coordinates (degrees) closer than this are the same (a window's offset may move the
#: last bit of a corner computed from another origin).
SAME_DEG = 1e-9


@dataclass(frozen=True)
class SeriesState:
    """The stored clearings of a series that a new batch may change (one entry each).

    ``pixels``: (n, 3) pixels per confidence (low, high, highest); dates
    ``datetime64[D]``; ``bounds`` (n, 4) and ``centroid`` (n, 2) lon/lat degrees.
    """

    id: NDArray[np.int64]
    pixel_count: NDArray[np.int64]
    pixels: NDArray[np.int64]
    first_date: NDArray[np.datetime64]
    last_date: NDArray[np.datetime64]
    area_ha: NDArray[np.float64]
    bounds: NDArray[np.float64]
    centroid: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.id)

    @staticmethod
    def empty() -> SeriesState:
        i8 = np.empty(0, np.int64)
        d = np.empty(0, "datetime64[D]")
        return SeriesState(i8, i8, np.empty((0, 3), np.int64), d, d, np.empty(0),
                           np.empty((0, 4)), np.empty((0, 2)))


@dataclass(frozen=True)
class Decision:
    """What a chunk of new clearings does to the stored series (one entry per new one).

    ``target``: the stored id it updates or keeps (-1: a new clearing);
    ``unchanged``: True where it is that stored clearing as it was (nothing to write);
    ``change``: why a target changed (``"grown,confidence"``, ``"merged"``...), None
    for new and unchanged ones; ``upgraded``: pixels that moved up a confidence
    level (a lower bound). ``merged`` -> ``into``: stored ids that joined a target.
    """

    target: NDArray[np.int64]
    unchanged: NDArray[np.bool_]
    change: NDArray[np.object_]
    upgraded: NDArray[np.int64]
    merged: NDArray[np.int64]
    into: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.target)

    @property
    def new(self) -> NDArray[np.bool_]:
        return self.target < 0

    @property
    def updated(self) -> NDArray[np.bool_]:
        return (self.target >= 0) & ~self.unchanged

    def take(self, index: NDArray[np.integer]) -> Decision:
        """The decision for the new clearings at ``index`` (the merges stay whole: they are
        the targets' doing)."""
        return Decision(self.target[index], self.unchanged[index], self.change[index],
                        self.upgraded[index], self.merged, self.into)

    @staticmethod
    def all_new(n: int) -> Decision:
        return Decision(np.full(n, -1, np.int64), np.zeros(n, bool), np.full(n, None, object),
                        np.zeros(n, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))


@dataclass(frozen=True)
class NewValues:
    """The comparable values of a chunk of new clearings (as :class:`SeriesState`)."""

    pixel_count: NDArray[np.int64]
    pixels: NDArray[np.int64]
    first_date: NDArray[np.datetime64]
    last_date: NDArray[np.datetime64]
    area_ha: NDArray[np.float64]
    bounds: NDArray[np.float64]
    centroid: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.pixel_count)


class SeriesMatcher:
    """Decides, chunk after chunk of a new batch, which stored clearings each new one is.

    ``stored`` is the series' clearings in the batch's extent; pairs name them by
    position in it. Raster chunks must come in raster order (the labeller's order),
    and :meth:`note_hits` must have seen every anchor hit up to the chunk's rows.
    """

    def __init__(self, stored: SeriesState) -> None:
        self.stored = stored
        n = len(stored)
        self._hit = np.zeros(n, bool)  # the anchor fell on an accepted pixel
        self._taken = np.zeros(n, bool)  # already the target of a new clearing

    @property
    def taken(self) -> NDArray[np.bool_]:
        """Which stored clearings a new clearing has claimed so far."""
        return self._taken.copy()

    def note_hits(self, positions: NDArray[np.integer]) -> None:
        """Stored clearings whose anchor pixel is accepted in the new batch."""
        self._hit[np.asarray(positions, np.int64)] = True

    def unclaimed(self, positions: NDArray[np.integer]) -> NDArray[np.bool_]:
        """Which of ``positions`` a new clearing may still claim through its own anchor
        (their anchor fell on no accepted pixel, and no new clearing claimed them)."""
        p = np.asarray(positions, np.int64)
        return ~self._hit[p] & ~self._taken[p]

    def decide(
        self,
        new: NewValues,
        anchor_comp: NDArray[np.integer],
        anchor_pos: NDArray[np.integer],
        inside_comp: NDArray[np.integer],
        inside_pos: NDArray[np.integer],
    ) -> Decision:
        """The decision for one chunk of ``new`` clearings.

        ``anchor_comp[k]`` holds the anchor of stored clearing ``anchor_pos[k]``;
        the anchor of ``inside_comp[k]`` lies inside stored clearing ``inside_pos[k]``.
        """
        n = len(new)
        pairs_c = np.asarray(anchor_comp, np.int64)
        pairs_p = np.asarray(anchor_pos, np.int64)
        keep = ~self._taken[pairs_p]  # (an old anchor is in one component only)
        pairs_c, pairs_p = pairs_c[keep], pairs_p[keep]
        # a component with no stored anchor may claim a stored clearing it lies in
        ic = np.asarray(inside_comp, np.int64)
        ip = np.asarray(inside_pos, np.int64)
        has_anchor = np.zeros(n, bool)
        has_anchor[pairs_c] = True
        claim_c: list[int] = []
        claim_p: list[int] = []
        claimed: set[int] = set()
        for c, p in zip(ic.tolist(), ip.tolist(), strict=True):
            if has_anchor[c] or self._hit[p] or self._taken[p] or c in claimed:
                continue
            claimed.add(c)
            claim_c.append(c)
            claim_p.append(p)
            self._taken[p] = True
        all_c = np.concatenate([pairs_c, np.asarray(claim_c, np.int64)])
        all_p = np.concatenate([pairs_p, np.asarray(claim_p, np.int64)])
        self._taken[all_p] = True
        return self.decide_pairs(new, all_c, all_p)

    def decide_pairs(self, new: NewValues, comp: NDArray[np.int64], pos: NDArray[np.int64]
                     ) -> Decision:
        """The decision for new clearings paired with stored ones: ``comp[k]`` is stored
        clearing ``pos[k]`` (each stored clearing in one pair at most)."""
        n = len(new)
        st = self.stored
        target = np.full(n, -1, np.int64)
        unchanged = np.zeros(n, bool)
        change = np.full(n, None, object)
        upgraded = np.zeros(n, np.int64)
        comp = np.asarray(comp, np.int64)
        pos = np.asarray(pos, np.int64)
        if len(comp) == 0:
            return Decision(target, unchanged, change, upgraded, np.empty(0, np.int64),
                            np.empty(0, np.int64))
        order = np.lexsort((st.id[pos], comp))
        comp, pos = comp[order], pos[order]
        first = np.r_[True, comp[1:] != comp[:-1]]
        starts = np.flatnonzero(first)
        sizes = np.diff(np.r_[starts, len(comp)])
        target[comp[starts]] = st.id[pos[starts]]  # the oldest (smallest id) survives
        merged = st.id[pos[~first]]
        into = target[comp[~first]]
        # one stored clearing each (nearly all of them): compared column by column
        one = starts[sizes == 1]
        c, g = comp[one], pos[one]
        count, old_count = new.pixel_count[c], st.pixel_count[g]
        pix, opix = new.pixels[c], st.pixels[g]
        up = np.maximum(opix[:, 0] - pix[:, 0], 0) + np.maximum(opix[:, 1] - pix[:, 1], 0)
        conf = (((pix[:, 1] + pix[:, 2]) > (opix[:, 1] + opix[:, 2])) & (up > 0)) | (
            (pix != opix).any(axis=1) & (count == old_count))
        dates = ~(_same_days(new.first_date[c], st.first_date[g])
                  & _same_days(new.last_date[c], st.last_date[g]))
        grown, shrunk = count > old_count, count < old_count
        flagged = grown | shrunk | conf | dates
        shape = ~flagged & ~(
            _close_rows(new.bounds[c], st.bounds[g]) & _close_rows(new.centroid[c], st.centroid[g])
            & _close_areas(new.area_ha[c], st.area_ha[g]))
        unchanged[c] = ~(flagged | shape)
        columns = (("grown", grown), ("shrunk", shrunk), ("confidence", conf), ("dates", dates),
                   ("shape", shape))
        for k in np.flatnonzero(flagged | shape).tolist():
            change[c[k]] = ",".join(name for name, on in columns if on[k])
        upgraded[c] = np.where(conf, up, 0)
        # several stored clearings joined by new pixels (rare): one by one
        for a, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
            ci = int(comp[a])
            flags, n_up = _changes(new, ci, st, pos[a : a + size])
            change[ci] = ",".join(flags)
            upgraded[ci] = n_up
        return Decision(target, unchanged, change, upgraded, merged, into)


def _changes(new: NewValues, c: int, st: SeriesState, group: NDArray[np.int64]
             ) -> tuple[list[str], int]:
    """Why new clearing ``c`` differs from the stored clearings ``group`` it is, and how
    many pixels moved up a confidence level."""
    flags: list[str] = []
    old_pix = st.pixels[group].sum(axis=0)
    old_count = int(st.pixel_count[group].sum())
    count = int(new.pixel_count[c])
    if len(group) > 1:
        flags.append("merged")
    if count > old_count:
        flags.append("grown")
    elif count < old_count:
        flags.append("shrunk")
    pix = new.pixels[c]
    up = max(0, int(old_pix[0] - pix[0])) + max(0, int(old_pix[1] - pix[1]))
    raised = int(pix[1] + pix[2]) > int(old_pix[1] + old_pix[2]) and up > 0
    if raised or (not np.array_equal(pix, old_pix) and count == old_count):
        flags.append("confidence")
    first = _min_date(st.first_date[group])
    last = _max_date(st.last_date[group])
    if not (_same_day(new.first_date[c], first) and _same_day(new.last_date[c], last)):
        flags.append("dates")
    if not flags and len(group) == 1:
        g = int(group[0])
        if not (_close(new.bounds[c], st.bounds[g]) and _close(new.centroid[c], st.centroid[g])
                and _close_area(new.area_ha[c], st.area_ha[g])):
            flags.append("shape")
    return flags, (up if "confidence" in flags else 0)


def match_codes(stored_refs: NDArray[np.object_], new_refs: NDArray[np.object_]
                ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs (new position, stored position) of alerts with the same code (vector products,
    whose alerts keep their code from one download to the next)."""
    where = {str(r): i for i, r in enumerate(stored_refs.tolist()) if r is not None}
    comp: list[int] = []
    pos: list[int] = []
    for i, r in enumerate(new_refs.tolist()):
        p = where.get(str(r)) if r is not None else None
        if p is not None:
            comp.append(i)
            pos.append(p)
    return np.asarray(comp, np.int64), np.asarray(pos, np.int64)


def decide_codes(stored: SeriesState, new: NewValues, comp: NDArray[np.int64],
                 pos: NDArray[np.int64]) -> Decision:
    """The decision for vector alerts paired by code (:func:`match_codes`)."""
    return SeriesMatcher(stored).decide_pairs(new, comp, pos)


def _min_date(values: NDArray[np.datetime64]) -> np.datetime64:
    known = values[~np.isnat(values)]
    return known.min() if len(known) else np.datetime64("NaT", "D")


def _max_date(values: NDArray[np.datetime64]) -> np.datetime64:
    known = values[~np.isnat(values)]
    return known.max() if len(known) else np.datetime64("NaT", "D")


def _same_day(a: np.datetime64, b: np.datetime64) -> bool:
    if np.isnat(a) or np.isnat(b):
        return bool(np.isnat(a) and np.isnat(b))
    return bool(a == b)


def _same_days(a: NDArray[np.datetime64], b: NDArray[np.datetime64]) -> NDArray[np.bool_]:
    na, nb = np.isnat(a), np.isnat(b)
    return (na & nb) | (~na & ~nb & (a == b))


def _close_rows(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        return np.asarray((both_nan | (np.abs(a - b) <= SAME_DEG)).all(axis=1))


def _close_areas(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        return np.asarray(both_nan | (np.abs(a - b) <= 1e-9 * np.maximum(1.0, np.abs(b))))


def _close(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (np.abs(a - b) <= SAME_DEG)))


def _close_area(a: float, b: float) -> bool:
    if np.isnan(a) or np.isnan(b):
        return bool(np.isnan(a) and np.isnan(b))
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))
