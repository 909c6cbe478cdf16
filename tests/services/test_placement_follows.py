"""Placement follows the territories: importing, replacing or removing them re-places the
stored clearings exactly as an ingest with those territories would have placed them."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
import sqlalchemy as sa
from rasterio.transform import from_origin
from shapely.geometry import mapping, shape

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.domain.territories import TerritoryKind
from vigilancia.errors import InputError, NotFoundError
from vigilancia.i18n import set_language
from vigilancia.io.store import schema as s
from vigilancia.sample import build_sample_region
from vigilancia.services.cases import open_cases
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.territories import (
    import_territories,
    list_territories,
    remove_territories,
)

SETTINGS = Settings(language="en")
SIZE = 1200  # pixels a side of the sample region: about 0.3 degrees, a few hundred clearings


@pytest.fixture(autouse=True)
def _english():
    set_language("en")


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return build_sample_region(tmp_path_factory.mktemp("region") / "datos", size=SIZE)


def layers(region) -> list[tuple[Path, TerritoryKind]]:
    return [(region.territories, TerritoryKind.COMMUNITY), (region.reserves, TerritoryKind.RESERVE),
            (region.protected_areas, TerritoryKind.PROTECTED_AREA)]


def ingest(store, source: Path, **kw):
    return run_monitor(store, MonitorRequest(str(source), classify=False, **kw), SETTINGS)


def import_all(store, pairs):
    return [import_territories(store, str(path), kind=kind, settings=SETTINGS)
            for path, kind in pairs]


def snapshot(store) -> dict:
    """Every clearing's placement, territories named (ids may differ between workspaces)."""
    c, ct, t = s.clearings, s.clearing_territories, s.territories
    with store.engine.connect() as conn:
        names = dict(conn.execute(sa.select(t.c.id, t.c.name)).all())
        rows = conn.execute(sa.select(c.c.id, c.c.nearest_territory_id, c.c.boundary_distance_m,
                                      c.c.within_buffer).order_by(c.c.id)).all()
        overlaps = conn.execute(sa.select(ct.c.clearing_id, ct.c.territory_id, ct.c.area_ha,
                                          ct.c.share)).all()
    placed = {int(i): (names.get(n), None if d is None or math.isnan(d) else d, bool(w))
              for i, n, d, w in rows}
    over = {(int(cid), names[tid]): (a, sh) for cid, tid, a, sh in overlaps}
    return {"clearings": placed, "overlaps": over}


def assert_same_placement(got: dict, expected: dict) -> None:
    assert got["clearings"].keys() == expected["clearings"].keys()
    wrong = {k: (v, expected["clearings"][k]) for k, v in got["clearings"].items()
             if v != expected["clearings"][k]}
    assert not wrong, list(wrong.items())[:5]
    assert got["overlaps"] == expected["overlaps"]


def without(path: Path, out: Path, drop: set[str] = frozenset(), grow: dict | None = None,
            add: list | None = None) -> Path:
    """A copy of a GeoJSON layer without the features named in ``drop``, with the polygons
    of ``grow`` (name -> buffer in degrees) grown and the ``add`` features appended."""
    data = json.loads(path.read_text(encoding="utf-8"))
    feats = []
    for f in data["features"]:
        name = next((v for k, v in f["properties"].items() if k.lower() in ("nombre", "nomcom",
                                                                            "name")), None)
        if name in drop:
            continue
        if grow and name in grow:
            f = dict(f, geometry=mapping(shape(f["geometry"]).buffer(grow[name])))
        feats.append(f)
    data["features"] = feats + list(add or [])
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def test_territories_imported_after_the_alerts_place_as_before(store_factory, region, tmp_path):
    """Overlaps, shares, areas, nearest, distance and buffer are the same to the last bit;
    cases opened afterwards are the same."""
    before = store_factory.create(tmp_path / "before")
    import_all(before, layers(region))
    ingest(before, region.alerts_tif)

    after = store_factory.create(tmp_path / "after")
    ingest(after, region.alerts_tif)
    assert not any(after.clearings.placements().within_buffer)
    results = import_all(after, layers(region))
    assert results[0].placement.clearings == len(after.clearings.placements())  # the first: all
    assert results[1].placement.clearings < results[0].placement.clearings  # then: what moves
    assert_same_placement(snapshot(after), snapshot(before))

    opened = [open_cases(st, SETTINGS, as_of=None) for st in (before, after)]
    assert opened[0].opened and opened[0].to_dict() == opened[1].to_dict()
    cases = [[(c.territory_id, c.clearing_ids) for c in st.cases.list()] for st in (before, after)]
    assert cases[0] == cases[1]
    for st in (before, after):
        st.close()


