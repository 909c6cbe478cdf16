"""Writers of the offline package formats, each read back with its reference reader."""

from __future__ import annotations

import csv
import gzip
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import gpxpy
import mapbox_vector_tile
import pyogrio
import pytest
from fastkml import kml as fastkml
from pmtiles.reader import MemorySource, Reader, all_tiles
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
    shape,
)

from vigilancia.io.package.comapeo import remote_detection_alert, write_comapeo_alerts
from vigilancia.io.package.common import MapFeature
from vigilancia.io.package.gpx import GpxPoint, gpx_document, write_gpx
from vigilancia.io.package.kml import KmlFolder, KmlPlacemark, KmlStyle, kml_colour, write_kmz
from vigilancia.io.package.odk import entity_geometry, write_entity_list
from vigilancia.io.package.tiles import EXTENT, TileLayer, lonlat_to_world, write_pmtiles
from vigilancia.io.package.vectors import write_geojson, write_gpkg

TERRITORY = box(-75.0, -9.5, -74.9, -9.4)
HOLED = Polygon(TERRITORY.exterior.coords, [box(-74.96, -9.46, -74.94, -9.44).exterior.coords])


def test_gpx_waypoints_route_and_track(tmp_path: Path):
    doc = gpx_document(
        name="Casos de CN Alfa", description="3 casos",
        waypoints=[GpxPoint("C-0001", -74.95, -9.45, "coca · 2 ha", "1 · visita 1 de 2",
                            "Flag, Red", "coca"),
                   GpxPoint("C-0002", -74.93, -9.43)],
        route=[GpxPoint("Salida", -74.99, -9.49), GpxPoint("C-0001", -74.95, -9.45),
               GpxPoint("Salida", -74.99, -9.49)],
        route_name="Patrulla",
        track=MultiLineString([[(-74.99, -9.49), (-74.97, -9.47)],
                               [(-74.97, -9.47), (-74.95, -9.45)]]),
        time=datetime(2024, 7, 1, 12, tzinfo=UTC),
    )
    path = write_gpx(tmp_path / "casos.gpx", doc)
    gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
    assert gpx.version == "1.1" and gpx.creator == "vigilancia"
    w = gpx.waypoints[0]
    assert (w.name, w.latitude, w.longitude, w.symbol, w.type) == (
        "C-0001", -9.45, -74.95, "Flag, Red", "coca")
    assert w.description == "coca · 2 ha" and w.comment == "1 · visita 1 de 2"
    assert [p.name for p in gpx.routes[0].points] == ["Salida", "C-0001", "Salida"]
    assert [len(s.points) for s in gpx.tracks[0].segments] == [2, 2]
    # a route of one point is no route
    single = gpx_document(name="x", description="", waypoints=[],
                          route=[GpxPoint("Salida", 0, 0)])
    assert not single.routes and not single.tracks


def test_kmz_opens_in_fastkml_with_styles_folders_and_data(tmp_path: Path):
    styles = [KmlStyle("territorio", line="#1b7837", fill="#a6dba0", icon_scale=0),
              KmlStyle("caso", icon="#2166ac")]
    folders = [
        KmlFolder("Territorio", [KmlPlacemark("CN Alfa", HOLED, "territorio", "límite")]),
        KmlFolder("Casos", [
            KmlPlacemark("1 · C-0001", Point(-74.95, -9.45), "caso", "coca · 2 ha",
                         {"codigo": "C-0001", "area_ha": 2.0, "orden": None}),
            KmlPlacemark("C-0002", MultiPolygon([box(-74.93, -9.43, -74.92, -9.42),
                                                  box(-74.91, -9.41, -74.905, -9.405)]),
                         "caso"),
            KmlPlacemark("ruta", LineString([(-74.99, -9.49), (-74.95, -9.45)]), "caso"),
        ], visible=False),
    ]
    path = write_kmz(tmp_path / "casos.kmz", name="Casos & <prueba>", description="ñandú",
                     styles=styles, folders=folders)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["doc.kml"]
        assert zf.infolist()[0].compress_type == zipfile.ZIP_DEFLATED
        raw = zf.read("doc.kml")
    doc = fastkml.KML.from_string(raw).features[0]
    assert doc.name == "Casos & <prueba>" and doc.description == "ñandú"
    assert {s.id for s in doc.styles} == {"territorio", "caso"}
    terr, cases = doc.features
    poly = shape(terr.features[0].geometry)  # pygeoif -> shapely
    assert len(poly.interiors) == 1 and poly.equals_exact(HOLED, 1e-9)
    first = cases.features[0]
    assert first.name == "1 · C-0001" and str(first.style_url.url) == "#caso"
    assert {d.name: d.value for d in first.extended_data.elements} == {
        "codigo": "C-0001", "area_ha": "2.0"}
    assert shape(cases.features[1].geometry).geom_type == "MultiPolygon"
    assert shape(cases.features[2].geometry).geom_type == "LineString"
    assert b"<visibility>0</visibility>" in raw
    assert kml_colour("#2166ac") == "ffac6621"


