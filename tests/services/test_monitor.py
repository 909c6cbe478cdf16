"""The monitoring cycle on realistic synthetic rasters: answers, idempotency, bad input."""

import json
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterstats import zonal_stats

from vigilancia.config import Settings
from vigilancia.domain.alerts import Confidence
from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.errors import DataFormatError, InputError, UnreadableFileError
from vigilancia.i18n import set_language
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.monitor import MonitorRequest, run_monitor

SETTINGS = Settings(language="en", strip_rows=64)
PIX = 0.00025
ORIGIN = (-74.95, -9.35)


def write_tif(path, data, *, crs="EPSG:4326", origin=ORIGIN, block=64, **extra):
    h, w = data.shape[-2:]
    count = 1 if data.ndim == 2 else data.shape[0]
    prof = dict(driver="GTiff", width=w, height=h, count=count, dtype=data.dtype.name, crs=crs,
                transform=from_origin(origin[0], origin[1], PIX, PIX), tiled=True,
                blockxsize=block, blockysize=block, compress="deflate", **extra)
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(data if data.ndim == 3 else data[None])
    return path


def alert_field(seed=3, h=300, w=280):
    """Clustered GFW-coded alerts: blobs, a runway-like strip and speckle."""
    rng = np.random.default_rng(seed)
    a = np.zeros((h, w), np.uint16)
    for _ in range(60):
        r, c = rng.integers(5, h - 5), rng.integers(5, w - 5)
        rr, cc = np.ogrid[:h, :w]
        rad = rng.uniform(1, 6)
        blob = (rr - r) ** 2 + (cc - c) ** 2 < rad**2
        a[blob] = rng.choice([2, 3, 4]) * 10000 + rng.integers(2900, 3600)
    a[h // 2, w // 14 : w // 14 + min(100, w - w // 7)] = 30000 + 3300  # runway-like strip
    speck = rng.random((h, w)) < 0.002
    a[speck & (a == 0)] = 20000 + 3400
    return a


@pytest.fixture(autouse=True)
def _english():
    set_language("en")


@pytest.fixture
def store(store_factory, tmp_path):
    st = store_factory.create(tmp_path / "ws")
    yield st
    st.close()


def territories():
    x0, y0 = ORIGIN
    span = 280 * PIX
    left = shapely.box(x0, y0 - span, x0 + span * 0.45, y0)
    blob = shapely.Point(x0 + span * 0.6, y0 - span * 0.5).buffer(span * 0.3, quad_segs=32)
    park = shapely.Polygon([(x0 + span * 0.2, y0 - span * 0.9), (x0 + span, y0 - span * 0.2),
                            (x0 + span, y0 - span * 0.9)])
    return [
        Territory("CN Alfa", TerritoryKind.COMMUNITY, left, source="test"),
        Territory("CN Beta", TerritoryKind.COMMUNITY, blob, source="test"),
        Territory("Área protegida", TerritoryKind.PROTECTED_AREA, park, source="test"),
    ]


def test_cycle_areas_match_rasterstats(store, tmp_path):
    a = alert_field()
    tif = write_tif(tmp_path / "alerts.tif", a)
    with store.transaction() as conn:
        ids = store.territories.add(conn, territories())
    res = run_monitor(store, MonitorRequest(str(tif), "gfw"), SETTINGS)
    assert res.clearings > 30
    mask = (a > 0).astype(np.uint8)
    mtif = write_tif(tmp_path / "mask.tif", mask)
    stats = zonal_stats([t.geometry for t in territories()], str(mtif), stats=["sum"], nodata=255)
    # area per pixel row on the ellipsoid (same for every pixel of a row)
    from vigilancia.domain.labelling import geographic_grid

    grid = geographic_grid(ORIGIN[1], PIX, PIX, *a.shape)
    by_id = {t.territory_id: t for t in res.territories}
    for tid, terr, st in zip(ids, territories(), stats, strict=True):
        got = by_id[tid].area_ha if tid in by_id else 0.0
        pixels = int(st["sum"] or 0)
        assert pixels > 0
        # rasterstats gives pixels; convert with this latitude's pixel area
        expected = pixels * float(grid.row_area_ha.mean())
        assert got == pytest.approx(expected, abs=0.1 + 0.002 * expected), terr.name


def test_same_batch_twice_adds_nothing(store, tmp_path):
    tif = write_tif(tmp_path / "alerts.tif", alert_field())
    req = MonitorRequest(str(tif), "auto", since=date(2022, 1, 1))
    first = run_monitor(store, req, SETTINGS)
    counts = store.counts()
    again = run_monitor(store, req, SETTINGS)
    assert again.batches[0].skipped and not first.batches[0].skipped
    assert store.counts() == counts
    assert again.to_dict()["clearings"] == first.to_dict()["clearings"]
    assert again.territories == first.territories


def test_confidence_and_window_filter(store, tmp_path):
    a = np.zeros((20, 20), np.uint16)
    a[2:4, 2:4] = 20000 + 3000  # low
    a[10:12, 10:12] = 30000 + 3000  # high
    a[15:17, 2:4] = 30000 + 100  # high but early (2015)
    tif = write_tif(tmp_path / "a.tif", a, block=16)
    res = run_monitor(store, MonitorRequest(str(tif), "gfw", since=date(2020, 1, 1),
                                            min_confidence=Confidence.HIGH), SETTINGS)
    assert res.clearings == 1


def test_tiles_of_a_folder_are_mosaicked(store_factory, store, tmp_path):
    a = alert_field(h=256, w=256)
    a[100:104, 0:256] = 30000 + 3000  # crosses the tile edge at column 128
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    write_tif(tiles / "west.tif", np.ascontiguousarray(a[:, :128]), block=64)
    write_tif(tiles / "east.tif", np.ascontiguousarray(a[:, 128:]), block=64,
              origin=(ORIGIN[0] + 128 * PIX, ORIGIN[1]))
    whole = write_tif(tmp_path / "whole.tif", a)
    res_tiles = run_monitor(store, MonitorRequest(str(tiles), "gfw"), SETTINGS)
    other = store_factory.create(tmp_path / "ws2")
    res_whole = run_monitor(other, MonitorRequest(str(whole), "gfw"), SETTINGS)
    other.close()
    assert res_tiles.clearings == res_whole.clearings
    assert res_tiles.area_ha == pytest.approx(res_whole.area_ha)


def _bad_input_cases(tmp_path):
    good = alert_field(h=64, w=64)
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    full = write_tif(tmp_path / "full.tif", alert_field(h=512, w=512), block=128)
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(nocrs, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint16",
                       transform=from_origin(*ORIGIN, PIX, PIX)) as ds:
        ds.write(good[None])
    weird = write_tif(tmp_path / "weird_crs.tif", good, crs=rasterio.crs.CRS.from_wkt(
        'LOCAL_CS["unknown",UNIT["metre",1]]'))
    encoding = good.copy()
    encoding[10, 12] = 12345  # confidence digit 1 does not exist
    wrong = write_tif(tmp_path / "wrong_encoding.tif", encoding)
    text = tmp_path / "notes.tif"
    text.write_text("not a raster", encoding="utf-8")
    return [
        (empty, UnreadableFileError, "empty"),
        (truncated, UnreadableFileError, "truncated"),
        (nocrs, DataFormatError, "coordinate reference system"),
        (weird, DataFormatError, "coordinate reference system"),
        (wrong, DataFormatError, "12345"),
        (text, UnreadableFileError, "raster"),
        (tmp_path / "missing.tif", UnreadableFileError, "not found"),
    ]


def test_bad_input_is_named_and_leaves_store_unchanged(store, tmp_path):
    tif = write_tif(tmp_path / "ok.tif", alert_field())
    run_monitor(store, MonitorRequest(str(tif), "gfw"), SETTINGS)
    before = store.counts()
    for path, exc, words in _bad_input_cases(tmp_path):
        with pytest.raises(exc) as err:
            run_monitor(store, MonitorRequest(str(path), "gfw"), SETTINGS)
        text = err.value.user_text()
        assert path.name in text, text
        assert words in text, text
        assert store.counts() == before


def test_wrong_encoding_error_names_row_and_column(store, tmp_path):
    a = alert_field(h=64, w=64)
    a[40, 7] = 65000
    tif = write_tif(tmp_path / "w.tif", a)
    with pytest.raises(DataFormatError) as err:
        run_monitor(store, MonitorRequest(str(tif), "gfw"), SETTINGS)
    assert "row 40" in err.value.user_text() and "column 7" in err.value.user_text()


def test_errors_are_spanish_by_default(store, tmp_path):
    set_language("es")
    empty = tmp_path / "vacio.tif"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFileError) as err:
        run_monitor(store, MonitorRequest(str(empty), "gfw"), SETTINGS)
    assert "vacio.tif" in err.value.user_text() and "vacío" in err.value.user_text()


