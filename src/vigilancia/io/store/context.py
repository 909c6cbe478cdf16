"""Context layers (rivers, roads, settlements, airstrips...) and the ledger of imported files.

``store.context`` keeps the features of the context layers: points, lines
and polygons in EPSG:4326, with their name, class and source attributes.
``store.context`` also keeps each imported layer's coverage (where it was
mapped: ``context_coverages``, one row per import). ``store.imports``
remembers which file (by SHA-256) was imported as which kind of layer, so that
importing the same file twice adds nothing; deleting a ledger row deletes the
context features imported with it, and its coverage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.domain.context import ContextFeatures, ContextKind
from vigilancia.errors import ConflictError
from vigilancia.i18n import _
from vigilancia.io.store import schema as s
from vigilancia.io.store.records import CoverageRecord
from vigilancia.io.store.repository import Repository, in_chunks, next_id, require_tx


class ImportLedger(Repository):
    """``store.imports``: which files were imported as which kind of layer."""

    def has(self, sha256: str, kind: str, *, conn: Connection | None = None) -> bool:
        """Whether a file with this SHA-256 was imported as ``kind`` (e.g. "territories")."""
        t = s.layer_imports
        with self.db.reader(conn) as c:
            row = c.execute(sa.select(t.c.id).where(t.c.sha256 == sha256, t.c.kind == kind)).first()
        return row is not None

    def find(self, sha256: str, kind: str, *, conn: Connection | None = None) -> int | None:
        """The id of the ``layer_imports`` row of a file (SHA-256) imported as ``kind``; None
        when it was not."""
        t = s.layer_imports
        with self.db.reader(conn) as c:
            row = c.execute(sa.select(t.c.id).where(t.c.sha256 == sha256, t.c.kind == kind)).first()
        return None if row is None else int(row.id)

    def record(self, conn: Connection, sha256: str, kind: str, source: str, count: int) -> int:
        """Record that ``source`` (SHA-256 ``sha256``) was imported as ``kind`` (``count`` rows);
        returns the id of the new ``layer_imports`` row.

        Raises :class:`ConflictError` when the same file was already imported as ``kind``.
        """
        require_tx(conn)
        duplicate = ConflictError(
            _("this file was already imported ({kind})", kind=kind),
            hint=_("nothing was added; the workspace already has its contents"),
            source=source,
        )
        if self.has(sha256, kind, conn=conn):
            raise duplicate
        try:  # a concurrent writer (PostgreSQL) may insert the same file after the check
            result = conn.execute(
                sa.insert(s.layer_imports).values(
                    sha256=sha256,
                    kind=kind,
                    source=source,
                    count=int(count),
                    imported_at=datetime.now(UTC),
                )
            )
        except sa.exc.IntegrityError as exc:
            raise duplicate from exc
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])


    def forget(self, conn: Connection, kind: str, *, keep_sources: Iterable[str] = (),
               keep_sha256: str | None = None) -> int:
        """Forget the imports of ``kind`` whose contents are gone from the workspace, so
        that importing such a file again is not taken for a repeat: every one but those
        whose source is in ``keep_sources`` or whose hash is ``keep_sha256``. Returns how
        many were forgotten. Only for kinds whose rows own nothing (territories):
        forgetting a context layer's import deletes its features."""
        require_tx(conn)
        t = s.layer_imports
        keep = set(keep_sources)
        rows = conn.execute(
            sa.select(t.c.id, t.c.source, t.c.sha256).where(t.c.kind == kind)).all()
        gone = [int(r.id) for r in rows if r.source not in keep and r.sha256 != keep_sha256]
        for chunk in in_chunks(gone):
            conn.execute(sa.delete(t).where(t.c.id.in_(chunk)))
        return len(gone)


