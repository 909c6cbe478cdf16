"""Alert batches and their clearings: the monitor's write path, and each shape clearings come in.

``store.batches`` keeps one row per ingest (idempotent by key).
``store.clearings`` keeps the clearings of the batches: polygon (WKB) and
bounding box, shape features, dates, placement (nearest territory, distance
to it, overlaps with territories) and likely driver.

Writes (inside ``store.transaction()``; ``bulk=True`` for a monitoring run):

- :meth:`ClearingRepository.add` stores a batch's clearings, with their
  placement in the same pass when it is known (and the anchor of each raster
  clearing, the point by which a later download finds it); a later batch of the
  same series updates or merges stored clearings through ``store.series``
  (:mod:`.series`); :meth:`~ClearingRepository.set_placement` redoes the
  placement later; :meth:`~ClearingRepository.set_drivers` writes
  the classifier's predictions. They go straight to the driver (sqlite3
  ``executemany`` from the columns, psycopg ``COPY``): hundreds of thousands of
  rows per call, no Python object per row beyond the driver's own.

Reads, from the heaviest to the leanest; pick the leanest that has what you need.
Each names the filters it takes in brackets, and every one takes ``conn=`` to
read inside a running transaction:

- :meth:`~ClearingRepository.frame` (``batch_ids``): a GeoDataFrame with every
  column, the names of the territories each clearing overlaps, the driver and its
  reasons, the polygons. The heaviest: two queries with joins, a Python object per
  cell, pandas and geopandas imported. For files and tables a person reads:
  ``export``, the airstrip candidates, the coca clearings of the corridors.
- :meth:`~ClearingRepository.columns` (``clearing_ids``, ``batch_ids``, ``bounds``):
  :class:`ClearingColumns`, numpy columns of the shape features, bounding boxes,
  polygons and driver. Polygons decoded in one call, no pandas. For computations
  on a selection: the driver features (classify), growing and opening cases,
  the patrol's runway-like clearings, labels.
- :meth:`~ClearingRepository.positions` (``clearing_ids``, ``batch_ids``):
  :class:`ClearingPositions`, centroid and bounding box. Seven numbers per
  clearing, no polygon: to cut a large selection into parts before reading each
  part with ``columns`` (the driver features).
- :meth:`~ClearingRepository.details` (``clearing_ids``): a :class:`ClearingDetail`
  per clearing, with the alert product, pixels by confidence and the driver's reasons
  and model. One row object per clearing: for the few clearings of one case (reports).
- :meth:`~ClearingRepository.points`: :class:`ClearingPoints` of every clearing,
  centroid, area, first date and each driver's probability. No polygon; the JSON
  of the probabilities is parsed once per clearing. For the risk score and its
  back-test, which read every clearing.
- :meth:`~ClearingRepository.uncased`: :class:`UncasedClearings`, the clearings
  in no case yet with their nearest territory, buffer flag and last date. Four
  values per clearing: what ``cases open`` decides with before reading polygons.
- :meth:`~ClearingRepository.placements` (``clearing_ids``): :class:`ClearingPlacements`,
  the batch, bounding box, nearest territory, boundary distance and buffer flag; nine
  numbers per clearing, no polygon: which clearings a change of territories can
  move (:mod:`vigilancia.services.placement`);
  :meth:`~ClearingRepository.polygons` (``clearing_ids``): :class:`ClearingPolygons`,
  the stored WKB with area, perimeter, pixel count and point, no geometry object: what
  placing them again reads;
  :meth:`~ClearingRepository.placed_on`: the ids of the clearings that overlap, or
  are nearest to, some territories (those a removed territory leaves).
- :meth:`~ClearingRepository.overlapping` (``batch_ids``): the ids of the
  clearings that overlap territories of some kinds (one id per overlap row): the
  features' "inside a reserve or protected area".
- :meth:`~ClearingRepository.overlaps`: :class:`ClearingOverlaps`, every
  (clearing, territory, share) pair with territories of some kinds, three numbers
  per pair: the territory a case belongs to.
- :meth:`~ClearingRepository.by_territory` (``batch_ids``): a
  :class:`TerritorySummary` per territory touched (count, area, dates),
  aggregated in SQL: the monitor's summary.
- :meth:`~ClearingRepository.by_driver` (``batch_ids``): :class:`DriverCounts`,
  aggregated in SQL: the monitor's summary of the drivers.
- :meth:`~ClearingRepository.extent` (``batch_ids``) and
  :meth:`~ClearingRepository.latest_alert_date`: one aggregate each (risk and
  labels take the extent as the default area; cases count recency from the date;
  re-placing a vector batch takes the centre of its extent as its frame).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.drivers import DRIVERS
from vigilancia.domain.territories import TerritoryKind
from vigilancia.errors import ConflictError
from vigilancia.i18n import _
from vigilancia.io.store import schema as s
from vigilancia.io.store.records import (
    BatchRecord,
    ClearingColumns,
    ClearingDetail,
    ClearingOverlaps,
    ClearingPlacements,
    ClearingPoints,
    ClearingPolygons,
    ClearingPositions,
    DriverCounts,
    NewBatch,
    TerritorySummary,
    UncasedClearings,
    as_date,
    batch_record,
    nullable_ids,
)
from vigilancia.io.store.repository import (
    CHUNK_ROWS,
    IN_CHUNK,
    Repository,
    executemany,
    fk_checks_off,
    in_chunks,
    missing_ids,
    next_id,
    require_tx,
)

if TYPE_CHECKING:
    import geopandas

#: Float columns of a clearing (as in :class:`ClearingSet`), in table order.
FLOAT_FIELDS = (
    "area_ha",
    "perimeter_m",
    "length_m",
    "width_m",
    "orientation_deg",
    "elongation",
    "compactness",
    "centroid_lon",
    "centroid_lat",
)
#: Pixel-count columns of a clearing, in table order.
INT_FIELDS = ("pixels_low", "pixels_high", "pixels_highest", "pixel_count")
#: Column of the clearings frame that names the overlapped territories of each kind.
KIND_COLUMNS = {
    TerritoryKind.COMMUNITY: "territories",
    TerritoryKind.RESERVE: "reserves",
    TerritoryKind.PROTECTED_AREA: "protected_areas",
    TerritoryKind.DISTRICT: "districts",
}


class BatchRepository(Repository):
    """``store.batches``: one row per ingest of an alert product."""

    def find(self, key: str, *, conn: Connection | None = None) -> BatchRecord | None:
        """The batch stored under idempotency ``key``, or None."""
        t = s.alert_batches
        with self.db.reader(conn) as c:
            row = c.execute(sa.select(t).where(t.c.key == key)).first()
        return None if row is None else batch_record(row)

    def add(self, conn: Connection, batch: NewBatch) -> int:
        """Store a batch and return its id; :class:`ConflictError` if ``batch.key`` is stored."""
        require_tx(conn)
        duplicate = ConflictError(
            _("this alert batch was already ingested: {key}", key=batch.key),
            hint=_("nothing was added; the workspace already has these alerts"),
            source=batch.source,
        )
        if self.find(batch.key, conn=conn) is not None:
            raise duplicate
        values = {
            "key": batch.key,
            "source": batch.source,
            "product": batch.product,
            "since": batch.since,
            "until": batch.until,
            "min_confidence": batch.min_confidence,
            "sha256": batch.sha256,
            "n_pixels": int(batch.n_pixels),
            "n_clearings": int(batch.n_clearings),
            "area_ha": float(batch.area_ha),
            "stats": batch.stats,
            "created_at": datetime.now(UTC),
            "series": batch.series or batch.product,
            "steps": list(batch.steps),
        }
        try:  # a concurrent writer (PostgreSQL) may insert the key after the check
            result = conn.execute(sa.insert(s.alert_batches).values(**values))
        except sa.exc.IntegrityError as exc:
            raise duplicate from exc
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def set_totals(
        self,
        conn: Connection,
        batch_id: int,
        *,
        n_pixels: int,
        n_clearings: int,
        area_ha: float,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Set a batch's totals once its clearings are stored (streaming ingests learn them last).

        ``stats`` replaces the stored stats when given.
        """
        require_tx(conn)
        t = s.alert_batches
        values: dict[str, Any] = {
            "n_pixels": int(n_pixels),
            "n_clearings": int(n_clearings),
            "area_ha": float(area_ha),
        }
        if stats is not None:
            values["stats"] = stats
        result = conn.execute(sa.update(t).where(t.c.id == int(batch_id)).values(**values))
        if result.rowcount != 1:
            raise ValueError(f"no alert batch with id {batch_id}")

    def set_steps(self, conn: Connection, batch_id: int, steps: Sequence[str]) -> None:
        """Record the steps of a batch's run that have finished (replacing the list)."""
        require_tx(conn)
        t = s.alert_batches
        result = conn.execute(
            sa.update(t).where(t.c.id == int(batch_id)).values(steps=list(steps)))
        if result.rowcount != 1:
            raise ValueError(f"no alert batch with id {batch_id}")

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(self, *, conn: Connection | None = None) -> list[BatchRecord]:
        """All stored batches, oldest first."""
        t = s.alert_batches
        with self.db.reader(conn) as c:
            rows = c.execute(sa.select(t).order_by(t.c.id)).all()
        return [batch_record(r) for r in rows]


