"""Corridors in a workspace: built from the stored layers and clearings, stored all or nothing,
read back for the risk score, exported; and on the real network of Ucayali, Huánuco and Pasco."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString, Point, box

from vigilancia.config import Settings
from vigilancia.domain.clearings import ClearingSet
from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.errors import ConflictError
from vigilancia.i18n import set_language
from vigilancia.io.store import NewBatch, WorkspaceStore
from vigilancia.io.store import schema as s
from vigilancia.services.corridors import (
    DENSITY_FILE,
    GPKG_FILE,
    build_corridors,
    corridor_density,
    corridor_exposure,
    export_corridors,
)
from vigilancia.services.layers import import_layer

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SHARED_DATA = REPO.parent / "shared" / "data"

# Around Puerto Inca: a river flowing east to a border at lon -74.2, a rural road to it,
# a runway, coca clearings, and two communities.
RIVER = [(-75.0, -9.4), (-74.6, -9.4), (-74.0, -9.4)]
BORDER = [(-74.2, -9.0), (-74.2, -9.8)]
ROAD = [(-75.0, -9.5), (-75.0, -9.4)]
RUNWAY = [(-75.06, -9.46), (-75.05, -9.455)]
COCA = [(-74.95, -9.42), (-74.945, -9.425), (-74.94, -9.42)]  # within 1 km of each other
CROSSED = box(-74.65, -9.45, -74.55, -9.35)
FAR = box(-74.65, -10.0, -74.55, -9.95)


def geojson(path: Path, features: list[tuple[object, dict]]) -> Path:
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(g)}
            for g, props in features
        ],
    }))
    return path


def clearings(points: list[tuple[float, float]], first: str) -> ClearingSet:
    n = len(points)
    xy = np.asarray(points, np.float64)
    half = 0.0005
    geoms = shapely.box(xy[:, 0] - half, xy[:, 1] - half, xy[:, 0] + half, xy[:, 1] + half)
    ones = np.ones(n)
    day = np.full(n, np.datetime64(first, "D"))
    counts = np.full(n, 10, np.int64)
    return ClearingSet(
        geometry=np.asarray(geoms, dtype=object), area_ha=ones * 1.2, perimeter_m=ones * 440,
        length_m=ones * 110, width_m=ones * 110, orientation_deg=ones * 0,
        elongation=ones, compactness=ones * 0.78, first_date=day, last_date=day,
        pixels_low=counts, pixels_high=counts, pixels_highest=counts * 0, pixel_count=counts * 2,
        centroid_lon=xy[:, 0], centroid_lat=xy[:, 1],
    )


def add_clearings(store: WorkspaceStore, points, drivers, probs, first="2024-03-01") -> None:
    batch = NewBatch(key=f"test:{first}:{len(points)}", source="test.tif", product="gfw_integrated",
                     since=None, until=None, min_confidence="high", sha256="a" * 64,
                     n_pixels=1, n_clearings=len(points), area_ha=1.0)
    with store.transaction() as conn:
        bid = store.batches.add(conn, batch)
        ids = store.clearings.add(conn, bid, clearings(points, first))
        store.clearings.set_drivers(conn, ids, drivers, np.asarray(probs, np.float64),
                                     [{d: p} for d, p in zip(drivers, probs, strict=True)],
                                     [[{"code": "test", "params": {}}] for _ in drivers],
                                     "rules-test")


@pytest.fixture
def store(store_factory, tmp_path: Path):
    ws = store_factory.create(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def region(store, tmp_path: Path) -> WorkspaceStore:
    """The synthetic region imported through the same service a user's files go through."""
    import_layer(store, geojson(tmp_path / "rios.geojson", [
        (LineString(RIVER), {"NOMBRE": "Rio Pachitea", "TIPO": "Río"}),
        (LineString([(-74.95, -9.6), (-74.95, -9.41)]), {"NOMBRE": "Qda X", "TIPO": "Quebrada"}),
    ]), "river")
    import_layer(store, geojson(tmp_path / "vias.geojson", [
        (LineString(ROAD), {"COD_DS12": "HU-614"}),
    ]), "road")
    import_layer(store, geojson(tmp_path / "frontera.geojson", [
        (LineString(BORDER), {"adm0_left": "Peru", "adm0_right": "Brazil"}),
    ]), "border")
    import_layer(store, geojson(tmp_path / "pistas.geojson", [
        (LineString(RUNWAY), {"id": 135, "yr": 2022, "largo": 700}),
    ]), "airstrip")
    add_clearings(store, COCA, ["coca"] * 3, [0.8, 0.7, 0.9])
    add_clearings(store, [(-74.5, -9.7), (-74.4, -9.3)], ["coca", "agriculture"], [0.3, 0.9],
                  first="2024-04-01")  # not coca-likely enough, and not coca
    with store.transaction() as conn:
        store.territories.add(conn, [
            Territory("CN Cruzada", TerritoryKind.COMMUNITY, CROSSED, "test"),
            Territory("CN Lejana", TerritoryKind.COMMUNITY, FAR, "test"),
        ])
    return store


