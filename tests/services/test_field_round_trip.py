"""The field loop end to end: plan -> package -> field data -> import -> verdicts.

A workspace is built through the real services; a patrol is planned with
``plan_patrol``; the offline package is built; the field data are then made
*from the package* the way the phones would: an ODK Central download of the
shipped form whose ``case_id`` answers come from the package's entity list
``casos.csv``, a CoMapeo export with an observation at an alert of
``comapeo_alertas.json``, and a GPX track recorded along the package's route.
Importing them must put each verdict on the right case.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gpxpy
import pytest
from field_samples import (
    comapeo_feature_current,
    comapeo_observation,
    write_central_zip,
    write_comapeo_export,
    write_gpx,
)
from shapely.geometry import LineString, box, mapping, shape

from vigilancia.config import Settings
from vigilancia.domain.cases import CaseStatus
from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict
from vigilancia.reports.package_map import render_package_map
from vigilancia.services.cases import open_cases, parse_case_id
from vigilancia.services.field import import_field
from vigilancia.services.layers import import_layer
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.package import build_package
from vigilancia.services.patrol import plan_patrol
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="es", buffer_km=1.0)
YAMINO = box(-75.05, -9.45, -74.95, -9.35)
VECINA = box(-74.90, -9.45, -74.80, -9.35)


def _geojson(path: Path, features) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}),
        encoding="utf-8")
    return path


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    store = store_factory.create(tmp_path / "ws", name="Federación")
    import_territories(store, str(_geojson(tmp_path / "cc.geojson", [
        (YAMINO, {"nomcom": "CN Yamino"}), (VECINA, {"nomcom": "CN Vecina"})])),
        kind="community", name_field="nomcom")
    import_layer(store, _geojson(tmp_path / "trochas.geojson", [
        (LineString([(-75.04, -9.44), (-75.00, -9.40), (-74.96, -9.37)]), {"name": "trocha"})]),
        "trail")
    # eight square clearings in Yamino ~1.5 km apart, three in the neighbour
    alerts = []
    for k in range(8):
        lon, lat = -75.035 + 0.011 * k, -9.44 + 0.009 * k
        alerts.append((box(lon, lat, lon + 0.0015, lat + 0.0015),
                       {"alert_code": 500 + k, "detected_at": f"2024-0{1 + k % 6}-15"}))
    for k in range(3):
        lon = -74.88 + 0.02 * k
        alerts.append((box(lon, -9.40, lon + 0.002, -9.398),
                       {"alert_code": 600 + k, "detected_at": "2024-06-01"}))
    run_monitor(store, MonitorRequest(str(_geojson(tmp_path / "alertas.geojson", alerts)),
                                      "mapbiomas", classify=False), SETTINGS)
    open_cases(store, SETTINGS, as_of=date(2024, 7, 1))
    yield store
    store.close()


def test_plan_package_field_import_verdicts(workspace, tmp_path: Path):
    store = workspace
    plan = plan_patrol(store, SETTINGS, territory="CN Yamino", max_km=30,
                       start=(-75.045, -9.445), assign="Equipo Yamino", actor="coordinación")
    assert len(plan.stops) >= 3
    package = build_package(store, SETTINGS, territory="CN Yamino",
                            output=tmp_path / "paquete.zip", render_map=render_package_map)
    assert package.zipped and package.fits_messaging
    with zipfile.ZipFile(package.output) as zf:
        entity_rows = list(csv.DictReader(io.StringIO(zf.read("casos.csv").decode("utf-8"))))
        alerts = json.loads(zf.read("comapeo_alertas.json"))
        route_gpx = gpxpy.parse(zf.read("casos.gpx").decode("utf-8"))

    # what the phones got: every planned case, in visiting order, and no neighbour's case
    yamino = {c.id for c in store.cases.list(territory_id=plan.territory_id)}
    packaged = [parse_case_id(r["name"]) for r in entity_rows]
    assert set(packaged) <= yamino and set(plan.case_ids) <= set(packaged)
    first, second, third = plan.stops[:3]
    entity = {parse_case_id(r["name"]): r for r in entity_rows}

    def where(case_id: int) -> tuple[float, float]:
        lat, lon = (float(v) for v in entity[case_id]["geometry"].split()[:2])
        return lon, lat

    # 1. ODK Collect: coca at the first stop, the second one not reached
    lon1, lat1 = where(first.case_id)
    lon2, lat2 = where(second.case_id)
    odk = write_central_zip(tmp_path / "vigilancia_visita_verificacion.zip", [
        {"key": "uuid:7c1e0c50-0001", "case_id": entity[first.case_id]["name"],
         "lat": lat1, "lon": lon1, "verdict": "coca_confirmed", "notes": "plantones de coca"},
        {"key": "uuid:7c1e0c50-0002", "case_id": entity[second.case_id]["name"],
         "lat": lat2 + 0.01, "lon": lon2, "reached": "no", "verdict": "not_reached",
         "notes": "río crecido"},
    ], media={})

    # 2. CoMapeo: an observation on the third alert as CoMapeo drew it, tagged mining
    alert = next(a for a in alerts
                 if a["sourceId"].endswith(entity[third.case_id]["name"]))
    spot = shape(alert["geometry"]).representative_point()
    obs = comapeo_observation("3f9c1d2e4b5a6978", spot.x, spot.y,
                              created="2024-07-03T15:04:05.123Z",
                              tags={"verdict": "mining", "notes": "balsa y motobomba"})
    comapeo = write_comapeo_export(tmp_path / "CoMapeo_export.zip",
                                   [comapeo_feature_current(obs, [])], {})

    # 3. OsmAnd: the track recorded while walking the planned route
    route = [(p.longitude, p.latitude) for r in route_gpx.routes for p in r.points]
    assert len(route) >= 2
    line = LineString(route)
    t0 = datetime(2024, 7, 3, 12, 0, tzinfo=UTC)
    steps = max(2, int(line.length / 0.001))  # a point every ~100 m
    track = [(p.x, p.y, t0 + timedelta(minutes=2 * i))
             for i, p in enumerate(line.interpolate(k / steps, normalized=True)
                                   for k in range(steps + 1))]
    gpx = write_gpx(tmp_path / "recorrido.gpx", waypoints=(), track=track)

    result = import_field(store, SETTINGS, [odk, comapeo, gpx], actor="coordinación")
    assert result.failures == ()

    c1, c2, c3 = (store.cases.get(s.case_id) for s in (first, second, third))
    assert (c1.status, c1.verdict) == (CaseStatus.VERIFIED, Verdict.COCA_CONFIRMED)
    assert c2.status is CaseStatus.ASSIGNED and c2.verdict is None  # back for the next patrol
    assert (c3.status, c3.verdict) == (CaseStatus.VERIFIED, Verdict.MINING)
    # verdicts became labels of exactly those clearings
    labels = {lab.clearing_id: lab.driver for lab in store.labels.list()}
    assert labels == {**dict.fromkeys(c1.clearing_ids, Driver.COCA),
                      **dict.fromkeys(c3.clearing_ids, Driver.MINING)}
    # the CoMapeo point attached by position, inside the clearing: distance 0
    (observation,) = [o for o in store.observations.list(c3.id) if o.source_format == "comapeo"]
    assert observation.distance_m == pytest.approx(0.0, abs=1.0)
    assert c3.geometry is not None and c3.geometry.contains(spot)
    # the track is kept as evidence and passed every planned case still open
    passed = {code for t in result.tracks for code in t.cases}
    assert {s.code for s in plan.stops} - {c1.code, c3.code} <= passed
    history = [e.action for e in store.cases.events(c1.id)]
    assert history[:2] == ["opened", "assigned"]
    assert {"observation", "verdict"} <= set(history[2:])

    # re-importing the same files changes nothing
    again = import_field(store, SETTINGS, [odk, comapeo, gpx], actor="coordinación")
    assert again.observations_added == 0 and again.verdicts_applied == 0
    assert {lab.clearing_id: lab.driver for lab in store.labels.list()} == labels
