"""Districts as units: a workspace with districts and no community polygons opens cases,
plans patrols and builds packages per district; every refused name says what it is and
what the command takes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from shapely.geometry import mapping
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.domain.cases import CaseOrigin
from vigilancia.domain.territories import TerritoryKind
from vigilancia.errors import InputError, NotFoundError
from vigilancia.i18n import language, set_language
from vigilancia.reports.package_map import render_package_map
from vigilancia.sample import build_sample_region
from vigilancia.services.cases import find_territory, list_cases, open_cases
from vigilancia.services.field import import_field
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.package import build_package
from vigilancia.services.patrol import plan_patrol
from vigilancia.services.territories import import_territories
from vigilancia.services.texts.cases import outside_text
from vigilancia.services.workspace import set_area_of_interest

SETTINGS = Settings(language="en", buffer_km=1.0)


@pytest.fixture(autouse=True)
def _english():
    set_language("en")


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return build_sample_region(tmp_path_factory.mktemp("region") / "datos", size=1200)


def write_layer(path: Path, features: list[tuple[str, shapely.Geometry]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"NOMBDIST": name}, "geometry": mapping(g)}
        for name, g in features]}), encoding="utf-8")
    return path


def halves(region, tmp_path: Path) -> Path:
    """Two districts splitting the sample region north and south."""
    x0, y0, x1, y1 = region.bounds
    mid = (y0 + y1) / 2
    return write_layer(tmp_path / "distritos.geojson", [
        ("DISTRITO NORTE", shapely.box(x0 - 0.01, mid, x1 + 0.01, y1 + 0.01)),
        ("DISTRITO SUR", shapely.box(x0 - 0.01, y0 - 0.01, x1 + 0.01, mid)),
    ])


@pytest.fixture
def districts_only(store_factory, region, tmp_path):
    """Districts and the communal reserve (a protected area); no community polygon."""
    st = store_factory.create(tmp_path / "ws")
    import_territories(st, str(halves(region, tmp_path)), kind="district", settings=SETTINGS)
    import_territories(st, str(region.protected_areas), kind="protected_area",
                       settings=SETTINGS)
    run_monitor(st, MonitorRequest(str(region.alerts_tif), classify=False), SETTINGS)
    yield st
    st.close()


def test_a_districts_only_workspace_opens_cases_per_district(districts_only):
    st = districts_only
    res = open_cases(st, SETTINGS)
    assert res.opened and res.outside == 0 and res.units == 2
    assert set(res.per_territory) == {"DISTRITO NORTE", "DISTRITO SUR"}
    names = {t.id: t.name for t in st.territories.list()}
    assert {names[c.territory_id] for c in st.cases.list()} == {"DISTRITO NORTE",
                                                                   "DISTRITO SUR"}
    listed = list_cases(st, territory="distrito norte")
    assert listed and {row.territory for row in listed} == {"DISTRITO NORTE"}
    # re-running opens nothing new
    again = open_cases(st, SETTINGS)
    assert again.opened == ()


def test_patrol_and_package_for_a_district(districts_only, tmp_path):
    st = districts_only
    open_cases(st, SETTINGS)
    plan = plan_patrol(st, SETTINGS, territory="Distrito Sur", max_km=60, actor="test")
    assert plan.territory_name == "DISTRITO SUR" and plan.stops
    res = build_package(st, SETTINGS, territory="DISTRITO SUR", output=tmp_path / "p.zip",
                        render_map=render_package_map)
    assert res.territory == "DISTRITO SUR" and res.cases > 0 and res.stops == len(plan.stops)


def test_refused_names_say_what_they_are(districts_only):
    st = districts_only
    reserve = next(t for t in st.territories.list() if t.kind is TerritoryKind.PROTECTED_AREA)
    with language("es"), pytest.raises(InputError) as err:
        find_territory(st, reserve.name)
    text = err.value.user_text()
    assert "es un área protegida" in text and "distrito sin territorios comunales" in text
    with language("es"), pytest.raises(NotFoundError) as err:
        find_territory(st, "Distrito Norteño")
    text = err.value.user_text()
    assert "territorio comunal, reserva ni distrito" in text and "DISTRITO NORTE" in text
    assert "No hay ningún territorio comunal… llamado" not in text


def test_the_shell_words_the_refusal(districts_only, store_factory):
    st = districts_only
    reserve = next(t for t in st.territories.list() if t.kind is TerritoryKind.PROTECTED_AREA)
    env = store_factory.env(st.dir) | {"VIGILANCIA_LANGUAGE": "es"}
    res = CliRunner().invoke(app, ["patrol", "plan", str(st.dir), "--territory", reserve.name],
                             env=env)
    assert res.exit_code != 0
    assert "es un área protegida" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["cases", "open", str(st.dir)], env=env)
    assert res.exit_code == 0, res.output
    assert "casos nuevos" in res.output and "DISTRITO SUR" in res.output


def test_communities_come_first_and_districts_only_where_none_lies(store_factory, region,
                                                                   tmp_path):
    """With community polygons, a district that holds one is no unit (its clearings far from
    the communities open no case, and its name is refused naming its communities); a
    district that holds none is a unit."""
    x0, y0, x1, y1 = region.bounds
    layer = write_layer(tmp_path / "distritos.geojson", [
        ("DISTRITO GRANDE", shapely.box(x0 - 0.01, y0 - 0.01, x1 + 0.01, y1 + 0.01)),
        ("DISTRITO LEJANO", shapely.box(x1 + 0.5, y0, x1 + 0.8, y1)),
    ])
    ref = store_factory.create(tmp_path / "ref")
    st = store_factory.create(tmp_path / "ws")
    for one, with_districts in ((ref, False), (st, True)):
        # both watch the tile (by default the districts would widen the area of interest)
        set_area_of_interest(one, SETTINGS, f"{x0 - 0.01},{y0 - 0.01},{x1 + 0.01},{y1 + 0.01}")
        import_territories(one, str(region.territories), kind="community", settings=SETTINGS)
        if with_districts:
            import_territories(one, str(layer), kind="district", settings=SETTINGS)
        run_monitor(one, MonitorRequest(str(region.alerts_tif), classify=False), SETTINGS)
    got, expected = open_cases(st, SETTINGS), open_cases(ref, SETTINGS)
    assert got.per_territory == expected.per_territory and got.outside > 0
    assert got.outside == expected.outside
    assert find_territory(st, "distrito lejano").name == "DISTRITO LEJANO"
    with language("es"), pytest.raises(InputError) as err:
        find_territory(st, "DISTRITO GRANDE")
    text = err.value.user_text()
    assert "es un distrito que contiene territorios comunales" in text
    community = next(t.name for t in st.territories.list([TerritoryKind.COMMUNITY]))
    assert community in text
    with language("es"):
        why = outside_text(units=got.units, uncased=got.uncased, outside=got.outside,
                           buffer_km=SETTINGS.buffer_km, communities=got.communities)
    assert why and "fuera de todo territorio comunal" in why
    for one in (st, ref):
        one.close()


def test_a_field_report_in_a_district_opens_its_case_there(districts_only, tmp_path):
    """A reported waypoint far from every case opens a field case in the district it lies in."""
    from field_samples import write_gpx

    st = districts_only
    open_cases(st, SETTINGS)
    x0, y0, x1, y1 = shapely.total_bounds([t.geometry for t in st.territories.list()])
    lon, lat = x0 + 0.002, y0 + 0.002  # the south-west corner: in DISTRITO SUR
    gpx = write_gpx(tmp_path / "ruta.gpx", waypoints=[])
    text = gpx.read_text(encoding="utf-8").replace(
        "</gpx>", f'<wpt lat="{lat}" lon="{lon}"><time>2024-06-02T15:00:00Z</time>'
        "<name>Campamento</name><desc>campamento de madereros</desc></wpt></gpx>", 1)
    gpx.write_text(text, encoding="utf-8")
    res = import_field(st, SETTINGS, [gpx], actor="test")
    assert len(res.new_cases) == 1
    case = st.cases.get(res.new_cases[0])
    sur = next(t for t in st.territories.list() if t.name == "DISTRITO SUR")
    assert case.origin is CaseOrigin.FIELD and case.territory_id == sur.id
