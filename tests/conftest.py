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


# ---------------------------------------------------------------------------- the web app
# The web tests' workspace: the demo's (territories, clearings with drivers, risk,
# corridors, cases, a patrol plan), built once per test process and copied for each test
# module that uses it, with a field import (a GPX with a waypoint at a case and a track)
# and one account per role. The helpers (roles, passwords, logged-in clients) are in
# ``tests/web/web_helpers.py``.


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's workspace with a field import and one account per role (built once)."""
    from datetime import UTC, datetime, timedelta

    from field_samples import write_gpx
    from web_helpers import ROLES, password_of

    from vigilancia.config import Settings
    from vigilancia.reports.case_report import render_case_report
    from vigilancia.reports.package_map import render_package_map
    from vigilancia.reports.risk_map import render_risk_map
    from vigilancia.services.accounts import add_user
    from vigilancia.services.demo import run_demo
    from vigilancia.services.field import import_field
    from vigilancia.services.workspace import open_workspace

    out = tmp_path_factory.mktemp("web-demo") / "demo"
    settings = Settings()
    result = run_demo(out, settings, render_risk_map=render_risk_map,
                      render_package_map=render_package_map,
                      render_case_report=render_case_report)
    ws = result.workspace
    with open_workspace(ws, settings) as store:
        case = sorted(store.cases.list(), key=lambda c: c.id)[0]
        start = datetime(2025, 2, 1, 8, 0, tzinfo=UTC)
        track = [(case.lon + 0.001 * i, case.lat + 0.0005 * i, start + timedelta(minutes=5 * i))
                 for i in range(-6, 7)]
        gpx = write_gpx(out / "patrulla_juan.gpx",
                        waypoints=((case.lon, case.lat, "Claro visto, plantones de coca"),),
                        track=track)
        import_field(store, settings, [gpx], actor="Juan Monitor")
        for role in ROLES:
            add_user(store, role.value, role, password_of(role), actor="pruebas")
    return ws


@pytest.fixture(scope="module")
def web_ws(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo workspace for one test module."""
    import shutil

    target = tmp_path_factory.mktemp("web-ws") / "espacio"
    shutil.copytree(demo_template, target)
    return target


@pytest.fixture(scope="module")
def app(web_ws: Path):
    """The web app of the module's workspace."""
    from vigilancia.config import Settings
    from vigilancia.web import create_app

    return create_app(Settings(), web_ws, prepare_map=False)


@pytest.fixture(scope="module")
def sessions(app) -> Iterator[dict]:
    """One logged-in client per role, and an anonymous one (key None)."""
    from web_helpers import ROLES, login

    made = {role: login(app, role) for role in (*ROLES, None)}
    yield made
    for s in made.values():
        s.client.close()
