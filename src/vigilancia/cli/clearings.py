"""``vigilancia clearings``: the clearings found in the alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vigilancia.cli.base import App
from vigilancia.cli.common import out, run_reported, settings_from_env
from vigilancia.errors import InputError
from vigilancia.i18n import N_, _, ngettext

clearings_app = App(help=N_("Clearings found in the alerts."), no_args_is_help=True)


@clearings_app.command("export")
def clearings_export(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    output: Annotated[Path, typer.Option("--output", "-o", help=N_("File to write."))],
    fmt: Annotated[
        str, typer.Option("--format", help=N_("File format: gpkg, geojson, csv or fgb."))
    ] = "gpkg",
    overwrite: Annotated[bool, typer.Option(help=N_("Replace an existing file."))] = False,
) -> None:
    """Export clearings with their features and placement (opens in QGIS).

    Example: vigilancia clearings export ws --format gpkg --output claros.gpkg
    """
    from vigilancia.services.export import export_clearings
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        if fmt not in ("gpkg", "geojson", "csv", "fgb"):
            raise InputError(_("unknown format {fmt}", fmt=fmt), hint="gpkg|geojson|csv|fgb")
        with open_workspace(workspace, settings) as store:
            return export_clearings(store, output, fmt, overwrite=overwrite)  # type: ignore[arg-type]

    res = run_reported(go)
    out.print(ngettext("{n} clearing written to {path}",
                       "{n} clearings written to {path}",
                       res.count, path=res.path))
