"""Kills: ``monitor`` killed (SIGKILL) at random moments and run again gives the clean result.

A workspace holds a first download (tile v1, or a first vector file) with its drivers;
``monitor`` ingests the later download (v2) as a subprocess and is killed at a random
moment of its run, then run again to the end. Every time, the store equals that of a
run that was never killed: clearings with their features, placement, drivers and every
driver's probability, batches with their steps, the history and the aliases; and no
temporary file is left in the workspace.
"""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from alert_tiles import ORIGIN, PIX, territories_for, tiles_v1_v2, write_tif

from vigilancia.config import Settings
from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.io.store import WorkspaceStore
from vigilancia.io.store import schema as s
from vigilancia.services.monitor import MonitorRequest, run_monitor

pytestmark = pytest.mark.slow

SETTINGS = Settings(language="en", strip_rows=64, buffer_km=1.0)
#: Kills per source and backend (PostgreSQL makes a database per workspace: fewer there).
KILLS = {("raster", "sqlite"): 30, ("vector", "sqlite"): 10,
         ("raster", "postgresql"): 6, ("vector", "postgresql"): 3}
#: Files a workspace folder may hold once its runs are over.
KEPT = {"vigilancia.sqlite", "vigilancia.sqlite-wal", "vigilancia.sqlite-shm"}


def store_state(store: WorkspaceStore) -> dict[str, Any]:
    """Everything a monitoring run writes, as comparable values (batches by their key: a
    killed run may have used up a PostgreSQL sequence value)."""
    out: dict[str, Any] = {}
    with store.engine.connect() as conn:
        keys = {int(i): k for i, k in conn.execute(
            sa.select(s.alert_batches.c.id, s.alert_batches.c.key)).all()}
        b = s.alert_batches
        out["batches"] = sorted(
            (r.key, r.product, r.series, tuple(r.steps or ()), r.n_pixels, r.n_clearings,
             round(r.area_ha, 9), json.dumps(r.stats, sort_keys=True))
            for r in conn.execute(sa.select(b)).all())
        c = s.clearings
        rows = []
        for r in conn.execute(sa.select(c).order_by(c.c.id)).all():
            d = dict(r._mapping)
            d["batch_id"] = keys[d["batch_id"]]
            d["geometry"] = bytes(d["geometry"])
            rows.append(tuple((k, _plain(v)) for k, v in sorted(d.items())))
        out["clearings"] = rows
        ct = s.clearing_territories
        out["overlaps"] = sorted(
            (r.clearing_id, r.territory_id, round(r.area_ha, 9), round(r.share, 9))
            for r in conn.execute(sa.select(ct)).all())
        h = s.clearing_history
        out["history"] = sorted(
            (r.clearing_id, keys[r.batch_id], keys.get(r.previous_batch_id), r.change,
             r.merged_into, str(r.first_date), str(r.last_date), _plain(r.area_ha),
             r.pixels_low, r.pixels_high, r.pixels_highest, r.pixel_count, bytes(r.geometry))
            for r in conn.execute(sa.select(h)).all())
        a = s.clearing_aliases
        out["aliases"] = sorted((r.old_id, r.clearing_id, keys[r.batch_id])
                                for r in conn.execute(sa.select(a)).all())
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return None if v != v else round(v, 9)
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True)
    return v if v is None or isinstance(v, int | str | bytes | bool) else str(v)


def _vector_files(tmp: Path) -> tuple[Path, Path]:
    """Two downloads of a vector product: the first 600 alerts, then all 900 with 40 of
    the first ones revised (area)."""
    rng = np.random.default_rng(5)
    x0, y0 = ORIGIN
    span = 384 * PIX
    rows = [(f"A{i:05d}", f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}",
             round(float(rng.uniform(0.2, 6.0)), 3), round(x0 + rng.uniform(0, span), 6),
             round(y0 - rng.uniform(0, span), 6)) for i in range(900)]
    first, second = tmp / "alertas_1.csv", tmp / "alertas_2.csv"
    for path, chosen in ((first, rows[:600]),
                         (second, [(c, d, a * (1.5 if i < 40 else 1.0), x, y)
                                   for i, (c, d, a, x, y) in enumerate(rows)])):
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["alert_code", "detected_at", "area_ha", "lon", "lat"])
            w.writerows(chosen)
    return first, second