def test_corridors_are_built_stored_and_read_back(region):
    set_language("en")
    result = build_corridors(region, Settings())
    assert result.no_exits is False and result.unreachable == ()
    assert {o.label.split(":")[0] for o in result.origins} == {"zone", "runway"}
    zone = next(o for o in result.origins if o.kind == "zone")
    assert len(zone.clearings) == 3 and zone.area_ha == pytest.approx(3.6)
    assert sorted(result.missing_layers) == ["exit", "trail"]
    (crossing,) = [e for e in result.exits if e.kind == "border_crossing"]
    assert crossing.name == "border crossing: Rio Pachitea / Peru–Brazil"
    assert (crossing.lon, crossing.lat) == pytest.approx((-74.2, -9.4), abs=1e-3)
    assert crossing.routes == 2

    assert len(result.routes) == 2
    for r in result.routes:
        assert r.exit_name == crossing.name
        assert r.modes[-1] == "river"
        coords = np.asarray(r.geometry.coords)
        assert coords[-1] == pytest.approx((-74.2, -9.4), abs=1e-3)
        assert r.family_km["river"] > 0.6 * r.length_km
        assert r.cost_h > r.family_km["river"] / 15.0
    runway = next(r for r in result.routes if r.origin.startswith("runway:"))
    assert runway.modes[0] == "walk"

    stored = region.corridors.list()
    assert [c.id for c in stored] == [r.id for r in result.routes]
    for c, r in zip(stored, result.routes, strict=True):
        assert (c.origin, c.exit_name, c.modes) == (r.origin, r.exit_name, r.modes)
        assert c.length_km == pytest.approx(r.length_km) and c.cost_h == pytest.approx(r.cost_h)
        assert c.geometry.equals_exact(r.geometry, 1e-9)
        assert c.run_id == result.run_id
    run = region.corridors.latest_run()
    assert run.id == result.run_id and run.as_of is None
    assert run.summary["routes"] == 2 and run.summary["border_crossings"] == 1
    assert run.params["river_kmh"] == 15.0

    by_name = {t.name: t.id for t in result.territories}
    ex = result.exposure
    assert ex.available and ex.run_id == result.run_id
    assert ex[by_name["CN Cruzada"]].distance_km == 0.0
    assert len(ex[by_name["CN Cruzada"]].crossing) == 2
    far = ex[by_name["CN Lejana"]]
    assert far.crossing == () and 50 < far.distance_km < 70  # 0.55 degrees of latitude
    again = corridor_exposure(region)
    assert dict(again) == dict(ex) and again.available


