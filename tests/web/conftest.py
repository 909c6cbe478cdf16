"""Fixtures of the web tests: the demo workspace with one account per role, and clients.

The demo workspace (``vigilancia demo``: territories, clearings with drivers, risk,
corridors, cases, a patrol plan) is built once per test process and copied for each
test module that uses it, with a field import (a GPX with a waypoint at a case and a
track) and one account per role. :func:`login` gives a TestClient with a session.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from field_samples import write_gpx
from web_helpers import ROLES, Session, login, password_of

from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.reports.package_map import render_package_map
from vigilancia.reports.risk_map import render_risk_map
from vigilancia.services.accounts import add_user
from vigilancia.services.demo import run_demo
from vigilancia.services.field import import_field
from vigilancia.services.workspace import open_workspace
from vigilancia.web import create_app


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's workspace with a field import and one account per role (built once)."""
    out = tmp_path_factory.mktemp("web-demo") / "demo"
    settings = Settings()
    result = run_demo(out, settings, render_risk_map=render_risk_map,
                      render_package_map=render_package_map)
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
    target = tmp_path_factory.mktemp("web-ws") / "espacio"
    shutil.copytree(demo_template, target)
    return target


@pytest.fixture(scope="module")
def app(web_ws: Path):
    """The web app of the module's workspace."""
    return create_app(Settings(), web_ws, prepare_map=False)


@pytest.fixture(scope="module")
def sessions(app) -> Iterator[dict[Role | None, Session]]:
    """One logged-in client per role, and an anonymous one (key None)."""
    made = {role: login(app, role) for role in (*ROLES, None)}
    yield made
    for s in made.values():
        s.client.close()
