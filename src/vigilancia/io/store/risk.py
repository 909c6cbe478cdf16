"""Risk assessments: one per unit ("territory" or "district") and date, with a score per unit.

``store.risk`` keeps each assessment with the weights and layer coverage it
was made with, and the score (0-100), class, rank and factor contributions of
every unit it scored. Assessing the same unit and date again replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.io.store import schema as s
from vigilancia.io.store.records import (
    RiskAssessmentRecord,
    RiskScoreRecord,
    risk_assessment,
    risk_score,
)
from vigilancia.io.store.repository import Repository, insert_rows, next_id, require_tx


class RiskRepository(Repository):
    """``store.risk``: the stored risk assessments and their scores."""

    def save(
        self,
        conn: Connection,
        *,
        as_of: date,
        unit: str,
        weights: dict[str, float],
        coverage: dict[str, str],
        rows: Sequence[tuple[str, str | None, int | None, float, str, int, Any]],
    ) -> int:
        """Store one risk assessment, replacing the one of the same ``unit`` and ``as_of``.

        ``rows``: ``(unit_key, name, territory_id, score, risk_class, rank,
        contributions)`` with JSON-serialisable contributions. Returns its id.
        """
        require_tx(conn)
        a, r = s.risk_assessments, s.risk_scores
        old = conn.execute(
            sa.select(a.c.id).where(a.c.unit == unit, a.c.as_of == as_of)
        ).scalar_one_or_none()
        if old is not None:
            conn.execute(sa.delete(r).where(r.c.assessment_id == old))
            conn.execute(sa.delete(a).where(a.c.id == old))
        aid = next_id(conn, a)
        conn.execute(sa.insert(a).values(
            id=aid, created_at=datetime.now(UTC), as_of=as_of, unit=unit,
            weights=weights, coverage=coverage,
        ))
        payload = [
            {"assessment_id": aid, "unit_key": k, "name": name, "territory_id": tid,
             "score": float(score), "risk_class": cls, "rank": int(rank),
             "contributions": contributions}
            for k, name, tid, score, cls, rank, contributions in rows
        ]
        insert_rows(conn, r, payload)
        return aid

    def assessments(self, *, conn: Connection | None = None) -> list[RiskAssessmentRecord]:
        """Stored risk assessments, newest date first (then newest made first)."""
        a, r = s.risk_assessments, s.risk_scores
        stmt = (
            sa.select(a.c.id, a.c.as_of, a.c.unit, a.c.created_at,
                      sa.func.count(r.c.unit_key).label("units"))
            .select_from(a.outerjoin(r, r.c.assessment_id == a.c.id))
            .group_by(a.c.id, a.c.as_of, a.c.unit, a.c.created_at)
            .order_by(a.c.as_of.desc(), a.c.id.desc())
        )
        with self.db.reader(conn) as c:
            return [risk_assessment(row) for row in c.execute(stmt).all()]

    def scores(
        self, assessment_id: int, *, conn: Connection | None = None
    ) -> list[RiskScoreRecord]:
        """The scores of one assessment, by rank."""
        r = s.risk_scores
        stmt = sa.select(r).where(r.c.assessment_id == assessment_id).order_by(r.c.rank)
        with self.db.reader(conn) as c:
            return [risk_score(row) for row in c.execute(stmt).all()]
