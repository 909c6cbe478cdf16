"""The territory, case list and case pages in a real browser: a case's status changed
through its form, its assignment, its report downloaded; the language switch; and that
no page loads anything from outside the app."""

from __future__ import annotations

import re
from pathlib import Path

from browser_helpers import PHONE, screenshot, wait_for_map

CASE = "C-0001"


def test_open_a_case_and_change_its_status(logged_in_page, server):
    page = logged_in_page("coordinator")
    page.click("nav.nav a:has-text('Casos')")
    page.wait_for_url(re.compile(r"/casos$"))
    screenshot(page, "casos")
    page.click(f"#cases a:has-text('{CASE}')")
    page.wait_for_url(re.compile(f"/casos/{CASE}$"))
    wait_for_map(page)
    assert page.locator("#status .tag").inner_text() == "nuevo"
    # its clearing on the map, its field photo as a copy without metadata, with the hash
    thumb = page.locator("#photos img.thumb")
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 100")
    assert "/fotos/" in thumb.get_attribute("src")
    assert len(page.locator("#photos .hash").inner_text().strip()) == 64
    screenshot(page, "caso", full_page=True)

    page.select_option("#status-select", "in_field")
    page.fill("#note", "Patrulla sale el lunes")
    with page.expect_navigation():
        page.click("#status-form button[type=submit]")
    assert page.locator("#done").is_visible()
    assert page.locator("#status .tag").inner_text() == "en campo"
    timeline = page.locator("#timeline").inner_text()
    assert "Estado cambiado a en campo" in timeline and "Patrulla sale el lunes" in timeline
    assert "coordinator" in timeline  # who changed it

    # verified needs a verdict: the error comes back in words, nothing changes
    page.select_option("#status-select", "verified")
    with page.expect_navigation():
        page.click("#status-form button[type=submit]")
    assert page.locator("#form-error").is_visible()
    assert page.locator("#status .tag").inner_text() == "en campo"
    page.select_option("#status-select", "verified")
    page.select_option("#verdict-select", "coca_confirmed")
    with page.expect_navigation():
        page.click("#status-form button[type=submit]")
    assert page.locator("#status .tag").inner_text() == "verificado"
    assert "Coca confirmada" in page.locator("#timeline").inner_text()

    # assignment
    page.fill("#assignee-input", "Equipo Isinyacu")
    with page.expect_navigation():
        page.click("#assign-form button[type=submit]")
    assert "Equipo Isinyacu" in page.locator("#timeline").inner_text()

    # the report for the prosecutor: a PDF recorded in the custody log
    with page.expect_download() as download:
        page.click("#report-form button[type=submit]")
    pdf = download.value
    assert pdf.suggested_filename == f"informe_{CASE}_fiscalia.pdf"
    assert Path(pdf.path()).read_bytes()[:5] == b"%PDF-"


def test_roles_see_only_their_controls(logged_in_page):
    viewer = logged_in_page("viewer")
    viewer.goto(viewer.url.rstrip("/") + f"/casos/{CASE}")
    assert viewer.locator("#status-form").count() == 0
    assert viewer.locator("#assign-form, #report-form").count() == 0
    assert viewer.locator("#photos img").count() == 0  # viewers see no field photos
    monitor = logged_in_page("monitor")
    monitor.goto(monitor.url.rstrip("/") + f"/casos/{CASE}")
    assert monitor.locator("#status-form").count() == 1
    assert monitor.locator("#assign-form, #report-form").count() == 0
    assert monitor.locator("#photos img").count() == 1


def test_the_case_page_fits_a_phone(logged_in_page, server):
    page = logged_in_page("coordinator", viewport=PHONE)
    page.goto(f"{server.url}/casos/{CASE}")
    wait_for_map(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "caso-360", full_page=True)


def test_the_territory_page(logged_in_page, server):
    page = logged_in_page("coordinator")
    page.goto(f"{server.url}/territorios/2")
    wait_for_map(page)
    assert page.locator("h1").inner_text() == "CN Isinyacu Alto"
    assert page.locator("#risk .tag").inner_text() == "crítico"
    assert page.locator("table.reasons-table tbody tr").count() >= 5
    assert page.locator("#cases tbody tr").count() >= 1
    assert page.locator("#patrols li").count() >= 1
    assert page.locator("#clearing-trend rect").count() >= 10  # months with clearings
    screenshot(page, "territorio", full_page=True)


def test_switch_to_english_and_back(logged_in_page, server):
    page = logged_in_page("analyst")
    page.goto(f"{server.url}/casos/{CASE}")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("nav.nav a").first.inner_text() == "Mapa"
    page.click("#lang-en")
    page.wait_for_url(re.compile(f"/casos/{CASE}$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("nav.nav a").first.inner_text() == "Map"
    assert "Timeline" in page.locator("main").inner_text()
    page.click("nav.nav a:has-text('Map')")
    wait_for_map(page)
    assert "Likely driver" in page.locator(".panel").inner_text()
    screenshot(page, "map-en")
    page.click("#lang-es")
    wait_for_map(page)
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Causa probable" in page.locator(".panel").inner_text()


def test_no_request_leaves_the_app(logged_in_page, server, requests_seen):
    """Every page, as the most and the least privileged roles: every request the pages
    made went to the app (the fixture fails the test otherwise), and the scripts, styles
    and map data came from it."""
    for role in ("admin", "viewer"):
        page = logged_in_page(role)
        for path in ("/", "/casos", f"/casos/{CASE}", "/territorios/2"):
            page.goto(server.url + path)
            if path != "/casos":
                wait_for_map(page)
    assert len(requests_seen.urls) > 40
    assert requests_seen.outside(server) == []
    for needed in ("/static/app.css", "/static/vendor/maplibre-gl/maplibre-gl.mjs",
                   "/static/vendor/maplibre-gl/maplibre-gl-worker.mjs",
                   "/static/vendor/maplibre-gl/maplibre-gl.css", "/api/territories/geojson",
                   "/api/tiles/clearings/"):
        assert requests_seen.matching(needed), needed
