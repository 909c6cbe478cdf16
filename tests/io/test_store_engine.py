"""Engines and migrations: SQLite settings, database URLs, upgrades and the schema at head."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from store_builders import (
    schema_snapshot,
    stored_world,
)

from vigilancia.errors import StoreError
from vigilancia.io.store import DB_FILENAME, WorkspaceStore
from vigilancia.io.store import engine as engine_module
from vigilancia.io.store.schema import include_object, metadata

# ------------------------------------------------------------------- engines


def test_create_makes_wal_sqlite_file(tmp_path: Path):
    wdir = tmp_path / "nested" / "ws"
    assert not WorkspaceStore.exists(wdir)
    with WorkspaceStore.create(wdir, name="Federación") as st:
        assert WorkspaceStore.exists(wdir)
        assert (wdir / DB_FILENAME).is_file()
        assert st.url.endswith(DB_FILENAME)
        with st.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_bad_database_url_is_a_clear_error(tmp_path: Path, english):
    for url in ("not a url", "mysql+nosuchdriver://x@localhost/db"):
        with pytest.raises(StoreError, match="database URL"):
            WorkspaceStore.open(tmp_path / "ws", database_url=url)


def test_plain_postgresql_url_uses_psycopg():
    engine = engine_module.make_engine("postgresql://u:p@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


# ---------------------------------------------------------------- migrations


def test_migration_rerun_is_noop_and_matches_schema(store_factory, store: WorkspaceStore):
    before = schema_snapshot(store)
    with store.transaction() as conn:
        engine_module.migrate(conn)
        engine_module.migrate(conn)
    store.close()
    with store_factory.open(store.dir) as again:
        assert again.schema_revision() == engine_module.head_revision()
        assert again.counts()["workspace_meta"] == 5
        with again.engine.connect() as conn:
            # PostGIS's own tables (spatial_ref_sys) are not the workspace's
            opts = {"compare_type": True, "include_object": include_object}
            diffs = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
        assert diffs == []
        assert schema_snapshot(again) == before


def test_newer_schema_is_refused(store_factory, store: WorkspaceStore, english):
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff9999'")
    store.close()
    with pytest.raises(StoreError, match="newer version"):
        store_factory.open(store.dir)


NEXT = "9001"


REVISION_NEXT = '''
"""test revision: add clearings.note"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clearings") as batch:
        batch.add_column(sa.Column("note", sa.Text, nullable=True))


def downgrade():
    with op.batch_alter_table("clearings") as batch:
        batch.drop_column("note")
'''


def test_open_upgrades_an_older_workspace(
    store_factory, store: WorkspaceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A workspace at an older revision is upgraded on open, keeping its rows."""
    stored_world(store)
    before = store.counts()
    store.close()
    newer = tmp_path / "migrations"
    shutil.copytree(
        engine_module.MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__")
    )
    head = engine_module.head_revision()
    (newer / "versions" / "9001_note.py").write_text(REVISION_NEXT.replace("{head}", head))
    monkeypatch.setattr(engine_module, "MIGRATIONS_DIR", newer)
    engine_module.head_revision.cache_clear()
    try:
        with store_factory.open(store.dir) as st:
            assert st.schema_revision() == NEXT
            assert st.get_meta("schema_revision") == NEXT
            assert st.counts() == before
            with st.engine.connect() as conn:
                cols = [c["name"] for c in sa.inspect(conn).get_columns("clearings")]
            assert "note" in cols
        with store_factory.open(store.dir) as st:  # and again: nothing to do
            assert st.schema_revision() == NEXT
    finally:
        engine_module.head_revision.cache_clear()


def test_upgrade_from_0001_keeps_rows_and_leans_indexes(store_factory, store: WorkspaceStore):
    """0002 drops the clearings bbox index and (SQLite) keys overlap rows by their pair."""
    from alembic import command

    stored_world(store)
    before = store.counts()
    summary = store.clearings.by_territory()
    with store.engine.begin() as conn:
        command.downgrade(engine_module.alembic_config(conn), "0001")
    store.close()
    with store_factory.open(store.dir) as st:
        assert st.schema_revision() == engine_module.head_revision()
        assert st.counts() == before
        assert st.clearings.by_territory() == summary
        with st.engine.connect() as conn:
            names = {i["name"] for i in sa.inspect(conn).get_indexes("clearings")}
            assert "ix_clearings_minx_maxx_miny_maxy" not in names
            if st.is_sqlite:
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'clearing_territories'"
                ).scalar_one()
                assert "WITHOUT ROWID" in sql.upper()