def test_comapeo_alerts_follow_the_schema(tmp_path: Path):
    a = remote_detection_alert(
        source_id="vigilancia:C-0001", start=date(2024, 5, 1),
        end=datetime(2024, 5, 3, 10, 30), geometry=HOLED,
        metadata={"alert_type": "coca", "area_ha": 2.5, "p": float("nan"), "ok": True,
                  "tags": ("a", 1, None), "when": date(2024, 5, 1)},
    )
    assert a["detectionDateStart"] == "2024-05-01T00:00:00Z"
    assert a["detectionDateEnd"] == "2024-05-03T10:30:00Z"
    assert a["geometry"]["type"] == "Polygon" and len(a["geometry"]["coordinates"]) == 2
    assert all(len(pos) == 2 for ring in a["geometry"]["coordinates"] for pos in ring)
    assert a["metadata"] == {"alert_type": "coca", "area_ha": 2.5, "p": None, "ok": True,
                             "tags": ["a", 1, None], "when": "2024-05-01"}
    with pytest.raises(ValueError, match="GeometryCollection"):
        remote_detection_alert(source_id="x", start=date(2024, 1, 1), end=date(2024, 1, 1),
                               geometry=GeometryCollection([Point(0, 0)]), metadata={})
    path = write_comapeo_alerts(tmp_path / "alertas.json", [a])
    assert json.loads(path.read_text(encoding="utf-8")) == [a]


def test_odk_entity_list(tmp_path: Path):
    assert entity_geometry(-74.95, -9.45) == "-9.45 -74.95 0 0"
    cols = ("name", "label", "label::English (en)", "geometry", "cuidado")
    path = write_entity_list(tmp_path / "casos.csv", [
        {"name": "C-0001", "label": "1 · C-0001 · coca, 2 ha", "label::English (en)": "coca",
         "geometry": entity_geometry(-74.95, -9.45), "cuidado": None, "extra": "ignored"},
    ], cols)
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    assert rows == [{"name": "C-0001", "label": "1 · C-0001 · coca, 2 ha",
                     "label::English (en)": "coca", "geometry": "-9.45 -74.95 0 0",
                     "cuidado": ""}]
    with pytest.raises(ValueError, match="name and label"):
        write_entity_list(tmp_path / "bad.csv", [], ("codigo",))


def test_gpkg_and_geojson(tmp_path: Path):
    cases = [MapFeature(Point(-74.95, -9.45), {"codigo": "C-0001", "cuidado": True}),
             MapFeature(Point(-74.93, -9.43), {"codigo": "C-0002", "cuidado": False})]
    mixed = [MapFeature(box(-74.96, -9.46, -74.95, -9.45), {"codigo": "C-0001"}),
             MapFeature(MultiPolygon([box(-74.93, -9.43, -74.92, -9.42)]), {"codigo": "C-0002"})]
    path = write_gpkg(tmp_path / "p.gpkg", {"casos": cases, "vacia": [], "claros": mixed})
    assert [n for n, _ in pyogrio.list_layers(path)] == ["casos", "claros"]
    claros = pyogrio.read_dataframe(path, layer="claros")
    assert set(claros.geom_type) == {"MultiPolygon"} and claros.crs.to_epsg() == 4326
    assert list(pyogrio.read_dataframe(path, layer="casos")["cuidado"]) == [True, False]
    gj = write_geojson(tmp_path / "p.geojson", cases + mixed, "mezcla")
    frame = pyogrio.read_dataframe(gj)
    assert list(frame["codigo"]) == ["C-0001", "C-0002", "C-0001", "C-0002"]
    assert json.loads(gj.read_text(encoding="utf-8"))["name"] == "mezcla"


