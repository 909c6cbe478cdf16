"""Community risk on a small workspace built through the real import and monitor services."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, box, mapping

from vigilancia.config import Settings
from vigilancia.domain.risk import Factor, RiskClass
from vigilancia.errors import InputError
from vigilancia.i18n import number, set_language
from vigilancia.reports.risk_map import render_risk_map
from vigilancia.services.layers import import_layer
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.risk import assess_risk, backtest, parse_horizon
from vigilancia.services.risk_export import RiskMap, export_risk, risk_map
from vigilancia.services.territories import import_territories
from vigilancia.services.texts.risk import explain

SETTINGS = Settings(language="es", buffer_km=2.0)
AS_OF = date(2024, 7, 1)

# three communities in a row (0.1 deg ~ 11 km), B overlapped by B2; a reserve east of C
A = box(-75.00, -9.50, -74.95, -9.45)
B = box(-74.90, -9.50, -74.85, -9.45)
B2 = box(-74.88, -9.50, -74.83, -9.45)
C = box(-74.80, -9.50, -74.75, -9.45)
RESERVE = box(-74.74, -9.55, -74.60, -9.40)
DISTRICT_WITH = box(-75.05, -9.60, -74.70, -9.35)
DISTRICT_EMPTY = box(-74.70, -9.60, -74.40, -9.35)


def write_geojson(path: Path, features: list[tuple[object, dict[str, object]]]) -> Path:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


def write_alerts(path: Path) -> Path:
    """MapBiomas-style alert points: A is hot and rising, B has a few, C none; older ones too."""
    rng = np.random.default_rng(7)
    rows = []

    def add(n: int, poly: object, start: date, days: int) -> None:
        minx, miny, maxx, maxy = poly.bounds  # type: ignore[attr-defined]
        for _ in range(n):
            rows.append({
                "alert_code": 10_000 + len(rows),
                "detected_at": (start + timedelta(days=int(rng.integers(0, days)))).isoformat(),
                "area_ha": round(float(rng.uniform(0.5, 8.0)), 3),
                "lat": float(rng.uniform(miny + 0.005, maxy - 0.005)),
                "lon": float(rng.uniform(minx + 0.005, maxx - 0.005)),
            })

    add(25, A, date(2024, 4, 5), 85)  # last 3 months
    add(4, A, date(2024, 1, 5), 85)  # the 3 months before
    add(30, A, date(2022, 3, 1), 600)  # history
    add(3, B, date(2024, 4, 5), 85)
    add(10, B, date(2022, 3, 1), 600)
    add(12, DISTRICT_EMPTY, date(2023, 6, 1), 300)
    add(40, A.union(B), date(2024, 7, 2), 300)  # after AS_OF: the back-test's future
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["alert_code", "detected_at", "area_ha", "lat", "lon"])
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    store = store_factory.create(tmp_path / "ws", name="Federación")
    communities = write_geojson(tmp_path / "comunidades.geojson", [
        (A, {"nomcom": "CN Alfa", "titcom": "EN TRAMITE"}),
        (B, {"nomcom": "CN Beta", "titcom": "TITULADA"}),
        (B2, {"nomcom": "CN Beta Dos", "titcom": "TITULADA"}),
        (C, {"nomcom": "CN Gamma", "titcom": "TITULADA"}),
    ])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    reserve = write_geojson(tmp_path / "reserva.geojson",
                            [(RESERVE, {"nombre": "Reserva Indígena Kakataibo"})])
    import_territories(store, str(reserve), kind="reserve", name_field="nombre")
    districts = write_geojson(tmp_path / "distritos.geojson", [
        (DISTRICT_WITH, {"NOMBDIST": "PUERTO INCA", "NOMBDEP": "HUANUCO"}),
        (DISTRICT_EMPTY, {"NOMBDIST": "YUYAPICHIS", "NOMBDEP": "HUANUCO"}),
    ])
    import_territories(store, str(districts), kind="district", name_field="NOMBDIST")
    strips = write_geojson(tmp_path / "pistas.geojson", [
        (LineString([(-74.97, -9.44), (-74.962, -9.44)]), {"id": 1, "yr": 2020}),
        (LineString([(-74.78, -9.40), (-74.772, -9.40)]), {"id": 2, "yr": 2025}),
    ])
    import_layer(store, strips, "airstrip")
    alerts = write_alerts(tmp_path / "alertas.csv")
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    yield store
    store.close()


def by_name(result):
    return {s.name: s for s in result.scores}


def test_ranks_explains_and_reports_missing_layers(workspace):
    set_language("es")
    res = assess_risk(workspace, SETTINGS, as_of=AS_OF)
    names = [s.name for s in res.scores]
    # communities, and the district without communities; never the district that has them
    assert sorted(names) == ["CN Alfa", "CN Beta", "CN Beta Dos", "CN Gamma", "YUYAPICHIS"]
    assert names[0] == "CN Alfa"
    s = by_name(res)
    alfa = {c.factor: c for c in s["CN Alfa"].contributions}
    assert alfa[Factor.RECENT_CLEARINGS].detail["count"] == 25
    assert alfa[Factor.TREND].detail == {"recent": 25, "previous": 4, "months": 3}
    assert alfa[Factor.TENURE].detail["status"] == "in_process"
    assert alfa[Factor.AIRSTRIPS].detail["near"] == 1  # the 2025 runway did not exist yet
    beta = {c.factor: c for c in s["CN Beta"].contributions}
    assert beta[Factor.TENURE].detail["overlaps"] == 1  # titled, but overlapped by Beta Dos
    assert beta[Factor.TENURE].level == pytest.approx(0.6)
    gamma = {c.factor: c for c in s["CN Gamma"].contributions}
    assert gamma[Factor.ISOLATION].detail["reserve"] == "Reserva Indígena Kakataibo"
    assert gamma[Factor.ISOLATION].level == 1.0  # within the buffer of the reserve
    assert gamma[Factor.RECENT_CLEARINGS].detail["count"] == 0
    # the district unit carries no tenure factor at all
    assert Factor.TENURE not in {c.factor for c in s["YUYAPICHIS"].contributions}
    # missing layers are reported, with how to fix them, and lower the coverage
    assert set(res.missing) == {Factor.COCA, Factor.CORRIDORS, Factor.VIOLENCE}
    assert "vigilancia routes" in res.missing[Factor.CORRIDORS]
    for score in res.scores:
        assert score.coverage < 1.0
        assert score.score == pytest.approx(sum(c.points for c in score.contributions))
    text = explain(s["CN Alfa"])
    assert text.startswith("CN Alfa: riesgo ")
    area = alfa[Factor.RECENT_CLEARINGS].detail["area_ha"]
    assert f"25 claros nuevos ({number(area)} ha) en 3 meses" in text and "faltan datos" in text


def test_incidents_count_by_region_and_rerun_replaces(workspace, tmp_path: Path):
    gw = tmp_path / "incidentes.csv"
    gw.write_text("region;year;killed;nombre\nHuánuco;2020;1;X\nHuanuco;2023;2;Y\n"
                  "Pasco;2021;4;Z\nHuánuco;2010;9;W\n", encoding="utf-8")
    first = assess_risk(workspace, SETTINGS, as_of=AS_OF)
    res = assess_risk(workspace, SETTINGS, as_of=AS_OF, incidents=gw)
    assert Factor.VIOLENCE not in res.missing
    for s in res.scores:
        v = next(c for c in s.contributions if c.factor is Factor.VIOLENCE)
        assert v.detail["incidents"] == 3  # 2020 and 2023 in Huánuco; 2010 is too old
        assert "X" not in json.dumps(v.detail)  # names never travel
    stored = workspace.risk.assessments()
    assert len(stored) == 1 and stored[0].units == 5  # same date: replaced, not added
    assert first.assessment_id is not None and stored[0].id == res.assessment_id
    rows = workspace.risk.scores(stored[0].id)
    assert [r.unit_key for r in rows] == [s.key for s in res.scores]
    factors = rows[0].contributions["factors"]
    assert sum(f["points"] for f in factors) == pytest.approx(rows[0].score, abs=1e-3)


def test_export_writes_table_layer_and_map(workspace, tmp_path: Path):
    res = assess_risk(workspace, SETTINGS, as_of=AS_OF)
    files = export_risk(res, workspace, tmp_path / "riesgo", render_map=render_risk_map)
    frame = pyogrio.read_dataframe(files.gpkg, layer="riesgo")
    assert len(frame) == 5 and frame.crs.to_epsg() == 4326
    # Spanish column names and codes by default (vigilancia.services.texts.columns)
    assert frame.sort_values("puesto")["nombre"].iloc[0] == "CN Alfa"
    assert frame["pts_corredores"].isna().all()  # missing, not 0
    assert frame["pts_claros_recientes"].notna().all()
    assert set(frame["unidad"]) == {"comunidad", "distrito"}
    # the regional class ranks the units: one quarter of the ranking each
    by_rank = frame.sort_values("puesto")
    assert by_rank["clase_regional"].tolist() == ["critico", "alto", "medio", "bajo", "bajo"]
    assert set(frame["clase"]) <= {"critico", "alto", "medio", "bajo"}
    header = files.csv.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[:6] == ["puesto", "nombre", "unidad", "territorio_id", "puntaje", "clase"]
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert data["ranking"][0]["name"] == "CN Alfa"
    assert set(data["missing"]) == {"coca", "corridors", "violence"}
    png = files.png.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    from PIL import Image

    with Image.open(files.png) as im:
        assert im.size[0] > 800 and im.size[1] > 800


def test_the_map_is_gathered_from_the_store_then_drawn_by_the_renderer_given(workspace,
                                                                            tmp_path: Path):
    """export_risk gathers a RiskMap (units, corridors, airstrips) and writes what the
    renderer it is given returns (the shells give reports.risk_map.render_risk_map)."""
    res = assess_risk(workspace, SETTINGS, as_of=AS_OF)
    data = risk_map(res, workspace)
    assert data.assessment is res and data.corridors == ()
    assert sorted(round(g.centroid.x, 3) for g in data.airstrips) == [-74.966, -74.776]
    seen: list[RiskMap] = []

    def fake(d: RiskMap) -> bytes:
        seen.append(d)
        return b"png"

    files = export_risk(res, workspace, tmp_path / "riesgo", render_map=fake)
    assert files.png.read_bytes() == b"png" and len(seen) == 1
    assert seen[0].assessment is res and seen[0].airstrips == data.airstrips
    png = render_risk_map(data)  # the same object, drawn without a store
    assert png[:4] == b"\x89PNG"
    export_risk(res, workspace, tmp_path / "otra", render_map=render_risk_map)
    assert (tmp_path / "otra" / "riesgo.png").read_bytes() == png


def test_backtest_grid_and_territory(workspace):
    res = backtest(workspace, SETTINGS, cutoff=AS_OF, horizon_months=12, unit="grid", cell_km=1)
    data = res.to_dict()
    assert data["unit"] == "grid" and data["units"] > 100
    for key in ("top1_capture", "top5_capture", "top10_capture", "auc"):
        assert key in data and key in data["baseline"]
    assert data["future_area_ha"] > 0 and data["past_area_ha"] > 0
    assert 0 <= data["top10_capture"] <= 1
    assert "corridors" in data["missing"]
    terr = backtest(workspace, SETTINGS, cutoff=AS_OF, horizon_months=12, unit="territory")
    assert terr.n_units == 4
    # the top 1 % of 4 units is one unit: Alfa, the highest score at the cutoff
    pts = workspace.clearings.points()
    future = pts.first_date >= np.datetime64(AS_OF)
    in_alfa = shapely.contains_xy(A, pts.lon, pts.lat) & future
    in_any = shapely.contains_xy(shapely.union_all([A, B, B2, C]), pts.lon, pts.lat) & future
    assert terr.future_area_ha == pytest.approx(pts.area_ha[in_any].sum())
    assert terr.metrics["top1_capture"] == pytest.approx(
        pts.area_ha[in_alfa].sum() / pts.area_ha[in_any].sum())
    with pytest.raises(InputError, match="2030"):
        backtest(workspace, SETTINGS, cutoff=date(2030, 1, 1), unit="grid")
    with pytest.raises(InputError, match="province"):
        backtest(workspace, SETTINGS, cutoff=AS_OF, unit="province")


def test_horizon_parsing():
    assert parse_horizon("18m") == 18 and parse_horizon("2y") == 24
    with pytest.raises(InputError):
        parse_horizon("doce")
    with pytest.raises(InputError):
        parse_horizon("0m")


def test_no_units_is_a_clear_error(store_factory, tmp_path: Path):
    with store_factory.create(tmp_path / "vacío") as store, pytest.raises(
        InputError, match="territor"
    ):
        assess_risk(store, SETTINGS, as_of=AS_OF)


def test_classes_are_named_in_both_languages(workspace):
    res = assess_risk(workspace, SETTINGS, as_of=AS_OF, save=False)
    assert res.assessment_id is None
    top = res.scores[0]
    set_language("en")
    try:
        english = explain(top)
    finally:
        set_language("es")
    assert english.startswith(f"CN Alfa: {top.risk_class.value} risk (")
    assert "missing data" in english
    spanish = {RiskClass.CRITICAL: "crítico", RiskClass.HIGH: "alto",
               RiskClass.MEDIUM: "medio", RiskClass.LOW: "bajo"}[top.risk_class]
    assert explain(top).startswith(f"CN Alfa: riesgo {spanish} (")


# ------------------------------------------------------------------ the shell


def test_cli_risk_writes_files_and_backtest_json(workspace, tmp_path: Path):
    from typer.testing import CliRunner

    from vigilancia.cli import app

    if not workspace.is_sqlite:
        pytest.skip("the CLI opens SQLite workspaces by folder; PostgreSQL runs above")
    runner = CliRunner()
    folder = tmp_path / "salida"
    res = runner.invoke(app, ["risk", str(workspace.dir), "--as-of", "2024-07-01",
                              "--output", str(folder), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["ranking"][0]["name"] == "CN Alfa" and data["as_of"] == "2024-07-01"
    assert {p.name for p in folder.iterdir()} == {"riesgo.csv", "riesgo.json", "riesgo.gpkg",
                                                  "riesgo.png"}
    res = runner.invoke(app, ["risk", "backtest", str(workspace.dir), "--cutoff", "2024-07-01",
                              "--horizon", "12m", "--cell-km", "1", "--json"])
    assert res.exit_code == 0, res.output
    bt = json.loads(res.output)
    assert bt["unit"] == "grid" and "top1_capture" in bt and "top1_capture" in bt["baseline"]
    res = runner.invoke(app, ["risk", "backtest", str(workspace.dir), "--cutoff", "2024-07-01",
                              "--horizon", "doce"])
    assert res.exit_code != 0 and "doce" in res.output


# ------------------------------------------------------------------ texts agree with points


def test_each_phrase_quotes_the_figure_its_points_come_from():
    """The figures of the issue: coca points came from 64 expected coca clearings while the
    text said "0 claros probables de coca"; pressure points came from a weighted 32 ha
    while the unit had 581 ha of recent clearing. Each phrase now names its own figure."""
    from vigilancia.domain.risk import FactorValue, score_unit
    from vigilancia.services.texts.risk import contribution_text

    score = score_unit("district:1", "PUERTO INCA", [
        FactorValue(Factor.COCA, 64.2, "clasificador",
                    {"expected": 64.2, "likely": 0, "months": 12}),
        FactorValue(Factor.PRESSURE_LOCAL, 32.0, "alertas",
                    {"weighted_ha": 32.0, "cell_km": 2.0, "sigma_km": 1.0}),
        FactorValue(Factor.RECENT_CLEARINGS, 107.0, "alertas",
                    {"count": 107, "area_ha": 580.87, "months": 3}),
    ], {Factor.COCA: 10.0, Factor.PRESSURE_LOCAL: 25.0, Factor.RECENT_CLEARINGS: 10.0})
    by = {c.factor: c for c in score.contributions}
    set_language("es")
    coca = contribution_text(by[Factor.COCA])
    assert by[Factor.COCA].points > 9.9  # full points ...
    assert coca.startswith("64,2 claros de coca esperados en 12 meses")  # ... from 64.2
    assert "suma de las probabilidades de coca; 0 con 50 % o más" in coca
    assert contribution_text(by[Factor.PRESSURE_LOCAL]).startswith(
        "32 ha de deforestación reciente en la celda de 2 km más activa")
    assert contribution_text(by[Factor.RECENT_CLEARINGS]) == \
        "107 claros nuevos (581 ha) en 3 meses"
    set_language("en")
    assert contribution_text(by[Factor.COCA]).startswith(
        "64.2 coca clearings expected in 12 months (sum of coca probabilities; 0 at 50 %")
    set_language("es")


def test_the_figures_quoted_are_the_values_scored(workspace):
    """On a workspace: every phrase's figure is the value its points were computed from."""
    from vigilancia.services.texts.risk import contribution_text

    res = assess_risk(workspace, SETTINGS, as_of=AS_OF)
    set_language("es")
    checked = 0
    for s in res.scores:
        for c in s.contributions:
            if not c.available:
                continue
            text = contribution_text(c)
            if c.factor in (Factor.PRESSURE_LOCAL, Factor.PRESSURE_REGIONAL):
                assert c.value == pytest.approx(c.detail["weighted_ha"], abs=0.01)
                assert f"{number(c.value, 1)} ha de deforestación reciente" in text, text
            elif c.factor is Factor.RECENT_CLEARINGS:
                assert c.value == c.detail["count"]
                assert text.startswith(f"{number(c.value)} claro"), text
                assert f"({number(c.detail['area_ha'])} ha)" in text
            else:
                continue
            checked += 1
    assert checked >= 3 * len(res.scores)


