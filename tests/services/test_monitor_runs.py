"""``monitor`` as a person runs it: bad GeoTIFFs, two runs at once, a run finished later,
and the area of interest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from alert_tiles import HIGH_2023, LOW_2023, ORIGIN, PIX, tiles_v1_v2, write_tif
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import set_language
from vigilancia.services.monitor import MonitorRequest, run_monitor

SETTINGS = Settings(language="en", strip_rows=64)
#: What GDAL and rasterio say when nobody catches it: never on a person's terminal.
RAW = ("rasterio", "CPLE_", "TIFFFetch", "TIFFRead", "Warning", "Traceback", "See previous")



@pytest.fixture(autouse=True)
def _english():
    set_language("en")


def _vigilancia(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vigilancia", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _utm_in_degrees(tmp: Path) -> Path:
    a = np.zeros((64, 64), np.uint16)
    a[10:14, 10:14] = HIGH_2023
    return write_tif(tmp / "utm_en_grados.tif", a, crs="EPSG:32718")


def _truncated(tmp: Path) -> list[Path]:
    rng = np.random.default_rng(1)
    a = np.where(rng.random((512, 512)) < 0.05, HIGH_2023, 0).astype(np.uint16)
    full = write_tif(tmp / "completo.tif", a, block=128).read_bytes()
    out = []
    for name, cut in (("mitad.tif", len(full) // 2), ("casi.tif", int(len(full) * 0.95)),
                      ("cabecera.tif", 300)):
        p = tmp / name
        p.write_bytes(full[:cut])
        out.append(p)
    return out


def test_degrees_labelled_utm_are_refused(store_factory, tmp_path):
    tif = _utm_in_degrees(tmp_path)
    st = store_factory.create(tmp_path / "ws")
    try:
        with pytest.raises(DataFormatError) as err:
            run_monitor(st, MonitorRequest(str(tif), "gfw"), SETTINGS)
        text = err.value.user_text()
        assert "utm_en_grados.tif" in text and "EPSG:32718" in text
        assert "does not fit its coordinate system" in text and "degrees" in text
        assert "EPSG:4326" in text  # the fix
        assert st.counts()["alert_batches"] == 0
    finally:
        st.close()


def test_metres_labelled_degrees_are_refused(store_factory, tmp_path):
    a = np.zeros((32, 32), np.uint16)
    a[5:8, 5:8] = HIGH_2023
    tif = write_tif(tmp_path / "metros.tif", a, origin=(500000.0, 9000000.0), pix=30.0)
    st = store_factory.create(tmp_path / "ws")
    try:
        with pytest.raises(DataFormatError) as err:
            run_monitor(st, MonitorRequest(str(tif), "gfw"), SETTINGS)
        assert "metres" in err.value.user_text() and "metros.tif" in err.value.user_text()
    finally:
        st.close()


def test_truncated_geotiffs_are_called_truncated(store_factory, tmp_path):
    st = store_factory.create(tmp_path / "ws")
    try:
        for path in _truncated(tmp_path):
            with pytest.raises(UnreadableFileError) as err:
                run_monitor(st, MonitorRequest(str(path), "gfw"), SETTINGS)
            text = err.value.user_text()
            assert path.name in text and "truncated" in text, text
            assert not any(word in text for word in RAW), text
    finally:
        st.close()


def test_the_cli_shows_no_raw_gdal_messages(tmp_path):
    """Spanish by default: the file named, what is wrong and the fix; nothing from GDAL."""
    ws = tmp_path / "ws"
    assert _vigilancia("init", str(ws)).returncode == 0
    bad = [_utm_in_degrees(tmp_path), *_truncated(tmp_path)]
    damaged = tmp_path / "danado.tif"
    full = (tmp_path / "completo.tif").read_bytes()
    mid = bytearray(full)
    for i in range(len(mid) // 3, len(mid) // 3 + 2000):
        mid[i] ^= 0x5A
    damaged.write_bytes(bytes(mid))
    for path in [*bad, damaged]:
        p = _vigilancia("monitor", str(ws), "--alerts", str(path), "--no-classify")
        assert p.returncode != 0
        text = p.stderr + p.stdout
        assert path.name in text, text
        assert not any(word in text for word in RAW), text
        words = ("no encaja con su sistema de coordenadas" if "grados" in path.name
                 else "truncado" if path.name != "danado.tif" else "dañado")
        assert words in text, text


def test_two_runs_of_one_batch_at_once_both_succeed(store_factory, tmp_path):
    """The second waits for the first, then finds the batch ingested: both exit 0."""
    _v1, v2, _edits = tiles_v1_v2(size=384)
    tif = write_tif(tmp_path / "alertas.tif", v2)
    ws = tmp_path / "ws"
    store_factory.create(ws).close()
    env = dict(store_factory.env(ws), VIGILANCIA_STRIP_ROWS="64")
    cmd = [sys.executable, "-m", "vigilancia", "monitor", str(ws), "--alerts", str(tif)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    said = [o[0] for o in outs]
    assert sum("ya ingresado" in t for t in said) == 1, said
    with store_factory.open(ws) as st:
        assert st.counts()["alert_batches"] == 1


def test_a_run_without_drivers_is_finished_later(store_factory, tmp_path):
    _v1, v2, _edits = tiles_v1_v2(size=192)
    tif = write_tif(tmp_path / "alertas.tif", v2)
    st = store_factory.create(tmp_path / "ws")
    try:
        first = run_monitor(st, MonitorRequest(str(tif), classify=False), SETTINGS)
        batch = st.batches.list()[0]
        assert batch.steps == ("ingest", "placement")
        assert not first.drivers
        again = run_monitor(st, MonitorRequest(str(tif)), SETTINGS)
        b = again.batches[0]
        assert b.skipped and b.completed == ("classification",)
        assert sum(again.drivers.values()) == first.clearings
        assert st.batches.list()[0].steps == ("ingest", "placement", "classification")
        third = run_monitor(st, MonitorRequest(str(tif)), SETTINGS)
        assert third.batches[0].skipped and third.batches[0].completed == ()
        assert third.drivers == again.drivers
    finally:
        st.close()


def test_the_cli_says_what_a_rerun_finished(tmp_path):
    _v1, v2, _edits = tiles_v1_v2(size=128)
    tif = write_tif(tmp_path / "alertas.tif", v2)
    ws = tmp_path / "ws"
    assert _vigilancia("init", str(ws)).returncode == 0
    assert _vigilancia("monitor", str(ws), "--alerts", str(tif), "--no-classify").returncode == 0
    p = _vigilancia("monitor", str(ws), "--alerts", str(tif))
    assert p.returncode == 0, p.stderr
    assert "Lote ya ingresado; faltaba la clasificación: hecha" in p.stdout
    p = _vigilancia("monitor", str(ws), "--alerts", str(tif), "--json")
    assert json.loads(p.stdout)["batches"][0]["skipped"] is True


def test_area_of_interest_commands(tmp_path):
    set_language("es")
    runner = CliRunner()
    ws = tmp_path / "ws"
    res = runner.invoke(app, ["init", str(ws), "--aoi", "-75.6,-9.9,-74.4,-8.6"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["aoi", "show", str(ws), "--json"])
    assert json.loads(res.output) == {"bounds": [-75.6, -9.9, -74.4, -8.6], "origin": "set",
                                      "buffer_km": 0.0}
    area = tmp_path / "zona.geojson"
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {},
        "geometry": shapely.geometry.mapping(shapely.box(-75.0, -9.5, -74.9, -9.4))}]}))
    res = runner.invoke(app, ["aoi", "set", str(ws), str(area)])
    assert res.exit_code == 0 and "-75.0000,-9.5000,-74.9000,-9.4000" in res.output
    res = runner.invoke(app, ["aoi", "clear", str(ws)])
    assert res.exit_code == 0 and "ninguna" in res.output.lower()
    for bad in ("-74,-9,-75,-10", "a,b,c,d", "no-existe.geojson"):
        res = runner.invoke(app, ["aoi", "set", str(ws), bad])
        assert res.exit_code == 2, res.output
        assert bad in res.output or "no se encontró" in res.output.lower(), res.output
    res = runner.invoke(app, ["init", str(tmp_path / "otro"), "--aoi", "1,2,3"])
    assert res.exit_code == 2 and not (tmp_path / "otro").exists()


def test_vector_alerts_outside_the_area_are_not_ingested(store_factory, tmp_path):
    from vigilancia.services.workspace import set_area_of_interest

    csv_path = tmp_path / "alertas.csv"
    csv_path.write_text("alert_code,detected_at,area_ha,lon,lat\n"
                        "1,2024-01-05,1.0,-74.95,-9.40\n"
                        "2,2024-01-06,2.0,-73.00,-8.00\n", encoding="utf-8")
    st = store_factory.create(tmp_path / "ws")
    try:
        set_area_of_interest(st, SETTINGS, "-75.0,-9.5,-74.9,-9.3")
        res = run_monitor(st, MonitorRequest(str(csv_path), classify=False), SETTINGS)
        assert res.clearings == 1
        assert st.clearings.frame().source_ref.tolist() == ["1"]
    finally:
        st.close()


def test_the_default_area_is_the_territories_plus_the_buffer(store_factory, tmp_path):
    """With territories and no area set, a tile is read only around them."""
    from vigilancia.domain.territories import Territory, TerritoryKind
    from vigilancia.services.workspace import area_of_interest

    a = np.zeros((256, 256), np.uint16)
    a[10:13, 10:13] = LOW_2023  # next to the community
    a[240:243, 240:243] = LOW_2023  # 6 km away
    tif = write_tif(tmp_path / "a.tif", a)
    x0, y0 = ORIGIN
    community = shapely.box(x0, y0 - 20 * PIX, x0 + 20 * PIX, y0)
    st = store_factory.create(tmp_path / "ws")
    try:
        with st.transaction() as conn:
            st.territories.add(conn, [Territory("CN", TerritoryKind.COMMUNITY, community,
                                                source="t")])
        settings = Settings(language="en", strip_rows=64, buffer_km=1.0)
        area = area_of_interest(st, settings)
        assert area.origin == "territories" and area.buffer_km == 1.0
        res = run_monitor(st, MonitorRequest(str(tif), "gfw", classify=False), settings)
        assert res.clearings == 1
    finally:
        st.close()
