"""The database under a workspace: URLs, engines, SQLite settings and Alembic migrations.

A workspace's tables live in a SQLite file (WAL journal, ``synchronous=FULL``,
foreign keys on, 16 KiB pages, a 64 MiB page cache) or in the PostgreSQL
database that a URL names (psycopg 3 driver). Nothing here knows a table: the
store (:mod:`vigilancia.io.store.workspace`) builds its engine with
:func:`make_engine` and brings the schema to head with :func:`migrate`.

>>> sqlite_url(Path("/tmp/ws/vigilancia.sqlite"))
'sqlite:////tmp/ws/vigilancia.sqlite'
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from vigilancia.errors import StoreError
from vigilancia.i18n import _

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Seconds a writer waits for another writer's lock before giving up.
BUSY_TIMEOUT_S = 30.0
#: Seconds to wait for a PostgreSQL server to accept a connection.
CONNECT_TIMEOUT_S = 10
#: Page size of new SQLite workspaces, bytes.
SQLITE_PAGE_SIZE = 16384
#: SQLite page cache per connection, KiB.
SQLITE_CACHE_KIB = 64 * 1024
#: Execution option that makes the SQLite ``BEGIN`` of a connection ``BEGIN IMMEDIATE``
#: (set it to ``"immediate"``): the write lock is taken when the transaction starts.
BEGIN_OPTION = "vigilancia_sqlite_begin"


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
    immediate = conn.get_execution_options().get(BEGIN_OPTION) == "immediate"
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
            source=safe_url(url),
        ) from exc
    return parsed


def safe_url(url: str) -> str:
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
