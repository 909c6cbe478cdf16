"""Access: every route of the app x every role (anonymous included), against the policy table.

- every (method, route) in ``app.routes`` has an entry in ``POLICY`` (a route without
  one fails here, and is refused at run time);
- a role may do exactly what the policy says: an allowed role never gets 401/403 (nor
  a server error), a role not listed gets 403, an anonymous request gets 401 under
  ``/api/`` and a redirect to ``/login`` for pages;
- writes need the session's CSRF token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from field_samples import write_gpx
from starlette.routing import Mount
from web_helpers import ROLES, login

from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.web import create_app
from vigilancia.web.policy import POLICY, is_page, rule_for


def route_keys(app) -> list[tuple[str, str]]:
    """Every (method, path) the app answers."""
    keys = []
    for route in app.routes:
        if isinstance(route, Mount):
            keys.append(("GET", route.path))
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                keys.append((method, route.path))
    return keys


def sample_request(method: str, path: str, ids: dict[str, Any]) -> dict[str, Any]:
    """A request that exercises the route: its URL, and a body for writes."""
    filled = path.format(
        territory_id=ids["territory"], clearing_id=1, case=ids["case"], plan_id=ids["plan"],
        z=9, x=148, y=268, lang="en")
    if path == "/api/basemap/tiles/{z}/{x}/{y}":
        filled = "/api/basemap/tiles/0/0/0"
    if path == "/static":
        filled = "/static/app.css"
    body: dict[str, Any] = {}
    if (method, path) == ("PATCH", "/api/cases/{case}"):
        body = {"json": {"note": "revisado en la prueba de acceso"}}
    elif (method, path) == ("POST", "/api/cases/{case}/assignment"):
        body = {"json": {"assignee": "Equipo Yamino"}}
    elif path.startswith("/api/patrol-plans") and method == "POST":
        body = {"json": {"territory": str(ids["territory"]), "max_km": 20}}
    elif (method, path) == ("POST", "/api/field-imports"):
        body = {"files": [("files", ("visita.gpx", ids["gpx"], "application/gpx+xml"))]}
    elif (method, path) == ("POST", "/api/session"):
        body = {"json": {"username": "nadie", "password": "no es la clave"}}
    elif (method, path) == ("POST", "/login"):
        body = {"data": {"username": "nadie", "password": "x"}}
    elif (method, path) == ("POST", "/logout"):
        body = {"data": {}}
    return {"method": method, "url": filled, **body}


@pytest.fixture(scope="module")
def ids(app, web_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from vigilancia.services.workspace import open_workspace

    with open_workspace(web_ws, Settings()) as store:
        (plan,) = store.patrol_plans.list()
        case = sorted(store.cases.list(territory_id=plan.territory_id), key=lambda c: c.id)[0]
    gpx = write_gpx(tmp_path_factory.mktemp("gpx") / "visita.gpx",
                    waypoints=((case.lon, case.lat, "Visita de prueba"),))
    return {"territory": plan.territory_id, "case": case.code, "plan": plan.id,
            "gpx": gpx.read_bytes()}


def test_every_route_has_a_policy_entry(app):
    missing = [key for key in route_keys(app) if rule_for(*key) is None]
    assert missing == [], f"routes without an entry in the policy table: {missing}"
    stale = sorted(set(POLICY) - set(route_keys(app)))
    assert stale == [], f"policy entries of no route: {stale}"


def test_a_route_without_an_entry_is_refused(web_ws: Path):
    app = create_app(Settings(), web_ws, prepare_map=False)

    @app.get("/api/secreto")
    def secret() -> dict[str, str]:
        return {"fuga": "no debería verse"}

    assert rule_for("GET", "/api/secreto") is None
    admin = login(app, Role.ADMIN)
    r = admin.client.get("/api/secreto")
    assert r.status_code == 403 and "fuga" not in r.text


@pytest.mark.parametrize("role", [*ROLES, None], ids=lambda r: r.value if r else "anonymous")
def test_each_role_may_do_exactly_what_the_policy_says(app, sessions, ids, role):
    session = sessions[role]
    seen = []
    for method, path in route_keys(app):
        rule = rule_for(method, path)
        assert rule is not None
        req = sample_request(method, path, ids)
        if (method, path) in (("DELETE", "/api/session"), ("POST", "/logout")) \
                and role is not None:
            s = login(app, role)  # logging out ends the session: use one of its own
        else:
            s = session
        headers = s.headers if method in ("POST", "PATCH", "PUT", "DELETE") and s.csrf else {}
        if req.get("data") is not None and s.csrf:
            req["data"] = {**req["data"], "csrf_token": s.csrf}
        r = s.client.request(headers=headers, follow_redirects=False, **req)
        allowed = rule.allows(role)
        cell = (method, path, r.status_code)
        seen.append(cell)
        if allowed:
            assert r.status_code not in (401, 403) or rule.public, cell
            assert r.status_code < 500, (cell, r.text)
        elif role is None and is_page(path):
            assert r.status_code == 303, cell
            assert r.headers["location"].startswith("/login?next="), cell
        elif role is None:
            assert r.status_code == 401, cell
            assert r.json()["error"]["status"] == 401
        else:
            assert r.status_code == 403, cell
            assert r.json()["error"]["status"] == 403
    assert len(seen) == len(route_keys(app))


def test_writes_without_the_csrf_token_are_refused(app, ids):
    coordinator = login(app, Role.COORDINATOR)
    url = f"/api/cases/{ids['case']}"
    r = coordinator.client.patch(url, json={"note": "sin token"})
    assert r.status_code == 403
    r = coordinator.client.patch(url, json={"note": "token ajeno"},
                                 headers={"X-CSRF-Token": "x" * 43})
    assert r.status_code == 403
    other = login(app, Role.ADMIN)
    r = coordinator.client.patch(url, json={"note": "token de otra sesión"},
                                 headers=other.headers)
    assert r.status_code == 403
    r = coordinator.client.patch(url, json={"note": "con token"}, headers=coordinator.headers)
    assert r.status_code == 200
    # a form carries it as a field
    r = coordinator.client.post("/logout", data={"csrf_token": "malo"}, follow_redirects=False)
    assert r.status_code == 403
    r = coordinator.client.post("/logout", data={"csrf_token": coordinator.csrf},
                                follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert coordinator.client.get("/api/session").status_code == 401


def test_anonymous_api_calls_to_unknown_addresses_get_401_not_404(sessions):
    anon = sessions[None]
    assert anon.client.get("/api/no-existe").status_code == 401
    admin = sessions[Role.ADMIN]
    assert admin.client.get("/api/no-existe").status_code == 404