def test_one_layer_before_and_the_others_after(store_factory, region, tmp_path):
    """Reserves and protected areas imported after the alerts, communities before."""
    before = store_factory.create(tmp_path / "before")
    import_all(before, layers(region))
    ingest(before, region.alerts_tif)
    mixed = store_factory.create(tmp_path / "mixed")
    import_all(mixed, layers(region)[:1])
    ingest(mixed, region.alerts_tif)
    import_all(mixed, layers(region)[1:])
    assert_same_placement(snapshot(mixed), snapshot(before))
    # re-running an import is safe: nothing is added, nothing moves
    again = import_all(mixed, layers(region))
    assert all(r.skipped_existing for r in again)
    assert_same_placement(snapshot(mixed), snapshot(before))
    for st in (before, mixed):
        st.close()


def _busiest_community(store) -> str:
    """The community the most clearings have as their nearest."""
    p = store.clearings.placements()
    names = {t.id: t.name for t in store.territories.list([TerritoryKind.COMMUNITY])}
    ids, counts = np.unique(p.nearest_territory_id[np.isin(p.nearest_territory_id,
                                                           list(names))], return_counts=True)
    return names[int(ids[np.argmax(counts)])]


def test_removing_a_territory_places_as_if_it_never_was(store_factory, region, tmp_path):
    """Its overlaps go, nearest moves to the next community; its cases move with their
    clearings; the result equals a workspace that never had it."""
    full = store_factory.create(tmp_path / "full")
    import_all(full, layers(region))
    ingest(full, region.alerts_tif)
    open_cases(full, SETTINGS)
    name = _busiest_community(full)
    gone = next(t for t in full.territories.list() if t.name == name)
    held = [c for c in full.cases.list() if c.territory_id == gone.id]
    assert held

    res = remove_territories(full, [name], settings=SETTINGS, actor="test")
    assert [t.name for t in res.removed] == [name]
    assert res.placement.clearings > 0 and res.placement.moved > 0
    assert name not in {t.name for t in full.territories.list()}
    after = snapshot(full)
    assert name not in {n for n, _d, _w in after["clearings"].values()}
    assert name not in {t for _c, t in after["overlaps"]}

    ref = store_factory.create(tmp_path / "ref")
    trimmed = without(region.territories, tmp_path / "sin.geojson", drop={name})
    import_all(ref, [(trimmed, TerritoryKind.COMMUNITY), *layers(region)[1:]])
    ingest(ref, region.alerts_tif)
    assert_same_placement(after, snapshot(ref))

    # the cases it held now belong to the unit their clearings are in, or to none
    assert res.cases.moved.keys() == {c.id for c in held}
    for case in full.cases.list(ids=[c.id for c in held]):
        assert case.territory_id == res.cases.moved[case.id]
        assert full.cases.events(case.id)[-1].action == "territory_changed"
    # a second removal of the same name is refused and changes nothing
    with pytest.raises(NotFoundError):
        remove_territories(full, [name], settings=SETTINGS)
    assert_same_placement(snapshot(full), after)
    # and the file can be imported again (its import is forgotten only if nothing of it is
    # left: here the other communities of the file remain, so it is a repeat)
    again = import_territories(full, str(region.territories), kind="community",
                               settings=SETTINGS)
    assert again.skipped_existing
    for st in (full, ref):
        st.close()


def test_replacing_a_layer_updates_in_place(store_factory, region, tmp_path):
    """A newer version of the communities: a grown one keeps its number and cases, a
    dropped one goes, a new one comes; placement equals importing the new version first."""
    st = store_factory.create(tmp_path / "ws")
    import_all(st, layers(region))
    ingest(st, region.alerts_tif)
    open_cases(st, SETTINGS)
    communities = [t for t in list_territories(st, [TerritoryKind.COMMUNITY])]
    grown, dropped = communities[0], communities[1]
    x0, y0, x1, y1 = region.bounds
    newcomer = {"type": "Feature", "properties": {"nombre": "CN Recién Titulada"},
                "geometry": mapping(shapely.box(x0, y0, x0 + (x1 - x0) * 0.2,
                                                y0 + (y1 - y0) * 0.2))}
    v2 = without(region.territories, tmp_path / "v2.geojson", drop={dropped.name},
                 grow={grown.name: 0.01}, add=[newcomer])
    res = import_territories(st, str(v2), kind="community", replace=True, settings=SETTINGS)
    assert res.reshaped == [grown.id]  # (the others only take the new file as source)
    assert res.removed == [dropped.id]
    assert res.imported == 1 and len(res.updated) == len(communities) - 1
    assert res.placement.clearings > 0
    by_name = {t.name: t for t in st.territories.list()}
    assert by_name[grown.name].id == grown.id
    assert dropped.name not in by_name

    ref = store_factory.create(tmp_path / "ref")
    import_all(ref, [(v2, TerritoryKind.COMMUNITY), *layers(region)[1:]])
    ingest(ref, region.alerts_tif)
    assert_same_placement(snapshot(st), snapshot(ref))

    # the same version again: nothing changes
    again = import_territories(st, str(v2), kind="community", replace=True, settings=SETTINGS)
    assert (again.imported, again.updated, again.removed) == (0, [], [])
    assert again.unchanged == len(communities)
    assert again.placement.clearings == 0
    # the old version is no longer "already imported": it can be brought back
    back = import_territories(st, str(region.territories), kind="community", replace=True,
                              settings=SETTINGS)
    assert not back.skipped_existing and back.removed and back.reshaped
    fresh = store_factory.create(tmp_path / "fresh")
    import_all(fresh, layers(region))
    ingest(fresh, region.alerts_tif)
    assert_same_placement(snapshot(st), snapshot(fresh))
    for one in (st, ref, fresh):
        one.close()


