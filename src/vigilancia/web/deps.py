"""What the routes share: the request's context and the one way results become answers.

A route parses its inputs, calls one service with ``ctx.store`` (and ``ctx.actor``
for writes, ``ctx.disclosure`` for reads of sensitive data) and answers with
:func:`respond`, which serialises through :func:`vigilancia.results.to_json`, the
same path as the CLI's ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from starlette.requests import Request
from starlette.responses import Response

from vigilancia.config import Settings
from vigilancia.domain.access import Disclosure, Role
from vigilancia.errors import NotAuthenticated
from vigilancia.i18n import _
from vigilancia.io.store import WorkspaceStore
from vigilancia.results import to_json
from vigilancia.services.accounts import SessionInfo
from vigilancia.web.guard import client_address, current_session
from vigilancia.web.state import app_state

__all__ = ["GEOJSON", "Body", "Ctx", "context", "respond"]

GEOJSON = "application/geo+json"


@dataclass(frozen=True)
class Ctx:
    """One request's context: the workspace's store and settings, the session (None on
    public routes) and the client's address."""

    store: WorkspaceStore
    settings: Settings
    session: SessionInfo | None
    address: str

    @property
    def user(self) -> SessionInfo:
        """The session (the guard lets no anonymous request reach a non-public route)."""
        if self.session is None:
            raise NotAuthenticated(_("Log in first"))
        return self.session

    @property
    def actor(self) -> str:
        """Who makes a change, for the histories: the account's name."""
        return self.user.user

    @property
    def role(self) -> Role:
        """The session's role."""
        return self.user.role

    @property
    def disclosure(self) -> Disclosure:
        """What the session's role sees of the sensitive data (snapped to the workspace's
        ``report_cell_deg`` grid)."""
        return replace(self.user.disclosure, cell_deg=self.settings.report_cell_deg)


class Body(BaseModel):
    """Base of the JSON bodies the API takes: no unknown member, no NUL character in text
    (no database keeps one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL character")
        return value


def context(request: Request) -> Ctx:
    """The :class:`Ctx` of a request (a FastAPI dependency)."""
    state = app_state(request.app)
    return Ctx(state.store, state.settings, current_session(request), client_address(request))


def respond(value: Any, *, status: int = 200, media_type: str = "application/json",
            headers: dict[str, str] | None = None) -> Response:
    """``value`` (a result, a list of results, plain data) as a JSON answer."""
    return Response(to_json(value, indent=None), status_code=status, media_type=media_type,
                    headers=headers)
