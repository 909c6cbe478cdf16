"""The monthly community bulletin: gathered for the coca case's community in the month of
the patrol, drawn as PDF and as one HTML page, checked as a reader would (Spanish, the
month's clearings and cases, what the patrol found, the risk change, the trend, the map
with the new clearings in their colour) and for what it must never hold: a name."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime

import pytest
from pdf_checks import colour_pixels, embedded_content, flat, page_png, pdf_text, sha256
from report_world import COORDINATOR, MONITOR, NOTE, SETTINGS

from vigilancia.errors import InputError, NotFoundError
from vigilancia.i18n import number as number_text
from vigilancia.reports.bulletin import render_bulletin, render_bulletin_html
from vigilancia.reports.cartography import CASE_COLOUR
from vigilancia.services.bulletin import TREND_MONTHS, bulletin, parse_bulletin_month
from vigilancia.services.reporting import Issue, content_hash, issue_report

ISSUED = datetime(2024, 11, 2, 12, 0, tzinfo=UTC)
MONTH = date(2024, 10, 1)  # the month of the patrol


@pytest.fixture(scope="module")
def gathered(world):
    return bulletin(world.store, SETTINGS, territory=world.territory, month=MONTH)


def test_what_the_month_holds(gathered, world):
    b = gathered
    assert b.territory.name == world.territory and b.month == MONTH
    assert len(b.trend) == TREND_MONTHS and b.trend[-1].month == MONTH
    assert b.trend[0].month == date(2023, 11, 1)
    # every clearing listed was first seen in the month; the totals agree with the list
    assert all(c.first_date.replace(day=1) == MONTH for c in b.clearings)
    assert b.this_month.inside + b.this_month.nearby == len(b.clearings)
    assert b.this_month.inside_ha + b.this_month.nearby_ha == pytest.approx(
        sum(c.area_ha for c in b.clearings), abs=1e-3)
    # the coca case, visited in the month, with what the patrol found
    case = next(c for c in b.cases if c.code == world.case_code)
    assert case.verdict == "coca_confirmed" and case.visited == date(2024, 10, 15)
    assert case.records == 2 and case.photos == 3
    assert [c.priority for c in b.cases] == sorted((c.priority for c in b.cases), reverse=True)
    # the risk, and what moved since the assessment of the month before
    assert b.risk is not None
    assert b.risk.as_of == date(2024, 10, 1) and b.risk.previous_as_of == date(2024, 9, 1)
    assert b.risk.units == 12 and 1 <= b.risk.rank <= 12
    assert world.territory in b.risk.explanation


def test_pdf_is_spanish_has_the_map_and_names_no_one(gathered, world, pdf_tools, tmp_path):
    b = gathered
    res, data = issue_report(world.store, SETTINGS, b, render=render_bulletin,
                             output=tmp_path / "boletin.pdf", actor=COORDINATOR, now=ISSUED)
    text = pdf_text(res.path)
    joined = flat(pdf_text(res.path, layout=False))
    for words in ("Boletín mensual", "octubre de 2024", "Claros nuevos en octubre de 2024",
                  "Casos por prioridad", "Riesgo de la comunidad",
                  "Qué cambió desde el mes pasado", "Los últimos 12 meses"):
        assert words in text, words
    assert world.case_code in text and "Coca confirmada (2024-10-15)" in text
    assert number_text(b.risk.score) + " puntos" in text
    assert res.content_hash in joined
    # no names, no notes
    for secret in (MONITOR, COORDINATOR, NOTE[:20]):
        assert secret not in text and secret not in joined
    assert sha256(embedded_content(res.path, tmp_path)) == res.content_hash
    # the map holds the month's new clearings in their colour (a ring each, at least)
    page = page_png(res.path, 1, tmp_path)
    assert colour_pixels(page, CASE_COLOUR).sum() > 40
    assert res.size == len(data)


def test_html_is_one_page_that_carries_its_content(gathered, world, tmp_path):
    res, data = issue_report(world.store, SETTINGS, gathered, render=render_bulletin_html,
                             output=tmp_path / "boletin.html", actor=COORDINATOR, fmt="html",
                             now=ISSUED)
    html = data.decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="es">' in html
    assert "Boletín mensual" in html and world.case_code in html
    assert re.search(r'src="data:image/png;base64,', html)
    assert "http://" not in html and "https://" not in html.replace(
        SETTINGS.imagery_stac_url, "")
    found = re.search(r'<script id="contenido"[^>]*>([A-Za-z0-9+/=]+)</script>', html)
    assert found and sha256(base64.b64decode(found.group(1))) == res.content_hash
    assert MONITOR not in html and COORDINATOR not in html


def test_rebuild_gives_the_same_content_hash(gathered, world, pdf_tools):
    again = bulletin(world.store, SETTINGS, territory=world.territory, month=MONTH)
    assert content_hash(again.content()) == content_hash(gathered.content())
    issue = Issue(ISSUED, None, None)
    assert render_bulletin(again, issue) == render_bulletin(gathered, issue)


def test_a_month_without_news_and_english(world, pdf_tools):
    quiet = bulletin(world.store, SETTINGS, territory=world.territory, month=date(2023, 2, 1),
                     lang="en")
    assert quiet.risk is None  # no assessment made by then
    assert quiet.title.startswith("Monthly bulletin")
    html = render_bulletin_html(quiet, Issue(ISSUED, None, None)).decode()
    assert "no risk assessment" in html


def test_refusals(world):
    with pytest.raises(NotFoundError):
        bulletin(world.store, SETTINGS, territory="CN Nadie", month=MONTH)
    with pytest.raises(InputError):
        parse_bulletin_month("2024-13")
    with pytest.raises(InputError):
        parse_bulletin_month("2999-01")
