"""`vigilancia demo`: the whole cycle on the seeded sample region, from an empty folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.domain.cases import CaseStatus


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    res = CliRunner().invoke(app, ["demo", "--output", str(out)], catch_exceptions=False)
    return out, res


def test_demo_runs_every_step_and_says_where_outputs_are(demo_run):
    out, res = demo_run
    assert res.exit_code == 0, res.output
    for name in ("claros.gpkg", "claros.geojson", "pistas_candidatas.gpkg",
                 "corredores/corredores.gpkg", "corredores/densidad_corredores.tif",
                 "riesgo/riesgo.csv", "riesgo/riesgo.png", "paquete_patrulla.zip",
                 "informe_caso.pdf"):
        assert (out / name).is_file(), name
        assert str(out / name) in res.output.replace("\n", "")
    assert "Riesgo de las comunidades" in res.output
    # the sample region's exits make corridors, so the risk score has no corridor gap
    text = " ".join(res.output.split())
    assert "Corredores de tráfico:" in text and "faltan datos: corredores" not in text
    assert "atravesado por" in text
    assert "Patrullaje de" in res.output and "Paquete para el campo" in res.output


def test_demo_workspace_holds_cases_plan_and_package(demo_run):
    from vigilancia.io.store import WorkspaceStore

    out, _res = demo_run
    with WorkspaceStore.open(out / "espacio") as store:
        cases = store.cases.list()
        assert cases and all(c.status is CaseStatus.NEW for c in cases)
        (plan,) = store.patrol_plans.list()
        stops = plan.plan["stops"]
        assert stops and plan.plan["total_km"] <= 20.0
        planned = {s["case_id"] for s in stops}
        assert {c.territory_id for c in cases if c.id in planned} == {plan.territory_id}
    with zipfile.ZipFile(out / "paquete_patrulla.zip") as zf:
        names = set(zf.namelist())
    assert {"casos.gpkg", "casos.gpx", "casos.kmz", "casos.csv", "comapeo_alertas.json",
            "mapa.pmtiles", "mapa.pdf"} <= names
    assert (out / "paquete_patrulla.zip").stat().st_size < 15 * 1024 * 1024


def test_demo_is_the_same_on_every_run(demo_run, tmp_path: Path):
    out, first = demo_run
    again = CliRunner().invoke(app, ["demo", "--output", str(out)], catch_exceptions=False)
    assert again.exit_code == 0

    def numbers(text: str) -> list[str]:
        return [line for line in text.splitlines() if "casos" in line or "claros" in line]

    assert numbers(again.output) == numbers(first.output)


def test_demo_marks_its_folder_and_refuses_it_once_it_holds_other_files(demo_run):
    import json

    from vigilancia.services.demo import DEMO_MARKER

    out, _res = demo_run
    marker = json.loads((out / DEMO_MARKER).read_text(encoding="utf-8"))
    assert marker["made_by"] == "vigilancia demo"
    assert "espacio/vigilancia.sqlite" in marker["files"] and "riesgo/riesgo.png" in marker[
        "files"]
    mine = out / "espacio" / "mis_notas.txt"
    mine.write_text("no borrar", encoding="utf-8")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    try:
        res = CliRunner().invoke(app, ["demo", "--output", str(out)],
                                 env={"VIGILANCIA_LANGUAGE": "es", "COLUMNS": "300"})
        assert res.exit_code == 4, res.output
        text = " ".join(res.output.split())
        assert "espacio/mis_notas.txt" in text and "no se borró nada" in text
        assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    finally:
        mine.unlink()
