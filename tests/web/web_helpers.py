"""What the web tests share besides fixtures: the roles, their passwords, logged-in clients.

(A module of its own on the tests' pythonpath, beside the fixtures of ``tests/conftest.py``:
the test folders are not packages, and ``conftest`` is not a name to import from.)
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from vigilancia.domain.access import Role

ROLES = tuple(Role)


def password_of(role: Role | str) -> str:
    return f"clave de prueba de {Role(role).value[::-1]}"


@dataclass
class Session:
    """A logged-in client and its CSRF token."""

    client: TestClient
    csrf: str
    role: Role | None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


def login(app, role: Role | str | None, **client_args) -> Session:
    """A TestClient of ``app``, logged in as the account of ``role`` (None: anonymous)."""
    client = TestClient(app, **client_args)
    if role is None:
        return Session(client, "", None)
    r = client.post("/api/session", json={"username": Role(role).value,
                                          "password": password_of(role)})
    assert r.status_code == 201, r.text
    return Session(client, r.json()["csrf_token"], Role(role))
