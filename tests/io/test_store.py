"""Workspace store: lifecycle, migrations, round trips, aggregation, atomicity and speed."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pyproj import Geod
from shapely.geometry import MultiPolygon, box

from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.territories import Tenure, Territory, TerritoryKind
from vigilancia.errors import ConflictError, NotFoundError, StoreError
from vigilancia.i18n import get_language, set_language
from vigilancia.io.store import DB_FILENAME, BatchRecord, NewBatch, WorkspaceStore
from vigilancia.io.store import workspace as ws_module
from vigilancia.io.store.schema import include_object, metadata

LON0, LAT0 = -74.9, -9.4


# ----------------------------------------------------------------- builders


def make_clearings(n: int, *, seed: int = 0, day0: str = "2024-03-01") -> ClearingSet:
    """``n`` realistic clearings scattered around (-74.9, -9.4): boxes of 30-400 m."""
    rng = np.random.default_rng(seed)
    cx = LON0 + rng.uniform(-0.2, 0.2, n)
    cy = LAT0 + rng.uniform(-0.2, 0.2, n)
    w = rng.uniform(0.0003, 0.0036, n)
    h = rng.uniform(0.0003, 0.0036, n)
    geoms = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    length = np.maximum(w, h) * 110_000.0
    width = np.minimum(w, h) * 110_000.0
    area = length * width / 10_000.0
    perimeter = 2 * (length + width)
    first = np.datetime64(day0) + rng.integers(0, 90, n).astype("timedelta64[D]")
    last = first + rng.integers(0, 30, n).astype("timedelta64[D]")
    low = rng.integers(0, 50, n)
    high = rng.integers(0, 50, n)
    highest = rng.integers(0, 20, n)
    return ClearingSet(
        geometry=np.asarray(geoms, dtype=object),
        area_ha=area,
        perimeter_m=perimeter,
        length_m=length,
        width_m=width,
        orientation_deg=rng.uniform(0, 180, n),
        elongation=length / width,
        compactness=4 * np.pi * area * 10_000 / perimeter**2,
        first_date=first.astype("datetime64[D]"),
        last_date=last.astype("datetime64[D]"),
        pixels_low=low.astype(np.int64),
        pixels_high=high.astype(np.int64),
        pixels_highest=highest.astype(np.int64),
        pixel_count=(low + high + highest).astype(np.int64),
        centroid_lon=cx,
        centroid_lat=cy,
        source_ref=np.array([f"MB-{seed}-{i}" if i % 3 == 0 else None for i in range(n)], object),
    )


def with_odd_rows(cs: ClearingSet) -> ClearingSet:
    """Make row 1 a MultiPolygon with NaN perimeter (vector alert) and row 2 lack a last date."""
    geometry = cs.geometry.copy()
    geometry[1] = MultiPolygon(
        [
            box(LON0, LAT0, LON0 + 0.001, LAT0 + 0.001),
            box(LON0 + 0.002, LAT0, LON0 + 0.003, LAT0 + 0.001),
        ]
    )
    perimeter = cs.perimeter_m.copy()
    perimeter[1] = np.nan
    pixel_count = cs.pixel_count.copy()
    pixel_count[1] = 0
    last = cs.last_date.copy()
    last[2] = np.datetime64("NaT")
    return ClearingSet(
        **{
            **{f.name: getattr(cs, f.name) for f in fields(cs)},
            "geometry": geometry,
            "perimeter_m": perimeter,
            "pixel_count": pixel_count,
            "last_date": last,
        }
    )


def new_batch(key: str = "gfw-integrated:2024-03:high:abc", **kw: object) -> NewBatch:
    values: dict[str, object] = dict(
        key=key,
        source="/data/alerts/integrated_20240301.tif",
        product="gfw_integrated",
        since=date(2024, 3, 1),
        until=date(2024, 5, 31),
        min_confidence="high",
        sha256="a" * 64,
        n_pixels=12345,
        n_clearings=5,
        area_ha=42.5,
        stats={"tiles": 2, "skipped": [], "nota": "Unión"},
    )
    values.update(kw)
    return NewBatch(**values)  # type: ignore[arg-type]


def make_territories() -> list[Territory]:
    return [
        Territory(
            name="CN Unión Santa Rosa",
            kind=TerritoryKind.COMMUNITY,
            geometry=box(-74.95, -9.45, -74.90, -9.40),
            source="comunidades.gpkg",
            source_id="12",
            people="Kakataibo",
            tenure=Tenure.TITLED,
            title_date=date(1998, 5, 4),
            attributes={"ubigeo": "250302", "resolucion": "RD 045-98"},
        ),
        Territory(
            name="CN Yamino",
            kind=TerritoryKind.COMMUNITY,
            geometry=box(-74.90, -9.45, -74.85, -9.40),
            source="comunidades.gpkg",
            source_id="13",
            people="Kakataibo",
            tenure=Tenure.CLAIMED,
        ),
        Territory(
            name="RI Kakataibo Norte y Sur",
            kind=TerritoryKind.RESERVE,
            geometry=box(-74.95, -9.50, -74.85, -9.45),
            source="reservas.gpkg",
        ),
        Territory(
            name="PN Cordillera Azul",
            kind=TerritoryKind.PROTECTED_AREA,
            geometry=box(-75.0, -9.5, -74.8, -9.35),
            source="sernanp.gpkg",
        ),
    ]


def make_placement(
    n: int, overlaps: list[tuple[int, int, float, float]], **per: object
) -> Placement:
    p = Placement.empty(n)
    oc, ot, oa, osh = (
        (list(v) for v in zip(*overlaps, strict=True)) if overlaps else ([], [], [], [])
    )
    return Placement(
        overlap_clearing=np.array(oc, np.int64),
        overlap_territory=np.array(ot, np.int64),
        overlap_area_ha=np.array(oa, np.float64),
        overlap_share=np.array(osh, np.float64),
        nearest_territory=np.asarray(per.get("nearest", p.nearest_territory), np.int64),
        boundary_distance_m=np.asarray(per.get("distance", p.boundary_distance_m), np.float64),
        within_buffer=np.asarray(per.get("within", p.within_buffer), bool),
    )


@pytest.fixture
def store(store_factory, tmp_path: Path):
    with store_factory.create(tmp_path / "ws", name="Kakataibo") as st:
        yield st


@pytest.fixture
def english():
    before = get_language()
    set_language("en")
    yield
    set_language(before)


def nulls(values) -> list:
    """Values of a column with every missing marker (None, NaN, NA) as None."""
    return [None if pd.isna(v) else v for v in values]


def raw(store: WorkspaceStore) -> sqlite3.Connection:
    """A plain sqlite3 connection to the workspace file (SQLite backend only)."""
    assert store.is_sqlite
    return sqlite3.connect(store.database_path(store.dir))


def query(store: WorkspaceStore, sql: str) -> list[tuple]:
    """Rows of a plain SQL query on a connection of its own (no SQLAlchemy type processing)."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def schema_snapshot(store: WorkspaceStore) -> list[tuple]:
    """Every table, column, index and foreign key of the workspace, as the database reports it."""
    if store.is_sqlite:
        return query(store, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    return query(
        store,
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, column_name",
    ) + query(
        store,
        "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() ORDER BY indexname",
    ) + query(
        store,
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace ORDER BY conname",
    )


# ------------------------------------------------------------------ lifecycle


def test_create_writes_metadata_and_reopens(store_factory, tmp_path: Path):
    wdir = tmp_path / "nested" / "ws"
    with store_factory.create(wdir, name="Federación") as st:
        assert st.dir == wdir and wdir.is_dir()
        assert st.is_sqlite == store_factory.is_sqlite
        assert st.name == "Federación"
        created = st.created_at
        assert created is not None and created.tzinfo is not None
        assert abs((datetime.now(UTC) - created).total_seconds()) < 60
        assert st.schema_revision() == ws_module.head_revision()
        assert st.get_meta("schema_revision") == ws_module.head_revision()
        assert st.counts() == {
            "workspace_meta": 5,
            "layer_imports": 0,
            "territories": 0,
            "alert_batches": 0,
            "clearings": 0,
            "clearing_territories": 0,
            "context_features": 0,
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
        }
    with store_factory.open(wdir) as st:
        assert st.name == "Federación"


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


def test_bad_database_url_is_a_clear_error(tmp_path: Path, english):
    for url in ("not a url", "mysql+nosuchdriver://x@localhost/db"):
        with pytest.raises(StoreError, match="database URL"):
            WorkspaceStore.open(tmp_path / "ws", database_url=url)


def test_plain_postgresql_url_uses_psycopg():
    engine = ws_module.make_engine("postgresql://u:p@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


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
        ws_module.command.upgrade(ws_module.alembic_config(conn), "head")  # tables made, then:
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


def test_migration_rerun_is_noop_and_matches_schema(store_factory, store: WorkspaceStore):
    before = schema_snapshot(store)
    with store.transaction() as conn:
        ws_module.migrate(conn)
        ws_module.migrate(conn)
    store.close()
    with store_factory.open(store.dir) as again:
        assert again.schema_revision() == ws_module.head_revision()
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
    shutil.copytree(ws_module.MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__"))
    head = ws_module.head_revision()
    (newer / "versions" / "9001_note.py").write_text(REVISION_NEXT.replace("{head}", head))
    monkeypatch.setattr(ws_module, "MIGRATIONS_DIR", newer)
    ws_module.head_revision.cache_clear()
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
        ws_module.head_revision.cache_clear()


def test_upgrade_from_0001_keeps_rows_and_leans_indexes(store_factory, store: WorkspaceStore):
    """0002 drops the clearings bbox index and (SQLite) keys overlap rows by their pair."""
    from alembic import command

    stored_world(store)
    before = store.counts()
    summary = store.territory_summary()
    with store.engine.begin() as conn:
        command.downgrade(ws_module.alembic_config(conn), "0001")
    store.close()
    with store_factory.open(store.dir) as st:
        assert st.schema_revision() == ws_module.head_revision()
        assert st.counts() == before
        assert st.territory_summary() == summary
        with st.engine.connect() as conn:
            names = {i["name"] for i in sa.inspect(conn).get_indexes("clearings")}
            assert "ix_clearings_minx_maxx_miny_maxy" not in names
            if st.is_sqlite:
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'clearing_territories'"
                ).scalar_one()
                assert "WITHOUT ROWID" in sql.upper()


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


# ------------------------------------------------------------------ territories


def test_territories_round_trip_with_equal_area(store: WorkspaceStore):
    items = make_territories()
    assert store.territories_version() == "0:0"
    with store.transaction() as conn:
        ids = store.add_territories(conn, items)
    assert ids == [1, 2, 3, 4]
    got = store.territories()
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
    communities = store.territories([TerritoryKind.COMMUNITY])
    assert [t.name for t in communities] == ["CN Unión Santa Rosa", "CN Yamino"]
    assert store.territories([TerritoryKind.DISTRICT]) == []
    assert store.territories_version() == "4:4"
    ((attrs,),) = query(store, "SELECT CAST(attributes AS TEXT) FROM territories WHERE id = 1")
    assert "Resolucion".lower() in attrs and "250302" in attrs


def test_territory_without_geometry_is_refused(store: WorkspaceStore):
    bad = Territory(
        name="vacía", kind=TerritoryKind.COMMUNITY, geometry=shapely.Polygon(), source="x"
    )
    with pytest.raises(ValueError, match="vacía"), store.transaction() as conn:
        store.add_territories(conn, [bad])
    assert store.counts()["territories"] == 0


def test_layer_imports_are_idempotent(store: WorkspaceStore, english):
    sha = "b" * 64
    assert not store.find_import(sha, "territories")
    with store.transaction() as conn:
        store.record_import(conn, sha, "territories", "comunidades.gpkg", 4)
        assert store.find_import(sha, "territories", conn=conn)
    assert store.find_import(sha, "territories")
    assert not store.find_import(sha, "protected_areas")
    with pytest.raises(ConflictError, match="already imported"), store.transaction() as conn:
        store.record_import(conn, sha, "territories", "comunidades.gpkg", 4)
    assert store.counts()["layer_imports"] == 1


# ---------------------------------------------------------------------- batches


def test_batch_round_trip_and_idempotent_key(store: WorkspaceStore, english):
    batch = new_batch()
    assert store.find_batch(batch.key) is None
    with store.transaction() as conn:
        bid = store.add_batch(conn, batch)
    rec = store.find_batch(batch.key)
    assert isinstance(rec, BatchRecord) and rec.id == bid
    for f in fields(NewBatch):
        assert getattr(rec, f.name) == getattr(batch, f.name), f.name
    assert rec.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - rec.created_at).total_seconds()) < 60
    with (
        pytest.raises(ConflictError, match="already ingested") as info,
        store.transaction() as conn,
    ):
        store.add_batch(conn, batch)
    assert batch.key in info.value.message
    with store.transaction() as conn:
        bid2 = store.add_batch(conn, new_batch("other", since=None, until=None, stats={}))
    assert [b.id for b in store.batches()] == [bid, bid2]
    assert store.batches()[1].since is None and store.batches()[1].stats == {}


