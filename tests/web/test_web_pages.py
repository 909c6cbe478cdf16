"""The pages without a browser: what each role gets and may do, the forms (CSRF, errors,
history), photo copies without metadata, the case report download, the context layers,
and the notice when the map's npm assets are missing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser_helpers import write_field_photo
from PIL import Image

from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.services.case_page import event_text
from vigilancia.services.dashboard import map_overview
from vigilancia.services.field import import_field
from vigilancia.web.nav import page_json
from vigilancia.web.state import app_state

CASE = "C-0001"
PAGES = ("/", "/casos", f"/casos/{CASE}", "/territorios/2")


@pytest.fixture(scope="module")
def photo_sha(app, web_ws: Path) -> str:
    """A monitor's geotagged photo at the first case; the SHA-256 of the original."""
    import hashlib

    store = app_state(app).store
    case = store.cases.get(1)
    path = write_field_photo(web_ws.parent / "foto_claro.jpg", case.lon, case.lat + 0.0001)
    import_field(store, Settings(), [path], actor="Juan Monitor")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_page_opens_for_every_role_and_anonymous_visitors_log_in_first(sessions):
    for role in Role:
        client = sessions[role].client
        for path in PAGES:
            r = client.get(path)
            assert r.status_code == 200, (role, path, r.text[:300])
            assert '<html lang="es">' in r.text and 'name="csrf-token"' in r.text
            assert 'href="/language/en?next=' in r.text
    anonymous = sessions[None].client
    for path in PAGES:
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_the_menu_and_controls_follow_the_policy_table(sessions):
    viewer = sessions[Role.VIEWER].client.get(f"/casos/{CASE}").text
    coordinator = sessions[Role.COORDINATOR].client.get(f"/casos/{CASE}").text
    monitor = sessions[Role.MONITOR].client.get(f"/casos/{CASE}").text
    assert 'href="/casos"' in viewer and 'id="status-form"' not in viewer
    assert 'id="status-form"' in monitor and 'id="assign-form"' not in monitor
    for form in ("status-form", "assign-form", "report-form"):
        assert f'id="{form}"' in coordinator


