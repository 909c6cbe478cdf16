"""Patrol plans on a workspace built through the real services: two communities, their
cases, a trail, settlements, a known runway, a camp and a runway-like clearing."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, Point, box, mapping
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.cli.common import error_text
from vigilancia.config import Settings
from vigilancia.domain.cases import CaseStatus
from vigilancia.domain.patrols import plan_from_json
from vigilancia.errors import InputError, NotFoundError
from vigilancia.services.cases import open_cases, update_case
from vigilancia.services.layers import import_layer
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.patrol import parse_start, plan_patrol
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="es", buffer_km=3.0)  # the caserío is 2.2 km from Alfa
AS_OF = date(2024, 7, 1)

ALFA = box(-75.00, -9.50, -74.95, -9.45)
BETA = box(-74.94, -9.50, -74.89, -9.45)
GAMMA = box(-74.80, -9.50, -74.75, -9.45)
#: alert points: (lon, lat, area_ha, date); a1-a5 in Alfa, b1-b2 in Beta
ALERTS = {
    "a1": (-74.990, -9.4765, 5.0, "2024-06-20"),
    "a2": (-74.975, -9.4740, 2.0, "2024-06-01"),
    "a3": (-74.960, -9.4770, 8.0, "2024-06-25"),  # 0.9 km from the known runway
    "a4": (-74.970, -9.4560, 1.0, "2024-03-01"),
    "a5": (-74.955, -9.4950, 3.0, "2024-05-01"),  # itself a runway-like clearing
    "b1": (-74.930, -9.4700, 6.0, "2024-06-28"),  # next to a camp
    "b2": (-74.900, -9.4800, 4.0, "2024-06-15"),
}
CASERIO = (-75.02, -9.475)  # a village west of Alfa, in no community
BETA_CENTRO = (-74.935, -9.47)  # Beta's village: nearer to Alfa than the caserío


def write_geojson(path: Path, features: list[tuple[object, dict[str, object]]]) -> Path:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


def nearest(frame, lon: float, lat: float) -> int:
    d = np.hypot(frame["centroid_lon"].to_numpy() - lon, frame["centroid_lat"].to_numpy() - lat)
    return int(frame["id"].to_numpy()[int(np.argmin(d))])


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    ws = tmp_path / "ws"
    store = store_factory.create(ws, name="Federación")
    import_territories(store, str(write_geojson(tmp_path / "comunidades.geojson", [
        (ALFA, {"nomcom": "CN Alfa", "titcom": "TITULADA"}),
        (BETA, {"nomcom": "CN Beta", "titcom": "TITULADA"}),
        (GAMMA, {"nomcom": "CN Gamma", "titcom": "EN TRAMITE"}),
    ])), kind="community", name_field="nomcom")
    import_layer(store, write_geojson(tmp_path / "trochas.geojson", [
        (LineString([CASERIO, (-74.951, -9.475)]), {"nombre": "Trocha Alfa", "tipo": "sendero"}),
    ]), "trail")
    import_layer(store, write_geojson(tmp_path / "poblados.geojson", [
        (Point(*CASERIO), {"nombre": "Caserío Alfa"}),
        (Point(*BETA_CENTRO), {"nombre": "Beta Centro"}),
    ]), "settlement")
    import_layer(store, write_geojson(tmp_path / "pistas.geojson", [
        (LineString([(-74.958, -9.4855), (-74.951, -9.4855)]), {"nombre": "Pista Sur"}),
    ]), "airstrip")
    import_layer(store, write_geojson(tmp_path / "campamentos.geojson", [
        (Point(-74.925, -9.471), {"nombre": "Campamento Beta"}),
    ]), "camp")
    alerts = tmp_path / "alertas.csv"
    with alerts.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["alert_code", "detected_at", "area_ha", "lat", "lon"])
        for k, (lon, lat, ha, day) in enumerate(ALERTS.values()):
            w.writerow([1000 + k, day, ha, lat, lon])
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    frame = store.clearings.frame()
    runway = nearest(frame, *ALERTS["a5"][:2])
    with store.transaction() as conn:
        store.clearings.set_drivers(
            conn, np.array([runway]), ["airstrip"], np.array([0.8]),
            [{"airstrip": 0.8, "other": 0.2}], [[]], "test")
    opened = open_cases(store, SETTINGS, as_of=AS_OF, actor="test")
    assert len(opened.opened) == len(ALERTS)
    yield store, ws, store_factory.env(ws)
    store.close()


def cases_by_alert(store) -> dict[str, int]:
    """Alert key -> id of the case made of it."""
    out = {}
    for c in store.cases.list():
        key = min(ALERTS, key=lambda k: (ALERTS[k][0] - c.lon) ** 2 + (ALERTS[k][1] - c.lat) ** 2)
        out[key] = c.id
    return out


def test_plan_holds_only_this_community_and_flags_care(workspace):
    store, _ws, _env = workspace
    ids = cases_by_alert(store)
    plan = plan_patrol(store, SETTINGS, territory="cn alfa", max_km=40, actor="test")
    alfa = {ids[k] for k in ("a1", "a2", "a3", "a4", "a5")}
    assert set(plan.case_ids) == alfa and plan.skipped == ()
    assert plan.territory_name == "CN Alfa"
    # the start: the caserío, never Beta's village although it is nearer
    assert plan.start_kind == "settlement" and plan.start_name == "Caserío Alfa"
    assert plan.start == pytest.approx(CASERIO, abs=1e-6)
    data = json.dumps(stored := store.patrol_plans.list(plan.territory_id)[0].plan,
                      ensure_ascii=False)
    for other in ("CN Beta", "Beta Centro", "Campamento Beta", "CN Gamma"):
        assert other not in data
    assert not {ids["b1"], ids["b2"]} & set(plan.case_ids + plan.skipped)
    # care: the known runway near a3, the runway-like clearing that is a5
    care = {s.case_id: s.care for s in plan.stops}
    assert [(r.kind, r.name) for r in care[ids["a3"]]] == [("airstrip", "Pista Sur")]
    assert 800 < care[ids["a3"]][0].distance_m < 1000
    assert [r.kind for r in care[ids["a5"]]][0] == "runway_clearing"
    assert care[ids["a5"]][0].distance_m == pytest.approx(0.0)
    assert care[ids["a1"]] == () and care[ids["a4"]] == ()
    # the trail is used on the way
    assert any("trail" in s.leg_modes for s in plan.stops)
    assert plan.total_km <= 40
    cum = [s.cumulative_km for s in plan.stops]
    assert cum == sorted(cum)
    # stored, and read back whole
    back = plan_from_json(stored, plan_id=plan.id)
    assert back.stops == plan.stops and back.total_km == plan.total_km
    row = store.patrol_plans.list(plan.territory_id)[0]
    assert row.id == plan.id and row.params["max_km"] == 40
    assert row.route is not None


def test_other_community_plan_has_its_own_village_and_camp(workspace):
    store, _ws, _env = workspace
    ids = cases_by_alert(store)
    plan = plan_patrol(store, SETTINGS, territory="CN Beta", max_km=30, actor="test")
    assert set(plan.case_ids) == {ids["b1"], ids["b2"]}
    assert plan.start_name == "Beta Centro"
    assert [(r.kind, r.name) for r in plan.stops[plan.case_ids.index(ids["b1"])].care] == [
        ("camp", "Campamento Beta")]
    text = json.dumps(asdict(store.patrol_plans.list(plan.territory_id)[0]), default=str)
    assert "Alfa" not in text


def test_budget_binds_priority_wins_and_assign_in_one_go(workspace):
    store, _ws, _env = workspace
    ids = cases_by_alert(store)
    full = plan_patrol(store, SETTINGS, territory="CN Alfa", max_km=40, actor="test")
    # just short of the whole round: the lowest priority is the one left out
    limit = full.total_km - 0.01
    plan = plan_patrol(store, SETTINGS, territory="CN Alfa", max_km=limit,
                       assign="Equipo Yamino", actor="coordinadora")
    cases = {c.id: c for c in store.cases.list()}
    alfa = sorted((ids[k] for k in ("a1", "a2", "a3", "a4", "a5")),
                  key=lambda i: (-cases[i].priority, i))
    assert plan.total_km <= limit
    assert plan.skipped == (alfa[-1],) and set(plan.case_ids) == set(alfa[:-1])
    for cid in plan.case_ids:
        assert cases[cid].status is CaseStatus.ASSIGNED and cases[cid].assignee == "Equipo Yamino"
        ev = [e for e in store.cases.events(cid) if e.action == "assigned"]
        assert ev[-1].actor == "coordinadora" and ev[-1].detail["patrol_plan"] == plan.id
    for cid in plan.skipped + (ids["b1"], ids["b2"]):
        assert cases[cid].status is CaseStatus.NEW and cases[cid].assignee is None
    stored = store.patrol_plans.list()[0]
    assert stored.id == plan.id and "Equipo Yamino" not in json.dumps(asdict(stored), default=str)


def test_start_given_as_point_or_name_and_centroid_fallback(workspace):
    store, _ws, _env = workspace
    by_point = plan_patrol(store, SETTINGS, territory="CN Alfa", max_km=40,
                           start=parse_start("-74.97,-9.48"), actor="test")
    assert by_point.start == (-74.97, -9.48) and by_point.start_kind == "given"
    by_name = plan_patrol(store, SETTINGS, territory="CN Alfa", max_km=40,
                          start="caserio alfa", actor="test")
    assert by_name.start_name == "Caserío Alfa"
    # Gamma: no village of its own, and Beta's is in another community -> its centre
    ids = cases_by_alert(store)
    with store.transaction() as conn:
        moved = replace(store.cases.get(ids["b2"], conn=conn),
                        territory_id=store.territories.list()[2].id)
        store.cases.update(conn, moved)
    gamma = plan_patrol(store, SETTINGS, territory="CN Gamma", max_km=40, actor="test")
    assert gamma.start_kind == "centroid" and gamma.start_name is None
    assert gamma.start == pytest.approx((-74.775, -9.475), abs=1e-4)


def test_clear_errors(workspace):
    store, _ws, _env = workspace
    with pytest.raises(NotFoundError, match="CN Delta"):
        plan_patrol(store, SETTINGS, territory="CN Delta", actor="test")
    with pytest.raises(NotFoundError) as no_cases:
        plan_patrol(store, SETTINGS, territory="CN Gamma", actor="test")
    assert "vigilancia" not in no_cases.value.user_text()  # the CLI words the action
    assert "vigilancia cases open" in error_text(no_cases.value)
    assert "--territory" in error_text(no_cases.value)
    with pytest.raises(NotFoundError, match="Pueblo Fantasma"):
        plan_patrol(store, SETTINGS, territory="CN Alfa", start="Pueblo Fantasma", actor="test")
    with pytest.raises(InputError) as far:
        plan_patrol(store, SETTINGS, territory="CN Alfa", max_km=0.5, actor="test")
    assert "--max-km" in error_text(far.value)
    with pytest.raises(InputError) as negative:
        plan_patrol(store, SETTINGS, territory="CN Alfa", max_km=-3, actor="test")
    assert "max-km" in error_text(negative.value)
    with pytest.raises(InputError):
        parse_start("200,-9")
    assert store.patrol_plans.list() == []
    # closed cases are not planned
    for c in store.cases.list(territory_id=store.territories.list()[1].id):
        update_case(store, c.id, actor="test", status=CaseStatus.DISMISSED)
    with pytest.raises(NotFoundError):
        plan_patrol(store, SETTINGS, territory="CN Beta", actor="test")


def test_cli_prints_a_spanish_table_and_json(workspace, monkeypatch):
    from vigilancia.cli.common import out

    monkeypatch.setattr(out, "_width", 200)  # the console may have fixed its width already
    store, ws, env = workspace
    env = {**env, "VIGILANCIA_LANGUAGE": "es", "COLUMNS": "200"}
    res = CliRunner().invoke(app, ["patrol", "plan", str(ws), "--territory", "CN Alfa",
                                   "--max-km", "40", "--assign", "Equipo Yamino",
                                   "--by", "coordinadora"], env=env)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Patrullaje de CN Alfa" in text and "Caserío Alfa" in text
    for header in ("Orden", "Caso", "Prioridad", "Tramo km", "Tramo h", "Modos", "Cuidado"):
        assert header in text
    assert "pista conocida «Pista Sur» a 1 km" in text  # 965 m
    assert "claro tipo pista a 0 km" in text
    assert "trocha" in text and "a pie" in text and "regreso" in text
    assert "5 casos visitados" in text and "5 casos asignados" in text
    assert "Equipo Yamino" not in text
    res = CliRunner().invoke(app, ["patrol", "plan", str(ws), "-t", "CN Alfa",
                                   "--start=-74.97,-9.48", "--json"], env=env)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["start"] == [-74.97, -9.48] and len(data["stops"]) == 5
    assert data["id"] == store.patrol_plans.list()[0].id
    res = CliRunner().invoke(app, ["patrol", "plan", str(ws), "-t", "CN Gamma"], env=env)
    assert res.exit_code == 3
    assert "vigilancia cases open ESPACIO --territory" in " ".join(res.output.split())