def test_update_batch_totals(store: WorkspaceStore):
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch(n_pixels=0, n_clearings=0, area_ha=0.0))
        store.update_batch_totals(conn, bid, n_pixels=900, n_clearings=12, area_ha=8.1)
        with pytest.raises(ValueError, match="no alert batch"):
            store.update_batch_totals(conn, bid + 1, n_pixels=1, n_clearings=1, area_ha=1.0)
    rec = store.batches()[0]
    assert (rec.n_pixels, rec.n_clearings, rec.area_ha) == (900, 12, 8.1)
    assert rec.stats == new_batch().stats  # kept when not given
    with store.transaction() as conn:
        store.update_batch_totals(conn, bid, n_pixels=1, n_clearings=1, area_ha=1.0, stats={"x": 1})
    assert store.batches()[0].stats == {"x": 1}


def test_unique_key_race_is_a_clean_error(store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch):
    """If the key appears after the check (a concurrent writer), the unique index still wins."""
    with store.transaction() as conn:
        store.add_batch(conn, new_batch())
    monkeypatch.setattr(store, "find_batch", lambda key, conn=None: None)
    with pytest.raises(ConflictError), store.transaction() as conn:
        store.add_batch(conn, new_batch())
    assert store.counts()["alert_batches"] == 1
    # and bypassing the store, the index refuses it too
    with pytest.raises(sa.exc.IntegrityError), store.transaction() as conn:
        conn.execute(
            sa.insert(ws_module.s.alert_batches).values(
                key=new_batch().key,
                source="x",
                product="p",
                min_confidence="high",
                sha256="c",
                n_pixels=0,
                n_clearings=0,
                area_ha=0.0,
                created_at=datetime.now(UTC),
            )
        )
    assert store.counts()["alert_batches"] == 1


