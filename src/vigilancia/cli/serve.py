"""``vigilancia serve``: the web app of one workspace, under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from vigilancia.cli.common import console, out, run_reported, settings_from_env
from vigilancia.i18n import N_, _

#: The app factory uvicorn imports (by name: the CLI and the web app are two shells that
#: do not import each other).
APP_FACTORY = "vigilancia.web:app_from_environment"


def serve_command(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    host: Annotated[str, typer.Option(help=N_("Address to listen on (127.0.0.1: this "
                                              "computer only; 0.0.0.0: the office "
                                              "network)."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=N_("Port to listen on."), min=1, max=65535)] = 8000,
) -> None:
    """Open the workspace in the browser: map, cases, patrol plans and field data, for the
    accounts made with vigilancia users add. Works offline; nothing is loaded from outside.

    The same app serves a SQLite workspace or a PostgreSQL one (VIGILANCIA_DATABASE_URL).
    On a network, put it behind an https proxy: the session cookie is then marked Secure.

    Example: vigilancia serve ws --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from vigilancia.services.accounts import list_users
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def check() -> Any:
        with open_workspace(workspace, settings) as store:
            return store.name, [a for a in list_users(store) if a.active]

    name, accounts = run_reported(check)
    if not accounts:
        console.print(_("No account can log in yet: add one with "
                        "vigilancia users add {ws} NAME --role admin", ws=workspace),
                      highlight=False)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(_("Listening on {host}: other computers can reach it; use https (a "
                        "proxy) on any network you do not trust", host=host), highlight=False)
    os.environ["VIGILANCIA_WORKSPACE"] = str(workspace.expanduser().absolute())
    out.print(_("Serving {name} at http://{host}:{port}/ (Ctrl-C to stop)",
                name=name, host=host, port=port), highlight=False)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, proxy_headers=True,
                log_level=settings.log_level.lower(), server_header=False)
