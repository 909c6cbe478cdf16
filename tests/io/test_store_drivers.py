"""Driver predictions in the store: written in bulk, read back in the clearings frame."""

import numpy as np
import pytest

from tests.io.test_store import make_clearings, new_batch


@pytest.fixture
def store(store_factory, tmp_path):
    with store_factory.create(tmp_path / "ws") as st:
        yield st


def test_predictions_round_trip_and_replace(store):
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch())
        ids = store.add_clearings(conn, bid, make_clearings(3, seed=2))
    frame = store.clearings_frame()
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
        n = store.set_driver_predictions(conn, ids, ["coca", "airstrip", "other"],
                                         np.array([0.7, 0.9, 1.0]), probs, reasons, "rules-1")
    assert n == 3
    frame = store.clearings_frame()
    assert frame["driver"].tolist() == ["coca", "airstrip", "other"]
    assert frame["driver_probability"].tolist() == [0.7, 0.9, 1.0]
    assert frame["driver_reasons"].tolist() == reasons
    assert set(frame["model_version"]) == {"rules-1"}

    with store.transaction() as conn:  # a later model replaces the prediction
        store.set_driver_predictions(conn, ids[:1], ["other"], np.array([0.55]),
                                     [{"other": 0.55, "coca": 0.45}], [[]], "gbm-abc")
    frame = store.clearings_frame()
    assert frame["driver"].tolist() == ["other", "airstrip", "other"]
    assert frame["model_version"].tolist() == ["gbm-abc", "rules-1", "rules-1"]


def test_predictions_need_one_entry_per_clearing(store):
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch())
        ids = store.add_clearings(conn, bid, make_clearings(2))
        with pytest.raises(ValueError):
            store.set_driver_predictions(conn, ids, ["coca"], np.array([0.5]), [{}], [[]], "x")