# -------------------------------------------------------------------- clearings


def use_path(store: WorkspaceStore, fast: bool) -> None:
    """Write straight through the driver (``fast``: sqlite3 executemany, psycopg COPY)
    or through SQLAlchemy Core."""
    store._fast_bulk = fast


def assert_frame_matches(frame, cs: ClearingSet, ids: np.ndarray) -> None:
    assert list(frame["id"]) == ids.tolist()
    for name in (
        "area_ha",
        "perimeter_m",
        "length_m",
        "width_m",
        "orientation_deg",
        "elongation",
        "compactness",
        "centroid_lon",
        "centroid_lat",
    ):
        np.testing.assert_array_equal(frame[name].to_numpy(), getattr(cs, name), err_msg=name)
    for name in ("pixels_low", "pixels_high", "pixels_highest", "pixel_count"):
        np.testing.assert_array_equal(frame[name].to_numpy(), getattr(cs, name), err_msg=name)
    for name in ("first_date", "last_date"):
        expected = [None if np.isnat(d) else str(d) for d in getattr(cs, name)]
        assert nulls(frame[name]) == expected, name
    assert nulls(frame["source_ref"]) == list(cs.source_ref)
    assert all(
        shapely.equals_exact(a, b, 0) for a, b in zip(frame.geometry, cs.geometry, strict=True)
    )


