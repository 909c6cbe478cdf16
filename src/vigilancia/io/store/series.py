"""A product's clearings across downloads: what a new batch reconciles with, and the trace
it leaves (``store.series``).

Alert products are cumulative, so a new batch of a series is reconciled with the
clearings stored for it (:mod:`vigilancia.domain.series`) rather than added
beside them. This repository reads what that needs and writes what it decides:

- :meth:`SeriesRepository.in_extent`: the stored clearings of a series in a box,
  lean (anchors, codes and the values a change is judged by, no polygon);
- :meth:`~SeriesRepository.replace`: a clearing updated in place (same id) with
  its new footprint and features, its earlier state kept in ``clearing_history``
  and its driver cleared until it is classified again;
- :meth:`~SeriesRepository.merge`: clearings that new pixels joined to another:
  their last state kept in the history, their ids made aliases of the survivor
  (``clearing_aliases``), their rows removed (the case links and labels are moved
  first by ``store.cases.relink_clearings`` and ``store.labels.relink``);
- :meth:`~SeriesRepository.resolve`: ids as they are now (an alias becomes its
  survivor), for every lookup of a clearing by id;
- :meth:`~SeriesRepository.history`: the earlier states of a clearing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from vigilancia.domain.clearings import ClearingSet
from vigilancia.domain.series import SeriesState
from vigilancia.io.store import schema as s
from vigilancia.io.store.records import (
    ClearingHistoryRecord,
    SeriesClearings,
    as_date,
    aware,
)
from vigilancia.io.store.repository import (
    CHUNK_ROWS,
    Repository,
    executemany,
    in_chunks,
    require_tx,
)

#: Columns a replacement writes, in the order of its UPDATE (the id comes last).
_VALUES = (
    "batch_id", "first_date", "last_date", "area_ha", "perimeter_m", "length_m", "width_m",
    "orientation_deg", "elongation", "compactness", "pixels_low", "pixels_high",
    "pixels_highest", "pixel_count", "centroid_lon", "centroid_lat", "anchor_lon",
    "anchor_lat", "geometry", "minx", "miny", "maxx", "maxy",
)
#: What a replacement clears: the driver is predicted again for the new footprint.
_CLEARED = ("driver", "driver_probability", "driver_probs", "driver_reasons", "model_version")
#: What the history keeps of a clearing's earlier state.
_KEPT = ("first_date", "last_date", "area_ha", "pixels_low", "pixels_high", "pixels_highest",
         "pixel_count", "geometry")


class SeriesRepository(Repository):
    """``store.series``: the clearings of a series as downloads change them."""

    # ----------------------------------------------------------------- reads

    def in_extent(
        self,
        series: str,
        bounds: tuple[float, float, float, float] | None = None,
        *,
        codes: bool = False,
        conn: Connection | None = None,
    ) -> SeriesClearings:
        """The stored clearings of ``series`` whose bounding box meets ``bounds`` (lon/lat;
        all when None), by id, without their polygons; their alert codes with ``codes``
        (vector products; None otherwise)."""
        c, b = s.clearings, s.alert_batches
        days = self.db.date_days
        stmt = (
            sa.select(
                c.c.id, c.c.batch_id, c.c.pixel_count, c.c.pixels_low, c.c.pixels_high,
                c.c.pixels_highest, days(c.c.first_date), days(c.c.last_date), c.c.area_ha,
                c.c.minx, c.c.miny, c.c.maxx, c.c.maxy, c.c.centroid_lon, c.c.centroid_lat,
                c.c.anchor_lon, c.c.anchor_lat,
            )
            .select_from(c.join(b, b.c.id == c.c.batch_id))
            .where(sa.func.coalesce(b.c.series, b.c.product) == series)
            .order_by(c.c.id)
        )
        if bounds is not None:
            minx, miny, maxx, maxy = (float(v) for v in bounds)
            stmt = stmt.where(c.c.minx <= maxx, c.c.maxx >= minx, c.c.miny <= maxy,
                              c.c.maxy >= miny)
        with self.db.reader(conn) as rc:
            # every column is a number (dates as days): converted as it comes, NULL as NaN
            v = self.db.fetch_floats(rc, stmt)
            refs: list[Any] = []
            if codes:
                refs = [r[0] for r in self.db.fetch_all(
                    rc, stmt.with_only_columns(c.c.source_ref))]

        def day(k: int) -> NDArray[np.datetime64]:
            out = np.full(len(v), np.datetime64("NaT"), "datetime64[D]")
            known = np.isfinite(v[:, k])
            out[known] = v[known, k].astype(np.int64).astype("datetime64[D]")
            return out

        state = SeriesState(
            id=v[:, 0].astype(np.int64),
            pixel_count=v[:, 2].astype(np.int64),
            pixels=v[:, 3:6].astype(np.int64),
            first_date=day(6),
            last_date=day(7),
            area_ha=v[:, 8].copy(),
            bounds=v[:, 9:13].copy(),
            centroid=v[:, 13:15].copy(),
        )
        ref = np.empty(len(v), dtype=object)
        ref[:] = refs if codes else [None] * len(v)
        return SeriesClearings(state, v[:, 1].astype(np.int64), v[:, 15].copy(),
                               v[:, 16].copy(), ref)

    def resolve(
        self, clearing_ids: Sequence[int] | NDArray[np.int64], *, conn: Connection | None = None
    ) -> NDArray[np.int64]:
        """``clearing_ids`` as they are now: an id merged into another clearing becomes
        that clearing's id; any other id stays as given (in the order given)."""
        ids = np.asarray(clearing_ids, np.int64).reshape(-1)
        if len(ids) == 0:
            return ids.copy()
        a = s.clearing_aliases
        found: dict[int, int] = {}
        with self.db.reader(conn) as rc:
            for chunk in in_chunks(np.unique(ids).tolist()):
                stmt = sa.select(a.c.old_id, a.c.clearing_id).where(a.c.old_id.in_(chunk))
                found.update((int(o), int(n)) for o, n in rc.execute(stmt).all())
        if not found:
            return ids.copy()
        return np.array([found.get(v, v) for v in ids.tolist()], np.int64)

    def history(
        self, clearing_id: int | None = None, *, conn: Connection | None = None
    ) -> list[ClearingHistoryRecord]:
        """The earlier states of a clearing (and of the clearings merged into it), oldest
        first; every clearing's when ``clearing_id`` is None."""
        h, a = s.clearing_history, s.clearing_aliases
        stmt = sa.select(h).order_by(h.c.id)
        if clearing_id is not None:
            merged = sa.select(a.c.old_id).where(a.c.clearing_id == int(clearing_id))
            stmt = stmt.where(sa.or_(h.c.clearing_id == int(clearing_id),
                                     h.c.clearing_id.in_(merged)))
        with self.db.reader(conn) as rc:
            rows = rc.execute(stmt).all()
        return [
            ClearingHistoryRecord(
                id=int(r.id), clearing_id=int(r.clearing_id), batch_id=int(r.batch_id),
                previous_batch_id=None if r.previous_batch_id is None else int(r.previous_batch_id),
                change=str(r.change),
                merged_into=None if r.merged_into is None else int(r.merged_into),
                at=aware(r.at), first_date=as_date(r.first_date), last_date=as_date(r.last_date),
                area_ha=r.area_ha, pixels_low=int(r.pixels_low), pixels_high=int(r.pixels_high),
                pixels_highest=int(r.pixels_highest), pixel_count=int(r.pixel_count),
                geometry=shapely.from_wkb(bytes(r.geometry)),
            )
            for r in rows
        ]

    def aliases(self, *, conn: Connection | None = None) -> dict[int, int]:
        """Every merged id and the clearing it now is."""
        a = s.clearing_aliases
        with self.db.reader(conn) as rc:
            rows = rc.execute(sa.select(a.c.old_id, a.c.clearing_id).order_by(a.c.old_id)).all()
        return {int(o): int(n) for o, n in rows}

    # ---------------------------------------------------------------- writes

    def replace(
        self,
        conn: Connection,
        batch_id: int,
        clearing_ids: NDArray[np.int64],
        clearings: ClearingSet,
        changes: Sequence[str],
    ) -> None:
        """Update stored clearings in place: ``clearing_ids[i]`` becomes clearing ``i`` of
        ``clearings`` (footprint, features, dates, pixels, anchor), now of batch
        ``batch_id``. Each earlier state goes to the history with ``changes[i]``; the
        driver is cleared (the new footprint is classified again). The placement is
        written apart (``store.clearings.set_placement``)."""
        require_tx(conn)
        ids = np.asarray(clearing_ids, np.int64)
        n = len(ids)
        if not (len(clearings) == len(changes) == n):
            raise ValueError("one clearing and one change per id")
        if n == 0:
            return
        self._keep_history(conn, batch_id, ids, list(changes))
        wkb, bounds = clearings.encoded()
        anchors = (clearings.anchor_lon, clearings.anchor_lat) if len(clearings.anchor_lon) else (
            np.full(n, np.nan), np.full(n, np.nan))
        cols: dict[str, list[Any]] = {
            "batch_id": [int(batch_id)] * n,
            "first_date": self.db.dates(clearings.first_date),
            "last_date": self.db.dates(clearings.last_date),
            **{k: _floats(getattr(clearings, k)) for k in (
                "area_ha", "perimeter_m", "length_m", "width_m", "orientation_deg",
                "elongation", "compactness")},
            **{k: getattr(clearings, k).astype(np.int64).tolist() for k in (
                "pixels_low", "pixels_high", "pixels_highest", "pixel_count")},
            "centroid_lon": _floats(clearings.centroid_lon),
            "centroid_lat": _floats(clearings.centroid_lat),
            "anchor_lon": _floats(anchors[0]),
            "anchor_lat": _floats(anchors[1]),
            "geometry": [bytes(v) for v in wkb.tolist()],
            "minx": bounds[:, 0].tolist(), "miny": bounds[:, 1].tolist(),
            "maxx": bounds[:, 2].tolist(), "maxy": bounds[:, 3].tolist(),
        }
        rows = list(zip(*(cols[k] for k in _VALUES), ids.tolist(), strict=True))
        if self.db.raw_sqlite:
            sets = ", ".join(f"{k} = ?" for k in _VALUES) + ", " + ", ".join(
                f"{k} = NULL" for k in _CLEARED)
            done = executemany(conn, f"UPDATE clearings SET {sets} WHERE id = ?", rows)  # noqa: S608
        else:
            c = s.clearings
            stmt = (
                sa.update(c).where(c.c.id == sa.bindparam("b_id"))
                .values(**{k: sa.bindparam(f"b_{k}") for k in _VALUES},
                        **{k: sa.null() for k in _CLEARED})
            )
            keys = [f"b_{k}" for k in _VALUES] + ["b_id"]
            done = 0
            for i in range(0, n, CHUNK_ROWS):
                res = conn.execute(stmt, [dict(zip(keys, r, strict=True))
                                          for r in rows[i : i + CHUNK_ROWS]])
                done += res.rowcount
        if done != n:
            raise ValueError(f"{n - done} of the clearings to replace are not stored")

    def merge(
        self,
        conn: Connection,
        batch_id: int,
        merged: NDArray[np.int64],
        into: NDArray[np.int64],
    ) -> None:
        """Clearings ``merged[k]`` joined ``into[k]``: keep their last state in the history,
        make their ids aliases of the survivor (earlier aliases of them too) and remove
        them with their overlap rows and their rows in the map's index. Move their case
        links and labels first."""
        require_tx(conn)
        old = np.asarray(merged, np.int64)
        new = np.asarray(into, np.int64)
        if len(old) != len(new):
            raise ValueError("one survivor per merged clearing")
        if len(old) == 0:
            return
        self._keep_history(conn, batch_id, old, ["merged_into"] * len(old), merged_into=new)
        a = s.clearing_aliases
        for o, n in zip(old.tolist(), new.tolist(), strict=True):
            conn.execute(sa.update(a).where(a.c.clearing_id == o).values(clearing_id=n))
        conn.execute(sa.insert(a), [
            {"old_id": o, "clearing_id": n, "batch_id": int(batch_id)}
            for o, n in zip(old.tolist(), new.tolist(), strict=True)
        ])
        for chunk in in_chunks(old.tolist()):
            conn.execute(sa.delete(s.clearing_territories).where(
                s.clearing_territories.c.clearing_id.in_(chunk)))
            # (the map's index row too: a bulk SQLite transaction does not cascade)
            conn.execute(sa.delete(s.clearing_map).where(s.clearing_map.c.id.in_(chunk)))
            conn.execute(sa.delete(s.clearings).where(s.clearings.c.id.in_(chunk)))

    def _keep_history(
        self,
        conn: Connection,
        batch_id: int,
        ids: NDArray[np.int64],
        changes: list[str],
        *,
        merged_into: NDArray[np.int64] | None = None,
    ) -> None:
        """Copy the stored state of clearings ``ids`` into ``clearing_history``."""
        c = s.clearings
        change_of = dict(zip(ids.tolist(), changes, strict=True))
        into_of = ({} if merged_into is None
                   else dict(zip(ids.tolist(), merged_into.tolist(), strict=True)))
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        for chunk in in_chunks(sorted(change_of)):
            stmt = sa.select(c.c.id, c.c.batch_id, *(c.c[k] for k in _KEPT)).where(
                c.c.id.in_(chunk)).order_by(c.c.id)
            for r in conn.execute(stmt).all():
                cid = int(r.id)
                rows.append({
                    "clearing_id": cid, "batch_id": int(batch_id),
                    "previous_batch_id": int(r.batch_id), "change": change_of[cid],
                    "merged_into": into_of.get(cid), "at": now,
                    **{k: getattr(r, k) for k in _KEPT},
                })
        for i in range(0, len(rows), CHUNK_ROWS):
            conn.execute(sa.insert(s.clearing_history), rows[i : i + CHUNK_ROWS])


def _floats(values: NDArray[Any]) -> list[Any]:
    """Floats for a write: NaN becomes NULL (both databases read NULL back as NaN)."""
    v = np.asarray(values, np.float64)
    out: list[Any] = v.tolist()
    if np.isnan(v).any():
        out = [None if x != x else x for x in out]
    return out
