"""The store as a unit of work: create, open, metadata, transactions, locks, atomicity."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from store_builders import (
    make_clearings,
    make_placement,
    make_territories,
    new_batch,
    query,
    stored_world,
    use_path,
)

from vigilancia.domain.clearings import Placement
from vigilancia.errors import ConflictError, NotFoundError, StoreError
from vigilancia.i18n import set_language
from vigilancia.io.store import DB_FILENAME, WorkspaceStore
from vigilancia.io.store import engine as engine_module
from vigilancia.io.store import schema as s
from vigilancia.io.store import workspace as ws_module
from vigilancia.io.store.schema import metadata

# ----------------------------------------------------------------- lifecycle


def test_create_writes_metadata_and_reopens(store_factory, tmp_path: Path):
    wdir = tmp_path / "nested" / "ws"
    with store_factory.create(wdir, name="Federación") as st:
        assert st.dir == wdir and wdir.is_dir()
        assert st.is_sqlite == store_factory.is_sqlite
        assert st.name == "Federación"
        created = st.created_at
        assert created is not None and created.tzinfo is not None
        assert abs((datetime.now(UTC) - created).total_seconds()) < 60
        assert st.schema_revision() == engine_module.head_revision()
        assert st.get_meta("schema_revision") == engine_module.head_revision()
        assert st.counts() == {
            "workspace_meta": 5,
            "layer_imports": 0,
            "territories": 0,
            "alert_batches": 0,
            "clearings": 0,
            "clearing_territories": 0,
            "clearing_history": 0,
            "clearing_aliases": 0,
            "context_features": 0,
            "context_coverages": 0,
            "classifier_models": 0,
            "clearing_labels": 0,
            "corridor_runs": 0,
            "corridors": 0,
            "risk_assessments": 0,
            "risk_scores": 0,
            "cases": 0,
            "case_clearings": 0,
            "case_events": 0,
            "patrol_plans": 0,
            "field_files": 0,
            "field_observations": 0,
            "users": 0,
            "sessions": 0,
            "login_attempts": 0,
            "audit_log": 0,
            "clearing_map": 0,
            "custody_keys": 0,
            "custody_log": 0,
            "derived_files": 0,
        }
    with store_factory.open(wdir) as st:
        assert st.name == "Federación"


@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_workspace_uses_the_database(store_factory, tmp_path: Path):
    """With a database URL the tables live in that database and the folder holds no SQLite file."""
    wdir = tmp_path / "ws"
    with store_factory.create(wdir) as st:
        assert st.engine.dialect.name == "postgresql" and not st.is_sqlite
        assert not WorkspaceStore.exists(wdir) and not (wdir / DB_FILENAME).exists()
        tables = {name for (name,) in query(st, "SELECT tablename FROM pg_tables "
                                              "WHERE schemaname = current_schema()")}
        assert {t.name for t in metadata.sorted_tables} | {"alembic_version"} <= tables
        password = sa.engine.make_url(st.url).password
        assert password and str(password) not in repr(st) and ":***@" in repr(st)


def test_default_name_is_folder_name(store_factory, tmp_path: Path):
    with store_factory.create(tmp_path / "aidesep") as st:
        assert st.name == "aidesep"


def test_create_in_existing_workspace_conflicts(store_factory, tmp_path: Path, english):
    store_factory.create(tmp_path / "ws").close()
    with pytest.raises(ConflictError, match="already exists") as info:
        store_factory.create(tmp_path / "ws")
    if store_factory.is_sqlite:
        assert info.value.source == str(tmp_path / "ws")
    else:  # the database is what is taken; its URL is shown without the password
        url = sa.engine.make_url(store_factory.database_url(tmp_path / "ws"))
        assert "this database" in info.value.message
        assert info.value.source == url.render_as_string(hide_password=True)
    set_language("es")
    with pytest.raises(ConflictError, match="ya existe"):
        store_factory.create(tmp_path / "ws")
    with store_factory.open(tmp_path / "ws") as st:  # the first one is untouched
        assert st.counts()["workspace_meta"] == 5


def test_open_missing_workspace_is_not_found(tmp_path: Path, english):
    with pytest.raises(NotFoundError, match="no workspace") as info:
        WorkspaceStore.open(tmp_path / "nowhere")
    assert info.value.hint
    set_language("es")
    with pytest.raises(NotFoundError, match="no hay ningún espacio de trabajo en esta carpeta"):
        WorkspaceStore.open(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # opening never creates anything


@pytest.mark.postgresql
def test_open_empty_database_is_not_found(postgres_server, tmp_path: Path, english):
    url = postgres_server.new_database()
    try:
        with pytest.raises(NotFoundError, match="no workspace in this database") as info:
            WorkspaceStore.open(tmp_path / "ws", database_url=url)
        assert info.value.hint and "***" in (info.value.source or "")
        set_language("es")
        with pytest.raises(NotFoundError, match="no hay ningún espacio de trabajo en esta base"):
            WorkspaceStore.open(tmp_path / "ws", database_url=url)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:  # opening never creates anything
            assert not sa.inspect(conn).has_table("workspace_meta")
            assert not sa.inspect(conn).has_table("alembic_version")
        engine.dispose()
    finally:
        postgres_server.drop_database(url)


@pytest.mark.postgresql
def test_unreachable_database_is_a_clear_error(postgres_server, tmp_path: Path, english):
    """No server, or no such database: a clear error naming the URL (without the password)."""
    missing_db = postgres_server.url("vigilancia_no_such_database")
    no_server = sa.engine.make_url(missing_db).set(port=1).render_as_string(hide_password=False)
    for url in (missing_db, no_server):
        for make in (WorkspaceStore.open, WorkspaceStore.create):
            with pytest.raises(StoreError, match="could not connect to the database") as info:
                make(tmp_path / "ws", database_url=url)
            assert info.value.hint and "VIGILANCIA_DATABASE_URL" in info.value.hint
            assert "***" in (info.value.source or "")
            password = sa.engine.make_url(url).password
            assert password is None or str(password) not in info.value.user_text()
    assert not (tmp_path / "ws").exists()


def test_open_file_that_is_not_a_database(tmp_path: Path, english):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / DB_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a vigilancia workspace"):
        WorkspaceStore.open(tmp_path / "ws")


def test_open_other_sqlite_database(tmp_path: Path, english):
    (tmp_path / "ws").mkdir()
    con = sqlite3.connect(tmp_path / "ws" / DB_FILENAME)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a vigilancia workspace"):
        WorkspaceStore.open(tmp_path / "ws")


def test_failed_create_leaves_nothing(
    store_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def broken(conn: sa.Connection) -> None:
        command.upgrade(engine_module.alembic_config(conn), "head")  # tables made, then:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ws_module, "migrate", broken)
    with pytest.raises(RuntimeError):
        store_factory.create(tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError):
        store_factory.create(tmp_path / "kept")
    assert (tmp_path / "kept").is_dir() and not list((tmp_path / "kept").iterdir())
    if not store_factory.is_sqlite:  # the schema was made in the rolled-back transaction
        engine = sa.create_engine(store_factory.database_url(tmp_path / "kept"))
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("workspace_meta")
            assert not sa.inspect(conn).has_table("alembic_version")
        engine.dispose()
    monkeypatch.undo()
    with store_factory.create(tmp_path / "kept") as st:  # and the place is free again
        assert st.counts()["workspace_meta"] == 5


def test_area_of_interest_and_meta(store: WorkspaceStore):
    assert store.area_of_interest() is None
    with store.transaction() as conn:
        store.set_area_of_interest(conn, (-75.5, -10.0, -74.5, -9.0))
        store.set_meta(conn, "contact", {"org": "FENACOKA", "tel": None})
    assert store.area_of_interest() == (-75.5, -10.0, -74.5, -9.0)
    assert store.get_meta("contact") == {"org": "FENACOKA", "tel": None}
    assert store.get_meta("missing", 7) == 7
    with pytest.raises(ValueError), store.transaction() as conn:
        store.set_area_of_interest(conn, (1, 1, 0, 0))


# -------------------------------------------------------------- transactions


def _stored_rows(store: WorkspaceStore) -> tuple[list[tuple], list[tuple]]:
    """Clearing and overlap rows as stored (NaN, which PostgreSQL keeps, read as None)."""
    c, ct = s.clearings, s.clearing_territories

    def plain(row: sa.Row) -> tuple:
        return tuple(None if isinstance(v, float) and np.isnan(v) else v for v in row)

    with store.engine.connect() as conn:
        rows = [plain(r) for r in conn.execute(sa.select(c).order_by(c.c.id)).all()]
        overlaps = [
            tuple(r)
            for r in conn.execute(
                sa.select(ct).order_by(ct.c.clearing_id, ct.c.territory_id)
            ).all()
        ]
    return rows, overlaps


@pytest.mark.parametrize("fast", [True, False], ids=["raw-sqlite", "core"])
def test_bulk_transaction_stores_the_same_rows(store_factory, tmp_path: Path, fast: bool):
    """A bulk transaction (parents checked per call, not per row) writes what a plain one
    writes, and leaves the connections enforcing foreign keys."""
    stored = []
    for bulk in (False, True):
        with store_factory.create(tmp_path / f"ws{bulk}") as st:
            use_path(st, fast)
            cs = make_clearings(6, seed=3)
            with st.transaction() as conn:
                a, b, _r, _p = st.territories.add(conn, make_territories())
            placement = make_placement(
                6,
                [(0, a, 1.0, 1.0), (2, a, 0.5, 0.5), (2, b, 0.5, 0.5), (5, b, 2.0, 1.0)],
                nearest=[a, a, b, -1, a, b],
                distance=[0.0, 10.0, 0.0, np.nan, 35.5, 0.0],
                within=[True, True, True, False, True, True],
            )
            with st.transaction(bulk=bulk) as conn:
                bid = st.batches.add(conn, new_batch())
                st.clearings.add(conn, bid, cs, placement)
            stored.append(_stored_rows(st))
            if st.is_sqlite:
                for _ in range(3):  # every pooled connection enforces foreign keys again
                    with st.engine.connect() as conn:
                        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert stored[0] == stored[1]
    assert len(stored[0][0]) == 6 and len(stored[0][1]) == 4


# ----------------------------------------------------------------- atomicity


def test_exception_midway_rolls_back_everything(store: WorkspaceStore):
    stored_world(store)
    before = store.counts()
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as conn:
        store.territories.add(conn, make_territories()[:1])
        bid = store.batches.add(conn, new_batch("half"))
        cs = make_clearings(2000, seed=9)
        store.clearings.add(conn, bid, cs.take(np.arange(1000)), Placement.empty(1000))
        store.set_meta(conn, "name", "changed")
        raise RuntimeError("boom")
    assert store.counts() == before
    assert store.batches.find("half") is None
    assert store.name == "Kakataibo"
    # ids continue from the committed rows only
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch("after"))
        ids = store.clearings.add(conn, bid, make_clearings(3, seed=1))
    assert ids.tolist() == [8, 9, 10]


def test_readers_see_last_commit_during_a_write(store: WorkspaceStore):
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch())
        store.clearings.add(conn, bid, make_clearings(100))
        assert store.counts()["clearings"] == 0  # another connection: committed state
        assert store.counts(conn=conn)["clearings"] == 100
        assert len(store.clearings.frame(conn=conn)) == 100
    assert store.counts()["clearings"] == 100


def test_second_writer_gets_busy_error(
    store_factory, store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch, english
):
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 0.2)
    with store_factory.open(store.dir) as other, store.transaction() as conn:
        store.batches.add(conn, new_batch())
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="busy"), other.transaction():
            pass
        assert time.monotonic() - t0 < 5
        assert other.counts()["alert_batches"] == 0
    with other.transaction() as conn:  # the lock went with the first transaction
        assert other.batches.find(new_batch().key, conn=conn) is not None
        set_language("es")
        with pytest.raises(ConflictError, match="ya fue ingresado"):
            other.batches.add(conn, new_batch())


def test_second_writer_waits_for_the_first(store_factory, store: WorkspaceStore):
    """Two writers at once: the second waits for the first's commit, then sees its rows.

    The same batch ingested by both therefore lands once, and clearing ids never collide.
    """
    import threading

    other = store_factory.open(store.dir)
    inside = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        inside.wait(10)
        try:
            with other.transaction() as conn:
                outcome["started"] = time.monotonic()
                other.batches.add(conn, new_batch())
        except ConflictError as exc:
            outcome["error"] = exc
        with other.transaction() as conn:
            bid = other.batches.add(conn, new_batch("other"))
            outcome["ids"] = other.clearings.add(conn, bid, make_clearings(3, seed=2)).tolist()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        with store.transaction() as conn:
            bid = store.batches.add(conn, new_batch())
            store.clearings.add(conn, bid, make_clearings(5))
            inside.set()
            time.sleep(0.5)
            committed = time.monotonic()
    finally:
        thread.join(30)
        other.close()
    assert not thread.is_alive()
    assert float(outcome["started"]) >= committed  # type: ignore[arg-type]
    assert isinstance(outcome.get("error"), ConflictError)
    assert outcome["ids"] == [6, 7, 8]
    assert store.counts()["alert_batches"] == 2 and store.counts()["clearings"] == 8


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    import numpy as np
    from vigilancia.io.store import WorkspaceStore, NewBatch
    sys.path.insert(0, sys.argv[2])
    from store_builders import make_clearings, new_batch

    store = WorkspaceStore.open(sys.argv[1], database_url=sys.argv[3] or None)
    cs = make_clearings(int(sys.argv[4]), seed=42)
    with store.transaction() as conn:
        bid = store.batches.add(conn, new_batch("killed"))
        store.clearings.add(conn, bid, cs)
        store.set_meta(conn, "name", "half-written")
        print("inserted", flush=True)
        time.sleep(120)
    """
)


def test_sigkill_during_transaction_leaves_db_as_before(store_factory, store: WorkspaceStore):
    stored_world(store)
    before = store.counts()
    store.close()
    url = store_factory.database_url(store.dir) or ""
    n = "100000" if store.is_sqlite else "20000"  # PostgreSQL's Core inserts are slower
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(store.dir), str(Path(__file__).parent), url, n],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "inserted", proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with store_factory.open(store.dir) as again:
        assert again.counts() == before
        assert again.batches.find("killed") is None
        assert again.name == "Kakataibo"
        if again.is_sqlite:
            with again.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        with again.transaction() as conn:  # and it is writable again
            bid = again.batches.add(conn, new_batch("after-kill"))
            assert again.clearings.add(conn, bid, make_clearings(2)).tolist() == [8, 9]
