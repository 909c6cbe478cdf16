"""One way a result becomes JSON: ``to_dict()`` on every use case's result, one encoder.

The CLI's ``--json`` options, the web API and JSON files all go through
:func:`vigilancia.results.jsonable` / :func:`~vigilancia.results.to_json`.
"""

import dataclasses
import enum
import importlib
import inspect
import json
import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import vigilancia
from vigilancia.domain.cases import Case, CaseEvent, CaseOrigin, CaseStatus, PriorityTerm
from vigilancia.domain.drivers import Driver
from vigilancia.results import Result, jsonable, to_json

SRC = Path(vigilancia.__file__).parent

#: The use cases the shells call: their results are what --json and the web API show.
USE_CASES = {
    "monitor": ["run_monitor"],
    "territories": ["import_territories", "list_territories"],
    "layers": ["import_layer"],
    "export": ["export_clearings"],
    "airstrips": ["find_runways"],
    "corridors": ["build_corridors", "export_corridors"],
    "risk": ["assess_risk", "backtest"],
    "risk_export": ["export_risk"],
    "cases": ["open_cases", "list_cases", "show_case", "update_case", "assign_cases"],
    "patrol": ["plan_patrol"],
    "package": ["build_package"],
    "field": ["import_field", "list_observations"],
    "labels": ["import_labels"],
    "classifier": ["train", "evaluate", "classifier_status"],
    "classify": ["classify_clearings"],
    "demo": ["run_demo"],
}


def _result_classes(module, function):
    """The classes named in ``function``'s return annotation (resolved in its module)."""
    ann = inspect.signature(function).return_annotation
    names = re.findall(r"[A-Za-z_]\w*", ann if isinstance(ann, str) else ann.__name__)
    found = [getattr(module, n, None) for n in names]
    return [c for c in found if inspect.isclass(c) and c.__module__.startswith("vigilancia")]


def test_every_use_case_result_has_to_dict():
    checked = set()
    for name, functions in USE_CASES.items():
        module = importlib.import_module(f"vigilancia.services.{name}")
        for fn in functions:
            classes = _result_classes(module, getattr(module, fn))
            assert classes, f"{name}.{fn}: no result class in its annotation"
            for cls in classes:
                assert isinstance(getattr(cls, "to_dict", None), type(Result.to_dict)), (
                    f"{name}.{fn} returns {cls.__name__}, which has no to_dict()")
                checked.add(cls.__name__)
    assert {"MonitorResult", "CaseDetail", "CaseSummary", "PatrolPlan", "Case"} <= checked


def test_no_shell_builds_json_itself():
    """The CLI prints JSON only through cli.common.print_json (the one encoder)."""
    for path in (SRC / "cli").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "json.dumps" not in text and "import json" not in text, path.name


class _Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class _Inner:
    when: datetime

    def to_dict(self):
        return {"when": self.when, "colour": _Colour.RED}


def test_the_encoder_turns_every_value_kind_into_json():
    value = {
        "day": date(2024, 7, 1),
        "at": datetime(2024, 7, 1, 10, 30, tzinfo=UTC),
        "path": Path("riesgo") / "riesgo.csv",
        "driver": Driver.COCA,
        "status": CaseStatus.IN_FIELD,
        "colour": _Colour.RED,
        "count": np.int64(3),
        "share": np.float32(0.5),
        "flag": np.bool_(True),
        "array": np.array([1.0, np.nan]),
        "nan": math.nan,
        "inf": -math.inf,
        "decimal": Decimal("2.5"),
        "blob": b"\x01\xff",
        "ids": (3, 1),
        "set": {2, 1},
        Driver.MINING: 1,
        7: "seven",
        "inner": [_Inner(datetime(2024, 1, 2, tzinfo=UTC))],
    }
    assert jsonable(value) == {
        "day": "2024-07-01",
        "at": "2024-07-01T10:30:00+00:00",
        "path": "riesgo/riesgo.csv",
        "driver": "coca",
        "status": "in_field",
        "colour": "red",
        "count": 3,
        "share": 0.5,
        "flag": True,
        "array": [1.0, None],
        "nan": None,
        "inf": None,
        "decimal": 2.5,
        "blob": "01ff",
        "ids": [3, 1],
        "set": [1, 2],
        "mining": 1,
        "7": "seven",
        "inner": [{"when": "2024-01-02T00:00:00+00:00", "colour": "red"}],
    }
    text = to_json(value)
    assert json.loads(text) == jsonable(value)
    assert type(jsonable(value)["count"]) is int and type(jsonable(value)["flag"]) is bool


def test_a_result_and_a_list_of_results_encode_alike():
    now = datetime(2024, 7, 1, 12, tzinfo=UTC)
    case = Case(id=42, status=CaseStatus.VERIFIED, origin=CaseOrigin.ALERTS, territory_id=1,
                lon=-74.9, lat=-9.4, priority=71.2345, created_at=now, updated_at=now,
                clearing_ids=(5, 6), area_ha=3.14159, first_alert=date(2024, 5, 1),
                last_alert=date(2024, 6, 1), driver=Driver.COCA, driver_probability=0.8,
                priority_terms=(PriorityTerm("recency", 25.123, 0.9),))
    data = jsonable(case)
    assert data["case"] == "C-0042" and data["status"] == "verified"
    assert data["driver"] == "coca" and data["first_alert"] == "2024-05-01"
    assert data["priority"] == 71.23 and data["area_ha"] == 3.1416
    assert data["priority_terms"] == [{"name": "recency", "points": 25.12, "value": 0.9}]
    assert "geometry" not in data
    assert jsonable([case, case]) == [data, data]
    event = CaseEvent(case_id=42, at=now, actor="ana", action="status",
                      from_status=CaseStatus.NEW, to_status=CaseStatus.ASSIGNED,
                      detail={"assignee": "Equipo 1"})
    assert jsonable(event) == {"at": "2024-07-01T12:00:00+00:00", "actor": "ana",
                               "action": "status", "from": "new", "to": "assigned",
                               "detail": {"assignee": "Equipo 1"}}


def test_json_text_has_no_nan_and_keeps_letters():
    text = to_json({"name": "Ñape", "x": float("nan")}, indent=None)
    assert text == '{"name": "Ñape", "x": null}'
    with pytest.raises(TypeError):
        json.dumps(object())  # (the encoder, not json, decides how odd values look)
    assert jsonable(object()).startswith("<object")
