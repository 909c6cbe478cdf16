"""What the repositories share: writes need a transaction, bulk dates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from store_builders import (
    new_batch,
)

from vigilancia.io.store import WorkspaceStore


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
