"""The records the store hands out and the row codecs: pure values, no database."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pytest
import shapely

from vigilancia.domain.cases import Case, CaseEvent, CaseOrigin, CaseStatus, PriorityTerm
from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict
from vigilancia.io import store as store_package
from vigilancia.io.store import records
from vigilancia.io.store.records import (
    ClearingColumns,
    ClearingOverlaps,
    ClearingPoints,
    RiskScoreRecord,
)


def test_every_record_is_frozen_and_exported():
    made = [
        v for v in vars(records).values()
        if isinstance(v, type) and v.__module__ == records.__name__
    ]
    assert len(made) == 29
    for cls in made:
        assert cls.__dataclass_params__.frozen, cls.__name__  # type: ignore[attr-defined]
        assert getattr(store_package, cls.__name__) is cls
    score = RiskScoreRecord(1, "12", "CN Alfa", 12, 55.0, "high", 1, [])
    with pytest.raises(FrozenInstanceError):
        score.score = 0.0  # type: ignore[misc]


def test_column_records_take_subsets():
    n = 4
    cols = ClearingColumns(
        **{f.name: np.arange(n) for f in fields(ClearingColumns) if f.name != "bounds"},
        bounds=np.arange(4 * n, dtype=np.float64).reshape(n, 4),
    )
    part = cols.take(np.array([True, False, True, False]))
    assert len(part) == 2 and part.id.tolist() == [0, 2] and part.bounds.shape == (2, 4)
    points = ClearingPoints(
        np.arange(3), np.array(["2024-01-01", "NaT", "2024-02-01"], "datetime64[D]"),
        np.ones(3), np.zeros(3), np.zeros(3), {"coca": np.array([0.5, np.nan, 0.1])},
    )
    kept = points.subset(np.array([False, True, True]))
    assert len(kept) == 2 and kept.id.tolist() == [1, 2]
    np.testing.assert_array_equal(kept.probs["coca"], [np.nan, 0.1])
    empty = ClearingOverlaps.empty()
    assert len(empty) == 0 and empty.territory_id.dtype == np.int64


def test_value_codecs():
    naive = datetime(2024, 5, 1, 12, 30)
    assert records.aware(naive) == naive.replace(tzinfo=UTC)
    lima = datetime(2024, 5, 1, 7, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert records.aware(lima) is lima  # an aware value is kept as it is
    assert records.as_date("2024-05-01") == date(2024, 5, 1)
    assert records.as_date("2024-05-01 00:00:00") == date(2024, 5, 1)
    assert records.as_date(date(2024, 5, 1)) == date(2024, 5, 1) and records.as_date(None) is None
    assert records.nullable_ids(np.array([3, -1, 0])) == [3, None, 0]


def test_a_case_survives_its_row():
    now = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    case = Case(
        id=0, status=CaseStatus.VERIFIED, origin=CaseOrigin.ALERTS, territory_id=3,
        lon=-74.9, lat=-9.4, priority=72.5, created_at=now, updated_at=now,
        geometry=shapely.box(-74.91, -9.41, -74.89, -9.39), area_ha=12.5,
        first_alert=date(2024, 3, 1), last_alert=date(2024, 4, 2), driver=Driver.COCA,
        driver_probability=0.8, priority_terms=(PriorityTerm("area", 20.0, 12.5),),
        assignee="Equipo Yamino", verdict=Verdict.COCA_CONFIRMED, note="visitado",
    )
    values = records.case_values(case)
    assert values["status"] == "verified" and values["verdict"] == "coca_confirmed"
    row = SimpleNamespace(**values, id=7)
    back = records.case_from_row(row, (4, 5))  # type: ignore[arg-type]
    assert back.id == 7 and back.clearing_ids == (4, 5)
    assert back.geometry is not None and back.geometry.equals(case.geometry)
    assert {**vars(back), "id": 0, "clearing_ids": (), "geometry": None} == {
        **vars(case), "geometry": None
    }
    event = CaseEvent(7, now, "ana", "status", CaseStatus.NEW, CaseStatus.ASSIGNED, {"x": 1})
    row = SimpleNamespace(**records.case_event_values(event), id=3)
    assert records.case_event(row) == CaseEvent(  # type: ignore[arg-type]
        7, now, "ana", "status", CaseStatus.NEW, CaseStatus.ASSIGNED, {"x": 1}, id=3
    )
