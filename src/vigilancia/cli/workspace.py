"""``vigilancia init``: create a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigilancia.cli.common import out, run_reported, settings_from_env
from vigilancia.i18n import N_, _


def init_command(
    workspace: Annotated[Path, typer.Argument(help=N_("Folder for the new workspace."))],
    name: Annotated[
        str | None, typer.Option(help=N_("Name of the organisation or region."))
    ] = None,
    aoi: Annotated[
        str | None,
        typer.Option(
            help=N_("Area of interest: minlon,minlat,maxlon,maxlat in degrees, or a vector "
                    "file whose extent is the area (default: the territories' extent plus the "
                    "buffer).")
        ),
    ] = None,
) -> None:
    """Create a workspace.

    Example: vigilancia init ~/monitoreo/kakataibo --name "Kakataibo" --aoi -75.6,-9.9,-74.4,-8.6
    """
    from vigilancia.services.workspace import init_workspace

    settings = settings_from_env()

    def go() -> None:
        with init_workspace(workspace, settings, name=name, aoi=aoi):
            pass

    run_reported(go)
    out.print(_("Workspace created at {path}", path=workspace))