def write_alerts_tif(path: Path, data: np.ndarray, *, crs: str, origin, pixel: float) -> Path:
    h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="uint16",
                       crs=crs, transform=from_origin(origin[0], origin[1], pixel, pixel),
                       tiled=True, blockxsize=64, blockysize=64) as ds:
        ds.write(data[None])
    return path


def test_a_projected_raster_and_a_batch_without_its_grid(store_factory, region, tmp_path):
    """A UTM raster (polygons stored in lon/lat, placed again on the UTM grid), and a
    lon/lat batch stored before batches kept their grid (the grid is derived from the
    polygons): both place as at ingest."""
    with rasterio.open(region.alerts_tif) as ds:
        data = ds.read(1)
    # the same pixels on a 30 m UTM grid (zone 18S) near the sample region
    utm = write_alerts_tif(tmp_path / "utm.tif", data[:600, :600], crs="EPSG:32718",
                           origin=(450_000.0, 8_960_000.0), pixel=30.0)
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32718", "EPSG:4326", always_xy=True)
    lon0, lat0 = to_ll.transform(450_000.0, 8_960_000.0)
    lon1, lat1 = to_ll.transform(450_000.0 + 18_000, 8_960_000.0 - 18_000)
    ring = [shapely.box(lon0 + (lon1 - lon0) * a, lat1 + (lat0 - lat1) * b,
                        lon0 + (lon1 - lon0) * (a + 0.45), lat1 + (lat0 - lat1) * (b + 0.5))
            for a, b in ((0.05, 0.1), (0.5, 0.45))]
    comm = tmp_path / "utm_comunidades.geojson"
    comm.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nombre": f"CN {i}"}, "geometry": mapping(g)}
        for i, g in enumerate(ring)]}), encoding="utf-8")
    pairs = [(comm, TerritoryKind.COMMUNITY), *layers(region)]

    before = store_factory.create(tmp_path / "before")
    import_all(before, pairs)
    ingest(before, utm)
    ingest(before, region.alerts_tif)
    after = store_factory.create(tmp_path / "after")
    ingest(after, utm)
    ingest(after, region.alerts_tif)
    # the second batch as an older workspace holds it: no grid, frame or buffer recorded
    with after.engine.begin() as conn:
        conn.execute(sa.update(s.alert_batches).where(s.alert_batches.c.id == 2)
                     .values(stats=None))
    results = import_all(after, pairs)
    assert sum(r.placement.by_geometry for r in results) == 0
    got, expected = snapshot(after), snapshot(before)
    utm_ids = set(after.clearings.columns(batch_ids=[1]).id.tolist())
    assert len(utm_ids) > 20
    assert_same_placement(*({"clearings": {k: v for k, v in snap["clearings"].items()
                                           if k in utm_ids},
                             "overlaps": {k: v for k, v in snap["overlaps"].items()
                                          if k[0] in utm_ids}} for snap in (got, expected)))
    # the derived grid counts the same pixels; its metres and hectares differ in the last
    # bits (its origin is not the raster's)
    assert got["overlaps"].keys() == expected["overlaps"].keys()
    for key, (area, share) in got["overlaps"].items():
        assert (area, share) == pytest.approx(expected["overlaps"][key], rel=1e-9)
    for key, (name, dist, within) in got["clearings"].items():
        assert (name, within) == expected["clearings"][key][::2]
        assert dist == pytest.approx(expected["clearings"][key][1], rel=1e-6)
    for st in (before, after):
        st.close()


