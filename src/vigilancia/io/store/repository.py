"""What every repository of the workspace store shares: the database handle and the SQL helpers.

Each aggregate module (territories, clearings, cases...) defines a
:class:`Repository` subclass; the store makes one of each over the same
:class:`Database` and hands them out as attributes. A repository holds no state
of its own and opens no transaction: writes take the connection of
``store.transaction()`` (checked with :func:`require_tx`), reads open their own
connection through :meth:`Database.reader` unless given ``conn=``.

Bulk writes go straight to the driver where it is safe (:attr:`Database.fast_bulk`):
sqlite3 ``executemany`` fed from the columns without building a row per call,
or psycopg ``COPY ... FROM STDIN``; other drivers take SQLAlchemy Core in
chunks of :data:`CHUNK_ROWS`. Lists of ids in ``IN (...)`` are cut into
chunks of :data:`IN_CHUNK` (:func:`in_chunks`).

>>> [len(c) for c in in_chunks(list(range(2000)))]
[900, 900, 200]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.engine import Connection, Engine

#: Rows per executemany call in bulk inserts.
CHUNK_ROWS = 20_000
#: Ids per ``IN (...)`` list (below SQLite's oldest variable limit of 999).
IN_CHUNK = 900
#: ``Connection.info`` key set while a bulk transaction runs without SQLite foreign-key checks.
FK_OFF = "vigilancia_foreign_keys_off"

T = TypeVar("T")


class Database:
    """The engine of one workspace, and how its repositories read and write through it.

    ``on_error`` turns a driver's ``OperationalError`` (busy, disk full, no
    server) into the error a person reads; the store supplies it.
    """

    def __init__(
        self, engine: Engine, on_error: Callable[[sa.exc.OperationalError], Exception]
    ) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        #: Bulk writes go straight to the driver: sqlite3 ``executemany`` or psycopg ``COPY``
        #: (tests switch it off to run the SQLAlchemy Core path).
        self.fast_bulk = self.is_sqlite or engine.dialect.driver == "psycopg"
        self._on_error = on_error

    @property
    def raw_sqlite(self) -> bool:
        """Whether bulk writes go through sqlite3's own ``executemany``."""
        return self.fast_bulk and self.is_sqlite

    @contextlib.contextmanager
    def reader(self, conn: Connection | None) -> Iterator[Connection]:
        """``conn`` itself (a running transaction), or a connection of its own for the block."""
        if conn is not None:
            yield conn
            return
        try:
            with self.engine.connect() as own:
                yield own
        except sa.exc.OperationalError as exc:
            raise self._on_error(exc) from exc

    def fetch_all(self, conn: Connection, stmt: sa.Select[Any]) -> list[Any]:
        """All rows of ``stmt`` as tuples, straight from the DBAPI cursor (sqlite3, psycopg).

        Only for statements whose column types need no result processing with
        those drivers (floats, integers, booleans, text, blobs as ``bytes``, dates
        read through :meth:`date_text`).
        """
        result = conn.execute(stmt)
        if self.is_sqlite or conn.dialect.driver == "psycopg":
            return list(result.cursor.fetchall())
        return [tuple(r) for r in result]

    def fetch_floats(self, conn: Connection, stmt: sa.Select[Any], *, chunk: int = 65_536
                     ) -> NDArray[np.float64]:
        """The rows of ``stmt``, whose columns are all numbers, as one (rows, columns)
        float64 array (NULL becomes NaN), converted ``chunk`` rows at a time: a read of
        hundreds of thousands of rows never holds them all as Python tuples."""
        ncols = len(stmt.selected_columns)
        result = conn.execute(stmt)
        raw = self.is_sqlite or conn.dialect.driver == "psycopg"
        parts: list[NDArray[np.float64]] = []
        while True:
            rows = result.cursor.fetchmany(chunk) if raw else result.fetchmany(chunk)
            if not rows:
                break
            parts.append(np.array([tuple(r) for r in rows] if not raw else rows,
                                  np.float64).reshape(-1, ncols))
        result.close()
        return np.concatenate(parts) if parts else np.empty((0, ncols), np.float64)

    def date_text(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A ``DATE`` column read as ISO ``YYYY-MM-DD`` text (NULL stays NULL).

        PostgreSQL formats it with ``to_char``, whatever the server's DateStyle.
        """
        if self.engine.dialect.name == "postgresql":
            return sa.func.to_char(column, "YYYY-MM-DD")
        return sa.type_coerce(column, sa.String)  # SQLite keeps dates as ISO text

    def date_days(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A ``DATE`` column read as days since 1970-01-01 (a number; NULL stays NULL), so
        that a read of many rows converts to numpy in one call."""
        if self.engine.dialect.name == "postgresql":
            return column - sa.literal_column("DATE '1970-01-01'")
        return sa.cast(sa.func.julianday(column) - 2440587.5, sa.Integer)

    def dates(self, values: NDArray[np.datetime64]) -> list[Any]:
        """Dates for a bulk insert: ISO strings (raw SQLite path) or ``date`` objects."""
        days = np.asarray(values).astype("datetime64[D]")
        if self.raw_sqlite:
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

    def insert_many(self, conn: Connection, table: sa.Table, cols: dict[str, list[Any]]) -> None:
        """Insert the rows that ``cols`` holds as columns (one list per column, equal lengths).

        sqlite3 and psycopg take the rows straight from the columns (``executemany``,
        ``COPY``): no row is materialised. The values must be what the driver
        takes (ISO text for dates and JSON text on those paths, see :meth:`dates`).
        """
        names = list(cols)
        if self.raw_sqlite:
            prep = conn.dialect.identifier_preparer
            sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the schema)
                prep.format_table(table),
                ", ".join(prep.quote(n) for n in names),
                ", ".join("?" * len(names)),
            )
            # rows straight from the columns: none is materialised (and zip reuses its tuple)
            executemany(conn, sql, zip(*cols.values(), strict=True))
            return
        if self.fast_bulk:
            copy_rows(conn, table, names, zip(*cols.values(), strict=True))
            return
        rows = list(zip(*cols.values(), strict=True))
        stmt = sa.insert(table)
        for i in range(0, len(rows), CHUNK_ROWS):
            conn.execute(stmt, [dict(zip(names, r, strict=True)) for r in rows[i : i + CHUNK_ROWS]])