def test_the_regional_class_ranks_units_that_all_pass_the_critical_threshold(workspace):
    from vigilancia.domain.risk import rank_scores

    res = assess_risk(workspace, SETTINGS, as_of=AS_OF)
    critical = [replace(s, risk_class=RiskClass.CRITICAL, score=50.0 + i)
                for i, s in enumerate(res.scores)]
    ranked = rank_scores(critical)
    assert {s.risk_class for s in ranked} == {RiskClass.CRITICAL}
    assert [s.regional_class for s in ranked] == [
        RiskClass.CRITICAL, RiskClass.HIGH, RiskClass.MEDIUM, RiskClass.LOW, RiskClass.LOW]
    tied = rank_scores([replace(s, score=40.0) for s in res.scores])
    assert {s.regional_class for s in tied} == {RiskClass.CRITICAL}  # ties share the best


@pytest.mark.shared_data
@pytest.mark.slow
def test_puerto_inca_districts_on_real_alerts(store_factory, tmp_path: Path):
    """The five districts of Puerto Inca and the MapBiomas alerts of Peru: the districts
    are told apart, the map names them, and the texts quote their own figures."""
    data = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not data.is_dir():
        pytest.skip(f"real data folder {data} is absent (it is not part of the repository)")
    store = store_factory.create(tmp_path / "ws")
    try:
        import_territories(store, str(data / "admin" / "prov_puerto_inca_districts.gpkg"),
                           kind="district")
        run_monitor(store, MonitorRequest(
            str(data / "alerts" / "mapbiomas_alerta_peru_2021_2024.parquet"), "mapbiomas"),
            SETTINGS)
        res = assess_risk(store, SETTINGS)
        assert res.unit_kinds() == ("district",) and len(res.scores) == 5
        assert {s.name for s in res.scores} >= {"PUERTO INCA", "HONORIA", "YUYAPICHIS"}
        assert len({s.regional_class for s in res.scores}) >= 3
        seen: list[RiskMap] = []

        def keep(d: RiskMap) -> bytes:
            seen.append(d)
            return render_risk_map(d)

        files = export_risk(res, store, tmp_path / "riesgo", render_map=keep)
        assert files.png.read_bytes()[:4] == b"\x89PNG"
        frame = pyogrio.read_dataframe(files.gpkg, layer="riesgo")
        assert set(frame["unidad"]) == {"distrito"}
        assert len(set(frame["clase_regional"])) >= 3
        for s in res.scores:
            recent = next(c for c in s.contributions if c.factor is Factor.RECENT_CLEARINGS)
            assert f"{number(recent.detail['count'])} claros nuevos " \
                   f"({number(recent.detail['area_ha'])} ha)" in " ".join(explain(s).split())
    finally:
        store.close()
