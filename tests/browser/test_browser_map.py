"""The dashboard map in a real browser: logging in, the layers drawn, the filters, a click.

The map's pixels are counted in the screenshots: the clearings' driver colours and the
territories' outline colour must be there (not a blank canvas), and filtering by
driver or date must change them.
"""

from __future__ import annotations

from browser_helpers import PHONE, colour_count, hex_rgb, screenshot, wait_for_map

from vigilancia.web.legend import PALETTE

DRIVERS = PALETTE["drivers"]


def map_png(page, name: str | None = None) -> bytes:
    """A screenshot of the map alone (kept as ``name`` when given)."""
    if name:
        screenshot(page, name)
    png: bytes = page.locator("#map").screenshot()
    return png


def driver_pixels(png: bytes) -> dict[str, int]:
    return {d: colour_count(png, hex_rgb(c), tolerance=6) for d, c in DRIVERS.items()}


def test_log_in_and_see_the_map_with_its_layers_drawn(logged_in_page, server, requests_seen):
    page = logged_in_page("coordinator")
    assert page.url == server.url + "/"
    wait_for_map(page)
    png = map_png(page, "mapa")
    territory = colour_count(png, hex_rgb(PALETTE["territory_line"]), tolerance=6)
    corridor = colour_count(png, hex_rgb(PALETTE["corridor"]), tolerance=6)
    drivers = driver_pixels(png)
    # the demo's clearings are mostly "other" and coca; its territories are outlined
    assert territory > 1000, territory
    assert drivers["coca"] > 200 and drivers["other"] > 1000, drivers
    assert corridor > 200, corridor
    # the territories are named on the map, and the clearings came as vector tiles
    assert page.locator(".maplabel", has_text="CN Isinyacu Alto").count() == 1
    assert requests_seen.matching("/api/tiles/clearings/")
    assert requests_seen.matching("/static/vendor/maplibre-gl/maplibre-gl.mjs")


def test_filter_clearings_by_driver_and_date(logged_in_page, requests_seen):
    page = logged_in_page("analyst")
    wait_for_map(page)
    before = driver_pixels(map_png(page))

    # only coca: the other drivers' colours go, coca stays
    for box in page.locator("#drivers input[name=driver]").all():
        if box.get_attribute("value") != "coca":
            box.uncheck()
    page.wait_for_function("() => document.getElementById('map').dataset.filters === "
                           "'driver=coca'")
    wait_for_map(page)
    only_coca = driver_pixels(map_png(page))
    assert requests_seen.matching("mvt?driver=coca")
    assert only_coca["other"] < before["other"] / 20, (before, only_coca)
    assert only_coca["coca"] > 200, only_coca

    # the date slider: from the second half of 2024 on, fewer coca clearings
    days = int(page.locator("#since").get_attribute("max"))
    page.locator("#since").fill(str(days - 183))
    page.locator("#since").dispatch_event("change")
    page.wait_for_function("() => document.getElementById('map').dataset.filters"
                           ".includes('since=')")
    wait_for_map(page)
    assert page.locator("#since-out").inner_text().startswith("2024-")
    recent = driver_pixels(map_png(page, "mapa-filtrado"))
    assert [u for u in requests_seen.urls if "since=2024-" in u and "driver=coca" in u]
    assert 0 < recent["coca"] < only_coca["coca"], (only_coca, recent)

    # no driver chosen: no clearing drawn
    page.locator("#drivers input[value=coca]").uncheck()
    wait_for_map(page)
    none = driver_pixels(map_png(page))
    assert none["coca"] == none["other"] == none["airstrip"] == 0, none
    assert page.evaluate("window.vigilanciaMap.getLayoutProperty('clearing-point', "
                         "'visibility')") == "none"


def test_a_click_says_what_a_clearing_is_and_why(logged_in_page):
    page = logged_in_page("viewer")
    wait_for_map(page)
    point = page.evaluate("""() => {
        const map = window.vigilanciaMap;
        const f = map.queryRenderedFeatures({layers: ['clearing-point']})
            .find((f) => f.properties.driver === 'coca');
        const p = map.project(f.geometry.coordinates);
        return {x: p.x, y: p.y};
    }""")
    page.locator("#map canvas").click(position=point)
    info = page.locator("#info-body")
    info.locator("h3").wait_for()
    text = info.inner_text()
    assert "Claro" in text and "coca" in text, text
    assert "Por qué" in text and info.locator(".reasons li").count() >= 1, text
    screenshot(page, "mapa-clic")
    # a territory: its risk and the reasons
    page.evaluate("""() => {
        for (const id of ['clearing-point', 'clearing-fill', 'runway-ring', 'corridor-line',
                          'context-line', 'context-point'])
            if (window.vigilanciaMap.getLayer(id))
                window.vigilanciaMap.setLayoutProperty(id, 'visibility', 'none');
    }""")
    label = page.locator(".maplabel", has_text="CN Isinyacu Alto").bounding_box()
    page.mouse.click(label["x"] + label["width"] / 2, label["y"] + label["height"] + 12)
    page.wait_for_function("() => (document.querySelector('#info-body h3') || {})"
                           ".textContent?.includes('Isinyacu')")
    text = info.inner_text()
    assert "Riesgo" in text and "crítico" in text and "corredores" in text, text
    assert info.locator("a[href='/territorios/2']").count() == 1


def test_the_map_fits_a_phone(logged_in_page):
    page = logged_in_page("monitor", viewport=PHONE)
    wait_for_map(page)
    screenshot(page, "mapa-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("#map").bounding_box()
    assert box["width"] >= PHONE["width"] - 2 and box["height"] > 300, box
    assert driver_pixels(map_png(page))["other"] > 200
    # the menu and the language switch are there on a phone too
    assert page.locator("nav.nav a", has_text="Casos").is_visible()
    assert page.locator("#lang-en").is_visible()
