"""Reading vector files: real Peruvian layers and small files made here."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.polygon import orient

from vigilancia.errors import DataFormatError, InputError, UnreadableFileError
from vigilancia.io.vectors import VectorLayer, file_sha256, read_esri_json, read_features

pytestmark = pytest.mark.usefixtures("english")

ARCGIS = Path(__file__).resolve().parents[1] / "data" / "arcgis"

# Small community-like polygon near Puerto Inca (lon, lat).
SQUARE = [(-74.95, -9.45), (-74.90, -9.45), (-74.90, -9.40), (-74.95, -9.40)]


def _closed_count(layer: VectorLayer) -> int:
    return sum(
        int(r.action.rsplit(" ", 1)[-1]) for r in layer.repairs if r.problem == "ring not closed"
    )


def _renested(layer: VectorLayer) -> list[str]:
    return [r.feature for r in layer.repairs if r.problem == "MultiPolygon nested like a Polygon"]


def _assert_valid_polygons(layer: VectorLayer) -> None:
    for geom, _props, label in layer.features:
        assert geom is None or (geom.is_valid and geom.geom_type in ("Polygon", "MultiPolygon")), (
            label
        )


def _geojson(path: Path, features: list[dict], **extra: object) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", **extra, "features": features}))
    return path


def _feature(geometry: dict | None, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


# --------------------------------------------------------------------------- real data


@pytest.mark.parametrize(
    ("name", "count", "closed", "renested", "readme_count"),
    [
        ("broken_rings_acr.geojson", 48, 2, 5, 10_573),
        ("broken_rings_acp.geojson", 231, 8, 3, 1_596),
    ],
)
def test_broken_rings_load_with_repairs(
    shared_data: Path, name: str, count: int, closed: int, renested: int, readme_count: int
) -> None:
    path = shared_data / "territories" / name
    layer = read_features(path)

    assert len(layer) == count
    assert all(g is not None for g, _p, _l in layer.features)
    _assert_valid_polygons(layer)
    assert _closed_count(layer) == closed
    assert len(_renested(layer)) == renested
    # The data README's count ("10,573 of 10,614 rings not closed") counts every
    # position of the MultiPolygons that are nested like Polygons as an open
    # "ring" (that is how GDAL reads them, and why shapely refuses them); the
    # truly open rings are few. Both together give the README's number.
    raw = json.loads(path.read_text())
    positions = sum(
        len(ring)
        for feat in raw["features"]
        if feat["geometry"]["type"] == "MultiPolygon"
        and isinstance(feat["geometry"]["coordinates"][0][0][0], float)
        for ring in feat["geometry"]["coordinates"]
    )
    assert positions + closed == readme_count
    assert layer.sha256 == file_sha256(path)


def test_misnested_multipolygon_becomes_polygon_with_hole(shared_data: Path) -> None:
    layer = read_features(shared_data / "territories" / "broken_rings_acr.geojson")
    geom, props, label = layer.features[9]
    assert label == "feature 10 (id=ACR10)"
    assert props["acr_codi"] == "ACR10"
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 1
    assert label in _renested(layer)


def test_sernanp_protected_areas(shared_data: Path) -> None:
    layer = read_features(shared_data / "territories" / "sernanp_protected_areas.gpkg")
    assert len(layer) == 353
    assert layer.crs.to_epsg() == 4326
    assert layer.layer == "sernanp_all_anp_merged_perugeopkg"
    assert set(layer.columns) == {"source_file", "nombre", "categoria_raw", "prefix", "ubpo"}
    assert layer.geometry_counts() == {"MultiPolygon": 353}
    assert layer.repairs == []
    by_name = {p["nombre"]: (g, p) for g, p, _l in layer.features}
    sira, props = by_name["El Sira"]
    assert props["prefix"] == "rc"
    assert sira.bounds[0] == pytest.approx(-74.82, abs=0.05)
    assert layer.ids[0] == "1"  # the GeoPackage fid


def test_districts_keep_ubigeo_as_text(shared_data: Path) -> None:
    path = shared_data / "admin" / "peru_districts.geojson"
    layer = read_features(path)

    assert len(layer) == 1834
    ubigeos = [p["IDDIST"] for _g, p, _l in layer.features]
    assert all(isinstance(u, str) and len(u) == 6 for u in ubigeos)
    assert "010204" in ubigeos  # leading zero kept
    assert layer.ids == ubigeos
    assert layer.features[0].label == "feature 1 (id=230110)"
    # Quirk of the real file: 8 districts (e.g. AMANTANI, LA PUNTA) have a null geometry.
    nulls = [p["NOMBDIST"] for g, p, _l in layer.features if g is None]
    assert len(nulls) == 8 and "AMANTANI" in nulls
    _assert_valid_polygons(layer)


def test_amw_territories_crs84(shared_data: Path) -> None:
    layer = read_features(shared_data / "territories" / "indigenous_territories_peru_amw.geojson")
    assert len(layer) == 21
    assert layer.crs.is_geographic
    minx, miny, maxx, maxy = shapely.total_bounds([g for g, _p, _l in layer.features])
    assert -82 < minx < maxx < -68 and -19 < miny < maxy < 0  # lon/lat, not swapped
    assert layer.ids[0] == "PE1868_0"
    _assert_valid_polygons(layer)


def test_gpkg_with_several_layers(tmp_path: Path) -> None:
    path = tmp_path / "multi.gpkg"
    gpd.GeoDataFrame({"nombre": ["A"]}, geometry=[Polygon(SQUARE)], crs=4326).to_file(
        path, layer="comunidades"
    )
    gpd.GeoDataFrame({"nombre": ["P"]}, geometry=[Point(-74.9, -9.4)], crs=4326).to_file(
        path, layer="puntos"
    )
    layer = read_features(path)  # only one polygon layer: that one
    assert layer.layer == "comunidades"
    assert read_features(path, layer="puntos").geometry_counts() == {"Point": 1}
    with pytest.raises(InputError) as err:
        read_features(path, layer="rios")
    assert "comunidades" in err.value.message and err.value.source == str(path)

    gpd.GeoDataFrame({"nombre": ["B"]}, geometry=[Polygon(SQUARE)], crs=4326).to_file(
        path, layer="reservas"
    )
    with pytest.raises(InputError) as err:
        read_features(path)
    assert "3 layers" in err.value.message and err.value.hint


# --------------------------------------------------------------------------- shapefiles


def _utm_square() -> Polygon:
    # The same square in UTM 18S (EPSG:32718), metres.
    return gpd.GeoSeries([Polygon(SQUARE)], crs=4326).to_crs(32718).iloc[0]


def test_zipped_shapefile_in_utm_is_reprojected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"nomcom": ["NUEVO PROGRESO"], "pueblo": ["ASHÁNINKA"]}, geometry=[_utm_square()], crs=32718
    )
    gdf.to_file(tmp_path / "cn.shp", encoding="utf-8")
    archive = tmp_path / "comunidades.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            zf.write(tmp_path / f"cn.{ext}", f"descarga/cn.{ext}")

    layer = read_features(archive)
    assert layer.crs.to_epsg() == 32718
    geom, props, label = layer.features[0]
    assert props == {"nomcom": "NUEVO PROGRESO", "pueblo": "ASHÁNINKA"}
    assert label == "feature 1"
    np.testing.assert_allclose(geom.bounds, (-74.95, -9.45, -74.90, -9.40), atol=1e-6)
    assert layer.sha256 == file_sha256(archive)


def test_zip_with_two_shapefiles_needs_a_layer(tmp_path: Path) -> None:
    archive = tmp_path / "capas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for stem, geom in (("cn", Polygon(SQUARE)), ("pts", Point(-74.9, -9.4))):
            gpd.GeoDataFrame({"n": [stem]}, geometry=[geom], crs=4326).to_file(
                tmp_path / f"{stem}.shp"
            )
            for ext in ("shp", "shx", "dbf", "prj"):
                zf.write(tmp_path / f"{stem}.{ext}", f"{stem}.{ext}")
    with pytest.raises(InputError) as err:
        read_features(archive)
    assert "cn" in err.value.message and "pts" in err.value.message
    assert read_features(archive, layer="cn").features[0].properties == {"n": "cn"}


def test_shapefile_with_garbage_prj_is_an_unknown_crs(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"n": [1]}, geometry=[_utm_square()], crs=32718).to_file(tmp_path / "x.shp")
    (tmp_path / "x.prj").write_text("GARBAGE, NOT A CRS")
    with pytest.raises(DataFormatError) as err:
        read_features(tmp_path / "x.shp")
    assert "unknown coordinate reference system" in err.value.message
    assert err.value.source == str(tmp_path / "x.shp") and err.value.hint

    (tmp_path / "x.prj").unlink()
    with pytest.raises(DataFormatError, match="no coordinate reference system"):
        read_features(tmp_path / "x.shp")


def test_shapefile_hash_covers_sidecars(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"n": ["a"]}, geometry=[Polygon(SQUARE)], crs=4326)
    gdf.to_file(tmp_path / "x.shp")
    before = file_sha256(tmp_path / "x.shp")
    gdf.assign(n=["b"]).to_file(tmp_path / "x.shp")  # only the .dbf changes
    assert file_sha256(tmp_path / "x.shp") != before


# --------------------------------------------------------------------------- other formats


def test_flatgeobuf(tmp_path: Path) -> None:
    path = tmp_path / "cn.fgb"
    gpd.GeoDataFrame({"nombre": ["A", "B"]}, geometry=[Polygon(SQUARE)] * 2, crs=4326).to_file(
        path, driver="FlatGeobuf"
    )
    layer = read_features(path)
    assert [p["nombre"] for _g, p, _l in layer.features] == ["A", "B"]


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Patrulla</name>
<Folder><name>Comunidades</name>
 <Placemark><name>Nuevo Progreso</name>
  <ExtendedData><Data name="pueblo"><value>Asháninka</value></Data></ExtendedData>
  <Polygon><outerBoundaryIs><LinearRing><coordinates>
   -74.95,-9.45,120 -74.90,-9.45,118 -74.90,-9.40,121 -74.95,-9.40,119 -74.95,-9.45,120
  </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
</Folder>
<Folder><name>Hitos</name>
 <Placemark><name>Hito 1</name><Point><coordinates>-74.93,-9.42,0</coordinates></Point></Placemark>
</Folder></Document></kml>
"""


