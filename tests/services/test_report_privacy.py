"""The position of a field report never leaves the workspace.

A monitor's GPX waypoint far from every case ("campamento de madereros, nos
amenazaron") opens a case. Its exact point, its note and its date must be found in no
byte of any file of the patrol package (every encoding we can think of: decimal text at
several precisions, float32 and float64 bytes, integer e7, tile coordinates, inside
ZIPs, gzip tiles and PDF streams), nor in the clearings export and the risk outputs. The
case is shown at the centre of its cell of the report grid, the same every time.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import struct
import zipfile
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import gpxpy.gpx
import mapbox_vector_tile
import numpy as np
import pyogrio
import pytest
from pmtiles.reader import MemorySource, Reader, all_tiles
from shapely.geometry import LineString, box, mapping

from vigilancia.config import Settings
from vigilancia.domain.cases import CaseOrigin, snap_to_grid
from vigilancia.domain.patrols import PatrolPlan, PatrolStop, plan_to_json
from vigilancia.i18n import set_language
from vigilancia.reports.package_map import render_package_map
from vigilancia.reports.risk_map import render_risk_map
from vigilancia.services.cases import open_cases
from vigilancia.services.export import export_clearings
from vigilancia.services.field import import_field
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.package import PackageMap, build_package
from vigilancia.services.patrol import plan_patrol
from vigilancia.services.risk import assess_risk
from vigilancia.services.risk_export import export_risk
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="es", buffer_km=1.0)
ALFA = box(-75.00, -9.50, -74.90, -9.40)
CLEARINGS = [box(-74.990, -9.490, -74.988, -9.488), box(-74.980, -9.460, -74.978, -9.458),
             box(-74.960, -9.480, -74.958, -9.478)]
#: Where the monitor stood: far (4+ km) from every alert, ~300 m from its cell's centre.
LON, LAT = -74.9173826, -9.4261537
NOTE = "campamento de madereros, nos amenazaron"
WHEN = datetime(2024, 5, 17, 15, 4, 0, tzinfo=UTC)


def write_geojson(path: Path, features) -> Path:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


def write_report(path: Path) -> Path:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "OsmAnd"
    gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(
        latitude=LAT, longitude=LON, elevation=212.0, name="campamento", description=NOTE,
        time=WHEN))
    path.write_text(gpx.to_xml(), encoding="utf-8")
    return path


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    store = store_factory.create(tmp_path / "ws", name="Federación")
    communities = write_geojson(tmp_path / "comunidades.geojson",
                                [(ALFA, {"nomcom": "CN Alfa"})])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    alerts = write_geojson(tmp_path / "alertas.geojson", [
        (g, {"alert_code": f"A{i}", "detected_at": f"2024-0{i + 3}-10", "area_ha": 4.0})
        for i, g in enumerate(CLEARINGS)])
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    open_cases(store, SETTINGS, as_of=date(2024, 6, 1))
    res = import_field(store, SETTINGS, [write_report(tmp_path / "reporte.gpx")], actor="ana")
    assert len(res.new_cases) == 1
    store.report_case = store.cases.get(res.new_cases[0])
    assert store.report_case.origin is CaseOrigin.FIELD
    assert (store.report_case.lon, store.report_case.lat) == (LON, LAT)  # kept exact inside
    yield store
    store.close()


# --------------------------------------------------------------------------------------
# What to look for
# --------------------------------------------------------------------------------------


def _float32s(value: float) -> list[float]:
    """The float32 nearest ``value`` and its neighbours (an R-tree keeps rounded bounds)."""
    f = np.float32(value)
    return [float(np.nextafter(f, np.float32(-np.inf))), float(f),
            float(np.nextafter(f, np.float32(np.inf)))]


def point_needles(lon: float, lat: float, centre: tuple[float, float]) -> list[bytes]:
    """The exact point in every encoding a file could hold it in."""
    needles: set[bytes] = set()
    for value, shown in ((lon, centre[0]), (lat, centre[1])):
        for digits in range(3, 13):
            for text in (f"{value:.{digits}f}", str(round(value, digits))):
                if round(value, digits) == round(shown, digits):
                    continue  # the cell centre itself is written this way
                needles.add(text.encode())
                needles.add(text.replace(".", ",").encode())  # Spanish decimal comma
                sign, _, frac = text.partition(".")
                needles.add(f"{sign}.{frac[:digits]}".encode())  # truncated
        needles.add(repr(value).encode())
        for fmt in ("<d", ">d"):
            needles.add(struct.pack(fmt, value))
        for f32 in _float32s(value):
            for fmt in ("<f", ">f"):
                needles.add(struct.pack(fmt, f32))
        for fmt in ("<i", ">i"):
            needles.add(struct.pack(fmt, int(value * 1e7)))
            needles.add(struct.pack(fmt, round(value * 1e7)))
        needles.add(str(int(value * 1e7)).encode())
    # every needle must be long enough to mean something
    return sorted(n for n in needles if len(n) >= 4)


def date_needles(today: date) -> list[bytes]:
    d = WHEN.date()
    texts = [d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%d-%m-%Y"),
             d.strftime("%Y%m%d"), d.strftime("%Y/%m/%d"), "17 de mayo", "17 may",
             "May 17", str(int(WHEN.timestamp())), WHEN.isoformat(), "15:04"]
    age = (today - d).days
    for n in (age - 1, age, age + 1):
        texts += [f"{n} días", f"{n} days", f"hace {n}"]
    return [t.encode() for t in texts]


NOTE_NEEDLES = [NOTE.encode(), b"madereros", b"amenazaron", NOTE.encode("utf-16-le"),
                "madereros".encode("utf-16-be")]


def opened(data: bytes, name: str) -> list[bytes]:
    """``data`` and everything packed inside it: ZIP members, gzip tiles, PDF streams."""
    chunks = [data]
    if data[:2] == b"PK":
        with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
            for member in zf.namelist():
                chunks += opened(zf.read(member), member)
    elif data[:2] == b"\x1f\x8b":
        chunks += opened(gzip.decompress(data), name)
    elif name.endswith(".pmtiles"):
        reader = Reader(MemorySource(data))
        chunks.append(json.dumps(reader.metadata(), ensure_ascii=False).encode())
        for _zxy, tile in all_tiles(reader.get_bytes):
            chunks += opened(tile, "tile.mvt")
    elif data[:5] == b"%PDF-":
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
            with contextlib.suppress(zlib.error):
                chunks.append(zlib.decompress(stream))
    return chunks


def all_chunks(folder: Path) -> dict[str, list[bytes]]:
    return {str(p.relative_to(folder)): opened(p.read_bytes(), p.name)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_nothing_of_the_report(folder: Path) -> None:
    centre = snap_to_grid(LON, LAT, SETTINGS.report_cell_deg)
    needles = point_needles(LON, LAT, centre) + date_needles(date.today()) + NOTE_NEEDLES
    found = []
    for name, chunks in all_chunks(folder).items():
        for chunk in chunks:
            found += [(name, n) for n in needles if n in chunk]
    assert not found, found[:10]


def tile_points_near_report(folder: Path, metres: float = 50.0) -> list[tuple[int, float]]:
    """(zoom, distance m) of every decoded vertex of the PMTiles within ``metres`` of the
    reported point: tile-encoded coordinates are integers, so they are decoded."""
    near = []
    for path in folder.rglob("*.pmtiles"):
        reader = Reader(MemorySource(path.read_bytes()))
        for (z, x, y), tile in all_tiles(reader.get_bytes):
            decoded = mapbox_vector_tile.decode(gzip.decompress(tile),
                                                default_options={"y_coord_down": True})
            for layer in decoded.values():
                extent = layer.get("extent", 4096)
                for feature in layer["features"]:
                    coords = np.asarray(_coords(feature["geometry"]["coordinates"]), float)
                    n = 2 ** z
                    wx = (x + coords[:, 0] / extent) / n
                    wy = (y + coords[:, 1] / extent) / n
                    lon = wx * 360.0 - 180.0
                    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * wy))))
                    d = np.hypot((lon - LON) * 109_800, (lat - LAT) * 110_600)
                    near += [(z, float(v)) for v in d[d < metres]]
    return near


def _coords(value) -> list:
    if isinstance(value, list | tuple) and value and isinstance(value[0], int | float):
        return [value[:2]]
    out = []
    for v in value:
        out += _coords(v)
    return out


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_the_report_grid_is_fixed_and_the_exact_point_stays_inside(workspace):
    centre = snap_to_grid(LON, LAT, 0.01)
    assert centre == (-74.915, -9.425)
    assert snap_to_grid(LON + 0.002, LAT - 0.003, 0.01) == centre  # same cell, same answer
    assert snap_to_grid(*centre, 0.01) == centre
    assert all(len(n) >= 4 for n in point_needles(LON, LAT, centre))


def test_package_of_a_planned_patrol_carries_no_trace_of_the_report(workspace, tmp_path):
    set_language("es")
    case = workspace.report_case
    plan = plan_patrol(workspace, SETTINGS, territory="CN Alfa", max_km=80.0, actor="coord")
    stop = next(s for s in plan.stops if s.case_id == case.id)  # the report is visited...
    assert (stop.lon, stop.lat) == snap_to_grid(LON, LAT, 0.01)  # ...at its cell's centre
    seen: list[PackageMap] = []

    def renderer(data: PackageMap) -> bytes:
        seen.append(data)
        return render_package_map(data)

    folder = tmp_path / "paquete"
    build_package(workspace, SETTINGS, territory="CN Alfa", output=folder, render_map=renderer)
    zipped = tmp_path / "envio" / "paquete.zip"
    build_package(workspace, SETTINGS, territory="CN Alfa", output=zipped, render_map=renderer)
    assert len(list(folder.iterdir())) == 12
    assert_nothing_of_the_report(folder)
    assert_nothing_of_the_report(zipped.parent)
    assert not tile_points_near_report(folder)
    # the printable map is drawn from the cell, with no date and no note
    (shown,) = [pc for pc in seen[0].cases if pc.code == case.code]
    assert (shown.case.lon, shown.case.lat) == (-74.915, -9.425)
    assert shown.case.geometry is None and shown.case.first_alert is None
    coords = np.asarray(seen[0].route.coords)
    assert np.hypot(coords[:, 0] - LON, coords[:, 1] - LAT).min() > 0.001
    # every format shows the case at the cell's centre
    frame = pyogrio.read_dataframe(folder / "casos.gpkg", layer="casos").set_index("codigo")
    point = frame.loc[case.code].geometry
    assert (round(point.x, 6), round(point.y, 6)) == (-74.915, -9.425)
    assert frame.loc[case.code, ["primera_alerta", "ultima_alerta"]].isna().all()
    assert "reporte de campo" in frame.loc[case.code, "resumen"]
    gpx = gpxpy.parse((folder / "casos.gpx").read_text(encoding="utf-8"))
    (wpt,) = [w for w in gpx.waypoints if w.name == case.code]
    assert (wpt.longitude, wpt.latitude) == (-74.915, -9.425)
    alerts = json.loads((folder / "comapeo_alertas.json").read_text(encoding="utf-8"))
    (alert,) = [a for a in alerts if a["sourceId"].endswith(case.code)]
    assert alert["geometry"] == {"type": "Point", "coordinates": [-74.915, -9.425]}


def test_a_plan_made_before_the_grid_is_cleaned_in_the_package(workspace, tmp_path):
    """A stored plan whose stop and route hold the exact point (as plans made by earlier
    versions did): the package moves both to the cell's centre."""
    case = workspace.report_case
    start = (-74.99, -9.41)
    route = LineString([start, (-74.95, -9.42), (LON, LAT), (-74.93, -9.44), start])
    plan = PatrolPlan(
        territory_id=case.territory_id, territory_name="CN Alfa", start=start,
        stops=(PatrolStop(order=1, case_id=case.id, lon=LON, lat=LAT, priority=case.priority,
                          leg_km=9.0, leg_hours=3.0, cumulative_km=9.0,
                          leg_modes=("walk",)),),
        route=route, total_km=18.0, total_hours=6.0, max_km=30.0,
        created_at=datetime(2024, 6, 2, tzinfo=UTC))
    with workspace.transaction() as conn:
        workspace.patrol_plans.add(conn, territory_id=case.territory_id, params={},
                                   plan=plan_to_json(plan), route_wkb=route.wkb)
    folder = tmp_path / "paquete"
    build_package(workspace, SETTINGS, territory="CN Alfa", output=folder,
                  render_map=render_package_map)
    assert_nothing_of_the_report(folder)
    assert not tile_points_near_report(folder)
    ruta = pyogrio.read_dataframe(folder / "casos.gpkg", layer="plan_ruta").geometry.iloc[0]
    assert (-74.915, -9.425) in [tuple(round(v, 6) for v in c) for c in ruta.coords]