def test_pmtiles_layers_positions_dedupe_and_bounds(tmp_path: Path):
    case = Point(-74.95, -9.45)
    layers = [
        TileLayer("territorio", [MapFeature(TERRITORY, {"nombre": "CN Alfa"})], "límite"),
        TileLayer("claros", [MapFeature(case.buffer(0.002), {"codigo": "C-0001"})]),
        TileLayer("casos", [MapFeature(case, {"codigo": "C-0001", "numero": 1,
                                              "cuidado": True, "orden": None})]),
        TileLayer("vacia", []),
        TileLayer("ruta", [MapFeature(LineString([(-74.99, -9.49), (-74.95, -9.45)]), {})],
                  min_zoom=12),
    ]
    path = tmp_path / "mapa.pmtiles"
    res = write_pmtiles(path, layers, name="Casos", min_zoom=8, max_zoom=15)
    reader = Reader(MemorySource(path.read_bytes()))
    header = reader.header()
    assert (header["min_zoom"], header["max_zoom"]) == (8, 15) == (res.min_zoom, res.max_zoom)
    assert header["tile_type"].name == "MVT" and header["tile_compression"].name == "GZIP"
    assert header["min_lon_e7"] == -750_000_000 and header["max_lat_e7"] == -94_000_000
    assert res.unique_tiles < res.tiles  # the territory's interior tiles are stored once
    meta = reader.metadata()
    fields = {v["id"]: v for v in meta["vector_layers"]}
    assert set(fields) == {"territorio", "claros", "casos", "ruta"}
    assert fields["casos"]["fields"] == {"codigo": "String", "numero": "Number",
                                         "cuidado": "Boolean", "orden": "String"}
    assert fields["ruta"]["minzoom"] == 12
    z = 15
    x, y = lonlat_to_world(case.x, case.y)
    tx, ty = int(x * 2**z), int(y * 2**z)
    tile = mapbox_vector_tile.decode(gzip.decompress(reader.get(z, tx, ty)),
                                     default_options={"y_coord_down": True})
    feat = tile["casos"]["features"][0]
    assert feat["properties"] == {"codigo": "C-0001", "numero": 1, "cuidado": True}
    px, py = feat["geometry"]["coordinates"]
    assert px == pytest.approx((x * 2**z - tx) * EXTENT, abs=1)
    assert py == pytest.approx((y * 2**z - ty) * EXTENT, abs=1)
    assert tile["territorio"]["features"][0]["properties"] == {"nombre": "CN Alfa"}
    zooms = {zxy[0] for zxy, _ in all_tiles(reader.get_bytes)}
    assert zooms == set(range(8, 16))
    low = {k for zxy, data in all_tiles(reader.get_bytes) if zxy[0] == 10
           for k in mapbox_vector_tile.decode(gzip.decompress(data))}
    assert "ruta" not in low  # below its min_zoom


def test_pmtiles_lowers_the_top_zoom_to_bound_the_size(tmp_path: Path):
    big = box(-75.5, -10.0, -74.5, -9.0)  # ~110 km a side
    res = write_pmtiles(tmp_path / "big.pmtiles", [TileLayer("t", [MapFeature(big, {})])],
                        name="x", min_zoom=8, max_zoom=16, max_tiles=1000)
    assert res.max_zoom < 16
    x0, y0 = lonlat_to_world(-75.5, -9.0)
    x1, y1 = lonlat_to_world(-74.5, -10.0)
    n = 2**res.max_zoom
    assert (int(x1 * n) - int(x0 * n) + 1) * (int(y1 * n) - int(y0 * n) + 1) <= 1000
    assert (tmp_path / "big.pmtiles").stat().st_size < 200_000
    with pytest.raises(ValueError):
        write_pmtiles(tmp_path / "empty.pmtiles", [TileLayer("t", [])], name="x")
    assert not (tmp_path / "empty.pmtiles").exists()
