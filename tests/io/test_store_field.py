"""Field observations and the files kept as evidence, in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import shapely

from vigilancia.io.store import FieldFileRecord, ObservationRecord, WorkspaceStore

NOW = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


def observation_row(key: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "key": key, "case_id": None, "distance_m": None, "source_format": "gpx",
        "source_file": "ruta.gpx", "file_sha256": "f" * 64, "record_id": key, "kind": "waypoint",
        "lon": -74.9, "lat": -9.4, "geometry": shapely.to_wkb(shapely.Point(-74.9, -9.4)),
        "footprint": None, "observed_at": NOW, "end_at": None, "altitude_m": 210.5,
        "accuracy_m": 4.0, "verdict": None, "notes": None, "attributes": None,
        "attachments": None, "imported_at": NOW,
    }
    row.update(kw)
    return row


def test_observations_round_trip(store: WorkspaceStore):
    with store.transaction() as conn:
        ids = store.observations.add(conn, [
            observation_row("k1", notes="chacra nueva", attributes={"sp": "coca"}),
            observation_row("k2", kind="track", lon=None, lat=None, observed_at=None,
                            end_at=NOW + timedelta(hours=2), verdict="coca_confirmed",
                            attachments=[{"name": "a.jpg", "sha256": "a" * 64}]),
        ])
        assert store.observations.known_keys(["k2", "k9"], conn=conn) == {"k2"}
    assert ids == [1, 2]
    assert store.observations.known_keys(["k1", "k2", "k3"]) == {"k1", "k2"}
    assert store.observations.known_keys([]) == set()
    one, two = store.observations.list()
    assert isinstance(one, ObservationRecord)
    assert (one.id, one.key, one.kind, one.lon, one.altitude_m, one.notes, one.attributes) == (
        1, "k1", "waypoint", -74.9, 210.5, "chacra nueva", {"sp": "coca"})
    assert one.observed_at == NOW and one.observed_at.tzinfo is not None
    assert one.imported_at == NOW and one.imported_at.tzinfo is not None
    assert one.geometry is not None and shapely.from_wkb(one.geometry).equals(
        shapely.Point(-74.9, -9.4))
    assert (two.observed_at, two.end_at, two.verdict) == (
        None, NOW + timedelta(hours=2), "coca_confirmed")
    assert two.attachments == [{"name": "a.jpg", "sha256": "a" * 64}]
    assert store.observations.list(case_id=1) == []


def test_field_files_are_kept_once(store: WorkspaceStore):
    def row(sha: str, name: str, at: datetime) -> dict[str, object]:
        return {"sha256": sha, "size": 1234, "name": name, "stored_path": f"evidencia/{sha}",
                "role": "original", "source": f"/media/{name}", "imported_at": at}

    with store.transaction() as conn:
        assert store.field_files.add(conn, [row("b" * 64, "b.zip", NOW),
                                            row("a" * 64, "a.gpx", NOW),
                                            row("a" * 64, "copia.gpx", NOW)]) == 2
        assert store.field_files.add(conn, [row("a" * 64, "otra.gpx", NOW),
                                            row("c" * 64, "c.jpg", NOW - timedelta(days=1))]) == 1
    kept = store.field_files.list()
    assert all(isinstance(f, FieldFileRecord) for f in kept)
    # by import time, then name
    assert [(f.name, f.sha256[0]) for f in kept] == [("c.jpg", "c"), ("a.gpx", "a"),
                                                     ("b.zip", "b")]
    assert kept[1] == FieldFileRecord("a" * 64, 1234, "a.gpx", f"evidencia/{'a' * 64}",
                                      "original", "/media/a.gpx", NOW)
    assert [f.name for f in store.field_files.list(["b" * 64, "d" * 64])] == ["b.zip"]
