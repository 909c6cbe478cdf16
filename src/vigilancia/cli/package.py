"""``vigilancia package``: the offline package of one community for phones and paper."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vigilancia.cli.common import out, progress_bar, run_reported, settings_from_env
from vigilancia.i18n import N_, _, ngettext


def package_command(
    workspace: Annotated[Path, typer.Argument(help=N_("Workspace folder."))],
    territory: Annotated[
        str, typer.Option("--territory", "-t", help=N_(
            "Community territory, reserve, or district without communities: name or id."))
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o",
                     help=N_("Folder for the package, or a file ending in .zip.")),
    ],
    paper: Annotated[
        str, typer.Option("--paper", help=N_("Paper of the printable map: a4 or letter."))
    ] = "a4",
    overwrite: Annotated[
        bool, typer.Option(help=N_("Replace an existing ZIP or the package's files in a folder."))
    ] = False,
) -> None:
    """Offline package of one community: its open cases and newest patrol plan as a
    GeoPackage, GeoJSON, GPX (Locus Map, OsmAnd, Garmin), KMZ (Google Earth), CoMapeo
    alerts, the ODK entity list with the verification form, a PMTiles map and a printable
    PDF map, with a LEEME.txt. Never carries monitors' names nor other communities' data.

    Example: vigilancia package ws --territory "CN Alfa" --output paquete_alfa.zip --paper a4
    """
    from vigilancia.reports.package_map import render_package_map
    from vigilancia.services.package import build_package
    from vigilancia.services.workspace import open_workspace

    settings = settings_from_env()

    def go() -> Any:
        with open_workspace(workspace, settings) as store, progress_bar(True) as tick:
            return build_package(store, settings, territory=territory, output=output,
                                 render_map=render_package_map, paper=paper,
                                 overwrite=overwrite, progress=tick)

    result = run_reported(go)
    _print_result(result)


def _print_result(result: Any) -> None:
    from vigilancia.services.package import human_size

    out.print(
        ngettext("Package of {community}: {n} open case, {stops} in the patrol plan",
                 "Package of {community}: {n} open cases, {stops} in the patrol plan",
                 result.cases, community=result.territory, stops=result.stops),
        highlight=False, soft_wrap=True,
    )
    if result.plan_id is None:
        out.print(_("No patrol plan for this territory: the cases go by priority "
                    "(make one with vigilancia patrol plan)"), highlight=False, soft_wrap=True)
    table = Table(title=str(result.output))
    table.add_column(_("File"))
    table.add_column(_("Size"), justify="right")
    table.add_column(_("What it is"))
    for f in result.files:
        table.add_row(f.name, human_size(f.size), f.description)
    out.print(table)
    out.print(
        _("Total: {size} ({n} bytes) in {where}", size=human_size(result.total_bytes),
          n=result.total_bytes, where=str(result.output)),
        highlight=False, soft_wrap=True,
    )
    for w in result.warnings:
        out.print(f"[bold red]{w}[/]", highlight=False, soft_wrap=True)
