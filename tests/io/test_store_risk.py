"""Risk assessments in the store: saved, replaced for the same unit and date, read as records."""

from __future__ import annotations

from datetime import UTC, date, datetime

from store_builders import make_territories

from vigilancia.io.store import RiskAssessmentRecord, RiskScoreRecord, WorkspaceStore


def test_assessments_are_replaced_per_unit_and_date(store: WorkspaceStore):
    with store.transaction() as conn:
        a, b, *_ = store.territories.add(conn, make_territories())
        rows = [
            ("t2", "CN Yamino", b, 40.0, "medium", 2, {"factors": [{"points": 40.0}]}),
            ("t1", "CN Unión Santa Rosa", a, 75.5, "high", 1, {"factors": []}),
        ]
        first = store.risk.save(conn, as_of=date(2024, 6, 30), unit="territory",
                                weights={"exposure": 1.0}, coverage={"rivers": "used"}, rows=rows)
        district = store.risk.save(conn, as_of=date(2024, 6, 30), unit="district", weights={},
                                   coverage={}, rows=[("250302", "Irazola", None, 12.0, "low", 1,
                                                       {})])
        older = store.risk.save(conn, as_of=date(2023, 6, 30), unit="territory", weights={},
                                coverage={}, rows=[])
    listed = store.risk.assessments()
    assert all(isinstance(r, RiskAssessmentRecord) for r in listed)
    # newest date first, then the newest made
    assert [(r.id, r.as_of, r.unit, r.units) for r in listed] == [
        (district, date(2024, 6, 30), "district", 1),
        (first, date(2024, 6, 30), "territory", 2),
        (older, date(2023, 6, 30), "territory", 0),
    ]
    assert listed[0].created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - listed[0].created_at).total_seconds()) < 60
    scores = store.risk.scores(first)
    assert all(isinstance(r, RiskScoreRecord) for r in scores)
    assert [(r.rank, r.unit_key, r.name, r.territory_id, r.score, r.risk_class)
            for r in scores] == [(1, "t1", "CN Unión Santa Rosa", a, 75.5, "high"),
                                 (2, "t2", "CN Yamino", b, 40.0, "medium")]
    assert scores[1].contributions == {"factors": [{"points": 40.0}]}
    assert store.risk.scores(district)[0].territory_id is None
    # the same unit and date again: replaced, its scores too
    with store.transaction() as conn:
        again = store.risk.save(conn, as_of=date(2024, 6, 30), unit="territory", weights={},
                                coverage={}, rows=rows[:1])
    assert [r.id for r in store.risk.assessments()] == [again, district, older]
    assert store.risk.scores(first) == []
    assert [r.unit_key for r in store.risk.scores(again)] == ["t2"]
    assert store.counts()["risk_scores"] == 2