def _base(store_factory, tmp: Path, kind: str) -> tuple[Path, Path]:
    """A workspace with the territories and the first download, and the second one."""
    if kind == "raster":
        v1, v2, _edits = tiles_v1_v2(size=384)
        first, second = write_tif(tmp / "v1.tif", v1), write_tif(tmp / "v2.tif", v2)
    else:
        first, second = _vector_files(tmp)
    ws = tmp / "base"
    st = store_factory.create(ws)
    with st.transaction() as conn:
        st.territories.add(conn, [Territory(n, TerritoryKind.COMMUNITY, g, source="t")
                                  for n, g in territories_for()])
    run_monitor(st, MonitorRequest(str(first)), SETTINGS)
    st.close()
    return ws, second


def _copy(store_factory, base: Path, to: Path) -> None:
    """A copy of the base workspace (the folder; on PostgreSQL, its database too)."""
    shutil.copytree(base, to)
    if not store_factory.is_sqlite:
        url = store_factory.database_url(to)
        src = store_factory.database_url(base)
        server = store_factory.server
        name, src_name = sa.engine.make_url(url).database, sa.engine.make_url(src).database
        with server.engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{src_name}"')


def _monitor(store_factory, ws: Path, source: Path) -> subprocess.Popen[bytes]:
    env = dict(store_factory.env(ws), VIGILANCIA_STRIP_ROWS="64", VIGILANCIA_BUFFER_KM="1",
               VIGILANCIA_LANGUAGE="en")
    return subprocess.Popen([sys.executable, "-m", "vigilancia", "monitor", str(ws),
                             "--alerts", str(source), "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("kind", ["raster", "vector"])
def test_killed_monitor_then_rerun_equals_a_clean_run(store_factory, tmp_path, kind):
    base, second = _base(store_factory, tmp_path, kind)
    clean = tmp_path / "clean"
    _copy(store_factory, base, clean)
    t0 = time.perf_counter()
    proc = _monitor(store_factory, clean, second)
    out, err = proc.communicate(timeout=300)
    run_s = time.perf_counter() - t0
    assert proc.returncode == 0, err.decode()[-3000:]
    with store_factory.open(clean) as st:
        want = store_state(st)
    assert want["clearings"] and (kind == "vector" or want["history"])
    assert all(r[3] == ("ingest", "placement", "classification") for r in want["batches"])

    rng = np.random.default_rng(11)
    kills = KILLS[(kind, store_factory.backend)]
    moments = np.sort(rng.uniform(0.0, run_s, kills))
    resumed: Counter[str] = Counter()  # what each re-run had left to do
    for k, at in enumerate(moments):
        ws = tmp_path / f"ws{k}"
        _copy(store_factory, base, ws)
        proc = _monitor(store_factory, ws, second)
        time.sleep(float(at))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        with store_factory.open(ws) as st:
            b = run_monitor(st, MonitorRequest(str(second)), SETTINGS).batches[0]
            resumed["everything" if not b.skipped else ",".join(b.completed) or "nothing"] += 1
            got = store_state(st)
        for part in want:
            assert got[part] == want[part], (f"kill {k} at {at:.2f} s of {run_s:.2f} s", part)
        left = {p.name for p in ws.iterdir()} - KEPT
        assert not left, f"temporary files left after kill {k}: {sorted(left)}"
        shutil.rmtree(ws)
    assert resumed["everything"] >= 1, resumed  # some kills came before the ingest committed
