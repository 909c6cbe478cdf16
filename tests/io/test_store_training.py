"""Driver models and clearing labels in the store."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from store_builders import make_clearings, new_batch

from vigilancia.domain.driver_training import LabelRow
from vigilancia.domain.drivers import Driver
from vigilancia.errors import ConflictError, NotFoundError
from vigilancia.io.store import ModelRecord, WorkspaceStore


def test_models_add_activate_and_list(store: WorkspaceStore, english):
    assert store.models.active() is None and store.models.list() == []
    with store.transaction() as conn:
        first = store.models.add(conn, version="gbm-1", kind="gbm", n_labels=200,
                                 params={"depth": 3}, metrics={"f1": 0.7}, blob=b"\x00model")
        second = store.models.add(conn, version="rules-1", kind="rules", n_labels=0,
                                  params=None, metrics=None, blob=None)
    active = store.models.active()
    assert isinstance(active, ModelRecord) and active.id == second and active.blob is None
    listed = store.models.list()
    assert [m.version for m in listed] == ["rules-1", "gbm-1"]  # newest first
    assert [m.active for m in listed] == [True, False]
    assert all(m.blob is None for m in listed)  # bytes are read only for the active model
    gbm = listed[1]
    assert (gbm.id, gbm.kind, gbm.n_labels, gbm.params, gbm.metrics) == (
        first, "gbm", 200, {"depth": 3}, {"f1": 0.7})
    assert gbm.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - gbm.created_at).total_seconds()) < 60
    with store.transaction() as conn:
        store.models.activate(conn, "gbm-1")
    back = store.models.active()
    assert back is not None and back.version == "gbm-1" and back.blob == b"\x00model"
    with pytest.raises(ConflictError, match="already stored"), store.transaction() as conn:
        store.models.add(conn, version="gbm-1", kind="gbm", n_labels=1, params=None,
                         metrics=None, blob=None)
    with pytest.raises(NotFoundError, match="no driver model"), store.transaction() as conn:
        store.models.activate(conn, "nope")
    with store.transaction() as conn:
        store.models.add(conn, version="gbm-2", kind="gbm", n_labels=3, params=None,
                         metrics=None, blob=b"2", activate=False)
        store.models.activate(conn, None)  # back to the rules
    assert store.models.active() is None and len(store.models.list()) == 3


def test_labels_are_typed_and_added_once(store: WorkspaceStore):
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        c1, c2 = store.clearings.add(conn, bid, make_clearings(2)).tolist()
        rows = [
            LabelRow(c1, Driver.COCA, "file:a.csv", date(2024, 3, 1), note="visto"),
            LabelRow(c2, Driver.MINING, "file:a.csv"),
            LabelRow(c1, Driver.COCA, "file:a.csv", date(2024, 3, 1)),  # repeated in the rows
            LabelRow(c1, Driver.OTHER, "patrol:3", date(2024, 5, 2)),
        ]
        assert store.labels.add(conn, rows) == 3
        assert store.labels.add(conn, rows[:2]) == 0  # stored already
        assert store.labels.add(conn, []) == 0
    got = store.labels.list()
    assert [(lab.id, lab.clearing_id, lab.driver, lab.source, lab.observed_at) for lab in got] == [
        (1, c1, Driver.COCA, "file:a.csv", date(2024, 3, 1)),
        (2, c2, Driver.MINING, "file:a.csv", None),
        (3, c1, Driver.OTHER, "patrol:3", date(2024, 5, 2)),
    ]
    assert all(isinstance(lab, LabelRow) and lab.created_at is not None
               and lab.created_at.tzinfo is not None for lab in got)