class ClearingRepository(Repository):
    """``store.clearings``: the clearings of the batches (see the module's guide to the reads)."""

    # ---------------------------------------------------------------- writes

    def add(
        self,
        conn: Connection,
        batch_id: int,
        clearings: ClearingSet,
        placement: Placement | None = None,
    ) -> NDArray[np.int64]:
        """Store the clearings of batch ``batch_id``; returns their ids (int64) in order.

        With ``placement`` the per-clearing placement columns are written in the
        same INSERT and the overlap rows added (one pass); without it they stay
        empty until :meth:`set_placement`. Ids are assigned as ``MAX(id) + 1 ...``
        inside the transaction.
        """
        require_tx(conn)
        n = len(clearings)
        if placement is not None:
            _check_placement(n, placement)
        if n == 0:
            return np.empty(0, np.int64)
        start = next_id(conn, s.clearings)
        ids = np.arange(start, start + n, dtype=np.int64)
        wkb, bounds = clearings.encoded()
        bad = np.isnan(bounds).any(axis=1)  # missing or empty geometries have NaN bounds
        if bad.any():
            raise ValueError(f"clearing {int(np.argmax(bad))} of the set has no geometry")
        if fk_checks_off(conn):
            _check_parents(conn, batch_id, placement)
        if placement is not None:
            nearest = nullable_ids(placement.nearest_territory)
            distance: list[Any] = placement.boundary_distance_m.astype(np.float64).tolist()
            within: list[Any] = placement.within_buffer.astype(bool).tolist()
        else:
            nearest = distance = [None] * n
            within = [False] * n
        cols: dict[str, list[Any]] = {
            "id": ids.tolist(),
            "batch_id": [int(batch_id)] * n,
            "first_date": self.db.dates(clearings.first_date),
            "last_date": self.db.dates(clearings.last_date),
            **{
                name: getattr(clearings, name).astype(np.float64).tolist() for name in FLOAT_FIELDS
            },
            **{name: getattr(clearings, name).astype(np.int64).tolist() for name in INT_FIELDS},
        }
        refs = clearings.source_ref
        if refs.dtype != object or any(v is not None for v in refs.tolist()):
            # (raster clearings have none: the column keeps its NULL default)
            cols["source_ref"] = [None if v is None else str(v) for v in refs.tolist()]
        if len(clearings.anchor_lon):  # raster clearings: a point inside (their first pixel)
            cols["anchor_lon"] = clearings.anchor_lon.astype(np.float64).tolist()
            cols["anchor_lat"] = clearings.anchor_lat.astype(np.float64).tolist()
        cols |= {
            "nearest_territory_id": nearest,
            "boundary_distance_m": distance,
            "within_buffer": within,
            "geometry": wkb.tolist(),
            "minx": bounds[:, 0].tolist(),
            "miny": bounds[:, 1].tolist(),
            "maxx": bounds[:, 2].tolist(),
            "maxy": bounds[:, 3].tolist(),
        }
        self.db.insert_many(conn, s.clearings, cols)
        if placement is not None:
            self._insert_overlaps(conn, ids, placement)
        return ids

    def set_placement(
        self, conn: Connection, clearing_ids: NDArray[np.int64], placement: Placement
    ) -> None:
        """Write (or replace) the placement of stored clearings.

        ``clearing_ids[i]`` is the id of clearing ``i`` of the set that
        ``placement`` describes. Sets nearest territory, boundary distance and
        within-buffer, and replaces the overlap rows of those clearings.
        """
        require_tx(conn)
        ids = np.asarray(clearing_ids, dtype=np.int64)
        _check_placement(len(ids), placement)
        if len(ids) == 0:
            return
        if fk_checks_off(conn):
            _check_parents(conn, None, placement)
        nearest = nullable_ids(placement.nearest_territory)
        rows = list(
            zip(
                nearest,
                placement.boundary_distance_m.astype(np.float64).tolist(),
                placement.within_buffer.astype(bool).tolist(),
                ids.tolist(),
                strict=True,
            )
        )
        c = s.clearings
        updated = 0
        if self.db.raw_sqlite:
            sql = (
                "UPDATE clearings SET nearest_territory_id = ?, boundary_distance_m = ?, "
                "within_buffer = ? WHERE id = ?"
            )
            updated = executemany(conn, sql, rows)
        else:
            stmt = (
                sa.update(c)
                .where(c.c.id == sa.bindparam("b_id"))
                .values(
                    nearest_territory_id=sa.bindparam("b_nearest"),
                    boundary_distance_m=sa.bindparam("b_distance"),
                    within_buffer=sa.bindparam("b_within"),
                )
            )
            keys = ("b_nearest", "b_distance", "b_within", "b_id")
            for i in range(0, len(rows), CHUNK_ROWS):
                res = conn.execute(
                    stmt, [dict(zip(keys, r, strict=True)) for r in rows[i : i + CHUNK_ROWS]]
                )
                updated += res.rowcount
        if updated != len(ids):
            raise ValueError(f"{len(ids) - updated} of the clearing ids are not stored")
        ct = s.clearing_territories
        unique_ids = np.unique(ids)
        if len(unique_ids) and unique_ids[-1] - unique_ids[0] + 1 == len(unique_ids):
            conn.execute(
                sa.delete(ct).where(
                    ct.c.clearing_id.between(int(unique_ids[0]), int(unique_ids[-1]))
                )
            )
        else:
            for chunk in in_chunks(unique_ids.tolist()):
                conn.execute(sa.delete(ct).where(ct.c.clearing_id.in_(chunk)))
        self._insert_overlaps(conn, ids, placement)

    def set_drivers(
        self,
        conn: Connection,
        clearing_ids: NDArray[np.int64],
        drivers: Sequence[str],
        probability: NDArray[np.float64],
        probabilities: Sequence[Mapping[str, float]],
        reasons: Sequence[Sequence[Mapping[str, Any]]],
        model_version: str,
    ) -> int:
        """Write the likely driver of stored clearings (replacing any earlier prediction).

        ``probabilities[i]`` maps every driver to its probability, ``reasons[i]``
        lists ``{"code": ..., "params": {...}}``. Returns the rows updated.
        """
        require_tx(conn)
        ids = np.asarray(clearing_ids, dtype=np.int64)
        n = len(ids)
        if not (len(drivers) == len(probability) == len(probabilities) == len(reasons) == n):
            raise ValueError("one driver, probability, probability map and reasons per clearing")
        if n == 0:
            return 0
        driver_text = [str(d) for d in drivers]
        prob = np.asarray(probability, np.float64).tolist()
        probs = [p if type(p) is dict else dict(p) for p in probabilities]
        why = [[r if type(r) is dict else dict(r) for r in rs] for rs in reasons]
        cids = ids.tolist()
        if self.db.raw_sqlite:
            dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            sql = (
                "UPDATE clearings SET driver = ?, driver_probability = ?, driver_probs = ?, "
                "driver_reasons = ?, model_version = ? WHERE id = ?"
            )
            rows = list(zip(driver_text, prob, map(dumps, probs), map(dumps, why),
                            [model_version] * n, cids, strict=True))
            return executemany(conn, sql, rows)
        c = s.clearings
        stmt = (
            c.update()
            .where(c.c.id == sa.bindparam("cid"))
            .values(
                driver=sa.bindparam("d"),
                driver_probability=sa.bindparam("p"),
                driver_probs=sa.bindparam("ps", type_=sa.JSON().evaluates_none()),
                driver_reasons=sa.bindparam("rs", type_=sa.JSON().evaluates_none()),
                model_version=sa.bindparam("mv"),
            )
        )
        params = [
            {"d": d, "p": p, "ps": ps, "rs": rs, "mv": model_version, "cid": cid}
            for d, p, ps, rs, cid in zip(driver_text, prob, probs, why, cids, strict=True)
        ]
        updated = 0
        for i in range(0, n, CHUNK_ROWS):
            updated += conn.execute(stmt, params[i : i + CHUNK_ROWS]).rowcount or 0
        return updated

    def _insert_overlaps(
        self, conn: Connection, ids: NDArray[np.int64], placement: Placement
    ) -> None:
        if len(placement.overlap_clearing) == 0:
            return
        self.db.insert_many(
            conn,
            s.clearing_territories,
            {
                "clearing_id": ids[placement.overlap_clearing].tolist(),
                "territory_id": placement.overlap_territory.astype(np.int64).tolist(),
                "area_ha": placement.overlap_area_ha.astype(np.float64).tolist(),
                "share": placement.overlap_share.astype(np.float64).tolist(),
            },
        )

    # ----------------------------------------------------------------- reads

    def frame(
        self, batch_ids: Sequence[int] | None = None, *, conn: Connection | None = None
    ) -> geopandas.GeoDataFrame:
        """Stored clearings as a GeoDataFrame (EPSG:4326), one row per clearing, ordered by id.

        Columns: ``id``, ``batch_id``, ``product``, ``first_date``/``last_date``
        (ISO ``YYYY-MM-DD`` strings), every numeric field of
        :class:`ClearingSet` (ha, m, degrees, pixel counts, centroid lon/lat),
        ``source_ref``, ``status``, ``nearest_territory_id`` (nullable Int64),
        ``nearest_territory`` (its name), ``boundary_distance_m``,
        ``within_buffer`` (bool), the likely ``driver`` with its
        ``driver_probability``, every driver's probability as ``prob_<driver>`` (NaN until
        classified), ``driver_reasons`` (list of {code, params}) and
        ``model_version`` (None until classified), and the names of the polygons each clearing
        overlaps, joined by "; " (None when none): ``territories`` (community
        territories), ``reserves``, ``protected_areas`` and ``districts``;
        then ``geometry``.
        """
        import geopandas as gpd
        import pandas as pd

        c, b, ct, t = s.clearings, s.alert_batches, s.clearing_territories, s.territories
        nt = t.alias("nt")
        date_text = self.db.date_text
        stmt = (
            sa.select(
                c.c.id,
                c.c.batch_id,
                b.c.product,
                date_text(c.c.first_date),
                date_text(c.c.last_date),
                *(c.c[name] for name in FLOAT_FIELDS),
                *(c.c[name] for name in INT_FIELDS),
                c.c.source_ref,
                c.c.status,
                c.c.nearest_territory_id,
                nt.c.name,
                c.c.boundary_distance_m,
                c.c.within_buffer,
                c.c.driver,
                c.c.driver_probability,
                sa.type_coerce(c.c.driver_probs, sa.Text),
                sa.type_coerce(c.c.driver_reasons, sa.Text),
                c.c.model_version,
                c.c.geometry,
            )
            .select_from(
                c.join(b, b.c.id == c.c.batch_id).outerjoin(nt, nt.c.id == c.c.nearest_territory_id)
            )
            .order_by(c.c.id)
        )
        names_stmt = (
            sa.select(ct.c.clearing_id, t.c.kind, t.c.name)
            .select_from(ct.join(t, t.c.id == ct.c.territory_id))
            .order_by(ct.c.clearing_id, t.c.name)
        )
        if batch_ids is not None:
            wanted = [int(v) for v in batch_ids]
            stmt = stmt.where(c.c.batch_id.in_(wanted))
            names_stmt = names_stmt.join(c, c.c.id == ct.c.clearing_id).where(
                c.c.batch_id.in_(wanted)
            )
        with self.db.reader(conn) as rc:
            rows = self.db.fetch_all(rc, stmt)
            name_rows = self.db.fetch_all(rc, names_stmt)

        n_cols = 3 + 2 + len(FLOAT_FIELDS) + len(INT_FIELDS) + 12
        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * n_cols
        it = iter(cols)
        ids = np.array(next(it), dtype=np.int64)
        data: dict[str, Any] = {
            "id": ids,
            "batch_id": np.array(next(it), dtype=np.int64),
            "product": np.array(next(it), dtype=object),
            "first_date": _iso_dates(next(it)),
            "last_date": _iso_dates(next(it)),
        }
        for name in FLOAT_FIELDS:
            data[name] = np.array(next(it), dtype=np.float64)
        for name in INT_FIELDS:
            data[name] = np.array(next(it), dtype=np.int64)
        data["source_ref"] = _objects(next(it))
        data["status"] = _objects(next(it))
        data["nearest_territory_id"] = pd.array(list(next(it)), dtype="Int64")
        data["nearest_territory"] = _objects(next(it))
        data["boundary_distance_m"] = np.array(next(it), dtype=np.float64)
        data["within_buffer"] = np.array(next(it), dtype=bool)
        data["driver"] = _objects(next(it))
        data["driver_probability"] = np.array(
            [np.nan if v is None else v for v in next(it)], dtype=np.float64
        )
        probs = [None if v is None else (json.loads(v) if isinstance(v, str) else v)
                 for v in next(it)]
        for d in DRIVERS:
            data[f"prob_{d.value}"] = np.array(
                [np.nan if p is None or p.get(d.value) is None else float(p[d.value])
                 for p in probs], dtype=np.float64)
        data["driver_reasons"] = _objects(
            [None if v is None else (json.loads(v) if isinstance(v, str) else v) for v in next(it)]
        )
        data["model_version"] = _objects(next(it))
        geometry = shapely.from_wkb(np.array(next(it), dtype=object))

        by_kind: dict[str, dict[int, list[str]]] = {k.value: {} for k in TerritoryKind}
        for cid, kind, tname in name_rows:
            by_kind.setdefault(kind, {}).setdefault(cid, []).append(tname)
        id_list = ids.tolist()
        for kind, column in KIND_COLUMNS.items():
            names = by_kind.get(kind.value, {})
            data[column] = _objects(
                [("; ".join(names[i]) if i in names else None) for i in id_list]
            )
        data["product"] = _objects(data["product"])
        data["first_date"] = _objects(data["first_date"])
        data["last_date"] = _objects(data["last_date"])
        return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")

    def columns(
        self,
        *,
        clearing_ids: Sequence[int] | NDArray[np.int64] | None = None,
        batch_ids: Sequence[int] | None = None,
        bounds: tuple[float, float, float, float] | None = None,
        conn: Connection | None = None,
    ) -> ClearingColumns:
        """Stored clearings as :class:`ClearingColumns`, ordered by id.

        Filters combine: ``clearing_ids``, ``batch_ids``, and ``bounds`` (minx,
        miny, maxx, maxy, lon/lat: clearings whose bounding box meets it).
        Unknown ids are ignored.
        """
        c = s.clearings
        float_names = (
            "area_ha",
            "perimeter_m",
            "length_m",
            "width_m",
            "orientation_deg",
            "elongation",
            "compactness",
            "centroid_lon",
            "centroid_lat",
            "boundary_distance_m",
        )
        stmt = sa.select(
            c.c.id,
            c.c.batch_id,
            self.db.date_text(c.c.first_date),
            self.db.date_text(c.c.last_date),
            *(c.c[name] for name in float_names),
            c.c.pixel_count,
            c.c.minx,
            c.c.miny,
            c.c.maxx,
            c.c.maxy,
            c.c.driver,
            c.c.driver_probability,
            c.c.geometry,
        ).order_by(c.c.id)
        rows, wanted = self._read(stmt, clearing_ids, batch_ids, bounds, conn)
        n_cols = 4 + len(float_names) + 8
        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * n_cols
        it = iter(cols)
        ids = np.array(next(it), dtype=np.int64)
        batch = np.array(next(it), dtype=np.int64)
        first = np.array(next(it), dtype="datetime64[D]")
        last = np.array(next(it), dtype="datetime64[D]")
        floats = {name: np.array(next(it), dtype=np.float64) for name in float_names}
        pixels = np.array(next(it), dtype=np.int64)
        bounds_arr = np.column_stack(
            [np.array(next(it), dtype=np.float64) for _k in range(4)]
        ).reshape(-1, 4)
        driver = np.empty(len(ids), dtype=object)
        driver[:] = next(it)
        driver_p = np.array(next(it), dtype=np.float64)
        geometry = np.asarray(shapely.from_wkb(np.array(next(it), dtype=object)), dtype=object)
        keep = slice(None) if wanted is None else np.isin(ids, wanted)
        return ClearingColumns(
            id=ids[keep],
            batch_id=batch[keep],
            first_date=first[keep],
            last_date=last[keep],
            **{name: values[keep] for name, values in floats.items()},
            pixel_count=pixels[keep],
            bounds=bounds_arr[keep],
            geometry=geometry[keep],
            driver=driver[keep],
            driver_probability=driver_p[keep],
        )

    def positions(
        self,
        *,
        clearing_ids: Sequence[int] | NDArray[np.int64] | None = None,
        batch_ids: Sequence[int] | None = None,
        conn: Connection | None = None,
    ) -> ClearingPositions:
        """The centroid (the centre of the bounding box where no centroid is stored) and the
        (n, 4) lon/lat bounding box of stored clearings, by id. Lean (no geometry), to split
        a large selection into parts before reading it whole (filters as :meth:`columns`)."""
        c = s.clearings
        stmt = sa.select(
            c.c.id, c.c.centroid_lon, c.c.centroid_lat, c.c.minx, c.c.miny, c.c.maxx, c.c.maxy
        ).order_by(c.c.id)
        rows, wanted = self._read(stmt, clearing_ids, batch_ids, None, conn)
        ids = np.array([r[0] for r in rows], np.int64)
        v = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 6)  # None -> NaN
        lon = np.where(np.isfinite(v[:, 0]), v[:, 0], (v[:, 2] + v[:, 4]) / 2.0)
        lat = np.where(np.isfinite(v[:, 1]), v[:, 1], (v[:, 3] + v[:, 5]) / 2.0)
        keep = slice(None) if wanted is None else np.isin(ids, wanted)
        return ClearingPositions(ids[keep], lon[keep], lat[keep], v[keep, 2:])

    def points(self, *, conn: Connection | None = None) -> ClearingPoints:
        """Every stored clearing as a centroid point with area, first date and driver probabilities.

        Lean on purpose (no geometry): the risk score and its back-test read
        hundreds of thousands of clearings.
        """
        c = s.clearings
        stmt = sa.select(
            c.c.id,
            self.db.date_text(c.c.first_date),
            c.c.area_ha,
            c.c.centroid_lon,
            c.c.centroid_lat,
            sa.type_coerce(c.c.driver_probs, sa.Text),
        ).order_by(c.c.id)
        with self.db.reader(conn) as rc:
            rows = self.db.fetch_all(rc, stmt)
        n = len(rows)
        ids, dates, area, lon, lat, probs_text = (
            zip(*rows, strict=True) if rows else ((),) * 6
        )
        probs: dict[str, NDArray[np.float64]] = {}
        for i, text in enumerate(probs_text):
            if not text:
                continue
            # JSON text from sqlite3; psycopg hands over the JSON column already parsed
            for driver, p in (json.loads(text) if isinstance(text, str) else text).items():
                col = probs.get(driver)
                if col is None:
                    col = probs[driver] = np.full(n, np.nan)
                col[i] = float(p)
        return ClearingPoints(
            np.asarray(ids, np.int64),
            np.array([d or "NaT" for d in dates], dtype="datetime64[D]"),
            np.asarray(area, np.float64),
            np.array([np.nan if v is None else v for v in lon], np.float64),
            np.array([np.nan if v is None else v for v in lat], np.float64),
            probs,
        )

    def uncased(self, *, conn: Connection | None = None) -> UncasedClearings:
        """The clearings in no case yet, by id (nearest territory, within its buffer, last
        date). Lean: what choosing clearings for cases needs."""
        c, cc = s.clearings, s.case_clearings
        stmt = (
            sa.select(c.c.id, c.c.nearest_territory_id, c.c.within_buffer,
                      self.db.date_text(c.c.last_date))
            .where(~sa.exists().where(cc.c.clearing_id == c.c.id))
            .order_by(c.c.id)
        )
        with self.db.reader(conn) as rc:
            rows = self.db.fetch_all(rc, stmt)
        ids, nearest, within, last = zip(*rows, strict=True) if rows else ((),) * 4
        return UncasedClearings(
            np.array(ids, np.int64),
            np.array([-1 if v is None else v for v in nearest], np.int64),
            np.array(within, bool),
            np.array([v or "NaT" for v in last], "datetime64[D]"),
        )

    def placements(
        self,
        *,
        clearing_ids: Sequence[int] | NDArray[np.int64] | None = None,
        conn: Connection | None = None,
    ) -> ClearingPlacements:
        """The batch, bounding box, nearest territory, boundary distance and buffer flag of
        every stored clearing (of ``clearing_ids`` when given), by id. Lean (no polygon):
        what a change of territories is checked against."""
        c = s.clearings
        stmt = sa.select(
            c.c.id, c.c.batch_id, c.c.minx, c.c.miny, c.c.maxx, c.c.maxy,
            c.c.nearest_territory_id, c.c.boundary_distance_m, c.c.within_buffer,
        ).order_by(c.c.id)
        rows, wanted = self._read(stmt, clearing_ids, None, None, conn)
        v = np.array(rows, dtype=np.float64).reshape(-1, 9)  # None -> NaN
        ids = v[:, 0].astype(np.int64)
        keep = slice(None) if wanted is None else np.isin(ids, wanted)
        v = v[keep]
        near = v[:, 6]
        return ClearingPlacements(
            ids[keep], v[:, 1].astype(np.int64), v[:, 2:6],
            np.where(np.isnan(near), -1, near).astype(np.int64), v[:, 7], v[:, 8] == 1.0,
        )

    def polygons(
        self,
        *,
        clearing_ids: Sequence[int] | NDArray[np.int64],
        conn: Connection | None = None,
    ) -> ClearingPolygons:
        """The polygons of some stored clearings as stored (WKB), with their area,
        perimeter, pixel count and point, by id. Leaner than :meth:`columns`: no geometry
        object, no date; what placing them again needs."""
        c = s.clearings
        stmt = sa.select(
            c.c.id, c.c.area_ha, c.c.perimeter_m, c.c.pixel_count, c.c.centroid_lon,
            c.c.centroid_lat, c.c.geometry,
        ).order_by(c.c.id)
        rows, wanted = self._read(stmt, clearing_ids, None, None, conn)
        if wanted is not None:
            keep = set(wanted.tolist())
            rows = [r for r in rows if r[0] in keep]
        v = np.array([r[:6] for r in rows], dtype=np.float64).reshape(-1, 6)
        return ClearingPolygons(
            v[:, 0].astype(np.int64), v[:, 1], v[:, 2], v[:, 3].astype(np.int64), v[:, 4],
            v[:, 5], [bytes(r[6]) for r in rows],
        )

    def placed_on(
        self, territory_ids: Iterable[int], *, conn: Connection | None = None
    ) -> NDArray[np.int64]:
        """Ids (ascending, unique) of the clearings that overlap one of ``territory_ids`` or
        have one of them as their nearest territory."""
        wanted = sorted({int(v) for v in territory_ids})
        if not wanted:
            return np.empty(0, np.int64)
        c, ct = s.clearings, s.clearing_territories
        found: set[int] = set()
        with self.db.reader(conn) as rc:
            for chunk in in_chunks(wanted):
                for stmt in (
                    sa.select(ct.c.clearing_id).where(ct.c.territory_id.in_(chunk)),
                    sa.select(c.c.id).where(c.c.nearest_territory_id.in_(chunk)),
                ):
                    found.update(int(r[0]) for r in self.db.fetch_all(rc, stmt))
        return np.array(sorted(found), np.int64)

    def overlapping(
        self,
        kinds: Iterable[TerritoryKind],
        *,
        batch_ids: Sequence[int] | None = None,
        conn: Connection | None = None,
    ) -> NDArray[np.int64]:
        """Ids (ascending) of the clearings that overlap a territory of ``kinds``."""
        c, ct, t = s.clearings, s.clearing_territories, s.territories
        stmt = (
            sa.select(ct.c.clearing_id)
            .distinct()
            .select_from(ct.join(t, t.c.id == ct.c.territory_id))
            .where(t.c.kind.in_([TerritoryKind(k).value for k in kinds]))
        )
        if batch_ids is not None:
            stmt = stmt.join(c, c.c.id == ct.c.clearing_id).where(
                c.c.batch_id.in_([int(v) for v in batch_ids])
            )
        with self.db.reader(conn) as rc:
            rows = self.db.fetch_all(rc, stmt)
        return np.sort(np.array([r[0] for r in rows], dtype=np.int64))

    def overlaps(
        self,
        kinds: Iterable[TerritoryKind] | None = None,
        *,
        clearing_ids: Sequence[int] | NDArray[np.int64] | None = None,
        conn: Connection | None = None,
    ) -> ClearingOverlaps:
        """Every overlap of a clearing (of ``clearing_ids`` when given) with a territory (of
        ``kinds`` when given), by clearing then largest share (then territory id), with its
        share and area."""
        ct, t = s.clearing_territories, s.territories
        stmt = (
            sa.select(ct.c.clearing_id, ct.c.territory_id, ct.c.share, ct.c.area_ha)
            .select_from(ct.join(t, t.c.id == ct.c.territory_id))
            .order_by(ct.c.clearing_id, ct.c.share.desc(), ct.c.territory_id)
        )
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([TerritoryKind(k).value for k in kinds]))
        stmts = [stmt]
        wanted = None
        if clearing_ids is not None:
            wanted = np.unique(np.asarray(clearing_ids, np.int64).reshape(-1))
            if not len(wanted):
                return ClearingOverlaps.empty()
            if wanted[-1] - wanted[0] < 4 * len(wanted) + IN_CHUNK:  # dense: one range
                stmts = [stmt.where(ct.c.clearing_id.between(int(wanted[0]),
                                                             int(wanted[-1])))]
            else:
                stmts = [stmt.where(ct.c.clearing_id.in_(chunk))
                         for chunk in in_chunks(wanted.tolist())]
        rows: list[Any] = []
        with self.db.reader(conn) as rc:
            for one in stmts:
                rows.extend(self.db.fetch_all(rc, one))
        if wanted is not None and len(stmts) == 1 and rows:
            keep = np.isin(np.fromiter((r[0] for r in rows), np.int64, len(rows)), wanted)
            rows = [r for r, k in zip(rows, keep.tolist(), strict=True) if k]
        if not rows:
            return ClearingOverlaps.empty()
        cid, tid, share, area = zip(*rows, strict=True)
        return ClearingOverlaps(
            np.array(cid, np.int64), np.array(tid, np.int64), np.array(share, np.float64),
            np.array(area, np.float64),
        )

    def by_territory(
        self, batch_ids: Sequence[int] | None = None, *, conn: Connection | None = None
    ) -> list[TerritorySummary]:
        """Per territory touched by at least one clearing: count, overlap area (ha), date range.

        Ordered by area, largest first (then by name).
        """
        c, ct, t = s.clearings, s.clearing_territories, s.territories
        area = sa.func.sum(ct.c.area_ha).label("area_ha")
        stmt = (
            sa.select(
                t.c.id,
                t.c.name,
                t.c.kind,
                sa.func.count(ct.c.clearing_id),
                area,
                sa.func.min(c.c.first_date),
                sa.func.max(c.c.last_date),
            )
            .select_from(
                ct.join(c, c.c.id == ct.c.clearing_id).join(t, t.c.id == ct.c.territory_id)
            )
            .group_by(t.c.id, t.c.name, t.c.kind)
            .order_by(area.desc(), t.c.name, t.c.id)
        )
        if batch_ids is not None:
            stmt = stmt.where(c.c.batch_id.in_([int(v) for v in batch_ids]))
        with self.db.reader(conn) as rc:
            rows = rc.execute(stmt).all()
        return [
            TerritorySummary(
                territory_id=int(tid),
                name=name,
                kind=TerritoryKind(kind),
                clearings=int(count),
                area_ha=float(total or 0.0),
                first_date=as_date(first),
                last_date=as_date(last),
            )
            for tid, name, kind, count, total, first, last in rows
        ]

    def by_driver(
        self, batch_ids: Sequence[int] | None = None, *, conn: Connection | None = None
    ) -> DriverCounts:
        """Clearings per likely driver (classified ones only) and the model that classified
        most of them (None when none is classified)."""
        c = s.clearings
        stmt = (
            sa.select(c.c.driver, c.c.model_version, sa.func.count())
            .where(c.c.driver.is_not(None))
            .group_by(c.c.driver, c.c.model_version)
        )
        if batch_ids is not None:
            stmt = stmt.where(c.c.batch_id.in_([int(v) for v in batch_ids]))
        with self.db.reader(conn) as rc:
            rows = rc.execute(stmt).all()
        counts: dict[str, int] = {}
        by_model: dict[str, int] = {}
        for driver, version, n in rows:
            counts[driver] = counts.get(driver, 0) + int(n)
            by_model[version] = by_model.get(version, 0) + int(n)
        top = max(by_model, key=lambda v: (by_model[v], v)) if by_model else None
        return DriverCounts(dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), top)

    def extent(
        self, batch_ids: Sequence[int] | None = None, *, conn: Connection | None = None
    ) -> tuple[float, float, float, float] | None:
        """Bounds (minx, miny, maxx, maxy, lon/lat) of every stored clearing (of ``batch_ids``
        when given); None when none."""
        c = s.clearings
        stmt = sa.select(
            sa.func.min(c.c.minx), sa.func.min(c.c.miny), sa.func.max(c.c.maxx),
            sa.func.max(c.c.maxy),
        )
        if batch_ids is not None:
            stmt = stmt.where(c.c.batch_id.in_([int(v) for v in batch_ids]))
        with self.db.reader(conn) as rc:
            row = rc.execute(stmt).one()
        if row[0] is None:
            return None
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])

    def latest_alert_date(self, *, conn: Connection | None = None) -> date | None:
        """The last alert date of the most recent stored clearing (None when none has one)."""
        c = s.clearings
        with self.db.reader(conn) as rc:
            value = rc.execute(
                sa.select(self.db.date_text(sa.func.max(c.c.last_date)))
            ).scalar()
        return None if value is None else date.fromisoformat(str(value)[:10])

    def span(self, *, conn: Connection | None = None
             ) -> tuple[int, date | None, date | None]:
        """How many clearings are stored, the first alert date of the oldest and the last
        of the newest (None when none has dates): what a map's date slider covers."""
        c = s.clearings
        with self.db.reader(conn) as rc:
            n, lo, hi = rc.execute(sa.select(
                sa.func.count(c.c.id), self.db.date_text(sa.func.min(c.c.first_date)),
                self.db.date_text(sa.func.max(c.c.last_date)))).one()
        return (int(n), None if lo is None else date.fromisoformat(str(lo)[:10]),
                None if hi is None else date.fromisoformat(str(hi)[:10]))

    def details(
        self, clearing_ids: Sequence[int], *, conn: Connection | None = None
    ) -> list[ClearingDetail]:
        """A :class:`ClearingDetail` of each of ``clearing_ids`` that is stored, by id."""
        c, b = s.clearings, s.alert_batches
        stmt = (
            sa.select(
                c.c.id, b.c.product, b.c.source, self.db.date_text(c.c.first_date),
                self.db.date_text(c.c.last_date), c.c.area_ha, c.c.pixels_low,
                c.c.pixels_high, c.c.pixels_highest, c.c.driver, c.c.driver_probability,
                sa.type_coerce(c.c.driver_probs, sa.Text),
                sa.type_coerce(c.c.driver_reasons, sa.Text), c.c.model_version,
            )
            .select_from(c.join(b, b.c.id == c.c.batch_id))
            .order_by(c.c.id)
        )
        wanted = sorted({int(v) for v in clearing_ids})
        rows: list[Any] = []
        with self.db.reader(conn) as rc:
            for chunk in in_chunks(wanted):
                rows.extend(rc.execute(stmt.where(c.c.id.in_(chunk))).all())

        def parsed(value: Any, empty: Any) -> Any:
            if value is None:
                return empty
            return json.loads(value) if isinstance(value, str) else value

        return [
            ClearingDetail(
                id=int(r[0]), product=str(r[1]), source=str(r[2]), first_date=as_date(r[3]),
                last_date=as_date(r[4]), area_ha=float(r[5] or 0.0), pixels_low=int(r[6]),
                pixels_high=int(r[7]), pixels_highest=int(r[8]), driver=r[9],
                driver_probability=None if r[10] is None else float(r[10]),
                driver_probs={str(k): float(v) for k, v in parsed(r[11], {}).items()},
                driver_reasons=list(parsed(r[12], [])), model_version=r[13],
            )
            for r in sorted(rows, key=lambda r: int(r[0]))
        ]

    def _read(
        self,
        stmt: sa.Select[Any],
        clearing_ids: Sequence[int] | NDArray[np.int64] | None,
        batch_ids: Sequence[int] | None,
        bounds: tuple[float, float, float, float] | None,
        conn: Connection | None,
    ) -> tuple[list[Any], NDArray[np.int64] | None]:
        """Rows of ``stmt`` (on ``clearings``) for the chosen clearings, and the wanted ids
        the caller keeps from them (see :func:`_clearing_filters`)."""
        stmts, wanted = _clearing_filters(stmt, clearing_ids, batch_ids, bounds)
        rows: list[Any] = []
        with self.db.reader(conn) as rc:
            for one in stmts:
                rows.extend(self.db.fetch_all(rc, one))
        return rows, wanted


