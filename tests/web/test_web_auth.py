"""Accounts and sessions through the web app: the login page and form, cookies, rate limits,
expiry, logout, disabled accounts, the language switch, and errors without internals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import login, password_of

from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.io.store import schema as s
from vigilancia.services.accounts import disable_user
from vigilancia.services.workspace import open_workspace
from vigilancia.web import create_app


def _form_token(html: str) -> str:
    found = re.search(r'name="login_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_login_page_form_and_redirect_back(app):
    client = TestClient(app)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F"
    page = client.get("/login?next=/")
    assert page.status_code == 200
    html = page.text
    assert 'name="username"' in html and 'name="password"' in html
    assert "Iniciar sesión" in html  # Spanish by default
    token = _form_token(html)
    r = client.post("/login", data={"username": "coordinator", "password": "mala clave x",
                                    "login_token": token, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 401 and "Usuario o contraseña incorrectos" in r.text
    token = _form_token(r.text)
    r = client.post("/login", data={"username": "Coordinator",
                                    "password": password_of(Role.COORDINATOR),
                                    "login_token": token, "next": "https://otro.example/"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never off the site
    cookie = r.headers["set-cookie"]
    assert "vigilancia_sesion=" in cookie and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie
    assert client.get("/").status_code == 200


def test_the_login_form_needs_its_own_token(app):
    client = TestClient(app)
    r = client.post("/login", data={"username": "admin", "password": password_of(Role.ADMIN),
                                    "login_token": "forjado"}, follow_redirects=False)
    assert r.status_code == 400
    assert "vigilancia_sesion" not in r.headers.get("set-cookie", "")


def test_the_session_cookie_is_secure_over_https(app):
    client = TestClient(app, base_url="https://vigilancia.local")
    r = client.post("/api/session", json={"username": "viewer",
                                          "password": password_of(Role.VIEWER)})
    assert r.status_code == 201
    assert "Secure" in r.headers["set-cookie"]


def test_the_json_login_takes_only_json(app):
    client = TestClient(app)
    r = client.post("/api/session", content='{"username": "admin", "password": "x"}',
                    headers={"Content-Type": "text/plain"})
    assert r.status_code in (400, 422)
    assert "vigilancia_sesion" not in r.headers.get("set-cookie", "")


def test_logins_are_rate_limited_per_account_and_per_address(web_ws: Path):
    settings = Settings(login_max_failures=3)
    app = create_app(settings, web_ws, prepare_map=False)
    a = TestClient(app)
    for _ in range(3):
        r = a.post("/api/session", json={"username": "analyst", "password": "equivocada x"})
        assert r.status_code == 401
    r = a.post("/api/session", json={"username": "analyst",
                                     "password": password_of(Role.ANALYST)})
    assert r.status_code == 429
    assert r.json()["error"]["message"].startswith("Demasiados intentos")
    # other accounts still log in from the same address (up to 4x the failures)
    assert login(app, Role.MONITOR).csrf
    for i in range(9):
        a.post("/api/session", json={"username": f"nadie{i}", "password": "equivocada x"})
    r = a.post("/api/session", json={"username": "monitor",
                                     "password": password_of(Role.MONITOR)})
    assert r.status_code == 429
    with open_workspace(web_ws, settings) as store:
        actions = [e.action for e in store.audit.list(limit=50)]
    assert "session.failed" in actions


def test_sessions_end_when_idle_or_old_and_on_logout(web_ws: Path):
    app = create_app(Settings(), web_ws, prepare_map=False)
    s = login(app, Role.ANALYST)
    assert s.client.get("/api/session").status_code == 200
    with open_workspace(web_ws, Settings()) as store, store.transaction() as conn:
        conn.execute(sa.update(s_sessions()).values(
            last_seen=datetime.now(UTC) - timedelta(hours=3)))
    assert s.client.get("/api/session").status_code == 401  # idle for 3 h (limit 2 h)
    s = login(app, Role.ANALYST)
    with open_workspace(web_ws, Settings()) as store, store.transaction() as conn:
        conn.execute(sa.update(s_sessions()).values(
            expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert s.client.get("/api/session").status_code == 401  # past its 12 h
    s = login(app, Role.ANALYST)
    r = s.client.delete("/api/session", headers=s.headers)
    assert r.status_code == 204
    assert s.client.get("/api/session").status_code == 401


def s_sessions() -> sa.Table:
    return s.sessions


def test_a_disabled_account_loses_its_sessions_and_cannot_log_in(web_ws: Path):
    app = create_app(Settings(), web_ws, prepare_map=False)
    with open_workspace(web_ws, Settings()) as store:
        from vigilancia.services.accounts import add_user

        add_user(store, "Temporal", Role.VIEWER, "una clave pasajera", actor="pruebas")
    client = TestClient(app)
    r = client.post("/api/session", json={"username": "temporal",
                                          "password": "una clave pasajera"})
    assert r.status_code == 201
    with open_workspace(web_ws, Settings()) as store:
        disable_user(store, "Temporal", actor="pruebas")
    assert client.get("/api/cases").status_code == 401
    r = client.post("/api/session", json={"username": "temporal",
                                          "password": "una clave pasajera"})
    assert r.status_code == 401


def test_the_session_is_never_stored_as_sent(web_ws: Path):
    app = create_app(Settings(), web_ws, prepare_map=False)
    client = TestClient(app)
    r = client.post("/api/session", json={"username": "admin",
                                          "password": password_of(Role.ADMIN)})
    token = client.cookies.get("vigilancia_sesion")
    assert token
    with open_workspace(web_ws, Settings()) as store, store.engine.connect() as conn:
        stored = [row[0] for row in conn.execute(sa.select(s.sessions.c.token_hash))]
        hashes = [row[0] for row in conn.execute(sa.select(s.users.c.password_hash))]
    assert token not in stored and len(stored[0]) == 64
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert r.json()["csrf_token"] != token


@pytest.mark.parametrize(("header", "cookie", "expected"), [
    (None, None, "Inicie sesión primero"),
    ("en-GB,en;q=0.9", None, "Log in first"),
    ("en", "es", "Inicie sesión primero"),
    (None, "en", "Log in first"),
])
def test_messages_are_in_spanish_unless_english_is_asked(app, header, cookie, expected):
    client = TestClient(app)
    if cookie:
        client.cookies.set("vigilancia_lang", cookie)
    headers = {"Accept-Language": header} if header else {}
    r = client.get("/api/cases", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["message"] == expected


def test_the_language_switch_sets_a_cookie_and_goes_back(app):
    s = login(app, Role.COORDINATOR)
    r = s.client.get("/language/en?next=/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "Log out" in s.client.get("/").text
    s.client.get("/language/es?next=//evil.example", follow_redirects=False)
    assert "Cerrar sesión" in s.client.get("/").text
    r = s.client.get("/api/cases/C-9999")
    assert r.status_code == 404 and r.json()["error"]["message"].startswith("No hay")


def test_errors_carry_no_internals(app, web_ws: Path):
    s = login(app, Role.ADMIN)
    r = s.client.get("/api/clearings?bbox=1,2,3")
    body = r.text
    assert r.status_code == 400 and "bbox" in r.json()["error"]["inputs"]
    r = s.client.get("/api/clearings/999999999")
    assert r.status_code == 404
    r = s.client.get("/api/clearings?limit=0", headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "The request is not valid: limit must be at least 1"
    r = s.client.get("/api/clearings?limit=0")
    assert r.json()["error"]["message"] == "La solicitud no es válida: limit debe ser al menos 1"
    for text in (body, r.text):
        assert "Traceback" not in text and str(web_ws) not in text and "SELECT" not in text


def test_an_unexpected_failure_is_a_plain_500(web_ws: Path, monkeypatch):
    from vigilancia.services import overview

    def broken(*args, **kwargs):
        raise RuntimeError(f"SELECT secret FROM {web_ws}")

    monkeypatch.setattr(overview, "corridor_map", broken)
    app = create_app(Settings(), web_ws, prepare_map=False)
    s = login(app, Role.VIEWER)
    s.client = TestClient(app, raise_server_exceptions=False, cookies=s.client.cookies)
    r = s.client.get("/api/corridors")
    assert r.status_code == 500
    assert "SELECT" not in r.text and str(web_ws) not in r.text and "Traceback" not in r.text
    assert r.json()["error"]["message"].startswith("Algo falló en el servidor")
    r = s.client.get("/api/corridors", headers={"Accept": "text/html"})
    assert r.status_code == 500
