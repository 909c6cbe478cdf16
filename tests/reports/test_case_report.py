"""The case report: gathered from a realistic case of the sample region, drawn as PDF and
checked the way a reader would: its text (Spanish, the case code, the coordinates in three
forms, the areas and the hashes), its pages as pixels (the maps are there, not blank, with
the case in its colour), its embedded content document, and a rebuild that gives the same
content hash. Imagery comes from recorded STAC answers and chips the test writes, with the
network blocked."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from pdf_checks import colour_pixels, embedded_content, flat, page_png, pages, pdf_text, sha256
from recorded_stac import recorded_session, write_chip
from report_world import COORDINATOR, MONITOR, NOTE, SETTINGS

from vigilancia.errors import ConflictError, InputError, NotFoundError
from vigilancia.i18n import number as number_text
from vigilancia.reports.cartography import CASE_COLOUR
from vigilancia.reports.case_report import render_case_report
from vigilancia.services.case_report import case_report
from vigilancia.services.reporting import Issue, content_bytes, content_hash, issue_report

ISSUED = datetime(2024, 11, 4, 15, 30, tzinfo=UTC)
BEFORE, AFTER = "S2A_18LTR_20231019_0_L2A", "S2A_18LTR_20240918_0_L2A"


@pytest.fixture(scope="module")
def chips(world, tmp_path_factory) -> dict[str, Path]:
    case = world.store.cases.get(world.case_id)
    folder = tmp_path_factory.mktemp("chips")
    return {BEFORE: write_chip(folder / "before.tif", lon=case.lon, lat=case.lat, cleared=False),
            AFTER: write_chip(folder / "after.tif", lon=case.lon, lat=case.lat, cleared=True)}


@pytest.fixture(scope="module")
def issued(world, chips, pdf_tools, tmp_path_factory):
    """The report of the coca case, imagery from the recorded answers, written as PDF."""
    session, adapter = recorded_session(chips)
    report = case_report(world.store, SETTINGS, world.case_code, addressee="fiscalia",
                         imagery="auto", session=session, today=date(2024, 11, 4))
    out = tmp_path_factory.mktemp("informe") / "informe.pdf"
    res, data = issue_report(world.store, SETTINGS, report, render=render_case_report,
                             output=out, actor=COORDINATOR, now=ISSUED)
    return report, res, data, adapter


def test_text_is_spanish_with_code_coordinates_areas_and_hashes(issued, world):
    report, res, _data, _adapter = issued
    text = pdf_text(res.path)
    joined = flat(pdf_text(res.path, layout=False))
    case = report.case
    c = report.coordinates
    # Spanish, and the case
    for words in ("Informe del caso", "Coordenadas", "Cadena de custodia", "Lo que encontró",
                  "Referencias legales", "Fiscalía Especializada en Materia Ambiental"):
        assert words in text, words
    assert "Case report" not in text and "What the patrol found" not in text
    assert world.case_code in text and world.territory in text
    # coordinates in the three forms
    assert f"{c.lat:.6f}, {c.lon:.6f}" in text
    assert c.lat_dms in text and c.lon_dms in text
    assert c.utm_zone == 18 and c.utm_hemisphere == "S"
    assert flat(f"{number_text(c.easting)} E, {number_text(c.northing)} N") in joined
    assert "18S" in text and "EPSG:32718" in text
    # areas: the case and its overlap with the community territory
    assert f"{number_text(case.area_ha, 2)} ha" in text
    community = next(o for o in report.overlaps if o.kind == "community")
    assert community.name == world.territory and 0 < community.share < 1
    assert number_text(community.area_ha, 2) in text
    assert number_text(100 * community.share, 1) + " %" in text
    # hashes: each photo's original, the content hash, the embedded document
    for sha in (*world.photos.values(), world.drone_sha):
        assert sha in joined
    assert res.content_hash in joined
    # the patrol, without a name
    assert "Coca confirmada" in text and flat(NOTE) in joined
    assert "equipo de vigilancia comunal" in text
    assert MONITOR not in text and COORDINATOR not in text
    assert res.path.stat().st_mode & 0o777 == 0o600


def test_embedded_content_document_gives_the_printed_hash(issued, tmp_path):
    report, res, _data, _adapter = issued
    document = embedded_content(res.path, tmp_path)
    assert sha256(document) == res.content_hash == content_hash(report.content())
    assert document == content_bytes(report.content())
    content = json.loads(document)
    assert content["case"]["code"] == report.case.code and content["language"] == "es"
    assert MONITOR not in document.decode() and COORDINATOR not in document.decode()


def test_maps_are_drawn_with_the_case_in_its_colour(issued, tmp_path):
    _report, res, _data, _adapter = issued
    assert pages(res.path) >= 3
    first = page_png(res.path, 1, tmp_path)
    h, w, _c = first.shape
    lower = first[int(h * 0.45):int(h * 0.92)]  # the location map fills the lower half
    red = colour_pixels(lower, CASE_COLOUR)
    assert red.sum() > 80, "the case is not drawn in its colour on the location map"
    ys, xs = np.nonzero(red)
    # the case is one spot on the map (its polygons and ring; the legend has a small
    # swatch too), not a colour spread over it
    near = (np.abs(xs - np.median(xs)) < 0.1 * w) & (np.abs(ys - np.median(ys)) < 0.1 * h)
    assert near.mean() > 0.75
    # not blank: many colours, territories in green and rivers in blue
    assert len(np.unique(lower.reshape(-1, 3) // 16, axis=0)) > 40
    assert colour_pixels(lower, "#1b7837", 40).sum() > 200
    second = page_png(res.path, 2, tmp_path)
    assert colour_pixels(second, CASE_COLOUR).sum() > 300, "the detail map has no clearings"


def test_images_before_and_after_from_the_recorded_search(issued):
    report, res, _data, adapter = issued
    chips = {c.role: c for c in report.imagery.chips}
    assert chips["before"].item_id == BEFORE and chips["after"].item_id == AFTER
    assert report.imagery.note is None
    # the least cloudy scene before the first alert; one that misses the case is not used
    assert chips["before"].cloud_cover == pytest.approx(6.2)
    assert not chips["after"].chip.blank and chips["after"].chip.rgb.shape == (360, 360, 3)
    assert [(m, p) for m, p, _b in adapter.requests] == [("GET", "/v1"), ("POST", "/v1/search")]
    body = adapter.requests[1][2]
    assert body["collections"] == ["sentinel-2-l2a"]
    assert body["query"] == {"eo:cloud_cover": {"lt": 40.0}}
    text = pdf_text(res.path)
    assert "2023-10-19" in text and "2024-09-18" in text and BEFORE in text
    assert chips["after"].chip.sha256[:32] in flat(pdf_text(res.path, layout=False))


def test_rebuild_gives_the_same_content_hash_and_bytes(world, chips, issued, pdf_tools):
    report, res, data, _adapter = issued
    session, _a = recorded_session(chips)
    again = case_report(world.store, SETTINGS, world.case_code, imagery="auto",
                        session=session, today=date(2024, 11, 4))
    assert content_hash(again.content()) == res.content_hash
    issue = Issue(ISSUED, res.issue.chain_seq, res.issue.chain_hash)
    assert render_case_report(again, issue) == data
    # another issue time changes the document, never the content hash
    later = render_case_report(again, replace(issue, issued_at=datetime(2025, 1, 2, tzinfo=UTC)))
    assert later != data
    assert content_hash(again.content()) == res.content_hash


def test_offline_auto_imagery_fails_fast_and_says_so(world, no_network):
    started = time.monotonic()
    report = case_report(world.store, SETTINGS, world.case_code, imagery="auto",
                         today=date(2024, 11, 4))
    assert time.monotonic() - started < 10
    assert report.imagery.chips == () and no_network
    assert "internet" in report.imagery.note
    none = case_report(world.store, SETTINGS, world.case_code, imagery="none")
    assert none.imagery.chips == () and "No se pidieron" in none.imagery.note


def test_imagery_files_a_geotiff_and_a_picture(world, tmp_path, no_network):
    from PIL import Image

    case = world.store.cases.get(world.case_id)
    tif = write_chip(tmp_path / "planet_2024-09.tif", lon=case.lon, lat=case.lat, cleared=True)
    jpg = tmp_path / "captura.jpg"
    Image.new("RGB", (300, 200), (90, 140, 60)).save(jpg)
    report = case_report(world.store, SETTINGS, world.case_code, imagery="files",
                         imagery_files=[jpg, tif])
    before, after = report.imagery.chips
    assert (before.role, before.file_name, before.chip.bounds) == ("before", "captura.jpg", None)
    assert after.role == "after" and after.chip.bounds is not None
    assert after.file_sha256 == sha256(tif.read_bytes())
    assert report.imagery.note is None
    far = tmp_path / "lejos.tif"
    write_chip(far, lon=case.lon + 1.0, lat=case.lat, cleared=False)
    with pytest.raises(InputError, match="no cubre el caso"):
        case_report(world.store, SETTINGS, world.case_code, imagery_files=[far])
    with pytest.raises(InputError):
        case_report(world.store, SETTINGS, world.case_code, imagery_files=[tmp_path / "x.tif"])


def test_english_report_and_other_addressee(world, pdf_tools, tmp_path, no_network):
    report = case_report(world.store, SETTINGS, world.case_code, addressee="sernanp",
                         lang="en", imagery="none")
    res, _data = issue_report(world.store, SETTINGS, report, render=render_case_report,
                              output=tmp_path / "report.pdf", actor=COORDINATOR, now=ISSUED)
    text = pdf_text(res.path)
    assert f"Case report {world.case_code}" in text and "Coordinates (UTM)" in text
    assert "National Service of Protected Natural Areas" in text and "Law 26834" in text
    assert MONITOR not in text


def test_workspace_template_replaces_the_packaged_one(world, pdf_tools, tmp_path, no_network):
    from vigilancia.reports.document import install_templates

    folder = tmp_path / "plantillas"
    written, kept = install_templates(folder)
    assert len(written) == 8 and not kept
    assert install_templates(folder)[1] == written  # a second copy keeps the edits
    mine = folder / "destinatarios" / "fiscalia.es.html.j2"
    mine.write_text(mine.read_text(encoding="utf-8").replace(
        "Señor(a) Fiscal Provincial", "Señora Fiscal Superior de Prueba"), encoding="utf-8")
    report = replace(case_report(world.store, SETTINGS, world.case_code, imagery="none"),
                     templates=folder)
    text = pdf_text(issue_report(world.store, SETTINGS, report, render=render_case_report,
                                 output=tmp_path / "a.pdf", actor="x", now=ISSUED)[0].path)
    assert "Señora Fiscal Superior de Prueba" in text
    mine.write_text("{% macro salutation() %}{{ oops( }}{% endmacro %}", encoding="utf-8")
    with pytest.raises(InputError, match="fiscalia.es.html.j2"):
        render_case_report(report, Issue(ISSUED, None, None))
    assert not (tmp_path / "b.pdf").exists()


def test_refusals(world, tmp_path, pdf_tools, no_network):
    with pytest.raises(InputError, match="juez"):
        case_report(world.store, SETTINGS, world.case_code, addressee="juez")
    with pytest.raises(InputError):
        case_report(world.store, SETTINGS, world.case_code, lang="fr")
    with pytest.raises(NotFoundError):
        case_report(world.store, SETTINGS, "C-9999")
    report = case_report(world.store, SETTINGS, world.case_code, imagery="none")
    out = tmp_path / "informe.pdf"
    out.write_bytes(b"not vigilancia's")
    with pytest.raises(ConflictError):
        issue_report(world.store, SETTINGS, report, render=render_case_report, output=out,
                     actor="x")
    assert out.read_bytes() == b"not vigilancia's"