def test_as_of_keeps_earlier_clearings_and_runways_opened_by_then(region):
    result = build_corridors(region, Settings(), as_of=date(2024, 3, 15))
    assert sorted(o.kind for o in result.origins) == ["runway", "zone"]
    result = build_corridors(region, Settings(), as_of=date(2023, 1, 1))
    assert [o.kind for o in result.origins] == ["runway"]  # clearings seen in 2024
    result = build_corridors(region, Settings(), as_of=date(2021, 12, 31))
    assert result.origins == () and result.routes == ()  # the runway opened in 2022
    assert "coca" in result.missing_layers
    ex = corridor_exposure(region, as_of=date(2021, 12, 31))
    assert not ex.available and ex.missing == "no_origins" and len(ex) == 0
    ex = corridor_exposure(region, as_of=date(2023, 1, 1))
    assert ex.available and ex.as_of == date(2023, 1, 1)
    assert corridor_exposure(region, as_of=date(2020, 1, 1)).missing == "no_run"
    assert [r.as_of for r in region.corridors.runs()] == [
        date(2024, 3, 15), date(2023, 1, 1), date(2021, 12, 31)
    ]


def test_without_a_run_or_exits_the_exposure_is_missing_not_zero(store, tmp_path):
    ex = corridor_exposure(store)
    assert not ex.available and ex.missing == "no_run" and dict(ex) == {}
    import_layer(store, geojson(tmp_path / "rios.geojson", [(LineString(RIVER), {})]), "river")
    import_layer(store, geojson(tmp_path / "pistas.geojson", [(LineString(RUNWAY), {})]),
                 "airstrip")
    result = build_corridors(store, Settings())
    assert result.no_exits and result.routes == () and result.unreachable == ("runway:2",)
    assert {"exit", "border", "coca"} <= set(result.missing_layers)
    ex = corridor_exposure(store)
    assert not ex.available and ex.missing == "no_exits"


def test_a_failed_run_stores_nothing(region, monkeypatch):
    real = region.corridors.add_run

    def fail_after_writing(conn, **kw):
        real(conn, **kw)
        raise RuntimeError("disk full")

    monkeypatch.setattr(region.corridors, "add_run", fail_after_writing)
    with pytest.raises(RuntimeError):
        build_corridors(region, Settings())
    assert region.corridors.runs() == [] and region.corridors.list() == []
    with region.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s.corridors)).scalar() == 0


def test_density_on_a_caller_grid_in_degrees_and_metres(region):
    build_corridors(region, Settings())
    # 0.01 degree cells over the region
    transform = (0.01, 0.0, -75.2, 0.0, -0.01, -9.0)
    d = corridor_density(region, transform, (100, 120), "EPSG:4326", bandwidth_km=2.0)
    assert d.shape == (100, 120)
    row = int((-9.4 - -9.0) / -0.01)
    assert d[row, int((-74.4 - -75.2) / 0.01)] == 2  # both routes run down the river here
    assert d[row + 5, int((-74.4 - -75.2) / 0.01)] == 0  # 5.5 km south
    assert d[row, int((-74.1 - -75.2) / 0.01)] == 0  # 10 km beyond the exit
    assert d[row, int((-74.99 - -75.2) / 0.01)] == 1  # upstream of the zone: the runway's only
    utm = corridor_density(region, (1000.0, 0.0, 400_000.0, 0.0, -1000.0, 9_000_000.0),
                           (100, 200), "EPSG:32718", bandwidth_km=2.0)
    assert utm.max() == 2 and utm.sum() > 0
    empty = corridor_density(region, transform, (10, 10), "EPSG:4326", corridors=[])
    assert empty.shape == (10, 10) and not empty.any()


