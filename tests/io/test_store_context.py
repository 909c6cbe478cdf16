"""Context layers and the ledger of imported files."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, Point

from vigilancia.domain.context import ContextKind
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


def test_context_features_round_trip(store: WorkspaceStore):
    river = LineString([(-74.95, -9.45), (-74.85, -9.35)])
    with store.transaction() as conn:
        import_id = store.imports.record(conn, "c" * 64, "context:river", "rios.gpkg", 1)
        rivers = store.context.add(
            conn, import_id, ContextKind.RIVER,
            [(river, "Río Aguaytía", "Río", {"CODIGO": 12, "nota": "ñ"})],
        )
        villages = store.context.add(conn, None, "settlement", [
            (Point(-74.9, -9.4), "Unión", None, None),
            (Point(-75.5, -9.9), None, "caserío", {}),
        ])
        assert store.context.add(conn, None, ContextKind.ROAD, []) == []
    assert rivers == [1] and villages == [2, 3]
    assert store.context.count_by_kind() == {"river": 1, "settlement": 2}
    every = store.context.features()
    assert every.id.tolist() == [1, 2, 3]
    assert every.kind.tolist() == ["river", "settlement", "settlement"]
    assert every.name.tolist() == ["Río Aguaytía", "Unión", None]
    assert every.feature_class.tolist() == ["Río", None, "caserío"]
    assert shapely.equals_exact(every.geometry[0], river, 0)
    near = store.context.features(bounds=(-75.0, -9.5, -74.8, -9.3))
    assert near.id.tolist() == [1, 2]
    far = store.context.features([ContextKind.SETTLEMENT], bounds=(-76, -10, -75, -9.5))
    assert far.name.tolist() == [None]
    assert len(store.context.features(["airstrip"])) == 0
    # attributes: only the features that came with some
    assert store.context.attributes() == {1: {"CODIGO": 12, "nota": "ñ"}}
    assert store.context.attributes([ContextKind.SETTLEMENT]) == {}


def test_context_feature_without_geometry_is_refused(store: WorkspaceStore):
    with pytest.raises(ValueError, match="no geometry"), store.transaction() as conn:
        store.context.add(conn, None, ContextKind.ROAD, [(shapely.LineString(), "x", None, None)])
    assert store.counts()["context_features"] == 0
