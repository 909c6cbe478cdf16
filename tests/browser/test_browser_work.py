"""The pages that write, in a real browser: field data, patrol planning, the monitoring run.

Each test works as a person would (choose files, click on the map, press the buttons)
and checks what the page then shows; the conftest's recorder fails a test whose pages
asked anything of another address than the app's.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alert_tiles import write_gfw_tile
from browser_helpers import screenshot, wait_for_map
from field_samples import write_gpx

from vigilancia.config import Settings
from vigilancia.domain.territories import TerritoryKind
from vigilancia.services.workspace import open_workspace


@pytest.fixture(scope="module")
def places(server) -> dict:
    """The demo's stored patrol plan's community (it has open cases) and one of its cases."""
    with open_workspace(server.workspace, Settings()) as store:
        (plan, *_rest) = store.patrol_plans.list()
        case = sorted(store.cases.list(territory_id=plan.territory_id), key=lambda c: c.id)[0]
        community = store.territories.list([TerritoryKind.COMMUNITY])[0]
    point = community.geometry.representative_point()
    return {"territory": plan.territory_id, "case": (case.lon, case.lat),
            "community_point": (point.x, point.y)}


def test_upload_a_gpx_and_see_its_result(logged_in_page, server, places, tmp_path,
                                         requests_seen):
    lon, lat = places["case"]
    start = datetime(2025, 3, 2, 7, 30, tzinfo=UTC)
    gpx = write_gpx(tmp_path / "patrulla_marzo.gpx",
                    waypoints=((lon, lat, "Claro con quema reciente"),),
                    track=[(lon + 0.0008 * i, lat, start + timedelta(minutes=4 * i))
                           for i in range(-5, 6)])
    page = logged_in_page("monitor")
    page.goto(server.url + "/campo")
    page.set_input_files("#files", [str(gpx)])
    assert "patrulla_marzo.gpx" in page.inner_text("#chosen")
    page.click("#send")
    row = page.wait_for_selector("#result-table tr[data-file='patrulla_marzo.gpx']")
    assert row.get_attribute("data-state") == "ok"
    assert "importado" in row.inner_text()
    # the waypoint and the track
    assert "Observaciones agregadas: 2; archivos con problemas: 0" in page.inner_text("#totals")
    assert page.is_hidden("#meter")
    screenshot(page, "campo")
    assert requests_seen.matching("/api/field-imports")


def test_plan_a_patrol_save_it_and_download_its_package(logged_in_page, server, places):
    page = logged_in_page("coordinator")
    page.goto(f"{server.url}/territorios/{places['territory']}")
    page.click("#plan-patrol")  # the territory's page leads to its planning
    assert page.input_value("#territory") == str(places["territory"])
    # the map shows the community (its outline drawn, the view on it) before the click
    page.wait_for_selector(f"#map[data-territory='{places['territory']}'][data-map-state=idle]")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    lonlat = page.input_value("#start")
    assert "," in lonlat  # the click set the start
    page.fill("#max_km", "60")
    page.click("#preview")
    page.wait_for_selector("#plan:not([hidden]), #form-message:not(:empty)")
    assert page.inner_text("#form-message") == ""
    assert page.locator("#stops tbody tr").count() >= 1
    assert "km" in page.inner_text("#plan-totals")
    assert page.locator(".stop-marker").count() == page.locator("#stops tbody tr").count()
    page.click("#save")
    page.wait_for_selector("#saved:has-text('plan de patrulla')")
    wait_for_map(page)
    screenshot(page, "patrullas")
    with page.expect_download() as got:
        page.click("#download")
    download = got.value
    assert download.suggested_filename.startswith("paquete_")
    data = Path(download.path()).read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.endswith(".gpx") for n in names) and any(n.endswith(".pdf") for n in names)
    page.wait_for_selector("#saved:has-text('Paquete descargado')")


def test_start_a_monitoring_run_and_see_it_finish(logged_in_page, server, places, tmp_path):
    tile = write_gfw_tile(tmp_path / "gfw_alertas_2025.tif", places["community_point"], seed=5)
    page = logged_in_page("coordinator")
    page.goto(server.url + "/monitoreo")
    page.set_input_files("#files", [str(tile)])
    page.select_option("select[name=min_confidence]", "high")
    page.click("#start")
    page.wait_for_selector("#run-panel[data-status=finished]", timeout=90_000)
    facts = page.inner_text("#run-facts")
    assert "Claros nuevos" in facts and "Lotes nuevos\t1" in facts, facts
    assert "gfw_alertas_2025.tif" in page.inner_text("#run-files")
    screenshot(page, "monitoreo", full_page=True)
    page.reload()  # the page finds the run again
    page.wait_for_selector("#run-panel[data-status=finished]")
    assert "Claros nuevos" in page.inner_text("#run-facts")