@pytest.mark.parametrize("fast", [True, False], ids=["raw-sqlite", "core"])
def test_clearings_round_trip_every_field(store: WorkspaceStore, fast: bool):
    use_path(store, fast)
    cs = with_odd_rows(make_clearings(50, seed=3))
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch())
        ids = store.add_clearings(conn, bid, cs)
    assert ids.dtype == np.int64 and ids.tolist() == list(range(1, 51))
    frame = store.clearings_frame()
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == 50
    assert_frame_matches(frame, cs, ids)
    assert frame.geometry.iloc[1].geom_type == "MultiPolygon"
    assert np.isnan(frame["perimeter_m"].iloc[1])
    assert pd.isna(frame["last_date"].iloc[2])
    assert set(frame["batch_id"]) == {bid}
    assert set(frame["product"]) == {"gfw_integrated"}
    assert set(frame["status"]) == {"new"}
    assert frame["nearest_territory_id"].isna().all()
    assert frame["nearest_territory"].isna().all()
    assert frame["boundary_distance_m"].isna().all()
    assert not frame["within_buffer"].any()
    for col in ("territories", "reserves", "protected_areas", "districts"):
        assert frame[col].isna().all()
    # a second batch continues the ids
    with store.transaction() as conn:
        bid2 = store.add_batch(conn, new_batch("second"))
        ids2 = store.add_clearings(conn, bid2, make_clearings(5, seed=4))
    assert ids2.tolist() == [51, 52, 53, 54, 55]
    assert len(store.clearings_frame([bid2])) == 5
    assert len(store.clearings_frame([bid, bid2])) == 55
    assert len(store.clearings_frame([])) == 0


def test_bbox_columns_and_wkb(store: WorkspaceStore):
    cs = make_clearings(10, seed=5)
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch())
        store.add_clearings(conn, bid, cs)
    rows = query(store, "SELECT geometry, minx, miny, maxx, maxy FROM clearings ORDER BY id")
    for (wkb, *bounds), geom in zip(rows, cs.geometry, strict=True):
        assert shapely.from_wkb(bytes(wkb)).equals_exact(geom, 0)
        assert tuple(bounds) == geom.bounds


