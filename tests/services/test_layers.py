"""Importing context layers into a real workspace store, and the ``vigilancia layers`` commands."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.cli.common import error_text
from vigilancia.domain.context import ContextKind
from vigilancia.errors import InputError, UnreadableFileError
from vigilancia.i18n import get_language, set_language
from vigilancia.io.store import WorkspaceStore
from vigilancia.io.store import schema as s
from vigilancia.services.layers import import_layer, layer_summary

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = get_language()
    set_language("en")
    yield
    set_language(before)


@pytest.fixture
def store(store_factory, tmp_path: Path) -> Iterator[WorkspaceStore]:
    ws = store_factory.create(tmp_path / "ws")
    yield ws
    ws.close()


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (../shared/data is not part of the repo)")
    return path


def feature(geometry: dict | None, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


# Trails, camps and a village of the Pichis valley, drawn by hand as a monitor would.
TRAIL = {
    "type": "LineString",
    "coordinates": [[-74.95, -10.30], [-74.93, -10.31], [-74.91, -10.29]],
}
VILLAGE = {"type": "Point", "coordinates": [-74.94, -10.32]}
CAMP_UNCLOSED = {  # a camp polygon whose ring was not closed (as SERNANP layers come)
    "type": "Polygon",
    "coordinates": [[[-74.90, -10.30], [-74.899, -10.30], [-74.899, -10.299], [-74.90, -10.299]]],
}
CAMPS = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[-74.80, -10.20], [-74.799, -10.20], [-74.799, -10.199], [-74.80, -10.20]]],
        [[[-74.70, -10.20], [-74.699, -10.20], [-74.699, -10.199], [-74.70, -10.20]]],
    ],
}


def stored(store: WorkspaceStore, kind: str | None = None) -> list[tuple]:
    feats = store.context.features(None if kind is None else [kind])
    return list(
        zip(feats.kind.tolist(), feats.name.tolist(), feats.feature_class.tolist(), strict=True)
    )


# ------------------------------------------------------------------- real files


def test_real_layers_import_once(store: WorkspaceStore) -> None:
    rivers = import_layer(
        store, shared("network/rivers_pasco.geojson"), "river", class_field="TIPO"
    )
    assert rivers.imported == 7403 and not rivers.skipped_existing
    assert rivers.geometries == {"line": 7403}
    assert rivers.name_field == "NOMBRE" and rivers.class_field == "TIPO"
    assert rivers.import_id is not None and len(rivers.ids) == 7403

    roads = import_layer(store, shared("network/roads_rural_pasco.geojson"), "road")
    assert roads.imported > 100 and roads.geometries == {"line": roads.imported}
    assert roads.name_field == "COD_DS12"  # the MTC route code, e.g. PA-614
    runways = import_layer(store, shared("airstrips/runways_peru.geojson"), ContextKind.AIRSTRIP)
    assert runways.imported == 100 and runways.geometries == {"line": 100}
    assert runways.name_field is None
    borders = import_layer(store, shared("network/borders_naturalearth.geojson"), "border")
    towns = import_layer(store, shared("network/towns_naturalearth.geojson"), "settlement")
    assert towns.geometries == {"point": towns.imported} and towns.class_field == "featurecla"

    summary = dict(layer_summary(store))
    assert summary == {
        ContextKind.RIVER: 7403,
        ContextKind.ROAD: roads.imported,
        ContextKind.TRAIL: 0,
        ContextKind.SETTLEMENT: towns.imported,
        ContextKind.AIRSTRIP: 100,
        ContextKind.BORDER: borders.imported,
        ContextKind.EXIT: 0,
        ContextKind.CAMP: 0,
    }
    river_rows = stored(store, "river")
    classes = {c for _k, _n, c in river_rows}
    assert {"Río", "Quebrada"} <= classes
    assert ("river", "Rio Mantaro", "Río") in river_rows
    assert "PA-614" in {n for _k, n, _c in stored(store, "road")}
    assert "Pucallpa" in {n for _k, n, _c in stored(store, "settlement")}

    # the same files again: nothing added
    again = import_layer(store, shared("network/rivers_pasco.geojson"), "river", class_field="TIPO")
    assert again.skipped_existing and again.imported == 0
    assert import_layer(
        store, shared("airstrips/runways_peru.geojson"), "airstrip"
    ).skipped_existing
    assert store.context.count_by_kind()["river"] == 7403
    # the same file as another kind is another layer
    assert import_layer(store, shared("airstrips/runways_peru.geojson"), "road").imported == 100


# ------------------------------------------------------------------ hand-built


def test_points_lines_and_polygons_with_repairs(store: WorkspaceStore, tmp_path: Path) -> None:
    path = geojson(
        tmp_path / "campamentos.geojson",
        [
            feature(CAMP_UNCLOSED, nombre="Campamento maderero", tipo="maderero", id="C1"),
            feature(CAMPS, nombre="Pozas", tipo="minero", id="C2"),
            feature(VILLAGE, nombre="Puerto Bermúdez", tipo="poblado", id="C3"),
            feature(TRAIL, nombre="Trocha Pichis", tipo="trocha", id="C4"),
            feature(None, nombre="sin geometría", id="C5"),
        ],
    )
    result = import_layer(store, path, "camp")
    assert result.imported == 4
    assert result.geometries == {"line": 1, "point": 1, "polygon": 2}
    assert result.name_field == "nombre" and result.class_field == "tipo"
    assert [(r.feature, r.problem) for r in result.repairs] == [
        ("feature 1 (id=C1)", "ring not closed")
    ]
    assert result.dropped == ["feature 5 (id=C5): it has no geometry"]

    feats = store.context.features(["camp"])
    assert feats.name.tolist() == [
        "Campamento maderero",
        "Pozas",
        "Puerto Bermúdez",
        "Trocha Pichis",
    ]
    assert feats.feature_class.tolist() == ["maderero", "minero", "poblado", "trocha"]
    assert feats.geometry[0].is_valid and feats.geometry[0].geom_type == "Polygon"
    assert feats.geometry[1].geom_type == "MultiPolygon"
    assert feats.geometry[2].equals(Point(-74.94, -10.32))
    assert shapely.equals_exact(feats.geometry[3], shapely.geometry.shape(TRAIL), 1e-12)
    assert feats.id.tolist() == result.ids

    # the bounding-box filter keeps what meets the box
    near = store.context.features(bounds=(-74.96, -10.33, -74.93, -10.30))
    assert sorted(near.name.tolist()) == ["Puerto Bermúdez", "Trocha Pichis"]
    assert len(store.context.features(["river"])) == 0


@pytest.mark.parametrize("fast", [True, False], ids=["driver-bulk", "sqlalchemy-core"])
def test_attributes_are_kept_as_json(store: WorkspaceStore, tmp_path: Path, fast: bool) -> None:
    store.db.fast_bulk = fast and store.db.fast_bulk  # the slow path is what other drivers take
    path = geojson(
        tmp_path / "pueblos.geojson",
        [
            feature(VILLAGE, NOMBRE_CCPP="Ciudad Constitución", POB=1520, ALT=None),
            feature(VILLAGE, NOMBRE_CCPP="Puerto Inca", POB=float("nan")),
        ],
    )
    import_layer(store, path, "settlement")
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(s.context_features.c.name, s.context_features.c.attributes).order_by(
                s.context_features.c.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Ciudad Constitución", {"NOMBRE_CCPP": "Ciudad Constitución", "POB": 1520, "ALT": None}),
        ("Puerto Inca", {"NOMBRE_CCPP": "Puerto Inca", "POB": None}),
    ]


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"NOMBRE": ["Trocha Alto Pichis", "Varadero"], "CLASE": ["trocha", "varadero"]},
        geometry=[
            LineString([(-74.95, -10.30), (-74.93, -10.31)]),
            LineString([(-74.90, -10.28), (-74.89, -10.27), (-74.88, -10.27)]),
        ],
        crs="EPSG:4326",
    )


def _write(tmp_path: Path, fmt: str) -> Path:
    frame = _frame()
    if fmt == "gpkg":
        path = tmp_path / "trochas.gpkg"
        frame.to_file(path, driver="GPKG", layer="trochas")
    elif fmt == "fgb":
        path = tmp_path / "trochas.fgb"
        frame.to_file(path, driver="FlatGeobuf")
    elif fmt == "kml":
        path = tmp_path / "trochas.kml"
        frame.rename(columns={"NOMBRE": "Name"})[["Name", "geometry"]].to_file(path, driver="KML")
    elif fmt == "shp.zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        # a shapefile in UTM 18S, as a GPS export would be: read back into lon/lat
        frame.to_crs("EPSG:32718").to_file(folder / "trochas.shp", driver="ESRI Shapefile")
        path = tmp_path / "trochas.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in folder.iterdir():
                zf.write(part, part.name)
    else:  # esri json: the answer of an ArcGIS REST query
        path = tmp_path / "trochas.json"
        path.write_text(
            json.dumps(
                {
                    "geometryType": "esriGeometryPolyline",
                    "spatialReference": {"wkid": 4326},
                    "fields": [{"name": "NOMBRE", "type": "esriFieldTypeString"}],
                    "features": [
                        {
                            "attributes": {"NOMBRE": n, "CLASE": c},
                            "geometry": {"paths": [list(map(list, g.coords))]},
                        }
                        for n, c, g in zip(frame.NOMBRE, frame.CLASE, frame.geometry, strict=True)
                    ],
                }
            )
        )
    return path


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "kml", "shp.zip", "esrijson"])
def test_every_vector_format(store: WorkspaceStore, tmp_path: Path, fmt: str) -> None:
    result = import_layer(store, _write(tmp_path, fmt), "trail")
    assert result.imported == 2 and result.geometries == {"line": 2}
    feats = store.context.features(["trail"])
    # FlatGeobuf stores features in the order of its spatial index: compare by name
    by_name = dict(zip(feats.name.tolist(), range(len(feats)), strict=True))
    assert sorted(by_name) == ["Trocha Alto Pichis", "Varadero"]
    if fmt != "kml":  # KML keeps only the name
        classes = {n: feats.feature_class[i] for n, i in by_name.items()}
        assert classes == {"Trocha Alto Pichis": "trocha", "Varadero": "varadero"}
    for name, drawn in zip(_frame().NOMBRE, _frame().geometry, strict=True):
        assert shapely.equals_exact(feats.geometry[by_name[name]], drawn, 1e-7), (fmt, name)


# ------------------------------------------------------------------ bad input


def test_unknown_kind_is_refused(store: WorkspaceStore, tmp_path: Path) -> None:
    path = geojson(tmp_path / "rios.geojson", [feature(TRAIL, nombre="Río")])
    with pytest.raises(InputError) as err:
        import_layer(store, path, "lake")
    assert err.value.message == (
        "unknown layer kind lake; the kinds are: "
        "river, road, trail, settlement, airstrip, border, exit, camp"
    )
    # the hint names no flag; the CLI words the input it points at
    assert err.value.hint == "choose one of the kinds listed" and err.value.inputs == ("kind",)
    assert error_text(err.value).endswith("(choose one of the kinds listed) (--kind)")
    assert store.counts()["context_features"] == 0 and store.counts()["layer_imports"] == 0
    assert import_layer(store, path, " River ").kind is ContextKind.RIVER


def test_empty_files_are_refused(store: WorkspaceStore, tmp_path: Path) -> None:
    nothing = geojson(tmp_path / "nada.geojson", [])
    with pytest.raises(InputError) as err:
        import_layer(store, nothing, "road")
    assert err.value.message == "the file has no features" and err.value.source == str(nothing)

    no_geometry = geojson(tmp_path / "sin.geojson", [feature(None, n=1), feature(None, n=2)])
    with pytest.raises(InputError) as err:
        import_layer(store, no_geometry, "road")
    assert err.value.message == "none of the 2 features of the file has a geometry"
    assert "QGIS" in (err.value.hint or "")

    zero = tmp_path / "cero.gpkg"
    zero.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match="empty"):
        import_layer(store, zero, "road")
    with pytest.raises(UnreadableFileError) as missing:
        import_layer(store, tmp_path / "no.geojson", "road")
    assert missing.value.source == str(tmp_path / "no.geojson")
    assert store.counts()["context_features"] == 0 and store.counts()["layer_imports"] == 0


def test_fields_that_do_not_exist_are_listed(store: WorkspaceStore, tmp_path: Path) -> None:
    path = geojson(tmp_path / "vias.geojson", [feature(TRAIL, COD_RUTA="PA-614", TIPO="vecinal")])
    with pytest.raises(InputError) as err:
        import_layer(store, path, "road", name_field="NOMBRE")
    assert err.value.message == "the file has no field NOMBRE; its fields are: COD_RUTA, TIPO"
    assert err.value.hint == "choose one of the fields listed for the names"
    with pytest.raises(InputError) as err:
        import_layer(store, path, "road", class_field="CLASE")
    assert "COD_RUTA, TIPO" in err.value.message
    assert err.value.hint == "choose one of the fields listed for the classes"
    assert store.counts()["context_features"] == 0

    result = import_layer(store, path, "road", name_field="cod_ruta", class_field="tipo")
    assert (result.name_field, result.class_field) == ("COD_RUTA", "TIPO")
    assert stored(store) == [("road", "PA-614", "vecinal")]


def test_a_failed_write_leaves_nothing(
    store: WorkspaceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = geojson(tmp_path / "pistas.geojson", [feature(TRAIL, id=1)])

    def boom(*args: object, **kwargs: object) -> list[int]:
        raise RuntimeError("disk failure")

    monkeypatch.setattr(store.context, "add", boom)
    with pytest.raises(RuntimeError):
        import_layer(store, path, "airstrip")
    monkeypatch.undo()
    assert store.counts()["layer_imports"] == 0  # the import record was rolled back too
    assert import_layer(store, path, "airstrip").imported == 1


def test_messages_in_spanish(store: WorkspaceStore, tmp_path: Path) -> None:
    path = geojson(tmp_path / "x.geojson", [feature(TRAIL)])
    set_language("es")
    with pytest.raises(InputError) as err:
        import_layer(store, path, "lago")
    assert err.value.message.startswith("tipo de capa desconocido: lago")
    with pytest.raises(InputError) as err:
        import_layer(store, path, "river", name_field="NOMBRE")
    assert err.value.message.startswith("el archivo no tiene el campo NOMBRE")


# ------------------------------------------------------------------------ CLI


def test_cli_import_and_list(store_factory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    store_factory.create(ws).close()
    env = {"VIGILANCIA_DATABASE_URL": store_factory.database_url(ws), "VIGILANCIA_LANGUAGE": "es"}
    path = geojson(
        tmp_path / "rios.geojson",
        [
            feature(TRAIL, NOMBRE="Río Pichis", TIPO="Río"),
            feature(
                box(-74.9, -10.3, -74.89, -10.29).__geo_interface__, NOMBRE="Cocha", TIPO="Lago"
            ),
        ],
    )
    runner = CliRunner()

    res = runner.invoke(
        app,
        ["layers", "import", str(ws), str(path), "--kind", "river", "--class-field", "TIPO"],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert "2 elementos importados como ríos" in res.output
    assert "1 línea, 1 polígono" in res.output and "clases de: TIPO" in res.output

    res = runner.invoke(app, ["layers", "import", str(ws), str(path), "--kind", "river"], env=env)
    assert res.exit_code == 0 and "Ya importado" in res.output

    res = runner.invoke(app, ["layers", "list", str(ws)], env=env)
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "(river)" in line)
    assert "ríos" in row and row.split("│")[-2].strip() == "2"

    res = runner.invoke(app, ["layers", "import", str(ws), str(path), "--kind", "lake"], env=env)
    assert res.exit_code == 2
    assert "tipo de capa desconocido: lake" in res.output

    res = runner.invoke(app, ["layers", "import", "--help"], env=env)
    assert res.exit_code == 0 and "Ejemplo:" in res.output

    with store_factory.open(ws) as reopened:
        assert reopened.context.count_by_kind() == {"river": 2}
