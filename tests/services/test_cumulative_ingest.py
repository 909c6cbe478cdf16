"""Cumulative products: a later download adds only what is new, and keeps ids, cases and history.

Tile v2 is tile v1 plus new clearings, clearings grown from v1's, pixels upgraded from
low to high confidence and bridges that join two of v1's clearings. Ingesting v1 then
v2 must give the clearings of a fresh ingest of v2 alone (count, area, every footprint),
keep the case ids and links of v1's cases, and grow the cases' areas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from alert_tiles import HIGH_2023, LOW_2023, ORIGIN, PIX, territories_for, tiles_v1_v2, write_tif

from vigilancia.config import Settings
from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.i18n import set_language
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.cases import open_cases, show_case
from vigilancia.services.map import clearing_detail, ensure_clearing_map
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.placement import RasterGrid

SETTINGS = Settings(language="en", strip_rows=64, buffer_km=1.0, case_min_area_ha=0.0)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MAPBIOMAS = DATA / "alerts" / "mapbiomas_alerta_peru_2021_2024.parquet"



@pytest.fixture(autouse=True)
def _english():
    set_language("en")


def _territories(store: WorkspaceStore) -> None:
    with store.transaction() as conn:
        store.territories.add(conn, [Territory(name, TerritoryKind.COMMUNITY, geom, source="t")
                                     for name, geom in territories_for()])


def footprints(store: WorkspaceStore) -> list[tuple]:
    """Every clearing as comparable values, ids left out (sorted by its footprint)."""
    f = store.clearings.frame()
    rows = []
    for g, *vals in zip(f.geometry.values, f.pixel_count, f.pixels_low, f.pixels_high,
                        f.pixels_highest, f.first_date, f.last_date, f.area_ha, f.perimeter_m,
                        f.nearest_territory_id, f.territories, f.source_ref, strict=True):
        key = shapely.normalize(g).wkb_hex
        rows.append((key, *(None if pd.isna(v) else (
            round(float(v), 9) if isinstance(v, float) else v) for v in vals)))
    return sorted(rows, key=lambda r: r[0])


@pytest.fixture
def tiles(tmp_path: Path) -> tuple[Path, Path, object]:
    v1, v2, edits = tiles_v1_v2()
    return (write_tif(tmp_path / "gfw_v1.tif", v1), write_tif(tmp_path / "gfw_v2.tif", v2),
            edits)


def test_v1_then_v2_equals_a_fresh_v2(store_factory, tmp_path, tiles):
    t1, t2, edits = tiles
    ws = store_factory.create(tmp_path / "ws")
    fresh = store_factory.create(tmp_path / "fresh")
    try:
        _territories(ws)
        _territories(fresh)
        first = run_monitor(ws, MonitorRequest(str(t1), "gfw"), SETTINGS)
        ensure_clearing_map(ws)  # the web map's index of v1's clearings
        opened = open_cases(ws, SETTINGS)
        assert opened.opened
        before = {c.id: (c.clearing_ids, c.area_ha) for c in ws.cases.list()}
        areas_before = dict(zip(ws.clearings.frame().id, ws.clearings.frame().area_ha,
                                strict=True))
        second = run_monitor(ws, MonitorRequest(str(t2), "gfw"), SETTINGS)
        run_monitor(fresh, MonitorRequest(str(t2), "gfw"), SETTINGS)

        # the same clearings as a fresh ingest of v2: count, area, every footprint
        assert ws.counts()["clearings"] == fresh.counts()["clearings"]
        got, want = ws.clearings.frame(), fresh.clearings.frame()
        assert got.area_ha.sum() == pytest.approx(want.area_ha.sum(), rel=1e-12)
        assert footprints(ws) == footprints(fresh)

        b = second.batches[0]
        assert not b.skipped
        assert b.new == len(edits.added)
        assert b.merged == len(edits.bridged)
        assert b.updated == len(edits.grown) + len(edits.upgraded) + len(edits.bridged)
        assert b.upgraded == len(edits.upgraded)
        assert b.unchanged == first.batches[0].clearings - b.updated - b.merged
        assert b.clearings == b.new + b.updated  # what it wrote, nothing twice

        # case ids and links kept: merged clearings now mean their survivor, which stays in
        # its own case (a clearing is in one case at most; both cases' histories say so)
        aliases = ws.series.aliases()
        after = {c.id: c for c in ws.cases.list()}
        assert set(after) == set(before)
        case_of = {i: cid for cid, c in after.items() for i in c.clearing_ids}
        for cid, (ids, _area) in before.items():
            kept = {i for i in ids if i not in aliases}
            assert kept <= set(after[cid].clearing_ids)
            for i in set(ids) - kept:
                survivor = aliases[i]
                if case_of.get(survivor) != cid:
                    assert "clearing_merged" in [e.action for e in ws.cases.events(cid)]
                else:
                    assert survivor in after[cid].clearing_ids
            if not set(ids) & set(aliases):
                assert after[cid].clearing_ids == ids  # untouched by a merge: the same links
            members = got[got.id.isin(after[cid].clearing_ids)]
            if len(members):
                assert after[cid].area_ha == pytest.approx(members.area_ha.sum(), rel=1e-9)
        grown_cases = [cid for cid, (_ids, area) in before.items()
                       if after[cid].area_ha > area + 1e-6]
        assert grown_cases  # a grown case's area is the new area
        events = ws.cases.events(grown_cases[0])
        assert events[-1].action == "clearings_changed"
        detail = show_case(ws, grown_cases[0])
        assert sum(c.area_ha for c in detail.clearings) == pytest.approx(
            after[grown_cases[0]].area_ha)

        # the history keeps each earlier footprint, dates and confidence
        history = ws.series.history()
        by_change: dict[str, int] = {}
        for h in history:
            for flag in h.change.split(","):
                by_change[flag] = by_change.get(flag, 0) + 1
        assert by_change.get("merged_into") == len(edits.bridged)
        assert by_change.get("confidence", 0) >= len(edits.upgraded)
        assert by_change.get("grown", 0) >= len(edits.grown)
        grown = [h for h in history if h.change.startswith("grown")]
        for h in grown:
            assert h.area_ha == pytest.approx(areas_before[h.clearing_id])
            assert h.previous_batch_id == first.batches[0].batch_id
            assert h.batch_id == second.batches[0].batch_id
            assert h.geometry.area < shapely.from_wkb(
                got.set_index("id").geometry[h.clearing_id].wkb).area
        # every lookup by id follows a merge: the history, and a label given by the old id
        old = next(iter(aliases))
        assert ws.series.resolve([old]).tolist() == [aliases[old]]
        assert ws.series.history(aliases[old])  # its own history and the merged one's
        from vigilancia.services.labels import import_labels

        labels = tmp_path / "etiquetas.csv"
        labels.write_text(f"clearing_id,driver\n{old},coca\n", encoding="utf-8")
        assert import_labels(ws, labels).added == 1
        assert [r.clearing_id for r in ws.labels.list()] == [aliases[old]]
        # and the web map: the merged ids left its index, their detail is the survivor's
        assert not set(aliases) & set(ws.clearing_map.rows()[0].tolist())
        assert clearing_detail(ws, old).detail.id == aliases[old]
    finally:
        ws.close()
        fresh.close()


def test_a_territory_imported_after_two_downloads_places_them_as_a_fresh_ingest(
        store_factory, tmp_path, tiles):
    """v1, v2 (new, grown and merged clearings), then a community imported late: the
    clearings are re-placed (on each batch's grid) as a fresh ingest of v2 with every
    territory places them, and the counts per territory agree."""
    import json

    from shapely.geometry import mapping

    from vigilancia.services.territories import import_territories

    _t1, t2, _edits = tiles
    x0, y0 = ORIGIN
    span = 384 * PIX
    late = tmp_path / "gamma.geojson"
    late.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "CN Gamma"},
        "geometry": mapping(shapely.box(x0 + span * 0.55, y0 - span * 0.95,
                                        x0 + span * 0.9, y0 - span * 0.62))}]}))
    ws = store_factory.create(tmp_path / "ws")
    fresh = store_factory.create(tmp_path / "fresh")
    try:
        _territories(ws)
        run_monitor(ws, MonitorRequest(str(tiles[0]), "gfw", classify=False), SETTINGS)
        run_monitor(ws, MonitorRequest(str(t2), "gfw", classify=False), SETTINGS)
        moved = import_territories(ws, str(late), kind="community", settings=SETTINGS)
        assert moved.placement.moved > 0
        _territories(fresh)
        import_territories(fresh, str(late), kind="community", settings=SETTINGS)
        run_monitor(fresh, MonitorRequest(str(t2), "gfw", classify=False), SETTINGS)

        assert footprints(ws) == footprints(fresh)
        got, want = ws.clearings.placements(), fresh.clearings.placements()
        assert len(got.id) == len(want.id)
        got_rows = sorted(zip(got.nearest_territory_id.tolist(),
                              np.round(got.boundary_distance_m, 6).tolist(),
                              got.within_buffer.tolist(), strict=True))
        want_rows = sorted(zip(want.nearest_territory_id.tolist(),
                               np.round(want.boundary_distance_m, 6).tolist(),
                               want.within_buffer.tolist(), strict=True))
        assert got_rows == want_rows
        by = {r.name: (r.clearings, round(r.area_ha, 9)) for r in ws.clearings.by_territory()}
        assert by == {r.name: (r.clearings, round(r.area_ha, 9))
                      for r in fresh.clearings.by_territory()}
        assert by["CN Gamma"][0] > 0
    finally:
        ws.close()
        fresh.close()


def test_an_unchanged_download_costs_only_the_read(store_factory, tmp_path, tiles):
    """The same file: skipped by its fingerprint. The same alerts in other bytes (another
    compression): read, every clearing unchanged, nothing written."""
    t1, _t2, _edits = tiles
    st = store_factory.create(tmp_path / "ws")
    try:
        first = run_monitor(st, MonitorRequest(str(t1), "gfw", classify=False), SETTINGS)
        again = run_monitor(st, MonitorRequest(str(t1), "gfw", classify=False), SETTINGS)
        assert again.batches[0].skipped
        with __import__("rasterio").open(t1) as ds:
            data = ds.read(1)
        copy = write_tif(tmp_path / "copy.tif", data, block=128)
        counts = st.counts()
        same = run_monitor(st, MonitorRequest(str(copy), "gfw", classify=False), SETTINGS)
        b = same.batches[0]
        assert not b.skipped
        assert (b.new, b.updated, b.merged) == (0, 0, 0)
        assert b.unchanged == first.batches[0].clearings
        assert st.counts()["clearings"] == counts["clearings"]
        assert st.counts()["clearing_history"] == 0
    finally:
        st.close()


def test_a_narrower_filter_changes_nothing(store_factory, tmp_path):
    """v1 at low confidence and every date, then the same tile at high confidence only, or
    from a later date only: the clearings they show lie inside the stored ones, which stay
    as they were (nothing added twice, nothing made smaller)."""
    from datetime import date

    from vigilancia.domain.alerts import Confidence

    a = np.zeros((64, 64), np.uint16)
    a[10:14, 10:14] = LOW_2023
    a[12, 12] = HIGH_2023
    a[40:44, 40:44] = HIGH_2023
    a[40:44, 44] = 3 * 10000 + 3500  # a later column of the second clearing
    tif = write_tif(tmp_path / "a.tif", a)
    st = store_factory.create(tmp_path / "ws")
    try:
        run_monitor(st, MonitorRequest(str(tif), "gfw", classify=False), SETTINGS)
        before = footprints(st)
        for req in (MonitorRequest(str(tif), "gfw", classify=False,
                                   min_confidence=Confidence.HIGH),
                    MonitorRequest(str(tif), "gfw", classify=False, since=date(2024, 1, 1))):
            b = run_monitor(st, req, SETTINGS).batches[0]
            assert (b.new, b.updated, b.unchanged) == (0, 0, 2 if req.since is None else 1)
        assert footprints(st) == before
        assert st.counts()["clearing_history"] == 0
    finally:
        st.close()


@pytest.mark.slow
@pytest.mark.skipif(not MAPBIOMAS.exists(), reason=f"real data not found at {DATA}")
def test_mapbiomas_split_by_year_equals_all_at_once(store_factory, tmp_path):
    """The real MapBiomas alerts: 2021-2022, then 2021-2024 (overlapping) equal all at once;
    an alert is known by its code."""
    table = pq.read_table(MAPBIOMAS)
    years = np.array([str(v)[:4] for v in table.column("detected_at").to_pylist()])
    early = tmp_path / "mapbiomas_2021_2022.parquet"
    pq.write_table(table.filter(np.isin(years, ["2021", "2022"])), early)
    ws = store_factory.create(tmp_path / "ws")
    fresh = store_factory.create(tmp_path / "fresh")
    try:
        one = run_monitor(ws, MonitorRequest(str(early), "mapbiomas", classify=False), SETTINGS)
        two = run_monitor(ws, MonitorRequest(str(MAPBIOMAS), "mapbiomas", classify=False),
                          SETTINGS)
        run_monitor(fresh, MonitorRequest(str(MAPBIOMAS), "mapbiomas", classify=False),
                    SETTINGS)
        assert ws.counts()["clearings"] == fresh.counts()["clearings"] == table.num_rows
        assert two.batches[0].new == table.num_rows - one.batches[0].clearings
        assert two.batches[0].unchanged == one.batches[0].clearings
        assert footprints(ws) == footprints(fresh)
    finally:
        ws.close()
        fresh.close()


def test_a_tile_outside_the_area_of_interest_is_refused(store_factory, tmp_path):
    from vigilancia.errors import InputError
    from vigilancia.services.workspace import set_area_of_interest

    a = np.zeros((64, 64), np.uint16)
    a[10:14, 10:14] = HIGH_2023
    tif = write_tif(tmp_path / "a.tif", a)
    st = store_factory.create(tmp_path / "ws")
    try:
        set_area_of_interest(st, SETTINGS, "-70,-5,-69,-4")
        with pytest.raises(InputError) as err:
            run_monitor(st, MonitorRequest(str(tif), "gfw"), SETTINGS)
        text = err.value.user_text()
        assert "a.tif" in text and "area of interest" in text
        assert st.counts()["alert_batches"] == 0
    finally:
        st.close()


def test_only_the_window_in_the_area_is_read(store_factory, tmp_path):
    """The area covers the west half: clearings of the east half are not ingested, and the
    batch's grid is the window read (not the whole tile)."""
    from vigilancia.services.workspace import set_area_of_interest

    a = np.zeros((128, 256), np.uint16)
    a[20:24, 20:24] = HIGH_2023  # west
    a[60:64, 200:204] = HIGH_2023  # east
    tif = write_tif(tmp_path / "a.tif", a)
    x0, y0 = ORIGIN
    st = store_factory.create(tmp_path / "ws")
    try:
        set_area_of_interest(st, SETTINGS, f"{x0},{y0 - 128 * PIX},{x0 + 100 * PIX},{y0}")
        res = run_monitor(st, MonitorRequest(str(tif), "gfw", classify=False), SETTINGS)
        assert res.clearings == 1
        grid = RasterGrid.from_stats(st.batches.list()[0].stats)
        assert grid is not None and grid.width <= 101 and grid.height == 128
        assert grid.transform[2] == pytest.approx(x0)
    finally:
        st.close()


def test_a_workspace_from_before_the_series_reconciles_too(store_factory, tmp_path, tiles):
    """Clearings stored before anchors existed get them from their footprint when the
    workspace is upgraded (the corner of their first pixel); a later download then finds
    them as it finds new ones."""
    from alembic import command

    from vigilancia.io.store import engine as engine_module

    t1, t2, _edits = tiles
    ws = store_factory.create(tmp_path / "ws")
    fresh = store_factory.create(tmp_path / "fresh")
    try:
        run_monitor(ws, MonitorRequest(str(t1), "gfw", classify=False), SETTINGS)
        anchors = ws.clearings.frame()[["id"]].copy()
        with ws.engine.connect() as conn:
            stored = dict(conn.exec_driver_sql(
                "SELECT id, anchor_lon FROM clearings ORDER BY id").all())
        with ws.engine.begin() as conn:
            command.downgrade(engine_module.alembic_config(conn), "0006")
        path = ws.dir
        ws.close()
        ws = store_factory.open(path)
        with ws.engine.connect() as conn:
            filled = conn.exec_driver_sql(
                "SELECT id, anchor_lon, anchor_lat FROM clearings ORDER BY id").all()
        assert len(filled) == len(anchors)
        for cid, lon, lat in filled:  # inside the same first pixel as the pipeline's anchor
            col = np.floor((lon - ORIGIN[0]) / PIX)
            assert col == np.floor((stored[cid] - ORIGIN[0]) / PIX)
            assert lat < ORIGIN[1]
        run_monitor(ws, MonitorRequest(str(t2), "gfw", classify=False), SETTINGS)
        run_monitor(fresh, MonitorRequest(str(t2), "gfw", classify=False), SETTINGS)
        assert footprints(ws) == footprints(fresh)
    finally:
        ws.close()
        fresh.close()