class ContextRepository(Repository):
    """``store.context``: the features of the context layers."""

    def add(
        self,
        conn: Connection,
        import_id: int | None,
        kind: ContextKind | str,
        features: Sequence[tuple[Any, str | None, str | None, dict[str, Any] | None]],
    ) -> list[int]:
        """Store context features of one ``kind``; returns their ids in order.

        ``features``: ``(geometry, name, feature_class, attributes)`` per
        feature, geometries (points, lines or polygons) in EPSG:4326,
        attributes JSON-serialisable (or None). ``import_id`` links them to
        their ``layer_imports`` row (deleting it deletes them). Ids are
        assigned as ``MAX(id) + 1 ...`` inside the transaction.
        """
        require_tx(conn)
        kind_value = ContextKind(kind).value
        n = len(features)
        if n == 0:
            return []
        geoms = np.empty(n, dtype=object)
        geoms[:] = [f[0] for f in features]
        bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if bad.any():
            raise ValueError(f"context feature {int(np.argmax(bad))} has no geometry")
        bounds = np.asarray(shapely.bounds(geoms), np.float64)
        wkb = shapely.to_wkb(geoms)
        start = next_id(conn, s.context_features)
        ids = list(range(start, start + n))
        # the driver paths (sqlite3, COPY) take JSON text; SQLAlchemy's JSON type the values
        raw_json = self.db.fast_bulk
        attributes = [
            (json.dumps(f[3], ensure_ascii=False) if raw_json else f[3]) if f[3] else None
            for f in features
        ]
        self.db.insert_many(
            conn,
            s.context_features,
            {
                "id": ids,
                "import_id": [None if import_id is None else int(import_id)] * n,
                "kind": [kind_value] * n,
                "name": [f[1] for f in features],
                "feature_class": [f[2] for f in features],
                "attributes": attributes,
                "geometry": [bytes(b) for b in wkb.tolist()],
                "minx": bounds[:, 0].tolist(),
                "miny": bounds[:, 1].tolist(),
                "maxx": bounds[:, 2].tolist(),
                "maxy": bounds[:, 3].tolist(),
            },
        )
        return ids

    def features(
        self,
        kinds: Iterable[ContextKind | str] | None = None,
        *,
        bounds: tuple[float, float, float, float] | None = None,
        conn: Connection | None = None,
    ) -> ContextFeatures:
        """Stored context features (all, or those of ``kinds``), ordered by id.

        ``bounds`` (minx, miny, maxx, maxy, lon/lat) keeps the features whose
        bounding box meets it. Geometries are shapely objects in EPSG:4326.
        """
        t = s.context_features
        stmt = sa.select(
            t.c.id, t.c.kind, t.c.name, t.c.feature_class, t.c.geometry, t.c.import_id
        ).order_by(t.c.id)
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([ContextKind(k).value for k in kinds]))
        if bounds is not None:
            minx, miny, maxx, maxy = (float(v) for v in bounds)
            stmt = stmt.where(
                t.c.minx <= maxx, t.c.maxx >= minx, t.c.miny <= maxy, t.c.maxy >= miny
            )
        with self.db.reader(conn) as c:
            rows = self.db.fetch_all(c, stmt)
        if not rows:
            return ContextFeatures.empty()
        ids, kind_col, names, classes, wkb, imports = zip(*rows, strict=True)
        geoms = shapely.from_wkb(np.array(wkb, dtype=object))
        return ContextFeatures.build(ids, kind_col, names, classes, geoms, imports)

    def attributes(
        self,
        kinds: Iterable[ContextKind | str] | None = None,
        *,
        conn: Connection | None = None,
    ) -> dict[int, dict[str, Any]]:
        """The source attributes of stored context features (all, or those of ``kinds``) by id.

        Features imported without attributes are left out.
        """
        t = s.context_features
        stmt = sa.select(t.c.id, t.c.attributes).where(t.c.attributes.is_not(None))
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([ContextKind(k).value for k in kinds]))
        with self.db.reader(conn) as c:
            rows = c.execute(stmt.order_by(t.c.id)).all()
        return {int(r.id): dict(r.attributes) for r in rows if isinstance(r.attributes, dict)}

    def count_by_kind(self, *, conn: Connection | None = None) -> dict[str, int]:
        """Number of stored context features per kind (kinds without features left out)."""
        t = s.context_features
        stmt = sa.select(t.c.kind, sa.func.count(t.c.id)).group_by(t.c.kind).order_by(t.c.kind)
        with self.db.reader(conn) as c:
            return {str(kind): int(n) for kind, n in c.execute(stmt).all()}

    def set_coverage(
        self,
        conn: Connection,
        import_id: int,
        kind: ContextKind | str,
        geometry: Any,
        origin: str,
        source: str | None = None,
    ) -> None:
        """Store (or replace) the coverage of the layer imported as ``import_id``.

        ``geometry``: a polygon or multipolygon in EPSG:4326; ``origin``:
        ``"extent"`` or ``"file"`` (``source`` names the file).
        """
        require_tx(conn)
        if geometry is None or shapely.is_empty(geometry):
            raise ValueError(f"the coverage of import {import_id} has no area")
        minx, miny, maxx, maxy = (float(v) for v in shapely.bounds(geometry))
        t = s.context_coverages
        conn.execute(sa.delete(t).where(t.c.import_id == int(import_id)))
        conn.execute(
            sa.insert(t).values(
                import_id=int(import_id),
                kind=ContextKind(kind).value,
                origin=str(origin),
                source=source,
                geometry=geometry,
                minx=minx,
                miny=miny,
                maxx=maxx,
                maxy=maxy,
            )
        )

    def coverages(
        self,
        kinds: Iterable[ContextKind | str] | None = None,
        *,
        conn: Connection | None = None,
    ) -> list[CoverageRecord]:
        """The stored coverages (all, or those of ``kinds``), ordered by import id."""
        t = s.context_coverages
        stmt = sa.select(t.c.import_id, t.c.kind, t.c.origin, t.c.source, t.c.geometry)
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([ContextKind(k).value for k in kinds]))
        with self.db.reader(conn) as c:
            rows = c.execute(stmt.order_by(t.c.import_id)).all()
        return [
            CoverageRecord(int(r.import_id), str(r.kind), str(r.origin), r.source,
                           shapely.from_wkb(bytes(r.geometry)))
            for r in rows
        ]