def test_kml_reads_every_folder_in_2d(tmp_path: Path) -> None:
    path = tmp_path / "patrulla.kml"
    path.write_text(KML, encoding="utf-8")
    layer = read_features(path)
    assert len(layer) == 2
    (poly, props, _l), (point, point_props, _l2) = layer.features
    assert poly.geom_type == "Polygon" and not poly.has_z
    assert props["Name"] == "Nuevo Progreso" and props["pueblo"] == "Asháninka"
    assert "tessellate" not in props  # LIBKML's empty style fields are dropped
    assert point.geom_type == "Point" and point_props["Name"] == "Hito 1"


def test_gpkg_with_unclosed_ring_goes_through_wkb_fallback(tmp_path: Path) -> None:
    path = tmp_path / "abierto.gpkg"
    ring = [*SQUARE]  # 4 corners, the first not repeated: an open ring
    wkb = struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring))
    wkb += b"".join(struct.pack("<dd", x, y) for x, y in ring)
    pyogrio.raw.write(
        path,
        geometry=np.array([wkb], dtype=object),
        field_data=[np.array(["A"], dtype=object)],
        fields=["nombre"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GPKG",
    )
    layer = read_features(path)
    geom, props, label = layer.features[0]
    assert props == {"nombre": "A"}
    assert geom.is_valid and geom.area == pytest.approx(0.0025)
    assert [(r.feature, r.problem, r.action) for r in layer.repairs] == [
        (label, "ring not closed", "closed rings: 1")
    ]


# --------------------------------------------------------------------------- GeoJSON quirks


def test_geojson_unclosed_degenerate_and_bowtie(tmp_path: Path) -> None:
    open_ring = [list(p) for p in SQUARE]
    bowtie = [[-74.0, -9.0], [-73.9, -8.9], [-73.9, -9.0], [-74.0, -8.9], [-74.0, -9.0]]
    path = _geojson(
        tmp_path / "q.geojson",
        [
            {**_feature({"type": "Polygon", "coordinates": [open_ring]}, n=1), "id": "A1"},
            _feature(
                {"type": "Polygon", "coordinates": [open_ring, [[-74.93, -9.43], [-74.92, -9.43]]]},
                n=2,
            ),
            _feature({"type": "Polygon", "coordinates": [bowtie]}, n=3),
            _feature({"type": "Polygon", "coordinates": [[[-74.0, -9.0], [-73.9, -9.0]]]}, n=4),
            _feature(None, n=5),
        ],
    )
    layer = read_features(path)
    labels = [f.label for f in layer.features]
    assert labels[0] == "feature 1 (id=A1)"
    repairs = {(r.feature, r.problem, r.action) for r in layer.repairs}
    assert ("feature 1 (id=A1)", "ring not closed", "closed rings: 1") in repairs
    assert ("feature 2", "ring with fewer than 3 corners", "removed rings: 1") in repairs
    bow = [r for r in layer.repairs if r.feature == "feature 3"]
    assert bow[0].problem.startswith("self-intersection at -73.95")
    assert bow[0].action == "made valid with shapely.make_valid (2 parts)"
    geoms = [f.geometry for f in layer.features]
    assert geoms[2].geom_type == "MultiPolygon" and geoms[2].area == pytest.approx(0.005)
    assert geoms[3] is None and geoms[4] is None  # a 2-point "polygon", a null geometry
    _assert_valid_polygons(layer)


def test_geojson_crs_member(tmp_path: Path) -> None:
    utm = _utm_square()
    coords = [list(c) for c in utm.exterior.coords]
    named = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32718"}}
    path = _geojson(
        tmp_path / "utm.geojson",
        [_feature({"type": "Polygon", "coordinates": [coords]})],
        crs=named,
    )
    layer = read_features(path)
    np.testing.assert_allclose(
        layer.features[0].geometry.bounds, (-74.95, -9.45, -74.90, -9.40), atol=1e-6
    )
    # GDAL would silently read an unknown crs member as EPSG:4326; we refuse it.
    unknown = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}
    bad = _geojson(
        tmp_path / "bad.geojson", [_feature({"type": "Point", "coordinates": [0, 0]})], crs=unknown
    )
    with pytest.raises(DataFormatError) as err:
        read_features(bad)
    assert "unknown coordinate reference system" in err.value.message
    assert err.value.source == str(bad)


