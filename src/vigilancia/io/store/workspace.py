"""The workspace store: one organisation's database (SQLite file or PostgreSQL).

By default a workspace is a directory holding ``vigilancia.sqlite`` (WAL journal,
``synchronous=FULL``, foreign keys on). With ``database_url`` the tables live in
that database instead (PostgreSQL); the directory still holds the workspace's
files.

Writes go through :meth:`WorkspaceStore.transaction` and every write method takes
its connection: a whole monitoring run is one transaction, so an exception, a
Ctrl-C or a SIGKILL leaves the database exactly as it was before the run. There
is one writer at a time: the writer holds the workspace's write lock for the
whole run, readers keep reading the last committed state, and a second writer
waits up to :data:`BUSY_TIMEOUT_S` seconds and then gets a
:class:`~vigilancia.errors.StoreError`. On SQLite the lock is the file's
(``BEGIN IMMEDIATE``); on PostgreSQL it is a transaction-level advisory lock
(:data:`WRITER_LOCK_KEY`), so that ids taken as ``MAX(id) + 1`` never collide
and an idempotency check made inside the transaction sees every committed batch.

PostgreSQL URLs take the psycopg 3 driver (``postgresql+psycopg://user:password@host/db``;
a bare ``postgresql://`` is read the same way). Geometries are WKB in ``bytea``
columns, so the database needs no extension; PostGIS may be installed in it.

Read methods open their own connection, or use ``conn=`` to read inside a
running transaction (and see its uncommitted rows).

>>> import tempfile, pathlib
>>> with WorkspaceStore.create(pathlib.Path(tempfile.mkdtemp()) / "ws", name="demo") as store:
...     store.name, store.counts()["clearings"]
('demo', 0)
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from numpy.typing import NDArray
from sqlalchemy.engine import Connection, Engine

from vigilancia.domain.cases import Case, CaseEvent, CaseOrigin, CaseStatus, PriorityTerm
from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.context import ContextFeatures, ContextKind
from vigilancia.domain.territories import StoredTerritory, Tenure, Territory, TerritoryKind
from vigilancia.errors import ConflictError, NotFoundError, StoreError, action
from vigilancia.i18n import _
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.store import schema as s

if TYPE_CHECKING:
    import geopandas

    # (the route records are imported where they are built: their module's graph
    # libraries would slow down every command that opens a workspace)
    from vigilancia.domain.routes import CorridorRun, StoredCorridor

log = logging.getLogger(__name__)

DB_FILENAME = "vigilancia.sqlite"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Seconds a writer waits for another writer's lock before giving up.
BUSY_TIMEOUT_S = 30.0
#: Seconds to wait for a PostgreSQL server to accept a connection.
CONNECT_TIMEOUT_S = 10
#: Key of the PostgreSQL advisory lock that a writing transaction holds (one per database).
WRITER_LOCK_KEY = 0x76_69_67_69_6C_61_6E  # "vigilan"
#: SQLSTATEs of PostgreSQL errors that mean "another transaction holds what we need".
_PG_BUSY = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization_failure
#: SQLSTATE classes that mean "the connection itself failed" (connection, auth, no database).
_PG_CONNECT = ("08", "28", "3D")
#: Page size of new SQLite workspaces, bytes.
SQLITE_PAGE_SIZE = 16384
#: SQLite page cache per connection, KiB.
SQLITE_CACHE_KIB = 64 * 1024
#: Rows per executemany call in bulk inserts.
CHUNK_ROWS = 20_000
#: Ids per ``IN (...)`` list (below SQLite's oldest variable limit of 999).
_IN_CHUNK = 900

_BEGIN_OPTION = "vigilancia_sqlite_begin"
#: ``Connection.info`` key set while a bulk transaction runs without SQLite foreign-key checks.
_FK_OFF = "vigilancia_foreign_keys_off"


# --------------------------------------------------------------------- values


@dataclass(frozen=True)
class NewBatch:
    """One ingest of an alert product, before it is stored.

    ``key`` is the idempotency key (same product, period, confidence and file
    hash give the same key); ``area_ha`` is the total clearing area in hectares;
    ``stats`` is any JSON-serialisable detail of the run.
    """

    key: str
    source: str
    product: str
    since: date | None
    until: date | None
    min_confidence: str
    sha256: str
    n_pixels: int
    n_clearings: int
    area_ha: float
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchRecord:
    """A stored alert batch; ``created_at`` is a timezone-aware UTC datetime."""

    id: int
    key: str
    source: str
    product: str
    since: date | None
    until: date | None
    min_confidence: str
    sha256: str
    n_pixels: int
    n_clearings: int
    area_ha: float
    stats: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class TerritorySummary:
    """Clearings touching one territory: count, overlap area (ha) and date range."""

    territory_id: int
    name: str
    kind: TerritoryKind
    clearings: int
    area_ha: float
    first_date: date | None
    last_date: date | None


@dataclass(frozen=True)
class ModelRecord:
    """A stored driver model (``classifier_models``).

    ``created_at`` is timezone-aware UTC; ``params`` and ``metrics`` are JSON
    objects; ``blob`` is the serialised model, None when it was not read
    (:meth:`WorkspaceStore.list_models`) or the kind has none.
    """

    id: int
    version: str
    kind: str
    created_at: datetime
    n_labels: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    active: bool
    blob: bytes | None = None


@dataclass(frozen=True)
class ClearingColumns:
    """Stored clearings as columns for feature computations (one entry per clearing, by id).

    Dates are ``datetime64[D]`` (NaT when unknown), floats NaN when unknown;
    ``bounds`` is (n, 4) lon/lat (minx, miny, maxx, maxy) and ``geometry``
    shapely objects in EPSG:4326; ``driver`` the likely driver's name (None until
    classified).
    """

    id: NDArray[np.int64]
    batch_id: NDArray[np.int64]
    first_date: NDArray[np.datetime64]
    last_date: NDArray[np.datetime64]
    area_ha: NDArray[np.float64]
    perimeter_m: NDArray[np.float64]
    length_m: NDArray[np.float64]
    width_m: NDArray[np.float64]
    orientation_deg: NDArray[np.float64]
    elongation: NDArray[np.float64]
    compactness: NDArray[np.float64]
    pixel_count: NDArray[np.int64]
    centroid_lon: NDArray[np.float64]
    centroid_lat: NDArray[np.float64]
    boundary_distance_m: NDArray[np.float64]
    bounds: NDArray[np.float64]
    geometry: NDArray[np.object_]
    driver: NDArray[np.object_]
    driver_probability: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.id)

    def take(self, rows: Any) -> ClearingColumns:
        """Some of the clearings: ``rows`` (positions or a boolean mask) of every column."""
        return ClearingColumns(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


# ------------------------------------------------------------ engine, alembic


@dataclass(frozen=True)
class ClearingPoints:
    """Stored clearings as points with their area, first date and driver probabilities.

    One entry per clearing, ordered by id; ``first_date`` is ``datetime64[D]``
    (NaT when unknown); ``probs`` maps each driver name to its probabilities,
    NaN where a clearing is not classified.
    """

    id: NDArray[np.int64]
    first_date: NDArray[np.datetime64]
    area_ha: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    probs: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.id)

    def subset(self, keep: NDArray[np.bool_]) -> ClearingPoints:
        """The clearings where ``keep`` is True."""
        return ClearingPoints(
            self.id[keep], self.first_date[keep], self.area_ha[keep], self.lon[keep],
            self.lat[keep], {k: v[keep] for k, v in self.probs.items()},
        )


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return sa.engine.URL.create("sqlite", database=str(path)).render_as_string()


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_on_begin): the driver's legacy
    # transaction control would autocommit DDL and never BEGIN before SELECTs.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        # 16 KiB pages for a new database (a no-op once it has content): clearing rows
        # with their WKB are wide, and bulk inserts touch fewer pages
        cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode and str(mode[0]).lower() != "wal":
            log.warning("SQLite journal_mode is %s, not wal", mode[0])
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Page cache of up to 64 MiB (allocated as used): bulk inserts update the
        # indexes at random places; with the default 2 MiB they spill to disk.
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_BEGIN_OPTION) == "immediate"
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def database_url(url: str) -> sa.engine.URL:
    """``url`` parsed, with PostgreSQL URLs bound to the psycopg 3 driver.

    >>> database_url("postgresql://u@localhost/ws").drivername
    'postgresql+psycopg'

    Raises :class:`StoreError` when ``url`` is not a database URL vigilancia can use.
    """
    try:
        parsed = sa.engine.make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        parsed.get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            _("the database URL is not valid"),
            hint=_(
                "give a URL like postgresql+psycopg://user:password@host:5432/database "
                "in VIGILANCIA_DATABASE_URL, or leave it unset to use a SQLite file"
            ),
            source=_safe_url(url),
        ) from exc
    return parsed


def _safe_url(url: str) -> str:
    """``url`` as it may be shown to a person: without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<?>"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, ``synchronous=FULL`` and foreign keys."""
    dumps = functools.partial(json.dumps, ensure_ascii=False, default=str)
    parsed = database_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = {"json_serializer": dumps}
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {
                k: v
                for k, v in {
                    "connect_timeout": CONNECT_TIMEOUT_S,
                    "application_name": "vigilancia",
                }.items()
                if k not in parsed.query
            }
    engine = sa.create_engine(parsed, **kwargs)
    if is_sqlite:
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration built in code (no ``alembic.ini``), bound to ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest schema revision this version of vigilancia knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    """The schema revision of the database behind ``conn`` (None when never migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def migrate(conn: Connection) -> None:
    """Upgrade the schema to head inside ``conn``'s transaction (a no-op when current)."""
    command.upgrade(alembic_config(conn), "head")


# ---------------------------------------------------------------------- store


