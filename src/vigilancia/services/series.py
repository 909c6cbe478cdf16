"""Writing what a new batch changes in its series: new, updated and merged clearings.

A batch of a cumulative product is reconciled with the clearings already stored
for its series (:mod:`vigilancia.domain.series` decides). :class:`SeriesWriter`
writes each chunk's decision inside the ingest's transaction:

- new clearings are added with their placement;
- stored clearings that grew or changed are updated in place (same id, same case
  links and labels), their earlier state kept in the history, their placement
  redone and their driver cleared until the classification step predicts it again;
- stored clearings that new pixels joined to another are merged into the oldest:
  their case links and labels move to it (a clearing is in one case at most),
  their ids become aliases of it;
- unchanged clearings are not written at all.

At the end, :meth:`SeriesWriter.cases` names the cases whose clearings changed, for
their area and dates to be recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from vigilancia.domain.cases import CaseEvent
from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.series import Decision
from vigilancia.domain.territories import StoredTerritory
from vigilancia.io.store import TerritorySummary, WorkspaceStore

__all__ = ["SeriesCounts", "SeriesWriter", "TerritoryTally"]


@dataclass
class SeriesCounts:
    """What a batch did to its series: clearings added, updated in place (of which with
    a confidence upgrade, and the pixels upgraded), merged away, and left as they were;
    ``area_ha`` and ``pixels`` of the clearings it wrote (new and updated)."""

    new: int = 0
    updated: int = 0
    upgraded: int = 0
    upgraded_pixels: int = 0
    merged: int = 0
    unchanged: int = 0
    area_ha: float = 0.0
    pixels: int = 0

    @property
    def written(self) -> int:
        """Clearings the batch wrote: new and updated ones."""
        return self.new + self.updated

    def to_dict(self) -> dict[str, int | float]:
        return {"new": self.new, "updated": self.updated, "upgraded": self.upgraded,
                "upgraded_pixels": self.upgraded_pixels, "merged": self.merged,
                "unchanged": self.unchanged}


@dataclass
class SeriesWriter:
    """Writes each chunk's :class:`~vigilancia.domain.series.Decision` in one transaction."""

    store: WorkspaceStore
    conn: Connection
    batch_id: int
    counts: SeriesCounts = field(default_factory=SeriesCounts)
    _targets: list[NDArray[np.int64]] = field(default_factory=list)
    _touched: set[int] = field(default_factory=set)

    def write(self, clearings: ClearingSet, placement: Placement, decision: Decision, *,
              unchanged: int = 0) -> NDArray[np.bool_]:
        """Write one chunk; returns which of its clearings were written (new or updated).
        ``unchanged``: stored clearings the chunk showed as they were, left out of it."""
        store, conn, c = self.store, self.conn, self.counts
        new = decision.new
        updated = decision.updated
        if new.all():  # a first ingest: every clearing is new
            store.clearings.add(conn, self.batch_id, clearings, placement)
        elif new.any():
            store.clearings.add(conn, self.batch_id, clearings.take(new), placement.take(new))
        if len(decision.merged):
            merged, into = decision.merged, decision.into
            touched, dropped = store.cases.relink_clearings(conn, merged.tolist(), into.tolist())
            self._touched |= touched
            self._note_joined_cases(dropped)
            store.labels.relink(conn, merged.tolist(), into.tolist())
            store.series.merge(conn, self.batch_id, merged, into)
        if updated.any():
            idx = np.flatnonzero(updated)
            ids = decision.target[idx]
            store.series.replace(conn, self.batch_id, ids, clearings.take(idx),
                                 [str(v) for v in decision.change[idx].tolist()])
            store.clearings.set_placement(conn, ids, placement.take(idx))
            self._targets.append(ids)
        written = new | updated
        c.new += int(new.sum())
        c.updated += int(updated.sum())
        c.unchanged += int(decision.unchanged.sum()) + unchanged
        c.merged += len(decision.merged)
        c.upgraded += int((decision.upgraded > 0).sum())
        c.upgraded_pixels += int(decision.upgraded.sum())
        c.area_ha += float(np.nansum(clearings.area_ha[written]))
        c.pixels += int(clearings.pixel_count[written].sum())
        return written

    def _note_joined_cases(self, dropped: list[tuple[int, int, int, int]]) -> None:
        """Two clearings of two cases became one: the survivor stays in its case (a clearing
        is in one case at most) and both cases' histories say so."""
        if not dropped:
            return
        now = datetime.now(UTC)
        events = []
        for old, new, case, other in dropped:
            for mine, detail in (
                (case, {"clearing": old, "into": new, "case": f"C-{other:04d}"}),
                (other, {"clearing": new, "joined": old, "case": f"C-{case:04d}"}),
            ):
                status = self.store.cases.get(mine, conn=self.conn).status
                events.append(CaseEvent(case_id=mine, at=now, actor="vigilancia",
                                        action="clearing_merged", from_status=status,
                                        to_status=status, detail=detail))
        self.store.cases.add_events(self.conn, events)

    def cases(self) -> set[int]:
        """The cases whose clearings this batch changed (updated, or merged into another)."""
        ids = np.concatenate(self._targets) if self._targets else np.empty(0, np.int64)
        found = set(self.store.cases.of_clearings(ids.tolist(), conn=self.conn).values())
        return found | self._touched


class TerritoryTally:
    """Per territory: clearings, overlap area (ha) and date range of what a batch writes.

    Gives the figures of ``store.clearings.by_territory`` for that batch (its new and
    updated clearings) without reading hundreds of thousands of rows back.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, ...]] = []
        #: the territories the batch was placed on (read once by the ingest)
        self.territories: list[StoredTerritory] = []

    def add(self, clearings: ClearingSet, placement: Placement) -> None:
        oc = placement.overlap_clearing
        if len(oc):
            days = [
                getattr(clearings, name)[oc].astype("datetime64[D]")
                for name in ("first_date", "last_date")
            ]
            self._parts.append((placement.overlap_territory, placement.overlap_area_ha, *days))

    def summary(self) -> list[TerritorySummary]:
        if not self._parts:
            return []
        tid, area, first, last = (np.concatenate(v) for v in zip(*self._parts, strict=True))
        ids, inv = np.unique(tid, return_inverse=True)
        inv = inv.ravel()
        count = np.bincount(inv, minlength=len(ids))
        total = np.bincount(inv, weights=area, minlength=len(ids))
        lo = np.full(len(ids), np.datetime64("NaT"), "datetime64[D]")
        hi = lo.copy()
        for dates, out, pick in ((first, lo, np.fmin), (last, hi, np.fmax)):
            known = ~np.isnat(dates)
            order = np.argsort(inv[known], kind="stable")
            k, d = inv[known][order], dates[known][order]
            if len(k):
                starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
                out[k[starts]] = pick.reduceat(d, starts)
        by_id = {t.id: t for t in self.territories}
        rows = [
            TerritorySummary(
                territory_id=int(i),
                name=by_id[int(i)].name,
                kind=by_id[int(i)].kind,
                clearings=int(n),
                area_ha=float(a),
                first_date=None if np.isnat(f) else f.astype(object),
                last_date=None if np.isnat(la) else la.astype(object),
            )
            for i, n, a, f, la in zip(ids, count, total, lo, hi, strict=True)
        ]
        rows.sort(key=lambda r: (-r.area_ha, r.name, r.territory_id))
        return rows