def test_geojson_bad_coordinates_name_the_feature(tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "x.geojson",
        [
            _feature({"type": "Point", "coordinates": [1, 2]}),
            {
                **_feature({"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4]]]}),
                "id": 7,
            },
        ],
    )
    with pytest.raises(DataFormatError) as err:
        read_features(path)
    assert err.value.source == f"{path}, feature 2 (id=7)"


def test_points_only_file_reads_as_points(tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "pts.geojson",
        [
            _feature({"type": "Point", "coordinates": [-74.9 + i / 100, -9.4]}, n=i)
            for i in range(3)
        ],
    )
    layer = read_features(path)
    assert layer.geometry_counts() == {"Point": 3}
    assert layer.repairs == []


# --------------------------------------------------------------------------- Esri JSON


def test_esri_json_file_from_arcgis_query(tmp_path: Path) -> None:
    layer = read_features(ARCGIS / "serfor_cn_page1.json")
    assert len(layer) == 2
    first, second = layer.features
    assert first.properties["nomcom"] == "NUEVO PROGRESO DE YUYAPICHIS"
    assert first.properties["fectit"].isoformat().startswith("1986-05-12T05:00")
    assert layer.ids == ["CN-HU-0101", "CN-HU-0102"]
    # outer ring clockwise + hole counter-clockwise -> one polygon with a hole
    assert second.geometry.geom_type == "Polygon" and len(second.geometry.interiors) == 1
    assert layer.repairs == []


def test_esri_json_in_utm_multipart_and_unoriented(tmp_path: Path) -> None:
    utm = _utm_square()
    cw_ring = [list(c) for c in utm.exterior.coords][::-1]  # shapely writes CCW; Esri wants CW
    shifted = [[x + 10_000, y] for x, y in cw_ring]
    inner = orient(shapely.Polygon(cw_ring).buffer(-1000), sign=1.0)  # counter-clockwise
    hole = [list(c) for c in inner.exterior.coords]
    payload = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 32718, "latestWkid": 32718},
        "features": [
            {"attributes": {"OBJECTID": 1}, "geometry": {"rings": [cw_ring, shifted]}},
            # every ring counter-clockwise (a writer that ignored the convention): nested
            # by containment, so the inner ring is still a hole
            {"attributes": {"OBJECTID": 2}, "geometry": {"rings": [cw_ring[::-1], hole]}},
            {"attributes": {"OBJECTID": 3}, "geometry": {"x": 500000, "y": 8960000}},
        ],
    }
    path = tmp_path / "capa.json"
    path.write_text(json.dumps(payload))
    layer = read_features(path)
    multi, holed, point = (f.geometry for f in layer.features)
    assert multi.geom_type == "MultiPolygon" and len(multi.geoms) == 2
    assert holed.geom_type == "Polygon" and len(holed.interiors) == 1
    assert point.x == pytest.approx(-75.0, abs=1e-6)
    assert -75.0 < multi.bounds[0] < -74.9