def test_since_after_until_is_refused():
    with pytest.raises(InputError):
        MonitorRequest("x.tif", since=date(2024, 2, 1), until=date(2024, 1, 1))


def _writing_clearings(store: WorkspaceStore) -> bool:
    """Whether another process has written clearings (not yet committed) to the workspace."""
    if store.is_sqlite:
        wal = Path(str(store.database_path(store.dir)) + "-wal")
        return wal.exists() and wal.stat().st_size > 2_000_000
    with store.engine.connect() as conn:  # the table's file grows before the commit
        size = conn.exec_driver_sql("SELECT pg_total_relation_size('clearings')").scalar()
    return int(size or 0) > 2_000_000


@pytest.mark.slow
def test_killed_run_leaves_workspace_as_before(store_factory, tmp_path):
    """SIGKILL in the middle of a large ingest: the workspace is exactly as before."""
    ws = tmp_path / "ws"
    st = store_factory.create(ws)
    small = write_tif(tmp_path / "small.tif", alert_field())
    run_monitor(st, MonitorRequest(str(small), "gfw"), SETTINGS)
    before = st.counts()
    rng = np.random.default_rng(1)
    big = np.where(rng.random((4000, 4000)) < 0.02, 30000 + 3000, 0).astype(np.uint16)
    tif = write_tif(tmp_path / "big.tif", big, block=256)
    env = dict(store_factory.env(ws), VIGILANCIA_STRIP_ROWS="64")
    proc = subprocess.Popen([sys.executable, "-m", "vigilancia", "monitor", str(ws), "--alerts",
                             str(tif), "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if _writing_clearings(st):
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    st.close()
    st = store_factory.open(ws)
    assert st.counts() == before
    st.close()
    # and the same run completes afterwards
    out = subprocess.run([sys.executable, "-m", "vigilancia", "monitor", str(ws), "--alerts",
                          str(small), "--json"], capture_output=True, text=True, env=env,
                         check=True)
    assert json.loads(out.stdout)["batches"][0]["skipped"] is True


def test_raster_placement_agrees_with_the_geometry_path(store, tmp_path):
    """Nearest boundary and buffer measured on the pixel grid equal the polygon computation
    in a local equal-area frame, including for a community lying beyond the raster."""
    from vigilancia.domain.clearings import ClearingSet
    from vigilancia.services.vector_alerts import place_clearings

    x0, y0 = ORIGIN
    span = 280 * PIX
    off_raster = shapely.box(x0 + span * 1.05, y0 - span * 0.6, x0 + span * 1.4, y0 - span * 0.1)
    beyond = Territory("CN Gamma", TerritoryKind.COMMUNITY, off_raster, source="test")
    tif = write_tif(tmp_path / "alerts.tif", alert_field())
    with store.transaction() as conn:
        store.territories.add(conn, [*territories(), beyond])
    run_monitor(store, MonitorRequest(str(tif), "gfw"), Settings(language="en", strip_rows=64,
                                                                   buffer_km=0.5))
    frame = store.clearings.frame()

    n = len(frame)
    zeros = np.zeros(n, np.int64)
    cs = ClearingSet(
        geometry=np.asarray(frame.geometry.values, dtype=object),
        **{k: frame[k].to_numpy(np.float64) for k in (
            "area_ha", "perimeter_m", "length_m", "width_m", "orientation_deg", "elongation",
            "compactness", "centroid_lon", "centroid_lat")},
        first_date=frame.first_date.to_numpy("datetime64[D]"),
        last_date=frame.last_date.to_numpy("datetime64[D]"),
        pixels_low=zeros, pixels_high=zeros, pixels_highest=zeros,
        pixel_count=frame.pixel_count.to_numpy(np.int64))
    expected = place_clearings(cs, store.territories.list(), buffer_m=500.0)
    got = frame.boundary_distance_m.to_numpy(np.float64)
    assert got == pytest.approx(expected.boundary_distance_m, rel=1e-3, abs=0.5)
    names = {t.id: t.name for t in store.territories.list()}
    assert "CN Gamma" in {names[int(i)] for i in frame.nearest_territory_id.dropna()}
    assert (frame.nearest_territory_id.to_numpy(np.int64) == expected.nearest_territory).all()
    borderline = np.abs(got - 500.0) < 1.0
    assert (frame.within_buffer.to_numpy(bool) == expected.within_buffer)[~borderline].all()


def test_summary_of_a_new_batch_equals_the_stored_one(store, tmp_path):
    """The per-territory figures summed while writing equal the store's query, re-run included."""
    tif = write_tif(tmp_path / "alerts.tif", alert_field(seed=5))
    with store.transaction() as conn:
        store.territories.add(conn, territories())
    first = run_monitor(store, MonitorRequest(str(tif), "gfw"), SETTINGS)
    stored = store.clearings.by_territory([first.batches[0].batch_id])
    assert len(first.territories) == len(stored) == 3
    for got, want in zip(first.territories, stored, strict=True):
        assert (got.territory_id, got.name, got.kind, got.clearings) == (
            want.territory_id, want.name, want.kind, want.clearings)
        assert (got.first_date, got.last_date) == (want.first_date, want.last_date)
        assert got.area_ha == pytest.approx(want.area_ha, rel=1e-12)
    again = run_monitor(store, MonitorRequest(str(tif), "gfw"), SETTINGS)
    assert again.batches[0].skipped
    assert again.to_dict()["territories"] == first.to_dict()["territories"]
    # the drivers counted while classifying equal those read back on the re-run
    assert first.drivers and sum(first.drivers.values()) == first.clearings
    assert (again.drivers, again.model_version) == (first.drivers, first.model_version)
