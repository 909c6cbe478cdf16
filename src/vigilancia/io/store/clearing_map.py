"""The map's index of clearings and the reads of the web map: tiles, bounding boxes, details.

``store.clearing_map`` keeps, beside each clearing, the Morton key of its centroid
(``qkey``) and the lowest zoom it is drawn at (``minzoom``; see
:mod:`vigilancia.domain.tiling`), with a B-tree on ``(minzoom, qkey)``: a map tile or
a bounding box reads its own clearings and nothing else, on SQLite and PostgreSQL,
without PostGIS. The clearings table itself gets no index, so the monitor's bulk
writes stay as fast as before; the index is brought up to date after the batches
change, in parts of a short transaction each (:meth:`ClearingMapRepository.write`,
then :meth:`~ClearingMapRepository.set_state`), which the map service does on its
first read after a monitoring run. Whether it is current is told by
:meth:`~ClearingMapRepository.fingerprint` (the newest clearing and the batches:
three index look-ups), compared with the one stored when it was built.

Reads (each takes ``conn=`` to read inside a running transaction):

- :meth:`~ClearingMapRepository.tile`: the clearings of Morton key ranges drawn at a
  zoom, with a :class:`ClearingFilter`, as :class:`MapClearings` (polygons optional);
- :meth:`~ClearingMapRepository.candidates`: the ids in key ranges (index only);
- :meth:`~ClearingMapRepository.page`: a page of clearings by id (ids given, or all
  after an id), filtered, as :class:`MapClearings`;
- :meth:`~ClearingMapRepository.detail`: one clearing as :class:`ClearingCard`;
- :meth:`~ClearingMapRepository.sources`: what the index is built from (centroid,
  bounding box and area of every clearing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from vigilancia.errors import NotFoundError
from vigilancia.i18n import _
from vigilancia.io.store import schema as s
from vigilancia.io.store.records import (
    ClearingCard,
    ClearingFilter,
    MapClearings,
    as_date,
)
from vigilancia.io.store.repository import IN_CHUNK, Repository, require_tx

#: Key of the workspace metadata entry that describes the built index.
META_KEY = "clearing_map"


class ClearingMapRepository(Repository):
    """``store.clearing_map``: the map's index of clearings, and the map's reads."""

    # ----------------------------------------------------------------- the index

    def fingerprint(self, *, conn: Connection | None = None) -> dict[str, int | None]:
        """What the index must match: the newest clearing id, the number of batches and
        the newest batch id (each read from an index)."""
        c, b = s.clearings, s.alert_batches
        with self.db.reader(conn) as rc:
            top = rc.execute(sa.select(sa.func.max(c.c.id))).scalar()
            n, last = rc.execute(sa.select(sa.func.count(), sa.func.max(b.c.id))).one()
        return {"max_clearing": None if top is None else int(top), "batches": int(n),
                "max_batch": None if last is None else int(last)}

    def state(self, *, conn: Connection | None = None) -> dict[str, Any] | None:
        """What the index was built from (:meth:`fingerprint`) and the largest half-size
        of a clearing's bounding box (``margin_deg``), or None before the first build."""
        t = s.workspace_meta
        with self.db.reader(conn) as rc:
            value = rc.execute(sa.select(t.c.value).where(t.c.key == META_KEY)).scalar()
        return dict(value) if value else None

    def sources(self, *, conn: Connection | None = None) -> tuple[
            NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
            float]:
        """Every clearing's id, centroid (the centre of its bounding box where it has none)
        and area (ha, 0 when unknown), by id; and the largest half-size (degrees) of a
        clearing's bounding box, the margin a bounding-box read adds."""
        c = s.clearings
        stmt = sa.select(c.c.id, c.c.centroid_lon, c.c.centroid_lat, c.c.minx, c.c.miny,
                         c.c.maxx, c.c.maxy, c.c.area_ha).order_by(c.c.id)
        with self.db.reader(conn) as rc:
            rows = self.db.fetch_all(rc, stmt)
        v = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 7)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        lon = np.where(np.isfinite(v[:, 0]), v[:, 0], (v[:, 2] + v[:, 4]) / 2.0)
        lat = np.where(np.isfinite(v[:, 1]), v[:, 1], (v[:, 3] + v[:, 5]) / 2.0)
        area = np.nan_to_num(v[:, 6], nan=0.0)
        half = np.maximum(v[:, 4] - v[:, 2], v[:, 5] - v[:, 3]) / 2.0 if len(v) else v[:, 0]
        margin = float(np.nanmax(half)) if len(half) else 0.0
        return ids, lon, lat, area, margin

    def rows(self, *, conn: Connection | None = None) -> tuple[
            NDArray[np.int64], NDArray[np.int64], NDArray[np.int8]]:
        """The index as it is: ids (ascending), keys and zooms."""
        t = s.clearing_map
        stmt = sa.select(t.c.id, t.c.qkey, t.c.minzoom).order_by(t.c.id)
        with self.db.reader(conn) as rc:
            got = self.db.fetch_all(rc, stmt)
        arr = np.array(got, dtype=np.int64).reshape(-1, 3)
        return arr[:, 0], arr[:, 1], arr[:, 2].astype(np.int8)

    def write(self, conn: Connection, ids: NDArray[np.int64], qkey: NDArray[np.int64],
              minzoom: NDArray[np.int8], *, drop: NDArray[np.int64] | None = None) -> None:
        """Remove the rows of ``drop`` and of ``ids``, then store ``ids`` with their keys and
        zooms: one part of an index build (the build writes in parts, each in a short
        transaction, so that other writers never wait long)."""
        require_tx(conn)
        t = s.clearing_map
        gone = np.concatenate([np.asarray(ids, np.int64),
                               np.asarray(drop if drop is not None else [], np.int64)])
        for chunk in _ranges_or_lists(np.unique(gone)):
            conn.execute(sa.delete(t).where(chunk(t.c.id)))
        if len(ids):
            order = np.lexsort((qkey, minzoom))  # index order: the B-tree fills from the left
            self.db.insert_many(conn, t, {
                "id": ids[order].tolist(),
                "qkey": qkey[order].tolist(),
                "minzoom": minzoom[order].astype(np.int64).tolist(),
            })

    def set_state(self, conn: Connection, fingerprint: dict[str, int | None],
                  margin_deg: float, rows: int) -> None:
        """Record what the index was built from (the last step of a build)."""
        require_tx(conn)
        m = s.workspace_meta
        conn.execute(sa.delete(m).where(m.c.key == META_KEY))
        conn.execute(sa.insert(m).values(key=META_KEY, value={
            **fingerprint, "margin_deg": float(margin_deg), "rows": int(rows)}))

    # ----------------------------------------------------------------- reads

    def candidates(self, ranges: Sequence[tuple[int, int]], max_minzoom: int, *,
                   conn: Connection | None = None) -> NDArray[np.int64]:
        """Ids (ascending) of the clearings whose key is in ``ranges`` and drawn at zoom
        ``max_minzoom`` (read from the index alone)."""
        t = s.clearing_map
        levels = list(range(int(max_minzoom) + 1))
        out: list[Any] = []
        with self.db.reader(conn) as rc:
            for lo, hi in ranges:
                stmt = sa.select(t.c.id).where(t.c.minzoom.in_(levels),
                                               t.c.qkey.between(int(lo), int(hi)))
                out.extend(r[0] for r in self.db.fetch_all(rc, stmt))
        return np.sort(np.array(out, dtype=np.int64))

    def tile(self, ranges: Sequence[tuple[int, int]], max_minzoom: int, where: ClearingFilter,
             *, bounds: tuple[float, float, float, float] | None = None,
             geometry: bool = False, conn: Connection | None = None) -> MapClearings:
        """The clearings whose key is in ``ranges``, drawn at zoom ``max_minzoom``, that
        pass ``where`` (and whose bounding box meets ``bounds``, when given), by id."""
        m, c = s.clearing_map, s.clearings
        levels = list(range(int(max_minzoom) + 1))
        rows: list[Any] = []
        with self.db.reader(conn) as rc:
            for lo, hi in ranges:
                stmt = self._select(geometry).select_from(
                    m.join(c, c.c.id == m.c.id).outerjoin(
                        s.case_clearings, s.case_clearings.c.clearing_id == c.c.id
                    ).outerjoin(s.cases, s.cases.c.id == s.case_clearings.c.case_id)
                ).where(m.c.minzoom.in_(levels), m.c.qkey.between(int(lo), int(hi)))
                stmt = _filtered(_within(stmt, bounds), where)
                rows.extend(self.db.fetch_all(rc, stmt))
        rows.sort(key=lambda r: r[0])
        return _columns(rows, geometry)

    def page(self, where: ClearingFilter, *, ids: Sequence[int] | None = None,
             after: int | None = None, bounds: tuple[float, float, float, float] | None = None,
             limit: int = 100, geometry: bool = True,
             conn: Connection | None = None) -> MapClearings:
        """Up to ``limit`` clearings by id that pass ``where`` (and meet ``bounds``): of
        ``ids`` when given (at most :data:`IN_CHUNK` of them), else every clearing
        after id ``after``."""
        c = s.clearings
        stmt = self._select(geometry).select_from(
            c.outerjoin(s.case_clearings, s.case_clearings.c.clearing_id == c.c.id)
            .outerjoin(s.cases, s.cases.c.id == s.case_clearings.c.case_id)
        )
        if ids is not None:
            if len(ids) > IN_CHUNK:
                raise ValueError(f"at most {IN_CHUNK} ids per page read")
            stmt = stmt.where(c.c.id.in_([int(v) for v in ids]))
        if after is not None:
            stmt = stmt.where(c.c.id > int(after))
        stmt = _filtered(_within(stmt, bounds), where).order_by(c.c.id).limit(int(limit))
        with self.db.reader(conn) as rc:
            rows = self.db.fetch_all(rc, stmt)
        return _columns(rows, geometry)

    def detail(self, clearing_id: int, *, conn: Connection | None = None) -> ClearingCard:
        """One clearing (:class:`ClearingCard`); :class:`NotFoundError` when there is none."""
        c, b, ct, t = s.clearings, s.alert_batches, s.clearing_territories, s.territories
        cc, k, nt = s.case_clearings, s.cases, s.territories.alias("nt")
        stmt = (
            sa.select(c, b.c.product, cc.c.case_id, k.c.status.label("case_status"),
                      nt.c.name.label("nearest_name"))
            .select_from(c.join(b, b.c.id == c.c.batch_id)
                         .outerjoin(cc, cc.c.clearing_id == c.c.id)
                         .outerjoin(k, k.c.id == cc.c.case_id)
                         .outerjoin(nt, nt.c.id == c.c.nearest_territory_id))
            .where(c.c.id == int(clearing_id))
        )
        overlaps = (
            sa.select(t.c.id, t.c.name, t.c.kind, ct.c.share)
            .select_from(ct.join(t, t.c.id == ct.c.territory_id))
            .where(ct.c.clearing_id == int(clearing_id))
            .order_by(ct.c.share.desc(), t.c.id)
        )
        with self.db.reader(conn) as rc:
            row = rc.execute(stmt).first()
            if row is None:
                raise NotFoundError(
                    _("No clearing {id} in this workspace", id=int(clearing_id)),
                    hint=_("check the number, or look for it on the map"),
                )
            over = rc.execute(overlaps).all()
        probs = row.driver_probs
        reasons = row.driver_reasons
        if isinstance(probs, str):
            probs = json.loads(probs)
        if isinstance(reasons, str):
            reasons = json.loads(reasons)
        features = ("area_ha", "perimeter_m", "length_m", "width_m", "orientation_deg",
                    "elongation", "compactness", "centroid_lon", "centroid_lat")
        return ClearingCard(
            id=int(row.id), batch_id=int(row.batch_id), product=str(row.product),
            first_date=as_date(row.first_date), last_date=as_date(row.last_date),
            features={name: _float(getattr(row, name)) for name in features},
            pixels={"low": int(row.pixels_low), "high": int(row.pixels_high),
                    "highest": int(row.pixels_highest), "total": int(row.pixel_count)},
            driver=row.driver, driver_probability=_float(row.driver_probability),
            driver_probs={str(k): float(v) for k, v in dict(probs or {}).items()},
            driver_reasons=list(reasons or []), model_version=row.model_version,
            nearest_territory_id=row.nearest_territory_id,
            nearest_territory=row.nearest_name,
            boundary_distance_m=_float(row.boundary_distance_m),
            within_buffer=bool(row.within_buffer),
            overlaps=[(int(i), str(n), str(kd), float(sh)) for i, n, kd, sh in over],
            case_id=None if row.case_id is None else int(row.case_id),
            case_status=row.case_status, geometry=bytes(row.geometry),
        )

    def _select(self, geometry: bool) -> sa.Select[Any]:
        c, k, cc = s.clearings, s.cases, s.case_clearings
        confidence = sa.case(
            (c.c.pixels_highest > 0, 3), (c.c.pixels_high > 0, 2), else_=1)
        cols: list[Any] = [
            c.c.id, self.db.date_text(c.c.first_date), self.db.date_text(c.c.last_date),
            c.c.area_ha, c.c.driver, c.c.driver_probability, confidence,
            c.c.centroid_lon, c.c.centroid_lat, cc.c.case_id, k.c.status,
            c.c.nearest_territory_id, c.c.boundary_distance_m,
            c.c.minx, c.c.miny, c.c.maxx, c.c.maxy,
        ]
        if geometry:
            cols.append(c.c.geometry)
        return sa.select(*cols)