def test_read_esri_json_skips_repeated_object_ids() -> None:
    pages = [json.loads((ARCGIS / "serfor_cn_page1.json").read_text())] * 2
    layer = read_esri_json(pages, source="x")
    assert len(layer) == 2


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError) as err:
        read_features(tmp_path / "no_existe.gpkg")
    assert err.value.source == str(tmp_path / "no_existe.gpkg")
    assert err.value.message == "file not found" and err.value.hint


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "vacio.geojson"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFileError) as err:
        read_features(path)
    assert err.value.source == str(path) and "empty" in err.value.message


@pytest.mark.parametrize("name", ["foto.gpkg", "notas.kml", "tabla.shp", "datos.bin"])
def test_not_a_vector_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n not a vector file at all")
    with pytest.raises(UnreadableFileError) as err:
        read_features(path)
    assert err.value.source == str(path) and err.value.hint


def test_truncated_geojson(tmp_path: Path) -> None:
    path = tmp_path / "cortado.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    with pytest.raises(DataFormatError) as err:
        read_features(path)
    assert "not valid JSON" in err.value.message and "line 1" in err.value.message
    assert err.value.source == str(path)


def test_damaged_zip(tmp_path: Path) -> None:
    path = tmp_path / "roto.zip"
    path.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(UnreadableFileError) as err:
        read_features(path)
    assert err.value.source == str(path)


def test_errors_are_spanish_by_default(tmp_path: Path) -> None:
    from vigilancia.i18n import set_language

    set_language("es")
    with pytest.raises(UnreadableFileError) as err:
        read_features(tmp_path / "no_existe.gpkg")
    assert err.value.message == "archivo no encontrado"
