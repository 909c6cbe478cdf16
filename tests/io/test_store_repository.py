"""What the repositories share: writes need a transaction, bulk dates, ids, chunks, parents."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from store_builders import make_territories, new_batch

from vigilancia.errors import StoreError
from vigilancia.io.store import WorkspaceStore
from vigilancia.io.store import schema as s
from vigilancia.io.store.repository import (
    IN_CHUNK,
    in_chunks,
    insert_rows,
    missing_ids,
    next_id,
)


def test_writes_need_a_transaction(store: WorkspaceStore):
    with store.engine.connect() as conn, pytest.raises(ValueError, match="transaction"):
        store.batches.add(conn, new_batch())


def test_bulk_dates_are_iso_text_or_null(tmp_path: Path):
    with WorkspaceStore.create(tmp_path / "ws") as st:
        for values in (
            ["2024-03-01", "NaT", "2019-12-31", "2024-03-01"],
            ["NaT", "NaT"],
            ["1970-01-01", "2250-06-30", "NaT"],  # far apart: formatted one by one
            [],
        ):
            days = np.array(values, "datetime64[D]")
            assert st.db.dates(days) == [None if v == "NaT" else v for v in values]


def test_ids_chunks_and_parent_checks(store: WorkspaceStore):
    assert [len(c) for c in in_chunks(list(range(2 * IN_CHUNK + 1)))] == [IN_CHUNK, IN_CHUNK, 1]
    assert list(in_chunks([])) == []
    with store.transaction() as conn:
        assert next_id(conn, s.territories) == 1
        ids = store.territories.add(conn, make_territories())
        assert next_id(conn, s.territories) == ids[-1] + 1
        # the order given is kept; ids beyond one IN list are found too
        assert missing_ids(conn, s.territories, [99, ids[0], 7, ids[1]]) == [99, 7]
        assert missing_ids(conn, s.territories, [*range(1000, 1000 + 2 * IN_CHUNK), *ids]) == [
            *range(1000, 1000 + 2 * IN_CHUNK)
        ]
        insert_rows(conn, s.workspace_meta, [{"key": f"k{i}", "value": i} for i in range(3)])
        insert_rows(conn, s.workspace_meta, [])
    assert [store.get_meta(f"k{i}") for i in range(3)] == [0, 1, 2]


def test_reads_share_the_store_connection_rules(store: WorkspaceStore):
    """Reads open their own connection, or read inside the given transaction."""
    with store.transaction() as conn:
        store.batches.add(conn, new_batch())
        with store.db.reader(conn) as same:
            assert same is conn
        assert store.db.fetch_all(conn, sa.select(s.alert_batches.c.key)) == [(new_batch().key,)]
        assert store.batches.list() == []  # another connection: the last commit
    assert [b.key for b in store.batches.list()] == [new_batch().key]


def test_a_failed_read_connection_is_a_store_error(tmp_path: Path, english):
    with WorkspaceStore.create(tmp_path / "ws") as st:
        st.engine.dispose()
        shutil.rmtree(tmp_path / "ws")  # nowhere to open the file again
        with pytest.raises(StoreError, match="could not be read or written"):
            st.territories.list()
