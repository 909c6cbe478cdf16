"""Real data (../shared/data): the Puerto Inca districts and the MapBiomas alerts of Peru.

A workspace with only the districts as territories opens cases, plans a patrol and builds
a package for a district, and ranks the districts' risk into classes that tell them
apart; importing the districts after the alerts gives the same result as importing them
before. (The alerts are those of all Peru; both workspaces watch the same area of
interest, the province and its surroundings, set before anything else: by default the
area follows the territories, and a workspace with none yet takes them whole.)
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.domain.territories import TerritoryKind

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
DATA = REPO.parent / "shared" / "data"
DISTRICTS = DATA / "admin" / "prov_puerto_inca_districts.gpkg"
ALERTS = DATA / "alerts" / "mapbiomas_alerta_peru_2021_2024.parquet"
DISTRICT = "PUERTO INCA"
#: The province of Puerto Inca and some 25 km around it (minlon,minlat,maxlon,maxlat).
AREA = "-76.0,-10.25,-74.25,-8.3"

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def data() -> Path:
    if not (DISTRICTS.is_file() and ALERTS.is_file()):
        pytest.skip(f"real data files under {DATA} are absent (../shared/data is not part of "
                    "the repository)")
    return DATA


def cli(env: dict[str, str], *args: str) -> str:
    res = CliRunner().invoke(app, list(args), env=env | {"VIGILANCIA_LANGUAGE": "es"})
    assert res.exit_code == 0, res.output
    return res.output


def cycle(store_factory, ws: Path, *, districts_first: bool, out: Path) -> dict:
    """The coordinator's commands, districts imported before or after the alerts."""
    store_factory.create(ws).close()
    env = store_factory.env(ws)
    cli(env, "aoi", "set", str(ws), AREA)
    steps = [["monitor", str(ws), "--alerts", str(ALERTS), "--no-classify", "--json"],
             ["territories", "import", str(ws), str(DISTRICTS), "--kind", "district"]]
    for step in (steps[::-1] if districts_first else steps):
        cli(env, *step)
    opened = json.loads(cli(env, "cases", "open", str(ws), "--as-of", "2025-01-01", "--by",
                            "prueba", "--json"))
    plan = json.loads(cli(env, "patrol", "plan", str(ws), "--territory", DISTRICT, "--by",
                          "prueba", "--json"))
    cli(env, "package", str(ws), "--territory", DISTRICT.lower(), "--output", str(out))
    risk = json.loads(cli(env, "risk", "assess", str(ws), "--as-of", "2025-01-01", "--json"))
    st = store_factory.open(ws)
    placed = st.clearings.placements()
    overlaps = st.clearings.overlaps()
    cases = [(c.territory_id, c.clearing_ids, round(c.priority, 9)) for c in st.cases.list()]
    st.close()
    with zipfile.ZipFile(out) as z:
        casos = json.loads(z.read("casos.geojson"))
    return {"placed": placed, "overlaps": overlaps, "opened": opened, "cases": cases,
            "stops": plan["stops"],
            "risk": [(r["name"], r["unit"], round(r["score"], 9), r["risk_class"],
                      r["regional_class"]) for r in risk["ranking"]],
            "package": [f["properties"] for f in casos["features"]]}


def test_puerto_inca_districts_as_units(store_factory, data, tmp_path):
    before = cycle(store_factory, tmp_path / "antes", districts_first=True,
                   out=tmp_path / "antes.zip")
    after = cycle(store_factory, tmp_path / "despues", districts_first=False,
                  out=tmp_path / "despues.zip")

    # cases per district, a patrol and a package for PUERTO INCA
    opened = before["opened"]
    assert len(opened["opened"]) > 100 and opened["units"] == 5
    assert DISTRICT in opened["per_territory"] and len(opened["per_territory"]) == 5
    assert before["stops"] and before["package"]
    # a risk ranking of the five districts whose classes tell them apart
    assert {r[1] for r in before["risk"]} == {"district"} and len(before["risk"]) == 5
    assert len({r[4] for r in before["risk"]}) >= 3, before["risk"]

    # the districts imported after the alerts: the same placement, cases, plan and package
    a, b = before["placed"], after["placed"]
    assert np.array_equal(a.id, b.id)
    assert np.array_equal(a.nearest_territory_id, b.nearest_territory_id)
    assert np.array_equal(a.within_buffer, b.within_buffer)
    assert np.array_equal(a.boundary_distance_m, b.boundary_distance_m, equal_nan=True)
    oa, ob = before["overlaps"], after["overlaps"]
    assert len(oa) == len(ob) > 1000
    for name in ("clearing_id", "territory_id", "share", "area_ha"):
        assert np.array_equal(getattr(oa, name), getattr(ob, name)), name
    assert before["opened"] == after["opened"]
    assert before["cases"] == after["cases"]
    assert before["stops"] == after["stops"]
    assert before["package"] == after["package"]
    assert before["risk"] == after["risk"]


def test_the_kind_is_named_when_a_name_is_refused(store_factory, data, tmp_path):
    """A district name in a workspace that also has its communities is refused, naming
    them; a protected area is refused as such."""
    ws = tmp_path / "ws"
    store_factory.create(ws).close()
    env = store_factory.env(ws)
    cli(env, "territories", "import", str(ws), str(DISTRICTS), "--kind", "district")
    amw = DATA / "territories" / "indigenous_territories_peru_amw.geojson"
    sira = DATA / "territories" / "rc_el_sira.gpkg"
    cli(env, "territories", "import", str(ws), str(amw), "--kind", "community")
    cli(env, "territories", "import", str(ws), str(sira), "--kind", "protected_area")
    st = store_factory.open(ws)
    communities = st.territories.list([TerritoryKind.COMMUNITY])
    districts = st.territories.list([TerritoryKind.DISTRICT])
    protected = st.territories.list([TerritoryKind.PROTECTED_AREA])
    st.close()
    holding = [d for d in districts if any(c.geometry.intersects(d.geometry)
                                           for c in communities)]
    runner = CliRunner()
    es = env | {"VIGILANCIA_LANGUAGE": "es"}
    for d in holding[:1]:
        res = runner.invoke(app, ["patrol", "plan", str(ws), "--territory", d.name], env=es)
        text = " ".join(res.output.split())
        assert res.exit_code != 0 and "es un distrito que contiene territorios comunales" in text
    res = runner.invoke(app, ["package", str(ws), "--territory", protected[0].name, "--output",
                              str(tmp_path / "x.zip")], env=es)
    assert res.exit_code != 0 and "es un área protegida" in " ".join(res.output.split())