def test_clearing_positions_are_lean_and_filtered(store: WorkspaceStore):
    cs = make_clearings(12, seed=6)
    lon = cs.centroid_lon.copy()
    lon[3] = np.nan  # no stored centroid: the centre of its box stands in
    cs = replace(cs, centroid_lon=lon)
    with store.transaction() as conn:
        first = store.add_clearings(conn, store.add_batch(conn, new_batch()), cs)
        second = store.add_clearings(conn, store.add_batch(conn, new_batch("k2")), cs)
    ids, x, y, bounds = store.clearing_positions(batch_ids=[1])
    assert ids.tolist() == first.tolist()
    np.testing.assert_allclose(y, cs.centroid_lat)
    np.testing.assert_allclose(bounds, shapely.bounds(cs.geometry))
    box_centre = (bounds[3, 0] + bounds[3, 2]) / 2
    assert x[3] == pytest.approx(box_centre) and np.isfinite(x).all()
    picked = [int(first[0]), int(second[5]), 999_999]
    ids, x, y, bounds = store.clearing_positions(clearing_ids=picked)
    assert ids.tolist() == picked[:2] and bounds.shape == (2, 4)
    assert store.clearing_positions(batch_ids=[1], clearing_ids=picked)[0].tolist() == picked[:1]
    assert len(store.clearing_positions(clearing_ids=[])[0]) == 0


def test_empty_clearing_set(store: WorkspaceStore):
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch())
        ids = store.add_clearings(conn, bid, ClearingSet.empty(), Placement.empty(0))
    assert ids.shape == (0,)
    frame = store.clearings_frame()
    assert len(frame) == 0 and "geometry" in frame and frame.crs.to_epsg() == 4326
    assert store.territory_summary() == []


def test_writes_need_a_transaction(store: WorkspaceStore):
    with store.engine.connect() as conn, pytest.raises(ValueError, match="transaction"):
        store.add_batch(conn, new_batch())


# -------------------------------------------------------------------- placement


def stored_world(store: WorkspaceStore, *, inline: bool = True):
    """Four territories and two batches with hand-made placements (see test_territory_summary)."""
    with store.transaction() as conn:
        a, b, r, p = store.add_territories(conn, make_territories())
        cs1 = make_clearings(5, seed=11)
        cs1 = ClearingSet(
            **{
                **{f.name: getattr(cs1, f.name) for f in fields(cs1)},
                "first_date": np.array(
                    ["2024-03-05", "2024-03-01", "2024-04-10", "2024-02-01", "2024-05-02"],
                    "datetime64[D]",
                ),
                "last_date": np.array(
                    ["2024-03-20", "2024-03-09", "2024-04-30", "2024-02-03", "2024-05-02"],
                    "datetime64[D]",
                ),
            }
        )
        pl1 = make_placement(
            5,
            [
                (0, a, 2.0, 1.0),
                (0, p, 2.0, 1.0),
                (1, a, 1.0, 0.5),
                (1, b, 1.0, 0.5),
                (1, p, 2.0, 1.0),
                (2, b, 3.0, 1.0),
                (2, p, 3.0, 1.0),
                (4, r, 0.5, 1.0),
            ],
            nearest=[a, a, b, a, -1],
            distance=[0.0, 0.0, 0.0, 1200.0, np.nan],
            within=[True, True, True, True, False],
        )
        cs2 = make_clearings(2, seed=12)
        cs2 = ClearingSet(
            **{
                **{f.name: getattr(cs2, f.name) for f in fields(cs2)},
                "first_date": np.array(["2024-06-01", "2024-01-15"], "datetime64[D]"),
                "last_date": np.array(["2024-06-11", "2024-07-01"], "datetime64[D]"),
            }
        )
        pl2 = make_placement(
            2,
            [(0, a, 5.0, 1.0), (1, r, 1.0, 0.25)],
            nearest=[a, r],
            distance=[0.0, 0.0],
            within=[True, True],
        )
        b1 = store.add_batch(conn, new_batch("b1"))
        b2 = store.add_batch(conn, new_batch("b2"))
        if inline:
            ids1 = store.add_clearings(conn, b1, cs1, pl1)
            ids2 = store.add_clearings(conn, b2, cs2, pl2)
        else:
            ids1 = store.add_clearings(conn, b1, cs1)
            ids2 = store.add_clearings(conn, b2, cs2)
            store.add_placement(conn, ids1, pl1)
            store.add_placement(conn, ids2, pl2)
    return {"a": a, "b": b, "r": r, "p": p, "b1": b1, "b2": b2, "ids1": ids1, "ids2": ids2}