# ------------------------------------------------------------------- helpers


def _clearing_filters(
    stmt: sa.Select[Any],
    clearing_ids: Sequence[int] | NDArray[np.int64] | None,
    batch_ids: Sequence[int] | None,
    bounds: tuple[float, float, float, float] | None,
) -> tuple[list[sa.Select[Any]], NDArray[np.int64] | None]:
    """The statements that read the chosen clearings (ids, batches, bounding-box overlap),
    and the wanted ids to keep from their rows (a dense id range is read whole)."""
    c = s.clearings
    if batch_ids is not None:
        stmt = stmt.where(c.c.batch_id.in_([int(v) for v in batch_ids]))
    if bounds is not None:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        stmt = stmt.where(c.c.minx <= maxx, c.c.maxx >= minx, c.c.miny <= maxy, c.c.maxy >= miny)
    if clearing_ids is None:
        return [stmt], None
    wanted = np.unique(np.asarray(clearing_ids, np.int64).reshape(-1))
    if len(wanted) == 0:
        return [], wanted
    if wanted[-1] - wanted[0] < 4 * len(wanted) + IN_CHUNK:
        # dense ids (a batch, a selection): one range read, filtered by the caller
        return [stmt.where(c.c.id >= int(wanted[0]), c.c.id <= int(wanted[-1]))], wanted
    return [stmt.where(c.c.id.in_(chunk)) for chunk in in_chunks(wanted.tolist())], wanted


