"""Offline package of a community, built from a workspace made through the real services.

Every exported file is opened with its reference reader (pyogrio, gpxpy, fastkml,
the pmtiles reader with mapbox_vector_tile, csv, json, pdftoppm), a 50-case package
must stay under the messaging-app limit, and nothing sensitive may be in it.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gpxpy
import mapbox_vector_tile
import numpy as np
import pyogrio
import pytest
from fastkml import kml as fastkml
from pmtiles.reader import MemorySource, Reader, all_tiles
from shapely.geometry import LineString, Polygon, box, mapping

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.domain.cases import CaseStatus
from vigilancia.domain.patrols import CareReason, PatrolPlan, PatrolStop, plan_to_json
from vigilancia.errors import ConflictError, InputError, NotFoundError
from vigilancia.i18n import set_language
from vigilancia.io.package.tiles import lonlat_to_world
from vigilancia.reports.package_map import render_package_map
from vigilancia.services.cases import open_cases, update_case
from vigilancia.services.layers import import_layer
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.package import MAX_PACKAGE_BYTES, PackageMap, build_package
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="es", buffer_km=1.0)
ALFA = box(-75.00, -9.60, -74.80, -9.40)  # ~22 km a side
BETA = box(-74.70, -9.60, -74.60, -9.50)  # another community, 10 km east
MONITOR = "Juan Pérez Quispe"
FIELD_NOTE = "huella-de-campo-7f3a"
EXPECTED = {"casos.gpkg", "casos.geojson", "claros.geojson", "plan.geojson", "casos.gpx",
            "casos.kmz", "comapeo_alertas.json", "casos.csv", "visita_verificacion.xlsx",
            "mapa.pmtiles", "mapa.pdf", "LEEME.txt"}


def write_geojson(path: Path, features) -> Path:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


def blob(rng, lon: float, lat: float, radius_deg: float, n: int = 18) -> Polygon:
    """An irregular clearing-like polygon around (lon, lat)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius_deg * rng.uniform(0.6, 1.0, n)
    return Polygon(np.column_stack([lon + r * np.cos(angles), lat + r * np.sin(angles)]))


def write_alerts(path: Path) -> Path:
    """Alert polygons: 60 in Alfa on a ~2.2 km grid (60 separate cases, some with two
    clearings), 5 in Beta."""
    rng = np.random.default_rng(11)
    centres = []
    for i in range(6):
        for j in range(10):
            centres.append((-74.99 + 0.02 * j + rng.uniform(0, 0.004),
                            -9.59 + 0.03 * i + rng.uniform(0, 0.004)))
    centres += [(-74.69 + 0.018 * k, -9.55) for k in range(5)]
    features = []
    start = date(2024, 3, 1)
    for n, (lon, lat) in enumerate(centres):
        parts = [blob(rng, lon, lat, float(rng.uniform(0.0006, 0.0016)))]
        if n % 3 == 0:  # a second clearing 200 m away joins the same case
            parts.append(blob(rng, lon + 0.002, lat, 0.0005))
        for k, g in enumerate(parts):
            day = start + timedelta(days=int(rng.integers(0, 120)))
            features.append((g, {"alert_code": 20_000 + 10 * n + k,
                                 "detected_at": day.isoformat(), "area_ha": None}))
    return write_geojson(path, features)


