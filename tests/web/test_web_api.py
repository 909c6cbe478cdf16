"""The API on the demo workspace: clearings by box, filters and pages; vector tiles; cases;
patrol plans and packages; field uploads; what each role sees; risk, corridors, basemap."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pytest
from field_samples import write_gpx
from web_helpers import login

from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.domain.tiling import world_xy
from vigilancia.services.workspace import open_workspace
from vigilancia.web import create_app


@pytest.fixture(scope="module")
def facts(web_ws: Path):
    """What the store says, to check the API against."""
    with open_workspace(web_ws, Settings()) as store:
        pos = store.clearings.positions()
        cols = store.clearings.columns()
        (plan,) = store.patrol_plans.list()
        cases = store.cases.list()
    return {"pos": pos, "cols": cols, "plan": plan, "cases": cases}


def all_pages(client, url: str, limit: int) -> list[int]:
    ids: list[int] = []
    after = None
    while True:
        sep = "&" if "?" in url else "?"
        r = client.get(f"{url}{sep}limit={limit}" + (f"&after={after}" if after else ""))
        assert r.status_code == 200, r.text
        body = r.json()
        assert r.headers["content-type"].startswith("application/geo+json")
        assert body["type"] == "FeatureCollection" and len(body["features"]) <= limit
        ids += [f["id"] for f in body["features"]]
        after = body["next_after"]
        if after is None:
            return ids


def test_clearings_come_in_stable_pages_and_by_bounding_box(sessions, facts):
    viewer = sessions[Role.VIEWER].client
    every = all_pages(viewer, "/api/clearings", 500)
    assert every == sorted(facts["pos"].id.tolist())
    b = facts["pos"].bounds
    lo = np.percentile(facts["pos"].lon, [30, 60])
    la = np.percentile(facts["pos"].lat, [20, 70])
    box = (float(lo[0]), float(la[0]), float(lo[1]), float(la[1]))
    expected = facts["pos"].id[(b[:, 0] <= box[2]) & (b[:, 2] >= box[0])
                               & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1])].tolist()
    assert 20 < len(expected) < len(every)
    got = all_pages(viewer, "/api/clearings?bbox=" + ",".join(map(str, box)), 37)
    assert got == sorted(expected)


def test_clearings_filters(sessions, facts):
    viewer = sessions[Role.VIEWER].client
    cols = facts["cols"]
    coca = sorted(cols.id[cols.driver == "coca"].tolist())
    assert coca
    assert all_pages(viewer, "/api/clearings?driver=coca", 1000) == coca
    r = viewer.get("/api/clearings?driver=coca&limit=3").json()
    assert {f["properties"]["driver"] for f in r["features"]} == {"coca"}
    assert r["features"][0]["properties"]["driver_name"] == "cultivo de coca"
    since = "2024-06-01"
    recent = sorted(cols.id[cols.last_date >= np.datetime64(since)].tolist())
    assert all_pages(viewer, f"/api/clearings?since={since}", 1000) == recent
    in_cases = {c for case in facts["cases"] for c in case.clearing_ids}
    uncased = all_pages(viewer, "/api/clearings?status=none", 1000)
    assert uncased and not (set(uncased) & in_cases)
    new = all_pages(viewer, "/api/clearings?status=new", 1000)
    assert set(new) <= in_cases and new
    tid = facts["plan"].territory_id
    inside = all_pages(viewer, f"/api/clearings?territory={tid}", 1000)
    assert inside and set(inside) < set(cols.id.tolist())
    high = all_pages(viewer, "/api/clearings?confidence=high", 1000)
    assert set(high) <= set(cols.id.tolist())
    r = viewer.get("/api/clearings?driver=helicoptero")
    assert r.status_code == 400 and r.json()["error"]["inputs"] == ["driver"]
    r = viewer.get("/api/clearings?since=2024-02-01&until=2024-01-01")
    assert r.status_code == 400


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    x, y = world_xy(np.array([lon]), np.array([lat]))
    n = 1 << z
    return int(x[0] * n), int(y[0] * n)


def test_vector_tiles_thin_points_and_cut_polygons(sessions, facts):
    viewer = sessions[Role.VIEWER].client
    lon, lat = float(np.median(facts["pos"].lon)), float(np.median(facts["pos"].lat))
    x, y = _tile_of(lon, lat, 6)
    r = viewer.get(f"/api/tiles/clearings/6/{x}/{y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.content)["clearings"]
    feats = layer["features"]
    assert 0 < len(feats) <= 1365 and len(feats) < len(facts["pos"])
    assert all(f["geometry"]["type"] == "Point" for f in feats)
    props = feats[0]["properties"]
    assert {"confidence", "area_ha", "first_date"} <= set(props) and feats[0]["id"] >= 1
    # the largest clearing is drawn at every zoom
    big = int(facts["cols"].id[np.argmax(facts["cols"].area_ha)])
    bx, by = _tile_of(float(facts["cols"].centroid_lon[np.argmax(facts["cols"].area_ha)]),
                      float(facts["cols"].centroid_lat[np.argmax(facts["cols"].area_ha)]), 3)
    zero = mapbox_vector_tile.decode(viewer.get(f"/api/tiles/clearings/3/{bx}/{by}.mvt").content)
    assert big in {f["id"] for f in zero["clearings"]["features"]}
    # from zoom 13 on, polygons
    cx, cy = _tile_of(float(facts["cols"].centroid_lon[0]), float(facts["cols"].centroid_lat[0]),
                      14)
    polys = mapbox_vector_tile.decode(
        viewer.get(f"/api/tiles/clearings/14/{cx}/{cy}.mvt").content)["clearings"]["features"]
    assert int(facts["cols"].id[0]) in {f["id"] for f in polys}
    assert {f["geometry"]["type"] for f in polys} <= {"Polygon", "MultiPolygon"}
    # a filter, an empty tile, a tile that does not exist
    only = mapbox_vector_tile.decode(
        viewer.get(f"/api/tiles/clearings/6/{x}/{y}.mvt?driver=coca").content)
    assert {f["properties"]["driver"] for f in only["clearings"]["features"]} == {"coca"}
    assert viewer.get("/api/tiles/clearings/6/0/0.mvt").status_code == 204
    assert viewer.get("/api/tiles/clearings/3/9/0.mvt").status_code == 400


def test_one_clearing_with_its_reasons_in_words(sessions, facts):
    viewer = sessions[Role.VIEWER].client
    cid = int(facts["cols"].id[facts["cols"].driver == "coca"][0])
    f = viewer.get(f"/api/clearings/{cid}").json()
    p = f["properties"]
    assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert p["driver"] == "coca" and "coca" in p["explanation"]
    assert p["reasons"] and all(r["text"] for r in p["reasons"])
    en = viewer.get(f"/api/clearings/{cid}", headers={"Accept-Language": "en"}).json()
    assert en["properties"]["explanation"] != p["explanation"]


def test_case_changes_go_to_the_history_with_the_account(app, sessions, facts):
    coordinator, viewer = sessions[Role.COORDINATOR], sessions[Role.VIEWER]
    case = sorted(facts["cases"], key=lambda c: -c.id)[0].code
    r = coordinator.client.post(f"/api/cases/{case}/assignment",
                                json={"assignee": "Equipo Yamino"}, headers=coordinator.headers)
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    monitor = sessions[Role.MONITOR]
    r = monitor.client.patch(f"/api/cases/{case}", json={"status": "in_field",
                                                         "note": "salimos el lunes"},
                             headers=monitor.headers)
    assert r.status_code == 200 and r.json()["status"] == "in_field"
    r = monitor.client.patch(f"/api/cases/{case}", json={"verdict": "coca_confirmed",
                                                         "observed": "2025-02-03"},
                             headers=monitor.headers)
    assert r.status_code == 200 and r.json()["status"] == "verified"
    r = monitor.client.patch(f"/api/cases/{case}", json={"status": "new"},
                             headers=monitor.headers)
    assert r.status_code == 409 and "no puede pasar" in r.json()["error"]["message"]
    r = monitor.client.patch(f"/api/cases/{case}", json={"estado": "x"}, headers=monitor.headers)
    assert r.status_code == 422
    detail = coordinator.client.get(f"/api/cases/{case}").json()
    actors = [(e["actor"], e["action"]) for e in detail["history"]]
    assert ("coordinator", "assigned") in actors and ("monitor", "verdict") in actors
    assert detail["assignee"] == "Equipo Yamino"
    # what the others see
    seen = viewer.client.get(f"/api/cases/{case}").json()
    assert seen["assignee"] is None and seen["assigned"] is True
    assert {e["actor"] for e in seen["history"]} == {None}
    assert all("assignee" not in e["detail"] for e in seen["history"])
    listed = viewer.client.get("/api/cases").json()
    assert all(c["assignee"] is None for c in listed)
    assert monitor.client.get(f"/api/cases/{case}").json()["assignee"] == "Equipo Yamino"


def test_observations_are_exact_only_for_coordinators(sessions):
    exact = sessions[Role.COORDINATOR].client.get("/api/observations").json()["features"]
    snapped = sessions[Role.ANALYST].client.get("/api/observations").json()["features"]
    assert len(exact) == len(snapped) >= 2
    kinds = {f["properties"]["kind"]: f for f in exact}
    assert kinds["track"]["geometry"]["type"] == "LineString"
    assert kinds["track"]["properties"]["source_file"] == "patrulla_juan.gpx" or \
        kinds["track"]["properties"]["source_file"].endswith("patrulla_juan.gpx")
    for f in snapped:
        assert f["properties"]["exact"] is False and f["properties"]["source_file"] is None
        assert f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        for v in (lon, lat):
            cell = (v / 0.01) - 0.5
            assert abs(cell - round(cell)) < 1e-6  # the centre of a fixed cell
    monitor = sessions[Role.MONITOR].client.get("/api/observations").json()["features"]
    assert all(not f["properties"]["exact"] for f in monitor)


def test_patrol_preview_save_list_and_package(sessions, facts, web_ws: Path):
    coordinator = sessions[Role.COORDINATOR]
    tid = facts["plan"].territory_id
    r = coordinator.client.post("/api/patrol-plans/preview",
                                json={"territory": str(tid), "max_km": 18},
                                headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == 0 and r.json()["stops"]
    before = coordinator.client.get("/api/patrol-plans").json()
    r = coordinator.client.post("/api/patrol-plans", json={"territory": str(tid), "max_km": 18},
                                headers=coordinator.headers)
    assert r.status_code == 201
    plan_id = r.json()["id"]
    after = coordinator.client.get("/api/patrol-plans").json()
    assert len(after) == len(before) + 1 and after[0]["id"] == plan_id
    geo = coordinator.client.get(f"/api/patrol-plans/{plan_id}").json()
    roles = [f["properties"]["role"] for f in geo["features"]]
    assert roles[0] == "start" and "route" in roles and roles.count("stop") == len(
        r.json()["stops"])
    r = coordinator.client.get(f"/api/territories/{tid}/package")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "paquete_" in r.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"casos.gpx", "casos.kmz", "mapa.pdf", "mapa.pmtiles"} <= set(names)
    r = coordinator.client.post("/api/patrol-plans", json={"territory": "No existe",
                                                           "max_km": 10},
                                headers=coordinator.headers)
    assert r.status_code == 404
    with open_workspace(web_ws, Settings()) as store:
        actions = {(e.actor, e.action) for e in store.audit.list(limit=100)}
    assert ("coordinator", "patrol.plan") in actions
    assert ("coordinator", "package.download") in actions


def test_field_upload_gives_a_result_per_file(sessions, facts, web_ws: Path, tmp_path: Path):
    monitor = sessions[Role.MONITOR]
    case = facts["cases"][0]
    gpx = write_gpx(tmp_path / "visita del martes.gpx",
                    waypoints=((case.lon, case.lat, "Claro con plantones"),))
    files = [
        ("files", ("visita del martes.gpx", gpx.read_bytes(), "application/gpx+xml")),
        ("files", ("../../roto.gpx", b"<gpx><wpt lat='x'", "application/gpx+xml")),
    ]
    r = monitor.client.post("/api/field-imports", files=files, headers=monitor.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    first, second = body["files"]
    assert first["name"] == "visita del martes.gpx" and first["ok"]
    assert first["result"]["observations_added"] == 1
    assert second["name"] == "roto.gpx" and not second["ok"]
    text = r.text
    assert str(web_ws) not in text and "subidas" not in text
    assert "roto.gpx" in second["result"]["failures"][0]["source"]
    again = monitor.client.post("/api/field-imports", files=files[:1], headers=monitor.headers)
    assert again.json()["files"][0]["result"]["observations_skipped"] == 1
    assert not any((web_ws / "subidas").iterdir())
    with open_workspace(web_ws, Settings()) as store:
        actions = [(e.actor, e.action, e.target) for e in store.audit.list(limit=100)]
    assert ("monitor", "field.import", "visita del martes.gpx") in actions


def test_territories_risk_corridors_and_overview(sessions, facts):
    viewer, coordinator = sessions[Role.VIEWER].client, sessions[Role.COORDINATOR].client
    listed = viewer.get("/api/territories").json()
    geo = viewer.get("/api/territories/geojson?kind=community&zoom=8").json()
    full = viewer.get("/api/territories/geojson?kind=community").json()
    assert len(geo["features"]) == sum(1 for t in listed if t["kind"] == "community")
    count = sum(len(f["geometry"]["coordinates"][0]) for f in geo["features"]
                if f["geometry"]["type"] == "Polygon")
    count_full = sum(len(f["geometry"]["coordinates"][0]) for f in full["features"]
                     if f["geometry"]["type"] == "Polygon")
    assert count < count_full
    assert any(f["properties"]["risk_class"] for f in geo["features"])
    risk = viewer.get("/api/risk").json()
    assert risk["ranking"][0]["rank"] == 1 and risk["ranking"][0]["explanation"]
    choropleth = viewer.get("/api/risk/geojson?zoom=9").json()
    assert choropleth["features"] and "score" in choropleth["features"][0]["properties"]
    corridors = viewer.get("/api/corridors").json()
    assert corridors["features"] and corridors["run_id"]
    tid = facts["plan"].territory_id
    mine = coordinator.get(f"/api/territories/{tid}").json()["properties"]
    assert mine["risk"]["explanation"] and mine["trend"] and mine["cases"]["open"]
    assert mine["patrols"]
    theirs = viewer.get(f"/api/territories/{tid}").json()["properties"]
    assert theirs["patrols"] is None
    assert all(c["assignee"] is None for c in theirs["cases"]["open"])
    assert viewer.get("/api/territories/999999").status_code == 404


def test_reports_list_and_openapi(sessions):
    viewer, monitor = sessions[Role.VIEWER].client, sessions[Role.MONITOR].client
    assert viewer.get("/api/reports").json() == []
    kinds = monitor.get("/api/reports").json()
    assert kinds[0]["kind"] == "package" and kinds[0]["title"].startswith("Paquete")
    schema = viewer.get("/api/openapi.json").json()
    assert "/api/clearings" in schema["paths"] and "/api/cases/{case}" in schema["paths"]


def _mbtiles(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE metadata (name text, value text);"
                       "CREATE TABLE tiles (zoom_level integer, tile_column integer, "
                       "tile_row integer, tile_data blob);")
    conn.executemany("INSERT INTO metadata VALUES (?, ?)",
                     [("format", "png"), ("bounds", "-76,-10,-74,-8")])
    # XYZ 1/0/0 is TMS row 1 at zoom 1
    conn.execute("INSERT INTO tiles VALUES (1, 0, 1, ?)", (b"\x89PNG fake",))
    conn.commit()
    conn.close()
    return path


def test_basemap_none_remote_or_local(web_ws: Path, tmp_path: Path):
    plain = login(create_app(Settings(), web_ws, prepare_map=False), Role.VIEWER)
    assert plain.client.get("/api/basemap").json()["kind"] == "none"
    remote = login(create_app(Settings(basemap="https://tiles.example.org/{z}/{x}/{y}.png"),
                              web_ws, prepare_map=False), Role.VIEWER)
    r = remote.client.get("/api/basemap")
    assert r.json()["kind"] == "remote"
    assert "https://tiles.example.org" in r.headers["content-security-policy"]
    local = login(create_app(Settings(basemap=str(_mbtiles(tmp_path / "mosaico.mbtiles"))),
                             web_ws, prepare_map=False), Role.VIEWER)
    info = local.client.get("/api/basemap").json()
    assert info["kind"] == "local" and info["tiles"] == "/api/basemap/tiles/{z}/{x}/{y}"
    r = local.client.get("/api/basemap/tiles/1/0/0")
    assert r.status_code == 200 and r.content == b"\x89PNG fake"
    assert r.headers["content-type"] == "image/png"
    assert local.client.get("/api/basemap/tiles/1/1/1").status_code == 404
    assert "tiles.example.org" not in r.headers["content-security-policy"]


def test_a_field_report_case_is_snapped_for_those_who_do_not_see_exact_points(
        sessions, web_ws: Path, tmp_path: Path):
    with open_workspace(web_ws, Settings()) as store:
        with_cases = {c.territory_id for c in store.cases.list()}
        free = [t for t in store.territories.list() if t.kind.value == "community"
                and t.id not in with_cases]
    assert free
    spot = free[0].geometry.representative_point()
    gpx = tmp_path / "reporte.gpx"
    gpx.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="OsmAnd" '
        'xmlns="http://www.topografix.com/GPX/1/1">\n'
        f'<wpt lat="{spot.y:.7f}" lon="{spot.x:.7f}"><time>2025-02-10T15:00:00Z</time>'
        '<name>Campamento</name><desc>Campamento de madereros, 6 personas</desc></wpt>\n'
        '</gpx>\n', encoding="utf-8")
    monitor = sessions[Role.MONITOR]
    r = monitor.client.post("/api/field-imports", headers=monitor.headers,
                            files=[("files", ("reporte.gpx", gpx.read_bytes(), "text/xml"))])
    (new,) = r.json()["files"][0]["result"]["new_cases"]
    exact = sessions[Role.COORDINATOR].client.get(f"/api/cases/{new}").json()
    shown = sessions[Role.ANALYST].client.get(f"/api/cases/{new}").json()
    assert exact["origin"] == "field" and (exact["lon"], exact["lat"]) == pytest.approx(
        (spot.x, spot.y))
    assert (shown["lon"], shown["lat"]) != (exact["lon"], exact["lat"])
    assert abs(shown["lon"] - spot.x) <= 0.005 and abs(shown["lat"] - spot.y) <= 0.005
    for v in (shown["lon"], shown["lat"]):
        assert abs((v / 0.01 - 0.5) - round(v / 0.01 - 0.5)) < 1e-6
