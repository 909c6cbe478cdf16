"""``vigilancia aoi``: the area of interest a workspace watches (show, set, back to default)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from vigilancia.cli.base import App
from vigilancia.cli.common import Workspace, out, print_json, run_reported, settings_from_env
from vigilancia.config import Settings
from vigilancia.i18n import N_, _, number

JsonFlag = Annotated[bool, typer.Option("--json", help=N_("Print it as JSON."))]

aoi_app = App(
    help=N_("The area of interest: monitor reads only the alerts that cross it."),
    no_args_is_help=True,
)


@aoi_app.command("show")
def aoi_show(workspace: Workspace, as_json: JsonFlag = False) -> None:
    """Show the area of interest and where it comes from.

    Example: vigilancia aoi show ws
    """
    from vigilancia.services.workspace import area_of_interest

    _run(workspace, as_json, area_of_interest)


# (a box west of Greenwich starts with "-": it must not be read as an option)
@aoi_app.command("set", context_settings={"ignore_unknown_options": True})
def aoi_set(
    workspace: Workspace,
    area: Annotated[
        str,
        typer.Argument(
            help=N_("minlon,minlat,maxlon,maxlat in degrees, or a vector file whose extent "
                    "is the area (GeoJSON, GeoPackage, Shapefile...).")
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Set the area of interest; later monitor runs read only what crosses it.

    Example: vigilancia aoi set ws -75.6,-9.9,-74.4,-8.6
    """
    from vigilancia.services.workspace import set_area_of_interest

    _run(workspace, as_json, lambda store, settings: set_area_of_interest(store, settings, area))


@aoi_app.command("clear")
def aoi_clear(workspace: Workspace, as_json: JsonFlag = False) -> None:
    """Go back to the default area: the extent of the territories plus the buffer.

    Example: vigilancia aoi clear ws
    """
    from vigilancia.services.workspace import set_area_of_interest

    _run(workspace, as_json, lambda store, settings: set_area_of_interest(store, settings, None))


def _run(workspace: Path, as_json: bool, call: Callable[[Any, Settings], Any]) -> None:
    """Open the workspace, ``call(store, settings)`` and print the area it answers."""
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store:
            return call(store, settings)

    print_area(run_reported(go), as_json)


def print_area(area: Any, as_json: bool) -> None:
    if as_json:
        print_json(area)
        return
    if area.bounds is None:
        out.print(_("Area of interest: none (no territories yet): monitor reads whole tiles "
                    "and files"))
        return
    minx, miny, maxx, maxy = area.bounds
    box = f"{minx:.4f},{miny:.4f},{maxx:.4f},{maxy:.4f}"
    if area.origin == "set":
        out.print(_("Area of interest: {box} (set for this workspace)", box=box))
    else:
        out.print(_("Area of interest: {box} (the territories' extent plus {km} km)",
                    box=box, km=number(area.buffer_km, 2)))