@pytest.mark.parametrize("inline", [True, False], ids=["in-insert", "add_placement"])
@pytest.mark.parametrize("fast", [True, False], ids=["raw-sqlite", "core"])
def test_placement_rows_and_frame_columns(store: WorkspaceStore, inline: bool, fast: bool):
    use_path(store, fast)
    w = stored_world(store, inline=inline)
    assert store.counts()["clearing_territories"] == 10
    rows = query(
        store,
        "SELECT clearing_id, territory_id, area_ha, share FROM clearing_territories "
        "ORDER BY clearing_id, territory_id",
    )
    assert rows[:2] == [(1, w["a"], 2.0, 1.0), (1, w["p"], 2.0, 1.0)]
    assert rows[-1] == (7, w["r"], 1.0, 0.25)
    f = store.clearings_frame().set_index("id")
    assert f.loc[2, "territories"] == "CN Unión Santa Rosa; CN Yamino"
    assert f.loc[2, "protected_areas"] == "PN Cordillera Azul"
    assert pd.isna(f.loc[2, "reserves"])
    assert pd.isna(f.loc[4, "territories"])
    assert f.loc[4, "nearest_territory"] == "CN Unión Santa Rosa"
    assert f.loc[4, "nearest_territory_id"] == w["a"]
    assert f.loc[4, "boundary_distance_m"] == 1200.0
    assert bool(f.loc[4, "within_buffer"]) is True
    assert f.loc[5, "reserves"] == "RI Kakataibo Norte y Sur"
    assert np.isnan(f.loc[5, "boundary_distance_m"])
    assert f["nearest_territory_id"].isna().tolist() == [
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    assert pd.isna(f.loc[5, "nearest_territory"]) and not f.loc[5, "within_buffer"]
    assert f.loc[3, "territories"] == "CN Yamino"
    assert f["districts"].isna().all()
    f1 = store.clearings_frame([w["b1"]])
    assert len(f1) == 5 and f1["reserves"].notna().sum() == 1


def test_add_placement_replaces_previous(store: WorkspaceStore):
    w = stored_world(store)
    ids = w["ids1"]
    new = make_placement(
        5, [(3, w["b"], 0.7, 0.9)], nearest=[w["b"]] * 5, distance=[5.0] * 5, within=[True] * 5
    )
    with store.transaction() as conn:
        store.add_placement(conn, ids, new)
    f = store.clearings_frame([w["b1"]]).set_index("id")
    assert nulls(f["territories"]) == [None, None, None, "CN Yamino", None]
    assert f["protected_areas"].isna().all()
    assert (f["nearest_territory_id"] == w["b"]).all()
    assert store.counts()["clearing_territories"] == 1 + 2  # batch 2 untouched
    # non-contiguous ids take the IN path
    sel = np.array([ids[0], ids[4]])
    with store.transaction() as conn:
        store.add_placement(conn, sel, make_placement(2, [(1, w["r"], 0.5, 1.0)]))
    assert store.counts()["clearing_territories"] == 1 + 1 + 2


def test_placement_is_validated(store: WorkspaceStore):
    w = stored_world(store)
    with pytest.raises(ValueError, match="nearest_territory"), store.transaction() as conn:
        store.add_placement(conn, w["ids1"], make_placement(4, []))
    with pytest.raises(ValueError, match="index"), store.transaction() as conn:
        store.add_placement(conn, w["ids1"][:2], make_placement(2, [(2, w["a"], 1.0, 1.0)]))
    with pytest.raises(ValueError, match="twice"), store.transaction() as conn:
        store.add_placement(
            conn, w["ids1"][:2], make_placement(2, [(0, w["a"], 1.0, 1.0), (0, w["a"], 1.0, 1.0)])
        )
    with pytest.raises(ValueError, match="not stored"), store.transaction() as conn:
        store.add_placement(conn, np.array([999, 1000]), make_placement(2, []))
    with pytest.raises(sa.exc.IntegrityError), store.transaction() as conn:  # unknown territory
        store.add_placement(conn, w["ids1"][:1], make_placement(1, [(0, 999, 1.0, 1.0)]))
    assert store.counts()["clearing_territories"] == 10


def _stored_rows(store: WorkspaceStore) -> tuple[list[tuple], list[tuple]]:
    """Clearing and overlap rows as stored (NaN, which PostgreSQL keeps, read as None)."""
    c, ct = ws_module.s.clearings, ws_module.s.clearing_territories

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
                a, b, _r, _p = st.add_territories(conn, make_territories())
            placement = make_placement(
                6,
                [(0, a, 1.0, 1.0), (2, a, 0.5, 0.5), (2, b, 0.5, 0.5), (5, b, 2.0, 1.0)],
                nearest=[a, a, b, -1, a, b],
                distance=[0.0, 10.0, 0.0, np.nan, 35.5, 0.0],
                within=[True, True, True, False, True, True],
            )
            with st.transaction(bulk=bulk) as conn:
                bid = st.add_batch(conn, new_batch())
                st.add_clearings(conn, bid, cs, placement)
            stored.append(_stored_rows(st))
            if st.is_sqlite:
                for _ in range(3):  # every pooled connection enforces foreign keys again
                    with st.engine.connect() as conn:
                        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert stored[0] == stored[1]
    assert len(stored[0][0]) == 6 and len(stored[0][1]) == 4


def test_bulk_dates_are_iso_text_or_null(tmp_path: Path):
    with WorkspaceStore.create(tmp_path / "ws") as st:
        for values in (
            ["2024-03-01", "NaT", "2019-12-31", "2024-03-01"],
            ["NaT", "NaT"],
            ["1970-01-01", "2250-06-30", "NaT"],  # far apart: formatted one by one
            [],
        ):
            days = np.array(values, "datetime64[D]")
            assert st._dates(days) == [None if v == "NaT" else v for v in values]


@pytest.mark.parametrize("fast", [True, False], ids=["raw-sqlite", "core"])
def test_bulk_transaction_refuses_missing_parents(store: WorkspaceStore, fast: bool):
    use_path(store, fast)
    with store.transaction() as conn:
        a, *_ = store.add_territories(conn, make_territories())
    before = store.counts()
    cases = [
        (make_placement(2, [(0, 999, 1.0, 1.0)], nearest=[a, a]), None),  # unknown overlap
        (make_placement(2, [], nearest=[a, 998]), None),  # unknown nearest territory
        (make_placement(2, [], nearest=[a, a]), 12345),  # unknown batch
    ]
    for placement, batch in cases:
        with pytest.raises(sa.exc.IntegrityError), store.transaction(bulk=True) as conn:
            bid = store.add_batch(conn, new_batch())
            store.add_clearings(conn, batch or bid, make_clearings(2), placement)
        assert store.counts() == before
    with pytest.raises(sa.exc.IntegrityError), store.transaction(bulk=True) as conn:
        bid = store.add_batch(conn, new_batch())
        ids = store.add_clearings(conn, bid, make_clearings(2))
        store.add_placement(conn, ids, make_placement(2, [(1, 997, 1.0, 1.0)], nearest=[a, a]))
    assert store.counts() == before
    if store.is_sqlite:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_territory_summary_aggregates_by_hand(store: WorkspaceStore):
    w = stored_world(store)
    summary = store.territory_summary()
    assert [(s.name, s.clearings, s.area_ha) for s in summary] == [
        ("CN Unión Santa Rosa", 3, 8.0),  # 2.0 + 1.0 (batch 1) + 5.0 (batch 2)
        ("PN Cordillera Azul", 3, 7.0),  # 2.0 + 2.0 + 3.0
        ("CN Yamino", 2, 4.0),  # 1.0 + 3.0
        ("RI Kakataibo Norte y Sur", 2, 1.5),  # 0.5 + 1.0
    ]
    a = summary[0]
    assert a.territory_id == w["a"] and a.kind == TerritoryKind.COMMUNITY
    # clearings 0, 1 of batch 1 and 0 of batch 2
    assert (a.first_date, a.last_date) == (date(2024, 3, 1), date(2024, 6, 11))
    p = summary[1]
    assert p.kind == TerritoryKind.PROTECTED_AREA
    assert (p.first_date, p.last_date) == (date(2024, 3, 1), date(2024, 4, 30))
    r = summary[3]
    assert (r.first_date, r.last_date) == (date(2024, 1, 15), date(2024, 7, 1))

    only1 = store.territory_summary([w["b1"]])
    assert [(s.name, s.clearings, s.area_ha) for s in only1] == [
        ("PN Cordillera Azul", 3, 7.0),
        ("CN Yamino", 2, 4.0),
        ("CN Unión Santa Rosa", 2, 3.0),
        ("RI Kakataibo Norte y Sur", 1, 0.5),
    ]
    assert only1[2].last_date == date(2024, 3, 20)
    assert store.territory_summary([w["b2"]])[0].area_ha == 5.0
    assert store.territory_summary([12345]) == []


# -------------------------------------------------------------------- atomicity


def test_exception_midway_rolls_back_everything(store: WorkspaceStore):
    stored_world(store)
    before = store.counts()
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as conn:
        store.add_territories(conn, make_territories()[:1])
        bid = store.add_batch(conn, new_batch("half"))
        cs = make_clearings(2000, seed=9)
        store.add_clearings(conn, bid, cs.take(np.arange(1000)), Placement.empty(1000))
        store.set_meta(conn, "name", "changed")
        raise RuntimeError("boom")
    assert store.counts() == before
    assert store.find_batch("half") is None
    assert store.name == "Kakataibo"
    # ids continue from the committed rows only
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch("after"))
        ids = store.add_clearings(conn, bid, make_clearings(3, seed=1))
    assert ids.tolist() == [8, 9, 10]


