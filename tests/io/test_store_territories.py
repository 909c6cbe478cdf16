"""Territories in the store: round trip with an equal-area area, refusals."""

from __future__ import annotations

import pytest
import shapely
from pyproj import Geod
from store_builders import (
    make_territories,
    query,
)

from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.io.store import WorkspaceStore


def test_territories_round_trip_with_equal_area(store: WorkspaceStore):
    items = make_territories()
    assert store.territories.version() == "0:0"
    with store.transaction() as conn:
        ids = store.territories.add(conn, items)
    assert ids == [1, 2, 3, 4]
    got = store.territories.list()
    assert [t.id for t in got] == ids
    geod = Geod(ellps="WGS84")
    for t, stored in zip(items, got, strict=True):
        assert stored.name == t.name and stored.kind == t.kind
        assert stored.source == t.source and stored.source_id == t.source_id
        assert stored.people == t.people and stored.tenure == t.tenure
        assert stored.title_date == t.title_date
        assert shapely.equals_exact(stored.geometry, t.geometry, 0)
        expected_ha = abs(geod.geometry_area_perimeter(t.geometry)[0]) / 10_000
        assert stored.area_ha == pytest.approx(expected_ha, rel=1e-4)
    # ~5.5 km x 5.5 km: about 3000 ha
    assert 2900 < got[0].area_ha < 3200  # type: ignore[operator]
    communities = store.territories.list([TerritoryKind.COMMUNITY])
    assert [t.name for t in communities] == ["CN Unión Santa Rosa", "CN Yamino"]
    assert store.territories.list([TerritoryKind.DISTRICT]) == []
    assert store.territories.version() == "4:4"
    ((attrs,),) = query(store, "SELECT CAST(attributes AS TEXT) FROM territories WHERE id = 1")
    assert "Resolucion".lower() in attrs and "250302" in attrs


def test_territory_without_geometry_is_refused(store: WorkspaceStore):
    bad = Territory(
        name="vacía", kind=TerritoryKind.COMMUNITY, geometry=shapely.Polygon(), source="x"
    )
    with pytest.raises(ValueError, match="vacía"), store.transaction() as conn:
        store.territories.add(conn, [bad])
    assert store.counts()["territories"] == 0