def test_care_reasons_of_a_report_name_no_distance(workspace):
    from vigilancia.domain.patrols import CareReason
    from vigilancia.services.package import care_text

    set_language("es")
    reasons = (CareReason("airstrip", 850.0, "Pista X"), CareReason("camp", 120.0))
    assert "850" in care_text(reasons)
    text = care_text(reasons, distances=False)
    assert "850" not in text and "120" not in text and "Pista X" not in text
    assert "pista" in text.lower() and "campamento" in text.lower()


def test_exports_and_risk_outputs_carry_no_report(workspace, tmp_path):
    out = tmp_path / "salidas"
    export_clearings(workspace, out / "claros.gpkg", "gpkg")
    export_clearings(workspace, out / "claros.geojson", "geojson")
    export_clearings(workspace, out / "claros.csv", "csv")
    risk = assess_risk(workspace, SETTINGS)
    export_risk(risk, workspace, out / "riesgo", render_map=render_risk_map)
    assert len(list(out.rglob("*.*"))) >= 7
    assert_nothing_of_the_report(out)


def test_the_cell_size_is_a_setting(workspace, tmp_path):
    coarse = Settings(language="es", buffer_km=1.0, report_cell_deg=0.05)
    folder = tmp_path / "paquete"
    build_package(workspace, coarse, territory="CN Alfa", output=folder,
                  render_map=render_package_map)
    frame = pyogrio.read_dataframe(folder / "casos.geojson").set_index("codigo")
    point = frame.loc[workspace.report_case.code].geometry
    assert (round(point.x, 6), round(point.y, 6)) == snap_to_grid(LON, LAT, 0.05) == (
        -74.925, -9.425)
