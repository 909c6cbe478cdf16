"""Accounts, logins and sessions as services (both backends), and the users commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from vigilancia.cli import app as cli
from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.errors import (
    ConflictError,
    InputError,
    NotAuthenticated,
    NotFoundError,
    TooManyAttempts,
)
from vigilancia.io.store import schema as s
from vigilancia.services.accounts import (
    add_user,
    audit_log,
    disable_user,
    list_users,
    log_in,
    log_out,
    session_of,
)


@pytest.fixture
def store(store_factory, tmp_path: Path):
    with store_factory.create(tmp_path / "ws") as st:
        yield st


def test_add_list_and_disable(store):
    a = add_user(store, " Ana María ", "coordinadora", "correcto caballo batería", actor="root")
    assert a.name == "Ana María" and a.role is Role.COORDINATOR and a.active
    with pytest.raises(ConflictError):
        add_user(store, "ANA MARÍA", Role.VIEWER, "otra clave más larga", actor="root")
    with pytest.raises(InputError):
        add_user(store, "Beto", "jefe", "otra clave más larga", actor="root")
    with pytest.raises(InputError):
        add_user(store, "Beto", Role.VIEWER, "corta", actor="root")
    with pytest.raises(InputError):
        add_user(store, "Beto", Role.VIEWER, "beto es mi clave", actor="root")
    with pytest.raises(InputError):
        add_user(store, "", Role.VIEWER, "otra clave más larga", actor="root")
    assert [u.name for u in list_users(store)] == ["Ana María"]
    settings = Settings()
    session = log_in(store, settings, "ana maría", "correcto caballo batería", address="1.2.3.4")
    assert session_of(store, settings, session.token) is not None
    disabled = disable_user(store, "Ana María", actor="root")
    assert not disabled.active and disabled.disabled_at is not None
    assert session_of(store, settings, session.token) is None
    with pytest.raises(NotAuthenticated):
        log_in(store, settings, "ana maría", "correcto caballo batería", address="1.2.3.4")
    with pytest.raises(NotFoundError):
        disable_user(store, "nadie", actor="root")
    actions = [e.action for e in audit_log(store)]
    assert actions[:2] == ["session.failed", "user.disable"] and "user.add" in actions


def test_logins_limits_and_session_ends(store):
    settings = Settings(login_max_failures=2, session_idle_minutes=30, session_hours=1)
    add_user(store, "ana", Role.MONITOR, "correcto caballo batería", actor="root")
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            log_in(store, settings, "ana", "mal", address="1.1.1.1")
    with pytest.raises(TooManyAttempts):
        log_in(store, settings, "ana", "correcto caballo batería", address="2.2.2.2")
    with pytest.raises(NotAuthenticated):  # an unknown name answers the same
        log_in(store, settings, "nadie", "mal", address="3.3.3.3")
    add_user(store, "beto", Role.VIEWER, "otra clave bien larga", actor="root")
    ok = log_in(store, settings, "beto", "otra clave bien larga", address="1.1.1.1")
    info = session_of(store, settings, ok.token)
    assert info is not None and info.role is Role.VIEWER and not info.disclosure.people
    assert "token" not in ok.to_dict() and ok.to_dict()["csrf_token"] == info.csrf_token
    with store.transaction() as conn:
        conn.execute(sa.update(s.sessions).values(
            last_seen=datetime.now(UTC) - timedelta(minutes=31)))
    assert session_of(store, settings, ok.token) is None  # idle
    again = log_in(store, settings, "beto", "otra clave bien larga", address="1.1.1.1")
    assert again.session.expires_at <= datetime.now(UTC) + timedelta(hours=1)
    log_out(store, again.token)
    assert session_of(store, settings, again.token) is None
    assert session_of(store, settings, "x" * 500) is None


def test_users_commands(store_factory, tmp_path: Path):
    ws = tmp_path / "ws"
    store_factory.create(ws).close()
    env = store_factory.env(ws)
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "add", str(ws), "ana", "--role", "admin",
                            "--password-stdin"], input="una clave muy larga\n", env=env)
    assert r.exit_code == 0, r.output
    assert "ana" in r.output
    r = runner.invoke(cli, ["users", "add", str(ws), "beto", "--role", "jefe",
                            "--password-stdin"], input="x\n", env=env)
    assert r.exit_code == 2 and "--role" in r.output
    r = runner.invoke(cli, ["users", "list", str(ws), "--json"], env=env)
    assert r.exit_code == 0 and '"role": "admin"' in r.output
    r = runner.invoke(cli, ["users", "disable", str(ws), "ana"], env=env)
    assert r.exit_code == 0
    r = runner.invoke(cli, ["users", "list", str(ws), "--json"], env=env)
    assert '"active": false' in r.output
    r = runner.invoke(cli, ["users", "disable", str(ws), "nadie"], env=env)
    assert r.exit_code == 3
