"""Batches and clearings in the store: writes, placement, every read shape, scale."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from store_builders import (
    make_clearings,
    make_placement,
    make_territories,
    new_batch,
    nulls,
    query,
    stored_world,
    use_path,
    with_odd_rows,
)

from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.territories import TerritoryKind
from vigilancia.errors import ConflictError
from vigilancia.io.store import (
    BatchRecord,
    ClearingOverlaps,
    DriverCounts,
    NewBatch,
    UncasedClearings,
    WorkspaceStore,
)
from vigilancia.io.store import schema as s

# ------------------------------------------------------------------- batches


def test_batch_round_trip_and_idempotent_key(store: WorkspaceStore, english):
    batch = new_batch()
    assert store.batches.find(batch.key) is None
    with store.transaction() as conn:
        bid = store.batches.add(conn, batch)
    rec = store.batches.find(batch.key)
    assert isinstance(rec, BatchRecord) and rec.id == bid
    for f in fields(NewBatch):
        if f.name != "series":
            assert getattr(rec, f.name) == getattr(batch, f.name), f.name
    assert rec.series == batch.product  # a batch with no series named joins its product's
    assert rec.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - rec.created_at).total_seconds()) < 60
    with (
        pytest.raises(ConflictError, match="already ingested") as info,
        store.transaction() as conn,
    ):
        store.batches.add(conn, batch)
    assert batch.key in info.value.message
    with store.transaction() as conn:
        bid2 = store.batches.add(conn, new_batch("other", since=None, until=None, stats={}))
    assert [b.id for b in store.batches.list()] == [bid, bid2]
    assert store.batches.list()[1].since is None and store.batches.list()[1].stats == {}


def test_update_batch_totals(store: WorkspaceStore):
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch(n_pixels=0, n_clearings=0, area_ha=0.0))
        store.batches.set_totals(conn, bid, n_pixels=900, n_clearings=12, area_ha=8.1)
        with pytest.raises(ValueError, match="no alert batch"):
            store.batches.set_totals(conn, bid + 1, n_pixels=1, n_clearings=1, area_ha=1.0)
    rec = store.batches.list()[0]
    assert (rec.n_pixels, rec.n_clearings, rec.area_ha) == (900, 12, 8.1)
    assert rec.stats == new_batch().stats  # kept when not given
    with store.transaction() as conn:
        store.batches.set_totals(conn, bid, n_pixels=1, n_clearings=1, area_ha=1.0, stats={"x": 1})
    assert store.batches.list()[0].stats == {"x": 1}


def test_unique_key_race_is_a_clean_error(store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch):
    """If the key appears after the check (a concurrent writer), the unique index still wins."""
    with store.transaction() as conn:
        store.batches.add(conn, new_batch())
    monkeypatch.setattr(store.batches, "find", lambda key, conn=None: None)
    with pytest.raises(ConflictError), store.transaction() as conn:
        store.batches.add(conn, new_batch())
    assert store.counts()["alert_batches"] == 1
    # and bypassing the store, the index refuses it too
    with pytest.raises(sa.exc.IntegrityError), store.transaction() as conn:
        conn.execute(
            sa.insert(s.alert_batches).values(
                key=new_batch().key,
                source="x",
                product="p",
                min_confidence="high",
                sha256="c",
                n_pixels=0,
                n_clearings=0,
                area_ha=0.0,
                created_at=datetime.now(UTC),
            )
        )
    assert store.counts()["alert_batches"] == 1


# ----------------------------------------------------------------- clearings


def assert_frame_matches(frame, cs: ClearingSet, ids: np.ndarray) -> None:
    assert list(frame["id"]) == ids.tolist()
    for name in (
        "area_ha",
        "perimeter_m",
        "length_m",
        "width_m",
        "orientation_deg",
        "elongation",
        "compactness",
        "centroid_lon",
        "centroid_lat",
    ):
        np.testing.assert_array_equal(frame[name].to_numpy(), getattr(cs, name), err_msg=name)
    for name in ("pixels_low", "pixels_high", "pixels_highest", "pixel_count"):
        np.testing.assert_array_equal(frame[name].to_numpy(), getattr(cs, name), err_msg=name)
    for name in ("first_date", "last_date"):
        expected = [None if np.isnat(d) else str(d) for d in getattr(cs, name)]
        assert nulls(frame[name]) == expected, name
    assert nulls(frame["source_ref"]) == list(cs.source_ref)
    assert all(
        shapely.equals_exact(a, b, 0) for a, b in zip(frame.geometry, cs.geometry, strict=True)
    )


@pytest.mark.parametrize("fast", [True, False], ids=["raw-sqlite", "core"])
def test_clearings_round_trip_every_field(store: WorkspaceStore, fast: bool):
    use_path(store, fast)
    cs = with_odd_rows(make_clearings(50, seed=3))
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        ids = store.clearings.add(conn, bid, cs)
    assert ids.dtype == np.int64 and ids.tolist() == list(range(1, 51))
    frame = store.clearings.frame()
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == 50
    assert_frame_matches(frame, cs, ids)
    assert frame.geometry.iloc[1].geom_type == "MultiPolygon"
    assert np.isnan(frame["perimeter_m"].iloc[1])
    assert pd.isna(frame["last_date"].iloc[2])
    assert set(frame["batch_id"]) == {bid}
    assert set(frame["product"]) == {"gfw_integrated"}
    assert set(frame["status"]) == {"new"}
    assert frame["nearest_territory_id"].isna().all()
    assert frame["nearest_territory"].isna().all()
    assert frame["boundary_distance_m"].isna().all()
    assert not frame["within_buffer"].any()
    for col in ("territories", "reserves", "protected_areas", "districts"):
        assert frame[col].isna().all()
    # a second batch continues the ids
    with store.transaction() as conn:
        bid2 = store.batches.add(conn, new_batch("second"))
        ids2 = store.clearings.add(conn, bid2, make_clearings(5, seed=4))
    assert ids2.tolist() == [51, 52, 53, 54, 55]
    assert len(store.clearings.frame([bid2])) == 5
    assert len(store.clearings.frame([bid, bid2])) == 55
    assert len(store.clearings.frame([])) == 0


def test_bbox_columns_and_wkb(store: WorkspaceStore):
    cs = make_clearings(10, seed=5)
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        store.clearings.add(conn, bid, cs)
    rows = query(store, "SELECT geometry, minx, miny, maxx, maxy FROM clearings ORDER BY id")
    for (wkb, *bounds), geom in zip(rows, cs.geometry, strict=True):
        assert shapely.from_wkb(bytes(wkb)).equals_exact(geom, 0)
        assert tuple(bounds) == geom.bounds


def test_clearing_positions_are_lean_and_filtered(store: WorkspaceStore):
    cs = make_clearings(12, seed=6)
    lon = cs.centroid_lon.copy()
    lon[3] = np.nan  # no stored centroid: the centre of its box stands in
    cs = replace(cs, centroid_lon=lon)
    with store.transaction() as conn:
        first = store.clearings.add(conn, store.batches.add(conn, new_batch()), cs)
        second = store.clearings.add(conn, store.batches.add(conn, new_batch("k2")), cs)
    where = store.clearings.positions(batch_ids=[1])
    ids, x, y, bounds = where.id, where.lon, where.lat, where.bounds
    assert ids.tolist() == first.tolist()
    np.testing.assert_allclose(y, cs.centroid_lat)
    np.testing.assert_allclose(bounds, shapely.bounds(cs.geometry))
    box_centre = (bounds[3, 0] + bounds[3, 2]) / 2
    assert x[3] == pytest.approx(box_centre) and np.isfinite(x).all()
    picked = [int(first[0]), int(second[5]), 999_999]
    where = store.clearings.positions(clearing_ids=picked)
    ids, x, y, bounds = where.id, where.lon, where.lat, where.bounds
    assert ids.tolist() == picked[:2] and bounds.shape == (2, 4)
    assert store.clearings.positions(batch_ids=[1], clearing_ids=picked).id.tolist() == picked[:1]
    assert len(store.clearings.positions(clearing_ids=[]).id) == 0


def test_empty_clearing_set(store: WorkspaceStore):
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        ids = store.clearings.add(conn, bid, ClearingSet.empty(), Placement.empty(0))
    assert ids.shape == (0,)
    frame = store.clearings.frame()
    assert len(frame) == 0 and "geometry" in frame and frame.crs.to_epsg() == 4326
    assert store.clearings.by_territory() == []


# ----------------------------------------------------------------- placement


@pytest.mark.parametrize("inline", [True, False], ids=["in-insert", "add_placement"])
@pytest.mark.parametrize("fast", [True, False], ids=["raw-sqlite", "core"])
def test_placement_rows_and_frame_columns(store: WorkspaceStore, inline: bool, fast: bool):
    use_path(store, fast)
    w = stored_world(store, inline=inline)
    assert store.counts()["clearing_territories"] == 10
    rows = query(
        store,
        "SELECT clearing_id, territory_id, area_ha, share FROM clearing_territories "
        "ORDER BY clearing_id, territory_id",
    )
    assert rows[:2] == [(1, w["a"], 2.0, 1.0), (1, w["p"], 2.0, 1.0)]
    assert rows[-1] == (7, w["r"], 1.0, 0.25)
    f = store.clearings.frame().set_index("id")
    assert f.loc[2, "territories"] == "CN Unión Santa Rosa; CN Yamino"
    assert f.loc[2, "protected_areas"] == "PN Cordillera Azul"
    assert pd.isna(f.loc[2, "reserves"])
    assert pd.isna(f.loc[4, "territories"])
    assert f.loc[4, "nearest_territory"] == "CN Unión Santa Rosa"
    assert f.loc[4, "nearest_territory_id"] == w["a"]
    assert f.loc[4, "boundary_distance_m"] == 1200.0
    assert bool(f.loc[4, "within_buffer"]) is True
    assert f.loc[5, "reserves"] == "RI Kakataibo Norte y Sur"
    assert np.isnan(f.loc[5, "boundary_distance_m"])
    assert f["nearest_territory_id"].isna().tolist() == [
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    assert pd.isna(f.loc[5, "nearest_territory"]) and not f.loc[5, "within_buffer"]
    assert f.loc[3, "territories"] == "CN Yamino"
    assert f["districts"].isna().all()
    f1 = store.clearings.frame([w["b1"]])
    assert len(f1) == 5 and f1["reserves"].notna().sum() == 1


def test_add_placement_replaces_previous(store: WorkspaceStore):
    w = stored_world(store)
    ids = w["ids1"]
    new = make_placement(
        5, [(3, w["b"], 0.7, 0.9)], nearest=[w["b"]] * 5, distance=[5.0] * 5, within=[True] * 5
    )
    with store.transaction() as conn:
        store.clearings.set_placement(conn, ids, new)
    f = store.clearings.frame([w["b1"]]).set_index("id")
    assert nulls(f["territories"]) == [None, None, None, "CN Yamino", None]
    assert f["protected_areas"].isna().all()
    assert (f["nearest_territory_id"] == w["b"]).all()
    assert store.counts()["clearing_territories"] == 1 + 2  # batch 2 untouched
    # non-contiguous ids take the IN path
    sel = np.array([ids[0], ids[4]])
    with store.transaction() as conn:
        store.clearings.set_placement(conn, sel, make_placement(2, [(1, w["r"], 0.5, 1.0)]))
    assert store.counts()["clearing_territories"] == 1 + 1 + 2


def test_placement_is_validated(store: WorkspaceStore):
    w = stored_world(store)
    with pytest.raises(ValueError, match="nearest_territory"), store.transaction() as conn:
        store.clearings.set_placement(conn, w["ids1"], make_placement(4, []))
    with pytest.raises(ValueError, match="index"), store.transaction() as conn:
        store.clearings.set_placement(
            conn, w["ids1"][:2], make_placement(2, [(2, w["a"], 1.0, 1.0)])
        )
    with pytest.raises(ValueError, match="twice"), store.transaction() as conn:
        store.clearings.set_placement(
            conn, w["ids1"][:2], make_placement(2, [(0, w["a"], 1.0, 1.0), (0, w["a"], 1.0, 1.0)])
        )
    with pytest.raises(ValueError, match="not stored"), store.transaction() as conn:
        store.clearings.set_placement(conn, np.array([999, 1000]), make_placement(2, []))
    with pytest.raises(sa.exc.IntegrityError), store.transaction() as conn:  # unknown territory
        store.clearings.set_placement(conn, w["ids1"][:1], make_placement(1, [(0, 999, 1.0, 1.0)]))
    assert store.counts()["clearing_territories"] == 10


@pytest.mark.parametrize("fast", [True, False], ids=["raw-sqlite", "core"])
def test_bulk_transaction_refuses_missing_parents(store: WorkspaceStore, fast: bool):
    use_path(store, fast)
    with store.transaction() as conn:
        a, *_ = store.territories.add(conn, make_territories())
    before = store.counts()
    cases = [
        (make_placement(2, [(0, 999, 1.0, 1.0)], nearest=[a, a]), None),  # unknown overlap
        (make_placement(2, [], nearest=[a, 998]), None),  # unknown nearest territory
        (make_placement(2, [], nearest=[a, a]), 12345),  # unknown batch
    ]
    for placement, batch in cases:
        with pytest.raises(sa.exc.IntegrityError), store.transaction(bulk=True) as conn:
            bid = store.batches.add(conn, new_batch())
            store.clearings.add(conn, batch or bid, make_clearings(2), placement)
        assert store.counts() == before
    with pytest.raises(sa.exc.IntegrityError), store.transaction(bulk=True) as conn:
        bid = store.batches.add(conn, new_batch())
        ids = store.clearings.add(conn, bid, make_clearings(2))
        store.clearings.set_placement(
            conn, ids, make_placement(2, [(1, 997, 1.0, 1.0)], nearest=[a, a])
        )
    assert store.counts() == before
    if store.is_sqlite:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_territory_summary_aggregates_by_hand(store: WorkspaceStore):
    w = stored_world(store)
    summary = store.clearings.by_territory()
    assert [(s.name, s.clearings, s.area_ha) for s in summary] == [
        ("CN Unión Santa Rosa", 3, 8.0),  # 2.0 + 1.0 (batch 1) + 5.0 (batch 2)
        ("PN Cordillera Azul", 3, 7.0),  # 2.0 + 2.0 + 3.0
        ("CN Yamino", 2, 4.0),  # 1.0 + 3.0
        ("RI Kakataibo Norte y Sur", 2, 1.5),  # 0.5 + 1.0
    ]
    a = summary[0]
    assert a.territory_id == w["a"] and a.kind == TerritoryKind.COMMUNITY
    # clearings 0, 1 of batch 1 and 0 of batch 2
    assert (a.first_date, a.last_date) == (date(2024, 3, 1), date(2024, 6, 11))
    p = summary[1]
    assert p.kind == TerritoryKind.PROTECTED_AREA
    assert (p.first_date, p.last_date) == (date(2024, 3, 1), date(2024, 4, 30))
    r = summary[3]
    assert (r.first_date, r.last_date) == (date(2024, 1, 15), date(2024, 7, 1))

    only1 = store.clearings.by_territory([w["b1"]])
    assert [(s.name, s.clearings, s.area_ha) for s in only1] == [
        ("PN Cordillera Azul", 3, 7.0),
        ("CN Yamino", 2, 4.0),
        ("CN Unión Santa Rosa", 2, 3.0),
        ("RI Kakataibo Norte y Sur", 1, 0.5),
    ]
    assert only1[2].last_date == date(2024, 3, 20)
    assert store.clearings.by_territory([w["b2"]])[0].area_ha == 5.0
    assert store.clearings.by_territory([12345]) == []


# ---------------------------------------------------------------- lean reads


def test_lean_reads_of_the_stored_world(store: WorkspaceStore):
    """The read shapes beside the frame and the columns, checked by hand on stored_world."""
    w = stored_world(store)
    a, b, r = w["a"], w["b"], w["r"]
    kinds = [TerritoryKind.RESERVE, TerritoryKind.PROTECTED_AREA]
    assert store.clearings.overlapping(kinds).tolist() == [1, 2, 3, 5, 7]
    assert store.clearings.overlapping(kinds, batch_ids=[w["b2"]]).tolist() == [7]
    assert store.clearings.overlapping([TerritoryKind.DISTRICT]).tolist() == []
    ov = store.clearings.overlaps([TerritoryKind.COMMUNITY])
    assert isinstance(ov, ClearingOverlaps) and len(ov) == 5
    # by clearing, then largest share, then territory id
    assert ov.clearing_id.tolist() == [1, 2, 2, 3, 6]
    assert ov.territory_id.tolist() == [a, a, b, b, a]
    assert ov.share.tolist() == [1.0, 0.5, 0.5, 1.0, 1.0]
    assert len(store.clearings.overlaps([TerritoryKind.DISTRICT])) == 0
    uncased = store.clearings.uncased()
    assert isinstance(uncased, UncasedClearings) and uncased.id.tolist() == list(range(1, 8))
    assert uncased.nearest_territory_id.tolist() == [a, a, b, a, -1, a, r]
    assert uncased.within_buffer.tolist() == [True] * 4 + [False] + [True] * 2
    assert uncased.last_date.astype(str).tolist() == [
        "2024-03-20", "2024-03-09", "2024-04-30", "2024-02-03", "2024-05-02", "2024-06-11",
        "2024-07-01"]
    assert store.clearings.latest_alert_date() == date(2024, 7, 1)
    bounds = store.clearings.columns().bounds
    assert store.clearings.extent() == (
        bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
    points = store.clearings.points()
    assert points.id.tolist() == list(range(1, 8)) and points.probs == {}
    assert points.first_date[0] == np.datetime64("2024-03-05")
    assert store.clearings.by_driver() == DriverCounts({}, None)


def test_lean_reads_of_an_empty_workspace(store: WorkspaceStore):
    assert store.clearings.extent() is None and store.clearings.latest_alert_date() is None
    assert len(store.clearings.uncased()) == 0 and len(store.clearings.points()) == 0
    assert len(store.clearings.positions()) == 0 and len(store.clearings.columns()) == 0
    assert store.clearings.by_territory() == []


def test_driver_counts_and_points_after_classification(store: WorkspaceStore):
    w = stored_world(store)
    ids = np.concatenate([w["ids1"], w["ids2"]])
    drivers = ["coca", "coca", "mining", "other", "coca", "mining", "coca"]
    with store.transaction() as conn:
        store.clearings.set_drivers(conn, ids[:4], drivers[:4], np.full(4, 0.6),
                                    [{"other": 0.4, d: 0.6} for d in drivers[:4]], [[]] * 4, "m1")
        store.clearings.set_drivers(conn, ids[4:], drivers[4:], np.full(3, 0.9),
                                    [{d: 0.9} for d in drivers[4:]], [[]] * 3, "m2")
    assert store.clearings.by_driver() == DriverCounts({"coca": 4, "mining": 2, "other": 1}, "m1")
    assert store.clearings.by_driver([w["b2"]]) == DriverCounts({"coca": 1, "mining": 1}, "m2")
    points = store.clearings.points()
    np.testing.assert_array_equal(points.probs["coca"], [0.6, 0.6, np.nan, np.nan, 0.9, np.nan,
                                                         0.9])
    np.testing.assert_array_equal(points.probs["other"], [0.4, 0.4, 0.4, 0.6, np.nan, np.nan,
                                                          np.nan])


# ------------------------------------------------------------------- drivers
# (predictions written in bulk, read back in the clearings frame)


def test_predictions_round_trip_and_replace(store):
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        ids = store.clearings.add(conn, bid, make_clearings(3, seed=2))
    frame = store.clearings.frame()
    assert frame["driver"].isna().all() and frame["model_version"].isna().all()

    probs = [{"coca": 0.7, "airstrip": 0.1, "other": 0.2}, {"airstrip": 0.9, "other": 0.1},
             {"other": 1.0}]
    reasons = [
        [{"code": "small_irregular", "params": {"area_ha": 1.2}},
         {"code": "near_river", "params": {"distance_m": 300.0}}],
        [{"code": "straight_strip", "params": {"length_m": 820.0, "width_m": 30.0}}],
        [],
    ]
    with store.transaction() as conn:
        n = store.clearings.set_drivers(conn, ids, ["coca", "airstrip", "other"],
                                         np.array([0.7, 0.9, 1.0]), probs, reasons, "rules-1")
    assert n == 3
    frame = store.clearings.frame()
    assert frame["driver"].tolist() == ["coca", "airstrip", "other"]
    assert frame["driver_probability"].tolist() == [0.7, 0.9, 1.0]
    assert frame["driver_reasons"].tolist() == reasons
    assert set(frame["model_version"]) == {"rules-1"}

    with store.transaction() as conn:  # a later model replaces the prediction
        store.clearings.set_drivers(conn, ids[:1], ["other"], np.array([0.55]),
                                     [{"other": 0.55, "coca": 0.45}], [[]], "gbm-abc")
    frame = store.clearings.frame()
    assert frame["driver"].tolist() == ["other", "airstrip", "other"]
    assert frame["model_version"].tolist() == ["gbm-abc", "rules-1", "rules-1"]


def test_details_of_a_few_clearings(store):
    """The report's read: product, source, pixels by confidence, driver, reasons, model."""
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        ids = store.clearings.add(conn, bid, make_clearings(3, seed=4))
        store.clearings.set_drivers(
            conn, ids[:2], ["coca", "airstrip"], np.array([0.7, 0.9]),
            [{"coca": 0.7, "other": 0.3}, {"airstrip": 0.9, "other": 0.1}],
            [[{"code": "near_river", "params": {"distance_m": 300.0}}], []], "rules-1")
    stored = store.clearings.columns(clearing_ids=ids)
    found = store.clearings.details([int(ids[2]), int(ids[0]), 10_000])
    assert [d.id for d in found] == [int(ids[0]), int(ids[2])]
    first, last = found
    assert first.product == new_batch().product and first.source == new_batch().source
    assert first.driver == "coca" and first.driver_probability == 0.7
    assert first.driver_probs == {"coca": 0.7, "other": 0.3}
    assert first.driver_reasons == [{"code": "near_river", "params": {"distance_m": 300.0}}]
    assert first.model_version == "rules-1"
    assert first.area_ha == pytest.approx(float(stored.area_ha[0]))
    assert first.pixels_low + first.pixels_high + first.pixels_highest == stored.pixel_count[0]
    assert last.driver is None and last.driver_probs == {} and last.driver_reasons == []
    assert store.clearings.details([]) == []


