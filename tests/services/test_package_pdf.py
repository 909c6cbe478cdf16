"""The printable map of a package stays readable with 300 open cases.

A community with 300 open cases and a real patrol plan (the planning service) gets a
package; its ``mapa.pdf`` is read back with pdftotext (every stop of the plan is in the
table, with its coordinates in decimal degrees and UTM; the table goes on over pages;
the cases of higher priority left out say why) and rendered with pdftoppm.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon, box, mapping

from vigilancia.config import Settings
from vigilancia.reports.layout import lonlat_text, utm_text
from vigilancia.reports.package_map import render_package_map
from vigilancia.services.cases import open_cases
from vigilancia.services.layers import import_layer
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.package import PackageMap, build_package
from vigilancia.services.patrol import plan_patrol
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="es", buffer_km=1.0)
START = (-74.90, -9.52)
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
pytestmark = pytest.mark.skipif(not POPPLER, reason="pdftotext and pdftoppm (poppler-utils) "
                                "are needed to read the PDF back")


def _geojson(path: Path, features) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}),
        encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """A workspace (SQLite) whose community has 300 open cases on a 2.2 km grid."""
    from vigilancia.services.workspace import init_workspace

    tmp = tmp_path_factory.mktemp("crowded")
    rng = np.random.default_rng(3)
    community = _geojson(tmp / "c.geojson", [(box(-75.10, -9.70, -74.70, -9.35),
                                              {"nomcom": "CN Trescientos"})])
    features = []
    for i in range(15):
        for j in range(20):
            lon = -75.09 + 0.0195 * j + rng.uniform(0, 0.004)
            lat = -9.69 + 0.0225 * i + rng.uniform(0, 0.004)
            r = rng.uniform(0.0006, 0.0015)
            a = np.sort(rng.uniform(0, 2 * np.pi, 14))
            poly = Polygon(np.column_stack([lon + r * np.cos(a), lat + r * np.sin(a)]))
            day = date(2024, 3, 1) + timedelta(days=int(rng.integers(0, 120)))
            features.append((poly, {"alert_code": 10_000 + len(features),
                                    "detected_at": day.isoformat()}))
    alerts = _geojson(tmp / "a.geojson", features)
    river = _geojson(tmp / "r.geojson", [(LineString([(-75.12, -9.50), (-74.95, -9.53),
                                                      (-74.68, -9.45)]), {"TIPO": "Río"})])
    strip = _geojson(tmp / "p.geojson", [(LineString([(-74.93, -9.52), (-74.922, -9.52)]),
                                          {"id": 1})])
    store = init_workspace(tmp / "ws", SETTINGS, name="x")
    import_territories(store, str(community), kind="community", name_field="nomcom")
    import_layer(store, river, "river")
    import_layer(store, strip, "airstrip")
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas"), SETTINGS)
    open_cases(store, SETTINGS, as_of=date(2024, 7, 1))
    assert len(store.cases.list()) == 300
    yield store
    store.close()


def _package(store, tmp: Path, max_km: float):
    """Plan, package, and the PDF's text, pages and the map data it was drawn from."""
    plan = plan_patrol(store, SETTINGS, territory="CN Trescientos", max_km=max_km,
                       start=START)
    seen: list[PackageMap] = []

    def render(data: PackageMap) -> bytes:
        seen.append(data)
        return render_package_map(data)

    out = tmp / f"paquete_{int(max_km)}"
    build_package(store, SETTINGS, territory="CN Trescientos", output=out, render_map=render)
    pdf = out / "mapa.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return plan, seen[0], pdf, " ".join(text.split())


def _pages(pdf: Path, tmp: Path) -> list[np.ndarray]:
    from PIL import Image

    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp / "page")], check=True)
    return [np.asarray(Image.open(p).convert("L")) for p in sorted(tmp.glob("page*.png"))]


def _stop_rows_are_all_there(plan, text: str) -> None:
    for stop in plan.stops:
        row = f"{stop.order}. {stop.code} · prioridad"
        assert row in text, row
        assert f"{lonlat_text(stop.lon, stop.lat)} UTM {utm_text(stop.lon, stop.lat)}" in text


def test_a_short_plan_among_300_cases(crowded, tmp_path: Path):
    plan, data, pdf, text = _package(crowded, tmp_path, 25.0)
    assert 3 <= len(plan.stops) < 20 and len(plan.skipped) > 250
    # only the plan's stops are numbered on the map; the other cases are small dots
    from vigilancia.reports.package_map import _numbered

    numbered = _numbered(data)
    assert [pc.case.id for pc in numbered] == [s.case_id for s in plan.stops]
    assert [pc.number for pc in numbered] == list(range(1, len(plan.stops) + 1))
    # every stop, in order, with decimal degrees and UTM
    _stop_rows_are_all_there(plan, text)
    assert text.index("1. C-") < text.index(f"{len(plan.stops)}. C-")
    # why the cases of highest priority are not in the plan
    top = max((c for c in crowded.cases.list() if c.id not in plan.case_ids),
              key=lambda c: (c.priority, -c.id))
    assert re.search(rf"{top.code} · prioridad \d+ · no cabe: [^·]*25 km del plan", text), (
        top.code)
    assert "casos de mayor prioridad que una parada no están en el plan" in text
    assert "están en casos.gpkg, casos.gpx y casos.csv" in text
    pages = _pages(pdf, tmp_path)
    assert len(pages) >= 2 and f"página {len(pages)} de {len(pages)}" in text
    for img in pages:
        assert img.shape[1] > img.shape[0]  # landscape
        assert (img < 128).mean() > 0.002  # something printed on every page


def test_a_long_plan_goes_on_over_pages(crowded, tmp_path: Path):
    plan, _data, pdf, text = _package(crowded, tmp_path, 150.0)
    assert len(plan.stops) > 40  # more rows than the first page holds (it stopped at 66)
    _stop_rows_are_all_there(plan, text)
    pages = _pages(pdf, tmp_path)
    assert len(pages) >= 3
    assert "tabla del plan (continúa)" in text and f"página 3 de {len(pages)}" in text
    assert "Vuelta a la salida:" in text
