"""What one running app holds: its settings, its workspace's store, its templates.

One server serves one workspace (:func:`vigilancia.web.app.create_app`); the store
is opened once and shared by every request (its engine keeps a pool of connections).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.templating import Jinja2Templates
from starlette.routing import BaseRoute

from vigilancia.config import Settings
from vigilancia.io.store import WorkspaceStore

#: Folder of the app's templates and of its static files (``static/vendor``: from npm).
WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


@dataclass
class AppState:
    """The settings, store and templates of one app (``app.state.vigilancia``)."""

    settings: Settings
    store: WorkspaceStore
    templates: Jinja2Templates
    routes: Callable[[], Sequence[BaseRoute]] = field(default=lambda: ())

    def remote_basemap_origin(self) -> str | None:
        """The origin (scheme://host) of a remote basemap URL, for the CSP; None otherwise."""
        url = (self.settings.basemap or "").strip()
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
        return None

    def content_security_policy(self, nonce: str) -> str:
        """The Content-Security-Policy of every answer: nothing from outside the app but a
        configured remote basemap; inline scripts only with the request's ``nonce``."""
        remote = self.remote_basemap_origin()
        extra = f" {remote}" if remote else ""
        return "; ".join([
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{extra}",
            f"connect-src 'self'{extra}",
            "worker-src 'self' blob:",
            "font-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ])


def app_state(app: Any) -> AppState:
    """The :class:`AppState` of an app (FastAPI or a request's ``app``)."""
    state: AppState = app.state.vigilancia
    return state
