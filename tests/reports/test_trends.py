"""The regional trends report: on the sample world with DEVIDA and Geobosques tables in
their published layout, and on the real data (MapBiomas alerts of Peru, the districts of
Ucayali and Huánuco, DEVIDA's coca tables and Geobosques' district loss) when
``../shared/data`` is there."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pdf_checks import embedded_content, flat, page_png, pages, pdf_text, sha256
from report_world import COORDINATOR, MONITOR, SETTINGS

from vigilancia.config import Settings
from vigilancia.errors import DataFormatError, InputError
from vigilancia.reports.trends import render_trends
from vigilancia.services.reporting import Issue, content_hash, issue_report
from vigilancia.services.trends import trends

ISSUED = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

COCA_DEPARTMENTS = """Departamento,2022,2023,2024,Variación_2024_2023
Ucayali,14531,12221,11206,-1015
Huánuco,3887,4960,4627,-333
Cusco,16009,15101,14493,-608
TOTAL,34427,32282,30326,-1956
"""
COCA_ZONES = """zona_cocalera,ha_2022,ha_2023,ha_2024,var_pct_2024_2023
Aguaytía,3914,4019,4364,8.6%
Pichis-Palcazú-Pachitea,5099,4266,2917,-31.6%
Tigre,,,76,-
TOTAL,9013,8285,7357,-11.2%
"""
LOSS = """DEPARTAMENTO,PROVINCIA,DISTRITO,UBIGEO,2023_ha,2024_ha,BOSQUE AL 2024_ha
HUANUCO,PUERTO INCA,NUEVA ESPERANZA,100905,"1,204.31",988.20,"52,310.44"
UCAYALI,PADRE ABAD,RIO SHAMBILLO,250304,640.05,702.90,"31,002.10"
AMAZONAS,CHACHAPOYAS,CHACHAPOYAS,010101,3.24,15.03,833.67
"""


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stats")
    out = {}
    for name, text in (("coca_departamentos.csv", COCA_DEPARTMENTS),
                       ("coca_zonas.csv", COCA_ZONES), ("perdida.csv", LOSS)):
        (folder / name).write_text(text, encoding="utf-8")
        out[name] = folder / name
    return out


def test_trends_of_the_sample_world(world, tables, pdf_tools, tmp_path):
    t = trends(world.store, SETTINGS, coca=[tables["coca_zonas.csv"],
                                             tables["coca_departamentos.csv"]],
               loss=tables["perdida.csv"])
    # every clearing is in a district of the sample; the months add up
    assert t.outside == 0
    assert sum(m.clearings for m in t.months) == world.store.counts()["clearings"]
    assert {u.name for u in t.districts} == {"Nueva Esperanza", "Rio Shambillo"}
    assert sum(u.clearings for u in t.districts) == sum(m.clearings for m in t.months)
    assert t.territories and t.territories[0].area_ha >= t.territories[-1].area_ha
    assert t.departments == ("Huanuco", "Ucayali")
    # the tables: departments first, the national total never ranked
    assert [c.kind for c in t.coca] == ["department", "zone"]
    assert "TOTAL" not in {r.name for c in t.coca for r in c.rows}
    assert [r.ubigeo for r in t.loss_rows] == ["100905", "250304"]
    assert t.loss_years == (2023, 2024)
    detected = sum(r.detected_ha[y] for r in t.loss_rows for y in t.loss_years)
    assert 0 < detected <= sum(m.area_ha for m in t.months) + 1e-6
    assert t.risk and t.risk[0].rank == 1 and t.risk_as_of is not None

    res, data = issue_report(world.store, SETTINGS, t, render=render_trends,
                             output=tmp_path / "tendencias.pdf", actor=COORDINATOR,
                             now=ISSUED)
    text = pdf_text(res.path)
    joined = flat(pdf_text(res.path, layout=False))
    for words in ("Tendencias regionales", "Claros nuevos por mes", "Distritos con más",
                  "Clasificación de riesgo", "Hectáreas de coca por departamento",
                  "Hectáreas de coca por zona cocalera", "Pérdida de bosque oficial"):
        assert words in text, words
    # every figure cites its source, with the file's hash
    assert text.count("Fuente") >= 5
    for path in tables.values():
        assert path.name in joined and sha256(path.read_bytes()) in joined
    assert "alertas_gfw.tif" in joined
    assert "2.192,5" in text and "988,2" in text  # official loss 2023-2024 and 2024
    assert "8,6" in text and "—" in text
    assert MONITOR not in text and COORDINATOR not in text
    assert sha256(embedded_content(res.path, tmp_path)) == res.content_hash
    again = trends(world.store, SETTINGS, coca=[tables["coca_departamentos.csv"],
                                                 tables["coca_zonas.csv"]],
                   loss=tables["perdida.csv"])
    assert content_hash(again.content()) == res.content_hash
    assert render_trends(again, Issue(ISSUED, res.issue.chain_seq, res.issue.chain_hash)) \
        == data
    # the charts are drawn: the monthly bars take colours, not a blank box
    first = page_png(res.path, 1, tmp_path)
    assert len({tuple(p) for p in first[::4, ::4].reshape(-1, 3).tolist()}) > 60


def test_wrong_tables_are_named(world, tmp_path):
    wrong = tmp_path / "coca.csv"
    wrong.write_text("provincia,habitantes\nPuerto Inca,31000\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="coca.csv"):
        trends(world.store, SETTINGS, coca=[wrong])
    loss = tmp_path / "perdida.csv"
    loss.write_text("UBIGEO,2024_ha\n10090A,3.1\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="fila 2"):
        trends(world.store, SETTINGS, loss=loss)


def test_a_workspace_without_units_is_refused(store_factory, tmp_path):
    with store_factory.create(tmp_path / "vacio") as store, pytest.raises(InputError):
        trends(store, SETTINGS)


@pytest.mark.shared_data
@pytest.mark.slow
def test_trends_of_ucayali_and_huanuco_from_the_real_data(tmp_path, pdf_tools):
    alerts = DATA / "alerts" / "mapbiomas_alerta_peru_2021_2024.parquet"
    if not alerts.exists():
        pytest.skip(f"real data folder {DATA} is absent (it is not part of the repository)")
    from vigilancia.services.monitor import MonitorRequest, run_monitor
    from vigilancia.services.risk import assess_risk
    from vigilancia.services.territories import import_territories
    from vigilancia.services.workspace import init_workspace

    settings = Settings(language="es")
    districts = json.loads((DATA / "admin" / "peru_districts.geojson").read_text("utf-8"))
    districts["features"] = [f for f in districts["features"]
                             if f["properties"]["NOMBDEP"] in ("UCAYALI", "HUANUCO")]
    chosen = tmp_path / "distritos_ucayali_huanuco.geojson"
    chosen.write_text(json.dumps(districts), encoding="utf-8")
    store = init_workspace(tmp_path / "ws", settings, name="Ucayali y Huánuco")
    try:
        import_territories(store, str(chosen), kind="district", name_field="NOMBDIST")
        run_monitor(store, MonitorRequest(str(alerts), "mapbiomas"), settings)
        assess_risk(store, settings)
        stats = DATA / "stats"
        t = trends(store, settings,
                   coca=[stats / "coca_ha_by_department_2020_2024_devida.csv",
                         stats / "coca_ha_by_zone_2020_2024_devida.csv"],
                   loss=stats / "forest_loss_ha_by_district_2001_2024_geobosques.csv")
        res, _data = issue_report(store, settings, t, render=render_trends,
                                  output=tmp_path / "tendencias.pdf", actor="analista",
                                  now=ISSUED)
    finally:
        store.close()
    # the alerts of the two departments, month by month from 2021 to 2024
    assert t.period is not None and t.period[0].year == 2021 and t.period[1].year == 2024
    assert len(t.months) == 48 and sum(m.clearings for m in t.months) > 10_000
    # the alerts of the area of interest (the districts' box plus the buffer) that lie
    # in neither department are left out, not counted (the rest of Peru is not ingested)
    assert t.outside > 1_000
    assert {u.department for u in t.districts} == {"Ucayali", "Huanuco"}
    assert t.departments == ("Huanuco", "Ucayali")
    dep = next(c for c in t.coca if c.kind == "department")
    assert len(dep.rows) == 13 and dep.total is not None and dep.total.hectares[2024] == 89755
    zones = next(c for c in t.coca if c.kind == "zone")
    aguaytia = next(r for r in zones.rows if r.name == "Aguaytía")
    assert aguaytia.hectares[2024] == 4364 and aguaytia.change == pytest.approx(8.6)
    assert any(r.hectares[2020] is None for r in zones.rows)  # zones not monitored in 2020
    assert t.loss_years == (2021, 2022, 2023, 2024) and len(t.loss_rows) > 30
    callería = next(r for r in t.loss_rows if r.ubigeo == "250101")
    assert callería.official_ha[2021] == pytest.approx(2410.65)
    assert callería.detected_ha[2021] > 0
    text = pdf_text(res.path)
    joined = flat(pdf_text(res.path, layout=False))
    for words in ("Ucayali", "Huánuco", "Aguaytía", "VRAEM", "250101", "11.206"):
        assert words in text, words
    assert "mapbiomas_alerta_peru_2021_2024.parquet" in joined
    assert "coca_ha_by_department_2020_2024_devida.csv" in joined
    assert "forest_loss_ha_by_district_2001_2024_geobosques.csv" in joined
    assert "89.755" not in text  # the national total row is left out
    assert pages(res.path) >= 3