def test_predictions_need_one_entry_per_clearing(store):
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        ids = store.clearings.add(conn, bid, make_clearings(2))
        with pytest.raises(ValueError):
            store.clearings.set_drivers(conn, ids, ["coca"], np.array([0.5]), [{}], [[]], "x")


# --------------------------------------------------------------------- scale


@pytest.mark.slow
def test_100k_clearings_insert_and_read(store: WorkspaceStore):
    n = 100_000
    cs = make_clearings(n, seed=7)
    k = n // 3  # a third of the clearings overlap one territory
    with store.transaction() as conn:
        (tid,) = store.territories.add(conn, make_territories()[:1])
        bid = store.batches.add(conn, new_batch())
        placement = make_placement(
            n,
            [],
            nearest=np.full(n, tid),
            distance=np.linspace(0, 5000, n),
            within=np.ones(n, bool),
        )
        placement = Placement(
            overlap_clearing=np.arange(k, dtype=np.int64),
            overlap_territory=np.full(k, tid, np.int64),
            overlap_area_ha=cs.area_ha[:k],
            overlap_share=np.ones(k),
            nearest_territory=placement.nearest_territory,
            boundary_distance_m=placement.boundary_distance_m,
            within_buffer=placement.within_buffer,
        )
        ids = store.clearings.add(conn, bid, cs, placement)
    assert ids[0] == 1 and ids[-1] == n
    frame = store.clearings.frame()
    assert len(frame) == n
    assert frame["territories"].notna().sum() == k
    np.testing.assert_array_equal(frame["area_ha"].to_numpy(), cs.area_ha)
    (summary,) = store.clearings.by_territory()
    assert summary.clearings == k
    assert summary.area_ha == pytest.approx(cs.area_ha[:k].sum())
