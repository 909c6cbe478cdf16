"""Shared test set-up: the default language, and workspace stores on every database backend.

Tests that take ``store_factory`` (or a fixture built on it) run once per
backend: ``sqlite`` (a file per workspace) and ``postgresql``. The PostgreSQL
runs need a server whose admin URL is in ``VIGILANCIA_TEST_POSTGRES_URL``
(``scripts/postgres-test-server`` starts one and prints it); without it they
are skipped, with that reason. Each PostgreSQL workspace gets a database of its
own, copied from a per-process template that has PostGIS when the server offers
it, and dropped when the test ends.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from vigilancia.i18n import DEFAULT_LANGUAGE, set_language
from vigilancia.io.store import WorkspaceStore

POSTGRES_ENV = "VIGILANCIA_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(autouse=True)
def _default_language():
    set_language(DEFAULT_LANGUAGE)
    yield
    set_language(DEFAULT_LANGUAGE)


class PostgresServer:
    """A PostgreSQL server reached through an admin URL; makes and drops scratch databases."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = sa.engine.make_url(admin_url)
        if self.admin_url.get_backend_name() != "postgresql":
            raise pytest.UsageError(f"{POSTGRES_ENV} must be a postgresql:// URL")
        if self.admin_url.drivername == "postgresql":
            self.admin_url = self.admin_url.set(drivername="postgresql+psycopg")
        self.engine = sa.create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        self.prefix = f"vigilancia_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_template"
        self._n = itertools.count(1)
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.template}"')
            self.postgis = bool(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
                ).scalar()
            )
        if self.postgis:
            tmpl = sa.create_engine(self.url(self.template), poolclass=sa.pool.NullPool)
            with tmpl.begin() as conn:
                conn.exec_driver_sql("CREATE EXTENSION postgis")
            tmpl.dispose()

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def new_database(self) -> str:
        """A new empty database (PostGIS installed when available); returns its URL."""
        name = f"{self.prefix}_{next(self._n)}"
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop_database(self.url(self.template))
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL test server; skips the test when ``VIGILANCIA_TEST_POSTGRES_URL`` is unset."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"{POSTGRES_ENV} is not set: the PostgreSQL runs need a server "
            "(export VIGILANCIA_TEST_POSTGRES_URL=$(scripts/postgres-test-server))"
        )
    server = PostgresServer(url)
    yield server
    server.close()


class StoreFactory:
    """Creates and opens workspaces on one backend; each workspace folder has its own database."""

    def __init__(self, backend: str, server: PostgresServer | None) -> None:
        self.backend = backend
        self.server = server
        self._urls: dict[Path, str] = {}

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    def database_url(self, path: Path) -> str | None:
        """The ``database_url`` of the workspace at ``path`` (None on SQLite)."""
        if self.server is None:
            return None
        key = Path(path).absolute()
        if key not in self._urls:
            self._urls[key] = self.server.new_database()
        return self._urls[key]

    def create(self, path: Path, *, name: str | None = None) -> WorkspaceStore:
        return WorkspaceStore.create(path, database_url=self.database_url(path), name=name)

    def open(self, path: Path) -> WorkspaceStore:
        return WorkspaceStore.open(path, database_url=self.database_url(path))

    def env(self, path: Path) -> dict[str, str]:
        """The environment of a ``vigilancia`` command run on the workspace at ``path``."""
        env = dict(os.environ)
        env.pop("VIGILANCIA_DATABASE_URL", None)
        url = self.database_url(path)
        if url is not None:
            env["VIGILANCIA_DATABASE_URL"] = url
        return env

    def close(self) -> None:
        if self.server is not None:
            for url in self._urls.values():
                self.server.drop_database(url)
        self._urls.clear()


@pytest.fixture(
    params=[pytest.param(b, marks=getattr(pytest.mark, b)) for b in BACKENDS]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of the test: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def store_factory(backend: str, request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Makes workspaces on this test's backend (see the module docstring)."""
    server = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
    factory = StoreFactory(backend, server)
    yield factory
    factory.close()
