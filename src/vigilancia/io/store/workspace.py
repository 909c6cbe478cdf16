"""The workspace store: one organisation's database (SQLite file or PostgreSQL).

By default a workspace is a directory holding ``vigilancia.sqlite`` (WAL journal,
``synchronous=FULL``, foreign keys on). With ``database_url`` the tables live in
that database instead (PostgreSQL); the directory still holds the workspace's
files.

:class:`WorkspaceStore` is the unit of work: it opens and upgrades the
database, runs transactions, keeps the workspace's metadata, and hands out one
repository per aggregate, each over the same engine:

==========================  ================================================================
``store.territories``       territories and their polygons (:mod:`.territories`)
``store.context``           context layers: rivers, roads, settlements... (:mod:`.context`)
``store.imports``           the ledger of imported layer files (:mod:`.context`)
``store.batches``           alert batches, one per ingest (:mod:`.clearings`)
``store.clearings``         clearings: writes and every read shape (:mod:`.clearings`)
``store.series``            a product's clearings across downloads (:mod:`.series`)
``store.models``            driver models (:mod:`.training`)
``store.labels``            clearing labels (:mod:`.training`)
``store.risk``              risk assessments and scores (:mod:`.risk`)
``store.corridors``         corridor runs and corridors (:mod:`.corridors`)
``store.cases``             cases, their clearings and histories (:mod:`.cases`)
``store.patrol_plans``      patrol plans (:mod:`.cases`)
``store.observations``      field observations (:mod:`.field`)
``store.field_files``       field files kept as evidence (:mod:`.field`)
``store.clearing_map``      the map's index of clearings and its reads (:mod:`.clearing_map`)
``store.users``             accounts of the web app (:mod:`.accounts`)
``store.sessions``          their server-side sessions (:mod:`.accounts`)
``store.logins``            login attempts, for the rate limit (:mod:`.accounts`)
``store.audit``             who wrote what, beside the case events (:mod:`.accounts`)
``store.custody``           the signed custody log of evidence and its keys (:mod:`.custody`)
``store.derived_files``     copies made from field files: resized, stripped (:mod:`.custody`)
==========================  ================================================================

Their methods share a vocabulary: ``add`` inserts new rows (and returns their
ids), ``save`` inserts or replaces, ``set_*`` and ``update`` change stored
rows, ``get`` reads one (:class:`~vigilancia.errors.NotFoundError` when there
is none), ``find`` reads one or None, ``list`` reads all (or those filtered),
ordered. Every read returns records (:mod:`.records`) or domain values.

Writes go through :meth:`WorkspaceStore.transaction` and every write method takes
its connection first: a whole monitoring run is one transaction, so an exception, a
Ctrl-C or a SIGKILL leaves the database exactly as it was before the run. There
is one writer at a time: the writer holds the workspace's write lock for the
whole run, readers keep reading the last committed state, and a second writer
waits up to :data:`~vigilancia.io.store.engine.BUSY_TIMEOUT_S` seconds and then gets a
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
...     store.name, store.counts()["clearings"], store.territories.list()
('demo', 0, [])
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, Engine

from vigilancia.errors import ConflictError, NotFoundError, StoreError
from vigilancia.i18n import _
from vigilancia.io.files import FOLDER_MODE, make_private, private_dir, remove_leftovers
from vigilancia.io.store import engine as engine_config
from vigilancia.io.store import schema as s
from vigilancia.io.store.accounts import (
    AuditRepository,
    LoginAttempts,
    SessionRepository,
    UserRepository,
)
from vigilancia.io.store.cases import CaseRepository, PatrolPlanRepository
from vigilancia.io.store.clearing_map import ClearingMapRepository
from vigilancia.io.store.clearings import BatchRepository, ClearingRepository
from vigilancia.io.store.context import ContextRepository, ImportLedger
from vigilancia.io.store.corridors import CorridorRepository
from vigilancia.io.store.custody import CustodyRepository, DerivedFileRepository
from vigilancia.io.store.engine import (
    BEGIN_OPTION,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    sqlite_url,
)
from vigilancia.io.store.field import FieldFileRepository, ObservationRepository
from vigilancia.io.store.repository import FK_OFF, Database, require_tx
from vigilancia.io.store.risk import RiskRepository
from vigilancia.io.store.series import SeriesRepository
from vigilancia.io.store.territories import TerritoryRepository
from vigilancia.io.store.training import LabelRepository, ModelRepository

DB_FILENAME = "vigilancia.sqlite"
#: Key of the PostgreSQL advisory lock that a writing transaction holds (one per database).
WRITER_LOCK_KEY = 0x76_69_67_69_6C_61_6E  # "vigilan"
#: Key of the PostgreSQL advisory lock that a run holds for its whole length (:meth:`run_lock`).
RUN_LOCK_KEY = WRITER_LOCK_KEY + 1
#: SQLSTATEs of PostgreSQL errors that mean "another transaction holds what we need".
_PG_BUSY = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization_failure
#: SQLSTATE classes that mean "the connection itself failed" (connection, auth, no database).
_PG_CONNECT = ("08", "28", "3D")


class WorkspaceStore:
    """Database of one workspace. Build it with :meth:`create` or :meth:`open`."""

    def __init__(self, workspace_dir: Path, url: str, engine: Engine) -> None:
        self.dir = workspace_dir
        self.url = url
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        #: What the repositories share: the engine, the bulk-write path, reads.
        self.db = Database(engine, self._store_error)
        self.territories = TerritoryRepository(self.db)
        self.context = ContextRepository(self.db)
        self.imports = ImportLedger(self.db)
        self.batches = BatchRepository(self.db)
        self.clearings = ClearingRepository(self.db)
        self.series = SeriesRepository(self.db)
        self.models = ModelRepository(self.db)
        self.labels = LabelRepository(self.db)
        self.risk = RiskRepository(self.db)
        self.corridors = CorridorRepository(self.db)
        self.cases = CaseRepository(self.db)
        self.patrol_plans = PatrolPlanRepository(self.db)
        self.observations = ObservationRepository(self.db)
        self.field_files = FieldFileRepository(self.db)
        self.clearing_map = ClearingMapRepository(self.db)
        self.users = UserRepository(self.db)
        self.sessions = SessionRepository(self.db)
        self.logins = LoginAttempts(self.db)
        self.audit = AuditRepository(self.db)
        self.custody = CustodyRepository(self.db)
        self.derived_files = DerivedFileRepository(self.db)

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
            private_dir(wdir)
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
                    os.close(os.open(db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                except FileExistsError:
                    raise cls._exists_error(wdir) from None
                made_file = True
                make_private(db_path)  # owner-only whatever the umask; SQLite gives its
                # journal, WAL and shared-memory files the database file's mode
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
        store._tidy()
        return store

    def _tidy(self) -> None:
        """Keep the workspace folder owner-only and free of leftovers of killed runs.

        What group or others may read in the folder (a workspace made by an older
        vigilancia, or copied with another umask) is made owner-only with everything in
        it; each open looks only at the folder's own entries, so the walk happens once.
        On a file system without POSIX modes (FAT, exFAT) nothing is changed. Temporary
        files that dead runs left in the folder itself are removed
        (:func:`~vigilancia.io.files.remove_leftovers`).
        """
        wdir = self.dir
        if not wdir.is_dir():
            return
        make_private(wdir)
        if stat.S_IMODE(wdir.stat().st_mode) == FOLDER_MODE:  # the file system keeps modes
            for entry in os.scandir(wdir):
                try:
                    loose = entry.stat(follow_symlinks=False).st_mode & 0o077
                except OSError:
                    continue
                if loose and not entry.is_symlink():
                    make_private(Path(entry.path), recursive=True)
        remove_leftovers(wdir)

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
    def transaction(self, *, bulk: bool = False, wait_s: float | None = None
                    ) -> Iterator[Connection]:
        """One atomic unit of writes: commit at the end of the block, roll back on any exception.

        On SQLite it starts with ``BEGIN IMMEDIATE`` (write lock held for the
        whole block). Do not nest: a second ``transaction()`` inside the block
        waits for the first one's lock.

        ``bulk=True`` (a monitoring run writing hundreds of thousands of
        clearings): on SQLite the per-row foreign-key lookups are switched off
        for this transaction; ``store.clearings.add`` checks the batch and every
        territory id once per call instead, inside the write lock, so no row
        can reference a missing parent. Atomicity and durability are unchanged.

        ``wait_s``: how long to wait for another writer's lock (default
        :data:`~vigilancia.io.store.engine.BUSY_TIMEOUT_S`); housekeeping writes that
        may be skipped pass 0 and get a :class:`~vigilancia.errors.StoreError` at once
        while a monitoring run writes.
        """
        try:
            with self.engine.connect() as conn:
                if self.is_sqlite:
                    conn.execution_options(**{BEGIN_OPTION: "immediate"})
                with self._foreign_keys_off(conn, bulk and self.is_sqlite), \
                        self._sqlite_wait(conn, wait_s), conn.begin():
                    if conn.dialect.name == "postgresql":
                        self._pg_writer_lock(conn, wait_s)
                    yield conn
        except sa.exc.OperationalError as exc:
            raise self._store_error(exc) from exc

    @contextlib.contextmanager
    def run_lock(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the workspace's run lock for the whole block: one such run at a time.

        A monitoring run reads what is stored, decides, and writes in several
        transactions; a second run of the same workspace waits here (``on_wait`` is
        called once when it has to), then sees what the first one wrote. The lock is
        the workspace folder's (``flock``; the kernel drops it when a process dies,
        so a killed run never leaves it behind) and, on PostgreSQL, a session
        advisory lock (:data:`RUN_LOCK_KEY`) for runs on other computers.
        """
        import fcntl

        fd = os.open(self.dir, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:  # a file system without locks: the transactions still guard
                pass
            if self.is_sqlite:
                yield
                return
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                    got = conn.exec_driver_sql(
                        f"SELECT pg_try_advisory_lock({RUN_LOCK_KEY})").scalar()
                    if not got:
                        if on_wait is not None:
                            on_wait()
                        conn.exec_driver_sql(f"SELECT pg_advisory_lock({RUN_LOCK_KEY})")
                    try:
                        yield
                    finally:
                        conn.exec_driver_sql(f"SELECT pg_advisory_unlock({RUN_LOCK_KEY})")
            except sa.exc.OperationalError as exc:
                raise self._store_error(exc) from exc
        finally:
            os.close(fd)  # (closing the descriptor releases the flock)

    def _sqlite_wait(self, conn: Connection, wait_s: float | None
                     ) -> contextlib.AbstractContextManager[None]:
        """SQLite: wait at most ``wait_s`` for the write lock in this block (then restore)."""
        if wait_s is None or not self.is_sqlite:
            return contextlib.nullcontext()
        return self._busy_timeout(conn, wait_s)

    @staticmethod
    @contextlib.contextmanager
    def _busy_timeout(conn: Connection, wait_s: float) -> Iterator[None]:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute(f"PRAGMA busy_timeout={max(0, int(wait_s * 1000))}")
        try:
            yield
        finally:
            try:
                raw.execute(f"PRAGMA busy_timeout={int(engine_config.BUSY_TIMEOUT_S * 1000)}")
            except Exception:  # the pooled connection must never keep a short timeout
                conn.invalidate()
                raise

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
        conn.info[FK_OFF] = True
        try:
            yield
        finally:
            conn.info.pop(FK_OFF, None)
            try:
                raw.execute("PRAGMA foreign_keys=ON")
            except Exception:  # the pooled connection must never keep FKs off
                conn.invalidate()
                raise

    @staticmethod
    def _pg_writer_lock(conn: Connection, wait_s: float | None = None) -> None:
        """Take the workspace's write lock for this transaction, waiting at most ``wait_s``
        (default BUSY_TIMEOUT_S).

        The wait limit (``lock_timeout``) holds for every lock of the transaction.
        """
        wait = engine_config.BUSY_TIMEOUT_S if wait_s is None else wait_s
        timeout_ms = max(1, int(wait * 1000))
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {timeout_ms}")
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")

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
        with self.db.reader(conn) as c:
            row = c.execute(
                sa.select(s.workspace_meta.c.value).where(s.workspace_meta.c.key == key)
            ).first()
        return default if row is None or row[0] is None else row[0]

    def set_meta(self, conn: Connection, key: str, value: Any) -> None:
        """Set a workspace metadata value (anything JSON can hold)."""
        require_tx(conn)
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
        with self.db.reader(None) as conn:
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

    def counts(self, *, conn: Connection | None = None) -> dict[str, int]:
        """Rows per table (for tests and ``status``)."""
        with self.db.reader(conn) as c:
            return {
                t.name: int(c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in s.TABLES
            }
