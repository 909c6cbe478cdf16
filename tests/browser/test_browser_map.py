"""The dashboard map in a real browser: logging in, the layers drawn, the filters."""

from __future__ import annotations

from browser_helpers import colour_count, hex_rgb, screenshot, wait_for_map

from vigilancia.web.legend import PALETTE


def test_log_in_and_see_the_map_drawn(logged_in_page, server, requests_seen):
    page = logged_in_page("coordinator")
    assert page.url == server.url + "/"
    wait_for_map(page)
    png = screenshot(page, "mapa")
    territory = colour_count(png, hex_rgb(PALETTE["territory_line"]))
    drivers = {d: colour_count(png, hex_rgb(c)) for d, c in PALETTE["drivers"].items()}
    assert territory > 200, territory
    assert sum(drivers.values()) > 50, drivers
    assert requests_seen.matching("/api/tiles/clearings/")