def _check_parents(conn: Connection, batch_id: int | None, placement: Placement | None) -> None:
    """The checks of the foreign keys of clearings and overlap rows, once per call.

    Used in a bulk transaction (no per-row enforcement): the batch and every
    territory the placement names must exist. Raises ``IntegrityError`` as
    the per-row checks would.
    """
    missing: list[str] = []
    if batch_id is not None:
        missing += [f"alert batch {v}" for v in missing_ids(conn, s.alert_batches, [batch_id])]
    if placement is not None:
        near = np.asarray(placement.nearest_territory, np.int64)
        wanted = np.unique(
            np.concatenate([near[near >= 0], np.asarray(placement.overlap_territory, np.int64)])
        )
        missing += [f"territory {v}" for v in missing_ids(conn, s.territories, wanted.tolist())]
    if missing:
        raise sa.exc.IntegrityError(
            "add_clearings", None, ValueError("FOREIGN KEY constraint failed: no "
                                              + ", ".join(missing[:5]))
        )


def _check_placement(n: int, placement: Placement) -> None:
    for name in ("nearest_territory", "boundary_distance_m", "within_buffer"):
        if len(getattr(placement, name)) != n:
            raise ValueError(f"Placement.{name} has {len(getattr(placement, name))} items, not {n}")
    k = len(placement.overlap_clearing)
    for name in ("overlap_territory", "overlap_area_ha", "overlap_share"):
        if len(getattr(placement, name)) != k:
            raise ValueError(f"Placement.{name} has {len(getattr(placement, name))} items, not {k}")
    if k:
        oc = np.asarray(placement.overlap_clearing, dtype=np.int64)
        if oc.min() < 0 or oc.max() >= n:
            raise ValueError(f"Placement.overlap_clearing must index the {n} clearings")
        # one int64 key per pair (territory ids fit in 32 bits)
        keys = (oc << 32) | np.asarray(placement.overlap_territory, dtype=np.int64)
        # pairs come sorted from the raster pipeline: then strictly increasing means unique
        if not bool(np.all(keys[1:] > keys[:-1])) and len(np.unique(keys)) != k:
            raise ValueError("Placement has a clearing/territory pair twice")


def _objects(values: Sequence[Any]) -> Any:
    """A pandas object column (None stays None; pandas 3 would infer ``str`` with NaN).

    One entry per value even when the values are lists of equal length (reasons).
    """
    import pandas as pd

    return pd.array(np.fromiter(values, dtype=object, count=len(values)), dtype=object)


def _iso_dates(values: Sequence[Any]) -> NDArray[np.object_]:
    """ISO date strings (None for missing) from ISO text (SQLite) or ``date`` values."""
    if all(v is None or (isinstance(v, str) and len(v) == 10) for v in values):
        return np.asarray(values, dtype=object)  # already ISO text as written by the store
    days = np.array(values, dtype="datetime64[D]")
    out = np.datetime_as_string(days, unit="D").astype(object)
    out[np.isnat(days)] = None
    return out