def test_the_status_form_changes_the_case_and_records_who(sessions):
    monitor = sessions[Role.MONITOR]
    url = f"/casos/{CASE}/estado"
    # without the session's token: refused, nothing changes
    r = monitor.client.post(url, data={"status": "in_field"}, follow_redirects=False)
    assert r.status_code == 403
    r = monitor.client.post(url, data={"status": "in_field", "note": "Salimos el lunes",
                                       "csrf_token": monitor.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/casos/{CASE}?hecho=estado#estado"
    case = monitor.client.get(f"/api/cases/{CASE}").json()
    assert case["status"] == "in_field"
    assert case["history"][-1]["actor"] == "monitor"
    page = monitor.client.get(f"/casos/{CASE}?hecho=estado").text
    assert "Estado cambiado a en campo" in page and "Salimos el lunes" in page
    # a refused move comes back in words, and changes nothing
    r = monitor.client.post(url, data={"status": "closed", "csrf_token": monitor.csrf})
    assert r.status_code == 200 and 'id="form-error"' in r.text
    assert monitor.client.get(f"/api/cases/{CASE}").json()["status"] == "in_field"
    r = monitor.client.post(url, data={"observed": "ayer", "csrf_token": monitor.csrf})
    assert "AAAA-MM-DD" in r.text
    # a viewer may not, whatever the form says
    viewer = sessions[Role.VIEWER]
    r = viewer.client.post(url, data={"status": "dismissed", "csrf_token": viewer.csrf},
                           follow_redirects=False)
    assert r.status_code == 403


def test_assignment_is_for_coordinators(sessions):
    url = f"/casos/{CASE}/asignacion"
    monitor = sessions[Role.MONITOR]
    r = monitor.client.post(url, data={"assignee": "Yo", "csrf_token": monitor.csrf},
                            follow_redirects=False)
    assert r.status_code == 403
    coordinator = sessions[Role.COORDINATOR]
    r = coordinator.client.post(url, data={"assignee": "Equipo Norte",
                                           "csrf_token": coordinator.csrf})
    assert r.status_code == 200 and "Asignado a Equipo Norte" in r.text
    r = coordinator.client.post(url, data={"assignee": "  ", "csrf_token": coordinator.csrf})
    assert "Escriba quién visitará el caso" in r.text
    # an analyst sees that it is assigned, not to whom
    page = sessions[Role.ANALYST].client.get(f"/casos/{CASE}").text
    assert "Equipo Norte" not in page and 'id="assignee"' in page


def test_photos_are_shown_as_copies_without_metadata(sessions, photo_sha):
    coordinator = sessions[Role.COORDINATOR].client
    page = coordinator.get(f"/casos/{CASE}").text
    assert f"/casos/{CASE}/fotos/{photo_sha}" in page and photo_sha in page
    r = coordinator.get(f"/casos/{CASE}/fotos/{photo_sha}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-original-sha256"] == photo_sha
    image = Image.open(io.BytesIO(r.content))
    assert max(image.size) <= 480 and not image.getexif()  # no GPS, no camera, no time
    # viewers see no field photos; another case has no such photo
    assert sessions[Role.VIEWER].client.get(f"/casos/{CASE}/fotos/{photo_sha}").status_code \
        == 403
    r = coordinator.get(f"/casos/C-0002/fotos/{photo_sha}")
    assert r.status_code == 404 and "no tiene ninguna foto" in r.text


def test_the_case_report_downloads_and_is_recorded(sessions):
    coordinator = sessions[Role.COORDINATOR]
    r = coordinator.client.post(f"/casos/{CASE}/informe",
                                data={"to": "policia", "csrf_token": coordinator.csrf})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "application/pdf" and r.content[:5] == b"%PDF-"
    assert 'filename="informe_C-0001_policia.pdf"' in r.headers["content-disposition"]
    assert r.headers["x-custody-seq"].isdigit() and len(r.headers["x-document-sha256"]) == 64
    # drawing it left Pillow as it was: a truncated field photo is still refused afterwards
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    r = coordinator.client.post(f"/api/cases/{CASE}/report", json={"to": "nadie"},
                                headers=coordinator.headers)
    assert r.status_code == 400 and "nadie" in r.json()["error"]["message"]
    analyst = sessions[Role.ANALYST]
    r = analyst.client.post(f"/api/cases/{CASE}/report", json={}, headers=analyst.headers)
    assert r.status_code == 403
    kinds = {k["kind"] for k in coordinator.client.get("/api/reports").json()}
    assert kinds == {"package", "case"}


def test_context_layers_as_geojson(sessions):
    client = sessions[Role.VIEWER].client
    every = client.get("/api/context?zoom=10").json()
    kinds = {f["properties"]["kind"] for f in every["features"]}
    assert {"river", "road", "airstrip"} <= kinds
    rivers = client.get("/api/context?kind=river").json()
    assert rivers["features"] and {f["properties"]["kind_name"] for f in rivers["features"]} \
        == {"Ríos"}
    r = client.get("/api/context?kind=lago")
    assert r.status_code == 400 and "lago" in r.json()["error"]["message"]


def test_the_map_frame(app):
    view = map_overview(app_state(app).store)
    assert view.first_date is not None and view.first_date <= view.last_date
    assert view.clearings == sum(view.drivers.values()) > 1000
    assert view.corridors > 0 and view.risk_as_of is not None
    assert view.context.get("river", 0) > 0
    west, south, east, north = view.bounds
    assert west < east and south < north


def test_the_pages_say_when_the_map_assets_are_missing(sessions, monkeypatch, tmp_path):
    import vigilancia.web.state as state

    monkeypatch.setattr(state, "STATIC_DIR", tmp_path)
    page = sessions[Role.VIEWER].client.get("/").text
    assert 'id="assets-missing"' in page and "make web-assets" in page
    assert "/static/dashboard.js" not in page  # no script that would fail to load
    monkeypatch.undo()
    if state.missing_map_assets():  # (a checkout where make web-assets has not run)
        pytest.skip("the web app's npm assets are missing here: run make web-assets")
    assert 'id="assets-missing"' not in sessions[Role.VIEWER].client.get("/").text


def test_page_data_cannot_close_its_script_block():
    text = str(page_json({"name": "</script><script>alert(1)</script> & co"}))
    assert "<" not in text and ">" not in text and "&" not in text


def test_the_timeline_in_words():
    assert event_text({"action": "opened", "detail": {"clearings": 3}}) == \
        "Caso abierto con 3 claros"
    assert event_text({"action": "status", "to": "verified"}) == "Estado cambiado a verificado"
    assert event_text({"action": "verdict", "detail": {"verdict": "false_alarm"}}).startswith(
        "Veredicto de la visita: ")
    assert event_text({"action": "assigned", "detail": {}}) == "Asignado"


def test_the_territory_page_shows_its_clearings_month_by_month(app, sessions):
    from vigilancia.services.territory_page import MONTHS, territory_page

    page = territory_page(app_state(app).store, 2)
    assert len(page.months) == MONTHS
    assert page.most_ha > 0 and any(m.area_by_driver.get("coca") for m in page.months)
    months = [m.month for m in page.months]
    assert months == sorted(months) and all(m.day == 1 for m in months)
    html = sessions[Role.VIEWER].client.get("/territorios/2").text
    assert 'id="clearing-trend"' in html and html.count("<rect") >= 10
    # a viewer does not see patrol plans
    assert 'id="patrols"' not in html
    assert sessions[Role.VIEWER].client.get("/territorios/999").status_code == 404