def test_export_writes_a_geopackage_and_a_geotiff(region, tmp_path):
    result = build_corridors(region, Settings())
    written = export_corridors(result, tmp_path / "out", settings=Settings())
    assert written.gpkg == tmp_path / "out" / GPKG_FILE
    layers = {str(name) for name, _g in pyogrio.list_layers(written.gpkg)}
    assert layers == {"rutas", "zonas_produccion", "salidas", "comunidades_corredor"}
    rutas = gpd.read_file(written.gpkg, layer="rutas")
    assert len(rutas) == 2 and rutas.crs.to_epsg() == 4326
    # Spanish column names by default (vigilancia.services.texts.columns)
    assert {"origen", "salida", "modos", "largo_km", "costo_h", "rio_km", "a_pie_km"} <= set(
        rutas.columns
    )
    comunidades = gpd.read_file(written.gpkg, layer="comunidades_corredor")
    assert sorted(comunidades["n_cruzan"]) == [0, 2]
    with rasterio.open(written.density) as ds:
        assert ds.crs is not None and ds.count == 1
        band = ds.read(1)
        assert band.max() == 2 and band.min() == 0
        assert ds.res == (1000.0, 1000.0)
    assert written.density.name == DENSITY_FILE
    with pytest.raises(ConflictError):
        export_corridors(result, tmp_path / "out", settings=Settings())
    export_corridors(result, tmp_path / "out", settings=Settings(), overwrite=True)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


# ----------------------------------------------------------------------- real data


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (../shared/data is not part of the repo)")
    return path


REAL_LAYERS = [
    ("network/rivers_pasco.geojson", "river"),
    ("network/rivers_major_naturalearth.geojson", "river"),
    ("network/roads_departmental_huanuco.geojson", "road"),
    ("network/roads_departmental_ucayali.geojson", "road"),
    ("network/roads_departmental_pasco.geojson", "road"),
    ("network/roads_rural_ucayali.geojson", "road"),
    ("network/roads_rural_pasco.geojson", "road"),
    ("network/borders_naturalearth.geojson", "border"),
    ("airstrips/runways_peru.geojson", "airstrip"),
]
#: Ucayali, Huánuco and Pasco.
CLIP = box(-77.5, -11.5, -70.0, -7.0)
PUERTO_INCA = Point(-74.96, -9.38)


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.sqlite
def test_real_network_takes_a_runway_near_puerto_inca_to_a_border_crossing(tmp_path):
    paths = [(shared(rel), kind) for rel, kind in REAL_LAYERS]
    with WorkspaceStore.create(tmp_path / "ws") as store:
        for path, kind in paths:
            frame = gpd.read_file(path)
            frame = frame[frame.intersects(CLIP)].copy()
            frame["geometry"] = frame.geometry.intersection(CLIP)
            clipped = tmp_path / path.name
            frame[~frame.geometry.is_empty].to_file(clipped, driver="GeoJSON")
            import_layer(store, clipped, kind)
        runways = store.context.features(["airstrip"])
        nearest = int(runways.id[np.argmin([g.distance(PUERTO_INCA) for g in runways.geometry])])
        assert store.context.attributes(["airstrip"])[nearest]["id"] == 135

        result = build_corridors(store, Settings())
        route = next(r for r in result.routes if r.origin == f"runway:{nearest}")
        exits = {e.name: e for e in result.exits}
        assert exits[route.exit_name].kind == "border_crossing"
        fam = route.family_km
        assert fam.get("walk", 0.0) < 0.25 * route.length_km  # not off-network walking
        ground = route.length_km - fam.get("air", 0.0)
        assert fam.get("river", 0.0) + fam.get("road", 0.0) > 0.5 * ground

        # without aircraft the cargo goes all the way by river and road
        by_land = build_corridors(store, Settings(route_air_range_km=0))
        route = next(r for r in by_land.routes if r.origin == f"runway:{nearest}")
        assert {e.name: e for e in by_land.exits}[route.exit_name].kind == "border_crossing"
        fam = route.family_km
        assert "air" not in fam
        assert fam.get("river", 0.0) + fam.get("road", 0.0) > 0.5 * route.length_km
        assert fam.get("walk", 0.0) < 0.25 * route.length_km
        assert route.modes[-1] in ("river", "stream", "road_rural", "road_departmental")
        assert not math.isclose(route.cost_h, 0.0)
