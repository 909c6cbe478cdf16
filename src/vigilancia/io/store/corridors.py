"""Trafficking corridors: each run of the corridor analysis and the routes it found.

``store.corridors`` keeps one row per run (its date, parameters and summary)
and the corridors of the run as lines in EPSG:4326 with their origin, exit,
travel modes, length (km) and cost (hours). Readers take the newest run
unless they name one.

The records (:class:`~vigilancia.domain.routes.CorridorRun`,
:class:`~vigilancia.domain.routes.StoredCorridor`) are imported where they are
built: the route module's graph libraries would slow down every command that
opens a workspace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.io.store import schema as s
from vigilancia.io.store.records import corridor_run
from vigilancia.io.store.repository import Repository, insert_rows, next_id, require_tx

if TYPE_CHECKING:
    from vigilancia.domain.routes import CorridorRun, StoredCorridor


class CorridorRepository(Repository):
    """``store.corridors``: the runs of the corridor analysis and their corridors."""

    def add_run(
        self,
        conn: Connection,
        *,
        as_of: date | None,
        params: Mapping[str, Any],
        summary: Mapping[str, Any],
        corridors: Sequence[tuple[str, str | None, Sequence[str], float, float, Any]],
    ) -> tuple[int, list[int]]:
        """Store one run of the corridor analysis and its corridors; returns (run id, corridor ids).

        ``corridors``: ``(origin, exit_name, modes, length_km, cost_h, geometry)``
        per route, ``origin`` a label such as ``"runway:12"`` or ``"zone:3"``,
        ``modes`` in route order, ``cost_h`` hours, geometry a line in EPSG:4326.
        ``params`` and ``summary`` are JSON-serialisable.
        """
        require_tx(conn)
        result = conn.execute(
            sa.insert(s.corridor_runs).values(
                created_at=datetime.now(UTC),
                as_of=as_of,
                params=dict(params),
                summary=dict(summary),
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        run_id = int(pk[0])
        if not corridors:
            return run_id, []
        geoms = np.empty(len(corridors), dtype=object)
        geoms[:] = [c[5] for c in corridors]
        bounds = np.asarray(shapely.bounds(geoms), np.float64)
        wkb = shapely.to_wkb(geoms)
        start = next_id(conn, s.corridors)
        ids = list(range(start, start + len(corridors)))
        rows = [
            {
                "id": cid,
                "run_id": run_id,
                "origin": str(c[0]),
                "exit_name": c[1],
                "modes": [str(m) for m in c[2]],
                "length_km": float(c[3]),
                "cost": float(c[4]),
                "geometry": bytes(wkb[i]),
                "minx": float(bounds[i, 0]),
                "miny": float(bounds[i, 1]),
                "maxx": float(bounds[i, 2]),
                "maxy": float(bounds[i, 3]),
            }
            for i, (cid, c) in enumerate(zip(ids, corridors, strict=True))
        ]
        insert_rows(conn, s.corridors, rows)
        return run_id, ids

    def runs(self, *, conn: Connection | None = None) -> list[CorridorRun]:
        """Stored corridor runs, oldest first."""
        t = s.corridor_runs
        with self.db.reader(conn) as c:
            rows = c.execute(sa.select(t).order_by(t.c.id)).all()
        return [corridor_run(r) for r in rows]

    def latest_run(
        self, *, as_of: date | None = None, conn: Connection | None = None
    ) -> CorridorRun | None:
        """The newest corridor run (None if none); with ``as_of``, the newest built for it."""
        t = s.corridor_runs
        stmt = sa.select(t).order_by(t.c.id.desc()).limit(1)
        if as_of is not None:
            stmt = stmt.where(t.c.as_of == as_of)
        with self.db.reader(conn) as c:
            row = c.execute(stmt).first()
        return None if row is None else corridor_run(row)

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(
        self, run_id: int | None = None, *, conn: Connection | None = None
    ) -> list[StoredCorridor]:
        """Corridors of run ``run_id`` (default: the newest run), ordered by id; EPSG:4326 lines."""
        t = s.corridors
        with self.db.reader(conn) as c:
            if run_id is None:
                run = self.latest_run(conn=c)
                if run is None:
                    return []
                run_id = run.id
            rows = c.execute(
                sa.select(t).where(t.c.run_id == int(run_id)).order_by(t.c.id)
            ).all()
        if not rows:
            return []
        from vigilancia.domain.routes import StoredCorridor

        geoms = shapely.from_wkb(np.array([bytes(r.geometry) for r in rows], dtype=object))
        return [
            StoredCorridor(
                id=int(r.id),
                run_id=int(r.run_id),
                origin=str(r.origin),
                exit_name=r.exit_name,
                modes=tuple(r.modes or ()),
                length_km=float(r.length_km),
                cost_h=float(r.cost),
                geometry=g,
            )
            for r, g in zip(rows, geoms, strict=True)
        ]