def test_readers_see_last_commit_during_a_write(store: WorkspaceStore):
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch())
        store.add_clearings(conn, bid, make_clearings(100))
        assert store.counts()["clearings"] == 0  # another connection: committed state
        assert store.counts(conn=conn)["clearings"] == 100
        assert len(store.clearings_frame(conn=conn)) == 100
    assert store.counts()["clearings"] == 100


def test_second_writer_gets_busy_error(
    store_factory, store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch, english
):
    monkeypatch.setattr(ws_module, "BUSY_TIMEOUT_S", 0.2)
    with store_factory.open(store.dir) as other, store.transaction() as conn:
        store.add_batch(conn, new_batch())
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="busy"), other.transaction():
            pass
        assert time.monotonic() - t0 < 5
        assert other.counts()["alert_batches"] == 0
    with other.transaction() as conn:  # the lock went with the first transaction
        assert other.find_batch(new_batch().key, conn=conn) is not None
        set_language("es")
        with pytest.raises(ConflictError, match="ya fue ingresado"):
            other.add_batch(conn, new_batch())


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
                other.add_batch(conn, new_batch())
        except ConflictError as exc:
            outcome["error"] = exc
        with other.transaction() as conn:
            bid = other.add_batch(conn, new_batch("other"))
            outcome["ids"] = other.add_clearings(conn, bid, make_clearings(3, seed=2)).tolist()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        with store.transaction() as conn:
            bid = store.add_batch(conn, new_batch())
            store.add_clearings(conn, bid, make_clearings(5))
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
    from test_store import make_clearings, new_batch

    store = WorkspaceStore.open(sys.argv[1], database_url=sys.argv[3] or None)
    cs = make_clearings(int(sys.argv[4]), seed=42)
    with store.transaction() as conn:
        bid = store.add_batch(conn, new_batch("killed"))
        store.add_clearings(conn, bid, cs)
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
        assert again.find_batch("killed") is None
        assert again.name == "Kakataibo"
        if again.is_sqlite:
            with again.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        with again.transaction() as conn:  # and it is writable again
            bid = again.add_batch(conn, new_batch("after-kill"))
            assert again.add_clearings(conn, bid, make_clearings(2)).tolist() == [8, 9]


