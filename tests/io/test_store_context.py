"""Context layers and the ledger of imported files."""

from __future__ import annotations

import pytest

from vigilancia.errors import ConflictError
from vigilancia.io.store import WorkspaceStore


def test_layer_imports_are_idempotent(store: WorkspaceStore, english):
    sha = "b" * 64
    assert not store.imports.has(sha, "territories")
    with store.transaction() as conn:
        store.imports.record(conn, sha, "territories", "comunidades.gpkg", 4)
        assert store.imports.has(sha, "territories", conn=conn)
    assert store.imports.has(sha, "territories")
    assert not store.imports.has(sha, "protected_areas")
    with pytest.raises(ConflictError, match="already imported"), store.transaction() as conn:
        store.imports.record(conn, sha, "territories", "comunidades.gpkg", 4)
    assert store.counts()["layer_imports"] == 1
