"""Corridor runs and their corridors in the store."""

from __future__ import annotations

from datetime import date

import shapely
from shapely.geometry import LineString

from vigilancia.io.store import WorkspaceStore


def test_runs_and_their_corridors(store: WorkspaceStore):
    assert store.corridors.runs() == [] and store.corridors.latest_run() is None
    assert store.corridors.list() == []
    line = LineString([(-74.9, -9.4), (-74.5, -9.0), (-74.0, -8.9)])
    with store.transaction() as conn:
        first, ids = store.corridors.add_run(
            conn, as_of=date(2024, 6, 30), params={"air_km": 300}, summary={"routes": 2},
            corridors=[("runway:12", "Puerto Inca", ["trail", "river"], 82.5, 6.25, line),
                       ("zone:3", None, [], 10.0, 1.5, LineString([(0, 0), (1, 1)]))])
        empty, none = store.corridors.add_run(conn, as_of=None, params={}, summary={},
                                              corridors=[])
    assert ids == [1, 2] and none == []
    runs = store.corridors.runs()
    assert [(r.id, r.as_of, r.params, r.summary) for r in runs] == [
        (first, date(2024, 6, 30), {"air_km": 300}, {"routes": 2}), (empty, None, {}, {})]
    latest = store.corridors.latest_run()
    assert latest is not None and latest.id == empty
    dated = store.corridors.latest_run(as_of=date(2024, 6, 30))
    assert dated is not None and dated.id == first
    assert store.corridors.latest_run(as_of=date(2020, 1, 1)) is None
    assert store.corridors.list() == []  # the newest run found none
    got = store.corridors.list(first)
    assert [(c.id, c.run_id, c.origin, c.exit_name, c.modes, c.length_km, c.cost_h)
            for c in got] == [(1, first, "runway:12", "Puerto Inca", ("trail", "river"), 82.5,
                               6.25),
                              (2, first, "zone:3", None, (), 10.0, 1.5)]
    assert shapely.equals_exact(got[0].geometry, line, 0)
