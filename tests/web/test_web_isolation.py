"""Organisations apart: two workspaces (two databases) on one PostgreSQL server, two apps.

Nothing of one is visible from the other: its accounts cannot log in to the other, its
session cookie opens nothing there, its ids do not resolve there, and what the map
and the API list comes from its own database only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import password_of

from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.sample import build_sample_region
from vigilancia.services.accounts import add_user
from vigilancia.services.cases import open_cases
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.territories import import_territories
from vigilancia.web import create_app

pytestmark = pytest.mark.postgresql


def _workspace(store_factory, folder: Path, region, *, name: str, users: list[str],
               cases: bool) -> tuple[Path, Settings]:
    with store_factory.create(folder, name=name) as store:
        settings = Settings(database_url=store_factory.database_url(folder))
        import_territories(store, str(region.territories), kind="community")
        if cases:
            run_monitor(store, MonitorRequest(str(region.alerts_tif), product="gfw"), settings)
            open_cases(store, settings)
        for user in users:
            add_user(store, user, Role.COORDINATOR, password_of(Role.COORDINATOR),
                     actor="pruebas")
    return folder, settings


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory):
    return build_sample_region(tmp_path_factory.mktemp("region"))


@pytest.fixture
def backend() -> str:
    """These tests are about one PostgreSQL server holding two workspaces."""
    return "postgresql"


@pytest.fixture
def two_apps(store_factory, tmp_path: Path, region):
    a_dir, a_settings = _workspace(store_factory, tmp_path / "federacion_a", region,
                                   name="Federación A", users=["ana"], cases=True)
    b_dir, b_settings = _workspace(store_factory, tmp_path / "federacion_b", region,
                                   name="Federación B", users=["beto"], cases=False)
    assert a_settings.database_url != b_settings.database_url
    app_a = create_app(a_settings, a_dir, prepare_map=False)
    app_b = create_app(b_settings, b_dir, prepare_map=False)
    yield app_a, app_b
    for app in (app_a, app_b):
        app.state.vigilancia.store.close()


def _login(app, name: str) -> tuple[TestClient, int]:
    client = TestClient(app)
    r = client.post("/api/session", json={"username": name,
                                          "password": password_of(Role.COORDINATOR)})
    return client, r.status_code


def test_nothing_of_one_workspace_is_visible_from_the_other(two_apps):
    app_a, app_b = two_apps
    a, status = _login(app_a, "ana")
    assert status == 201
    # the account of A does not exist in B, and B's does not in A
    assert _login(app_b, "ana")[1] == 401
    assert _login(app_a, "beto")[1] == 401
    b, status = _login(app_b, "beto")
    assert status == 201
    # A's session cookie opens nothing in B
    stolen = TestClient(app_b, cookies=dict(a.cookies))
    assert stolen.get("/api/session").status_code == 401
    assert stolen.get("/api/cases").status_code == 401
    # A's ids do not resolve in B
    cases_a = a.get("/api/cases").json()
    assert cases_a
    code = cases_a[0]["case"]
    assert b.get(f"/api/cases/{code}").status_code == 404
    clearing = a.get("/api/clearings?limit=1").json()["features"][0]["id"]
    assert a.get(f"/api/clearings/{clearing}").status_code == 200
    assert b.get(f"/api/clearings/{clearing}").status_code == 404
    assert b.get("/api/clearings").json()["features"] == []
    assert b.get("/api/cases").json() == []
    # each lists its own accounts and audit only
    assert a.get("/api/session").json()["user"] == "ana"
    audit_b = TestClient(app_b)
    with_admin = add_admin(app_b)
    assert with_admin.get("/api/users").json()[0]["name"] in ("admin", "beto")
    names = {u["name"] for u in with_admin.get("/api/users").json()}
    assert names == {"admin", "beto"}
    entries = with_admin.get("/api/audit?limit=1000").json()
    assert {e["actor"] for e in entries} == {"?", "pruebas", "beto", "admin"}
    assert "ana" not in with_admin.get("/api/audit?limit=1000").text
    audit_b.close()


def add_admin(app) -> TestClient:
    from vigilancia.web.state import app_state

    add_user(app_state(app).store, "admin", Role.ADMIN, password_of(Role.ADMIN), actor="pruebas")
    client = TestClient(app)
    r = client.post("/api/session", json={"username": "admin", "password": password_of(Role.ADMIN)})
    assert r.status_code == 201
    return client


def test_the_api_answers_on_postgresql_as_on_sqlite(two_apps):
    app_a, _app_b = two_apps
    a, _status = _login(app_a, "ana")
    for url in ("/api/territories", "/api/territories/geojson?zoom=8", "/api/clearings?limit=50",
                "/api/risk", "/api/corridors", "/api/cases", "/api/observations",
                "/api/reports", "/api/tiles/clearings/6/18/33.mvt"):
        r = a.get(url)
        assert r.status_code in (200, 204), (url, r.text[:200])
    case = a.get("/api/cases").json()[0]["case"]
    token = a.get("/api/session").json()["csrf_token"]
    r = a.patch(f"/api/cases/{case}", json={"note": "desde PostgreSQL"},
                headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    r = a.patch(f"/api/cases/{case}", json={"note": "con \x00 dentro"},
                headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    r = a.get("/api/cases?territory=%00")
    assert r.status_code == 400
    r = a.post("/api/session", json={"username": "a\x00b", "password": "x"})
    assert r.status_code in (401, 422)