# ------------------------------------------------------------------------ scale
# (speed is measured by bench/monitor_throughput.py, not here)


@pytest.mark.slow
def test_100k_clearings_insert_and_read(store: WorkspaceStore):
    n = 100_000
    cs = make_clearings(n, seed=7)
    k = n // 3  # a third of the clearings overlap one territory
    with store.transaction() as conn:
        (tid,) = store.add_territories(conn, make_territories()[:1])
        bid = store.add_batch(conn, new_batch())
        placement = make_placement(
            n,
            [],
            nearest=np.full(n, tid),
            distance=np.linspace(0, 5000, n),
            within=np.ones(n, bool),
        )
        placement = Placement(
            overlap_clearing=np.arange(k, dtype=np.int64),
            overlap_territory=np.full(k, tid, np.int64),
            overlap_area_ha=cs.area_ha[:k],
            overlap_share=np.ones(k),
            nearest_territory=placement.nearest_territory,
            boundary_distance_m=placement.boundary_distance_m,
            within_buffer=placement.within_buffer,
        )
        ids = store.add_clearings(conn, bid, cs, placement)
    assert ids[0] == 1 and ids[-1] == n
    frame = store.clearings_frame()
    assert len(frame) == n
    assert frame["territories"].notna().sum() == k
    np.testing.assert_array_equal(frame["area_ha"].to_numpy(), cs.area_ha)
    (summary,) = store.territory_summary()
    assert summary.clearings == k
    assert summary.area_ha == pytest.approx(cs.area_ha[:k].sum())
