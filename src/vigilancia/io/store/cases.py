"""Cases of verification and action, their histories, and the patrol plans that visit them.

``store.cases`` keeps each case (status, priority, assignee, verdict...), the
clearings it groups (a clearing is in one case at most) and its history of
events, which is only ever appended to. ``store.patrol_plans`` keeps the
patrol plans of each community territory, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.domain.cases import Case, CaseEvent, CaseStatus
from vigilancia.errors import ConflictError, NotFoundError, action
from vigilancia.i18n import _
from vigilancia.io.store import schema as s
from vigilancia.io.store.records import (
    PatrolPlanRecord,
    case_event,
    case_event_values,
    case_from_row,
    case_values,
    patrol_plan,
)
from vigilancia.io.store.repository import (
    Repository,
    in_chunks,
    insert_rows,
    next_id,
    require_tx,
)


class CaseRepository(Repository):
    """``store.cases``: the cases, their clearings and their histories."""

    def add(self, conn: Connection, cases: Sequence[Case]) -> list[int]:
        """Store new cases (their ``id`` is ignored; ids are given here) and their clearings.

        A clearing may be in one case only: a clearing already in a case raises
        :class:`~vigilancia.errors.ConflictError` and nothing is written.
        Returns the new ids in the order of ``cases``.
        """
        require_tx(conn)
        if not cases:
            return []
        cc = s.case_clearings
        wanted = sorted({int(c) for case in cases for c in case.clearing_ids})
        for chunk in in_chunks(wanted):
            taken = conn.execute(
                sa.select(cc.c.clearing_id, cc.c.case_id).where(cc.c.clearing_id.in_(chunk))
            ).first()
            if taken is not None:
                raise ConflictError(
                    _("Clearing {clearing} is already in case {case}",
                      clearing=taken[0], case=f"C-{int(taken[1]):04d}")
                )
        first = next_id(conn, s.cases)
        ids = list(range(first, first + len(cases)))
        rows: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        for cid, case in zip(ids, cases, strict=True):
            rows.append(case_values(case) | {"id": cid})
            links.extend({"clearing_id": int(c), "case_id": cid} for c in case.clearing_ids)
        insert_rows(conn, s.cases, rows)
        insert_rows(conn, cc, links)
        return ids

    def update(self, conn: Connection, case: Case) -> None:
        """Store the new state of an existing case (every field but its id and clearings)."""
        require_tx(conn)
        done = conn.execute(
            sa.update(s.cases).where(s.cases.c.id == case.id).values(**case_values(case))
        )
        if done.rowcount == 0:
            raise NotFoundError(_("No case {case} in this workspace", case=case.code))

    def get(self, case_id: int, *, conn: Connection | None = None) -> Case:
        """One stored case; :class:`~vigilancia.errors.NotFoundError` if there is none."""
        found = self.list(ids=[case_id], conn=conn)
        if not found:
            raise NotFoundError(
                _("No case {case} in this workspace", case=f"C-{int(case_id):04d}"),
                hint=_("see the list of cases"),
                actions=action("cases.list"),
            )
        return found[0]

    def add_clearings(self, conn: Connection, case_id: int, clearing_ids: Iterable[int]) -> None:
        """Put more clearings in an existing case (none may be in a case already)."""
        require_tx(conn)
        rows = [{"clearing_id": int(c), "case_id": int(case_id)} for c in clearing_ids]
        insert_rows(conn, s.case_clearings, rows)

    def of_clearings(
        self, clearing_ids: Iterable[int], *, conn: Connection | None = None
    ) -> dict[int, int]:
        """The case of each of ``clearing_ids`` that is in one (clearing id -> case id)."""
        cc = s.case_clearings
        out: dict[int, int] = {}
        with self.db.reader(conn) as c:
            for chunk in in_chunks(sorted({int(v) for v in clearing_ids})):
                stmt = sa.select(cc.c.clearing_id, cc.c.case_id).where(
                    cc.c.clearing_id.in_(chunk))
                out.update((int(a), int(b)) for a, b in c.execute(stmt).all())
        return out

    def relink_clearings(
        self, conn: Connection, merged: Sequence[int], into: Sequence[int]
    ) -> tuple[set[int], list[tuple[int, int, int, int]]]:
        """Clearings ``merged[k]`` became ``into[k]``: a case link of a merged clearing moves
        to its survivor when the survivor is in no case yet, and is dropped otherwise (a
        clearing is in one case at most). Returns the cases whose clearings changed, and
        the links dropped as (merged clearing, survivor, its case, the survivor's case)."""
        require_tx(conn)
        cc = s.case_clearings
        links = self.of_clearings([*merged, *into], conn=conn)
        touched: set[int] = set()
        dropped: list[tuple[int, int, int, int]] = []
        for old, new in zip((int(v) for v in merged), (int(v) for v in into), strict=True):
            case = links.pop(old, None)
            if case is None:
                continue
            touched.add(case)
            if new in links:
                touched.add(links[new])
                conn.execute(sa.delete(cc).where(cc.c.clearing_id == old))
                if links[new] != case:
                    dropped.append((old, new, case, links[new]))
            else:
                conn.execute(sa.update(cc).where(cc.c.clearing_id == old).values(clearing_id=new))
                links[new] = case
        return touched, dropped

    def add_events(self, conn: Connection, events: Sequence[CaseEvent]) -> None:
        """Append events to the cases' histories (never updated nor deleted)."""
        require_tx(conn)
        insert_rows(conn, s.case_events, [case_event_values(e) for e in events])

    def events(self, case_id: int | None = None, *, conn: Connection | None = None
               ) -> list[CaseEvent]:
        """The history of one case (or of all), oldest first."""
        t = s.case_events
        stmt = sa.select(t).order_by(t.c.id)
        if case_id is not None:
            stmt = stmt.where(t.c.case_id == int(case_id))
        with self.db.reader(conn) as c:
            rows = c.execute(stmt).all()
        return [case_event(r) for r in rows]

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(
        self,
        *,
        territory_id: int | None = None,
        statuses: Iterable[CaseStatus] | None = None,
        ids: Iterable[int] | None = None,
        conn: Connection | None = None,
    ) -> list[Case]:
        """Stored cases (filtered by community, statuses and ids), by id, with their clearings."""
        t, cc = s.cases, s.case_clearings
        stmt = sa.select(t).order_by(t.c.id)
        link = sa.select(cc.c.case_id, cc.c.clearing_id).order_by(cc.c.case_id, cc.c.clearing_id)
        if territory_id is not None:
            stmt = stmt.where(t.c.territory_id == int(territory_id))
            link = link.join(t, t.c.id == cc.c.case_id).where(
                t.c.territory_id == int(territory_id)
            )
        if statuses is not None:
            stmt = stmt.where(t.c.status.in_([CaseStatus(v).value for v in statuses]))
        if ids is not None:
            wanted = [int(v) for v in ids]
            stmt = stmt.where(t.c.id.in_(wanted))
            link = link.where(cc.c.case_id.in_(wanted))
        with self.db.reader(conn) as c:
            rows = c.execute(stmt).all()
            links: dict[int, list[int]] = {}
            if rows:
                for case_id, clearing_id in c.execute(link).all():
                    links.setdefault(int(case_id), []).append(int(clearing_id))
        return [case_from_row(r, tuple(links.get(int(r.id), ()))) for r in rows]


class PatrolPlanRepository(Repository):
    """``store.patrol_plans``: the patrol plans of the community territories."""

    def add(
        self,
        conn: Connection,
        *,
        territory_id: int,
        params: Mapping[str, Any],
        plan: Mapping[str, Any],
        route_wkb: bytes | None,
    ) -> int:
        """Store one patrol plan (JSON-able ``params`` and ``plan``, route as WKB); its id."""
        require_tx(conn)
        t = s.patrol_plans
        pid = next_id(conn, t)
        conn.execute(sa.insert(t).values(
            id=pid, territory_id=int(territory_id), created_at=datetime.now(UTC),
            params=dict(params), plan=dict(plan), route=route_wkb,
        ))
        return pid

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(
        self, territory_id: int | None = None, *, conn: Connection | None = None
    ) -> list[PatrolPlanRecord]:
        """Stored patrol plans (all, or those of one territory), newest first."""
        t = s.patrol_plans
        stmt = sa.select(t).order_by(t.c.id.desc())
        if territory_id is not None:
            stmt = stmt.where(t.c.territory_id == int(territory_id))
        with self.db.reader(conn) as c:
            rows = c.execute(stmt).all()
        return [patrol_plan(r) for r in rows]
