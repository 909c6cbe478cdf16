"""What patrols bring back: field observations and the files kept as evidence.

``store.observations`` keeps each observation (point, track, photo...) with
the case it attached to; an observation's ``key`` makes importing the same
record twice add nothing. ``store.field_files`` lists the files kept byte for
byte under the workspace folder, by SHA-256 (the same bytes are kept once).
Exact places are sensitive: they stay in the workspace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.io.store import schema as s
from vigilancia.io.store.records import FieldFileRecord, ObservationRecord, field_file, observation
from vigilancia.io.store.repository import (
    Repository,
    in_chunks,
    insert_rows,
    next_id,
    require_tx,
)


class ObservationRepository(Repository):
    """``store.observations``: the stored field observations."""

    def add(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Store observations (columns of ``field_observations`` except ``id``). Returns ids."""
        require_tx(conn)
        t = s.field_observations
        first = next_id(conn, t)
        ids = list(range(first, first + len(rows)))
        insert_rows(conn, t, [dict(r) | {"id": i} for i, r in zip(ids, rows, strict=True)])
        return ids

    def known_keys(self, keys: Iterable[str], *, conn: Connection | None = None) -> set[str]:
        """Which of ``keys`` are already stored observations."""
        t = s.field_observations
        found: set[str] = set()
        with self.db.reader(conn) as c:
            for chunk in in_chunks(sorted(set(keys))):
                found.update(
                    str(v) for (v,) in c.execute(sa.select(t.c.key).where(t.c.key.in_(chunk))).all()
                )
        return found

    def set_missing_times(
        self, conn: Connection, times: Mapping[str, tuple[datetime, datetime | None]]
    ) -> int:
        """Give the observations with these keys that were stored without a time their
        time and end time (``key -> (observed_at, end_at)``); others are left as they are.
        Returns how many changed."""
        require_tx(conn)
        t = s.field_observations
        changed = 0
        for key, (observed_at, end_at) in sorted(times.items()):
            result = conn.execute(
                t.update()
                .where(t.c.key == key, t.c.observed_at.is_(None))
                .values(observed_at=observed_at, end_at=end_at)
            )
            changed += int(result.rowcount or 0)
        return changed

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(
        self, case_id: int | None = None, *, conn: Connection | None = None
    ) -> list[ObservationRecord]:
        """Stored observations (all, or one case's), by id."""
        t = s.field_observations
        stmt = sa.select(t).order_by(t.c.id)
        if case_id is not None:
            stmt = stmt.where(t.c.case_id == int(case_id))
        with self.db.reader(conn) as c:
            rows = c.execute(stmt).all()
        return [observation(r) for r in rows]


class FieldFileRepository(Repository):
    """``store.field_files``: the field files kept as evidence."""

    def add(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Record kept field files (columns of ``field_files``); a SHA-256 already stored
        is skipped. Returns how many were added."""
        require_tx(conn)
        t = s.field_files
        seen: set[str] = set()
        for chunk in in_chunks(sorted({str(r["sha256"]) for r in rows})):
            seen.update(
                str(v) for (v,) in conn.execute(
                    sa.select(t.c.sha256).where(t.c.sha256.in_(chunk))
                ).all()
            )
        new = []
        for r in rows:
            if r["sha256"] in seen:
                continue
            seen.add(str(r["sha256"]))
            new.append(dict(r))
        insert_rows(conn, t, new)
        return len(new)

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(
        self, shas: Iterable[str] | None = None, *, conn: Connection | None = None
    ) -> list[FieldFileRecord]:
        """Stored field files (all, or those with ``shas``), by import time then name."""
        t = s.field_files
        stmt = sa.select(t).order_by(t.c.imported_at, t.c.name)
        if shas is not None:
            stmt = stmt.where(t.c.sha256.in_(list(shas)))
        with self.db.reader(conn) as c:
            return [field_file(r) for r in c.execute(stmt).all()]
