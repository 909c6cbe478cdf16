"""The web app's tables on both backends: accounts, sessions, login attempts, the audit log,
and the map's index of clearings with its reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from store_builders import make_clearings, new_batch

from vigilancia.domain.tiling import FULL_ZOOM, cover_ranges, qkeys, thin_minzoom, tile_key_range
from vigilancia.errors import NotFoundError
from vigilancia.io.store import ClearingFilter


def test_accounts_sessions_and_attempts(store):
    now = datetime.now(UTC)
    with store.transaction() as conn:
        uid = store.users.add(conn, name="Ana María", name_key="ana maría", role="coordinator",
                              password_hash="$argon2id$x", created_by="pruebas", at=now)
        store.sessions.add(conn, token_hash="a" * 64, user_id=uid, csrf_token="c" * 43, at=now,
                           expires_at=now + timedelta(hours=12), address="10.0.0.5")
    user = store.users.find("ana maría")
    assert user is not None and user.name == "Ana María" and user.active
    assert store.users.find("nadie") is None
    found = store.sessions.find("a" * 64)
    assert found is not None and found.user.id == uid and found.csrf_token == "c" * 43
    assert found.expires_at > now and found.created_at.tzinfo is not None
    with store.transaction() as conn:
        store.sessions.touch(conn, "a" * 64, now + timedelta(minutes=5))
    assert store.sessions.find("a" * 64).last_seen > found.last_seen
    with store.transaction() as conn:
        assert store.sessions.delete_expired(conn, now, now - timedelta(hours=1)) == 0
        assert store.sessions.delete_expired(conn, now + timedelta(days=1), now) == 1
    assert store.sessions.find("a" * 64) is None
    with store.transaction() as conn:
        store.users.set_active(conn, uid, False, now)
    assert store.users.find("ana maría").active is False
    # attempts: a good login clears its account's failures, not its address's
    t0 = now - timedelta(minutes=10)
    with store.transaction() as conn:
        for i, ok in enumerate([False, False, True, False]):
            store.logins.add(conn, name_key="ana maría", address="10.0.0.5", ok=ok,
                             at=t0 + timedelta(minutes=i))
        store.logins.add(conn, name_key="otro", address="10.0.0.5", ok=False, at=t0)
    assert store.logins.failures(t0, name_key="ana maría") == 1
    assert store.logins.failures(t0, address="10.0.0.5") == 4
    assert store.logins.failures(now, address="10.0.0.5") == 0
    with store.transaction() as conn:
        assert store.logins.prune(conn, now) == 5


def test_the_audit_log_is_appended_and_read_newest_first(store):
    now = datetime.now(UTC)
    with store.transaction() as conn:
        for i in range(5):
            store.audit.add(conn, actor="ana", action=f"accion.{i}", at=now, target=f"t{i}",
                            detail={"i": i})
    entries = store.audit.list(limit=3)
    assert [e.action for e in entries] == ["accion.4", "accion.3", "accion.2"]
    older = store.audit.list(limit=10, before_id=entries[-1].id)
    assert [e.detail["i"] for e in older] == [1, 0]


@pytest.fixture
def mapped(store):
    """400 clearings in one batch, with the map's index built."""
    with store.transaction() as conn:
        batch = store.batches.add(conn, new_batch())
        store.clearings.add(conn, batch, make_clearings(400, seed=3))
    ids, lon, lat, area, margin = store.clearing_map.sources()
    keys = qkeys(lon, lat)
    minzoom = thin_minzoom(keys, area)
    with store.transaction() as conn:
        store.clearing_map.write(conn, ids[:150], keys[:150], minzoom[:150])
    with store.transaction() as conn:
        store.clearing_map.write(conn, ids[150:], keys[150:], minzoom[150:])
        store.clearing_map.set_state(conn, store.clearing_map.fingerprint(conn=conn), margin,
                                     len(ids))
    got = store.clearing_map.rows()
    assert got[0].tolist() == ids.tolist() and got[2].tolist() == minzoom.tolist()
    with store.transaction() as conn:  # writing a row again replaces it
        store.clearing_map.write(conn, ids[:3], keys[:3], np.full(3, 2, np.int8),
                                 drop=ids[-2:])
    assert len(store.clearing_map.rows()[0]) == len(ids) - 2
    with store.transaction() as conn:
        store.clearing_map.write(conn, ids, keys, minzoom)
    return store, ids, lon, lat, keys, minzoom