def make_plan(store, territory_id: int, cases, *, stops: int = 12) -> PatrolPlan:
    """A hand-made plan through the ``stops`` highest-priority cases, two of them with care."""
    chosen = sorted(cases, key=lambda c: -c.priority)[:stops]
    start = (-74.995, -9.405)
    coords = [start]
    plan_stops = []
    km = 0.0
    for order, c in enumerate(chosen, start=1):
        prev = coords[-1]
        coords.append(((prev[0] + c.lon) / 2, prev[1]))  # an elbow, as along a trail
        coords.append((c.lon, c.lat))
        leg = 2.5 + order / 10
        km += leg
        care = (CareReason("airstrip", 850.0, "Pista Secreta"),) if order in (2, 5) else ()
        plan_stops.append(PatrolStop(order=order, case_id=c.id, lon=c.lon, lat=c.lat,
                                     priority=c.priority, leg_km=leg, leg_hours=leg / 2,
                                     cumulative_km=km, leg_modes=("trail", "walk"), care=care))
    coords.append(start)
    plan = PatrolPlan(territory_id=territory_id, territory_name="CN Alfa", start=start,
                      stops=tuple(plan_stops), route=LineString(coords), total_km=km + 5,
                      total_hours=(km + 5) / 2, max_km=60.0,
                      created_at=datetime(2024, 7, 2, tzinfo=UTC), start_name="Puerto Alfa")
    with store.transaction() as conn:
        store.patrol_plans.add(conn, territory_id=territory_id, params={"max_km": 60},
                               plan=plan_to_json(plan), route_wkb=plan.route.wkb)
    return plan


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    store = store_factory.create(tmp_path / "ws", name="Federación")
    communities = write_geojson(tmp_path / "comunidades.geojson", [
        (ALFA, {"nomcom": "CN Alfa", "pueblo": "Kakataibo"}),
        (BETA, {"nomcom": "CN Beta Vecina"}),
    ])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    rivers = write_geojson(tmp_path / "rios.geojson", [
        (LineString([(-75.05, -9.45), (-74.9, -9.48), (-74.55, -9.52)]), {"TIPO": "Río"}),
    ])
    import_layer(store, rivers, "river")
    strips = write_geojson(tmp_path / "pistas.geojson", [
        (LineString([(-74.93, -9.52), (-74.922, -9.52)]), {"id": 1, "yr": 2020}),
    ])
    import_layer(store, strips, "airstrip")
    run_monitor(store, MonitorRequest(str(write_alerts(tmp_path / "alertas.geojson")), "mapbiomas"),
                SETTINGS)
    open_cases(store, SETTINGS, as_of=date(2024, 7, 1))
    territories = {t.name: t.id for t in store.territories.list()}
    alfa_cases = store.cases.list(territory_id=territories["CN Alfa"])
    beta_cases = store.cases.list(territory_id=territories["CN Beta Vecina"])
    assert len(alfa_cases) >= 50 and beta_cases
    # sensitive things that must never travel: a monitor's name, a field observation
    update_case(store, alfa_cases[0].id, actor="coordinación", assignee=MONITOR)
    with store.transaction() as conn:
        store.observations.add(conn, [{
            "key": "k" * 64, "case_id": alfa_cases[0].id, "distance_m": 12.0,
            "source_format": "gpx", "source_file": "track.gpx", "record_id": "track 1",
            "kind": "track", "lon": alfa_cases[0].lon, "lat": alfa_cases[0].lat,
            "notes": FIELD_NOTE, "imported_at": datetime.now(UTC),
        }])
    store.territory_ids = territories  # for the tests
    yield store
    store.close()


def build(store, output: Path, **kw):
    return build_package(store, SETTINGS, territory="CN Alfa", output=output,
                         render_map=render_package_map, **kw)


def all_bytes(folder: Path) -> bytes:
    """Every byte of the package, with compressed contents opened (ZIP, gzip tiles)."""
    chunks = []
    for p in folder.iterdir():
        data = p.read_bytes()
        chunks.append(data)
        if p.suffix in (".kmz", ".xlsx", ".zip"):
            with zipfile.ZipFile(p) as zf:
                chunks.extend(zf.read(n) for n in zf.namelist())
        if p.suffix == ".pmtiles":
            reader = Reader(MemorySource(data))
            chunks.append(json.dumps(reader.metadata(), ensure_ascii=False).encode())
            chunks.extend(gzip.decompress(t) for _, t in all_tiles(reader.get_bytes))
    return b"\n".join(chunks)


