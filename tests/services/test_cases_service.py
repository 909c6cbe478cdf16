"""Cases opened from clearings of a workspace built through the real services."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.domain.cases import CaseOrigin, CaseStatus
from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict
from vigilancia.errors import ConflictError, InputError, NotFoundError
from vigilancia.services.cases import (
    find_territory,
    open_cases,
    parse_case_id,
    parse_status,
    parse_verdict,
    update_case,
)
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.territories import import_territories
from vigilancia.services.workspace import set_area_of_interest

SETTINGS = Settings(language="es", buffer_km=1.0, case_group_m=500)

ALFA = box(-75.00, -9.50, -74.95, -9.45)
BETA = box(-74.90, -9.50, -74.85, -9.45)


def _geojson(path: Path, features: list[tuple[object, dict[str, object]]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}),
        encoding="utf-8")
    return path


# (code, date, ha, lon, lat): a cluster of three in Alfa (within 500 m), one alone in Alfa,
# one in Beta, one 500 m outside Beta (within the 1 km buffer), one far from everything
ALERTS = [
    (1, "2024-05-01", 2.0, -74.980, -9.480),
    (2, "2024-05-10", 1.0, -74.977, -9.480),  # ~330 m east of 1
    (3, "2024-06-01", 4.0, -74.974, -9.480),  # ~330 m east of 2 (chained)
    (4, "2024-03-01", 0.5, -74.960, -9.460),
    (5, "2024-06-20", 12.0, -74.870, -9.470),
    (6, "2024-06-25", 1.5, -74.8455, -9.470),
    (7, "2024-06-25", 3.0, -74.60, -9.20),
]


def _alerts(path: Path, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["alert_code", "detected_at", "area_ha", "lon", "lat"])
        w.writerows(rows)
    return path


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    store = store_factory.create(tmp_path / "ws", name="Federación")
    communities = _geojson(tmp_path / "comunidades.geojson", [
        (ALFA, {"nomcom": "CN Alfa", "titcom": "TITULADA"}),
        (BETA, {"nomcom": "CN Beta", "titcom": "EN TRAMITE"}),
    ])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    # an area wider than the communities and their buffer: the far alert is ingested too
    set_area_of_interest(store, SETTINGS, "-75.1,-9.6,-74.5,-9.1")
    run_monitor(store, MonitorRequest(str(_alerts(tmp_path / "a.csv", ALERTS)), "mapbiomas",
                                      classify=False), SETTINGS)
    yield store
    store.close()


def _by_alert(store):
    frame = store.clearings.frame()
    code = {int(cid): int(ref.split(":")[-1]) if ref else None
            for cid, ref in zip(frame["id"], frame["source_ref"], strict=True)}
    return {tuple(sorted(code[c] for c in case.clearing_ids)): case for case in store.cases.list()}


def test_open_cases_groups_by_territory_and_distance(workspace):
    res = open_cases(workspace, SETTINGS)
    assert res.clearings == 6  # the far clearing is in no case
    cases = _by_alert(workspace)
    assert set(cases) == {(1, 2, 3), (4,), (5,), (6,)}
    alfa = find_territory(workspace, "cn alfa")
    beta = find_territory(workspace, "Beta")
    assert cases[(1, 2, 3)].territory_id == alfa.id
    assert cases[(6,)].territory_id == beta.id  # outside, within the buffer
    group = cases[(1, 2, 3)]
    assert group.area_ha == pytest.approx(7.0, rel=1e-6)
    assert (group.first_alert, group.last_alert) == (date(2024, 5, 1), date(2024, 6, 1))
    assert group.status is CaseStatus.NEW and group.origin is CaseOrigin.ALERTS
    # priority: recency and size only (no drivers, no risk); the big fresh one first
    assert [t.name for t in group.priority_terms] and group.driver is None
    ranked = sorted(cases.values(), key=lambda c: -c.priority)
    assert ranked[0].clearing_ids == cases[(5,)].clearing_ids
    assert res.per_territory == {"CN Alfa": 2, "CN Beta": 2}
    events = workspace.cases.events(group.id)
    assert [e.action for e in events] == ["opened"]


def test_the_store_reads_what_choosing_clearings_needs(workspace):
    assert workspace.clearings.latest_alert_date() == date(2024, 6, 25)
    uncased = workspace.clearings.uncased()
    assert len(uncased.id) == 7 and (uncased.nearest_territory_id >= 0).all()
    assert uncased.within_buffer.tolist() == [True] * 6 + [False]  # alert 7 is beyond the buffer
    assert uncased.last_date[:2].tolist() == [date(2024, 5, 1), date(2024, 5, 10)]
    open_cases(workspace, SETTINGS)
    uncased = workspace.clearings.uncased()
    assert len(uncased.id) == 1 and not uncased.within_buffer[0]  # only the far one is uncased


@pytest.mark.parametrize("at_once", [1, 4])
def test_the_same_cases_whatever_is_read_at_once(workspace, monkeypatch, at_once):
    # polygons are read for a few territories at a time (memory stays bounded)
    from vigilancia.services import cases as service

    monkeypatch.setattr(service, "READ_CLEARINGS", at_once)
    res = open_cases(workspace, SETTINGS)
    assert set(_by_alert(workspace)) == {(1, 2, 3), (4,), (5,), (6,)}
    assert res.per_territory == {"CN Alfa": 2, "CN Beta": 2} and res.clearings == 6


def test_rerun_adds_nothing_and_new_clearings_join_open_cases(workspace, tmp_path):
    open_cases(workspace, SETTINGS)
    again = open_cases(workspace, SETTINGS)
    assert again.opened == () and again.clearings == 0
    # a new alert 300 m from the Alfa group joins it; one far inside Beta opens a case
    run_monitor(workspace, MonitorRequest(str(_alerts(tmp_path / "b.csv", [
        (8, "2024-07-05", 1.0, -74.9712, -9.480),
        (9, "2024-07-05", 1.0, -74.855, -9.455),
    ])), "mapbiomas", classify=False), SETTINGS)
    res = open_cases(workspace, SETTINGS)
    assert len(res.opened) == 1 and len(res.grown) == 1
    cases = _by_alert(workspace)
    assert (1, 2, 3, 8) in cases and (9,) in cases
    grown = cases[(1, 2, 3, 8)]
    assert grown.last_alert == date(2024, 7, 5) and grown.area_ha == pytest.approx(8.0, rel=1e-6)
    assert [e.action for e in workspace.cases.events(grown.id)] == ["opened", "clearings_added"]


def test_small_groups_wait_until_they_grow(workspace, tmp_path):
    # with a 1 ha minimum, clearing 4 (0.5 ha, alone) waits; the others open as before
    settings = SETTINGS.model_copy(update={"case_min_area_ha": 1.0})
    res = open_cases(workspace, settings)
    assert set(_by_alert(workspace)) == {(1, 2, 3), (5,), (6,)}
    assert res.waiting == 1 and res.clearings == 5
    assert open_cases(workspace, settings).waiting == 1  # still waiting, nothing opened
    # a new 0.6 ha clearing 200 m from it: together 1.1 ha, one case of both
    run_monitor(workspace, MonitorRequest(str(_alerts(tmp_path / "c.csv", [
        (10, "2024-07-01", 0.6, -74.9582, -9.460),
    ])), "mapbiomas", classify=False), settings)
    res = open_cases(workspace, settings)
    assert res.waiting == 0 and res.clearings == 2 and len(res.opened) == 1
    assert _by_alert(workspace)[(4, 10)].area_ha == pytest.approx(1.1, rel=1e-6)


def test_only_one_territory(workspace):
    res = open_cases(workspace, SETTINGS, territory="CN Beta")
    assert set(res.per_territory) == {"CN Beta"}
    with pytest.raises(NotFoundError, match="Gamma"):
        open_cases(workspace, SETTINGS, territory="Gamma")
    with pytest.raises(InputError, match="2 territorios"):
        find_territory(workspace, "CN")


def test_status_machine_history_and_labels(workspace):
    open_cases(workspace, SETTINGS)
    case = _by_alert(workspace)[(1, 2, 3)]
    c = update_case(workspace, case.id, actor="coordinadora", assignee="Equipo Yamino")
    assert c.status is CaseStatus.ASSIGNED and c.assignee == "Equipo Yamino"
    c = update_case(workspace, case.id, actor="coordinadora", status=CaseStatus.IN_FIELD)
    c = update_case(workspace, case.id, actor="import:visita.csv",
                    verdict=Verdict.COCA_CONFIRMED, observed_at=date(2024, 7, 2))
    assert c.status is CaseStatus.VERIFIED and c.verdict is Verdict.COCA_CONFIRMED
    labels = workspace.labels.list()
    assert sorted(label.clearing_id for label in labels) == sorted(case.clearing_ids)
    assert {label.driver for label in labels} == {Driver.COCA}
    assert {label.observed_at for label in labels} == {date(2024, 7, 2)}
    # refused: verified -> assigned; nothing changes, history untouched
    before = workspace.cases.events(case.id)
    with pytest.raises(ConflictError, match="verificado|verified"):
        update_case(workspace, case.id, actor="x", status=CaseStatus.NEW)
    assert workspace.cases.events(case.id) == before
    assert workspace.cases.get(case.id).status is CaseStatus.VERIFIED
    # corrected verdict: a newer label
    update_case(workspace, case.id, actor="coordinadora", verdict=Verdict.AGRICULTURE)
    assert len(workspace.labels.list()) == 2 * len(case.clearing_ids)
    update_case(workspace, case.id, actor="coordinadora", status=CaseStatus.REPORTED)
    update_case(workspace, case.id, actor="coordinadora", status=CaseStatus.CLOSED,
                note="denuncia ante la FEMA")
    actions = [(e.action, e.from_status, e.to_status) for e in workspace.cases.events(case.id)]
    assert actions == [
        ("opened", None, CaseStatus.NEW),
        ("assigned", CaseStatus.NEW, CaseStatus.ASSIGNED),
        ("status", CaseStatus.ASSIGNED, CaseStatus.IN_FIELD),
        ("verdict", CaseStatus.IN_FIELD, CaseStatus.VERIFIED),
        ("verdict", CaseStatus.VERIFIED, CaseStatus.VERIFIED),
        ("status", CaseStatus.VERIFIED, CaseStatus.REPORTED),
        ("status", CaseStatus.REPORTED, CaseStatus.CLOSED),
        ("note", CaseStatus.CLOSED, CaseStatus.CLOSED),
    ]
    assert workspace.cases.events(case.id)[1].actor == "coordinadora"


def test_not_reached_and_false_alarm(workspace):
    open_cases(workspace, SETTINGS)
    cases = _by_alert(workspace)
    c = update_case(workspace, cases[(4,)].id, actor="m", verdict=Verdict.NOT_REACHED)
    assert c.status is CaseStatus.NEW and c.verdict is None
    c = update_case(workspace, cases[(5,)].id, actor="m", verdict=Verdict.FALSE_ALARM)
    assert c.status is CaseStatus.VERIFIED and c.verdict is Verdict.FALSE_ALARM
    assert workspace.labels.list() == []  # neither says what cleared the forest
    with pytest.raises(InputError, match="veredicto"):
        update_case(workspace, cases[(6,)].id, actor="m", status=CaseStatus.VERIFIED)


def test_parsers():
    assert parse_case_id("C-0042") == parse_case_id("c42") == parse_case_id(42) == 42
    with pytest.raises(InputError):
        parse_case_id("caso cuarenta")
    assert parse_status("en campo") is CaseStatus.IN_FIELD
    assert parse_status("In_Field") is CaseStatus.IN_FIELD
    assert parse_verdict("Coca confirmada") is Verdict.COCA_CONFIRMED
    with pytest.raises(InputError, match="coca_confirmada"):  # the Spanish codes
        parse_verdict("coca tal vez")


def test_cli(workspace, store_factory, tmp_path, monkeypatch):
    for key, value in store_factory.env(tmp_path / "ws").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VIGILANCIA_BUFFER_KM", "1")
    monkeypatch.setenv("VIGILANCIA_CASE_MIN_AREA_HA", "1")
    runner = CliRunner()
    ws = str(tmp_path / "ws")
    res = runner.invoke(app, ["cases", "open", ws], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "3 casos nuevos" in res.output
    assert "1 claro espera en grupos de menos de 1 ha" in res.output
    res = runner.invoke(app, ["cases", "list", ws, "--json"], catch_exceptions=False)
    listed = json.loads(res.output)
    assert [c["priority"] for c in listed] == sorted((c["priority"] for c in listed),
                                                     reverse=True)
    code = listed[0]["case"]
    res = runner.invoke(app, ["cases", "assign", ws, code, "--to", "Equipo 1", "--by", "ana"])
    assert res.exit_code == 0 and "asignado" in res.output
    res = runner.invoke(app, ["cases", "update", ws, code, "--verdict", "minería", "--by", "ana"])
    assert res.exit_code == 0, res.output
    assert "verificado (Minería)" in res.output
    res = runner.invoke(app, ["cases", "update", ws, code, "--status", "asignado"])
    # the codes of the message are Spanish too
    assert res.exit_code == 4 and "está en estado verificado y no puede pasar a asignado" in (
        " ".join(res.output.split()))
    # Spanish codes are typed as they are shown: a verdict, then a status
    res = runner.invoke(app, ["cases", "update", ws, code, "--verdict", "coca_confirmada"])
    assert res.exit_code == 0 and "Coca confirmada" in res.output, res.output
    second = listed[1]["case"]
    res = runner.invoke(app, ["cases", "update", ws, second, "--status", "en_campo"])
    assert res.exit_code == 0 and "en campo" in res.output, res.output
    res = runner.invoke(app, ["cases", "list", ws, "--status", "EN CAMPO", "--json"])
    assert [c["case"] for c in json.loads(res.output)] == [second]
    res = runner.invoke(app, ["cases", "update", ws, second, "--status", "volando"])
    assert res.exit_code == 2 and "nuevo, asignado, en_campo, verificado" in (
        " ".join(res.output.split()))
    res = runner.invoke(app, ["cases", "show", ws, code])
    assert res.exit_code == 0 and "Historial" in res.output and "ana" in res.output
    res = runner.invoke(app, ["cases", "list", ws, "--open", "--territory", "CN Beta"])
    assert res.exit_code == 0 and "CN Beta" in res.output
    res = runner.invoke(app, ["cases", "show", ws, "C-9999"])
    assert res.exit_code == 3


def test_priority_uses_the_community_risk_when_assessed(workspace):
    from vigilancia.services.risk import assess_risk

    assessment = assess_risk(workspace, SETTINGS, as_of=date(2024, 7, 1))
    score = {s.name: s.score for s in assessment.scores}
    open_cases(workspace, SETTINGS, as_of=date(2024, 7, 1))
    alfa = find_territory(workspace, "CN Alfa")
    for case in workspace.cases.list(territory_id=alfa.id):
        terms = {t.name: t for t in case.priority_terms}
        assert terms["risk"].value == pytest.approx(score["CN Alfa"])
        assert case.priority == pytest.approx(sum(t.points for t in case.priority_terms))
