"""What the driver classifier learns from: stored models and clearing labels.

``store.models`` keeps the trained driver models (one active at most; with
none active the rules predict). ``store.labels`` keeps what is known of a
clearing's driver: imported label files and patrol verdicts, one label per
clearing and source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.domain.driver_training import LabelRow
from vigilancia.domain.drivers import Driver
from vigilancia.errors import ConflictError, NotFoundError, action
from vigilancia.i18n import _
from vigilancia.io.store import schema as s
from vigilancia.io.store.records import ModelRecord, as_date, aware, model_record
from vigilancia.io.store.repository import Repository, in_chunks, insert_rows, require_tx


class ModelRepository(Repository):
    """``store.models``: the stored driver models."""

    def add(
        self,
        conn: Connection,
        *,
        version: str,
        kind: str,
        n_labels: int,
        params: Mapping[str, Any] | None,
        metrics: Mapping[str, Any] | None,
        blob: bytes | None,
        activate: bool = True,
    ) -> int:
        """Store a driver model and return its id; with ``activate`` it becomes the one active.

        Raises :class:`ConflictError` when ``version`` is already stored (use
        :meth:`activate` to switch back to it).
        """
        require_tx(conn)
        t = s.classifier_models
        if conn.execute(sa.select(t.c.id).where(t.c.version == version)).first() is not None:
            raise ConflictError(
                _("a driver model with version {version} is already stored", version=version),
                hint=_("nothing was added; the workspace already has this model"),
            )
        if activate:
            conn.execute(sa.update(t).where(t.c.active == sa.true()).values(active=False))
        result = conn.execute(
            sa.insert(t).values(
                version=version,
                kind=kind,
                created_at=datetime.now(UTC),
                n_labels=int(n_labels),
                params=dict(params) if params is not None else None,
                metrics=dict(metrics) if metrics is not None else None,
                model=blob,
                active=bool(activate),
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def activate(self, conn: Connection, version: str | None) -> None:
        """Make the stored model ``version`` the only active one; None deactivates every model
        (predictions go back to the rules). Raises :class:`NotFoundError` for an unknown version.
        """
        require_tx(conn)
        t = s.classifier_models
        if version is not None and (
            conn.execute(sa.select(t.c.id).where(t.c.version == version)).first() is None
        ):
            raise NotFoundError(
                _("there is no driver model with version {version}", version=version),
                hint=_("see the stored models"),
                actions=action("classifier.status"),
            )
        conn.execute(sa.update(t).where(t.c.active == sa.true()).values(active=False))
        if version is not None:
            conn.execute(sa.update(t).where(t.c.version == version).values(active=True))

    def active(self, *, conn: Connection | None = None) -> ModelRecord | None:
        """The active driver model with its bytes, or None (the rules predict)."""
        t = s.classifier_models
        stmt = sa.select(t).where(t.c.active == sa.true()).order_by(t.c.id.desc()).limit(1)
        with self.db.reader(conn) as c:
            row = c.execute(stmt).first()
        return None if row is None else model_record(row, with_blob=True)

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(self, *, conn: Connection | None = None) -> list[ModelRecord]:
        """Every stored driver model, newest first, without their bytes."""
        t = s.classifier_models
        cols = [col for col in t.c if col.name != "model"]
        with self.db.reader(conn) as c:
            rows = c.execute(sa.select(*cols).order_by(t.c.id.desc())).all()
        return [model_record(r, with_blob=False) for r in rows]


class LabelRepository(Repository):
    """``store.labels``: what is known of the drivers of clearings."""

    def add(self, conn: Connection, rows: Sequence[LabelRow]) -> int:
        """Store clearing labels (their ``id`` and ``created_at`` are given here).

        A label whose (clearing, source) pair is already stored, or repeated in
        ``rows``, is skipped, so importing the same labels twice adds nothing.
        Returns the number of labels added.
        """
        require_tx(conn)
        if not rows:
            return 0
        t = s.clearing_labels
        sources = sorted({str(r.source) for r in rows})
        seen: set[tuple[int, str]] = set()
        for chunk in in_chunks(sources):
            stmt = sa.select(t.c.clearing_id, t.c.source).where(t.c.source.in_(chunk))
            seen.update((int(cid), str(src)) for cid, src in conn.execute(stmt).all())
        now = datetime.now(UTC)
        values = []
        for r in rows:
            key = (int(r.clearing_id), str(r.source))
            if key in seen:
                continue
            seen.add(key)
            values.append(
                {
                    "clearing_id": key[0],
                    "driver": str(r.driver),
                    "source": key[1],
                    "observed_at": r.observed_at,
                    "note": getattr(r, "note", None),
                    "created_at": now,
                }
            )
        insert_rows(conn, t, values)
        return len(values)

    def relink(self, conn: Connection, merged: Sequence[int], into: Sequence[int]) -> int:
        """Clearings ``merged[k]`` became ``into[k]``: their labels move to the survivor,
        except a label of a source the survivor already has. Returns the labels moved."""
        require_tx(conn)
        t = s.clearing_labels
        moved = 0
        for old, new in zip((int(v) for v in merged), (int(v) for v in into), strict=True):
            has = sa.select(t.c.source).where(t.c.clearing_id == new)
            moved += conn.execute(
                sa.update(t).where(t.c.clearing_id == old, t.c.source.not_in(has))
                .values(clearing_id=new)
            ).rowcount or 0
            conn.execute(sa.delete(t).where(t.c.clearing_id == old))
        return moved

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(self, *, conn: Connection | None = None) -> list[LabelRow]:
        """Every stored clearing label, ordered by id (``note`` is not read back)."""
        t = s.clearing_labels
        stmt = sa.select(
            t.c.id, t.c.clearing_id, t.c.driver, t.c.source, t.c.observed_at, t.c.created_at
        ).order_by(t.c.id)
        with self.db.reader(conn) as c:
            rows = c.execute(stmt).all()
        return [
            LabelRow(
                clearing_id=int(cid),
                driver=Driver(driver),
                source=str(source),
                observed_at=as_date(observed),
                created_at=None if created is None else aware(created),
                id=int(lid),
            )
            for lid, cid, driver, source, observed, created in rows
        ]
