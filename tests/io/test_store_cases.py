"""Cases, their clearings and histories, and patrol plans in the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import shapely
from store_builders import stored_world

from vigilancia.domain.cases import Case, CaseEvent, CaseOrigin, CaseStatus, PriorityTerm
from vigilancia.domain.drivers import Driver
from vigilancia.errors import ConflictError, NotFoundError
from vigilancia.io.store import PatrolPlanRecord, WorkspaceStore

NOW = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


def new_case(territory_id: int | None, clearing_ids: tuple[int, ...], **kw: object) -> Case:
    values: dict[str, object] = dict(
        id=0, status=CaseStatus.NEW, origin=CaseOrigin.ALERTS, territory_id=territory_id,
        lon=-74.9, lat=-9.4, priority=50.0, created_at=NOW, updated_at=NOW,
        clearing_ids=clearing_ids,
    )
    values.update(kw)
    return Case(**values)  # type: ignore[arg-type]


def test_cases_round_trip_and_filters(store: WorkspaceStore, english):
    w = stored_world(store)
    ids1 = w["ids1"].tolist()
    geometry = shapely.box(-74.91, -9.41, -74.89, -9.39)
    with store.transaction() as conn:
        one, two = store.cases.add(conn, [
            new_case(w["a"], tuple(ids1[:2]), priority=80.0, geometry=geometry, area_ha=3.0,
                     first_alert=date(2024, 3, 1), last_alert=date(2024, 3, 20),
                     driver=Driver.COCA, driver_probability=0.7,
                     priority_terms=(PriorityTerm("area", 30.0, 3.0),)),
            new_case(w["b"], (ids1[2],)),
        ])
        field = store.cases.add(conn, [new_case(None, (), origin=CaseOrigin.FIELD)])
        assert store.cases.add(conn, []) == []
    assert (one, two, field) == (1, 2, [3])
    got = store.cases.get(one)
    assert got == replace(new_case(w["a"], tuple(ids1[:2]), priority=80.0, geometry=None,
                                   area_ha=3.0, first_alert=date(2024, 3, 1),
                                   last_alert=date(2024, 3, 20), driver=Driver.COCA,
                                   driver_probability=0.7,
                                   priority_terms=(PriorityTerm("area", 30.0, 3.0),)),
                          id=one, geometry=got.geometry)
    assert got.geometry is not None and got.geometry.equals(geometry)
    assert [c.id for c in store.cases.list()] == [1, 2, 3]
    assert [c.id for c in store.cases.list(territory_id=w["b"])] == [2]
    assert [c.id for c in store.cases.list(ids=[3, 1])] == [1, 3]
    assert store.cases.list(ids=[]) == []
    # a clearing is in one case at most
    with pytest.raises(ConflictError, match="already in case C-0001"), store.transaction() as c:
        store.cases.add(c, [new_case(w["a"], (ids1[1], ids1[3]))])
    assert store.counts()["cases"] == 3
    with store.transaction() as conn:
        store.cases.add_clearings(conn, two, [ids1[3], ids1[4]])
        store.cases.update(conn, replace(store.cases.get(two, conn=conn),
                                         status=CaseStatus.ASSIGNED, assignee="Equipo Yamino",
                                         updated_at=NOW + timedelta(hours=1)))
    after = store.cases.get(two)
    assert after.clearing_ids == (ids1[2], ids1[3], ids1[4])
    assert (after.status, after.assignee) == (CaseStatus.ASSIGNED, "Equipo Yamino")
    assert after.updated_at == NOW + timedelta(hours=1) and after.created_at == NOW
    assert [c.id for c in store.cases.list(statuses=[CaseStatus.ASSIGNED])] == [two]
    # the clearings in cases are no longer uncased
    assert store.clearings.uncased().id.tolist() == w["ids2"].tolist()
    with pytest.raises(NotFoundError, match="No case C-0009"):
        store.cases.get(9)
    with pytest.raises(NotFoundError, match="No case C-0009"), store.transaction() as conn:
        store.cases.update(conn, replace(after, id=9))


def test_case_events_are_appended(store: WorkspaceStore):
    stored_world(store)
    with store.transaction() as conn:
        (cid,) = store.cases.add(conn, [new_case(None, ())])
        store.cases.add_events(conn, [
            CaseEvent(cid, NOW, "vigilancia", "opened", None, CaseStatus.NEW),
            CaseEvent(cid, NOW + timedelta(days=1), "ana", "assigned", CaseStatus.NEW,
                      CaseStatus.ASSIGNED, {"patrol_plan": 4}),
        ])
        store.cases.add_events(conn, [])
    events = store.cases.events(cid)
    assert events == [
        CaseEvent(cid, NOW, "vigilancia", "opened", None, CaseStatus.NEW, {}, id=1),
        CaseEvent(cid, NOW + timedelta(days=1), "ana", "assigned", CaseStatus.NEW,
                  CaseStatus.ASSIGNED, {"patrol_plan": 4}, id=2),
    ]
    assert store.cases.events() == events and store.cases.events(cid + 1) == []


def test_patrol_plans_newest_first(store: WorkspaceStore):
    w = stored_world(store)
    route = shapely.to_wkb(shapely.LineString([(-74.9, -9.4), (-74.8, -9.3)]))
    with store.transaction() as conn:
        first = store.patrol_plans.add(conn, territory_id=w["a"], params={"max_km": 20},
                                       plan={"stops": [], "total_km": 0.0}, route_wkb=None)
        second = store.patrol_plans.add(conn, territory_id=w["a"], params={},
                                        plan={"stops": [{"case_id": 1}]}, route_wkb=route)
        other = store.patrol_plans.add(conn, territory_id=w["b"], params={}, plan={},
                                       route_wkb=None)
    plans = store.patrol_plans.list(w["a"])
    assert all(isinstance(p, PatrolPlanRecord) for p in plans)
    assert [p.id for p in plans] == [second, first]
    assert plans[0].route == route and plans[1].route is None
    assert plans[1].params == {"max_km": 20} and plans[0].plan == {"stops": [{"case_id": 1}]}
    assert plans[0].territory_id == w["a"] and plans[0].created_at.tzinfo is not None
    assert [p.id for p in store.patrol_plans.list()] == [other, second, first]