class Repository:
    """The reads and writes of one aggregate's tables, over the store's :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db


def require_tx(conn: Connection) -> None:
    """Refuse a write outside a transaction (``ValueError``)."""
    if not conn.in_transaction():
        raise ValueError("write inside `with store.transaction() as conn:`")


def fk_checks_off(conn: Connection) -> bool:
    """Whether ``conn`` runs a bulk transaction without per-row foreign-key checks:
    a write must then check its parents itself (:func:`missing_ids`)."""
    return bool(conn.info.get(FK_OFF))


def next_id(conn: Connection, table: sa.Table) -> int:
    """The first free id of ``table`` (``MAX(id) + 1``; taken inside the write lock)."""
    top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
    return int(top or 0) + 1


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most :data:`IN_CHUNK`, one ``IN (...)`` list each."""
    for i in range(0, len(values), IN_CHUNK):
        yield values[i : i + IN_CHUNK]


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (one dict each) through SQLAlchemy Core, :data:`CHUNK_ROWS` at a time."""
    for i in range(0, len(rows), CHUNK_ROWS):
        conn.execute(sa.insert(table), rows[i : i + CHUNK_ROWS])


def missing_ids(conn: Connection, table: sa.Table, ids: Iterable[int]) -> list[int]:
    """Which of ``ids`` have no row in ``table`` (in the order given): the parent check
    that a bulk transaction makes once per call instead of once per row."""
    wanted = [int(v) for v in ids]
    found: set[int] = set()
    for chunk in in_chunks(sorted(set(wanted))):
        stmt = sa.select(table.c.id).where(table.c.id.in_(chunk))
        found.update(int(v) for v in conn.execute(stmt).scalars())
    return [v for v in wanted if v not in found]


def executemany(conn: Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
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


def copy_rows(
    conn: Connection, table: sa.Table, names: list[str], rows: Iterable[tuple[Any, ...]]
) -> None:
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