def test_the_map_service_keeps_the_index_up_to_date(store, monkeypatch):
    from vigilancia.services import map as map_service

    monkeypatch.setattr(map_service, "WRITE_PART", 70)
    with store.transaction() as conn:
        batch = store.batches.add(conn, new_batch())
        store.clearings.add(conn, batch, make_clearings(300, seed=4))
    assert map_service.ensure_clearing_map(store) is True
    first = store.clearing_map.rows()
    assert len(first[0]) == 300 and store.clearing_map.state()["rows"] == 300
    map_service._checked.clear()
    assert map_service.ensure_clearing_map(store) is False  # current: nothing written
    with store.transaction() as conn:
        batch = store.batches.add(conn, new_batch("otro:2024-04:high:def"))
        store.clearings.add(conn, batch, make_clearings(120, seed=5))
    map_service._checked.clear()
    assert map_service.ensure_clearing_map(store) is True
    ids, keys, zooms = store.clearing_map.rows()
    assert len(ids) == 420 and store.clearing_map.state()["max_clearing"] == int(ids.max())
    assert zooms.min() == 0


def test_the_map_index_reads_a_tile_and_a_box(mapped):
    store, ids, lon, lat, keys, minzoom = mapped
    state = store.clearing_map.state()
    assert state["rows"] == 400 and state["max_clearing"] == int(ids.max())
    assert 0 < state["margin_deg"] < 0.01
    assert state == state | store.clearing_map.fingerprint()
    # a low zoom: only the clearings drawn at it
    z, x, y = 5, 9, 16
    lo, hi = tile_key_range(z, x, y)
    rows = store.clearing_map.tile([(lo, hi)], z, ClearingFilter())
    inside = (keys >= lo) & (keys <= hi)
    assert rows.id == sorted(ids[inside & (minzoom <= z)].tolist())
    assert 0 < len(rows) < inside.sum()
    everything = store.clearing_map.tile([(lo, hi)], FULL_ZOOM, ClearingFilter(), geometry=True)
    assert len(everything) == inside.sum() and everything.geometry[0]
    # a box: candidates through the index, then the page with the exact overlap
    box = (float(np.percentile(lon, 40)), float(np.percentile(lat, 40)),
           float(np.percentile(lon, 70)), float(np.percentile(lat, 70)))
    cand = store.clearing_map.candidates(cover_ranges(box), FULL_ZOOM)
    page = store.clearing_map.page(ClearingFilter(), ids=cand.tolist(), bounds=box, limit=1000)
    pos = store.clearings.positions()
    b = pos.bounds
    expected = pos.id[(b[:, 0] <= box[2]) & (b[:, 2] >= box[0]) & (b[:, 1] <= box[3])
                      & (b[:, 3] >= box[1])]
    centred = expected[np.isin(expected, cand)]
    assert page.id == sorted(centred.tolist()) and len(page) > 10
    # filters and keyset paging
    after = store.clearing_map.page(ClearingFilter(), after=int(ids[100]), limit=5)
    assert after.id == ids[101:106].tolist()
    none = store.clearing_map.page(ClearingFilter(drivers=("coca",)), limit=10)
    assert len(none) == 0
    unclassified = store.clearing_map.page(ClearingFilter(drivers=("unclassified",)), limit=10)
    assert len(unclassified) == 10
    uncased = store.clearing_map.page(ClearingFilter(statuses=("none",)), limit=10)
    assert len(uncased) == 10 and uncased.case_id == [None] * 10


def test_one_clearing_in_detail(mapped):
    store, ids, *_ = mapped
    d = store.clearing_map.detail(int(ids[7]))
    assert d.id == int(ids[7]) and d.product and d.pixels["total"] > 0
    assert d.case_id is None and d.geometry
    with pytest.raises(NotFoundError):
        store.clearing_map.detail(10**9)