def test_package_opens_in_every_reader(workspace, tmp_path: Path):
    set_language("es")
    alfa = workspace.territory_ids["CN Alfa"]
    open_alfa = workspace.cases.list(territory_id=alfa)
    plan = make_plan(workspace, alfa, open_alfa)
    out = tmp_path / "paquete"
    res = build(workspace, out)
    assert {f.name for f in res.files} == EXPECTED == {p.name for p in out.iterdir()}
    assert res.cases == len(open_alfa) >= 50 and res.stops == 12 and res.plan_id
    assert res.total_bytes == sum(p.stat().st_size for p in out.iterdir())
    assert res.total_bytes < MAX_PACKAGE_BYTES and res.fits_messaging and not res.warnings
    codes = {c.code for c in open_alfa}
    first = plan.stops[0]

    # GeoPackage: every layer, in EPSG:4326
    layers = {name for name, _ in pyogrio.list_layers(out / "casos.gpkg")}
    assert layers == {"territorio", "casos", "claros", "plan_ruta", "plan_paradas"}
    casos = pyogrio.read_dataframe(out / "casos.gpkg", layer="casos")
    assert casos.crs.to_epsg() == 4326 and set(casos["codigo"]) == codes
    one = casos.set_index("codigo").loc[first.code]
    assert one["numero"] == 1 and one["orden"] == 1
    assert abs(one.geometry.x - first.lon) < 1e-6
    terr = pyogrio.read_dataframe(out / "casos.gpkg", layer="territorio")
    assert list(terr["nombre"]) == ["CN Alfa"] and terr.geometry.iloc[0].equals_exact(ALFA, 1e-6)
    claros = pyogrio.read_dataframe(out / "casos.gpkg", layer="claros")
    assert set(claros["codigo"]) <= codes and len(claros) >= 50
    assert claros.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    stops = pyogrio.read_dataframe(out / "casos.gpkg", layer="plan_paradas")
    assert list(stops["orden"]) == list(range(13))  # the start, then 12 stops
    assert stops["cuidado"].sum() == 2
    route = pyogrio.read_dataframe(out / "casos.gpkg", layer="plan_ruta")
    assert route.geometry.iloc[0].equals_exact(plan.route, 1e-6)

    # GeoJSON
    gj = pyogrio.read_dataframe(out / "casos.geojson")
    assert set(gj["codigo"]) == codes
    assert len(pyogrio.read_dataframe(out / "claros.geojson")) == len(claros)
    plan_gj = json.loads((out / "plan.geojson").read_text(encoding="utf-8"))
    kinds = [f["geometry"]["type"] for f in plan_gj["features"]]
    assert kinds == ["LineString"] + ["Point"] * 13

    # GPX: a waypoint per case named by its code, the route and its track
    gpx = gpxpy.parse((out / "casos.gpx").read_text(encoding="utf-8"))
    assert {w.name for w in gpx.waypoints} == codes
    care = [w for w in gpx.waypoints if w.symbol == "Flag, Red"]
    assert len(care) == 2 and all("CUIDADO" in w.description for w in care)
    assert all(" ha" in w.description and "prioridad" in w.description for w in gpx.waypoints)
    rte = gpx.routes[0].points
    assert [p.name for p in rte[1:-1]] == [f"C-{s.case_id:04d}" for s in plan.stops]
    assert rte[0].name == rte[-1].name == "Salida"
    assert len(gpx.tracks[0].segments[0].points) == len(plan.route.coords)

    # KMZ: doc.kml first, folders per layer, styled placemarks
    with zipfile.ZipFile(out / "casos.kmz") as zf:
        assert zf.namelist()[0] == "doc.kml"
        doc = fastkml.KML.from_string(zf.read("doc.kml"))
    document = doc.features[0]
    folders = {f.name: f for f in document.features}
    assert set(folders) == {"Territorio", "Casos", "Claros", "Plan de patrulla"}
    marks = folders["Casos"].features
    assert len(marks) == len(codes)
    assert marks[0].name == f"1 · {first.code}"
    assert {str(m.style_url.url) for m in marks} == {"#caso", "#caso_cuidado"}
    assert {s.id for s in document.styles} >= {"territorio", "claro", "caso", "ruta"}

    # CoMapeo alerts: the remoteDetectionAlert schema's fields, nothing else
    alerts = json.loads((out / "comapeo_alertas.json").read_text(encoding="utf-8"))
    assert len(alerts) == len(codes)
    for a in alerts:
        assert set(a) == {"schemaName", "detectionDateStart", "detectionDateEnd", "sourceId",
                          "metadata", "geometry"}
        assert a["schemaName"] == "remoteDetectionAlert"
        assert datetime.fromisoformat(a["detectionDateStart"]) <= datetime.fromisoformat(
            a["detectionDateEnd"])
        assert a["geometry"]["type"] in {"Point", "Polygon", "MultiPolygon"}
        assert set(a["geometry"]) == {"type", "coordinates"}
        assert all(isinstance(v, str | int | float | bool | type(None))
                   for v in a["metadata"].values())
        assert a["metadata"]["alert_type"]
    assert len({a["sourceId"] for a in alerts}) == len(alerts)

    # ODK entity list: name = code, labels in both languages, geometry "lat lon 0 0"
    with (out / "casos.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["name"] for r in rows} == codes
    assert {"label", "label::Español (es)", "label::English (en)"} <= set(rows[0])
    by_name = {r["name"]: r for r in rows}
    r1 = by_name[first.code]
    lat, lon, alt, acc = r1["geometry"].split()
    assert (float(lat), float(lon), alt, acc) == (pytest.approx(first.lat),
                                                  pytest.approx(first.lon), "0", "0")
    assert r1["numero"] == "1"
    assert "ha" in r1["label::English (en)"] and r1["label"] == r1["label::Español (es)"]
    assert (out / "visita_verificacion.xlsx").read_bytes()[:2] == b"PK"

    # PMTiles: header, metadata, and a case found in a decoded tile at zoom 16
    reader = Reader(MemorySource((out / "mapa.pmtiles").read_bytes()))
    header = reader.header()
    assert header["min_zoom"] == 8 and header["max_zoom"] == res.tiles_max_zoom == 16
    meta = reader.metadata()
    assert {v["id"] for v in meta["vector_layers"]} >= {"territorio", "casos", "claros"}
    x, y = lonlat_to_world(first.lon, first.lat)
    tile = reader.get(16, int(x * 2**16), int(y * 2**16))
    decoded = mapbox_vector_tile.decode(gzip.decompress(tile))
    assert first.code in {f["properties"]["codigo"]
                                        for f in decoded["casos"]["features"]}

    # PDF: one page that renders to a non-blank image
    pdf = out / "mapa.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")],
                       check=True)
        pages = sorted(tmp_path.glob("page*.png"))
        assert len(pages) == 1
        from PIL import Image

        img = np.asarray(Image.open(pages[0]).convert("L"))
        assert img.shape[1] > img.shape[0]  # landscape
        assert (img < 128).mean() > 0.01 and img.std() > 10

    text = (out / "LEEME.txt").read_text(encoding="utf-8")
    assert all(name in text for name in EXPECTED) and "CN Alfa" in text


