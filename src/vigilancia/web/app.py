"""The web app: :func:`create_app` builds it for one workspace (``vigilancia serve``).

The same app runs over a SQLite workspace (one laptop) or a PostgreSQL one
(``VIGILANCIA_DATABASE_URL``, a team's server). One server serves one workspace: its
accounts, sessions and data live in that workspace's database only, so two
workspaces on one PostgreSQL server (two databases) see nothing of each other.

>>> app = create_app(Settings(), workspace)  # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from starlette.staticfiles import StaticFiles

from vigilancia import __version__
from vigilancia.config import Settings
from vigilancia.domain.access import Role
from vigilancia.errors import InputError
from vigilancia.i18n import _, ngettext
from vigilancia.services.map import ensure_clearing_map
from vigilancia.services.workspace import open_workspace
from vigilancia.web import pages
from vigilancia.web.api import cases, field, map, patrols, reports, session
from vigilancia.web.errors import install_handlers
from vigilancia.web.guard import Guard
from vigilancia.web.state import STATIC_DIR, TEMPLATES_DIR, AppState

__all__ = ["app_from_environment", "create_app"]

mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/vnd.mapbox-vector-tile", ".mvt")
mimetypes.add_type("application/vnd.mapbox-vector-tile", ".pbf")

_ROLE_NAMES = {
    Role.ADMIN: lambda: _("administrator"),
    Role.COORDINATOR: lambda: _("coordinator"),
    Role.MONITOR: lambda: _("community monitor"),
    Role.ANALYST: lambda: _("analyst"),
    Role.VIEWER: lambda: _("viewer"),
}


def role_name(role: Role | str) -> str:
    """A role's name in the current language."""
    return _ROLE_NAMES[Role(role)]()


def _templates() -> Jinja2Templates:
    def common(request: Any) -> dict[str, Any]:
        state = request.state
        return {"lang": getattr(state, "language", "es"),
                "csp_nonce": getattr(state, "csp_nonce", "")}

    templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[common])
    templates.env.globals.update({"_": _, "ngettext": ngettext, "role_name": role_name})
    return templates


def create_app(settings: Settings, workspace: Path, *, prepare_map: bool = True) -> FastAPI:
    """The web app of the workspace at ``workspace`` (opened now: a missing or unreadable
    workspace is an error here, not on the first request).

    ``prepare_map``: rebuild the map's index of clearings in the background at start-up
    when it is out of date (the first map request then finds it ready).
    """
    store = open_workspace(Path(workspace), settings)
    state = AppState(settings, store, _templates())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if prepare_map:
            threading.Thread(target=_prepare, args=(state,), daemon=True,
                             name="vigilancia-map-index").start()
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="vigilancia",
        version=__version__,
        description="API of a vigilancia workspace: territories, clearings, cases, patrol "
        "plans, risk, corridors, field data and reports. Log in with POST /api/session; "
        "writes carry the session's X-CSRF-Token header.",
        openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan,
    )
    app.state.vigilancia = state
    state.routes = lambda: app.router.routes
    for router in (session.router, map.router, cases.router, patrols.router, field.router,
                   reports.router, pages.router):
        # the routers' own routes (their paths are whole), so that ``app.routes`` lists
        # every route itself: the guard matches them and the access tests walk them
        app.router.routes.extend(router.routes)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    install_handlers(app, state)
    app.add_middleware(Guard, state=state)
    return app


def _prepare(state: AppState) -> None:
    try:
        ensure_clearing_map(state.store)
    except Exception:  # the first map request retries, and reports what fails
        import logging

        logging.getLogger("vigilancia.web").warning("the map index could not be prepared",
                                                    exc_info=True)


def app_from_environment() -> FastAPI:
    """The app of the workspace named by ``VIGILANCIA_WORKSPACE`` (for ``uvicorn --factory
    vigilancia.web:app_from_environment``; ``vigilancia serve`` sets it)."""
    settings = Settings()
    if not settings.workspace:
        raise InputError(_("VIGILANCIA_WORKSPACE names no workspace"),
                         hint=_("set it to the workspace folder, or use vigilancia serve"))
    return create_app(settings, Path(settings.workspace))