def _ranges_or_lists(ids: NDArray[np.int64]) -> list[Any]:
    """Conditions on an id column that together select ``ids`` (sorted, unique): one
    ``BETWEEN`` per run of consecutive ids, ``IN`` lists for the scattered ones."""
    if not len(ids):
        return []
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    runs = np.split(ids, breaks)
    out: list[Any] = []
    loose: list[int] = []
    for run in runs:
        if len(run) >= 32:
            lo, hi = int(run[0]), int(run[-1])
            out.append(lambda col, lo=lo, hi=hi: col.between(lo, hi))
        else:
            loose.extend(int(v) for v in run)
    for i in range(0, len(loose), IN_CHUNK):
        part = loose[i:i + IN_CHUNK]
        out.append(lambda col, part=part: col.in_(part))
    return out


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _within(stmt: sa.Select[Any], bounds: tuple[float, float, float, float] | None
            ) -> sa.Select[Any]:
    if bounds is None:
        return stmt
    c = s.clearings
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return stmt.where(c.c.minx <= maxx, c.c.maxx >= minx, c.c.miny <= maxy, c.c.maxy >= miny)


def _filtered(stmt: sa.Select[Any], where: ClearingFilter) -> sa.Select[Any]:
    """``stmt`` (on clearings, joined to their case) with the filters of ``where``."""
    c, k, ct = s.clearings, s.cases, s.clearing_territories
    if where.since is not None:
        stmt = stmt.where(c.c.last_date >= where.since)
    if where.until is not None:
        stmt = stmt.where(c.c.first_date <= where.until)
    if where.drivers is not None:
        named = [d for d in where.drivers if d != "unclassified"]
        conds = [c.c.driver.in_(named)] if named else []
        if "unclassified" in where.drivers:
            conds.append(c.c.driver.is_(None))
        stmt = stmt.where(sa.or_(*conds) if conds else sa.false())
    if where.min_confidence >= 3:
        stmt = stmt.where(c.c.pixels_highest > 0)
    elif where.min_confidence == 2:
        stmt = stmt.where((c.c.pixels_high + c.c.pixels_highest) > 0)
    if where.territory_id is not None:
        stmt = stmt.where(sa.exists().where(ct.c.clearing_id == c.c.id,
                                            ct.c.territory_id == int(where.territory_id)))
    if where.statuses is not None:
        named = [v for v in where.statuses if v != "none"]
        conds = [k.c.status.in_(named)] if named else []
        if "none" in where.statuses:
            conds.append(k.c.id.is_(None))
        stmt = stmt.where(sa.or_(*conds) if conds else sa.false())
    return stmt


def _columns(rows: list[Any], geometry: bool) -> MapClearings:
    n = len(rows)
    cols: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * (18 if geometry else 17)
    bounds = np.array([cols[13], cols[14], cols[15], cols[16]], dtype=np.float64).T.reshape(n, 4)
    return MapClearings(
        id=[int(v) for v in cols[0]],
        first_date=[None if v is None else str(v)[:10] for v in cols[1]],
        last_date=[None if v is None else str(v)[:10] for v in cols[2]],
        area_ha=list(cols[3]),
        driver=list(cols[4]),
        driver_probability=list(cols[5]),
        confidence=[int(v) for v in cols[6]],
        lon=list(cols[7]),
        lat=list(cols[8]),
        case_id=list(cols[9]),
        case_status=list(cols[10]),
        nearest_territory_id=list(cols[11]),
        boundary_distance_m=list(cols[12]),
        bounds=bounds,
        geometry=[None if v is None else bytes(v) for v in cols[17]] if geometry else [None] * n,
    )