def test_zip_and_nothing_sensitive(workspace, tmp_path: Path):
    alfa = workspace.territory_ids["CN Alfa"]
    make_plan(workspace, alfa, workspace.cases.list(territory_id=alfa))
    target = tmp_path / "envio" / "paquete.zip"
    res = build(workspace, target, paper="letter")
    assert res.zipped and res.total_bytes == target.stat().st_size < MAX_PACKAGE_BYTES
    with zipfile.ZipFile(target) as zf:
        assert set(zf.namelist()) == EXPECTED
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        unpacked = tmp_path / "unpacked"
        zf.extractall(unpacked)
    assert not [p for p in target.parent.iterdir() if p.name != "paquete.zip"]  # no leftovers
    blob = all_bytes(unpacked)
    beta = workspace.territory_ids["CN Beta Vecina"]
    beta_codes = [c.code for c in workspace.cases.list(territory_id=beta)]
    for secret in [MONITOR, "Pérez", FIELD_NOTE, "track.gpx", "CN Beta", "Beta Vecina",
                   "Pista Secreta", "Puerto Alfa", *beta_codes]:
        assert secret.encode("utf-8") not in blob, secret
    # nor Beta's geometry: no coordinate east of Alfa (plus the route) in the GeoJSON
    for name in ("casos.geojson", "claros.geojson"):
        frame = pyogrio.read_dataframe(unpacked / name)
        assert frame.total_bounds[2] <= ALFA.bounds[2] + 0.01