class WorkspaceStore:
    """Database of one workspace. Build it with :meth:`create` or :meth:`open`."""

    def __init__(self, workspace_dir: Path, url: str, engine: Engine) -> None:
        self.dir = workspace_dir
        self.url = url
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        #: Bulk writes go straight to the driver: sqlite3 ``executemany`` or psycopg ``COPY``
        #: (tests switch it off to run the SQLAlchemy Core path).
        self._fast_bulk = self.is_sqlite or engine.dialect.driver == "psycopg"

    # ------------------------------------------------------------ lifecycle

    @staticmethod
    def database_path(workspace_dir: Path) -> Path:
        """Path of the SQLite file of a workspace."""
        return Path(workspace_dir) / DB_FILENAME

    @staticmethod
    def exists(workspace_dir: Path) -> bool:
        """Whether ``workspace_dir`` holds a SQLite workspace (PostgreSQL ones are not seen)."""
        return WorkspaceStore.database_path(workspace_dir).is_file()

    @classmethod
    def create(
        cls, workspace_dir: Path, *, database_url: str | None = None, name: str | None = None
    ) -> WorkspaceStore:
        """Make a new workspace in ``workspace_dir`` (created if missing) with the current schema.

        Raises :class:`ConflictError` when a workspace is already there (or in
        ``database_url``). A failure leaves no half-made database behind.
        """
        wdir = Path(workspace_dir).expanduser().absolute()
        db_path = cls.database_path(wdir)
        if database_url is None and db_path.exists():
            raise cls._exists_error(wdir)
        made_dir = not wdir.exists()
        made_file = False
        try:
            wdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                _("the workspace folder could not be created"),
                hint=_("check the path and that you may write there"),
                source=str(wdir),
            ) from exc
        engine: Engine | None = None
        try:
            if database_url is None:
                try:  # claim the file atomically: two concurrent creates cannot both win
                    os.close(os.open(db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                except FileExistsError:
                    raise cls._exists_error(wdir) from None
                made_file = True
            url = database_url or sqlite_url(db_path)
            engine = make_engine(url)
            store = cls(wdir, url, engine)
            with store.transaction() as conn:
                if (
                    sa.inspect(conn).has_table(s.workspace_meta.name)
                    and conn.execute(sa.select(s.workspace_meta.c.key).limit(1)).first()
                ):
                    raise store._exists_in_database()
                migrate(conn)
                from vigilancia import __version__ as version

                now = datetime.now(UTC).isoformat(timespec="seconds")
                for key, value in {
                    "name": name or wdir.name,
                    "created_at": now,
                    "created_by": f"vigilancia {version}",
                    "schema_revision": head_revision(),
                    "area_of_interest": None,
                }.items():
                    store.set_meta(conn, key, value)
            return store
        except BaseException:
            if engine is not None:
                engine.dispose()
            if made_file:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(OSError):
                        Path(f"{db_path}{suffix}").unlink()
            if made_dir:
                with contextlib.suppress(OSError):
                    wdir.rmdir()
            raise

    @classmethod
    def open(cls, workspace_dir: Path, *, database_url: str | None = None) -> WorkspaceStore:
        """Open an existing workspace and upgrade its schema to this version's head.

        Raises :class:`NotFoundError` when there is no workspace and
        :class:`StoreError` when the file is not a workspace database or was
        written by a newer vigilancia.
        """
        wdir = Path(workspace_dir).expanduser().absolute()
        if database_url is None and not cls.exists(wdir):
            raise NotFoundError(
                _("there is no workspace in this folder"),
                hint=_("check the folder, or create a workspace there first"),
                source=str(wdir),
            )
        url = database_url or sqlite_url(cls.database_path(wdir))
        engine = make_engine(url)
        store = cls(wdir, url, engine)
        try:
            store._upgrade()
        except BaseException:
            engine.dispose()
            raise
        return store

    def _upgrade(self) -> None:
        head = head_revision()
        try:
            with self.engine.connect() as conn:
                current = current_revision(conn)
                has_meta = sa.inspect(conn).has_table(s.workspace_meta.name)
        except sa.exc.OperationalError as exc:
            raise self._store_error(exc) from exc
        except sa.exc.DatabaseError as exc:  # "file is not a database"
            raise self._not_a_workspace() from exc
        if current is None or not has_meta:
            if self.is_sqlite:
                raise self._not_a_workspace()
            raise NotFoundError(
                _("there is no workspace in this database"),
                hint=_("check the database URL, or create a workspace there first"),
                source=self.engine.url.render_as_string(hide_password=True),
            )
        if current == head:
            return
        try:
            ScriptDirectory.from_config(alembic_config()).get_revision(current)
        except CommandError as exc:
            raise StoreError(
                _("the workspace was written by a newer version of vigilancia"),
                hint=_("update vigilancia to open this workspace"),
                source=str(self.dir),
            ) from exc
        with self.transaction() as conn:
            migrate(conn)
            self.set_meta(conn, "schema_revision", head)

    def close(self) -> None:
        """Close every pooled connection (the store can not be used afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> WorkspaceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WorkspaceStore({str(self.dir)!r}, {self.engine.url.render_as_string()!r})"

    # ----------------------------------------------------------- transactions

    @contextlib.contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[Connection]:
        """One atomic unit of writes: commit at the end of the block, roll back on any exception.

        On SQLite it starts with ``BEGIN IMMEDIATE`` (write lock held for the
        whole block). Do not nest: a second ``transaction()`` inside the block
        waits for the first one's lock.

        ``bulk=True`` (a monitoring run writing hundreds of thousands of
        clearings): on SQLite the per-row foreign-key lookups are switched off
        for this transaction; :meth:`add_clearings` checks the batch and every
        territory id once per call instead, inside the write lock, so no row
        can reference a missing parent. Atomicity and durability are unchanged.
        """
        try:
            with self.engine.connect() as conn:
                if self.is_sqlite:
                    conn.execution_options(**{_BEGIN_OPTION: "immediate"})
                with self._foreign_keys_off(conn, bulk and self.is_sqlite), conn.begin():
                    if conn.dialect.name == "postgresql":
                        self._pg_writer_lock(conn)
                    yield conn
        except sa.exc.OperationalError as exc:
            raise self._store_error(exc) from exc

    @staticmethod
    @contextlib.contextmanager
    def _foreign_keys_off(conn: Connection, off: bool) -> Iterator[None]:
        """SQLite: no foreign-key enforcement on ``conn`` inside the block (when ``off``).

        The pragma only takes effect outside a transaction, so it is set on the
        driver connection before BEGIN and restored after COMMIT or ROLLBACK; a
        connection that cannot be restored is discarded, never pooled.
        """
        if not off:
            yield
            return
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        conn.info[_FK_OFF] = True
        try:
            yield
        finally:
            conn.info.pop(_FK_OFF, None)
            try:
                raw.execute("PRAGMA foreign_keys=ON")
            except Exception:  # the pooled connection must never keep FKs off
                conn.invalidate()
                raise

    @staticmethod
    def _pg_writer_lock(conn: Connection) -> None:
        """Take the workspace's write lock for this transaction, waiting at most BUSY_TIMEOUT_S.

        The wait limit (``lock_timeout``) holds for every lock of the transaction.
        """
        timeout_ms = max(1, int(BUSY_TIMEOUT_S * 1000))
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {timeout_ms}")
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")

    @contextlib.contextmanager
    def _reader(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
            return
        try:
            with self.engine.connect() as own:
                yield own
        except sa.exc.OperationalError as exc:
            raise self._store_error(exc) from exc

    @staticmethod
    def _require_tx(conn: Connection) -> None:
        if not conn.in_transaction():
            raise ValueError("write inside `with store.transaction() as conn:`")

    def _store_error(self, exc: sa.exc.OperationalError) -> StoreError:
        text = str(exc.orig).lower()
        if self.is_sqlite:
            busy = "locked" in text or "busy" in text
            full = "full" in text
        else:
            state = str(getattr(exc.orig, "sqlstate", None) or "")
            if not state or state.startswith(_PG_CONNECT):
                return StoreError(
                    _("could not connect to the database"),
                    hint=_(
                        "check VIGILANCIA_DATABASE_URL (host, port, database, user and "
                        "password) and that the database server is running"
                    ),
                    source=self.engine.url.render_as_string(hide_password=True),
                )
            busy = state in _PG_BUSY
            full = state == "53100"  # disk_full
        if busy:
            return StoreError(
                _("the workspace is busy: another process is writing to it"),
                hint=_("wait until the other run ends and try again"),
                source=str(self.dir),
            )
        if full:
            return StoreError(
                _("the disk is full: nothing was saved"),
                hint=_("free some space and run it again"),
                source=str(self.dir),
            )
        return StoreError(
            _("the workspace database could not be read or written"),
            hint=_("check that the disk is not full and that the files may be written"),
            source=str(self.dir),
        )

    def _not_a_workspace(self) -> StoreError:
        return StoreError(
            _("the file is not a vigilancia workspace database"),
            hint=_("check the folder, or create a workspace there first"),
            source=str(self.database_path(self.dir)) if self.is_sqlite else str(self.dir),
        )

    @staticmethod
    def _exists_error(wdir: Path) -> ConflictError:
        return ConflictError(
            _("a workspace already exists in this folder"),
            hint=_("open it, or choose another folder"),
            source=str(wdir),
        )

    def _exists_in_database(self) -> ConflictError:
        if self.is_sqlite:
            return self._exists_error(self.dir)
        return ConflictError(
            _("a workspace already exists in this database"),
            hint=_("open it, or give another database in VIGILANCIA_DATABASE_URL"),
            source=self.engine.url.render_as_string(hide_password=True),
        )

    # --------------------------------------------------------------- metadata

    def get_meta(self, key: str, default: Any = None, *, conn: Connection | None = None) -> Any:
        """A workspace metadata value (JSON) or ``default``."""
        with self._reader(conn) as c:
            row = c.execute(
                sa.select(s.workspace_meta.c.value).where(s.workspace_meta.c.key == key)
            ).first()
        return default if row is None or row[0] is None else row[0]

    def set_meta(self, conn: Connection, key: str, value: Any) -> None:
        """Set a workspace metadata value (anything JSON can hold)."""
        self._require_tx(conn)
        t = s.workspace_meta
        conn.execute(sa.delete(t).where(t.c.key == key))
        conn.execute(sa.insert(t).values(key=key, value=value))

    @property
    def name(self) -> str:
        """Name of the workspace (the folder name unless one was given)."""
        return str(self.get_meta("name", self.dir.name))

    @property
    def created_at(self) -> datetime | None:
        """When the workspace was created (UTC)."""
        value = self.get_meta("created_at")
        return datetime.fromisoformat(value) if value else None

    def schema_revision(self) -> str | None:
        """The schema revision of the database (an Alembic revision id)."""
        with self._reader(None) as conn:
            return current_revision(conn)

    def area_of_interest(self) -> tuple[float, float, float, float] | None:
        """Bounds (minx, miny, maxx, maxy, EPSG:4326) of the area of interest, if set."""
        value = self.get_meta("area_of_interest")
        if not value:
            return None
        minx, miny, maxx, maxy = (float(v) for v in value)
        return minx, miny, maxx, maxy

    def set_area_of_interest(
        self, conn: Connection, bounds: tuple[float, float, float, float] | None
    ) -> None:
        """Record the area of interest as lon/lat bounds (minx, miny, maxx, maxy)."""
        if bounds is not None:
            minx, miny, maxx, maxy = (float(v) for v in bounds)
            if not (minx < maxx and miny < maxy):
                raise ValueError(f"empty bounds: {bounds}")
            self.set_meta(conn, "area_of_interest", [minx, miny, maxx, maxy])
        else:
            self.set_meta(conn, "area_of_interest", None)

    # ---------------------------------------------------------- layer imports

    def find_import(self, sha256: str, kind: str, *, conn: Connection | None = None) -> bool:
        """Whether a file with this SHA-256 was imported as ``kind`` (e.g. "territories")."""
        t = s.layer_imports
        with self._reader(conn) as c:
            row = c.execute(sa.select(t.c.id).where(t.c.sha256 == sha256, t.c.kind == kind)).first()
        return row is not None

    def record_import(
        self, conn: Connection, sha256: str, kind: str, source: str, count: int
    ) -> int:
        """Record that ``source`` (SHA-256 ``sha256``) was imported as ``kind`` (``count`` rows);
        returns the id of the new ``layer_imports`` row.

        Raises :class:`ConflictError` when the same file was already imported as ``kind``.
        """
        self._require_tx(conn)
        duplicate = ConflictError(
            _("this file was already imported ({kind})", kind=kind),
            hint=_("nothing was added; the workspace already has its contents"),
            source=source,
        )
        if self.find_import(sha256, kind, conn=conn):
            raise duplicate
        try:  # a concurrent writer (PostgreSQL) may insert the same file after the check
            result = conn.execute(
                sa.insert(s.layer_imports).values(
                    sha256=sha256,
                    kind=kind,
                    source=source,
                    count=int(count),
                    imported_at=datetime.now(UTC),
                )
            )
        except sa.exc.IntegrityError as exc:
            raise duplicate from exc
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    # --------------------------------------------------------- context layers

    def add_context_features(
        self,
        conn: Connection,
        import_id: int | None,
        kind: ContextKind | str,
        features: Sequence[tuple[Any, str | None, str | None, dict[str, Any] | None]],
    ) -> list[int]:
        """Store context features of one ``kind``; returns their ids in order.

        ``features``: ``(geometry, name, feature_class, attributes)`` per
        feature, geometries (points, lines or polygons) in EPSG:4326,
        attributes JSON-serialisable (or None). ``import_id`` links them to
        their ``layer_imports`` row (deleting it deletes them). Ids are
        assigned as ``MAX(id) + 1 ...`` inside the transaction.
        """
        self._require_tx(conn)
        kind_value = ContextKind(kind).value
        n = len(features)
        if n == 0:
            return []
        geoms = np.empty(n, dtype=object)
        geoms[:] = [f[0] for f in features]
        bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if bad.any():
            raise ValueError(f"context feature {int(np.argmax(bad))} has no geometry")
        bounds = np.asarray(shapely.bounds(geoms), np.float64)
        wkb = shapely.to_wkb(geoms)
        start = self._next_id(conn, s.context_features)
        ids = list(range(start, start + n))
        # the driver paths (sqlite3, COPY) take JSON text; SQLAlchemy's JSON type the values
        raw_json = self._fast_bulk
        attributes = [
            (json.dumps(f[3], ensure_ascii=False) if raw_json else f[3]) if f[3] else None
            for f in features
        ]
        self._insert_many(
            conn,
            s.context_features,
            {
                "id": ids,
                "import_id": [None if import_id is None else int(import_id)] * n,
                "kind": [kind_value] * n,
                "name": [f[1] for f in features],
                "feature_class": [f[2] for f in features],
                "attributes": attributes,
                "geometry": [bytes(b) for b in wkb.tolist()],
                "minx": bounds[:, 0].tolist(),
                "miny": bounds[:, 1].tolist(),
                "maxx": bounds[:, 2].tolist(),
                "maxy": bounds[:, 3].tolist(),
            },
        )
        return ids

    def context_features(
        self,
        kinds: Iterable[ContextKind | str] | None = None,
        *,
        bounds: tuple[float, float, float, float] | None = None,
        conn: Connection | None = None,
    ) -> ContextFeatures:
        """Stored context features (all, or those of ``kinds``), ordered by id.

        ``bounds`` (minx, miny, maxx, maxy, lon/lat) keeps the features whose
        bounding box meets it. Geometries are shapely objects in EPSG:4326.
        """
        t = s.context_features
        stmt = sa.select(t.c.id, t.c.kind, t.c.name, t.c.feature_class, t.c.geometry).order_by(
            t.c.id
        )
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([ContextKind(k).value for k in kinds]))
        if bounds is not None:
            minx, miny, maxx, maxy = (float(v) for v in bounds)
            stmt = stmt.where(
                t.c.minx <= maxx, t.c.maxx >= minx, t.c.miny <= maxy, t.c.maxy >= miny
            )
        with self._reader(conn) as c:
            rows = self._fetch_all(c, stmt)
        if not rows:
            return ContextFeatures.empty()
        ids, kind_col, names, classes, wkb = zip(*rows, strict=True)
        geoms = shapely.from_wkb(np.array(wkb, dtype=object))
        return ContextFeatures.build(ids, kind_col, names, classes, geoms)

    def context_summary(self, *, conn: Connection | None = None) -> dict[str, int]:
        """Number of stored context features per kind (kinds without features left out)."""
        t = s.context_features
        stmt = sa.select(t.c.kind, sa.func.count(t.c.id)).group_by(t.c.kind).order_by(t.c.kind)
        with self._reader(conn) as c:
            return {str(kind): int(n) for kind, n in c.execute(stmt).all()}

    # ------------------------------------------------------------ territories

    def add_territories(self, conn: Connection, territories: list[Territory]) -> list[int]:
        """Store territories; returns their ids in order. ``area_ha`` is computed (equal-area)."""
        self._require_tx(conn)
        if not territories:
            return []
        geoms = np.array([t.geometry for t in territories], dtype=object)
        bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if bad.any():
            raise ValueError(f"territory {territories[int(np.argmax(bad))].name!r} has no geometry")
        area_ha = _equal_area_ha(geoms)
        bounds = shapely.bounds(geoms)
        wkb = shapely.to_wkb(geoms)
        start = self._next_id(conn, s.territories)
        ids = list(range(start, start + len(territories)))
        rows = [
            {
                "id": tid,
                "name": t.name,
                "kind": TerritoryKind(t.kind).value,
                "people": t.people,
                "tenure": Tenure(t.tenure).value,
                "title_date": t.title_date,
                "area_ha": float(area_ha[i]),
                "source": t.source,
                "source_id": t.source_id,
                "attributes": dict(t.attributes) if t.attributes else None,
                "geometry": wkb[i],
                "minx": float(bounds[i, 0]),
                "miny": float(bounds[i, 1]),
                "maxx": float(bounds[i, 2]),
                "maxy": float(bounds[i, 3]),
            }
            for i, (tid, t) in enumerate(zip(ids, territories, strict=True))
        ]
        for i in range(0, len(rows), CHUNK_ROWS):
            conn.execute(sa.insert(s.territories), rows[i : i + CHUNK_ROWS])
        return ids

    def territories(
        self, kinds: Iterable[TerritoryKind] | None = None, *, conn: Connection | None = None
    ) -> list[StoredTerritory]:
        """Stored territories (all, or those of ``kinds``), ordered by id."""
        t = s.territories
        stmt = sa.select(
            t.c.id,
            t.c.name,
            t.c.kind,
            t.c.geometry,
            t.c.source,
            t.c.source_id,
            t.c.people,
            t.c.tenure,
            t.c.title_date,
            t.c.area_ha,
            t.c.attributes,
        ).order_by(t.c.id)
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([TerritoryKind(k).value for k in kinds]))
        with self._reader(conn) as c:
            rows = c.execute(stmt).all()
        if not rows:
            return []
        geoms = shapely.from_wkb(np.array([r.geometry for r in rows], dtype=object))
        return [
            StoredTerritory(
                id=r.id,
                name=r.name,
                kind=TerritoryKind(r.kind),
                geometry=g,
                source=r.source,
                source_id=r.source_id,
                people=r.people,
                tenure=Tenure(r.tenure),
                title_date=r.title_date,
                area_ha=r.area_ha,
                attributes=r.attributes,
            )
            for r, g in zip(rows, geoms, strict=True)
        ]

    def territories_version(self, *, conn: Connection | None = None) -> str:
        """Cheap fingerprint of the territory table ("count:max_id") for caching derived indexes."""
        t = s.territories
        with self._reader(conn) as c:
            n, top = c.execute(sa.select(sa.func.count(t.c.id), sa.func.max(t.c.id))).one()
        return f"{n}:{top or 0}"

    # ----------------------------------------------------------------- batches

    def find_batch(self, key: str, *, conn: Connection | None = None) -> BatchRecord | None:
        """The batch stored under idempotency ``key``, or None."""
        t = s.alert_batches
        with self._reader(conn) as c:
            row = c.execute(sa.select(t).where(t.c.key == key)).first()
        return None if row is None else _batch_record(row)

    def add_batch(self, conn: Connection, batch: NewBatch) -> int:
        """Store a batch and return its id; :class:`ConflictError` if ``batch.key`` is stored."""
        self._require_tx(conn)
        duplicate = ConflictError(
            _("this alert batch was already ingested: {key}", key=batch.key),
            hint=_("nothing was added; the workspace already has these alerts"),
            source=batch.source,
        )
        if self.find_batch(batch.key, conn=conn) is not None:
            raise duplicate
        values = {
            "key": batch.key,
            "source": batch.source,
            "product": batch.product,
            "since": batch.since,
            "until": batch.until,
            "min_confidence": batch.min_confidence,
            "sha256": batch.sha256,
            "n_pixels": int(batch.n_pixels),
            "n_clearings": int(batch.n_clearings),
            "area_ha": float(batch.area_ha),
            "stats": batch.stats,
            "created_at": datetime.now(UTC),
        }
        try:  # a concurrent writer (PostgreSQL) may insert the key after the check
            result = conn.execute(sa.insert(s.alert_batches).values(**values))
        except sa.exc.IntegrityError as exc:
            raise duplicate from exc
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def update_batch_totals(
        self,
        conn: Connection,
        batch_id: int,
        *,
        n_pixels: int,
        n_clearings: int,
        area_ha: float,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Set a batch's totals once its clearings are stored (streaming ingests learn them last).

        ``stats`` replaces the stored stats when given.
        """
        self._require_tx(conn)
        t = s.alert_batches
        values: dict[str, Any] = {
            "n_pixels": int(n_pixels),
            "n_clearings": int(n_clearings),
            "area_ha": float(area_ha),
        }
        if stats is not None:
            values["stats"] = stats
        result = conn.execute(sa.update(t).where(t.c.id == int(batch_id)).values(**values))
        if result.rowcount != 1:
            raise ValueError(f"no alert batch with id {batch_id}")

    def batches(self, *, conn: Connection | None = None) -> list[BatchRecord]:
        """All stored batches, oldest first."""
        t = s.alert_batches
        with self._reader(conn) as c:
            rows = c.execute(sa.select(t).order_by(t.c.id)).all()
        return [_batch_record(r) for r in rows]

    # --------------------------------------------------------------- clearings

    def add_clearings(
        self,
        conn: Connection,
        batch_id: int,
        clearings: ClearingSet,
        placement: Placement | None = None,
    ) -> NDArray[np.int64]:
        """Store the clearings of batch ``batch_id``; returns their ids (int64) in order.

        With ``placement`` the per-clearing placement columns are written in the
        same INSERT and the overlap rows added (one pass); without it they stay
        empty until :meth:`add_placement`. Ids are assigned as ``MAX(id) + 1 ...``
        inside the transaction.
        """
        self._require_tx(conn)
        n = len(clearings)
        if placement is not None:
            _check_placement(n, placement)
        if n == 0:
            return np.empty(0, np.int64)
        start = self._next_id(conn, s.clearings)
        ids = np.arange(start, start + n, dtype=np.int64)
        wkb, bounds = clearings.encoded()
        bad = np.isnan(bounds).any(axis=1)  # missing or empty geometries have NaN bounds
        if bad.any():
            raise ValueError(f"clearing {int(np.argmax(bad))} of the set has no geometry")
        if conn.info.get(_FK_OFF):
            self._check_parents(conn, batch_id, placement)
        if placement is not None:
            nearest = _nullable_ids(placement.nearest_territory)
            distance: list[Any] = placement.boundary_distance_m.astype(np.float64).tolist()
            within: list[Any] = placement.within_buffer.astype(bool).tolist()
        else:
            nearest = distance = [None] * n
            within = [False] * n
        cols: dict[str, list[Any]] = {
            "id": ids.tolist(),
            "batch_id": [int(batch_id)] * n,
            "first_date": self._dates(clearings.first_date),
            "last_date": self._dates(clearings.last_date),
            **{
                name: getattr(clearings, name).astype(np.float64).tolist() for name in _FLOAT_FIELDS
            },
            **{name: getattr(clearings, name).astype(np.int64).tolist() for name in _INT_FIELDS},
        }
        refs = clearings.source_ref
        if refs.dtype != object or any(v is not None for v in refs.tolist()):
            # (raster clearings have none: the column keeps its NULL default)
            cols["source_ref"] = [None if v is None else str(v) for v in refs.tolist()]
        cols |= {
            "nearest_territory_id": nearest,
            "boundary_distance_m": distance,
            "within_buffer": within,
            "geometry": wkb.tolist(),
            "minx": bounds[:, 0].tolist(),
            "miny": bounds[:, 1].tolist(),
            "maxx": bounds[:, 2].tolist(),
            "maxy": bounds[:, 3].tolist(),
        }
        self._insert_many(conn, s.clearings, cols)
        if placement is not None:
            self._insert_overlaps(conn, ids, placement)
        return ids

    def add_placement(
        self, conn: Connection, clearing_ids: NDArray[np.int64], placement: Placement
    ) -> None:
        """Write (or replace) the placement of stored clearings.

        ``clearing_ids[i]`` is the id of clearing ``i`` of the set that
        ``placement`` describes. Sets nearest territory, boundary distance and
        within-buffer, and replaces the overlap rows of those clearings.
        """
        self._require_tx(conn)
        ids = np.asarray(clearing_ids, dtype=np.int64)
        _check_placement(len(ids), placement)
        if len(ids) == 0:
            return
        if conn.info.get(_FK_OFF):
            self._check_parents(conn, None, placement)
        nearest = _nullable_ids(placement.nearest_territory)
        rows = list(
            zip(
                nearest,
                placement.boundary_distance_m.astype(np.float64).tolist(),
                placement.within_buffer.astype(bool).tolist(),
                ids.tolist(),
                strict=True,
            )
        )
        c = s.clearings
        updated = 0
        if self._fast_bulk and self.is_sqlite:
            sql = (
                "UPDATE clearings SET nearest_territory_id = ?, boundary_distance_m = ?, "
                "within_buffer = ? WHERE id = ?"
            )
            updated = self._raw_executemany(conn, sql, rows)
        else:
            stmt = (
                sa.update(c)
                .where(c.c.id == sa.bindparam("b_id"))
                .values(
                    nearest_territory_id=sa.bindparam("b_nearest"),
                    boundary_distance_m=sa.bindparam("b_distance"),
                    within_buffer=sa.bindparam("b_within"),
                )
            )
            keys = ("b_nearest", "b_distance", "b_within", "b_id")
            for i in range(0, len(rows), CHUNK_ROWS):
                res = conn.execute(
                    stmt, [dict(zip(keys, r, strict=True)) for r in rows[i : i + CHUNK_ROWS]]
                )
                updated += res.rowcount
        if updated != len(ids):
            raise ValueError(f"{len(ids) - updated} of the clearing ids are not stored")
        ct = s.clearing_territories
        unique_ids = np.unique(ids)
        if len(unique_ids) and unique_ids[-1] - unique_ids[0] + 1 == len(unique_ids):
            conn.execute(
                sa.delete(ct).where(
                    ct.c.clearing_id.between(int(unique_ids[0]), int(unique_ids[-1]))
                )
            )
        else:
            for i in range(0, len(unique_ids), _IN_CHUNK):
                chunk = unique_ids[i : i + _IN_CHUNK].tolist()
                conn.execute(sa.delete(ct).where(ct.c.clearing_id.in_(chunk)))
        self._insert_overlaps(conn, ids, placement)

    def clearings_frame(
        self, batch_ids: Sequence[int] | None = None, *, conn: Connection | None = None
    ) -> geopandas.GeoDataFrame:
        """Stored clearings as a GeoDataFrame (EPSG:4326), one row per clearing, ordered by id.

        Columns: ``id``, ``batch_id``, ``product``, ``first_date``/``last_date``
        (ISO ``YYYY-MM-DD`` strings), every numeric field of
        :class:`ClearingSet` (ha, m, degrees, pixel counts, centroid lon/lat),
        ``source_ref``, ``status``, ``nearest_territory_id`` (nullable Int64),
        ``nearest_territory`` (its name), ``boundary_distance_m``,
        ``within_buffer`` (bool), the likely ``driver`` with its
        ``driver_probability``, ``driver_reasons`` (list of {code, params}) and
        ``model_version`` (None until classified), and the names of the polygons each clearing
        overlaps, joined by "; " (None when none): ``territories`` (community
        territories), ``reserves``, ``protected_areas`` and ``districts``;
        then ``geometry``.
        """
        import geopandas as gpd
        import pandas as pd

        c, b, ct, t = s.clearings, s.alert_batches, s.clearing_territories, s.territories
        nt = t.alias("nt")
        stmt = (
            sa.select(
                c.c.id,
                c.c.batch_id,
                b.c.product,
                self._date_text(c.c.first_date),
                self._date_text(c.c.last_date),
                *(c.c[name] for name in _FLOAT_FIELDS),
                *(c.c[name] for name in _INT_FIELDS),
                c.c.source_ref,
                c.c.status,
                c.c.nearest_territory_id,
                nt.c.name,
                c.c.boundary_distance_m,
                c.c.within_buffer,
                c.c.driver,
                c.c.driver_probability,
                sa.type_coerce(c.c.driver_reasons, sa.Text),
                c.c.model_version,
                c.c.geometry,
            )
            .select_from(
                c.join(b, b.c.id == c.c.batch_id).outerjoin(nt, nt.c.id == c.c.nearest_territory_id)
            )
            .order_by(c.c.id)
        )
        names_stmt = (
            sa.select(ct.c.clearing_id, t.c.kind, t.c.name)
            .select_from(ct.join(t, t.c.id == ct.c.territory_id))
            .order_by(ct.c.clearing_id, t.c.name)
        )
        if batch_ids is not None:
            wanted = [int(v) for v in batch_ids]
            stmt = stmt.where(c.c.batch_id.in_(wanted))
            names_stmt = names_stmt.join(c, c.c.id == ct.c.clearing_id).where(
                c.c.batch_id.in_(wanted)
            )
        with self._reader(conn) as rc:
            rows = self._fetch_all(rc, stmt)
            name_rows = self._fetch_all(rc, names_stmt)

        n_cols = 3 + 2 + len(_FLOAT_FIELDS) + len(_INT_FIELDS) + 11
        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * n_cols
        it = iter(cols)
        ids = np.array(next(it), dtype=np.int64)
        data: dict[str, Any] = {
            "id": ids,
            "batch_id": np.array(next(it), dtype=np.int64),
            "product": np.array(next(it), dtype=object),
            "first_date": _iso_dates(next(it)),
            "last_date": _iso_dates(next(it)),
        }
        for name in _FLOAT_FIELDS:
            data[name] = np.array(next(it), dtype=np.float64)
        for name in _INT_FIELDS:
            data[name] = np.array(next(it), dtype=np.int64)
        data["source_ref"] = _objects(next(it))
        data["status"] = _objects(next(it))
        data["nearest_territory_id"] = pd.array(list(next(it)), dtype="Int64")
        data["nearest_territory"] = _objects(next(it))
        data["boundary_distance_m"] = np.array(next(it), dtype=np.float64)
        data["within_buffer"] = np.array(next(it), dtype=bool)
        data["driver"] = _objects(next(it))
        data["driver_probability"] = np.array(
            [np.nan if v is None else v for v in next(it)], dtype=np.float64
        )
        data["driver_reasons"] = _objects(
            [None if v is None else (json.loads(v) if isinstance(v, str) else v) for v in next(it)]
        )
        data["model_version"] = _objects(next(it))
        geometry = shapely.from_wkb(np.array(next(it), dtype=object))

        by_kind: dict[str, dict[int, list[str]]] = {k.value: {} for k in TerritoryKind}
        for cid, kind, tname in name_rows:
            by_kind.setdefault(kind, {}).setdefault(cid, []).append(tname)
        id_list = ids.tolist()
        for kind, column in _KIND_COLUMNS.items():
            names = by_kind.get(kind.value, {})
            data[column] = _objects(
                [("; ".join(names[i]) if i in names else None) for i in id_list]
            )
        data["product"] = _objects(data["product"])
        data["first_date"] = _objects(data["first_date"])
        data["last_date"] = _objects(data["last_date"])
        return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")

    def set_driver_predictions(
        self,
        conn: Connection,
        clearing_ids: NDArray[np.int64],
        drivers: Sequence[str],
        probability: NDArray[np.float64],
        probabilities: Sequence[Mapping[str, float]],
        reasons: Sequence[Sequence[Mapping[str, Any]]],
        model_version: str,
    ) -> int:
        """Write the likely driver of stored clearings (replacing any earlier prediction).

        ``probabilities[i]`` maps every driver to its probability, ``reasons[i]``
        lists ``{"code": ..., "params": {...}}``. Returns the rows updated.
        """
        self._require_tx(conn)
        ids = np.asarray(clearing_ids, dtype=np.int64)
        n = len(ids)
        if not (len(drivers) == len(probability) == len(probabilities) == len(reasons) == n):
            raise ValueError("one driver, probability, probability map and reasons per clearing")
        if n == 0:
            return 0
        driver_text = [str(d) for d in drivers]
        prob = np.asarray(probability, np.float64).tolist()
        probs = [p if type(p) is dict else dict(p) for p in probabilities]
        why = [[r if type(r) is dict else dict(r) for r in rs] for rs in reasons]
        cids = ids.tolist()
        if self._fast_bulk and self.is_sqlite:
            dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            sql = (
                "UPDATE clearings SET driver = ?, driver_probability = ?, driver_probs = ?, "
                "driver_reasons = ?, model_version = ? WHERE id = ?"
            )
            rows = list(zip(driver_text, prob, map(dumps, probs), map(dumps, why),
                            [model_version] * n, cids, strict=True))
            return self._raw_executemany(conn, sql, rows)
        c = s.clearings
        stmt = (
            c.update()
            .where(c.c.id == sa.bindparam("cid"))
            .values(
                driver=sa.bindparam("d"),
                driver_probability=sa.bindparam("p"),
                driver_probs=sa.bindparam("ps", type_=sa.JSON().evaluates_none()),
                driver_reasons=sa.bindparam("rs", type_=sa.JSON().evaluates_none()),
                model_version=sa.bindparam("mv"),
            )
        )
        params = [
            {"d": d, "p": p, "ps": ps, "rs": rs, "mv": model_version, "cid": cid}
            for d, p, ps, rs, cid in zip(driver_text, prob, probs, why, cids, strict=True)
        ]
        updated = 0
        for i in range(0, n, CHUNK_ROWS):
            updated += conn.execute(stmt, params[i : i + CHUNK_ROWS]).rowcount or 0
        return updated

    def driver_counts(
        self, batch_ids: Sequence[int] | None = None, *, conn: Connection | None = None
    ) -> tuple[dict[str, int], str | None]:
        """Clearings per likely driver (classified ones only) and the model that classified
        most of them (None when none is classified)."""
        c = s.clearings
        stmt = (
            sa.select(c.c.driver, c.c.model_version, sa.func.count())
            .where(c.c.driver.is_not(None))
            .group_by(c.c.driver, c.c.model_version)
        )
        if batch_ids is not None:
            stmt = stmt.where(c.c.batch_id.in_([int(v) for v in batch_ids]))
        with self._reader(conn) as rc:
            rows = rc.execute(stmt).all()
        counts: dict[str, int] = {}
        by_model: dict[str, int] = {}
        for driver, version, n in rows:
            counts[driver] = counts.get(driver, 0) + int(n)
            by_model[version] = by_model.get(version, 0) + int(n)
        top = max(by_model, key=lambda v: (by_model[v], v)) if by_model else None
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), top

    def territory_summary(
        self, batch_ids: Sequence[int] | None = None, *, conn: Connection | None = None
    ) -> list[TerritorySummary]:
        """Per territory touched by at least one clearing: count, overlap area (ha), date range.

        Ordered by area, largest first (then by name).
        """
        c, ct, t = s.clearings, s.clearing_territories, s.territories
        area = sa.func.sum(ct.c.area_ha).label("area_ha")
        stmt = (
            sa.select(
                t.c.id,
                t.c.name,
                t.c.kind,
                sa.func.count(ct.c.clearing_id),
                area,
                sa.func.min(c.c.first_date),
                sa.func.max(c.c.last_date),
            )
            .select_from(
                ct.join(c, c.c.id == ct.c.clearing_id).join(t, t.c.id == ct.c.territory_id)
            )
            .group_by(t.c.id, t.c.name, t.c.kind)
            .order_by(area.desc(), t.c.name, t.c.id)
        )
        if batch_ids is not None:
            stmt = stmt.where(c.c.batch_id.in_([int(v) for v in batch_ids]))
        with self._reader(conn) as rc:
            rows = rc.execute(stmt).all()
        return [
            TerritorySummary(
                territory_id=int(tid),
                name=name,
                kind=TerritoryKind(kind),
                clearings=int(count),
                area_ha=float(total or 0.0),
                first_date=_as_date(first),
                last_date=_as_date(last),
            )
            for tid, name, kind, count, total, first, last in rows
        ]

    def clearing_columns(
        self,
        *,
        clearing_ids: Sequence[int] | NDArray[np.int64] | None = None,
        batch_ids: Sequence[int] | None = None,
        bounds: tuple[float, float, float, float] | None = None,
        conn: Connection | None = None,
    ) -> ClearingColumns:
        """Stored clearings as :class:`ClearingColumns`, ordered by id.

        Filters combine: ``clearing_ids``, ``batch_ids``, and ``bounds`` (minx,
        miny, maxx, maxy, lon/lat: clearings whose bounding box meets it).
        Unknown ids are ignored.
        """
        c = s.clearings
        float_names = (
            "area_ha",
            "perimeter_m",
            "length_m",
            "width_m",
            "orientation_deg",
            "elongation",
            "compactness",
            "centroid_lon",
            "centroid_lat",
            "boundary_distance_m",
        )
        stmt = sa.select(
            c.c.id,
            c.c.batch_id,
            self._date_text(c.c.first_date),
            self._date_text(c.c.last_date),
            *(c.c[name] for name in float_names),
            c.c.pixel_count,
            c.c.minx,
            c.c.miny,
            c.c.maxx,
            c.c.maxy,
            c.c.driver,
            c.c.driver_probability,
            c.c.geometry,
        ).order_by(c.c.id)
        rows, wanted = self._read_clearings(stmt, clearing_ids, batch_ids, bounds, conn)
        n_cols = 4 + len(float_names) + 8
        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * n_cols
        it = iter(cols)
        ids = np.array(next(it), dtype=np.int64)
        batch = np.array(next(it), dtype=np.int64)
        first = np.array(next(it), dtype="datetime64[D]")
        last = np.array(next(it), dtype="datetime64[D]")
        floats = {name: np.array(next(it), dtype=np.float64) for name in float_names}
        pixels = np.array(next(it), dtype=np.int64)
        bounds_arr = np.column_stack(
            [np.array(next(it), dtype=np.float64) for _k in range(4)]
        ).reshape(-1, 4)
        driver = np.empty(len(ids), dtype=object)
        driver[:] = next(it)
        driver_p = np.array(next(it), dtype=np.float64)
        geometry = np.asarray(shapely.from_wkb(np.array(next(it), dtype=object)), dtype=object)
        keep = slice(None) if wanted is None else np.isin(ids, wanted)
        return ClearingColumns(
            id=ids[keep],
            batch_id=batch[keep],
            first_date=first[keep],
            last_date=last[keep],
            **{name: values[keep] for name, values in floats.items()},
            pixel_count=pixels[keep],
            bounds=bounds_arr[keep],
            geometry=geometry[keep],
            driver=driver[keep],
            driver_probability=driver_p[keep],
        )

    def clearing_positions(
        self,
        *,
        clearing_ids: Sequence[int] | NDArray[np.int64] | None = None,
        batch_ids: Sequence[int] | None = None,
        conn: Connection | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """``(ids, lon, lat, bounds)`` of stored clearings, by id: the centroid (the centre
        of the bounding box where no centroid is stored) and the (n, 4) lon/lat bounding
        box. Lean (no geometry), to split a large selection into parts before reading
        it whole (filters as :meth:`clearing_columns`)."""
        c = s.clearings
        stmt = sa.select(
            c.c.id, c.c.centroid_lon, c.c.centroid_lat, c.c.minx, c.c.miny, c.c.maxx, c.c.maxy
        ).order_by(c.c.id)
        rows, wanted = self._read_clearings(stmt, clearing_ids, batch_ids, None, conn)
        ids = np.array([r[0] for r in rows], np.int64)
        v = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 6)  # None -> NaN
        lon = np.where(np.isfinite(v[:, 0]), v[:, 0], (v[:, 2] + v[:, 4]) / 2.0)
        lat = np.where(np.isfinite(v[:, 1]), v[:, 1], (v[:, 3] + v[:, 5]) / 2.0)
        keep = slice(None) if wanted is None else np.isin(ids, wanted)
        return ids[keep], lon[keep], lat[keep], v[keep, 2:]

    def clearings_overlapping(
        self,
        kinds: Iterable[TerritoryKind],
        *,
        batch_ids: Sequence[int] | None = None,
        conn: Connection | None = None,
    ) -> NDArray[np.int64]:
        """Ids (ascending) of the clearings that overlap a territory of ``kinds``."""
        c, ct, t = s.clearings, s.clearing_territories, s.territories
        stmt = (
            sa.select(ct.c.clearing_id)
            .distinct()
            .select_from(ct.join(t, t.c.id == ct.c.territory_id))
            .where(t.c.kind.in_([TerritoryKind(k).value for k in kinds]))
        )
        if batch_ids is not None:
            stmt = stmt.join(c, c.c.id == ct.c.clearing_id).where(
                c.c.batch_id.in_([int(v) for v in batch_ids])
            )
        with self._reader(conn) as rc:
            rows = self._fetch_all(rc, stmt)
        return np.sort(np.array([r[0] for r in rows], dtype=np.int64))

    def clearing_overlaps(
        self, kinds: Iterable[TerritoryKind], *, conn: Connection | None = None
    ) -> list[tuple[int, int, float]]:
        """``(clearing_id, territory_id, share)`` for every overlap with a territory of
        ``kinds`` (share: fraction of the clearing's area inside it), by clearing then
        largest share."""
        ct, t = s.clearing_territories, s.territories
        stmt = (
            sa.select(ct.c.clearing_id, ct.c.territory_id, ct.c.share)
            .select_from(ct.join(t, t.c.id == ct.c.territory_id))
            .where(t.c.kind.in_([TerritoryKind(k).value for k in kinds]))
            .order_by(ct.c.clearing_id, ct.c.share.desc(), ct.c.territory_id)
        )
        with self._reader(conn) as rc:
            return [(int(a), int(b), float(c)) for a, b, c in self._fetch_all(rc, stmt)]

    def territory_kind_counts(self, *, conn: Connection | None = None) -> dict[TerritoryKind, int]:
        """Number of stored territories per kind (kinds without territories left out)."""
        t = s.territories
        stmt = sa.select(t.c.kind, sa.func.count(t.c.id)).group_by(t.c.kind)
        with self._reader(conn) as c:
            return {TerritoryKind(kind): int(n) for kind, n in c.execute(stmt).all()}

    def counts(self, *, conn: Connection | None = None) -> dict[str, int]:
        """Rows per table (for tests and ``status``)."""
        with self._reader(conn) as c:
            return {
                t.name: int(c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in s.TABLES
            }

    # ------------------------------------------------------- classifier models

    def save_model(
        self,
        conn: Connection,
        *,
        version: str,
        kind: str,
        n_labels: int,
        params: Mapping[str, Any] | None,
        metrics: Mapping[str, Any] | None,
        blob: bytes | None,
        activate: bool = True,
    ) -> int:
        """Store a driver model and return its id; with ``activate`` it becomes the one active.

        Raises :class:`ConflictError` when ``version`` is already stored (use
        :meth:`activate_model` to switch back to it).
        """
        self._require_tx(conn)
        t = s.classifier_models
        if conn.execute(sa.select(t.c.id).where(t.c.version == version)).first() is not None:
            raise ConflictError(
                _("a driver model with version {version} is already stored", version=version),
                hint=_("nothing was added; the workspace already has this model"),
            )
        if activate:
            conn.execute(sa.update(t).where(t.c.active == sa.true()).values(active=False))
        result = conn.execute(
            sa.insert(t).values(
                version=version,
                kind=kind,
                created_at=datetime.now(UTC),
                n_labels=int(n_labels),
                params=dict(params) if params is not None else None,
                metrics=dict(metrics) if metrics is not None else None,
                model=blob,
                active=bool(activate),
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def activate_model(self, conn: Connection, version: str | None) -> None:
        """Make the stored model ``version`` the only active one; None deactivates every model
        (predictions go back to the rules). Raises :class:`NotFoundError` for an unknown version.
        """
        self._require_tx(conn)
        t = s.classifier_models
        if version is not None and (
            conn.execute(sa.select(t.c.id).where(t.c.version == version)).first() is None
        ):
            raise NotFoundError(
                _("there is no driver model with version {version}", version=version),
                hint=_("see the stored models"),
                actions=action("classifier.status"),
            )
        conn.execute(sa.update(t).where(t.c.active == sa.true()).values(active=False))
        if version is not None:
            conn.execute(sa.update(t).where(t.c.version == version).values(active=True))

    def active_model(self, *, conn: Connection | None = None) -> ModelRecord | None:
        """The active driver model with its bytes, or None (the rules predict)."""
        t = s.classifier_models
        stmt = sa.select(t).where(t.c.active == sa.true()).order_by(t.c.id.desc()).limit(1)
        with self._reader(conn) as c:
            row = c.execute(stmt).first()
        return None if row is None else _model_record(row, with_blob=True)

    def list_models(self, *, conn: Connection | None = None) -> list[ModelRecord]:
        """Every stored driver model, newest first, without their bytes."""
        t = s.classifier_models
        cols = [col for col in t.c if col.name != "model"]
        with self._reader(conn) as c:
            rows = c.execute(sa.select(*cols).order_by(t.c.id.desc())).all()
        return [_model_record(r, with_blob=False) for r in rows]

    # ----------------------------------------------------------------- labels

    def add_labels(self, conn: Connection, rows: Sequence[Any]) -> int:
        """Store clearing labels (:class:`~vigilancia.domain.driver_training.LabelRow`).

        A label whose (clearing, source) pair is already stored, or repeated in
        ``rows``, is skipped, so importing the same labels twice adds nothing.
        Returns the number of labels added.
        """
        self._require_tx(conn)
        if not rows:
            return 0
        t = s.clearing_labels
        sources = sorted({str(r.source) for r in rows})
        seen: set[tuple[int, str]] = set()
        for i in range(0, len(sources), _IN_CHUNK):
            stmt = sa.select(t.c.clearing_id, t.c.source).where(
                t.c.source.in_(sources[i : i + _IN_CHUNK])
            )
            seen.update((int(cid), str(src)) for cid, src in conn.execute(stmt).all())
        now = datetime.now(UTC)
        values = []
        for r in rows:
            key = (int(r.clearing_id), str(r.source))
            if key in seen:
                continue
            seen.add(key)
            values.append(
                {
                    "clearing_id": key[0],
                    "driver": str(r.driver),
                    "source": key[1],
                    "observed_at": r.observed_at,
                    "note": getattr(r, "note", None),
                    "created_at": now,
                }
            )
        for i in range(0, len(values), CHUNK_ROWS):
            conn.execute(sa.insert(t), values[i : i + CHUNK_ROWS])
        return len(values)

    def labels(self, *, conn: Connection | None = None) -> list[Any]:
        """Every stored clearing label as a
        :class:`~vigilancia.domain.driver_training.LabelRow`, ordered by id."""
        from vigilancia.domain.driver_training import LabelRow
        from vigilancia.domain.drivers import Driver

        t = s.clearing_labels
        stmt = sa.select(
            t.c.id, t.c.clearing_id, t.c.driver, t.c.source, t.c.observed_at, t.c.created_at
        ).order_by(t.c.id)
        with self._reader(conn) as c:
            rows = c.execute(stmt).all()
        out = []
        for lid, cid, driver, source, observed, created in rows:
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            out.append(
                LabelRow(
                    clearing_id=int(cid),
                    driver=Driver(driver),
                    source=str(source),
                    observed_at=_as_date(observed),
                    created_at=created,
                    id=int(lid),
                )
            )
        return out

    def clearings_extent(
        self, *, conn: Connection | None = None
    ) -> tuple[float, float, float, float] | None:
        """Bounds (minx, miny, maxx, maxy, lon/lat) of every stored clearing; None when none."""
        c = s.clearings
        stmt = sa.select(
            sa.func.min(c.c.minx), sa.func.min(c.c.miny), sa.func.max(c.c.maxx),
            sa.func.max(c.c.maxy),
        )
        with self._reader(conn) as rc:
            row = rc.execute(stmt).one()
        if row[0] is None:
            return None
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])

    def clearing_points(self, *, conn: Connection | None = None) -> ClearingPoints:
        """Every stored clearing as a centroid point with area, first date and driver probabilities.

        Lean on purpose (no geometry): the risk score and its back-test read
        hundreds of thousands of clearings.
        """
        c = s.clearings
        stmt = sa.select(
            c.c.id,
            self._date_text(c.c.first_date),
            c.c.area_ha,
            c.c.centroid_lon,
            c.c.centroid_lat,
            sa.type_coerce(c.c.driver_probs, sa.Text),
        ).order_by(c.c.id)
        with self._reader(conn) as rc:
            rows = self._fetch_all(rc, stmt)
        n = len(rows)
        ids, dates, area, lon, lat, probs_text = (
            zip(*rows, strict=True) if rows else ((),) * 6
        )
        probs: dict[str, NDArray[np.float64]] = {}
        for i, text in enumerate(probs_text):
            if not text:
                continue
            for driver, p in json.loads(text).items():
                col = probs.get(driver)
                if col is None:
                    col = probs[driver] = np.full(n, np.nan)
                col[i] = float(p)
        return ClearingPoints(
            np.asarray(ids, np.int64),
            np.array([d or "NaT" for d in dates], dtype="datetime64[D]"),
            np.asarray(area, np.float64),
            np.array([np.nan if v is None else v for v in lon], np.float64),
            np.array([np.nan if v is None else v for v in lat], np.float64),
            probs,
        )

    # ------------------------------------------------------------------- risk

    def save_risk_assessment(
        self,
        conn: Connection,
        *,
        as_of: date,
        unit: str,
        weights: dict[str, float],
        coverage: dict[str, str],
        rows: Sequence[tuple[str, str | None, int | None, float, str, int, Any]],
    ) -> int:
        """Store one risk assessment, replacing the one of the same ``unit`` and ``as_of``.

        ``rows``: ``(unit_key, name, territory_id, score, risk_class, rank,
        contributions)`` with JSON-serialisable contributions. Returns its id.
        """
        self._require_tx(conn)
        a, r = s.risk_assessments, s.risk_scores
        old = conn.execute(
            sa.select(a.c.id).where(a.c.unit == unit, a.c.as_of == as_of)
        ).scalar_one_or_none()
        if old is not None:
            conn.execute(sa.delete(r).where(r.c.assessment_id == old))
            conn.execute(sa.delete(a).where(a.c.id == old))
        aid = self._next_id(conn, a)
        conn.execute(sa.insert(a).values(
            id=aid, created_at=datetime.now(UTC), as_of=as_of, unit=unit,
            weights=weights, coverage=coverage,
        ))
        payload = [
            {"assessment_id": aid, "unit_key": k, "name": name, "territory_id": tid,
             "score": float(score), "risk_class": cls, "rank": int(rank),
             "contributions": contributions}
            for k, name, tid, score, cls, rank, contributions in rows
        ]
        for i in range(0, len(payload), CHUNK_ROWS):
            conn.execute(sa.insert(r), payload[i : i + CHUNK_ROWS])
        return aid

    def risk_assessments(self, *, conn: Connection | None = None) -> list[dict[str, Any]]:
        """Stored risk assessments, newest date first: id, as_of, unit, created_at, units."""
        a, r = s.risk_assessments, s.risk_scores
        stmt = (
            sa.select(a.c.id, a.c.as_of, a.c.unit, a.c.created_at,
                      sa.func.count(r.c.unit_key).label("units"))
            .select_from(a.outerjoin(r, r.c.assessment_id == a.c.id))
            .group_by(a.c.id, a.c.as_of, a.c.unit, a.c.created_at)
            .order_by(a.c.as_of.desc(), a.c.id.desc())
        )
        with self._reader(conn) as c:
            return [dict(row._mapping) for row in c.execute(stmt).all()]

    def risk_scores(
        self, assessment_id: int, *, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        """The scores of one assessment, by rank."""
        r = s.risk_scores
        stmt = sa.select(r).where(r.c.assessment_id == assessment_id).order_by(r.c.rank)
        with self._reader(conn) as c:
            return [dict(row._mapping) for row in c.execute(stmt).all()]

    # -------------------------------------------------------------- corridors

    def add_corridor_run(
        self,
        conn: Connection,
        *,
        as_of: date | None,
        params: Mapping[str, Any],
        summary: Mapping[str, Any],
        corridors: Sequence[tuple[str, str | None, Sequence[str], float, float, Any]],
    ) -> tuple[int, list[int]]:
        """Store one run of the corridor analysis and its corridors; returns (run id, corridor ids).

        ``corridors``: ``(origin, exit_name, modes, length_km, cost_h, geometry)``
        per route, ``origin`` a label such as ``"runway:12"`` or ``"zone:3"``,
        ``modes`` in route order, ``cost_h`` hours, geometry a line in EPSG:4326.
        ``params`` and ``summary`` are JSON-serialisable.
        """
        self._require_tx(conn)
        result = conn.execute(
            sa.insert(s.corridor_runs).values(
                created_at=datetime.now(UTC),
                as_of=as_of,
                params=dict(params),
                summary=dict(summary),
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        run_id = int(pk[0])
        if not corridors:
            return run_id, []
        geoms = np.empty(len(corridors), dtype=object)
        geoms[:] = [c[5] for c in corridors]
        bounds = np.asarray(shapely.bounds(geoms), np.float64)
        wkb = shapely.to_wkb(geoms)
        start = self._next_id(conn, s.corridors)
        ids = list(range(start, start + len(corridors)))
        rows = [
            {
                "id": cid,
                "run_id": run_id,
                "origin": str(c[0]),
                "exit_name": c[1],
                "modes": [str(m) for m in c[2]],
                "length_km": float(c[3]),
                "cost": float(c[4]),
                "geometry": bytes(wkb[i]),
                "minx": float(bounds[i, 0]),
                "miny": float(bounds[i, 1]),
                "maxx": float(bounds[i, 2]),
                "maxy": float(bounds[i, 3]),
            }
            for i, (cid, c) in enumerate(zip(ids, corridors, strict=True))
        ]
        for i in range(0, len(rows), CHUNK_ROWS):
            conn.execute(sa.insert(s.corridors), rows[i : i + CHUNK_ROWS])
        return run_id, ids

    def corridor_runs(self, *, conn: Connection | None = None) -> list[CorridorRun]:
        """Stored corridor runs, oldest first."""
        t = s.corridor_runs
        with self._reader(conn) as c:
            rows = c.execute(sa.select(t).order_by(t.c.id)).all()
        return [_corridor_run(r) for r in rows]

    def latest_corridor_run(
        self, *, as_of: date | None = None, conn: Connection | None = None
    ) -> CorridorRun | None:
        """The newest corridor run (None if none); with ``as_of``, the newest built for it."""
        t = s.corridor_runs
        stmt = sa.select(t).order_by(t.c.id.desc()).limit(1)
        if as_of is not None:
            stmt = stmt.where(t.c.as_of == as_of)
        with self._reader(conn) as c:
            row = c.execute(stmt).first()
        return None if row is None else _corridor_run(row)

    def corridors(
        self, run_id: int | None = None, *, conn: Connection | None = None
    ) -> list[StoredCorridor]:
        """Corridors of run ``run_id`` (default: the newest run), ordered by id; EPSG:4326 lines."""
        t = s.corridors
        with self._reader(conn) as c:
            if run_id is None:
                run = self.latest_corridor_run(conn=c)
                if run is None:
                    return []
                run_id = run.id
            rows = c.execute(
                sa.select(t).where(t.c.run_id == int(run_id)).order_by(t.c.id)
            ).all()
        if not rows:
            return []
        from vigilancia.domain.routes import StoredCorridor

        geoms = shapely.from_wkb(np.array([bytes(r.geometry) for r in rows], dtype=object))
        return [
            StoredCorridor(
                id=int(r.id),
                run_id=int(r.run_id),
                origin=str(r.origin),
                exit_name=r.exit_name,
                modes=tuple(r.modes or ()),
                length_km=float(r.length_km),
                cost_h=float(r.cost),
                geometry=g,
            )
            for r, g in zip(rows, geoms, strict=True)
        ]

    def context_attributes(
        self,
        kinds: Iterable[ContextKind | str] | None = None,
        *,
        conn: Connection | None = None,
    ) -> dict[int, dict[str, Any]]:
        """The source attributes of stored context features (all, or those of ``kinds``) by id.

        Features imported without attributes are left out.
        """
        t = s.context_features
        stmt = sa.select(t.c.id, t.c.attributes).where(t.c.attributes.is_not(None))
        if kinds is not None:
            stmt = stmt.where(t.c.kind.in_([ContextKind(k).value for k in kinds]))
        with self._reader(conn) as c:
            rows = c.execute(stmt.order_by(t.c.id)).all()
        return {int(r.id): dict(r.attributes) for r in rows if isinstance(r.attributes, dict)}

    # ------------------------------------------------------------------ cases

    def add_cases(self, conn: Connection, cases: Sequence[Case]) -> list[int]:
        """Store new cases (their ``id`` is ignored; ids are given here) and their clearings.

        A clearing may be in one case only: a clearing already in a case raises
        :class:`~vigilancia.errors.ConflictError` and nothing is written.
        Returns the new ids in the order of ``cases``.
        """
        self._require_tx(conn)
        if not cases:
            return []
        cc = s.case_clearings
        wanted = sorted({int(c) for case in cases for c in case.clearing_ids})
        for i in range(0, len(wanted), _IN_CHUNK):
            taken = conn.execute(
                sa.select(cc.c.clearing_id, cc.c.case_id).where(
                    cc.c.clearing_id.in_(wanted[i : i + _IN_CHUNK])
                )
            ).first()
            if taken is not None:
                raise ConflictError(
                    _("Clearing {clearing} is already in case {case}",
                      clearing=taken[0], case=f"C-{int(taken[1]):04d}")
                )
        first = self._next_id(conn, s.cases)
        ids = list(range(first, first + len(cases)))
        rows: list[dict[str, Any]] = []
        links: list[dict[str, int]] = []
        for cid, case in zip(ids, cases, strict=True):
            rows.append(_case_row(case) | {"id": cid})
            links.extend({"clearing_id": int(c), "case_id": cid} for c in case.clearing_ids)
        for i in range(0, len(rows), CHUNK_ROWS):
            conn.execute(sa.insert(s.cases), rows[i : i + CHUNK_ROWS])
        for i in range(0, len(links), CHUNK_ROWS):
            conn.execute(sa.insert(cc), links[i : i + CHUNK_ROWS])
        return ids

    def update_case(self, conn: Connection, case: Case) -> None:
        """Store the new state of an existing case (every field but its id and clearings)."""
        self._require_tx(conn)
        done = conn.execute(
            sa.update(s.cases).where(s.cases.c.id == case.id).values(**_case_row(case))
        )
        if done.rowcount == 0:
            raise NotFoundError(_("No case {case} in this workspace", case=case.code))

    def cases(
        self,
        *,
        territory_id: int | None = None,
        statuses: Iterable[CaseStatus] | None = None,
        ids: Iterable[int] | None = None,
        conn: Connection | None = None,
    ) -> list[Case]:
        """Stored cases (filtered by community, statuses and ids), by id, with their clearings."""
        t, cc = s.cases, s.case_clearings
        stmt = sa.select(t).order_by(t.c.id)
        link = sa.select(cc.c.case_id, cc.c.clearing_id).order_by(cc.c.case_id, cc.c.clearing_id)
        if territory_id is not None:
            stmt = stmt.where(t.c.territory_id == int(territory_id))
            link = link.join(t, t.c.id == cc.c.case_id).where(
                t.c.territory_id == int(territory_id)
            )
        if statuses is not None:
            stmt = stmt.where(t.c.status.in_([CaseStatus(v).value for v in statuses]))
        if ids is not None:
            wanted = [int(v) for v in ids]
            stmt = stmt.where(t.c.id.in_(wanted))
            link = link.where(cc.c.case_id.in_(wanted))
        with self._reader(conn) as c:
            rows = c.execute(stmt).all()
            links: dict[int, list[int]] = {}
            if rows:
                for case_id, clearing_id in c.execute(link).all():
                    links.setdefault(int(case_id), []).append(int(clearing_id))
        return [_case(r, tuple(links.get(int(r.id), ()))) for r in rows]

    def case(self, case_id: int, *, conn: Connection | None = None) -> Case:
        """One stored case; :class:`~vigilancia.errors.NotFoundError` if there is none."""
        found = self.cases(ids=[case_id], conn=conn)
        if not found:
            raise NotFoundError(
                _("No case {case} in this workspace", case=f"C-{int(case_id):04d}"),
                hint=_("see the list of cases"),
                actions=action("cases.list"),
            )
        return found[0]

    def uncased_clearings(self, *, conn: Connection | None = None) -> tuple[
            NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_], NDArray[np.datetime64]]:
        """The clearings in no case yet, by id: ``(ids, nearest_territory_id (-1 where
        none), within_buffer, last_date)``. Lean: what choosing clearings for cases needs."""
        c, cc = s.clearings, s.case_clearings
        stmt = (
            sa.select(c.c.id, c.c.nearest_territory_id, c.c.within_buffer,
                      self._date_text(c.c.last_date))
            .where(~sa.exists().where(cc.c.clearing_id == c.c.id))
            .order_by(c.c.id)
        )
        with self._reader(conn) as rc:
            rows = self._fetch_all(rc, stmt)
        ids, nearest, within, last = zip(*rows, strict=True) if rows else ((),) * 4
        return (
            np.array(ids, np.int64),
            np.array([-1 if v is None else v for v in nearest], np.int64),
            np.array(within, bool),
            np.array([v or "NaT" for v in last], "datetime64[D]"),
        )

    def latest_alert_date(self, *, conn: Connection | None = None) -> date | None:
        """The last alert date of the most recent stored clearing (None when none has one)."""
        c = s.clearings
        with self._reader(conn) as rc:
            value = rc.execute(sa.select(self._date_text(sa.func.max(c.c.last_date)))).scalar()
        return None if value is None else date.fromisoformat(str(value)[:10])

    def add_case_clearings(
        self, conn: Connection, case_id: int, clearing_ids: Iterable[int]
    ) -> None:
        """Put more clearings in an existing case (none may be in a case already)."""
        self._require_tx(conn)
        rows = [{"clearing_id": int(c), "case_id": int(case_id)} for c in clearing_ids]
        if rows:
            conn.execute(sa.insert(s.case_clearings), rows)

    def add_case_events(self, conn: Connection, events: Sequence[CaseEvent]) -> None:
        """Append events to the cases' histories (never updated nor deleted)."""
        self._require_tx(conn)
        rows = [
            {
                "case_id": int(e.case_id),
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "from_status": None if e.from_status is None else CaseStatus(e.from_status).value,
                "to_status": None if e.to_status is None else CaseStatus(e.to_status).value,
                "detail": dict(e.detail) or None,
            }
            for e in events
        ]
        for i in range(0, len(rows), CHUNK_ROWS):
            conn.execute(sa.insert(s.case_events), rows[i : i + CHUNK_ROWS])

    def case_events(
        self, case_id: int | None = None, *, conn: Connection | None = None
    ) -> list[CaseEvent]:
        """The history of one case (or of all), oldest first."""
        t = s.case_events
        stmt = sa.select(t).order_by(t.c.id)
        if case_id is not None:
            stmt = stmt.where(t.c.case_id == int(case_id))
        with self._reader(conn) as c:
            rows = c.execute(stmt).all()
        return [
            CaseEvent(
                case_id=int(r.case_id),
                at=_aware(r.at),
                actor=r.actor,
                action=r.action,
                from_status=None if r.from_status is None else CaseStatus(r.from_status),
                to_status=None if r.to_status is None else CaseStatus(r.to_status),
                detail=dict(r.detail or {}),
                id=int(r.id),
            )
            for r in rows
        ]

    def save_patrol_plan(
        self,
        conn: Connection,
        *,
        territory_id: int,
        params: Mapping[str, Any],
        plan: Mapping[str, Any],
        route_wkb: bytes | None,
    ) -> int:
        """Store one patrol plan (JSON-able ``params`` and ``plan``, route as WKB); its id."""
        self._require_tx(conn)
        t = s.patrol_plans
        pid = self._next_id(conn, t)
        conn.execute(sa.insert(t).values(
            id=pid, territory_id=int(territory_id), created_at=datetime.now(UTC),
            params=dict(params), plan=dict(plan), route=route_wkb,
        ))
        return pid

    def patrol_plans(
        self, territory_id: int | None = None, *, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        """Stored patrol plans, newest first: id, territory_id, created_at, params, plan, route
        (WKB or None)."""
        t = s.patrol_plans
        stmt = sa.select(t).order_by(t.c.id.desc())
        if territory_id is not None:
            stmt = stmt.where(t.c.territory_id == int(territory_id))
        with self._reader(conn) as c:
            rows = c.execute(stmt).all()
        return [dict(r._mapping) | {"created_at": _aware(r.created_at)} for r in rows]

    # ------------------------------------------------------------- field data

    def add_field_files(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Record kept field files (columns of ``field_files``); a SHA-256 already stored
        is skipped. Returns how many were added."""
        self._require_tx(conn)
        t = s.field_files
        shas = sorted({str(r["sha256"]) for r in rows})
        seen: set[str] = set()
        for i in range(0, len(shas), _IN_CHUNK):
            seen.update(
                str(v) for (v,) in conn.execute(
                    sa.select(t.c.sha256).where(t.c.sha256.in_(shas[i : i + _IN_CHUNK]))
                ).all()
            )
        new = []
        for r in rows:
            if r["sha256"] in seen:
                continue
            seen.add(str(r["sha256"]))
            new.append(dict(r))
        if new:
            conn.execute(sa.insert(t), new)
        return len(new)

    def field_files(
        self, shas: Iterable[str] | None = None, *, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        """Stored field files (all, or those with ``shas``), by import time then name."""
        t = s.field_files
        stmt = sa.select(t).order_by(t.c.imported_at, t.c.name)
        if shas is not None:
            stmt = stmt.where(t.c.sha256.in_(list(shas)))
        with self._reader(conn) as c:
            return [dict(r._mapping) for r in c.execute(stmt).all()]

    def field_observation_keys(
        self, keys: Iterable[str], *, conn: Connection | None = None
    ) -> set[str]:
        """Which of ``keys`` are already stored observations."""
        t = s.field_observations
        wanted = sorted(set(keys))
        found: set[str] = set()
        with self._reader(conn) as c:
            for i in range(0, len(wanted), _IN_CHUNK):
                found.update(
                    str(v) for (v,) in c.execute(
                        sa.select(t.c.key).where(t.c.key.in_(wanted[i : i + _IN_CHUNK]))
                    ).all()
                )
        return found

    def add_field_observations(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        """Store observations (columns of ``field_observations`` except ``id``). Returns ids."""
        self._require_tx(conn)
        t = s.field_observations
        first = self._next_id(conn, t)
        ids = list(range(first, first + len(rows)))
        payload = [dict(r) | {"id": i} for i, r in zip(ids, rows, strict=True)]
        for i in range(0, len(payload), CHUNK_ROWS):
            conn.execute(sa.insert(t), payload[i : i + CHUNK_ROWS])
        return ids

    def field_observations(
        self, case_id: int | None = None, *, conn: Connection | None = None
    ) -> list[dict[str, Any]]:
        """Stored observations (all, or one case's), by id, as column dicts (WKB geometry)."""
        t = s.field_observations
        stmt = sa.select(t).order_by(t.c.id)
        if case_id is not None:
            stmt = stmt.where(t.c.case_id == int(case_id))
        with self._reader(conn) as c:
            rows = c.execute(stmt).all()
        out = []
        for r in rows:
            row = dict(r._mapping)
            for key in ("observed_at", "end_at", "imported_at"):
                if row[key] is not None:
                    row[key] = _aware(row[key])
            out.append(row)
        return out

    # ---------------------------------------------------------------- helpers

    def _read_clearings(
        self,
        stmt: sa.Select[Any],
        clearing_ids: Sequence[int] | NDArray[np.int64] | None,
        batch_ids: Sequence[int] | None,
        bounds: tuple[float, float, float, float] | None,
        conn: Connection | None,
    ) -> tuple[list[Any], NDArray[np.int64] | None]:
        """Rows of ``stmt`` (on ``clearings``) for the chosen clearings, and the wanted ids
        the caller keeps from them (see :func:`_clearing_filters`)."""
        stmts, wanted = _clearing_filters(stmt, clearing_ids, batch_ids, bounds)
        rows: list[Any] = []
        with self._reader(conn) as rc:
            for one in stmts:
                rows.extend(self._fetch_all(rc, one))
        return rows, wanted

    def _fetch_all(self, conn: Connection, stmt: sa.Select[Any]) -> list[Any]:
        """All rows of ``stmt`` as tuples, straight from the DBAPI cursor (sqlite3, psycopg).

        Only for statements whose column types need no result processing with
        those drivers (floats, integers, booleans, text, blobs as ``bytes``, dates
        read through :meth:`_date_text`).
        """
        result = conn.execute(stmt)
        if self.is_sqlite or conn.dialect.driver == "psycopg":
            return list(result.cursor.fetchall())
        return [tuple(r) for r in result]

    def _date_text(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A ``DATE`` column read as ISO ``YYYY-MM-DD`` text (NULL stays NULL).

        PostgreSQL formats it with ``to_char``, whatever the server's DateStyle.
        """
        if self.engine.dialect.name == "postgresql":
            return sa.func.to_char(column, "YYYY-MM-DD")
        return sa.type_coerce(column, sa.String)  # SQLite keeps dates as ISO text

    @staticmethod
    def _next_id(conn: Connection, table: sa.Table) -> int:
        top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
        return int(top or 0) + 1

    def _dates(self, values: NDArray[np.datetime64]) -> list[Any]:
        """Dates for a bulk insert: ISO strings (raw SQLite path) or ``date`` objects."""
        days = np.asarray(values).astype("datetime64[D]")
        if self._fast_bulk and self.is_sqlite:
            # a batch spans a few thousand days at most: format each day of the span once
            known = ~np.isnat(days)
            if not known.any():
                return [None] * len(days)
            num = days.view(np.int64)
            lo, hi = int(num[known].min()), int(num[known].max())
            if hi - lo > 4 * len(days) + 1024:  # scattered dates: format the distinct ones
                uniq, inv = np.unique(days, return_inverse=True)
                text = np.datetime_as_string(uniq, unit="D").astype(object)
                text[np.isnat(uniq)] = None
                return list(text[inv.ravel()].tolist())
            span = np.arange(lo, hi + 2, dtype=np.int64)  # the last slot is for NaT
            text = np.datetime_as_string(span.view("datetime64[D]"), unit="D").astype(object)
            text[-1] = None
            slot = np.where(known, num - lo, hi + 1 - lo)
            return list(text[slot].tolist())
        return list(days.astype(object).tolist())

    def _check_parents(
        self, conn: Connection, batch_id: int | None, placement: Placement | None
    ) -> None:
        """The checks of the foreign keys of clearings and overlap rows, once per call.

        Used in a bulk transaction (no per-row enforcement): the batch and every
        territory the placement names must exist. Raises ``IntegrityError`` as
        the per-row checks would.
        """
        missing: list[str] = []
        if batch_id is not None:
            b = s.alert_batches
            if conn.execute(sa.select(b.c.id).where(b.c.id == int(batch_id))).first() is None:
                missing.append(f"alert batch {int(batch_id)}")
        if placement is not None:
            near = np.asarray(placement.nearest_territory, np.int64)
            wanted = np.unique(
                np.concatenate([near[near >= 0], np.asarray(placement.overlap_territory, np.int64)])
            )
            t = s.territories
            found: set[int] = set()
            for i in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[i : i + _IN_CHUNK].tolist()
                found.update(int(v) for v in conn.execute(
                    sa.select(t.c.id).where(t.c.id.in_(chunk))).scalars())
            missing += [f"territory {v}" for v in wanted.tolist() if v not in found]
        if missing:
            raise sa.exc.IntegrityError(
                "add_clearings", None, ValueError("FOREIGN KEY constraint failed: no "
                                                  + ", ".join(missing[:5]))
            )

    def _insert_many(self, conn: Connection, table: sa.Table, cols: dict[str, list[Any]]) -> None:
        names = list(cols)
        if self._fast_bulk and self.is_sqlite:
            prep = conn.dialect.identifier_preparer
            sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the schema)
                prep.format_table(table),
                ", ".join(prep.quote(n) for n in names),
                ", ".join("?" * len(names)),
            )
            # rows straight from the columns: none is materialised (and zip reuses its tuple)
            self._raw_executemany(conn, sql, zip(*cols.values(), strict=True))
            return
        if self._fast_bulk:
            self._copy_rows(conn, table, names, zip(*cols.values(), strict=True))
            return
        rows = list(zip(*cols.values(), strict=True))
        stmt = sa.insert(table)
        for i in range(0, len(rows), CHUNK_ROWS):
            conn.execute(stmt, [dict(zip(names, r, strict=True)) for r in rows[i : i + CHUNK_ROWS]])

    @staticmethod
    def _copy_rows(conn: Connection, table: sa.Table, names: list[str],
                   rows: Iterable[tuple[Any, ...]]) -> None:
        """PostgreSQL ``COPY ... FROM STDIN`` through psycopg, in the open transaction."""
        prep = conn.dialect.identifier_preparer
        sql = "COPY {} ({}) FROM STDIN".format(
            prep.format_table(table), ", ".join(prep.quote(n) for n in names))
        dbapi = conn.dialect.loaded_dbapi
        raw = conn.connection.driver_connection
        assert raw is not None  # an open connection in a transaction
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(
                sql, None, exc, dbapi.Error, dialect=conn.dialect
            ) from exc

    @staticmethod
    def _raw_executemany(conn: Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
        """executemany on the raw DBAPI cursor; returns the rows affected.

        Driver errors are re-raised as SQLAlchemy's (IntegrityError,
        OperationalError...) so that callers see one family of exceptions.
        """
        dbapi = conn.dialect.loaded_dbapi
        cur = conn.connection.cursor()
        try:
            cur.executemany(sql, rows)  # type: ignore[arg-type]  # (sqlite3 takes an iterator)
            affected = max(cur.rowcount, 0)
        except dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(
                sql, None, exc, dbapi.Error, dialect=conn.dialect
            ) from exc
        finally:
            cur.close()
        return affected

    def _insert_overlaps(
        self, conn: Connection, ids: NDArray[np.int64], placement: Placement
    ) -> None:
        if len(placement.overlap_clearing) == 0:
            return
        self._insert_many(
            conn,
            s.clearing_territories,
            {
                "clearing_id": ids[placement.overlap_clearing].tolist(),
                "territory_id": placement.overlap_territory.astype(np.int64).tolist(),
                "area_ha": placement.overlap_area_ha.astype(np.float64).tolist(),
                "share": placement.overlap_share.astype(np.float64).tolist(),
            },
        )


# ------------------------------------------------------------------- helpers


def _clearing_filters(
    stmt: sa.Select[Any],
    clearing_ids: Sequence[int] | NDArray[np.int64] | None,
    batch_ids: Sequence[int] | None,
    bounds: tuple[float, float, float, float] | None,
) -> tuple[list[sa.Select[Any]], NDArray[np.int64] | None]:
    """The statements that read the chosen clearings (ids, batches, bounding-box overlap),
    and the wanted ids to keep from their rows (a dense id range is read whole)."""
    c = s.clearings
    if batch_ids is not None:
        stmt = stmt.where(c.c.batch_id.in_([int(v) for v in batch_ids]))
    if bounds is not None:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        stmt = stmt.where(c.c.minx <= maxx, c.c.maxx >= minx, c.c.miny <= maxy, c.c.maxy >= miny)
    if clearing_ids is None:
        return [stmt], None
    wanted = np.unique(np.asarray(clearing_ids, np.int64).reshape(-1))
    if len(wanted) == 0:
        return [], wanted
    if wanted[-1] - wanted[0] < 4 * len(wanted) + _IN_CHUNK:
        # dense ids (a batch, a selection): one range read, filtered by the caller
        return [stmt.where(c.c.id >= int(wanted[0]), c.c.id <= int(wanted[-1]))], wanted
    return [
        stmt.where(c.c.id.in_(wanted[i : i + _IN_CHUNK].tolist()))
        for i in range(0, len(wanted), _IN_CHUNK)
    ], wanted


_FLOAT_FIELDS = (
    "area_ha",
    "perimeter_m",
    "length_m",
    "width_m",
    "orientation_deg",
    "elongation",
    "compactness",
    "centroid_lon",
    "centroid_lat",
)
_INT_FIELDS = ("pixels_low", "pixels_high", "pixels_highest", "pixel_count")
_KIND_COLUMNS = {
    TerritoryKind.COMMUNITY: "territories",
    TerritoryKind.RESERVE: "reserves",
    TerritoryKind.PROTECTED_AREA: "protected_areas",
    TerritoryKind.DISTRICT: "districts",
}


def _nullable_ids(values: NDArray[np.integer]) -> list[Any]:
    """Ids as Python ints, None where negative (no id)."""
    v = np.asarray(values, np.int64)
    out = v.astype(object)
    out[v < 0] = None
    return list(out.tolist())


def _check_placement(n: int, placement: Placement) -> None:
    for name in ("nearest_territory", "boundary_distance_m", "within_buffer"):
        if len(getattr(placement, name)) != n:
            raise ValueError(f"Placement.{name} has {len(getattr(placement, name))} items, not {n}")
    k = len(placement.overlap_clearing)
    for name in ("overlap_territory", "overlap_area_ha", "overlap_share"):
        if len(getattr(placement, name)) != k:
            raise ValueError(f"Placement.{name} has {len(getattr(placement, name))} items, not {k}")
    if k:
        oc = np.asarray(placement.overlap_clearing, dtype=np.int64)
        if oc.min() < 0 or oc.max() >= n:
            raise ValueError(f"Placement.overlap_clearing must index the {n} clearings")
        # one int64 key per pair (territory ids fit in 32 bits)
        keys = (oc << 32) | np.asarray(placement.overlap_territory, dtype=np.int64)
        # pairs come sorted from the raster pipeline: then strictly increasing means unique
        if not bool(np.all(keys[1:] > keys[:-1])) and len(np.unique(keys)) != k:
            raise ValueError("Placement has a clearing/territory pair twice")


def _equal_area_ha(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Areas (ha) in a local Lambert equal-area frame, one frame per 1-degree cell of centres."""
    bounds = shapely.bounds(geoms)
    lon0 = np.round((bounds[:, 0] + bounds[:, 2]) / 2)
    lat0 = np.round((bounds[:, 1] + bounds[:, 3]) / 2)
    out = np.empty(len(geoms), np.float64)
    cells = np.column_stack([lon0, lat0])
    for lon, lat in np.unique(cells, axis=0):
        sel = (lon0 == lon) & (lat0 == lat)
        projected = transform_geometries(
            geoms[sel], WGS84, local_equal_area(float(lon), float(lat))
        )
        out[sel] = shapely.area(projected) / 10_000.0
    return out


def _objects(values: Sequence[Any]) -> Any:
    """A pandas object column (None stays None; pandas 3 would infer ``str`` with NaN).

    One entry per value even when the values are lists of equal length (reasons).
    """
    import pandas as pd

    return pd.array(np.fromiter(values, dtype=object, count=len(values)), dtype=object)


def _iso_dates(values: Sequence[Any]) -> NDArray[np.object_]:
    """ISO date strings (None for missing) from ISO text (SQLite) or ``date`` values."""
    if all(v is None or (isinstance(v, str) and len(v) == 10) for v in values):
        return np.asarray(values, dtype=object)  # already ISO text as written by the store
    days = np.array(values, dtype="datetime64[D]")
    out = np.datetime_as_string(days, unit="D").astype(object)
    out[np.isnat(days)] = None
    return out


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _model_record(row: sa.Row[Any], *, with_blob: bool) -> ModelRecord:
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    blob = row.model if with_blob else None
    return ModelRecord(
        id=int(row.id),
        version=str(row.version),
        kind=str(row.kind),
        created_at=created,
        n_labels=int(row.n_labels),
        params=dict(row.params or {}),
        metrics=dict(row.metrics or {}),
        active=bool(row.active),
        blob=None if blob is None else bytes(blob),
    )


def _corridor_run(row: sa.Row[Any]) -> CorridorRun:
    from vigilancia.domain.routes import CorridorRun

    created = row.created_at
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    return CorridorRun(
        id=int(row.id),
        created_at=created,
        as_of=_as_date(row.as_of),
        params=dict(row.params or {}),
        summary=dict(row.summary or {}),
    )


def _batch_record(row: sa.Row[Any]) -> BatchRecord:
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return BatchRecord(
        id=int(row.id),
        key=row.key,
        source=row.source,
        product=row.product,
        since=row.since,
        until=row.until,
        min_confidence=row.min_confidence,
        sha256=row.sha256,
        n_pixels=int(row.n_pixels),
        n_clearings=int(row.n_clearings),
        area_ha=float(row.area_ha),
        stats=dict(row.stats or {}),
        created_at=created,
    )


def _aware(value: datetime) -> datetime:
    """A stored timestamp as timezone-aware UTC (SQLite returns naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _case_row(case: Case) -> dict[str, Any]:
    return {
        "status": CaseStatus(case.status).value,
        "origin": case.origin.value,
        "territory_id": case.territory_id,
        "lon": float(case.lon),
        "lat": float(case.lat),
        "priority": float(case.priority),
        "priority_terms": [
            {"name": t.name, "points": t.points, "value": t.value} for t in case.priority_terms
        ],
        "area_ha": float(case.area_ha),
        "first_alert": case.first_alert,
        "last_alert": case.last_alert,
        "driver": None if case.driver is None else case.driver.value,
        "driver_probability": case.driver_probability,
        "assignee": case.assignee,
        "verdict": None if case.verdict is None else case.verdict.value,
        "note": case.note,
        "geometry": None if case.geometry is None else shapely.to_wkb(case.geometry),
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def _case(row: sa.Row[Any], clearing_ids: tuple[int, ...]) -> Case:
    from vigilancia.domain.drivers import Driver
    from vigilancia.domain.field import Verdict

    return Case(
        id=int(row.id),
        status=CaseStatus(row.status),
        origin=CaseOrigin(row.origin),
        territory_id=row.territory_id,
        lon=float(row.lon),
        lat=float(row.lat),
        priority=float(row.priority),
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        clearing_ids=clearing_ids,
        geometry=None if row.geometry is None else shapely.from_wkb(row.geometry),
        area_ha=float(row.area_ha),
        first_alert=_as_date(row.first_alert),
        last_alert=_as_date(row.last_alert),
        driver=None if row.driver is None else Driver(row.driver),
        driver_probability=row.driver_probability,
        priority_terms=tuple(
            PriorityTerm(str(t["name"]), float(t["points"]), float(t["value"]))
            for t in (row.priority_terms or [])
        ),
        assignee=row.assignee,
        verdict=None if row.verdict is None else Verdict(row.verdict),
        note=row.note,
    )