def write_vector_alerts(path: Path, region) -> Path:
    """MapBiomas-like alerts over the sample region: polygons, and alerts known only by a
    point and a box."""
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = region.bounds
    feats = []
    for i in range(160):
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = rng.uniform(0.0005, 0.004)
        props = {"alert_code": f"A{i:04d}", "detected_at": f"2024-0{1 + i % 9}-1{i % 10}",
                 "area_ha": None}
        if i % 3:
            geom = mapping(shapely.Point(lon, lat).buffer(r, quad_segs=6))
        else:
            geom = None
            props |= {"lat": lat, "lon": lon, "area_ha": float(rng.uniform(0.5, 20)),
                      "bbox": f"{lon - r},{lat - r},{lon + r},{lat + r}"}
        feats.append({"type": "Feature", "properties": props, "geometry": geom})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                    encoding="utf-8")
    return path


def test_vector_alerts_place_as_before(store_factory, region, tmp_path):
    alerts = write_vector_alerts(tmp_path / "alertas.geojson", region)
    before = store_factory.create(tmp_path / "before")
    import_all(before, layers(region))
    ingest(before, alerts)
    after = store_factory.create(tmp_path / "after")
    ingest(after, alerts)
    import_all(after, layers(region))
    got = snapshot(after)
    assert len(got["overlaps"]) > 20
    assert_same_placement(got, snapshot(before))
    for st in (before, after):
        st.close()


def test_remove_and_replace_from_the_command_line(store_factory, region, tmp_path):
    from typer.testing import CliRunner

    ws = tmp_path / "ws"
    store_factory.create(ws).close()
    env = store_factory.env(ws)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, [*args], env=env | {"VIGILANCIA_LANGUAGE": "es"})

    assert run("monitor", str(ws), "--alerts", str(region.alerts_tif), "--no-classify"
               ).exit_code == 0
    res = run("territories", "import", str(ws), str(region.territories))
    assert res.exit_code == 0, res.output
    assert "reubicados sobre los territorios" in res.output
    st = store_factory.open(ws)
    name = _busiest_community(st)
    st.close()
    res = run("territories", "remove", str(ws), name)
    assert res.exit_code == 0, res.output
    assert "Eliminado" in res.output and name in res.output
    res = run("territories", "remove", str(ws), name)
    assert res.exit_code != 0 and "No hay ningún territorio" in res.output
    res = run("territories", "import", str(ws), str(region.territories), "--replace", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["imported"] == 1 and out["placement"]["clearings"] > 0


def test_nothing_to_remove_is_refused(store_factory, tmp_path):
    st = store_factory.create(tmp_path / "ws")
    with pytest.raises(InputError):
        remove_territories(st, [], settings=SETTINGS)
    st.close()


def _writing(store) -> bool:
    """Whether another process has written (not yet committed) placements."""
    if store.is_sqlite:
        wal = Path(str(store.database_path(store.dir)) + "-wal")
        return wal.exists() and wal.stat().st_size > 1_000_000
    with store.engine.connect() as conn:
        size = conn.exec_driver_sql("SELECT pg_total_relation_size('clearings')").scalar()
    return int(size or 0) > getattr(store, "_size_before", 0) + 1_000_000


@pytest.mark.slow
def test_a_killed_import_leaves_the_old_placement(store_factory, tmp_path):
    """SIGKILL while the clearings are being placed again: territories and placement are as
    before, and the import then runs through."""
    ws = tmp_path / "ws"
    st = store_factory.create(ws)
    rng = np.random.default_rng(3)
    data = np.where(rng.random((3000, 3000)) < 0.03, 30000 + 3000, 0).astype(np.uint16)
    tif = write_alerts_tif(tmp_path / "big.tif", data, crs="EPSG:4326",
                           origin=(-75.0, -9.4), pixel=0.00025)
    ingest(st, tif)
    half = tmp_path / "comunidad.geojson"
    half.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nombre": "CN Grande"},
         "geometry": mapping(shapely.box(-74.9, -10.0, -74.5, -9.5))}]}), encoding="utf-8")
    before = snapshot(st)
    counts = st.counts()
    if not st.is_sqlite:
        with st.engine.connect() as conn:
            st._size_before = int(conn.exec_driver_sql(
                "SELECT pg_total_relation_size('clearings')").scalar() or 0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigilancia", "territories", "import", str(ws), str(half)],
        env=store_factory.env(ws), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if _writing(st):
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    st.close()
    st = store_factory.open(ws)
    assert st.counts() == counts
    assert_same_placement(snapshot(st), before)
    done = import_territories(st, str(half), kind="community", settings=SETTINGS)
    assert done.imported == 1 and done.placement.clearings == counts["clearings"]
    st.close()