def test_without_plan_and_closed_cases_left_out(workspace, tmp_path: Path):
    alfa = workspace.territory_ids["CN Alfa"]
    cases = workspace.cases.list(territory_id=alfa)
    update_case(workspace, cases[1].id, actor="coordinación", verdict="false_alarm")
    res = build(workspace, tmp_path / "sin_plan")
    assert res.plan_id is None and res.stops == 0 and res.cases == len(cases) - 1
    names = {f.name for f in res.files}
    assert names == EXPECTED - {"plan.geojson"}
    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "sin_plan" / "casos.gpkg")}
    assert layers == {"territorio", "casos", "claros"}
    frame = pyogrio.read_dataframe(tmp_path / "sin_plan" / "casos.geojson")
    assert cases[1].code not in set(frame["codigo"])
    prio = frame.sort_values("numero")["prioridad"].to_numpy()
    assert (np.diff(prio) <= 1e-9).all()  # numbered by priority
    assert frame["orden"].isna().all()
    gpx = gpxpy.parse((tmp_path / "sin_plan" / "casos.gpx").read_text(encoding="utf-8"))
    assert not gpx.routes and not gpx.tracks and len(gpx.waypoints) == res.cases
    assert workspace.cases.get(cases[1].id).status is CaseStatus.VERIFIED


def test_the_printable_map_is_drawn_by_the_renderer_given(workspace, tmp_path: Path):
    """The service gathers a PackageMap and writes what the renderer it is given returns
    (the shells give reports.package_map.render_package_map)."""
    alfa = workspace.territory_ids["CN Alfa"]
    make_plan(workspace, alfa, workspace.cases.list(territory_id=alfa))
    seen: list[PackageMap] = []

    def fake(data: PackageMap) -> bytes:
        seen.append(data)
        return b"%PDF-fake"

    res = build_package(workspace, SETTINGS, territory="CN Alfa", output=tmp_path / "p",
                        render_map=fake, paper="letter")
    assert (tmp_path / "p" / "mapa.pdf").read_bytes() == b"%PDF-fake"
    assert len(seen) == 1 and seen[0].community == "CN Alfa" and seen[0].paper == "letter"
    assert len(seen[0].cases) == res.cases and seen[0].route is not None
    pdf = render_package_map(seen[0])  # the same object, drawn without a store
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000


def test_refuses_bad_requests_and_keeps_what_is_there(workspace, tmp_path: Path):
    with pytest.raises(InputError, match="papel|paper"):
        build(workspace, tmp_path / "a", paper="a3")
    with pytest.raises(NotFoundError):
        build_package(workspace, SETTINGS, territory="CN Inexistente",
                      output=tmp_path / "b", render_map=render_package_map)
    busy = tmp_path / "ocupado"
    busy.mkdir()
    (busy / "mio.txt").write_text("no tocar", encoding="utf-8")
    with pytest.raises(ConflictError):
        build(workspace, busy)
    res = build(workspace, busy, overwrite=True)
    assert (busy / "mio.txt").read_text(encoding="utf-8") == "no tocar"
    assert len(res.files) == len(EXPECTED) - 1
    zipped = tmp_path / "p.zip"
    zipped.write_bytes(b"old")
    with pytest.raises(ConflictError):
        build(workspace, zipped)
    assert zipped.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_prints_files_and_size(workspace, store_factory, tmp_path: Path):
    from typer.testing import CliRunner

    target = tmp_path / "alfa.zip"
    res = CliRunner().invoke(
        app, ["package", str(tmp_path / "ws"), "--territory", "CN Alfa",
              "--output", str(target)],
        env={**store_factory.env(tmp_path / "ws"), "COLUMNS": "200",
             "VIGILANCIA_LANGUAGE": "es"},
    )
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "casos abiertos" in text and "mapa.pmtiles" in text and "LEEME.txt" in text
    assert f"({target.stat().st_size} bytes)" in text
    assert "Sin plan de patrulla" in text
    bad = CliRunner().invoke(
        app, ["package", str(tmp_path / "ws"), "--territory", "CN Alfa",
              "--output", str(target)],
        env=store_factory.env(tmp_path / "ws"),
    )
    assert bad.exit_code == 4 and "ya existe" in bad.output
